#!/usr/bin/env python3
"""Lists the rule-based judge's errors on the DESIGN splits of data/identity_labels.jsonl.

Reads the verdicts file that `axis-lab agreement --verdicts FILE` writes (design half only),
joins it with the design rows of the labels (for the system prompt and the question) and
prints every answer where the judge's label differs from the person's, grouped by
(judge, person). The held-out answers are never read: rows whose split does not start with "design" (`design`,
`design_2`) are dropped before anything else is looked at.

Usage:
  cargo run -p axis-lab -- agreement --verdicts /tmp/verdicts.jsonl
  design_errors.py /tmp/verdicts.jsonl [--judge LABEL] [--person LABEL] [--chars N] [--summary]
Standard library only.
"""
import argparse
import json
from collections import Counter
from pathlib import Path


def load_jsonl(path):
    return [json.loads(l) for l in Path(path).read_text().splitlines() if l.strip()]


def main():
    here = Path(__file__).resolve().parent
    ap = argparse.ArgumentParser()
    ap.add_argument("verdicts", type=Path)
    ap.add_argument("--labels", type=Path, default=here.parent / "data" / "identity_labels.jsonl")
    ap.add_argument("--judge", help="only errors where the judge said this")
    ap.add_argument("--person", help="only errors where the person said this")
    ap.add_argument("--chars", type=int, default=600, help="answer characters to print")
    ap.add_argument("--summary", action="store_true", help="counts only")
    a = ap.parse_args()

    design = {l["id"]: l for l in load_jsonl(a.labels) if l.get("split", "").startswith("design")}
    rows = [r for r in load_jsonl(a.verdicts) if r["id"] in design]
    errors = [r for r in rows if r["judge"] != r["label"]]
    counts = Counter((r["judge"], r["label"]) for r in errors)
    print(f"design: {len(rows)} answers, {len(errors)} errors")
    for (judge, person), n in counts.most_common():
        print(f"  judge {judge:<15} person {person:<15} {n}")
    if a.summary:
        return
    for r in sorted(errors, key=lambda r: (r["judge"], r["label"], r["id"])):
        if a.judge and r["judge"] != a.judge or a.person and r["label"] != a.person:
            continue
        l = design[r["id"]]
        v = {k: x for k, x in r["verdict"].items() if x not in ([], False)}
        print("=" * 100)
        print(f"{r['id']}  judge={r['judge']}  person={r['label']}  role={r['role']}")
        print(f"  prompt: {(l.get('system_prompt') or '')[:200]}")
        print(f"  question: {l.get('question', '')[:200]}")
        print(f"  verdict: {json.dumps(v)}")
        print("  answer: " + r["answer"][: a.chars].replace("\n", " / "))


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Draws a seeded sample of a build's stored answers for labelling against data/RUBRIC.md.

Reads a checkpoint directory of `axis-lab build` (plan.json + rollouts.jsonl) and the lab's
data, and writes JSON Lines, one answer per line, with what a labeller needs: the speaker's
system prompt (empty for the default prompt ""), the question and the answer. The `label`
field is left for the person to fill in (assistant / in_role / other_identity / incoherent).
Each answer also gets a `split` ("design" or "held_out", half each, seeded) so that a judge
can be written looking at one half and measured on the other.

CHECKPOINT_DIR may instead be a file written by `axis-lab answers-to-label` (every answer of a
checkpoint with the system and user messages it answered, ids prefixed): use it for builds whose
role prompts were put in other styles (`--mixed-styles`), whose conversations only the lab can
rebuild.

Usage:
  label_sample.py CHECKPOINT_DIR|ANSWERS.jsonl OUT.jsonl [--default N] [--role N] [--seed S] [--data DIR]
                  [--exclude LABELS.jsonl] [--split NAME]
--exclude leaves out answers already labelled there (by id or by text), so a second sample is
fresh;
--split NAME gives every drawn answer that split instead of alternate design/held_out halves
(a fresh held-out set drawn after the judge was tuned).
Standard library only.
"""
import argparse
import json
import random
from pathlib import Path


def main():
    here = Path(__file__).resolve().parent
    ap = argparse.ArgumentParser()
    ap.add_argument("checkpoint", type=Path)
    ap.add_argument("out", type=Path)
    ap.add_argument("--default", type=int, default=160, help="default-prompt answers to draw")
    ap.add_argument("--role", type=int, default=480, help="role answers to draw")
    ap.add_argument("--seed", type=int, default=20261205)
    ap.add_argument("--data", type=Path, default=here.parent / "data")
    ap.add_argument("--exclude", type=Path, action="append", default=[],
                    help="labels file whose answers (by id or by text) are not drawn again; repeatable")
    ap.add_argument("--split", help="one split name for every drawn answer")
    a = ap.parse_args()

    if a.checkpoint.is_file():
        rows = [json.loads(l) for l in a.checkpoint.read_text().splitlines() if l.strip()]
    else:
        rows = checkpoint_rows(a)
    pick(a, rows)


def checkpoint_rows(a):
    plan = json.loads((a.checkpoint / "plan.json").read_text())
    answers = [json.loads(l) for l in (a.checkpoint / "rollouts.jsonl").read_text().splitlines() if l.strip()]
    roles = [json.loads(l) for l in (a.data / "roles.jsonl").read_text().splitlines() if l.strip()]
    questions = [json.loads(l) for l in (a.data / "questions.jsonl").read_text().splitlines() if l.strip()]
    defaults = json.loads((a.data / "default_prompts.json").read_text())["prompts"]

    rows = []
    for ans in answers:
        job = plan["jobs"][ans["job"]]
        sp = job["speaker"]
        if sp["kind"] == "default":
            system, role = defaults[sp["prompt"]], None
        else:
            r = roles[sp["role"]]
            system, role = r["system_prompts"][sp["prompt"]], r["id"]
        rows.append({
            "id": f"job{ans['job']}",
            "kind": sp["kind"],
            "role": role,
            "system_prompt": system,
            "question": questions[job["question"]]["text"],
            "answer": ans["text"],
        })
    return rows


def pick(a, rows):
    # An answer is excluded by id, and by its text: another build of the same plan generates the
    # same answer for a job it put the same way (same prompt, same seed) under another id. (A
    # stock reply that repeats a labelled one word for word is left out too: for the four-style
    # build, 1 of the 418 answers left out.)
    seen_ids, seen_texts = set(), set()
    for path in a.exclude:
        for line in path.read_text().splitlines():
            if line.strip():
                row = json.loads(line)
                seen_ids.add(row["id"])
                if "answer" in row:
                    seen_texts.add(row["answer"])
    rows = [r for r in rows if r["id"] not in seen_ids and r["answer"] not in seen_texts]
    rng = random.Random(a.seed)
    by_kind = {k: [r for r in rows if r["kind"] == k] for k in ("default", "role")}
    picked = []
    for kind, n in (("default", a.default), ("role", a.role)):
        pool = by_kind[kind]
        if len(pool) < n:
            raise SystemExit(f"only {len(pool)} {kind} answers stored, {n} wanted")
        picked += rng.sample(pool, n)
    rng.shuffle(picked)
    for i, r in enumerate(picked):
        r["split"] = a.split or ("design" if i % 2 == 0 else "held_out")
    with a.out.open("w") as f:
        for r in picked:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
    print(f"wrote {len(picked)} answers to {a.out}")


if __name__ == "__main__":
    main()

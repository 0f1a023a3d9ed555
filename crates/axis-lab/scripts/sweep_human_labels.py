#!/usr/bin/env python3
"""People's reading of the capping sweep's answers: draw a blind sample, then count.

The sweep's rates come from the rule-based judge, whose agreement with a person is moderate
(`axis-lab agreement`). This script lets people check the headline directly:

  draw   — from the stored confirmation answers (docs/measurements/capping-sweep-answers.tar.gz),
           the same N prompts uncapped and capped, shuffled together under opaque ids, so a
           labeller sees only answer texts and cannot tell the conditions apart. Writes a key
           (id → prompt index, condition, text) and `todo_*.jsonl` batches for labelling.
  rates  — joins the labels with the key and prints each condition's share of answers that a
           person read as a non-assistant speaker (character or human), with its 95 % Wilson
           interval, and the paired table.

Labels: assistant / character / human / incoherent (the instructions given to the labellers are
in docs/capping-sweep.md, "Read by people"). Usage:
  sweep_human_labels.py draw ANSWERS.tar.gz OUT_DIR [--n 120] [--seed 20261208] [--setting L14-21-p99]
  sweep_human_labels.py rates LABELLED.jsonl
LABELLED.jsonl: one line per answer with id, item, condition, answer, label (the committed
docs/measurements/capping-sweep-human-labels.jsonl). Standard library only.
"""
import argparse
import json
import math
import random
import tarfile
from collections import Counter
from pathlib import Path


def confirmation(tar_path, setting):
    with tarfile.open(tar_path) as tar:
        def load(name):
            member = next(m for m in tar.getmembers() if m.name.endswith(f"/confirmation/{name}.json"))
            return json.load(tar.extractfile(member))["persona"]
        return load("none"), load(setting)


def draw(a):
    none, capped = confirmation(a.answers, a.setting)
    if len(none) != len(capped):
        raise SystemExit("the two settings answered different prompt sets")
    rng = random.Random(a.seed)
    picked = sorted(rng.sample(range(len(none)), a.n))
    items = []
    for i in picked:
        items.append({"item": i, "condition": "uncapped", "answer": none[i]["text"]})
        items.append({"item": i, "condition": "capped", "answer": capped[i]["text"]})
    rng.shuffle(items)
    for n, it in enumerate(items):
        it["id"] = f"a{n:03d}"
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "key.json").write_text(json.dumps(items, ensure_ascii=False, indent=0))
    for b in range(0, len(items), 80):
        with (out / f"todo_{b // 80}.jsonl").open("w") as f:
            for it in items[b:b + 80]:
                f.write(json.dumps({"id": it["id"], "answer": it["answer"]}, ensure_ascii=False) + "\n")
    print(f"{len(items)} answers in {len(range(0, len(items), 80))} batches under {out}")


def wilson(k, n, z=1.96):
    p = k / n
    d = 1 + z * z / n
    c = (p + z * z / (2 * n)) / d
    h = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / d
    return max(0.0, c - h), min(1.0, c + h)


def rates(a):
    rows = [json.loads(l) for l in Path(a.labelled).read_text().splitlines() if l.strip()]
    speaks_as_someone = lambda label: label in ("character", "human")
    for cond in ("uncapped", "capped"):
        labels = [r["label"] for r in rows if r["condition"] == cond]
        n, c = len(labels), Counter(labels)
        k = c["character"] + c["human"]
        lo, hi = wilson(k, n)
        counts = ", ".join(f"{x} {c[x]}" for x in ("assistant", "character", "human", "incoherent"))
        print(f"{cond}: non-assistant speaker {k}/{n} = {k / n:.0%} [{lo:.0%}–{hi:.0%}] ({counts})")
    by_item = {}
    for r in rows:
        by_item.setdefault(r["item"], {})[r["condition"]] = speaks_as_someone(r["label"])
    paired = Counter((v["uncapped"], v["capped"]) for v in by_item.values())
    print("paired prompts (uncapped → capped): someone → assistant-like", paired[(True, False)],
          "; someone → someone", paired[(True, True)], "; assistant-like → someone", paired[(False, True)],
          "; assistant-like both", paired[(False, False)])


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    d = sub.add_parser("draw")
    d.add_argument("answers")
    d.add_argument("out")
    d.add_argument("--n", type=int, default=120)
    d.add_argument("--seed", type=int, default=20261208)
    d.add_argument("--setting", default="L14-21-p99")
    r = sub.add_parser("rates")
    r.add_argument("labelled")
    a = ap.parse_args()
    draw(a) if a.cmd == "draw" else rates(a)


if __name__ == "__main__":
    main()

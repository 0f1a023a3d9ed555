"""Recompute the axis lab's separation numbers with NumPy from its checkpoint files.

An independent check of crates/axis-lab (axis = mean(default) - mean(role vectors), held-out
AUROC, cos(PC1, axis) via SVD) on the same rollouts, using the same judge rule (no AI
self-reference; for ai_adjacent roles only the assistant-identity phrases count).

    tools/.venv/bin/python tools/reference/axis_crosscheck.py \
        target/axis-lab/SmolLM2-135M-Instruct.Q4_1 \
        public/axes/SmolLM2-135M-Instruct.Q4_1.axis.report.json

Prints both implementations' numbers per layer and exits 1 if any differs by more than 1e-3.
"""

import json
import re
import sys

import numpy as np

DATA = "crates/axis-lab/data/"


def normalise(text):
    return " ".join(text.lower().replace("\u2019", "'").replace("\u2018", "'").split())


def has_phrase(text, phrase):
    for m in re.finditer(re.escape(phrase), text):
        before = text[m.start() - 1] if m.start() > 0 else " "
        after = text[m.end()] if m.end() < len(text) else " "
        if not before.isalpha() and not after.isalpha():
            return True
    return False


def auroc(pos, neg):
    pos = np.asarray(pos)[:, None]
    neg = np.asarray(neg)[None, :]
    return float((pos > neg).mean() + 0.5 * (pos == neg).mean())


def main(work, report_path):
    plan = json.load(open(work + "/plan.json"))
    jobs = plan["jobs"]
    answers = [json.loads(line) for line in open(work + "/rollouts.jsonl")]
    layers_hidden = np.fromfile(work + "/activations.f32", dtype="<f4")
    acts = layers_hidden.reshape(len(answers), 30, -1)
    roles = [json.loads(line) for line in open(DATA + "roles.jsonl")]
    markers = json.load(open(DATA + "identity_markers.json"))
    refusals = ["i'm sorry, but i can't", "i'm sorry, but i cannot", "i am sorry, but i cannot",
                "i cannot assist", "i can't assist", "i cannot help with that",
                "i can't help with that", "i'm not able to provide", "i cannot provide",
                "i can't provide"]

    def kept(i):
        role = roles[jobs[i]["speaker"]["role"]]
        text = normalise(answers[i]["text"])
        phrases = markers["assistant_identity" if role["category"] == "ai_adjacent"
                          else "ai_self_reference"]
        return (answers[i]["n_tokens"] > 0 and any(c.isalnum() for c in text)
                and not any(text.startswith(r) for r in refusals)
                and not any(has_phrase(text, p) for p in phrases))

    def select(split, kind, judged):
        return [i for i, a in enumerate(answers)
                if jobs[i]["split"] == split and jobs[i]["speaker"]["kind"] == kind
                and a["n_tokens"] > 0 and (not judged or kept(i))]

    train_default = select("train", "default", False)
    train_role = select("train", "role", True)
    held_default = select("held_out", "default", False)
    held_role = select("held_out", "role", True)
    by_role = {}
    for i in train_role:
        by_role.setdefault(jobs[i]["speaker"]["role"], []).append(i)

    report = json.load(open(report_path))["validation"]["report"]
    worst = 0.0
    print("layer  AUROC numpy / lab    cos(PC1,axis) numpy / lab")
    for layer in range(acts.shape[1]):
        default_mean = acts[train_default, layer].mean(0)
        role_vectors = np.stack([acts[v, layer].mean(0) for v in by_role.values()])
        role_mean = role_vectors.mean(0)
        axis = default_mean - role_mean
        unit = axis / np.linalg.norm(axis)
        a = auroc(acts[held_default, layer] @ unit, acts[held_role, layer] @ unit)
        _, _, vt = np.linalg.svd(role_vectors - role_mean, full_matrices=False)
        cos = abs(float(vt[0] @ unit))
        lab_a = report["held_out_auroc"][layer]
        lab_cos = report["cos_pc1_axis"][layer]
        worst = max(worst, abs(a - lab_a), abs(cos - lab_cos))
        print(f"{layer:5d}  {a:.4f} / {lab_a:.4f}    {cos:.4f} / {lab_cos:.4f}")
    print(f"largest difference: {worst:.2e}")
    return 0 if worst <= 1e-3 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))

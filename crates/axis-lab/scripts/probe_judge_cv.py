#!/usr/bin/env python3
"""Does a probe on the model's own activations read speakers better than the rule judge?

Input: `axis-lab judge-features --model M --out F` (F.bin + F.json): for every answer of
data/identity_labels.jsonl, its mean residual stream at a few layers, read in its own context
(system prompt, question, answer) and alone (the answer after an empty user turn), plus the rule
judge's reading and the person's label.

Protocol: only the design splits (design, design_2; 640 answers). For each view × layer × L2
strength, a multinomial logistic regression on the standardised activations — alone, and with
the rule judge's reading and the prompt kind appended — is scored by Cohen's kappa against the
person's labels under 5-fold stratified cross-validation (seed 0). The held-out split is never
read here: a probe would be measured on it only once, if chosen.

Needs numpy and scikit-learn (not the lab's dependencies: a virtual environment of your own).
Usage: probe_judge_cv.py F
"""
import json
import sys

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import cohen_kappa_score
from sklearn.model_selection import StratifiedKFold, cross_val_predict
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

CLASSES = ["assistant", "in_role", "other_identity", "incoherent"]
JUDGE = {"Assistant": "assistant", "InRole": "in_role", "OtherIdentity": "other_identity",
         "Incoherent": "incoherent"}


def main(base):
    index = json.load(open(base + ".json"))
    rows = index["rows"]
    layers, hidden, views = index["layers"], index["hidden"], index["views"]
    x = np.fromfile(base + ".bin", dtype="<f4").reshape(len(views), len(rows), len(layers), hidden)
    label = np.array([r["label"] for r in rows])
    design = np.isin([r["split"] for r in rows], ["design", "design_2"])
    judge = np.array([JUDGE[r["judge"]] for r in rows])
    judge_onehot = np.stack([(judge == c).astype(float) for c in CLASSES], 1)
    role = np.array([[float(r["kind"] == "role")] for r in rows])
    print(f"design answers: {design.sum()}; rule judge on them (rules written on them): "
          f"kappa {cohen_kappa_score(label[design], judge[design]):.3f}")
    folds = StratifiedKFold(5, shuffle=True, random_state=0)
    results = []
    for v, view in enumerate(views):
        for li, layer in enumerate(layers):
            for c in [0.003, 0.01, 0.03]:
                for extra in ["activations", "activations + judge"]:
                    f = x[v, :, li, :]
                    if extra != "activations":
                        f = np.concatenate([f, judge_onehot * 10, role * 10], 1)
                    model = make_pipeline(StandardScaler(), LogisticRegression(C=c, max_iter=3000))
                    pred = cross_val_predict(model, f[design], label[design], cv=folds)
                    k = cohen_kappa_score(label[design], pred)
                    results.append((k, view, layer, c, extra))
                    print(f"{view:8} layer {layer:2} C {c:<6} {extra:20} CV kappa {k:.3f}", flush=True)
    results.sort(reverse=True)
    print("best:")
    for k, view, layer, c, extra in results[:5]:
        print(f"  {k:.3f}  {view}, layer {layer}, C {c}, {extra}")


if __name__ == "__main__":
    main(sys.argv[1])

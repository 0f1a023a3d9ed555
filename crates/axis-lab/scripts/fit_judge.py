"""Fit the learned speaker judge on the labelled design splits, and write its weights.

Input: the design splits' features, written by the lab (never the held-out split):

    cargo run -p axis-lab -- agreement --verdicts target/judge/design.jsonl
    python crates/axis-lab/scripts/fit_judge.py target/judge/design.jsonl \
        --out docs/measurements/speaker-judge-learned.json
    cargo run -p axis-lab -- agreement --learned docs/measurements/speaker-judge-learned.json

Each row carries the person's label and the judge's features (`engine::speaker::features`:
the rules' label and findings, bucketed counts, the answer's words and word pairs, each plain
and under the reading's prefix). The model is a multinomial logistic regression on binary
features; its settings (feature families, minimum document frequency, L2 strength, class
weights) are chosen by 5-fold cross-validated Cohen's kappa, folds grouped by role so that
no role's answers sit on both sides of a fold. The chosen model is refitted on every design
answer and written as a bias and a weight per class and feature; a feature whose weights are
all zero is left out. The engine scores an answer exactly so (bias + the weights of the
features it has, each once, the first highest class wins; read without a persona, `in_role`
becomes `other_identity`, as the rubric has it), and `fixture` rows let its test check that it
does.

Needs numpy and scikit-learn. The folds and the solver are seeded.
"""

import argparse
import itertools
import json
import sys

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import cohen_kappa_score, confusion_matrix
from sklearn.model_selection import StratifiedGroupKFold

CLASSES = ["assistant", "in_role", "other_identity", "incoherent"]
# Weights are written with this many significant digits; predictions in the fixture are made
# from the written weights, not the solver's.
DIGITS = 5
# How far below the best cross-validated kappa a smaller model may be and still be chosen.
TOLERANCE = 0.02


def family(name):
    """A feature's family: words (`w:`), word pairs (`b:`) or the rules' findings."""
    bare = name[2:] if name[:2] in ("p.", "d.") else name
    if bare.startswith("w:"):
        return "words"
    if bare.startswith("b:"):
        return "pairs"
    return "findings"


def vectorise(rows, families, min_df, vocabulary=None):
    if vocabulary is None:
        counts = {}
        for r in rows:
            for f in set(r["features"]):
                if family(f) in families:
                    counts[f] = counts.get(f, 0) + 1
        vocabulary = sorted(f for f, n in counts.items() if n >= min_df)
    index = {f: i for i, f in enumerate(vocabulary)}
    x = np.zeros((len(rows), len(vocabulary)))
    for i, r in enumerate(rows):
        for f in r["features"]:
            j = index.get(f)
            if j is not None:
                x[i, j] = 1.0
    return x, vocabulary


def model(c, weighting):
    return LogisticRegression(
        C=c, class_weight=weighting, max_iter=5000, solver="lbfgs", random_state=0
    )


def cross_validated(rows, y, groups, setting):
    families, min_df, c, weighting = setting
    predicted = np.empty(len(rows), dtype=object)
    folds = StratifiedGroupKFold(n_splits=5, shuffle=True, random_state=0)
    for train, test in folds.split(np.zeros(len(rows)), y, groups):
        x_train, vocabulary = vectorise([rows[i] for i in train], families, min_df)
        x_test, _ = vectorise([rows[i] for i in test], families, min_df, vocabulary)
        fitted = model(c, weighting).fit(x_train, y[train])
        predicted[test] = [
            as_read(rows[i], label) for i, label in zip(test, fitted.predict(x_test))
        ]
    return cohen_kappa_score(y, predicted), predicted


def as_read(row, label):
    """The label as the engine gives it: without a persona there is no role to be in."""
    return "other_identity" if label == "in_role" and row["role"] is None else label


def rounded(v):
    return float(f"{v:.{DIGITS}g}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("design", help="design rows from `agreement --verdicts`")
    parser.add_argument("--out", required=True, help="where to write the judge's weights")
    args = parser.parse_args()

    rows = [json.loads(line) for line in open(args.design, encoding="utf-8")]
    splits = {r["split"] for r in rows}
    if not splits <= {"design", "design_2", "design_3"}:
        sys.exit(f"only design splits may be fitted on, found {sorted(splits)}")
    y = np.array([r["label"] for r in rows], dtype=object)
    groups = [r["role"] or r["id"] for r in rows]
    rules_kappa = cohen_kappa_score(y, [r["rules"] for r in rows])
    print(f"{len(rows)} design answers; the rules alone, in sample: kappa {rules_kappa:.3f}")

    grid = list(
        itertools.product(
            [("findings",), ("findings", "words"), ("findings", "words", "pairs")],
            [2, 3, 5],
            [0.03, 0.1, 0.3, 1.0],
            [None, "balanced"],
        )
    )
    results = []
    for setting in grid:
        kappa, _ = cross_validated(rows, y, groups, setting)
        results.append((kappa, setting))
        print(f"cv kappa {kappa:.3f}  {setting}", flush=True)
    # The settings' kappas differ by about a kappa's standard error on this many answers
    # (0.02-0.025), so the best one is no better than its neighbours: take the smallest model
    # (fewest features, then the strongest L2) within TOLERANCE of the best.
    top = max(k for k, _ in results)
    size = {}
    for _, s in results:
        size.setdefault(s[:2], len(vectorise(rows, s[0], s[1])[1]))
    close = [(size[s[:2]], s[2], s, k) for k, s in results if k >= top - TOLERANCE]
    close.sort(key=lambda r: (r[0], r[1]))
    _, _, best, best_kappa = close[0]
    print(f"best cv kappa {top:.3f}; chosen (fewest features within {TOLERANCE}): {best} "
          f"(cv kappa {best_kappa:.3f}, {size[best[:2]]} features)")
    _, cv_predicted = cross_validated(rows, y, groups, best)
    print("cv confusion (rows: judge, columns: person;", " / ".join(CLASSES) + "):")
    print(confusion_matrix(list(y), list(cv_predicted), labels=CLASSES).T.tolist())

    families, min_df, c, weighting = best
    x, vocabulary = vectorise(rows, families, min_df)
    fitted = model(c, weighting).fit(x, y)
    order = [list(fitted.classes_).index(k) for k in CLASSES if k in fitted.classes_]
    classes = [fitted.classes_[i] for i in order]
    bias = [rounded(fitted.intercept_[i]) for i in order]
    weights = {}
    for j, name in enumerate(vocabulary):
        w = [rounded(fitted.coef_[i, j]) for i in order]
        if any(v != 0.0 for v in w):
            weights[name] = w

    def score(features):
        s = list(bias)
        for f in set(features):
            for k, v in enumerate(weights.get(f, ())):
                s[k] += v
        return s

    def label(r):
        # np.argmax takes the first of equal scores, as the engine does.
        return as_read(r, classes[int(np.argmax(score(r["features"])))])

    fixture = [{"id": r["id"], "label": label(r)} for r in rows[:: max(1, len(rows) // 40)]]
    in_sample = [label(r) for r in rows]
    print(f"refitted on all {len(rows)}: in-sample kappa {cohen_kappa_score(y, in_sample):.3f}")
    out = {
        "about": "Learned speaker judge: multinomial logistic regression over "
        "engine::speaker::features, fitted by crates/axis-lab/scripts/fit_judge.py on the "
        "design splits of identity_labels.jsonl. Score = bias + the weights of the features "
        "an answer has; the highest class wins.",
        "setting": {
            "families": list(families),
            "min_document_frequency": min_df,
            "l2_c": c,
            "class_weight": weighting or "none",
            "cv_kappa": round(best_kappa, 4),
            "answers": len(rows),
        },
        "classes": classes,
        "bias": bias,
        "weights": dict(sorted(weights.items())),
        "fixture": fixture,
    }
    with open(args.out, "w", encoding="utf-8") as f:
        json.dump(out, f, indent=0, ensure_ascii=False)
        f.write("\n")
    print(f"wrote {args.out}: {len(weights)} features")


if __name__ == "__main__":
    main()

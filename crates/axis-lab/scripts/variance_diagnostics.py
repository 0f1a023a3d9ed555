#!/usr/bin/env python3
"""Why does the difference-of-means axis separate held-out answers less well than a
discriminant direction? Reads a build's checkpoint directory (plan.json, rollouts.jsonl,
activations.f32; see the lab README) and prints, for a few middle layers, the held-out AUROC of
default vs role answers along:

- the paper's axis (mean(default answers) − mean(role vectors));
- the axis with the k highest-variance channels zeroed (tests "a few outlier channels carry the
  noise", as in LLMs with massive activations);
- the axis divided by each channel's within-class variance (diagonal whitening);
- the axis with the top k principal directions of within-class variation projected out;
- a shrinkage-LDA direction (what `separability.rs` reports);

and how much of unit(axis)'s energy lies in the top 10 within-class principal directions.
All role answers are used (no judge), so the numbers differ a little from the build report.

Usage: python3 variance_diagnostics.py target/axis-lab/SmolLM2-135M-Instruct.Q4_1[-quick]
Needs numpy. Diagnostic only: nothing here feeds the shipped axis.
"""
import json
import sys

import numpy as np

LAYERS, HIDDEN = 30, 576  # SmolLM2-135M
PROBE_LAYERS = [12, 15, 18, 21, 24]


def auroc(pos, neg):
    """P(a default answer scores above a role answer), ties counted half (rank formula)."""
    values = np.concatenate([pos, neg])
    ranks = values.argsort().argsort() + 1.0
    return (ranks[: len(pos)].sum() - len(pos) * (len(pos) + 1) / 2) / (len(pos) * len(neg))


def unit(v):
    return v / np.linalg.norm(v)


def main(directory):
    plan = json.load(open(f"{directory}/plan.json"))
    answers = [json.loads(line) for line in open(f"{directory}/rollouts.jsonl")]
    raw = np.fromfile(f"{directory}/activations.f32", dtype="<f4")
    n = min(len(answers), raw.size // (LAYERS * HIDDEN))
    act = raw[: n * LAYERS * HIDDEN].reshape(n, LAYERS, HIDDEN).astype(np.float64)
    jobs = [plan["jobs"][a["job"]] for a in answers[:n]]
    kind = np.array([j["speaker"]["kind"] for j in jobs])
    split = np.array([j["split"] for j in jobs])
    role = np.array([j["speaker"].get("role", -1) for j in jobs])
    answered = np.array([a["n_tokens"] > 0 for a in answers[:n]])
    train_default = answered & (split == "train") & (kind == "default")
    train_role = answered & (split == "train") & (kind == "role")
    held_default = answered & (split == "held_out") & (kind == "default")
    held_role = answered & (split == "held_out") & (kind == "role")
    print(
        f"{n} answers: train {train_default.sum()} default / {train_role.sum()} role, "
        f"held out {held_default.sum()} default / {held_role.sum()} role"
    )
    for layer in PROBE_LAYERS:
        x = act[:, layer, :]
        role_vectors = np.stack([x[train_role & (role == r)].mean(0) for r in sorted(set(role[train_role]))])
        axis = x[train_default].mean(0) - role_vectors.mean(0)
        v = unit(axis)

        def score(direction):
            d = unit(direction)
            return auroc(x[held_default] @ d, x[held_role] @ d)

        within = np.concatenate(
            [x[train_default] - x[train_default].mean(0), x[train_role] - x[train_role].mean(0)]
        )
        var = within.var(0)
        by_variance = np.argsort(var)[::-1]
        _, s, vt = np.linalg.svd(within, full_matrices=False)
        cov = np.cov(within.T)
        cov = 0.9 * cov + 0.1 * np.trace(cov) / HIDDEN * np.eye(HIDDEN)
        lda = np.linalg.solve(cov, x[train_default].mean(0) - x[train_role].mean(0))
        parts = [f"layer {layer}: axis {score(axis):.3f}"]
        for k in [1, 3, 10, 30]:
            dropped = axis.copy()
            dropped[by_variance[:k]] = 0.0
            parts.append(f"top-{k}-channels-zeroed {score(dropped):.3f}")
        parts.append(f"diag-whitened {score(axis / (var + 1e-6)):.3f}")
        for k in [1, 3, 10]:
            p = vt[:k]
            parts.append(f"top-{k}-within-PCs-out {score(v - p.T @ (p @ v)):.3f}")
        parts.append(f"shrinkage-LDA {score(lda):.3f} (cos with axis {unit(lda) @ v:.2f})")
        parts.append(
            f"axis energy in top-10 within-PCs {((vt[:10] @ v) ** 2).sum():.2f} "
            f"(they hold {(s[:10] ** 2).sum() / (s ** 2).sum():.2f} of the variance)"
        )
        print("; ".join(parts))


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(sys.argv[1])

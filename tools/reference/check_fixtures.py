"""Reload every reference fixture, check its internal consistency and print summary stats,
including how far llama.cpp's quantized kernels sit from the HF f32 reference.

Needs only numpy (no torch, no llama.cpp, no model file):
    tools/.venv/bin/python tools/reference/check_fixtures.py
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

FIX = Path(__file__).resolve().parents[2] / "crates" / "engine" / "tests" / "fixtures"
N_VOCAB = 49152


def read_jsonl(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def load_bin(name):
    m = json.loads((FIX / f"{name}.json").read_text(encoding="utf-8"))
    data = (FIX / m["bin"]).read_bytes()

    def get(key):
        a = m["arrays"][key]
        dt = {"f32": "<f4", "i32": "<i4"}[a["dtype"]]
        return np.frombuffer(data, dtype=dt, count=a["nbytes"] // 4, offset=a["offset"]).reshape(a["shape"])

    assert sum(a["nbytes"] for a in m["arrays"].values()) <= len(data)
    return m, get


def log_softmax(x, axis=-1):
    x = x - x.max(axis=axis, keepdims=True)
    return x - np.log(np.exp(x).sum(axis=axis, keepdims=True))


def kl(p_logits, q_logits, axis=-1):
    """KL(P||Q) with P, Q the softmax of the given logits over the same ids (last axis)."""
    lp, lq = log_softmax(p_logits.astype(np.float64), axis), log_softmax(q_logits.astype(np.float64), axis)
    return (np.exp(lp) * (lp - lq)).sum(axis=axis)


def check_tokenizer():
    rows = read_jsonl(FIX / "tokenizer_llamacpp.jsonl")
    n = len(rows)
    n_tok = sum(len(r["ids"]) for r in rows)
    hf_diff = [r for r in rows if r["ids"] != r["hf_ids"]]
    sp_diff = [r for r in rows if r["ids"] != r["ids_plain"]]
    for r in rows:
        assert all(0 <= i < N_VOCAB for i in r["ids"])
    print(f"tokenizer_llamacpp.jsonl: {n} strings, {n_tok} llama.cpp tokens, max {max(len(r['ids']) for r in rows)}/string")
    print(f"  special=True vs special=False differ: {len(sp_diff)} strings (all contain a control-token text)")
    print(f"  HF vs llama.cpp differ: {len(hf_diff)} strings")
    for r in hf_diff:
        print(f"    {r['text']!r:.60} llama={r['ids'][:10]} hf={r['hf_ids'][:10]}")


def check_chat_template():
    rows = read_jsonl(FIX / "chat_template_hf.jsonl")
    tmpl = (FIX / "chat_template.jinja").read_text(encoding="utf-8")
    print(f"chat_template_hf.jsonl: {len(rows)} cases; chat_template.jinja {len(tmpl)} chars")
    for r in rows:
        in_content = sum(m["content"].count("<|im_start|>") for m in r["messages"])
        assert r["rendered"].count("<|im_start|>") - in_content == len(r["messages"]) + (
            r["messages"][0]["role"] != "system") + r["add_generation_prompt"], r["name"]


def check_hf():
    m, get = load_bin("logits_hf")
    print(f"logits_hf: {len(m['prompts'])} prompts, versions {m['versions']}")
    for p in m["prompts"]:
        T = p["n_tokens"]
        ti, tv, sub, last = (get(p["arrays"][k]) for k in ["top20_ids", "top20_logits", "subset_logits", "last_logits"])
        rm, rl = get(p["arrays"]["resid_mean"]), get(p["arrays"]["resid_last"])
        assert ti.shape == (T, m["topk"]) and sub.shape == (T, len(m["subset_ids"])) and last.shape == (N_VOCAB,)
        assert np.all(np.diff(tv, axis=1) <= 0), "top-20 must be sorted descending"
        # The last row of the per-position arrays must agree with the full last vector.
        assert np.array_equal(last[ti[-1]], tv[-1]) and np.array_equal(last[m["subset_ids"]], sub[-1])
        assert int(np.argmax(last)) == p["greedy"]["ids"][0]
        g = p["greedy"]
        print(f"  {p['name']:16s} T={T:4d} resid|last| L{m['resid_layers']}="
              f"{[round(float(np.linalg.norm(x)), 1) for x in rl]} greedy[{len(g['ids'])}] "
              f"min_margin={min(g['margins']):.3f} first<0.05={g['first_step_margin_below_0.05']} {g['text']!r:.60}")
    return m, get


def compare(hf_m, hf_get):
    path = FIX / "logits_llamacpp.json"
    if not path.exists():
        print("logits_llamacpp.json missing: skip the llama.cpp comparison")
        return
    lm, lget = load_bin("logits_llamacpp")
    assert lm["subset_ids"] == hf_m["subset_ids"]
    print(f"logits_llamacpp vs logits_hf ({lm['versions']}):")
    print(f"  {'prompt':16s} {'T':>4s} {'max|Δ|sub+top20':>15s} {'mean|Δ|':>8s} {'max|Δ|last':>10s} "
          f"{'max|Δ-meanΔ|':>12s} {'KL top20':>9s} {'KL sub+top20':>12s} {'KL last full':>12s} {'top1 agree':>10s} {'greedy prefix':>13s}")
    tot = {"n": 0, "top1": 0, "kl20": [], "klsub": [], "maxd": 0.0}
    for hp, lp in zip(hf_m["prompts"], lm["prompts"]):
        assert hp["token_ids"] == lp["token_ids"]
        h_ti, h_tv, h_sub, h_last = (hf_get(hp["arrays"][k]) for k in ["top20_ids", "top20_logits", "subset_logits", "last_logits"])
        l_ti, l_sub, l_at, l_last = (lget(lp["arrays"][k]) for k in ["top20_ids", "subset_logits", "at_hf_top20_logits", "last_logits"])
        sd = np.concatenate([l_sub - h_sub, l_at - h_tv], axis=1)  # signed Δ over subset ∪ HF top-20, [T, 276]
        d = np.abs(sd)
        # Softmax ignores a per-position constant shift; much of llama.cpp's Δ is such a shift.
        dc = np.abs(sd - sd.mean(axis=1, keepdims=True))
        kl20 = kl(h_tv, l_at)  # over HF's top-20 ids, both renormalised
        # Over subset ∪ HF-top-20 (duplicates rarely overlap; harmless for a summary metric).
        klsub = kl(np.concatenate([h_sub, h_tv], 1), np.concatenate([l_sub, l_at], 1))
        top1 = (h_ti[:, 0] == l_ti[:, 0])
        dlast = np.abs(h_last - l_last)
        gh, gl = hp["greedy"]["ids"], lp["greedy"]["ids"]
        prefix = next((k for k, (a, b) in enumerate(zip(gh, gl)) if a != b), min(len(gh), len(gl)))
        print(f"  {hp['name']:16s} {len(top1):4d} {d.max():15.3f} {d.mean():8.3f} {dlast.max():10.3f} "
              f"{dc.max():12.3f} {kl20.mean():9.5f} {klsub.mean():12.5f} {float(kl(h_last, l_last)):12.5f} "
              f"{top1.mean():10.3f} {prefix:6d}/{len(gh):<6d}")
        for pos in np.where(~top1)[0]:
            tot.setdefault("dis", []).append(
                f"{hp['name']}@{pos}: hf top-2 {h_ti[pos, :2].tolist()} margin {h_tv[pos, 0] - h_tv[pos, 1]:.3f}, "
                f"llama.cpp picks {int(l_ti[pos, 0])}")
        tot["n"] += len(top1)
        tot["top1"] += int(top1.sum())
        tot["kl20"].append(kl20)
        tot["klsub"].append(klsub)
        tot["maxd"] = max(tot["maxd"], float(d.max()))
    print(f"  ALL: positions={tot['n']} max|Δlogit|={tot['maxd']:.3f} "
          f"mean KL top20={np.concatenate(tot['kl20']).mean():.5f} "
          f"mean KL sub+top20={np.concatenate(tot['klsub']).mean():.5f} "
          f"top-1 agreement={tot['top1'] / tot['n']:.4f}")
    print("  top-1 disagreements (all at HF near-ties):")
    for line in tot.get("dis", []):
        print("    " + line)
    for hp, lp in zip(hf_m["prompts"], lm["prompts"]):
        print(f"  greedy {hp['name']:14s} hf={hp['greedy']['text']!r:.50}\n"
              f"  {'':21s} llama={lp['greedy']['text']!r:.50}")


def main():
    sizes = {p.name: p.stat().st_size for p in sorted(FIX.iterdir()) if p.is_file()}
    print("fixture sizes:", {k: f"{v / 1e6:.3f} MB" for k, v in sizes.items()})
    for fname, fn in [("tokenizer_llamacpp.jsonl", check_tokenizer), ("chat_template_hf.jsonl", check_chat_template)]:
        if (FIX / fname).exists():
            fn()
        else:
            print(f"{fname} missing: skipped")
    if (FIX / "logits_hf.json").exists():
        hf_m, hf_get = check_hf()
        compare(hf_m, hf_get)


if __name__ == "__main__":
    main()

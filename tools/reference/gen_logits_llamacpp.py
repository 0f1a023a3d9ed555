"""llama.cpp (quantized kernels) logits for the same prompts, positions and vocab subsets as
logits_hf.json — so we can say how far a *correct* quantized engine sits from the f32 reference.

Reads crates/engine/tests/fixtures/logits_hf.json (token ids, subset ids, HF top-20 ids), so run
gen_logits_hf.py first. Writes logits_llamacpp.json + logits_llamacpp.bin (same layout), per prompt:
  top20_ids / top20_logits [T,20]   llama.cpp's own full-vocab top-20 at every position
  subset_logits [T,256]             logits at the shared subset_ids
  at_hf_top20_logits [T,20]         logits at HF's top-20 ids of the same position (for Δ/KL)
  last_logits [49152]               full vector at the last position
  greedy (inline)                   up to 32 greedy tokens with top-2 margins, like the HF file
No residual stream: llama-cpp-python exposes no per-layer activations.

Settings: n_threads=2, one batch for the whole prompt (n_batch=n_ctx), logits_all=True, the
GGUF's own Q4_1/Q8_0 kernels on CPU (whatever SIMD the build machine has: record it).
Run: tools/.venv/bin/python tools/reference/gen_logits_llamacpp.py
"""

from __future__ import annotations

import json

import numpy as np

import common

NEAR_TIE = 0.05


def eval_all(llm, ids):
    """Teacher-forced logits for every position of `ids`, fresh KV cache."""
    llm.reset()
    llm.eval(ids)
    return np.array(llm.scores[: len(ids)], dtype=np.float32)  # [T, V]


def greedy(llm, ids, n_new):
    logits = eval_all(llm, ids)[-1]
    steps = []
    for _ in range(n_new):
        order = np.argsort(-logits, kind="stable")[:2]
        tok = int(order[0])
        steps.append({"id": tok, "top2_ids": [int(order[0]), int(order[1])],
                      "top2_logits": [float(logits[order[0]]), float(logits[order[1]])],
                      "margin": float(logits[order[0]] - logits[order[1]])})
        if tok == common.EOS_ID:
            break
        llm.eval([tok])
        logits = np.array(llm.scores[llm.n_tokens - 1], dtype=np.float32)
    return steps


def topk_sorted(logits, k):
    idx = np.argsort(-logits, axis=-1, kind="stable")[:, :k]
    return idx.astype(np.int32), np.take_along_axis(logits, idx, axis=-1)


def main() -> None:
    import importlib.metadata as md

    import llama_cpp

    common.check_model()
    hf_manifest = json.loads((common.FIXTURES / "logits_hf.json").read_text(encoding="utf-8"))
    hf = common.BinReader(common.FIXTURES / hf_manifest["bin"], hf_manifest["arrays"])
    subset = np.array(hf_manifest["subset_ids"])
    assert subset.tolist() == common.subset_ids()

    llm = common.load_llama(vocab_only=False, n_ctx=1024, logits_all=True)
    decode = common.gguf_byte_decoder()
    w = common.BinWriter()
    prompts_out = []
    for p in hf_manifest["prompts"]:
        name, ids = p["name"], p["token_ids"]
        # Same tokenizer as the HF file used (llama.cpp's), re-checked here.
        assert llm.tokenize(p["rendered"].encode("utf-8"), add_bos=False, special=True) == ids
        logits = eval_all(llm, ids)
        hf_top_ids = hf.get(p["arrays"]["top20_ids"])
        top_i, top_v = topk_sorted(logits, common.TOPK)
        arrays = {
            "top20_ids": w.add(f"{name}/top20_ids", top_i, "int32"),
            "top20_logits": w.add(f"{name}/top20_logits", top_v, "float32"),
            "subset_logits": w.add(f"{name}/subset_logits", logits[:, subset], "float32"),
            "at_hf_top20_logits": w.add(
                f"{name}/at_hf_top20_logits", np.take_along_axis(logits, hf_top_ids.astype(np.int64), axis=-1),
                "float32"),
            "last_logits": w.add(f"{name}/last_logits", logits[-1], "float32"),
        }
        steps = greedy(llm, ids, common.GREEDY_NEW_TOKENS)
        gen_ids = [s["id"] for s in steps]
        # Decode via the GGUF vocab (llama-cpp-python's detokenize drops pieces > 32 bytes).
        text = decode(gen_ids).decode("utf-8", errors="replace")
        first_tie = next((k for k, s in enumerate(steps) if s["margin"] < NEAR_TIE), None)
        prompts_out.append({
            "name": name, "n_tokens": len(ids), "token_ids": ids, "arrays": arrays,
            "greedy": {
                "ids": gen_ids, "text": text, "margins": [s["margin"] for s in steps],
                "top2_ids": [s["top2_ids"] for s in steps], "top2_logits": [s["top2_logits"] for s in steps],
                "first_step_margin_below_0.05": first_tie,
            },
        })
        print(f"{name:16s} T={len(ids):4d} top1={int(top_i[-1,0])} greedy={text!r} first_tie={first_tie}")

    manifest = {
        "description": "llama.cpp (llama-cpp-python) quantized-kernel teacher-forced logits; see tools/reference/README.md",
        "engine": "llama.cpp via llama-cpp-python, CPU, n_threads=2, logits_all=True, one prompt batch",
        "versions": {"llama-cpp-python": md.version("llama-cpp-python"), "numpy": md.version("numpy")},
        "system_info": llama_cpp.llama_print_system_info().decode(errors="replace").strip(),
        "model": {"file": common.MODEL_NAME, "sha256": common.MODEL_SHA256},
        "bin": "logits_llamacpp.bin",
        "topk": common.TOPK,
        "subset_ids": subset.tolist(),
        "greedy_max_new_tokens": common.GREEDY_NEW_TOKENS,
        "greedy_stops_after_id": common.EOS_ID,
        "near_tie_margin": NEAR_TIE,
        "arrays": w.arrays,
        "prompts": prompts_out,
    }
    w.save(common.FIXTURES / "logits_llamacpp.bin")
    with open(common.FIXTURES / "logits_llamacpp.json", "w", encoding="utf-8", newline="\n") as f:
        json.dump(manifest, f, ensure_ascii=False, indent=1)
        f.write("\n")
    print(f"wrote logits_llamacpp.json + logits_llamacpp.bin ({len(w.buf)} bytes)")


if __name__ == "__main__":
    main()

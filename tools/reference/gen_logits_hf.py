"""HF transformers f32 reference logits for the prompts in prompts.py.

transformers dequantizes the Q4_1/Q8_0 GGUF to f32 and runs its own Llama implementation
(undoing llama.cpp's Q/K row permutation on load), so this is an independent, unquantized-math
reference for our engine. Writes
  crates/engine/tests/fixtures/logits_hf.json   manifest: prompts, token ids, greedy runs, array index
  crates/engine/tests/fixtures/logits_hf.bin    little-endian f32/i32 arrays indexed by the manifest

Per prompt (T = prompt length):
  top20_ids [T,20] i32 / top20_logits [T,20] f32   full-vocab top-20 at every position, descending
  subset_logits [T,256] f32                        logits at the fixed seeded `subset_ids`
  last_logits [49152] f32                          the whole logit vector at the last position
  resid_mean [5,576] f32 / resid_last [5,576] f32   decoder-block outputs (residual stream) at
                                                   RESID_LAYERS, mean over all T positions and the
                                                   vector at the last position
  greedy (inline JSON): up to 32 new tokens (stops after <|im_end|>), top-2 ids/logits and margin
                        per step, first step with margin < 0.05.
Token ids come from llama.cpp's tokenizer (the reference; see gen_tokenizer.py) and are asserted
equal to HF's own for these prompts.
Run: tools/.venv/bin/python tools/reference/gen_logits_hf.py
"""

from __future__ import annotations

import json

import numpy as np
import torch

import common
from prompts import PROMPTS

NEAR_TIE = 0.05

# docs/design.md §2 sanity check (measured with transformers on this machine before this script).
FRANCE_GREEDY = [504, 3575, 282, 4649, 314, 7042, 30, 2]
FRANCE_TOP5 = [(504, 25.3254), (60, 25.2433), (15319, 24.9424), (2219, 24.4017), (7026, 24.3146)]


def versions() -> dict:
    import importlib.metadata as md

    return {p: md.version(p) for p in ["torch", "transformers", "gguf", "numpy", "accelerate", "tokenizers"]}


def render_and_tokenize(hf_tok, llm_vocab, messages):
    rendered = hf_tok.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    ids = llm_vocab.tokenize(rendered.encode("utf-8"), add_bos=False, special=True)
    hf_ids = hf_tok(rendered, add_special_tokens=False)["input_ids"]
    assert ids == hf_ids, f"llama.cpp and HF tokenize this prompt differently: {rendered!r}"
    return rendered, ids


@torch.no_grad()
def forward_with_residuals(model, ids):
    """Full-sequence forward; returns logits [T,V] and block outputs {layer: [T,H]}.

    Forward hooks on the decoder blocks capture their *outputs*. We do not use
    output_hidden_states for the last block: HF's last hidden_states entry is after the final
    RMSNorm, while the residual stream the Assistant-Axis method reads is the block output.
    """
    captured = {}
    handles = []
    for l in range(common.N_LAYERS):

        def hook(_mod, _inp, out, l=l):
            captured[l] = (out[0] if isinstance(out, tuple) else out)[0].detach().clone()

        handles.append(model.model.layers[l].register_forward_hook(hook))
    try:
        out = model(torch.tensor([ids]), output_hidden_states=True, use_cache=False)
    finally:
        for h in handles:
            h.remove()
    hs = out.hidden_states
    # Document the off-by-one and the final-norm trap with asserts rather than words alone:
    # hidden_states[l+1] == output of block l for l < 29; hidden_states[30] == norm(block 29 out).
    for l in range(common.N_LAYERS - 1):
        assert torch.equal(hs[l + 1][0], captured[l]), l
    assert torch.allclose(hs[-1][0], model.model.norm(captured[common.N_LAYERS - 1][None])[0])
    return out.logits[0].float(), captured


@torch.no_grad()
def greedy(model, ids, n_new):
    """Greedy decoding with the KV cache; per step: chosen id, top-2 (ids, logits), margin."""
    out = model(torch.tensor([ids]), use_cache=True)
    # transformers 5 renamed past_key_values -> cache (the old name still works, with a warning).
    past, logits = out.cache, out.logits[0, -1]
    steps = []
    for _ in range(n_new):
        v, i = torch.topk(logits, 2)
        tok = int(i[0])
        steps.append({"id": tok, "top2_ids": [int(i[0]), int(i[1])], "top2_logits": [float(v[0]), float(v[1])],
                      "margin": float(v[0] - v[1])})
        if tok == common.EOS_ID:
            break
        out = model(torch.tensor([[tok]]), cache=past, use_cache=True)
        past, logits = out.cache, out.logits[0, -1]
    return steps


def main() -> None:
    common.check_model()
    torch.manual_seed(0)
    hf_tok = common.load_hf_tokenizer()
    model = common.load_hf_model()
    llm_vocab = common.load_llama(vocab_only=True)
    subset = common.subset_ids()
    subset_t = torch.tensor(subset)

    w = common.BinWriter()
    prompts_out = []
    for name, messages in PROMPTS:
        rendered, ids = render_and_tokenize(hf_tok, llm_vocab, messages)
        logits, blocks = forward_with_residuals(model, ids)
        T = len(ids)
        topv, topi = torch.topk(logits, common.TOPK, dim=-1)  # sorted descending
        resid = torch.stack([blocks[l] for l in common.RESID_LAYERS])  # [5,T,H]
        arrays = {
            "top20_ids": w.add(f"{name}/top20_ids", topi.numpy(), "int32"),
            "top20_logits": w.add(f"{name}/top20_logits", topv.numpy(), "float32"),
            "subset_logits": w.add(f"{name}/subset_logits", logits[:, subset_t].numpy(), "float32"),
            "last_logits": w.add(f"{name}/last_logits", logits[-1].numpy(), "float32"),
            "resid_mean": w.add(f"{name}/resid_mean", resid.mean(dim=1).numpy(), "float32"),
            "resid_last": w.add(f"{name}/resid_last", resid[:, -1].numpy(), "float32"),
        }
        steps = greedy(model, ids, common.GREEDY_NEW_TOKENS)
        # Cache-free and cached forwards must agree on the first step's distribution.
        assert steps[0]["id"] == int(topi[-1, 0])
        gen_ids = [s["id"] for s in steps]
        first_tie = next((k for k, s in enumerate(steps) if s["margin"] < NEAR_TIE), None)
        prompts_out.append(
            {
                "name": name,
                "messages": messages,
                "add_generation_prompt": True,
                "rendered": rendered,
                "n_tokens": T,
                "token_ids": ids,
                "arrays": arrays,
                "greedy": {
                    "ids": gen_ids,
                    "text": hf_tok.decode(gen_ids, skip_special_tokens=False),
                    "margins": [s["margin"] for s in steps],
                    "top2_ids": [s["top2_ids"] for s in steps],
                    "top2_logits": [s["top2_logits"] for s in steps],
                    "first_step_margin_below_0.05": first_tie,
                },
            }
        )
        print(f"{name:16s} T={T:4d} top1={int(topi[-1,0])} greedy={hf_tok.decode(gen_ids)!r} first_tie={first_tie}")

        if name == "france":
            top5 = [(int(i), float(v)) for i, v in zip(topi[-1, :5], topv[-1, :5])]
            print("  france top-5:", [(i, hf_tok.decode([i]), round(v, 4)) for i, v in top5])
            assert [i for i, _ in top5] == [i for i, _ in FRANCE_TOP5], top5
            for (_, got), (_, exp) in zip(top5, FRANCE_TOP5):
                assert abs(got - exp) < 2e-3, (top5, FRANCE_TOP5)
            assert gen_ids == FRANCE_GREEDY, gen_ids

    manifest = {
        "description": "HF transformers f32 (dequantized GGUF) teacher-forced logits; see tools/reference/README.md",
        "engine": "transformers (f32, eager attention, CPU)",
        "versions": versions(),
        "model": {"file": common.MODEL_NAME, "sha256": common.MODEL_SHA256},
        "bin": "logits_hf.bin",
        "topk": common.TOPK,
        "subset_seed": common.SUBSET_SEED,
        "subset_ids": subset,
        "resid_layers": common.RESID_LAYERS,
        "resid_definition": "output of decoder block l (input of block l+1), before the final norm",
        "greedy_max_new_tokens": common.GREEDY_NEW_TOKENS,
        "greedy_stops_after_id": common.EOS_ID,
        "near_tie_margin": NEAR_TIE,
        "arrays": w.arrays,
        "prompts": prompts_out,
    }
    w.save(common.FIXTURES / "logits_hf.bin")
    with open(common.FIXTURES / "logits_hf.json", "w", encoding="utf-8", newline="\n") as f:
        json.dump(manifest, f, ensure_ascii=False, indent=1)
        f.write("\n")
    print(f"wrote logits_hf.json + logits_hf.bin ({len(w.buf)} bytes)")


if __name__ == "__main__":
    main()

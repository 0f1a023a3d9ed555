"""Shared paths and loaders for the reference-fixture scripts.

Everything here is deliberately boring: the fixtures must be reproducible by anyone
with the pinned venv (see requirements.txt) and the verified GGUF, nothing else.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from pathlib import Path

# Never let transformers try the network: the GGUF is local and the hub is unreachable here.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

REPO = Path(__file__).resolve().parents[2]
MODEL_DIR = REPO / "public" / "models"
MODEL_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
MODEL_PATH = MODEL_DIR / MODEL_NAME
MODEL_SHA256 = "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"
FIXTURES = REPO / "crates" / "engine" / "tests" / "fixtures"

# Architecture facts we rely on when slicing outputs (docs/design.md §2).
N_LAYERS = 30
HIDDEN = 576
N_VOCAB = 49152
EOS_ID = 2  # <|im_end|>

# Layers whose residual stream we store: first, quarter, middle (the monitor layer, n/2=15),
# three quarters, last block. "Layer l" = output of decoder block l = input of block l+1.
RESID_LAYERS = [0, 7, 15, 22, 29]

# The fixed vocab subset whose logits we store at every position (same set for all prompts
# and both engines). Seeded so regeneration yields the very same ids.
SUBSET_SEED = 20260110
SUBSET_SIZE = 256
TOPK = 20
GREEDY_NEW_TOKENS = 32


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def check_model() -> Path:
    """Fail loudly if the GGUF is missing or is not the file every fixture was made from."""
    if not MODEL_PATH.exists():
        sys.exit(f"missing {MODEL_PATH}: fetch it first (see tools/reference/README.md)")
    got = sha256_file(MODEL_PATH)
    if got != MODEL_SHA256:
        sys.exit(f"{MODEL_PATH} sha256 {got} != expected {MODEL_SHA256}")
    return MODEL_PATH


def subset_ids() -> list[int]:
    import numpy as np

    rng = np.random.default_rng(SUBSET_SEED)
    return sorted(int(i) for i in rng.choice(N_VOCAB, size=SUBSET_SIZE, replace=False))


def load_hf_tokenizer():
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(str(MODEL_DIR), gguf_file=MODEL_NAME)


def load_hf_model():
    import torch
    from transformers import AutoModelForCausalLM

    torch.set_num_threads(2)
    model = AutoModelForCausalLM.from_pretrained(
        str(MODEL_DIR),
        gguf_file=MODEL_NAME,
        dtype=torch.float32,  # dequantize Q4_1/Q8_0 to f32: the unquantized-math reference
        attn_implementation="eager",  # plain softmax(QK^T)V, no fused kernel
    )
    model.eval()
    return model


def load_llama(vocab_only: bool, n_ctx: int = 1024, logits_all: bool = False):
    from llama_cpp import Llama

    return Llama(
        model_path=str(MODEL_PATH),
        vocab_only=vocab_only,
        n_ctx=n_ctx,
        n_batch=n_ctx,  # whole prompt in one batch: one deterministic prefill
        n_threads=2,
        n_threads_batch=2,
        logits_all=logits_all,
        seed=0,
        verbose=False,
    )


def gguf_chat_template() -> str:
    """The raw tokenizer.chat_template string stored in the GGUF metadata."""
    from gguf import GGUFReader

    r = GGUFReader(str(MODEL_PATH))
    f = r.fields["tokenizer.chat_template"]
    return bytes(f.parts[f.data[0]]).decode("utf-8")


def gguf_byte_decoder():
    """ids -> bytes using only the GGUF vocab: GPT-2 byte-level pieces mapped back to raw bytes,
    control tokens (type 3) emitted as their literal text. An engine-independent round-trip check.

    (llama-cpp-python's detokenize() cannot be used for this: it renders each piece into a
    32-byte buffer and silently drops longer pieces, e.g. id 28909 = 64 x '='.)
    """
    from gguf import GGUFReader

    r = GGUFReader(str(MODEL_PATH))
    f = r.fields["tokenizer.ggml.tokens"]
    tokens = [bytes(f.parts[i]).decode("utf-8") for i in f.data]
    ft = r.fields["tokenizer.ggml.token_type"]
    types = [int(ft.parts[i][0]) for i in ft.data]
    # GPT-2's bytes_to_unicode table, inverted.
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    u2b = {chr(c): b for b, c in zip(bs, cs)}

    def decode(ids):
        out = bytearray()
        for i in ids:
            if types[i] == 3:  # control token: literal text
                out += tokens[i].encode("utf-8")
            else:
                out += bytes(u2b[ch] for ch in tokens[i])
        return bytes(out)

    return decode


def write_jsonl(path: Path, rows) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")


def read_jsonl(path: Path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


class BinWriter:
    """Little-endian array blob + JSON manifest: {name: {dtype, shape, offset, nbytes}}.

    The Rust side reads it with nothing but serde_json and from_le_bytes.
    """

    def __init__(self):
        self.buf = bytearray()
        self.arrays: dict[str, dict] = {}

    def add(self, name: str, arr, dtype: str) -> str:
        import numpy as np

        assert name not in self.arrays, name
        a = np.ascontiguousarray(np.asarray(arr), dtype=np.dtype(dtype).newbyteorder("<"))
        # 4-byte alignment is already guaranteed (only 4-byte dtypes), keep it explicit anyway.
        while len(self.buf) % 4:
            self.buf.append(0)
        self.arrays[name] = {
            "dtype": {"float32": "f32", "int32": "i32"}[np.dtype(dtype).name],
            "shape": list(a.shape),
            "offset": len(self.buf),
            "nbytes": a.nbytes,
        }
        self.buf += a.tobytes()
        return name

    def save(self, bin_path: Path) -> None:
        bin_path.write_bytes(bytes(self.buf))


class BinReader:
    def __init__(self, bin_path: Path, arrays: dict):
        self.data = bin_path.read_bytes()
        self.arrays = arrays

    def get(self, name: str):
        import numpy as np

        m = self.arrays[name]
        dt = {"f32": "<f4", "i32": "<i4"}[m["dtype"]]
        a = np.frombuffer(self.data, dtype=dt, count=m["nbytes"] // 4, offset=m["offset"])
        return a.reshape(m["shape"])

"""llama.cpp peer of `cargo xtask bench` (docs/benchmarks.md), through llama-cpp-python.

Loads the GGUF on the CPU, feeds the prompt's token ids as they are (no tokenization), prefills
them in one batch, then decodes greedily (argmax of the last logits), one token per
`llama_decode`. Prints one JSON object per run on stdout.

    python llama_cpp_bench.py --model M.gguf --prompt prompt.json --new-tokens 128 --runs 3 --threads 2
"""

import argparse
import ctypes
import json
import resource
import sys
import time

import numpy as np
import llama_cpp


def cpu_s() -> float:
    """CPU seconds (user + system, all threads) used by this process so far."""
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def vm_hwm_kib() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--prompt", required=True)
    ap.add_argument("--new-tokens", type=int, default=128)
    ap.add_argument("--runs", type=int, default=1)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()

    with open(args.prompt) as f:
        ids = [int(x) for x in json.load(f)["ids"]]
    rss_before_load_kib = vm_hwm_kib()

    t0 = time.perf_counter()
    llm = llama_cpp.Llama(
        model_path=args.model,
        n_ctx=len(ids) + args.new_tokens + 16,
        n_batch=len(ids),
        n_ubatch=len(ids),
        n_threads=args.threads,
        n_threads_batch=args.threads,
        n_gpu_layers=0,
        use_mmap=True,
        logits_all=False,
        verbose=False,
    )
    load_s = time.perf_counter() - t0
    rss_after_load_kib = vm_hwm_kib()
    ctx = llm._ctx.ctx
    n_vocab = llm.n_vocab()

    def next_id() -> int:
        ptr = llama_cpp.llama_get_logits_ith(ctx, -1)
        logits = np.ctypeslib.as_array(ctypes.cast(ptr, ctypes.POINTER(ctypes.c_float)), shape=(n_vocab,))
        return int(np.argmax(logits))

    # Warm-up (first-touch allocations), not timed.
    llm.reset()
    llm.eval(ids[:64])
    next_id()

    for run in range(args.runs):
        llm.reset()
        t, c = time.perf_counter(), cpu_s()
        llm.eval(ids)
        nxt = next_id()
        prefill_s, prefill_cpu_s = time.perf_counter() - t, cpu_s() - c
        generated = []
        t, c = time.perf_counter(), cpu_s()
        for _ in range(args.new_tokens):
            generated.append(nxt)
            llm.eval([nxt])
            nxt = next_id()
        decode_s, decode_cpu_s = time.perf_counter() - t, cpu_s() - c
        print(
            json.dumps(
                {
                    "peer": "llama.cpp",
                    "run": run,
                    "version": llama_cpp.__version__,
                    "threads": args.threads,
                    "load_s": load_s,
                    "prompt_tokens": len(ids),
                    "new_tokens": args.new_tokens,
                    "prefill_s": prefill_s,
                    "decode_s": decode_s,
                    "prefill_cpu_s": prefill_cpu_s,
                    "decode_cpu_s": decode_cpu_s,
                    "prefill_tok_s": len(ids) / prefill_s,
                    "decode_tok_s": args.new_tokens / decode_s,
                    "peak_rss_kib": vm_hwm_kib(),
                    "rss_before_load_kib": rss_before_load_kib,
                    "rss_after_load_kib": rss_after_load_kib,
                    "first_tokens": generated[:16],
                    "system_info": llama_cpp.llama_print_system_info().decode().strip(),
                }
            ),
            flush=True,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())

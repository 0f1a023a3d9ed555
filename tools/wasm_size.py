#!/usr/bin/env python3
"""What makes the app's wasm big: code bytes per crate, from the function names in the wasm's
`name` section.

Run it on the module cargo writes before wasm-bindgen and wasm-opt strip the names:

    python3 tools/wasm_size.py target/wasm32-unknown-unknown/release/assistant-axis-web.wasm

Each function's body is counted under the first path segment of its (legacy-mangled) name: the
crate that defines it, or for a trait impl `<T as Trait>` the crate of `T`. Generic code is
counted where it is defined, not where it is instantiated. The groups at the end sum crates by
what they are for in the app (docs/benchmarks.md, "What the wasm is made of").
"""

import collections
import re
import sys

GROUPS = [
    ("WebGPU kernel compiler and runtime (cubecl, cubek, pliron, rustc_apfloat, burn-cubecl, wgpu)",
     re.compile(r"^(cubecl|cubek|pliron|rustc_apfloat|burn_cubecl|wgpu|naga|web_sys_gpu)")),
    ("burn on the CPU (burn-flex, burn-std, burn-tensor, burn-dispatch, macerator, gemm)",
     re.compile(r"^(burn|macerator|gemm|matrixmultiply|pulp)")),
    ("our engine", re.compile(r"^engine$")),
    ("our page and worker", re.compile(r"^assistant_axis_web$")),
    ("Leptos (UI)", re.compile(r"^(leptos|tachys|reactive_graph|any_spawner|server_fn|throw_error|or_poisoned|either_of)")),
    ("tokenizer and chat template (tokenizers, minijinja, regex, fancy_regex, onig)",
     re.compile(r"^(tokenizers|minijinja|regex|fancy_regex|aho_corasick|onig|unicode)")),
    ("Rust standard library", re.compile(r"^(core|alloc|std|hashbrown|compiler_builtins|dlmalloc)$")),
]


def leb(data, i):
    value = shift = 0
    while True:
        byte = data[i]
        i += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            return value, i


def sections(data):
    if data[:4] != b"\0asm":
        sys.exit("not a wasm module")
    i = 8
    while i < len(data):
        sid = data[i]
        size, i = leb(data, i + 1)
        yield sid, i, size
        i += size


def imported_functions(data, start):
    count, j = leb(data, start)
    functions = 0
    for _ in range(count):
        for _ in range(2):  # module and field names
            n, j = leb(data, j)
            j += n
        kind = data[j]
        j += 1
        if kind == 0:  # function: type index
            _, j = leb(data, j)
            functions += 1
        elif kind == 1:  # table: element type, limits
            j += 1
            flags, j = leb(data, j)
            _, j = leb(data, j)
            if flags & 1:
                _, j = leb(data, j)
        elif kind == 2:  # memory: limits
            flags, j = leb(data, j)
            _, j = leb(data, j)
            if flags & 1:
                _, j = leb(data, j)
        elif kind == 3:  # global: type, mutability
            j += 2
        else:
            sys.exit(f"unknown import kind {kind}")
    return functions


def crate_of(name):
    m = re.match(r"_ZN(\d+)", name)
    if not m:
        return "(v0-mangled or unmangled)" if not name.startswith("_ZN") else name
    length = int(m.group(1))
    first = name[m.end():m.end() + length]
    if first.startswith("_$LT$"):
        inner = re.match(r"_\$LT\$\$?(?:RF\$|u20\$)*([a-z_0-9]+)", first)
        # `<T as Trait>` with T a generic parameter: no crate to name.
        return inner.group(1) if inner else "(impls on generic types)"
    return first


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    data = open(sys.argv[1], "rb").read()
    imports = 0
    bodies = []
    names = {}
    totals = collections.Counter()
    for sid, start, size in sections(data):
        totals[sid] += size
        if sid == 2:
            imports = imported_functions(data, start)
        elif sid == 10:
            count, j = leb(data, start)
            for _ in range(count):
                n, j = leb(data, j)
                bodies.append(n)
                j += n
        elif sid == 0:
            n, j = leb(data, start)
            if data[j:j + n] != b"name":
                continue
            j += n
            end = start + size
            while j < end:
                sub = data[j]
                length, j = leb(data, j + 1)
                if sub == 1:
                    count, k = leb(data, j)
                    for _ in range(count):
                        index, k = leb(data, k)
                        n, k = leb(data, k)
                        names[index] = data[k:k + n].decode("utf8", "replace")
                        k += n
                j += length
    if not names:
        sys.exit("no function names in this module (run it on cargo's output, before wasm-opt)")
    per_crate = collections.Counter()
    functions = collections.Counter()
    for k, size in enumerate(bodies):
        crate = crate_of(names.get(imports + k, "?"))
        per_crate[crate] += size
        functions[crate] += 1
    code = sum(bodies)
    print(f"{len(data) / 1e6:.2f} MB module: {code / 1e6:.2f} MB code in {len(bodies)} functions, "
          f"{totals[11] / 1e6:.2f} MB data, {totals[0] / 1e6:.2f} MB custom sections (names, debug)")
    print()
    print("| crate | code MB | share | functions |")
    print("|---|---:|---:|---:|")
    for crate, size in per_crate.most_common(25):
        print(f"| {crate} | {size / 1e6:.2f} | {100 * size / code:.0f} % | {functions[crate]} |")
    print()
    print("| group | code MB | share |")
    print("|---|---:|---:|")
    rest = code
    for label, pattern in GROUPS:
        size = sum(s for c, s in per_crate.items() if pattern.search(c))
        rest -= size
        print(f"| {label} | {size / 1e6:.2f} | {100 * size / code:.0f} % |")
    print(f"| everything else | {rest / 1e6:.2f} | {100 * rest / code:.0f} % |")


if __name__ == "__main__":
    main()

"""Rewrites budgets written as 18446744073709551615 (usize::MAX, "as many as there are") as
"all" in an axis file's metadata and its report, the way the lab writes them now
(`plan::Count`). Only that number changes: the tensors and every other byte of metadata stay
as they were (checked after writing). Used once on the shipped SmolLM2 axis, built before the
lab wrote "all".

    python3 crates/axis-lab/scripts/budgets_as_all.py public/axes/SmolLM2-135M-Instruct.Q4_1.axis.safetensors
"""

import json
import struct
import sys
from pathlib import Path

MAX = "18446744073709551615"


def rewrite_text(text: str) -> str:
    # Inside the axis metadata (a JSON string in the header) or in the report (plain JSON), the
    # number only ever stands for a budget's "all".
    return text.replace(f": {MAX}", ': "all"').replace(f":{MAX}", ':"all"')


def rewrite_axis(path: Path) -> None:
    data = path.read_bytes()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + n])
    tensors = data[8 + n :]
    meta = header["__metadata__"]["axis"]
    header["__metadata__"]["axis"] = rewrite_text(meta)
    out = json.dumps(header, separators=(",", ":"), ensure_ascii=False).encode()
    out += b" " * (-len(out) % 8)  # safetensors pads the header to 8 bytes
    path.write_bytes(struct.pack("<Q", len(out)) + out + tensors)
    back = path.read_bytes()
    (m,) = struct.unpack("<Q", back[:8])
    assert back[8 + m :] == tensors, "tensors changed"
    new_meta = json.loads(json.loads(back[8 : 8 + m])["__metadata__"]["axis"])
    assert MAX not in json.dumps(new_meta)
    old_meta = json.loads(meta)
    for key in old_meta:
        if key != "build":
            assert new_meta[key] == old_meta[key], key


def main() -> None:
    axis = Path(sys.argv[1])
    rewrite_axis(axis)
    report = axis.with_suffix(".report.json")
    if report.exists():
        report.write_text(rewrite_text(report.read_text()))
        assert MAX not in report.read_text()
    print(f"rewrote {axis} and {report.name}")


if __name__ == "__main__":
    main()

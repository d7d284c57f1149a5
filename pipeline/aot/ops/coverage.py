"""The op-coverage table of the README, generated from the op table: `python -m pipeline.aot.ops`
prints it, `--write` replaces the README's block between the markers (tests/aot/test_op_table.py
fails when the README is stale)."""
from __future__ import annotations

from pathlib import Path

from . import KERNELS, TABLE
from .tflm import TFLM_INT8_OPS

README = Path(__file__).resolve().parents[3] / "README.md"
BEGIN, END = "<!-- op-coverage:begin (python -m pipeline.aot.ops --write) -->", "<!-- op-coverage:end -->"


def markdown() -> str:
    rows = ["| op | int8 | int16 (16x8) | fast path | TFLite Micro int8 |", "|---|:-:|:-:|---|:-:|"]
    for name in sorted(set(TABLE) | TFLM_INT8_OPS):
        op = TABLE.get(name)
        fast = sorted({f for k in (op.kernels if op else ()) for f in KERNELS[k].fast.split(", ") if f})
        rows.append(f"| {name} | {'yes' if op else '**no**'} | {'yes' if op and op.int16 else ''} | "
                    f"{', '.join(fast)} | {'yes' if name in TFLM_INT8_OPS else ''} |")
    done = sum(1 for n in TFLM_INT8_OPS if n in TABLE)
    rows.append(f"\n{done} of TFLite Micro's {len(TFLM_INT8_OPS)} int8 ops; {len(TABLE)} ops in all.")
    return "\n".join(rows)


def readme_with_table(text: str) -> str:
    a, b = text.index(BEGIN) + len(BEGIN), text.index(END)
    return text[:a] + "\n" + markdown() + "\n" + text[b:]

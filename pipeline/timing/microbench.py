"""Validation of the cycle model on code with known Cortex-M4 cycle counts.

microbench/microbench.S has one function per instruction class, 100 iterations of a loop body each.
The expected counts below are the Cortex-M4 TRM (DDI 0439B table 3-1, 3.3.2) applied by hand to
that code -- written here as arithmetic, independently of the model's classifier, so a wrong class,
a miscounted register list, a missed taken branch or a wrong pipelining rule shows as an error.
Every loop is: setup, 100 x (body + SUBS 1 + BNE), with BNE taken 99 times (1+P, P = 1: 2 cycles)
and not taken once (1); the function returns with BX LR (1+P, P = 2 for a register target: 3).
There is no Cortex-M4 silicon here: this validates the model's reading of the instruction stream
against the published table, not the table against hardware (stated wherever the error is reported).

    python -m pipeline.timing.microbench [--core cortex-m4] [--machine mps2-an386]
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ..errors import PipelineError
from . import model, profile

HERE = Path(__file__).resolve().parent / "microbench"
LOOP = 100 * 1 + 99 * 2 + 1      # SUBS x100, BNE taken x99 (2) and not taken once (1)
RET = 3                          # BX LR: 1 + P(2)

# name -> (expected Cortex-M4 cycles, how it follows from the TRM)
EXPECTED_M4: dict[str, tuple[int, str]] = {
    "bench_alu": (1 + 100 * 8 + LOOP + RET, "MOVS 1; 8 ALU x 1"),
    "bench_mac": (1 + 100 * 8 + LOOP + RET, "MOVS 1; SMLAD x4, SMLABB, SMLAL, MLA, MUL: all 1 on M4"),
    "bench_load_pipelined": (1 + 2 + 100 * (2 + 1 + 1 + 1) + LOOP + RET,
                             "MOVS 1, LDR literal 2; 4 independent LDR: 2 + 1 + 1 + 1 (pipelined)"),
    "bench_load_interleaved": (1 + 2 + 100 * (2 + 1 + 2 + 1) + LOOP + RET,
                               "LDR, ADDS, LDR, ADDS: a load after an ALU op does not pipeline: 2+1+2+1"),
    "bench_load_chase": (1 + 2 + 1 + 100 * (2 + 2) + LOOP + RET,
                         "MOVS 1, LDR literal 2, STR 1; LDR r1,[r4] 2 (first one behind the STR: no pipelining after a "
                         "store), LDR r2,[r1] 2 (its address is the previous load's data)"),
    "bench_store": (1 + 2 + 100 * 4 + LOOP + RET, "STR/STRB/STRH with an immediate offset: 1 each"),
    "bench_ldm_stm": (1 + 2 + 1 + 100 * (5 + 5) + LOOP + RET, "LDMIA/STMIA of 4 registers: 1+N = 5 each"),
    "bench_push_pop": (1 + 100 * (5 + 5) + LOOP + RET, "PUSH/POP of 4 registers: 1+N = 5 each"),
    "bench_branch": (1 + 100 * (2 + 1) + LOOP + RET, "B forward taken: 1+P = 2, skips a NOP; ADDS 1"),
    "bench_call": (3 + 1 + 100 * (2 + 1 + 3) + LOOP + 5,
                   "PUSH {r7,lr} 3, MOVS 1; BL 1+P = 2, leaf ADDS 1 + BX LR 3; POP {r7,pc} 1+N+P = 5"),
    "bench_dot": (1 + 2 + 1 + 100 * (2 + 1 + 6 * 1) + LOOP + RET,
                  "int8 dot-product body: LDR 2, LDR 1 (pipelined), 4 SXTB16 + 2 SMLAD 1 each"),
}
TOLERANCE = 0.10   # issue #21's acceptance for Cortex-M4


def build(out_dir: Path, mcpu: str = "cortex-m4") -> Path:
    import subprocess
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    elf = out_dir / f"microbench-{mcpu}.elf"
    cc = profile._tool("arm-none-eabi-gcc")
    tmp = elf.with_suffix(".elf.tmp")
    res = subprocess.run([cc, f"-mcpu={mcpu}", "-mthumb", "-nostdlib", "-nostartfiles",
                          f"-Wl,-T,{HERE / 'link.ld'}", str(HERE / "microbench.S"), "-o", str(tmp)],
                         capture_output=True, text=True)
    if res.returncode != 0:
        raise PipelineError(f"building the microbenchmarks failed: {(res.stderr.strip().splitlines() or ['?'])[-1]}")
    tmp.replace(elf)
    return elf


def run(out_dir: Path, core: str = "cortex-m4", machine: str = "mps2-an386") -> list[dict]:
    """Each microbenchmark under QEMU with the plugin: executed instructions, modelled cycles and,
    on the M4, the error against the hand-applied TRM count."""
    elf = build(out_dir, "cortex-m7" if core == "cortex-m7" else "cortex-m4")
    rows = []
    for name, (expected, why) in EXPECTED_M4.items():
        prof, dis, _ = profile.run_profiled(elf, machine, [], name)
        t = model.cycles(prof, dis, core)
        row = {"benchmark": name, "core": core, "instructions": t.instructions, "cycles_modelled": t.cycles,
               "by_class": {c: d["instructions"] for c, d in sorted(t.by_class.items())}}
        if core == "cortex-m4":
            row.update(cycles_trm=expected, error=(t.cycles - expected) / expected, derivation=why)
        rows.append(row)
    return rows


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m pipeline.timing.microbench")
    ap.add_argument("--core", default="cortex-m4", choices=sorted(model.TABLES))
    ap.add_argument("--machine", default=None)
    ap.add_argument("--out", type=Path, default=Path("build/timing"))
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args(argv)
    machine = a.machine or {"cortex-m4": "mps2-an386", "cortex-m7": "mps2-an500"}.get(a.core)
    if machine is None:
        print(f"error: the microbenchmarks are armv7e-m code for the MPS2 boards; no board for {a.core}", file=sys.stderr)
        return 2
    try:
        rows = run(a.out, a.core, machine)
    except PipelineError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    if a.json:
        print(json.dumps(rows, indent=1))
        return 0
    print(f"{'benchmark':24} {'instr':>6} {'model cyc':>10} {'TRM cyc':>8} {'error':>7}")
    for r in rows:
        trm = r.get("cycles_trm")
        err = f"{r['error'] * 100:+.1f}%" if trm else "-"
        print(f"{r['benchmark']:24} {r['instructions']:6d} {r['cycles_modelled']:10.0f} {trm or '-':>8} {err:>7}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

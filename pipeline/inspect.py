"""`pipeline inspect MODEL.tflite [--target T] [--json]` (issue #4).

Ops with counts, tensors, parameters, MACs per op and in total, model bytes, the exact minimum
TFLite Micro arena (bisection on the real `tflite_micro` interpreter: N succeeds, N-1 fails),
which ops the target's runtime supports, and the fit against the target's flash/RAM budgets.

Every file is parsed with our own bounds-checked reader (`pipeline.tflite.read_model`) before
any native runtime sees it, and the arena bisection runs in a child process, so a file that
still crashes TFLite Micro becomes a one-line error instead of killing the CLI.
"""
from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import numpy as np

from .convert.describe import require_int8
from .errors import PipelineError
from .adapters import ADAPTERS
from .op_check import hint, runtime, supported_ops
from .tflite import read_model
from .tflite.macs import op_macs
from .tflm_arena import tflm_min_arena

# --------------------------------------------------------------------------- analysis

_WEIGHT_OPS = {"CONV_2D": (1, 2), "DEPTHWISE_CONV_2D": (1, 2), "FULLY_CONNECTED": (1, 2),
               "TRANSPOSE_CONV": (1, 3)}


def analyze(model_bytes: bytes, target=None, arena: bool = True, engine: str | None = None) -> dict:
    """Everything `inspect` shows, as one JSON-able dict."""
    m = read_model(model_bytes)
    kind = target.kind if target is not None else None
    arena_ram = kind is not None and ADAPTERS.get(kind).ARENA_RAM
    allowed = supported_ops(kind, engine) if kind else None
    ops = []
    for op in m.operators:
        out = m.tensor(op.outputs[0]) if op.outputs else None
        ops.append({
            "index": op.index, "op": op.op, "macs": op_macs(m, op),
            "inputs": list(op.inputs), "outputs": list(op.outputs),
            "output_shape": list(out.shape) if out is not None else [],
            "output_dtype": out.dtype if out is not None else None,
            "supported": (op.op in allowed) if allowed is not None else None,
            "supported_by": {k: op.op in supported_ops(k) for k in ADAPTERS},
        })
    param_tensors: set[int] = set()
    for op in m.operators:
        for slot in _WEIGHT_OPS.get(op.op, ()):
            if slot < len(op.inputs) and op.inputs[slot] >= 0 and m.tensor(op.inputs[slot]).is_constant:
                param_tensors.add(op.inputs[slot])
    tensors = []
    for t in m.tensors:
        itemsize = np.dtype(t.dtype).itemsize if t.dtype in np.sctypeDict else 0
        q = t.quantization
        tensors.append({
            "index": t.index, "name": t.name, "shape": list(t.shape), "dtype": t.dtype,
            "bytes": t.size * itemsize, "constant": t.is_constant,
            "quant": None if q is None or q.scale.size == 0 else
            {"scale": float(q.scale[0]) if q.scale.size == 1 else [float(s) for s in q.scale],
             "zero_point": int(q.zero_point[0]) if q.zero_point.size else 0,
             "per_channel": q.per_channel},
        })
    io = {
        "inputs": [{"name": m.tensor(i).name, "shape": list(m.tensor(i).shape), "dtype": m.tensor(i).dtype} for i in m.inputs],
        "outputs": [{"name": m.tensor(i).name, "shape": list(m.tensor(i).shape), "dtype": m.tensor(i).dtype} for i in m.outputs],
    }
    int8 = all(m.tensor(i).dtype == "int8" for i in (*m.inputs, *m.outputs))
    result: dict = {
        "model_bytes": m.size_bytes,
        "sha256": m.sha256,
        "int8": int8,
        "io": io,
        "ops": ops,
        "op_counts": dict(Counter(o.op for o in m.operators)),
        "macs": int(sum(o["macs"] for o in ops)),
        "params": int(sum(m.tensor(i).size for i in param_tensors)),
        "param_bytes": int(sum(tensors[i]["bytes"] for i in param_tensors)),
        "tensors": tensors,
        "activation_bytes": int(sum(t["bytes"] for t in tensors if not t["constant"])),
        "tflm_arena_bytes": None,
        "tflm_error": None,
        "target": None,
    }
    if arena:
        try:
            result["tflm_arena_bytes"] = tflm_min_arena(model_bytes)
        except PipelineError as err:
            # an op TFLite Micro cannot run (e.g. its float32-only EXP on int8) also stops it
            # loading the model: report that op as unsupported rather than fail on the arena
            if arena_ram and all(o["supported"] for o in ops):
                raise
            result["tflm_error"] = str(err)
    if target is not None:
        unsupported = [{"index": o["index"], "op": o["op"], "hint": hint(o["op"], kind, engine)} for o in ops if not o["supported"]]
        flash_need = m.size_bytes
        ram_need = result["tflm_arena_bytes"] if arena_ram else None

        def fit(need, budget):
            if need is None:
                return None
            return {"need": need, "budget": budget, "margin": budget - need,
                    "used_pct": round(100.0 * need / budget, 2), "fits": need <= budget}

        result["target"] = {
            "id": target.id, "kind": kind, "runtime": runtime(kind, engine),
            "supported_ops": sorted(allowed), "unsupported": unsupported,
            "flash": fit(flash_need, target.flash_bytes),
            "ram": fit(ram_need, target.ram_bytes),
            "notes": "flash need = model bytes only (runtime code is counted by the package stage); "
                     "RAM need = exact TFLM arena (microcontroller kinds only)",
        }
        result["target"]["ok"] = (not unsupported and all(
            f is None or f["fits"] for f in (result["target"]["flash"], result["target"]["ram"])))
    return result


# --------------------------------------------------------------------------- command

def inspect_command(model: Path, target: str | None = None, as_json: bool = False, engine: str | None = None) -> int:
    """The `pipeline inspect` verb (`target`: a target name/alias, or a `Target`). Returns the exit code: 0, or 1 when a --target is given and
    the model does not fit it (unsupported op, flash or RAM over budget). Malformed, empty,
    truncated, non-TFLite files (and float-only models for a cortex-m target) raise a one-line
    PipelineError (the CLI prints it and exits 2)."""
    model = Path(model)
    if not model.exists():
        raise PipelineError(f"{model}: file not found")
    if model.is_dir():
        raise PipelineError(f"{model}: is a directory, not a .tflite file")
    from .tflite.reader import check_model_size

    check_model_size(model)  # before reading it: a 2 GB file is a mistake, not a model
    data = model.read_bytes()
    read_model(data)  # TFLiteFormatError (one line) for anything that is not a sound TFLite file
    tgt = None
    if target is not None:
        from .targets import Target, load_all

        tgt = target if isinstance(target, Target) else load_all().get(target)
        if ADAPTERS.get(tgt.kind).ARENA_RAM:
            require_int8(data, str(model))
    result = analyze(data, tgt, engine=engine)
    result["file"] = str(model)
    if as_json:
        print(json.dumps(result))
    else:
        _render(result)
    if tgt is not None and not result["target"]["ok"]:
        return 1
    return 0


def _render(r: dict) -> None:
    from rich.console import Console
    from rich.table import Table

    c = Console()
    c.print(f"[bold]{r['file']}[/bold]  {r['model_bytes']:,} bytes  sha256 {r['sha256'][:12]}  "
            f"{'int8' if r['int8'] else 'float'} I/O")
    for role in ("inputs", "outputs"):
        for t in r["io"][role]:
            c.print(f"  {role[:-1]}: {t['name']} {t['shape']} {t['dtype']}")
    tgt = r["target"]
    ops = Table(title="Operators", show_lines=False)
    # one column per runtime, headed by the kinds that run it ("linux-arm/android/host")
    by_runtime: dict[str, list[str]] = {}
    for kind in ADAPTERS:
        by_runtime.setdefault(ADAPTERS.get(kind).RUNTIME, []).append(kind)
    for col, just in (("#", "right"), ("op", "left"), ("output", "left"), ("MACs", "right")):
        ops.add_column(col, justify=just)
    for kinds in by_runtime.values():
        ops.add_column("/".join(kinds), justify="center")
    for o in r["ops"]:
        ops.add_row(str(o["index"]), o["op"], f"{o['output_shape']} {o['output_dtype']}", f"{o['macs']:,}",
                    *("yes" if o["supported_by"][kinds[0]] else "[red]no[/red]" for kinds in by_runtime.values()))
    c.print(ops)
    counts = Table(title="Op counts")
    counts.add_column("op")
    counts.add_column("count", justify="right")
    counts.add_column("MACs", justify="right")
    for op, n in sorted(r["op_counts"].items(), key=lambda kv: -kv[1]):
        counts.add_row(op, str(n), f"{sum(o['macs'] for o in r['ops'] if o['op'] == op):,}")
    c.print(counts)
    tens = Table(title="Tensors")
    for col in ("#", "name", "shape", "dtype", "bytes", "kind", "scale / zp"):
        tens.add_column(col)
    for t in r["tensors"]:
        q = t["quant"]
        qs = "" if q is None else (f"{q['scale']:.4g} / {q['zero_point']}" if not q["per_channel"]
                                   else f"per-channel ({len(q['scale'])})")
        tens.add_row(str(t["index"]), t["name"][:60], str(t["shape"]), t["dtype"], f"{t['bytes']:,}",
                     "const" if t["constant"] else "act", qs)
    c.print(tens)
    c.print(f"params {r['params']:,} ({r['param_bytes']:,} bytes)   MACs {r['macs']:,}   "
            f"model {r['model_bytes']:,} bytes")
    if r["tflm_arena_bytes"] is not None:
        c.print(f"TFLite Micro arena (exact minimum): [bold]{r['tflm_arena_bytes']:,}[/bold] bytes")
    elif r["tflm_error"]:
        c.print(f"TFLite Micro arena: n/a ({r['tflm_error']})")
    if tgt is not None:
        c.print(f"target [bold]{tgt['id']}[/bold] ({tgt['kind']}, runtime {tgt['runtime']})")
        for u in tgt["unsupported"]:
            c.print(f"  [red]unsupported[/red] op {u['op']} at operator #{u['index']}: {u['hint']}")
        if not tgt["unsupported"]:
            c.print("  all ops supported")
        for name in ("flash", "ram"):
            f = tgt[name]
            if f is None:
                continue
            mark = "[green]fits[/green]" if f["fits"] else "[red]does not fit[/red]"
            c.print(f"  {name}: {f['need']:,} of {f['budget']:,} bytes ({f['used_pct']}%), "
                    f"margin {f['margin']:,} bytes: {mark}")

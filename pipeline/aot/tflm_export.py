"""`--engine tflm --tflm-dir PATH`: export a TensorFlow Lite Micro application for a Cortex-M board.

Everything is rendered from the jinja2 templates in firmware/templates/tflm/ (our board support
files are carried into the project through a template too, so every file starts with the
"generated from <model sha256>" header). The project speaks the same UART protocol as our AOT
firmware (firmware/app/main.c), uses TFLM's CMSIS-NN kernels (OPTIMIZED_KERNEL_DIR=cmsis_nn,
TARGET=cortex_m_generic) and our board support (startup, linker script, UART, timer).

TFLM's C++ sources are not available on this machine, so the project is tested only up to the
generated sources (op list, resolver, arena constant, build files); it is never compiled here.

Arena = exact host minimum (tflite_micro on x86-64, bisection: N bytes allocate, N-1 do not)
        + margin, margin = CMSIS-NN scratch + 1024 + host_min / 16 (each rounded up to 16 bytes):
  * CMSIS-NN scratch: the host interpreter runs TFLM's *reference* kernels, which request no
    scratch buffers; CMSIS-NN's CONV_2D / DEPTHWISE_CONV_2D request an im2col buffer (the DSP path
    of M4/M7: 2 columns of Cin*kh*kw int16 values) and on Helium (M55) kernel sums (Cout int32).
    We reserve the largest over all operators of 4 * Cin*kh*kw * 2 + 4 * Cout bytes (twice the
    DSP im2col size, plus the kernel sums): scratch buffers live only during their operator, so
    the maximum, not the sum, is what the planner needs on top.
  * 1024 bytes + 1/16 of the host minimum: the TFLM revision the project is built against may
    differ from the wheel that measured the minimum (0.dev20261023), and the persistent
    allocations of CMSIS-NN kernels' OpData differ from the reference kernels'.
  * Pointer size works the other way: x86-64 has 8-byte pointers, Cortex-M 4-byte ones, so the
    per-tensor and per-node bookkeeping TFLM keeps in the arena is smaller on the target (e.g. a
    TfLiteEvalTensor is 24 bytes on x86-64 and 12 on a 32-bit core); buffer alignment is 16
    bytes on both. The host minimum therefore over-counts that part; no margin is added for it.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import jinja2

from .. import atomic
from ..errors import PipelineError
from ..opsets import hint
from ..tflite import TFLiteModel, read_model
from .codegen import FIRMWARE_DIR, TEMPLATES

TFLM_TEMPLATES = TEMPLATES / "tflm"

# TFLite builtin op -> tflite::MicroMutableOpResolver method (TFLM's documented Add* names).
# The set is the Cortex-M product op set (pipeline.opsets.CORTEX_M_OPS) plus PADV2, which our
# PAD kernel also handles: the TFLM build runs exactly the models the AOT build runs.
RESOLVER_METHODS: dict[str, str] = {
    "CONV_2D": "AddConv2D", "DEPTHWISE_CONV_2D": "AddDepthwiseConv2D",
    "FULLY_CONNECTED": "AddFullyConnected", "AVERAGE_POOL_2D": "AddAveragePool2D",
    "MAX_POOL_2D": "AddMaxPool2D", "MEAN": "AddMean", "ADD": "AddAdd", "MUL": "AddMul",
    "RESHAPE": "AddReshape", "SOFTMAX": "AddSoftmax", "PAD": "AddPad", "PADV2": "AddPadV2",
    "CONCATENATION": "AddConcatenation", "LOGISTIC": "AddLogistic", "QUANTIZE": "AddQuantize",
    "DEQUANTIZE": "AddDequantize",
}

MARGIN_FIXED = 1024          # bytes, TFLM revision / kernel OpData differences
MARGIN_FRACTION = 16         # + host_min / 16 (6.25 %)


def _up16(n: int) -> int:
    return (int(n) + 15) // 16 * 16


@dataclass(frozen=True)
class Arena:
    host_min: int            # exact minimum of the tflite_micro host interpreter
    scratch: int             # CMSIS-NN scratch estimate (largest over operators)
    version_slack: int       # MARGIN_FIXED + host_min / MARGIN_FRACTION
    scratch_op: str | None = None

    @property
    def margin(self) -> int:
        return self.scratch + self.version_slack

    @property
    def total(self) -> int:
        return self.host_min + self.margin


@dataclass(frozen=True)
class TflmProject:
    model_sha256: str
    ops: list[str]                    # distinct ops, first-use order
    methods: list[str]                # resolver Add* calls, same order
    arena: Arena
    board: str
    target_arch: str
    files: dict[str, str] = field(repr=False, default_factory=dict)

    def summary(self) -> dict:
        return {"generated_from": self.model_sha256, "engine": "tflm", "model_sha256": self.model_sha256, "ops": self.ops,
                "resolver_methods": self.methods, "resolver_size": len(self.methods),
                "board": self.board, "target_arch": self.target_arch,
                "arena_bytes": self.arena.total, "tflm_host_min_arena_bytes": self.arena.host_min,
                "arena_margin_bytes": self.arena.margin, "arena_margin_scratch_bytes": self.arena.scratch,
                "arena_margin_version_bytes": self.arena.version_slack, "files": sorted(self.files),
                "compiled_here": False}


def model_ops(model: TFLiteModel) -> list[str]:
    """Distinct ops in first-use order; an op the Cortex-M engines lack -> one-line PipelineError."""
    for o in model.operators:
        if o.op not in RESOLVER_METHODS:
            raise PipelineError(
                f"TFLM export: op {o.op} at operator #{o.index} is not supported on cortex-m targets "
                f"(supported: {', '.join(sorted(RESOLVER_METHODS))}); hint: {hint(o.op, 'cortex-m')}")
    return list(model.op_names)


def cmsis_nn_scratch(model: TFLiteModel) -> tuple[int, str | None]:
    """Estimated largest CMSIS-NN scratch buffer over the operators (see the module docstring)."""
    best, where = 0, None
    for o in model.operators:
        if o.op not in ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED") or len(o.inputs) < 2:
            continue
        w = model.tensor(o.inputs[1]).shape
        if o.op == "FULLY_CONNECTED":
            need = 4 * int(w[0]) if len(w) else 0                  # kernel sums (Helium)
        elif len(w) == 4:
            if o.op == "CONV_2D":                                  # [Cout, kh, kw, Cin]
                cout, kh, kw, cin = (int(d) for d in w)
            else:                                                  # [1, kh, kw, Cout]
                _, kh, kw, cout = (int(d) for d in w)
                cin = cout
            need = 4 * cin * kh * kw * 2 + 4 * cout
        else:
            need = 0
        if need > best:
            best, where = need, f"{o.op} #{o.index}"
    return _up16(best), where


def arena_for(model: TFLiteModel, data: bytes, host_min: int | None = None) -> Arena:
    if host_min is None:
        from ..tflm_arena import tflm_min_arena
        host_min = tflm_min_arena(data)
    scratch, where = cmsis_nn_scratch(model)
    return Arena(int(host_min), scratch, _up16(MARGIN_FIXED + host_min // MARGIN_FRACTION), where)


def target_arch(target) -> str:
    """TFLM cortex_m_generic TARGET_ARCH: cortex-m4+fp, cortex-m7+fp, cortex-m55, ..."""
    core = target.core
    if core not in ("cortex-m0", "cortex-m0plus", "cortex-m3", "cortex-m4", "cortex-m7", "cortex-m33",
                    "cortex-m55", "cortex-m85"):
        raise PipelineError(f"TFLM export: core '{core}' of target '{target.id}' has no TFLM TARGET_ARCH")
    return f"{core}+fp" if target.fpu and core in ("cortex-m4", "cortex-m7", "cortex-m33") else core


def _env() -> jinja2.Environment:
    return jinja2.Environment(loader=jinja2.FileSystemLoader(str(TFLM_TEMPLATES)), trim_blocks=True,
                              lstrip_blocks=True, undefined=jinja2.StrictUndefined,
                              keep_trailing_newline=True)


def _tensor_bytes(t) -> int:
    import numpy as np
    n = 1
    for d in t.shape:
        n *= int(d)
    return n * np.dtype(t.dtype).itemsize


def _model_rows(data: bytes, per_row: int = 16) -> list[str]:
    return [", ".join(f"0x{b:02x}" for b in data[i:i + per_row]) for i in range(0, len(data), per_row)]


def render_project(data: bytes, target, host_min: int | None = None) -> TflmProject:
    """All files of the TFLM project (name -> text). Nothing is written."""
    from .firmware import board_for
    model = read_model(bytes(data))
    ops = model_ops(model)
    methods = [RESOLVER_METHODS[o] for o in ops]
    arena = arena_for(model, data, host_min)
    board = board_for(target)
    arch = target_arch(target)
    from ..tflite.macs import op_macs
    macs = sum(op_macs(model, o) for o in model.operators)
    boards = FIRMWARE_DIR / "boards"
    board_files = {f"board/{p.name}": p for p in
                   [*board.source_files(), boards / "common" / "board_support.h", board.dir / "board.h",
                    FIRMWARE_DIR / "app" / "crc32.h"]}
    ctx = dict(
        sha256=model.sha256, target=target, board=board, arch=arch, ops=ops, methods=methods,
        resolver_size=len(methods), arena=arena, margin_fixed=MARGIN_FIXED, margin_fraction=MARGIN_FRACTION,
        model_len=len(data), model_rows=_model_rows(bytes(data)), macs=macs,
        num_inputs=len(model.inputs), num_outputs=len(model.outputs), num_ops=len(model.operators),
        input_bytes=sum(_tensor_bytes(model.tensor(i)) for i in model.inputs),
        board_c_sources=sorted(n for n in board_files if n.endswith(".c")),
        cflags=list(board.cflags), stack_bytes=8192,
    )
    env = _env()
    files = {
        "model_data.h": env.get_template("model_data.h.j2").render(**ctx),
        "model_data.cc": env.get_template("model_data.cc.j2").render(**ctx),
        "model_settings.h": env.get_template("model_settings.h.j2").render(**ctx),
        "op_resolver.h": env.get_template("op_resolver.h.j2").render(**ctx),
        "main.cc": env.get_template("main.cc.j2").render(**ctx),
        "link.ld": env.get_template("link.ld.j2").render(**ctx),
        "Makefile": env.get_template("Makefile.j2").render(**ctx),
        "CMakeLists.txt": env.get_template("CMakeLists.txt.j2").render(**ctx),
        "arm-none-eabi.cmake": env.get_template("arm-none-eabi.cmake.j2").render(**ctx),
        "README.md": env.get_template("README.md.j2").render(**ctx),
    }
    carry = env.get_template("board_file.j2")
    for name, path in board_files.items():
        files[name] = carry.render(sha256=model.sha256, source=str(path.relative_to(FIRMWARE_DIR.parent)),
                                   text=path.read_text())
    return TflmProject(model.sha256, ops, methods, arena, board.machine, arch, files)


def export(data: bytes, target, out_dir: Path, host_min: int | None = None) -> TflmProject:
    """Write the project into out_dir atomically (temp dir beside it + rename)."""
    project = render_project(data, target, host_min)
    with atomic.atomic_dir(Path(out_dir)) as tmp:
        for name, text in project.files.items():
            (tmp / name).parent.mkdir(parents=True, exist_ok=True)
            (tmp / name).write_text(text)
        atomic.write_json(tmp / "tflm_summary.json", project.summary())
    return project

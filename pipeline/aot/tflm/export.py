"""`--engine tflm --tflm-dir PATH`: export a TensorFlow Lite Micro application for a Cortex-M board.

Everything is rendered from the jinja2 templates in firmware/templates/tflm/ (our board support
files are carried into the project through a template too, so every file starts with the
"generated from <model sha256>" header). The project speaks the same UART protocol as our AOT
firmware (firmware/app/main.c), uses TFLM's CMSIS-NN kernels (OPTIMIZED_KERNEL_DIR=cmsis_nn,
TARGET=cortex_m_generic) and our board support (startup, linker script, UART, timer).

TFLM's C++ sources are not available on this machine, so the project is tested only up to the
generated sources (op list, resolver, arena constant, build files); it is never compiled here.

Arena, sized for the target's 32-bit pointers (not the x86-64 host interpreter's figure):
  * The tflite_micro host interpreter (x86-64, reference kernels) gives the exact host minimum by
    bisection (N bytes allocate, N-1 do not) and, at that size, its allocation record
    (print_allocations): head (the planned, non-persistent activations: the same on both, buffers
    are 16-byte aligned on both) and tail (persistent), the tail itemised by struct.
  * The structs that hold pointers are re-counted at their Cortex-M sizes: TfLiteEvalTensor 24 -> 12
    bytes, persistent TfLiteTensor 64 -> 40, NodeAndRegistration 64 -> 32, TfLiteAffineQuantization
    24 -> 12 (one per quantized persistent tensor, half of that record's allocations). Persistent
    buffers (kernel OpData: int32 arrays) and the unitemised rest of the tail (allocator
    bookkeeping) are kept at the host size, an upper bound. The result is the 32-bit estimate.
    (Measured with TFLite Micro 90b983c2 on QEMU M4, KWS DS-CNN: host minimum 24,192, arena used
    22,804 with CMSIS-NN, 22,756 with reference kernels; this estimate: 23,328.)
  * + CMSIS-NN scratch: the reference kernels request no scratch buffers; CMSIS-NN's do, for the
    largest operator (scratch lives only during its operator, so the maximum is what counts):
    M0..M33 (scalar / DSP): CONV_2D im2col 2 columns of Cin*kh*kw int16 = 4*Cin*kh*kw,
    DEPTHWISE_CONV_2D Cin*kh*kw int16 = 2*C*kh*kw, + 4*Cout either way;
    Helium (M55, M85): 4*Cin*kh*kw*2 + 4*Cout (kernel sums and the wider MVE blocks).
  * + revision slack: MARGIN_FIXED + estimate / MARGIN_FRACTION (the TFLM checkout may differ from
    the wheel that measured the record).
The summary and model_settings.h say which figure is which (arena_basis = "32-bit estimate").
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import jinja2

from ... import atomic
from ...errors import PipelineError
from ...opsets import hint
from ...tflite import TFLiteModel, read_model
from ..compile.codegen import FIRMWARE_DIR, TEMPLATES
from ..ops.tflm import TFLM_INT8_OPS, TFLM_OPS

TFLM_TEMPLATES = TEMPLATES / "tflm"

# TFLite builtin op -> tflite::MicroMutableOpResolver method: every builtin TFLite Micro registers
# (pipeline/aot/ops/tflm.py), so an --engine tflm project runs models our engine cannot yet.
RESOLVER_METHODS: dict[str, str] = dict(TFLM_OPS)

MARGIN_FIXED = 512           # bytes, TFLM revision / kernel OpData differences
MARGIN_FRACTION = 32         # + estimate / 32 (3.1 %)

# Allocation record name -> (bytes per item on x86-64, on a 32-bit Cortex-M) for the structs that
# hold pointers; 'items' per record: the count the record states (quantization: half of it).
POINTER_STRUCTS = {
    "TfLiteEvalTensor data": (24, 12),
    "Persistent TfLiteTensor data": (64, 40),
    "NodeAndRegistration struct": (64, 32),
    "Persistent TfLiteTensor quantization data": (24, 12),
}
HELIUM_CORES = ("cortex-m55", "cortex-m85")


def _up16(n: int) -> int:
    return (int(n) + 15) // 16 * 16


@dataclass(frozen=True)
class Arena:
    host_min: int            # exact minimum of the tflite_micro host interpreter (x86-64)
    scratch: int             # CMSIS-NN scratch estimate (largest over operators)
    version_slack: int       # MARGIN_FIXED + target32 / MARGIN_FRACTION
    scratch_op: str | None = None
    target32: int | None = None   # the 32-bit estimate (None: no allocation record, host_min used)

    @property
    def basis(self) -> int:
        return self.host_min if self.target32 is None else self.target32

    @property
    def basis_name(self) -> str:
        return "x86-64 host minimum" if self.target32 is None else "32-bit estimate"

    @property
    def margin(self) -> int:
        return self.scratch + self.version_slack

    @property
    def total(self) -> int:
        return self.basis + self.margin


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
                "arena_basis": self.arena.basis_name, "arena_basis_bytes": self.arena.basis,
                "arena_target32_bytes": self.arena.target32, "pointer_bytes": 4,
                "arena_margin_bytes": self.arena.margin, "arena_margin_scratch_bytes": self.arena.scratch,
                "arena_margin_version_bytes": self.arena.version_slack, "files": sorted(self.files),
                "compiled_here": False}


def model_ops(model: TFLiteModel) -> list[str]:
    """Distinct ops in first-use order; an op the Cortex-M engines lack -> one-line PipelineError."""
    for o in model.operators:
        int8 = any(k >= 0 and model.tensor(k).dtype == "int8" for k in (*o.inputs, *o.outputs))
        if o.op not in RESOLVER_METHODS or (int8 and o.op not in TFLM_INT8_OPS):
            why = "TFLite Micro has no kernel for it" if o.op not in RESOLVER_METHODS else \
                "TFLite Micro runs it only on non-int8 tensors"
            raise PipelineError(
                f"TFLM export: op {o.op} at operator #{o.index} is not supported on cortex-m targets "
                f"({why}); hint: {hint(o.op)}")
    return list(model.op_names)


def cmsis_nn_scratch(model: TFLiteModel, helium: bool = True) -> tuple[int, str | None]:
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
            if helium:
                need = 4 * cin * kh * kw * 2 + 4 * cout
            elif o.op == "CONV_2D":
                need = 4 * cin * kh * kw + 4 * cout
            else:
                need = 2 * cin * kh * kw + 4 * cout
        else:
            need = 0
        if need > best:
            best, where = need, f"{o.op} #{o.index}"
    return _up16(best), where


_RECORD = r"""
import sys
data = sys.stdin.buffer.read()
from tflite_micro.python.tflite_micro import runtime
it = runtime.Interpreter.from_bytes(data, arena_size=int(sys.argv[1]))
it.print_allocations()
"""


def host_allocations(data: bytes, arena: int, timeout_s: float = 120.0) -> dict | None:
    """The host interpreter's allocation record at `arena` bytes (print_allocations() writes it to
    C-level stderr, so it runs in a child process): {"total", "head", "tail", "records": {name:
    (used, count)}}; None when the interpreter cannot be built at that size."""
    import re
    import subprocess
    import sys
    try:
        proc = subprocess.run([sys.executable, "-c", _RECORD, str(int(arena))], input=bytes(data),
                              capture_output=True, timeout=timeout_s)
    except subprocess.TimeoutExpired:
        return None
    text = proc.stderr.decode(errors="replace") + proc.stdout.decode(errors="replace")
    out: dict = {"records": {}}
    for key in ("total", "head", "tail"):
        m = re.search(rf"Arena allocation {key} (\d+) bytes", text)
        if not m:
            return None
        out[key] = int(m.group(1))
    for m in re.finditer(r"'([^']+)' used (\d+) bytes with alignment overhead \(requested \d+ bytes for (\d+) ", text):
        out["records"][m.group(1)] = (int(m.group(2)), int(m.group(3)))
    return out


def target32_bytes(record: dict, host_min: int | None = None) -> int:
    """The host minimum (else the record's total) less what 32-bit pointers save on the recorded
    structs (see the module docstring). The minimum can exceed the record's total: temporary
    allocations during AllocateTensors are not in the record, so the gap is kept."""
    tail = record["tail"] + max(0, int(host_min or 0) - record["total"])
    for name, (used, count) in record["records"].items():
        if name not in POINTER_STRUCTS:
            continue
        host, target = POINTER_STRUCTS[name]
        items = count // 2 if "quantization" in name else count
        tail -= min(used, items * (host - target))
    return _up16(record["head"] + tail)


def arena_for(model: TFLiteModel, data: bytes, host_min: int | None = None, target=None,
              record: dict | None = None) -> Arena:
    if host_min is None:
        from ...tflm_arena import tflm_min_arena
        host_min = tflm_min_arena(data)
    if record is None:
        record = host_allocations(data, host_min)
    t32 = target32_bytes(record, host_min) if record else None
    basis = host_min if t32 is None else t32
    helium = target is None or getattr(target, "core", None) in HELIUM_CORES
    scratch, where = cmsis_nn_scratch(model, helium=helium)
    return Arena(int(host_min), scratch, _up16(MARGIN_FIXED + basis // MARGIN_FRACTION), where, t32)


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
    from ..device.firmware import board_for
    model = read_model(bytes(data))
    ops = model_ops(model)
    methods = [RESOLVER_METHODS[o] for o in ops]
    arena = arena_for(model, data, host_min, target)
    board = board_for(target)
    arch = target_arch(target)
    from ...tflite.macs import op_macs
    macs = sum(op_macs(model, o) for o in model.operators)
    boards = FIRMWARE_DIR / "boards"
    board_files = {f"board/{p.name}": p for p in
                   [*board.source_files(), boards / "common" / "board_support.h",
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
    files["board/board.h"] = board.header_text(model.sha256)
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


KERNELS = {"cmsis_nn": "cmsis_nn", "reference": ""}
FLASH_SECTIONS = (".vectors", ".text", ".init_array", ".ARM.extab", ".ARM.exidx", ".data")
RAM_SECTIONS = (".stack", ".hstack", ".data", ".bss")


def tflm_src_from(options: dict | None) -> Path | None:
    """--tflm-src PATH, else the environment's PIPELINE_TFLM_SRC (a user's tflite-micro checkout)."""
    import os
    src = (options or {}).get("tflm_src") or os.environ.get("PIPELINE_TFLM_SRC") or None
    if src is None:
        return None
    src = Path(src).expanduser().resolve()
    if not (src / "tensorflow" / "lite" / "micro" / "tools" / "make" / "Makefile").is_file():
        raise PipelineError(f"--tflm-src {src}: not a tflite-micro checkout "
                            "(no tensorflow/lite/micro/tools/make/Makefile)")
    return src


def build_project(project_dir: Path, tflm_src: Path, kernels: str = "cmsis_nn", jobs: int | None = None,
                  timeout_s: float = 3600.0):
    """Build the exported project with its own Makefile (TFLM's library first, through TFLM's
    makefile, with the arm-none-eabi-gcc found on PATH) -> FirmwareBuild of project_dir/firmware.elf."""
    import os
    import shutil
    import subprocess
    from ..device.firmware import FirmwareBuild, section_sizes
    if kernels not in KERNELS:
        raise PipelineError(f"TFLM kernels '{kernels}' unknown (allowed: {', '.join(KERNELS)})")
    gcc = shutil.which("arm-none-eabi-gcc")
    if gcc is None:
        raise PipelineError("arm-none-eabi-gcc not found on PATH (needed to build the TFLM firmware)")
    project_dir = Path(project_dir)
    jobs = jobs or os.cpu_count() or 1
    cmd = ["make", "-C", str(project_dir), f"-j{jobs}", f"TFLM_DIR={tflm_src}",
           f"TARGET_TOOLCHAIN_ROOT={Path(gcc).parent}/", f"OPTIMIZED_KERNEL_DIR={KERNELS[kernels]}", "firmware.elf"]
    try:
        res = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s)
    except subprocess.TimeoutExpired:
        raise PipelineError(f"TFLM firmware build took over {timeout_s:.0f} s: {' '.join(cmd)}") from None
    if res.returncode != 0:
        lines = (res.stderr + res.stdout).splitlines()
        first = next((ln for ln in lines if "error" in ln.lower()), lines[-1] if lines else "")
        raise PipelineError(f"TFLM firmware build failed ({' '.join(cmd)}): {first.strip()[:300]}")
    elf = project_dir / "firmware.elf"
    sections = section_sizes(elf)
    flash = sum(sections.get(s, 0) for s in FLASH_SECTIONS)
    ram = sum(sections.get(s, 0) for s in RAM_SECTIONS)
    return FirmwareBuild(elf, sections, flash, ram, sections.get(".stack", 0), _board_machine(project_dir))


def _board_machine(project_dir: Path) -> str:
    import json
    try:
        return json.loads((Path(project_dir) / "tflm_summary.json").read_text())["board"]
    except (OSError, ValueError, KeyError):
        return "unknown"

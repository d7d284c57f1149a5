"""Run a compiled model on a Cortex-M target (QEMU today, a serial board through the same code)."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ...errors import DeviceError, PipelineError
from ..compile.compiler import Compiled
from .protocol import Device, Link, QemuLink, SerialLink, session
from .firmware import FirmwareBuild, board_for, build_firmware


@dataclass
class DeviceRun:
    outputs: list[list[np.ndarray]]          # per sample, per model output
    ticks: list[int]                          # timer ticks of one inference, per sample
    instructions: list[int] | None            # under QEMU -icount: exact instruction counts
    memory: dict[str, int]
    identity: dict
    firmware: FirmwareBuild
    transcript: list[str] = field(default_factory=list, repr=False)
    op_ticks: dict[int, int] | None = None    # per operator, last sample (profile=True)
    op_instructions: dict[int, int] | None = None


def instructions_from_ticks(ticks: int, clock_hz: int) -> int:
    """QEMU -icount shift=0: 1 instruction = 1 ns, SysTick runs at the board clock."""
    return round(ticks * 1_000_000_000 / clock_hz)


@contextmanager
def open_device(build: FirmwareBuild, target, device: str, timeout: float) -> Iterator[Device]:
    from .pyocd_flash import is_pyocd, open_board
    if is_pyocd(device):   # a real board: pyocd flash, then the same protocol over its serial port
        with open_board(build, target, device, timeout) as dev:
            yield dev
        return
    if device in ("qemu", "emulator"):
        link: Link = QemuLink(build.elf, board_for(target).qemu_machine,
                              target.emulator.binary if target.emulator else "qemu-system-arm")
    elif device.startswith("serial:"):
        link = SerialLink(device.split(":", 1)[1], target.board.serial_baud if target.board else 115200)
    else:
        raise PipelineError(f"device '{device}' is not supported for Cortex-M runs (use qemu, pyocd[://UID] or serial:PORT)")
    with session(link, timeout) as dev:
        yield dev


def to_model_input(x: np.ndarray, spec) -> np.ndarray:
    """int8 passes through; float data is quantized with the input's own scale / zero point."""
    if x.dtype == np.dtype(spec.dtype):
        return x
    if spec.dtype == "int8" and np.issubdtype(x.dtype, np.floating) and spec.quantization is not None:
        s, z = float(spec.quantization.scale[0]), int(spec.quantization.zero_point[0])
        q = np.sign(x / s) * np.floor(np.abs(x / s) + 0.5) + z
        return np.clip(q, -128, 127).astype(np.int8)
    if spec.dtype == "float32" and np.issubdtype(x.dtype, np.floating):
        return x.astype(np.float32)
    raise PipelineError(f"inputs are {x.dtype} but the model input '{spec.name}' is {spec.dtype}")


def split_samples(compiled: Compiled, x: np.ndarray) -> list[list[np.ndarray]]:
    """One array for a single-input model: either one input or a batch of them along axis 0."""
    m = compiled.model
    if len(m.inputs) != 1:
        raise PipelineError(f"the model has {len(m.inputs)} inputs; `run` takes one .npy for single-input models")
    spec = m.tensors[m.inputs[0]]
    shape = tuple(spec.shape)
    if x.shape == shape:
        samples = [x]
    elif x.size and x.size % spec.size == 0 and x.shape[1:] == shape[1:] or (
            x.ndim == len(shape) - 1 and shape[0] == 1 and x.shape == shape[1:]):
        samples = list(x.reshape((-1, *shape)))
    else:
        raise PipelineError(f"inputs of shape {list(x.shape)} do not match the model input {list(shape)} "
                            f"(or a batch of it along axis 0)")
    return [[to_model_input(s.reshape(shape), spec)] for s in samples]


def run_on_device(compiled: Compiled, target, samples: list[list[np.ndarray]], work_dir: Path,
                  device: str = "qemu", timeout: float = 60.0, stack_bytes: int | None = None,
                  build: FirmwareBuild | None = None, profile: bool = False) -> DeviceRun:
    kw = {} if stack_bytes is None else {"stack_bytes": stack_bytes}
    build = build or build_firmware(compiled, target, Path(work_dir), **kw)
    m = compiled.model
    with open_device(build, target, device, timeout) as dev:
        ident = dev.identify()
        if ident.model != m.sha256:
            raise DeviceError(f"the device runs model {ident.model[:12]}, expected {m.sha256[:12]}")
        outs, ticks = [], []
        for xs in samples:
            for k, x in enumerate(xs):
                dev.load_input(k, np.ascontiguousarray(x).tobytes())
            ticks.append(dev.infer(1, 0))
            outs.append([np.frombuffer(dev.read_output(k), dtype=m.tensors[t].dtype).reshape(m.tensors[t].shape)
                         for k, t in enumerate(m.outputs)])
        op_ticks = dev.profile() if profile and samples else None
        mem = dev.memory()
        transcript = list(dev.transcript)
    emulated = device in ("qemu", "emulator")   # real boards: ticks are DWT core cycles
    instr = [instructions_from_ticks(t, ident.clock_hz) for t in ticks] if emulated else None
    op_instr = ({k: instructions_from_ticks(v, ident.clock_hz) for k, v in op_ticks.items()}
                if emulated and op_ticks is not None else None)
    return DeviceRun(outs, ticks, instr, mem, ident.__dict__, build, transcript, op_ticks, op_instr)

"""Render the C sources of one model from the jinja2 templates in firmware/templates/."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import jinja2
import numpy as np

from ...tflite import TFLiteModel
from ..ops import KERNELS as KERNEL_TABLE
from .step import Step
from .plan import MemoryPlan, tensor_bytes

ENGINE_VERSION = "0.1"
FIRMWARE_DIR = Path(__file__).resolve().parents[3] / "firmware"
# Read by path, not imported: its C sources enter the cache key of every stage that imports this
# module (pipeline/code_closure.py).
CODE_DATA = ("firmware",)
TEMPLATES = FIRMWARE_DIR / "templates"
KERNELS = FIRMWARE_DIR / "kernels"


@dataclass(frozen=True)
class Generated:
    files: dict[str, str]       # file name -> C source


def _env() -> jinja2.Environment:
    return jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES)), trim_blocks=True,
                              lstrip_blocks=True, undefined=jinja2.StrictUndefined,
                              keep_trailing_newline=True)


def _plain(v):
    """numpy values -> Python ints/floats/lists for the templates."""
    if isinstance(v, np.ndarray):
        return v.tolist()
    if isinstance(v, (np.integer, bool)):
        return int(v)
    if isinstance(v, np.floating):
        return float(v)
    if isinstance(v, (list, tuple)):
        return [_plain(x) for x in v]
    return v


def render(model: TFLiteModel, steps: list[Step], mem: MemoryPlan) -> Generated:
    env = _env()
    tensors = set(mem.buffers)
    ctx = dict(
        sha256=model.sha256, version=ENGINE_VERSION, steps=[_view(s) for s in steps], kernels=KERNEL_TABLE,
        headers=sorted({KERNEL_TABLE[s.kernel].header for s in steps} - {"aot_kernels.h"}),
        arena_bytes=mem.arena_bytes, naive_bytes=mem.naive_bytes,
        offsets={t: mem.offset(t) for t in tensors}, scratch=mem.scratch,
        sizes={t: tensor_bytes(model, t) for t in tensors},
        inputs=list(model.inputs), outputs=list(model.outputs),
        input_bytes=sum(mem.buffers[t].size for t in model.inputs if t in mem.buffers), macs=sum(s.macs for s in steps),
    )
    return Generated({
        "aot_model.h": env.get_template("aot_model.h.j2").render(**ctx),
        "aot_model.c": env.get_template("aot_model.c.j2").render(**ctx),
    })


def _view(s: Step) -> dict:
    return dict(index=s.index, op=s.op, kernel=s.kernel, inputs=s.inputs, outputs=s.outputs,
                params={k: _plain(v) for k, v in s.params.items()},
                consts=[dict(name=c.name, ctype=c.ctype, data=_plain(np.asarray(c.values).reshape(-1)))
                        for c in s.consts],
                parts=[_view(p) for p in s.parts])

"""The AOT compiler front door: TFLite file -> lowered steps -> memory plan -> C sources."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .. import atomic
from ..tflite import TFLiteModel, read_model
from .codegen import KERNELS, Generated, render
from .lower import Step, lower
from .plan import MemoryPlan, plan


@dataclass(frozen=True)
class Compiled:
    model: TFLiteModel
    steps: list[Step]
    memory: MemoryPlan
    sources: Generated

    @property
    def arena_bytes(self) -> int:
        return self.memory.arena_bytes

    @property
    def macs(self) -> int:
        return sum(s.macs for s in self.steps)

    def summary(self) -> dict:
        return {"model_sha256": self.model.sha256, "ops": [s.op for s in self.steps],
                "arena_bytes": self.memory.arena_bytes, "arena_bytes_without_reuse": self.memory.naive_bytes,
                "macs": self.macs, "weights_bytes": sum(c.values.size * (1 if c.ctype == "int8_t" else 4)
                                                       for s in self.steps for c in s.consts)}


def compile_model(model: TFLiteModel | bytes | Path | str) -> Compiled:
    """Raises PipelineError (naming op and operator index) for anything unsupported."""
    m = model if isinstance(model, TFLiteModel) else read_model(model)
    steps = lower(m)
    mem = plan(m, steps)
    return Compiled(m, steps, mem, render(m, steps, mem))


def write_sources(compiled: Compiled, out_dir: Path) -> Path:
    """model sources + a summary into out_dir, atomically (kernels stay in firmware/kernels)."""
    with atomic.atomic_dir(out_dir) as tmp:
        for name, text in compiled.sources.files.items():
            (tmp / name).write_text(text)
        atomic.write_json(tmp / "aot_summary.json", compiled.summary())
    return Path(out_dir)


def kernel_sources() -> list[Path]:
    return sorted(KERNELS.glob("*.c"))

"""Build options: what the CLI (or a test) hands the stages besides the config and the target.

One frozen, typed object; an unknown name fails in one line with did-you-mean, so a typo never
silently drops an option. Stages read it as a read-only mapping (`ctx.options.get("device")`,
`{**ctx.options, "device": "emulator"}`); a field left at None is absent. A stage's OPTION_KEYS
name fields of this class (tests/foundation/test_architecture.py checks), and only those enter its
cache key.
"""
from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from .errors import PipelineError, allowed_list, did_you_mean


@dataclass(frozen=True)
class BuildOptions(Mapping[str, Any]):
    # where it runs
    device: str | None = None                 # emulator | qemu | ssh://... | pyocd[://UID] | adb[://SERIAL] | serial:PORT
    timeout: float | None = None              # seconds per device answer (Cortex-M)
    timeout_s: float | None = None            # seconds for a whole bench (Linux, Android)
    # the Cortex-M engine
    engine: str | None = None                 # aot | tflm
    tflm_dir: str | None = None               # where --engine tflm exports its project
    tflm_src: str | None = None               # a tflite-micro checkout to build it with
    tflm_kernels: str | None = None           # cmsis_nn | reference
    tflm_arena: bool | None = None            # also measure TFLM's arena (default on)
    test_data: str | Path | None = None       # a test.npz for a bench outside the chain
    # LiteRT targets
    kernels: str | None = None                # reference | xnnpack
    threads: int | None = None
    warmup: int | None = None
    runs: int | None = None
    benchmark_model: str | None = None        # Android benchmark_model binary
    litert_version: str | None = None
    android_package: str | None = None
    # ssh
    accept_new_host_key: bool | None = None
    known_hosts: str | None = None
    identity_file: str | None = None
    connect_timeout_s: float | None = None
    remote_dir: str | None = None
    offline_wheels: bool | None = None

    @classmethod
    def of(cls, value: Mapping[str, Any] | None) -> BuildOptions:
        if isinstance(value, cls):
            return value
        value = dict(value or {})
        for name in value:
            if name not in NAMES:
                raise PipelineError(f"unknown build option '{name}'{did_you_mean(name, NAMES)} "
                                    f"(allowed: {allowed_list(NAMES)})")
        return cls(**value)

    def __getitem__(self, name: str) -> Any:
        value = getattr(self, name) if name in NAMES else None
        if value is None:
            raise KeyError(name)
        return value

    def __iter__(self) -> Iterator[str]:
        return (n for n in NAMES if getattr(self, n) is not None)

    def __len__(self) -> int:
        return sum(1 for _ in self)


NAMES = tuple(f.name for f in fields(BuildOptions))

"""Crafted example reports, one per target kind, shaped like what the adapters produce."""
from __future__ import annotations

import copy
import json
from pathlib import Path

PROVENANCE = {
    "pipeline_version": "0.1.0",
    "config_hash": "3f2a9c1d0b7e4a55",
    "dataset_hash": "9d1c2b3a4f5e6d7c",
    "toolchain": {"python": "3.11.2", "numpy": "2.4.6"},
    "created_at": "2026-11-23T17:00:00Z",
}
MODEL = {
    "sha256": "ab" * 32, "bytes": 53_248, "params": 22_700, "macs": 2_660_000,
    "quantization": "int8", "input_shape": [1, 40, 1], "output_shape": [1, 10],
}
LAYERS = [
    {"name": "conv1", "op": "CONV_2D", "snr_db": 38.2, "max_abs_error": 0.011},
    {"name": "conv2", "op": "CONV_2D", "snr_db": 31.5, "max_abs_error": 0.024},
    {"name": "pool", "op": "AVERAGE_POOL_2D", "snr_db": 33.0, "max_abs_error": 0.02},
    {"name": "fc", "op": "FULLY_CONNECTED", "snr_db": 17.4, "max_abs_error": 0.09},
]


def rpi() -> dict:
    """Raspberry Pi 4 under qemu-user: wall time in us, but it measures the emulator."""
    return {
        "schema_version": "1",
        "status": "complete",
        "target": {"id": "rpi4", "name": "Raspberry Pi 4 Model B", "kind": "linux-arm",
                   "core": "cortex-a72", "arch": "aarch64"},
        "device": {"kind": "emulated", "name": "qemu-aarch64 cortex-a72", "arch": "aarch64",
                   "transport": "qemu-user"},
        "model": dict(MODEL),
        "runtime": {"name": "litert", "version": "2.3.0", "engine": "xnnpack", "threads": 4},
        "latency": {"unit": "us", "warmup": 5, "runs": 20, "inputs": 5, "min": 2210.0, "median": 2480.5,
                    "p90": 2900.0, "max": 3400.0, "mean": 2550.1, "std": 210.3, "comparable": False,
                    "note": "qemu-user wall time: 35-60x slower than a Pi, XNNPACK advantage lost"},
        "accuracy": {"metric": "top1", "value": 0.981, "n": 1000, "float_reference": 0.984,
                     "agreement": {"host": 1.0}},
        "memory": {"peak_rss_bytes": 48_000_000, "flash_bytes": 53_248},
        "training": {"teacher": {"accuracy": 0.99, "params": 310_000, "macs": 40_000_000},
                     "scratch": {"accuracy": 0.962, "params": 22_700, "macs": 2_660_000},
                     "distilled": {"accuracy": 0.984, "params": 22_700, "macs": 2_660_000}},
        "quantization_layers": copy.deepcopy(LAYERS),
        "provenance": copy.deepcopy(PROVENANCE),
    }


def cortex_m() -> dict:
    """Cortex-M4 under qemu-system with -icount: instruction counts are deterministic and comparable."""
    return {
        "schema_version": "1",
        "status": "complete",
        "target": {"id": "cortex-m4", "name": "Arm Cortex-M4 (QEMU mps2-an386)", "kind": "cortex-m",
                   "core": "cortex-m4", "arch": "armv7e-m"},
        "device": {"kind": "emulated", "name": "qemu-system-arm mps2-an386", "arch": "armv7e-m",
                   "transport": "qemu-system"},
        "model": dict(MODEL),
        "runtime": {"name": "aot", "version": "0.1.0", "engine": "cmsis-nn", "threads": 1},
        "latency": {"unit": "instructions", "warmup": 1, "runs": 10, "inputs": 5, "min": 4_100_000,
                    "median": 4_120_000, "p90": 4_130_000, "max": 4_150_000, "mean": 4_121_000, "std": 9000,
                    "comparable": True, "note": "QEMU -icount instruction count, not cycles"},
        "throughput": {"macs_per_unit": 0.6456},
        "accuracy": {"metric": "top1", "value": 0.980, "n": 1000, "float_reference": 0.984,
                     "agreement": {"tflm": 1.0, "host": 0.999}},
        "memory": {"arena_bytes": 9_216, "tflm_arena_bytes": 14_336, "stack_bytes": 2_048,
                   "peak_ram_bytes": 13_500, "flash_bytes": 71_000,
                   "sections": {"text": 17_000, "rodata": 52_000, "data": 2_000, "bss": 11_500}},
        "quantization_layers": copy.deepcopy(LAYERS),
        "provenance": copy.deepcopy(PROVENANCE),
    }


def android() -> dict:
    """Android proxy: the arm64 LiteRT kernels under qemu-user (no phone here)."""
    r = rpi()
    r["target"] = {"id": "android-arm64", "name": "Android phone, arm64-v8a", "kind": "android",
                   "core": "cortex-a76", "arch": "aarch64"}
    r["device"] = {"kind": "emulated", "name": "qemu-aarch64 cortex-a76 (android proxy)", "arch": "aarch64",
                   "transport": "qemu-user"}
    r["latency"]["median"] = 2300.0
    r["memory"] = {"peak_rss_bytes": 52_000_000}
    del r["training"]
    return r


def physical_pi() -> dict:
    """A real Pi over ssh: comparable device timing in ms."""
    r = rpi()
    r["device"] = {"kind": "physical", "name": "rpi4-lab", "arch": "aarch64", "transport": "ssh"}
    r["latency"].update({"unit": "ms", "min": 1.1, "median": 1.25, "p90": 1.4, "max": 1.9, "mean": 1.3,
                         "std": 0.1, "comparable": True})
    del r["latency"]["note"]
    return r


def dump(path: Path, report: dict) -> Path:
    path.write_text(json.dumps(report, indent=2))
    return path

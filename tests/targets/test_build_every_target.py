"""One shared end-to-end suite, parametrized over targets: the real chain on a tiny training budget.

Each build shares one cache (the teacher is target-independent), runs the real converter, the real
TFLM interpreter, the real cross-compiler and the real emulators, and must end in a complete,
schema-valid report whose on-device accuracy equals the host reference for the same int8 model.
"""
from __future__ import annotations

import pytest

from pipeline.adapters import ADAPTERS
from pipeline.build import run_build
from pipeline.config import Config
from pipeline.report.io import read_report
from pipeline.stages.progress import Progress
from pipeline.targets import load_all

pytestmark = [pytest.mark.slow, pytest.mark.emulator]

CASES = [("rpi4", "digits"), ("cortex-m4", "digits"), ("cortex-m4", "mnist1d"), ("cortex-m7", "digits"),
         ("cortex-m7", "mnist1d"), ("cortex-m55", "digits"), ("cortex-m55", "mnist1d"),
         ("android-arm64", "digits"), ("host", "digits")]


@pytest.fixture(scope="module")
def build_root(tmp_path_factory):
    return tmp_path_factory.mktemp("targets")


@pytest.mark.parametrize("target_id, dataset", CASES)
def test_build_reproduces_host_accuracy_on_the_device(build_root, target_id, dataset):
    target = load_all().get(target_id)
    cfg = Config().with_overrides(build={"dir": str(build_root)}, data={"dataset": dataset},
                                  teacher={"epochs": 3}, student={"epochs": 3})
    result = run_build(target, cfg, progress=Progress(enabled=False))
    assert result.complete
    report = read_report(result.build_dir / "report.json")  # validates against the schema
    assert report["status"] == "complete"
    assert report["target"]["id"] == target_id
    verify = result.artifacts["verify"].meta["accuracy"]
    assert report["accuracy"]["value"] == pytest.approx(verify[ADAPTERS.get(target.kind).VERIFY_REFERENCE], abs=1e-12)
    n_test = result.artifacts["data"].meta["sizes"]["test"]
    assert report["accuracy"]["n"] == n_test
    emulated = target.default_device in ("emulator", "qemu")
    assert (report["device"]["kind"] == "emulated") == emulated
    if emulated:
        assert report["latency"]["comparable"] is False or report["latency"]["unit"] == "instructions"
    if target.kind == "cortex-m":
        # Bit-exact with TFLM on every test vector, instructions (never ms) under QEMU.
        assert report["accuracy"]["agreement"]["tflm"] == 1.0
        assert report["latency"]["unit"] == "instructions"
        mem = report["memory"]
        assert mem["peak_ram_bytes"] > 0 and mem["tflm_arena_bytes"] > 0 and mem["sections"][".text"] > 0
        assert mem["flash_bytes"] <= target.flash_bytes and mem["peak_ram_bytes"] <= target.ram_bytes
    if target.kind == "linux-arm":
        assert report["device"]["arch"] == "aarch64"
    if target.kind == "android":
        assert (result.build_dir / "android" / "app" / "build.gradle.kts").is_file()

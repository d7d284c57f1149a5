"""Boards are data: a Cortex-M board and a Linux-arm board that exist only as TOML files in a
temporary targets folder are built, run and benchmarked under emulation, with no Python added.

The Cortex-M board is a core none of our shipped targets has (Cortex-M3 on QEMU mps2-an385: no
FPU, no DSP extension), so the test also proves the cflags derive from `core`/`fpu` and the
portable kernels stand alone. The Linux-arm board is a Raspberry Pi 3 (Cortex-A53) under qemu-user.
"""
from __future__ import annotations

import shutil
import subprocess

import pytest

from pipeline.build import run_build
from pipeline.config import Config
from pipeline.report.io import read_report
from pipeline.stages.progress import Progress
from pipeline.targets import load_all, targets_dir

pytestmark = [pytest.mark.slow, pytest.mark.emulator]

CORTEX_M3 = '''
# Added with no Python: Cortex-M3 (no FPU, no DSP extension) under QEMU mps2-an385.
id = "mps2-m3"
name = "Arm Cortex-M3 (QEMU mps2-an385)"
kind = "cortex-m"
arch = "armv7-m"
core = "cortex-m3"
clock_mhz = 25
flash_kb = 512
ram_kb = 128
runtimes = ["aot"]
default_device = "qemu"

[emulator]
kind = "qemu-system"
binary = "qemu-system-arm"
machine = "mps2-an385"
cpu = "cortex-m3"

[firmware]
flash_origin = 0x00000000
ram_origin = 0x20000000
uart = "cmsdk"
uart_base = 0x40004000
timer = "systick"
'''

RPI3 = '''
# Added with no Python: Raspberry Pi 3 Model B (BCM2837, 4x Cortex-A53 @ 1.2 GHz, 1 GB).
id = "rpi3"
name = "Raspberry Pi 3 Model B (aarch64 Linux, LiteRT/XNNPACK)"
kind = "linux-arm"
arch = "aarch64"
core = "cortex-a53"
clock_mhz = 1200
flash_kb = 1048576
ram_kb = 1048576
threads = 4
runtimes = ["litert"]
default_device = "emulator"

[emulator]
kind = "qemu-user"
binary = "qemu-aarch64-static"
cpu = "cortex-a53"
debian_suite = "bookworm"
'''


@pytest.fixture(scope="module")
def boards(tmp_path_factory):
    folder = tmp_path_factory.mktemp("targets")
    for f in targets_dir().glob("*.toml"):
        shutil.copy(f, folder / f.name)
    (folder / "mps2-m3.toml").write_text(CORTEX_M3)
    (folder / "rpi3.toml").write_text(RPI3)
    return load_all(folder)


@pytest.fixture(scope="module")
def build_root(tmp_path_factory):
    return tmp_path_factory.mktemp("builds")


def _build(target, build_root):
    cfg = Config().with_overrides(build={"dir": str(build_root)}, data={"dataset": "digits"},
                                  teacher={"epochs": 3}, student={"epochs": 3})
    result = run_build(target, cfg, progress=Progress(enabled=False))
    assert result.complete
    return result, read_report(result.build_dir / "report.json")


def test_new_cortex_m_board_from_toml_builds_runs_and_benchmarks_under_qemu(boards, build_root):
    target = boards.get("mps2-m3")
    result, report = _build(target, build_root)
    assert report["target"]["id"] == "mps2-m3" and report["device"]["kind"] == "emulated"
    # Bit-exact with TFLite Micro on the whole test set, timed in instructions.
    assert report["accuracy"]["agreement"]["tflm"] == 1.0
    assert report["accuracy"]["value"] == pytest.approx(result.artifacts["verify"].meta["accuracy"]["int8_tflm"],
                                                        abs=1e-12)
    assert report["latency"]["unit"] == "instructions" and report["latency"]["median"] > 0
    mem = report["memory"]
    assert 0 < mem["flash_bytes"] <= 512 * 1024 and 0 < mem["peak_ram_bytes"] <= 128 * 1024
    elf = next(result.build_dir.rglob("firmware.elf"))
    attrs = subprocess.run(["arm-none-eabi-readelf", "-A", str(elf)], capture_output=True, text=True,
                           check=True).stdout
    assert "Tag_CPU_arch: v7\n" in attrs and "Tag_FP_arch" not in attrs   # soft float, from fpu = none
    board_h = (elf.parent / "board" / "board.h").read_text()
    assert '#define BOARD_NAME "mps2-an385"' in board_h and "0x40004000u" in board_h


def test_new_linux_arm_board_from_toml_builds_and_runs_under_qemu_user(boards, build_root):
    target = boards.get("rpi3")
    result, report = _build(target, build_root)
    assert report["target"]["id"] == "rpi3" and report["device"]["kind"] == "emulated"
    assert report["device"]["arch"] == "aarch64"
    assert report["accuracy"]["value"] == pytest.approx(result.artifacts["verify"].meta["accuracy"]["int8_ref"],
                                                        abs=1e-12)
    assert report["latency"]["median"] > 0


def test_a_board_with_an_unknown_uart_driver_is_one_line_naming_the_drivers(tmp_path):
    (tmp_path / "bad.toml").write_text(CORTEX_M3.replace('id = "mps2-m3"', 'id = "bad"')
                                       .replace('uart = "cmsdk"', 'uart = "cmsdkk"'))
    from pipeline.errors import PipelineError
    with pytest.raises(PipelineError) as err:
        load_all(tmp_path)
    msg = str(err.value)
    assert "firmware.uart" in msg and "did you mean 'cmsdk'" in msg and "\n" not in msg

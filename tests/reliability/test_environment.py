"""Missing tools name the package to install; a full disk leaves nothing half-written."""
from __future__ import annotations

import errno
import os
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest

from pipeline import atomic, tools
from pipeline.errors import DiskFull, PipelineError

from .conftest import cli, one_line


def _path_without(tmp_path: Path, *names: str) -> str:
    """A PATH with every directory of the current one, minus the named tools (symlink farm)."""
    farm = tmp_path / "bin"
    farm.mkdir(exist_ok=True)
    for d in os.environ.get("PATH", "").split(os.pathsep):
        if not os.path.isdir(d):
            continue
        for entry in os.listdir(d):
            if entry in names or (farm / entry).exists():
                continue
            try:
                (farm / entry).symlink_to(os.path.join(d, entry))
            except OSError:
                pass
    return str(farm)


@pytest.mark.parametrize("tool,package", [(t.name, t.package) for t in tools.TOOLS])
def test_require_names_the_package(tool, package, monkeypatch):
    monkeypatch.setattr(tools, "find", lambda name: None)
    with pytest.raises(PipelineError) as err:
        tools.require(tool)
    msg = str(err.value)
    assert "\n" not in msg and f"'{tool}' not found" in msg and package in msg


def test_missing_cross_compiler_through_cli(models, tmp_path):
    np.save(tmp_path / "x.npy", np.zeros((1, 10), np.int8))
    res = cli("run", "--target", "cortex-m4", "--model", models["dense"], "--inputs", tmp_path / "x.npy",
              "--outputs", tmp_path / "y.npy", cwd=tmp_path,
              env={"PATH": _path_without(tmp_path, "arm-none-eabi-gcc")})
    assert res.returncode == 2, res.stderr
    line = one_line(res.stderr)
    assert "arm-none-eabi-gcc" in line and "apt-get install gcc-arm-none-eabi" in line
    assert not (tmp_path / "y.npy").exists()


@pytest.mark.skipif(shutil.which("arm-none-eabi-gcc") is None, reason="needs arm-none-eabi-gcc")
def test_missing_qemu_system_arm_through_cli(models, tmp_path):
    np.save(tmp_path / "x.npy", np.zeros((1, 10), np.int8))
    res = cli("run", "--target", "cortex-m4", "--model", models["dense"], "--inputs", tmp_path / "x.npy",
              "--outputs", tmp_path / "y.npy", cwd=tmp_path,
              env={"PATH": _path_without(tmp_path, "qemu-system-arm")})
    assert res.returncode == 2, res.stderr
    line = one_line(res.stderr)
    assert "qemu-system-arm" in line and "install qemu-system-arm" in line


@pytest.mark.parametrize("tool,package", [("qemu-aarch64-static", "qemu-user-static"),
                                          ("debootstrap", "debootstrap")])
def test_missing_qemu_user_or_debootstrap_for_the_emulated_pi(models, tool, package, tmp_path, monkeypatch):
    """The rpi emulator path checks its tools before it needs root or a rootfs."""
    from pipeline.adapters import linux_arm
    from pipeline.emulators import arm64
    from pipeline.targets import load_all

    real = tools.find
    monkeypatch.setattr(tools, "find", lambda name: None if name == tool else real(name))
    monkeypatch.setattr(arm64, "rootfs_dir", lambda suite="bookworm": tmp_path / "no-rootfs")

    def never(*a, **k):
        raise AssertionError("the rootfs build must not start when a tool is missing")

    monkeypatch.setattr(arm64, "build_rootfs", never)
    np.save(tmp_path / "x.npy", np.zeros((1, 10), np.int8))
    with pytest.raises(PipelineError) as err:
        linux_arm.run_model(load_all().get("rpi4"), models["dense"], tmp_path / "x.npy", tmp_path / "y.npy",
                            "emulator", {})
    assert tool in str(err.value) and package in str(err.value) and "\n" not in str(err.value)


def test_missing_adb_through_cli(models, tmp_path):
    np.save(tmp_path / "x.npy", np.zeros((1, 10), np.int8))
    res = cli("run", "--target", "android", "--model", models["dense"], "--inputs", tmp_path / "x.npy",
              "--outputs", tmp_path / "y.npy", "--device", "adb://emulator-5554", cwd=tmp_path,
              env={"PATH": _path_without(tmp_path, "adb")})
    assert res.returncode in (2, 4), res.stderr
    line = one_line(res.stderr)
    assert "adb" in line and "apt-get install -y adb" in line


def test_missing_pyocd_names_the_pip_package(monkeypatch):
    monkeypatch.setattr(tools, "find", lambda name: None)
    with pytest.raises(PipelineError, match=r"'pyocd' not found; install it with: .*pip install pyocd$"):
        tools.require("pyocd")


def test_doctor_prints_install_commands_for_missing_tools(tmp_path):
    res = cli("doctor", cwd=tmp_path, env={"PATH": _path_without(tmp_path, "adb", "qemu-system-arm")})
    assert res.returncode == 1
    assert "apt-get install -y" in res.stdout and "adb" in res.stdout and "qemu-system-arm" in res.stdout


# -- disk full -------------------------------------------------------------------------------

def _enospc(*_a, **_k):
    raise OSError(errno.ENOSPC, "No space left on device")


def test_atomic_write_disk_full_leaves_nothing(tmp_path, monkeypatch):
    dest = tmp_path / "artifact.bin"
    monkeypatch.setattr(atomic.os, "fsync", _enospc)
    with pytest.raises(DiskFull, match=r"^disk full while writing .*artifact.bin"):
        atomic.write_bytes(dest, b"x" * 1000)
    assert list(tmp_path.iterdir()) == []


def test_atomic_dir_disk_full_leaves_old_version(tmp_path):
    dest = tmp_path / "stage"
    dest.mkdir()
    (dest / "old.txt").write_text("old")
    with pytest.raises(DiskFull):
        with atomic.atomic_dir(dest) as tmp:
            (tmp / "half.txt").write_text("half")
            raise OSError(errno.ENOSPC, "No space left on device")
    assert [p.name for p in tmp_path.iterdir()] == ["stage"] and (dest / "old.txt").read_text() == "old"


def test_stage_disk_full_leaves_no_cache_entry(tmp_path):
    from pipeline.cache import StageCache

    cache = StageCache(tmp_path / "cache")

    def produce(out):
        (out / "teacher.pt").write_bytes(b"half")
        raise OSError(errno.ENOSPC, "No space left on device", str(out / "teacher.pt"))

    with pytest.raises(OSError):
        cache.store("teacher", "k" * 32, {}, produce)
    assert cache.lookup("teacher", "k" * 32) is None
    assert list((tmp_path / "cache" / "teacher").iterdir()) == []


DISK_FULL_CLI = """
import errno, os, sys
import pipeline.atomic as a
def enospc(fd):
    raise OSError(errno.ENOSPC, "No space left on device")
a.os.fsync = enospc
from pipeline.cli import main
main(sys.argv[1:])
"""


@pytest.mark.skipif(shutil.which("qemu-system-arm") is None, reason="needs QEMU")
def test_disk_full_through_the_cli(models, tmp_path):
    """`pipeline run` with every fsync failing with ENOSPC: one line, exit 2, no output file."""
    import subprocess

    np.save(tmp_path / "x.npy", np.zeros((1, 10), np.int8))
    out = tmp_path / "y.npy"
    res = subprocess.run([sys.executable, "-c", DISK_FULL_CLI, "run", "--target", "cortex-m4", "--model",
                          str(models["dense"]), "--inputs", str(tmp_path / "x.npy"), "--outputs", str(out)],
                         cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert res.returncode == 2, res.stderr
    line = one_line(res.stderr)
    assert line.startswith("error: disk full while writing ") and "free some space" in line
    assert not out.exists() and not list(tmp_path.glob(".y.npy*"))


def test_stage_enospc_through_cli_main_is_one_line(capsys, monkeypatch):
    from pipeline import cli as cli_mod

    def boom(**kw):
        raise OSError(errno.ENOSPC, "No space left on device", "build/cache/teacher/.tmp-x/teacher.pt")

    monkeypatch.setattr(cli_mod, "_run_build", boom)
    with pytest.raises(SystemExit) as exc:
        cli_mod.main(["build", "--target", "host"])
    assert exc.value.code == 2
    line = one_line(capsys.readouterr().err)
    assert line.startswith("error: disk full while writing build/cache/teacher/.tmp-x/teacher.pt")

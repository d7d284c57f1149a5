"""`pipeline run --target android --device adb` as a user meets it: a real process, one-line errors."""
from __future__ import annotations

import numpy as np

from .helpers import FIXTURES


def _inputs(tmp_path):
    np.save(tmp_path / "x.npy", np.zeros((1, 4, 4, 2), np.int8))
    return ["--inputs", str(tmp_path / "x.npy"), "--outputs", str(tmp_path / "y.npy")]


def test_recorded_device_cli_no_phone(recorded_device, run_cli, tiny, tmp_path):
    recorded_device.rules([{"match": ["devices"], "stdout_file": str(FIXTURES / "adb/devices_none_recorded_here.txt")}])
    proc = run_cli("run", "--target", "android", "--model", str(tiny["model"]), *_inputs(tmp_path), "--device", "adb")
    assert proc.returncode == 4, proc.stderr
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and "no Android device found by adb" in lines[0]


def test_recorded_device_cli_unauthorized(recorded_device, run_cli, tiny, tmp_path):
    recorded_device.rules([{"match": ["devices"],
                            "stdout_file": str(FIXTURES / "adb/devices_unauthorized_flutter358.txt")}])
    proc = run_cli("run", "--target", "android-arm64", "--model", str(tiny["model"]), *_inputs(tmp_path),
                   "--device", "adb://8XV5000A20007972")
    assert proc.returncode == 4
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and "unauthorized" in lines[0] and "Allow USB debugging" in lines[0]


def test_cli_without_adb(run_cli, tiny, tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent")
    proc = run_cli("run", "--target", "android", "--model", str(tiny["model"]), *_inputs(tmp_path), "--device", "adb")
    assert proc.returncode == 2
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and "apt-get install -y adb" in lines[0]

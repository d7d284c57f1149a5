"""The CLI as users meet it: real processes, real exit codes, one-line errors."""
from __future__ import annotations

import shutil

import pytest

from pipeline.targets import targets_dir


def _one_line(text: str) -> str:
    lines = [ln for ln in text.strip().splitlines() if ln.strip()]
    assert len(lines) == 1, f"expected one line, got: {text!r}"
    assert "Traceback" not in text
    return lines[0]


def test_targets_lists_every_device_with_budgets(run_cli):
    res = run_cli("targets")
    assert res.returncode == 0, res.stderr
    ids = ["rpi4", "rpi5", "android-arm64", "cortex-m4", "cortex-m7", "cortex-m55", "nucleo-f746zg",
           "nrf52840dk", "host"]
    for tid in ids:
        assert tid in res.stdout
    for column in ("kind", "core", "clock", "flash", "RAM", "default device"):
        assert column in res.stdout
    assert "mps2-an386" in res.stdout and "320 KB" in res.stdout


def test_misspelled_target_suggests_the_closest(run_cli):
    res = run_cli("build", "--target", "rpy")
    assert res.returncode == 2
    line = _one_line(res.stderr)
    assert "unknown target 'rpy'" in line and "did you mean 'rpi'" in line


def test_misspelled_config_key_names_file_key_and_allowed(run_cli, tmp_path):
    cfg = tmp_path / "pipeline.toml"
    cfg.write_text("[teacher]\nepoch = 3\n")
    res = run_cli("build", "--target", "rpi", "--config", str(cfg))
    assert res.returncode == 2
    line = _one_line(res.stderr)
    assert str(cfg) in line and "teacher.epoch" in line and "did you mean 'epochs'" in line
    assert "allowed keys:" in line and "label_smoothing" in line


def test_default_config_file_in_cwd_is_validated(run_cli, tmp_path):
    (tmp_path / "pipeline.toml").write_text('[data]\ndataset = "digits"\nseeed = 1\n')
    res = run_cli("build", "--target", "rpi", cwd=tmp_path)
    assert res.returncode == 2
    assert "data.seeed" in _one_line(res.stderr) and "did you mean 'seed'" in res.stderr


def test_bad_value_names_allowed_set(run_cli, tmp_path):
    cfg = tmp_path / "c.toml"
    cfg.write_text('[quantize]\nmode = "qta"\n')
    res = run_cli("build", "--target", "rpi", "-c", str(cfg))
    assert res.returncode == 2
    line = _one_line(res.stderr)
    assert "quantize.mode" in line and "'qta'" in line and "did you mean 'qat'" in line and "ptq" in line


@pytest.fixture
def targets_copy(tmp_path):
    d = tmp_path / "targets"
    shutil.copytree(targets_dir(), d)
    return d


def test_misspelled_key_in_target_file(run_cli, targets_copy):
    f = targets_copy / "cortex-m7.toml"
    f.write_text(f.read_text().replace("ram_kb", "ram_kbb"))
    res = run_cli("targets", env={"PIPELINE_TARGETS_DIR": str(targets_copy)})
    assert res.returncode == 2
    line = _one_line(res.stderr)
    assert "cortex-m7.toml" in line and "ram_kbb" in line and "did you mean 'ram_kb'" in line


def test_unknown_kind_in_target_file(run_cli, targets_copy):
    f = targets_copy / "rpi5.toml"
    f.write_text(f.read_text().replace('kind = "linux-arm"', 'kind = "linux-armm"'))
    res = run_cli("targets", env={"PIPELINE_TARGETS_DIR": str(targets_copy)})
    assert res.returncode == 2
    line = _one_line(res.stderr)
    assert "rpi5.toml" in line and "'linux-armm'" in line and "did you mean 'linux-arm'" in line


def test_a_new_board_is_just_a_file(run_cli, targets_copy):
    text = (targets_copy / "cortex-m7.toml").read_text().replace('id = "cortex-m7"', 'id = "my-board"')
    (targets_copy / "my-board.toml").write_text(text)
    res = run_cli("targets", env={"PIPELINE_TARGETS_DIR": str(targets_copy)})
    assert res.returncode == 0 and "my-board" in res.stdout


def test_doctor_reports_missing_tools_with_install_command(run_cli, tmp_path):
    # An empty PATH (plus a python dir without pyocd) hides every tool: doctor must say how to get each.
    fake_bin = tmp_path / "bin"
    fake_bin.mkdir()
    res = run_cli("doctor", env={"PATH": str(fake_bin)})
    assert res.returncode == 1
    assert "apt-get install -y" in res.stdout
    for pkg in ("gcc-arm-none-eabi", "qemu-system-arm", "qemu-user-static", "debootstrap", "adb"):
        assert pkg in res.stdout


def test_doctor_passes_when_everything_is_installed(run_cli):
    res = run_cli("doctor")
    assert res.returncode == 0, res.stdout
    assert "all tools found" in res.stdout


def test_flash_refuses_non_cortex_m_target(run_cli):
    res = run_cli("flash", "--target", "rpi")
    assert res.returncode == 2 and "cortex-m" in _one_line(res.stderr)


def test_run_with_missing_files_is_one_line(run_cli, tmp_path):
    res = run_cli("run", "--target", "host", "--model", str(tmp_path / "nope.tflite"), "--inputs",
                  str(tmp_path / "x.npy"), "--outputs", str(tmp_path / "y.npy"))
    assert res.returncode == 2 and "file not found" in _one_line(res.stderr)

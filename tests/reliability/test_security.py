"""Hostile names, hostile archives, secrets: nothing runs that should not, nothing leaks."""
from __future__ import annotations

import io
import os
import tarfile
from pathlib import Path

import numpy as np
import pytest

from pipeline.bundle.extract import extract_bundle
from pipeline.errors import PipelineError
from pipeline.ssh import Ssh, SshTarget, remote_command

from .conftest import cli, one_line

HOSTILE = ["a; touch PWNED", "$(touch PWNED)", "`touch PWNED`", "x' ; touch PWNED; '", "a\"b && touch PWNED",
           "-rf", "sp ace|touch PWNED"]


def test_ssh_host_key_checking_is_on_by_default():
    opts = Ssh(SshTarget.parse("ssh://pi@board")).options()
    assert "StrictHostKeyChecking=yes" in opts and "BatchMode=yes" in opts
    assert "StrictHostKeyChecking=no" not in " ".join(opts)
    assert "StrictHostKeyChecking=accept-new" in Ssh(SshTarget.parse("ssh://pi@board"),
                                                     accept_new_host_key=True).options()


@pytest.mark.parametrize("name", HOSTILE)
def test_remote_command_quotes_hostile_names(name, tmp_path):
    """What the remote shell gets, run here by a real sh: the name arrives as one literal argument."""
    import subprocess

    cmd = remote_command(["printf", "%s", f"/tmp/{name}.tflite"])
    out = subprocess.run(["sh", "-c", cmd], cwd=tmp_path, capture_output=True, text=True, timeout=10)
    assert out.stdout == f"/tmp/{name}.tflite"
    assert not (tmp_path / "PWNED").exists()


@pytest.mark.parametrize("target", ["host", "cortex-m4"])
def test_pipeline_run_with_hostile_file_names(models, target, tmp_path):
    d = tmp_path / "$(touch PWNED); `touch PWNED`"
    d.mkdir()
    model = d / "m; touch PWNED $(touch PWNED).tflite"
    model.write_bytes(models["dense"].read_bytes())
    x = d / "x' && touch PWNED '.npy"
    np.save(x, np.zeros((1, 10), np.int8))
    out = d / "y; touch PWNED.npy"
    res = cli("run", "--target", target, "--model", model, "--inputs", x, "--outputs", out, cwd=tmp_path,
              timeout=300)
    assert res.returncode == 0, res.stderr
    assert out.is_file() and np.load(out).shape[-1] == 5
    assert not list(tmp_path.rglob("PWNED")) and not Path("PWNED").exists()


def test_hostile_target_name_is_rejected_as_data(tmp_path):
    res = cli("run", "--target", "$(touch PWNED); rpi", "--model", "m.tflite", "--inputs", "x.npy",
              "--outputs", "y.npy", cwd=tmp_path)
    assert res.returncode == 2 and "unknown target" in one_line(res.stderr)
    assert not (tmp_path / "PWNED").exists()


# -- bundle extraction ----------------------------------------------------------------------

def _tar(tmp_path: Path, members: list[tuple[tarfile.TarInfo, bytes | None]]) -> Path:
    path = tmp_path / "bundle.tar.gz"
    with tarfile.open(path, "w:gz") as tar:
        for info, data in members:
            if data is not None:
                info.size = len(data)
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    return path


def _file(name, data=b"x"):
    return tarfile.TarInfo(name), data


def _link(name, target, kind):
    info = tarfile.TarInfo(name)
    info.type, info.linkname = kind, target
    return info, None


@pytest.mark.parametrize("member", [
    _file("../evil.sh"), _file("/etc/evil"), _file("bundle/../../evil"), _file("ok/../../../evil"),
    _link("bundle/link", "/etc/passwd", tarfile.SYMTYPE), _link("bundle/hard", "/etc/passwd", tarfile.LNKTYPE),
    _link("bundle/rel", "../../x", tarfile.SYMTYPE), _link("bundle/dev", "", tarfile.CHRTYPE),
    _link("bundle/fifo", "", tarfile.FIFOTYPE),
], ids=["dotdot", "absolute", "nested-dotdot", "deep-dotdot", "symlink", "hardlink", "rel-symlink", "device",
        "fifo"])
def test_extract_bundle_rejects_traversal_and_links(member, tmp_path):
    archive = _tar(tmp_path, [_file("bundle/runner.py", b"print(1)\n"), member])
    dest = tmp_path / "out" / "bundle"
    with pytest.raises(PipelineError, match="refusing member") as err:
        extract_bundle(archive, dest)
    assert "\n" not in str(err.value)
    assert not dest.exists() and not (tmp_path / "evil.sh").exists()
    assert not list((tmp_path / "out").glob("*")) if (tmp_path / "out").exists() else True


def test_extract_bundle_accepts_a_real_bundle(tmp_path):
    from pipeline import bundle

    src = tmp_path / "src"
    src.mkdir()
    bundle.write_runner(src)
    (src / "requirements.txt").write_text(bundle.requirements_text())
    archive = _tar(tmp_path, [_file("runner.py", (src / "runner.py").read_bytes()),
                              _file("requirements.txt", (src / "requirements.txt").read_bytes())])
    out = extract_bundle(archive, tmp_path / "dest")
    assert (out / "runner.py").read_bytes() == (src / "runner.py").read_bytes()


@pytest.mark.parametrize("data", [b"", b"not a tarball", b"\x1f\x8b\x08\x00garbage"])
def test_extract_bundle_rejects_garbage(data, tmp_path):
    p = tmp_path / "b.tar.gz"
    p.write_bytes(data)
    with pytest.raises(PipelineError, match="not a readable bundle tarball"):
        extract_bundle(p, tmp_path / "dest")
    assert not (tmp_path / "dest").exists()


def test_emulated_pi_refuses_a_tampered_bundle_archive_fake_emulator(tmp_path, monkeypatch):
    """The emulated-Pi bench unpacks the package's bundle.tar.gz like a board would: a symlink
    slipped into the archive stops it with one line before anything runs in the guest. The
    qemu-user emulator is replaced by a recorder here: the point is the guard, not the emulator."""
    import contextlib
    from types import SimpleNamespace

    from pipeline import linux_litert

    pkg = tmp_path / "package"
    (pkg / "bundle").mkdir(parents=True)
    (pkg / "bundle" / "bench.py").write_text("print(1)\n")
    _tar(pkg, [_file("bundle/bench.py", b"print(1)\n"), _link("bundle/x", "/etc/shadow", tarfile.SYMTYPE)])
    ran = []
    guest_root = tmp_path / "guest"

    class FakeEmu:
        cpu, chroot = "cortex-a72", True

        @contextlib.contextmanager
        def workdir(self):
            guest_root.mkdir()
            yield "/work", guest_root

        def run(self, cmd, **kw):
            ran.append(cmd)

    monkeypatch.setattr(linux_litert, "_emulator", lambda target, log: FakeEmu())
    ctx = SimpleNamespace(progress=SimpleNamespace(log=lambda *a: None), target=SimpleNamespace(id="rpi4"))
    with pytest.raises(PipelineError, match="refusing member 'bundle/x'") as err:
        linux_litert._bench_emulator(ctx, pkg / "bundle", [], 10.0)
    assert "\n" not in str(err.value) and not ran
    assert not (guest_root / "unpacked").exists()


# -- secrets --------------------------------------------------------------------------------

@pytest.mark.slow
def test_no_secret_or_environment_dump_in_build_outputs(tmp_path):
    secret = "SECRET_TOKEN_value_9f8e7d6c5b4a"
    (tmp_path / "pipeline.toml").write_text("[teacher]\nepochs = 1\n[student]\nepochs = 1\n")
    res = cli("build", "--target", "host", "--dataset", "digits", "--allow-partial", cwd=tmp_path, timeout=900,
              env={"SECRET_TOKEN": secret, "AWS_SECRET_ACCESS_KEY": secret + "aws"})
    assert res.returncode == 0, res.stderr[-2000:]
    assert secret not in res.stdout + res.stderr
    home = os.environ.get("HOME", "/root")
    leaks = []
    for f in (tmp_path / "build").rglob("*"):
        if f.is_file():
            data = f.read_bytes()
            if secret.encode() in data or b"AWS_SECRET_ACCESS_KEY" in data or b"SECRET_TOKEN" in data:
                leaks.append(str(f.relative_to(tmp_path)))
            if b"LS_COLORS=" in data or b"PATH=/" in data:
                leaks.append(f"{f.relative_to(tmp_path)} (environment dump)")
    assert not leaks, leaks
    assert home  # HOME itself may appear as a path; only values of the environment are secrets

"""Fast checks of the pieces that need no model, no emulator and no sshd."""
from __future__ import annotations

import json
import os
import shlex
import subprocess
import tarfile
from pathlib import Path

import pytest

from pipeline import bundle
from pipeline.adapters import linux_arm
from pipeline.emulators import arm64
from pipeline.errors import PipelineError
from pipeline.ssh import Ssh, SshTarget, remote_command, remote_path

HOSTILE = ["a b", ";rm -rf /tmp/x", "$(touch pwned)", "`id`", "it's", '"q"', "x\ny", "-rf", "*", "~"]


def test_ssh_url_parsing():
    t = SshTarget.parse("ssh://pi@raspberrypi.local:2222")
    assert (t.user, t.host, t.port, t.destination) == ("pi", "raspberrypi.local", 2222, "pi@raspberrypi.local")
    assert SshTarget.parse("ssh://pi@10.0.0.2").port == 22
    assert SshTarget.parse("ssh://pi@[::1]:22").host == "::1"
    for bad in ("ssh://", "http://pi@host", "ssh://pi@host:notaport", "ssh://-oProxyCommand=x@host",
                "ssh://pi@host/some/path", "ssh://p$(id)@host"):
        with pytest.raises(PipelineError):
            SshTarget.parse(bad)


def test_remote_command_quotes_every_argument():
    cmd = remote_command(["printf", "%s\\n", *HOSTILE])
    # what a remote POSIX shell makes of it: exactly our arguments, nothing run
    out = subprocess.run(["sh", "-c", cmd], capture_output=True, text=True, check=True).stdout
    assert out == "".join(f"{h}\n" for h in HOSTILE)
    assert shlex.split(cmd)[2:] == HOSTILE
    assert remote_path("-rf") == "./-rf" and remote_path("/abs") == "/abs"


def test_ssh_options_keep_host_key_checking_on():
    opts = Ssh(SshTarget("h", "u", 2200)).options()
    assert "StrictHostKeyChecking=yes" in opts and "BatchMode=yes" in opts and "2200" in opts
    assert "StrictHostKeyChecking=accept-new" in Ssh(SshTarget("h"), accept_new_host_key=True).options()
    assert not any("StrictHostKeyChecking=no" in o for o in opts)


def test_parse_device(rpi4):
    assert linux_arm.parse_device(None, rpi4) == "emulator"
    assert linux_arm.parse_device("ssh://pi@pi4:22", rpi4) == SshTarget("pi4", "pi", 22)
    with pytest.raises(PipelineError, match="allowed: emulator"):
        linux_arm.parse_device("adb", rpi4)


def test_cpuinfo_is_arm():
    a72, a76 = arm64.cpuinfo_text("cortex-a72"), arm64.cpuinfo_text("cortex-a76")
    assert "CPU part\t: 0xd08" in a72 and "CPU part\t: 0xd0b" in a76
    assert a72.count("processor\t:") == 4 and "CPU implementer\t: 0x41" in a72


def test_tarball_is_deterministic_and_refuses_links(tmp_path):
    src = tmp_path / "src"
    (src / "sub").mkdir(parents=True)
    (src / "b.txt").write_text("b")
    (src / "a b;$(x).txt").write_text("a")
    (src / "sub" / "c.sh").write_text("#!/bin/sh\n")
    (src / "sub" / "c.sh").chmod(0o755)
    one = bundle.tarball(src, tmp_path / "1.tar.gz").read_bytes()
    (src / "b.txt").touch()  # a newer mtime must not change the bytes
    two = bundle.tarball(src, tmp_path / "2.tar.gz").read_bytes()
    assert one == two
    with tarfile.open(tmp_path / "1.tar.gz") as tar:
        members = tar.getmembers()
    names = [m.name for m in members]
    assert names == ["bundle", "bundle/a b;$(x).txt", "bundle/b.txt", "bundle/sub", "bundle/sub/c.sh"]
    assert {m.mtime for m in members} == {bundle.FIXED_MTIME}
    assert all(m.isfile() or m.isdir() for m in members)
    assert members[-1].mode == 0o755
    (src / "link").symlink_to("b.txt")
    with pytest.raises(PipelineError, match="regular files"):
        bundle.tarball(src, tmp_path / "3.tar.gz")


def test_requirements_are_pinned():
    lines = [ln for ln in bundle.requirements_text().splitlines() if ln and not ln.startswith("#")]
    assert "ai-edge-litert==2.3.0" in lines
    assert all("==" in ln for ln in lines) and any(ln.startswith("numpy==") for ln in lines)


def test_rootfs_build_is_atomic(tmp_path, monkeypatch):
    """An interrupted build leaves nothing trusted; a directory without the marker is rebuilt."""
    if os.geteuid() != 0:
        pytest.skip("build_rootfs needs root")
    monkeypatch.setenv("PIPELINE_CACHE_HOME", str(tmp_path))
    monkeypatch.setattr(arm64, "ensure_binfmt", lambda: True)
    monkeypatch.setattr(arm64.shutil, "which", lambda tool: f"/usr/bin/{tool}")
    calls = []

    def interrupted(cmd, timeout, say):
        calls.append(cmd)
        (Path(cmd[-2]) / "etc").mkdir(parents=True)  # half a rootfs
        raise KeyboardInterrupt

    monkeypatch.setattr(arm64, "_run_logged", interrupted)
    with pytest.raises(KeyboardInterrupt):
        arm64.build_rootfs("bookworm")
    assert [p.name for p in (tmp_path / "rootfs").iterdir()] == [".bookworm-arm64.lock"]

    final = arm64.rootfs_dir("bookworm")
    (final / "usr").mkdir(parents=True)  # e.g. copied by hand, no marker: not trusted
    monkeypatch.setattr(arm64, "_run_logged", lambda cmd, timeout, say: (Path(cmd[-2]) / "usr").mkdir())
    assert arm64.build_rootfs("bookworm") == final
    info = json.loads((final / arm64.MARKER).read_text())
    assert info["suite"] == "bookworm" and len(calls) == 1
    assert arm64.build_rootfs("bookworm") == final  # cached: no second debootstrap
    assert sorted(p.name for p in (tmp_path / "rootfs").iterdir()) == [".bookworm-arm64.lock", "bookworm-arm64"]

"""The SSH device path against a real, throwaway OpenSSH server on 127.0.0.1.

The "board" is this machine: sshd on a high port with a fresh host key and a fresh user key in a
temp dir. bench/run then copy, install (offline, from the host-downloaded wheelhouse for the
board's CPU) and run exactly as they would on a Pi.
"""
from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path

import numpy as np
import psutil
import pytest

from pipeline.adapters import linux_arm
from pipeline.errors import DeviceError

from . import tiny
from .conftest import host_accuracy

SSHD = "/usr/sbin/sshd"
pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not (os.path.exists(SSHD) and shutil.which("ssh") and shutil.which("ssh-keygen")),
                                 reason="needs openssh-server and openssh-client"),
              pytest.mark.skipif(os.geteuid() != 0, reason="the throwaway sshd logs in as the current user: "
                                                          "needs root to run sshd")]
# Hostile: if any shell re-parsed these, files named PWNED would appear or commands would run.
HOSTILE = "board dir;rm -rf nothing $(touch PWNED) `touch PWNED2`"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Sshd:
    def __init__(self, root: Path):
        self.root = root
        self.port = _free_port()
        for name in ("host_key", "user_key"):
            subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", name, "-f", str(root / name)],
                           check=True, timeout=30)
        (root / "authorized_keys").write_text((root / "user_key.pub").read_text())
        (root / "sshd_config").write_text("\n".join([
            f"Port {self.port}", "ListenAddress 127.0.0.1", f"HostKey {root / 'host_key'}",
            f"PidFile {root / 'sshd.pid'}", f"AuthorizedKeysFile {root / 'authorized_keys'}",
            "PermitRootLogin prohibit-password", "PasswordAuthentication no",
            "KbdInteractiveAuthentication no", "UsePAM no", "StrictModes no", "LogLevel ERROR", ""]))
        host_pub = " ".join((root / "host_key.pub").read_text().split()[:2])
        self.known_hosts = root / "known_hosts"
        self.known_hosts.write_text(f"[127.0.0.1]:{self.port} {host_pub}\n")
        self.identity = root / "user_key"
        Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)  # sshd's privilege-separation directory
        self.proc = subprocess.Popen([SSHD, "-D", "-e", "-f", str(root / "sshd_config")],
                                     stderr=open(root / "sshd.log", "wb"))
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            time.sleep(0.1)
        raise RuntimeError(f"sshd did not start: {(root / 'sshd.log').read_text()}")

    @property
    def url(self) -> str:
        return f"ssh://{os.environ.get('USER') or 'root'}@127.0.0.1:{self.port}"

    def options(self, **extra):
        return {"known_hosts": str(self.known_hosts), "identity_file": str(self.identity), **extra}

    def kill(self) -> None:
        """SIGKILL the server and every session process under it: a board that loses power."""
        try:
            procs = [psutil.Process(self.proc.pid), *psutil.Process(self.proc.pid).children(recursive=True)]
        except psutil.NoSuchProcess:
            procs = []
        for p in procs:
            try:
                p.send_signal(signal.SIGKILL)
            except psutil.NoSuchProcess:
                pass
        self.proc.wait(timeout=10)


@pytest.fixture(scope="module")
def sshd(tmp_path_factory):
    server = Sshd(tmp_path_factory.mktemp("sshd"))
    yield server
    if server.proc.poll() is None:
        server.kill()


@pytest.fixture(scope="module")
def board_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("board") / HOSTILE
    yield d
    assert not list(d.parent.rglob("PWNED*")) and not list(Path.cwd().glob("PWNED*"))


def test_bench_over_ssh(sshd, board_dir, packaged, artifacts, rpi4, make_ctx):
    ctx = make_ctx(rpi4, "bench ssh", device=sshd.url, runs=3, warmup=1, **sshd.options(remote_dir=str(board_dir)))
    art = linux_arm.bench(ctx, {"package": packaged, **artifacts})
    rep = art.meta
    assert (ctx.out_dir / "bench.json").is_file()
    assert rep["device"]["kind"] == "physical" and rep["device"]["transport"] == "ssh"
    assert rep["latency"]["comparable"] is True and rep["runtime"]["engine"] == "xnnpack"
    assert rep["accuracy"]["n"] == 200
    # the bundle really landed in the hostile directory name, byte for byte
    [work] = [p for p in board_dir.iterdir() if p.name.startswith("rpi4-")]
    assert (work / "bundle" / "model_int8.tflite").read_bytes() == \
        artifacts["convert"].path("model_int8.tflite").read_bytes()
    assert not list(board_dir.parent.rglob("PWNED*"))


def test_bench_over_ssh_reference_kernels_match_host(sshd, board_dir, packaged, artifacts, rpi4, make_ctx):
    ctx = make_ctx(rpi4, "bench ref", device=sshd.url, runs=2, warmup=0, kernels="reference",
                   **sshd.options(remote_dir=str(board_dir)))
    rep = linux_arm.bench(ctx, {"package": packaged, **artifacts}).meta
    assert rep["accuracy"]["value"] == host_accuracy(artifacts)


def test_run_model_over_ssh_is_byte_identical(sshd, board_dir, artifacts, rpi4, tmp_path):
    model = artifacts["convert"].path("model_int8.tflite")
    with np.load(artifacts["data"].path("dataset.npz")) as z:
        x = tiny.quantize_nhwc(model, z["x_test"][:30])
    src = tmp_path / "in $(touch PWNED);x"
    src.mkdir()
    np.save(src / "x.npy", x)
    linux_arm.run_model(rpi4, model, src / "x.npy", src / "y.npy", sshd.url, sshd.options(remote_dir=str(board_dir)))
    assert np.load(src / "y.npy").tobytes() == tiny.host_reference(model, x).tobytes()
    assert not list(tmp_path.rglob("PWNED*"))


def test_unknown_host_key_is_refused_unless_opted_in(sshd, board_dir, artifacts, rpi4, tmp_path):
    model = artifacts["convert"].path("model_int8.tflite")
    np.save(tmp_path / "x.npy", np.zeros((1, 8, 8, 1), np.int8))
    empty = tmp_path / "known_hosts"
    empty.write_text("")
    opts = {"known_hosts": str(empty), "identity_file": str(sshd.identity), "remote_dir": str(board_dir)}
    with pytest.raises(DeviceError, match="host key verification failed") as err:
        linux_arm.run_model(rpi4, model, tmp_path / "x.npy", tmp_path / "y.npy", sshd.url, opts)
    assert "\n" not in str(err.value) and not (tmp_path / "y.npy").exists()
    linux_arm.run_model(rpi4, model, tmp_path / "x.npy", tmp_path / "y.npy", sshd.url,
                        {**opts, "accept_new_host_key": True})
    assert np.load(tmp_path / "y.npy").shape == (1, 4)
    host_key = (sshd.root / "host_key.pub").read_text().split()[1]
    assert host_key in empty.read_text()  # trusted on first use, remembered (hashed host name)


def test_server_killed_mid_benchmark(sshd, board_dir, packaged, artifacts, rpi4, make_ctx, capsys):
    """Runs last in this module: it kills the server."""
    ctx = make_ctx(rpi4, "bench killed", device=sshd.url, runs=200000, warmup=0, timeout_s=300,
                   **sshd.options(remote_dir=str(board_dir)))
    result: dict = {}

    def go():
        try:
            result["art"] = linux_arm.bench(ctx, {"package": packaged, **artifacts})
        except BaseException as err:  # noqa: BLE001 - handed to the test thread
            result["err"] = err

    t = threading.Thread(target=go)
    t.start()
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not _remote_bench_running(sshd):
        time.sleep(0.2)
    assert _remote_bench_running(sshd), "bench.py never started on the board"
    time.sleep(1)
    sshd.kill()
    t.join(timeout=120)
    assert not t.is_alive()
    err = result.get("err")
    assert isinstance(err, DeviceError), result
    assert "\n" not in str(err) and "bench.py" in str(err)
    assert not (ctx.out_dir / "bench.json").exists()
    with capsys.disabled():
        print(f"\n  server killed mid-benchmark -> DeviceError: {err}")


def _remote_bench_running(sshd) -> bool:
    try:
        kids = psutil.Process(sshd.proc.pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return False
    for p in kids:
        try:
            if any(a.endswith("bench.py") for a in p.cmdline()):
                return True
        except psutil.Error:
            continue
    return False

"""An emulated Raspberry Pi: an arm64 Debian rootfs run with qemu-user (notes/emulation.md).

- The rootfs is built once per machine with debootstrap (~5 min, ~320 MB) into a temp dir beside
  its final place and renamed there only after a marker file is written: an interrupted build is
  never trusted and is swept away by the next one.
- Commands run with `chroot`, the kernel's binfmt_misc handing every aarch64 ELF to
  qemu-aarch64-static (flag F: the interpreter is opened at registration, so it need not exist in
  the rootfs). Without binfmt only single-process Python runs work, through `qemu-aarch64-static -L`.
- LiteRT segfaults when it reads the host's x86 /proc/cpuinfo; the rootfs's /proc is left
  unmounted and holds a plain ARM cpuinfo file instead (QEMU's -L path mapping finds it too).
- Every command has a timeout; on expiry its whole process group is killed and DeviceError raised.
"""
from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import subprocess
import tempfile
import threading
import time
import zipfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from ..atomic import atomic_dir, write_text
from ..subprocs import collect, kill_group, last_line
from ..bundle.wheels import cache_home
from ..errors import DeviceError, PipelineError

MIRROR = "http://deb.debian.org/debian"
INCLUDE = "python3,python3-venv,python3-pip"
MARKER = ".pipeline-rootfs.json"
BUILD_TIMEOUT_S = 1800  # measured 5 min 20 s; 30 min covers a slow mirror, not a hang
QEMU = "qemu-aarch64-static"
BINFMT_DIR = Path("/proc/sys/fs/binfmt_misc")
HOST_CA = Path("/etc/ssl/certs/ca-certificates.crt")
GUEST_CA = "/etc/ssl/certs/pipeline-host-ca.crt"
GUEST_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

# /proc/cpuinfo as an arm64 kernel prints it, 4 cores; part 0xd08 = Cortex-A72, 0xd0b = Cortex-A76.
_CPU_PART = {"cortex-a72": ("0xd08", "0x0", "3", "fp asimd evtstrm crc32 cpuid"),
             "cortex-a76": ("0xd0b", "0x4", "1", "fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics "
                                                 "fphp asimdhp cpuid asimdrdm lrcpc dcpop asimddp")}


def cpuinfo_text(cpu: str, cores: int = 4) -> str:
    part, variant, revision, features = _CPU_PART.get(cpu, _CPU_PART["cortex-a72"])
    block = ("processor\t: {n}\nBogoMIPS\t: 108.00\nFeatures\t: {f}\nCPU implementer\t: 0x41\n"
             "CPU architecture: 8\nCPU variant\t: {v}\nCPU part\t: {p}\nCPU revision\t: {r}\n\n")
    return "".join(block.format(n=n, f=features, v=variant, p=part, r=revision) for n in range(cores))


def rootfs_dir(suite: str = "bookworm") -> Path:
    return cache_home() / "rootfs" / f"{suite}-arm64"


def _require_root(what: str) -> None:
    if os.geteuid() != 0:
        raise PipelineError(f"{what} needs root (debootstrap/chroot); run as root or in a container")


def _mounts_under(path: Path) -> list[str]:
    prefix = str(path.resolve())
    found = []
    with open("/proc/self/mounts") as f:
        for line in f:
            mnt = line.split()[1].replace("\\040", " ")
            if mnt == prefix or mnt.startswith(prefix + "/"):
                found.append(mnt)
    return sorted(found, key=len, reverse=True)


def remove_tree(path: Path) -> None:
    """rmtree that first unmounts what an interrupted debootstrap left mounted (its /proc, /sys):
    a plain rmtree would descend into the host's /proc and /sys through them."""
    for mnt in _mounts_under(path):
        subprocess.run(["umount", "-l", mnt], capture_output=True, timeout=60)
    if _mounts_under(path):
        raise PipelineError(f"{path} still has mounts under it; unmount them and delete it by hand")
    shutil.rmtree(path, ignore_errors=True)


@contextlib.contextmanager
def _lock(path: Path) -> Iterator[None]:
    """One builder per rootfs across processes (two `make run` at once wait for each other)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def binfmt_enabled() -> bool:
    entry = BINFMT_DIR / "qemu-aarch64"
    try:
        return entry.read_text().splitlines()[0].strip() == "enabled"
    except (OSError, IndexError):
        return False


def ensure_binfmt() -> bool:
    """Make the kernel run aarch64 ELFs through qemu-aarch64-static; False when that is impossible."""
    if binfmt_enabled():
        return True
    if os.geteuid() != 0:
        return False
    if not (BINFMT_DIR / "register").exists():
        subprocess.run(["mount", "-t", "binfmt_misc", "binfmt_misc", str(BINFMT_DIR)],
                       capture_output=True, timeout=30)
    if shutil.which("update-binfmts"):
        subprocess.run(["update-binfmts", "--enable", "qemu-aarch64"], capture_output=True, timeout=30)
    return binfmt_enabled()


def build_rootfs(suite: str = "bookworm", mirror: str = MIRROR, log: Callable[[str], None] | None = None,
                 timeout: float = BUILD_TIMEOUT_S) -> Path:
    """The cached rootfs for `suite`, built now if missing. Safe against interruption and races."""
    final = rootfs_dir(suite)
    if (final / MARKER).exists():
        return final
    _require_root("building the arm64 rootfs")
    for tool in ("debootstrap", QEMU):
        if not shutil.which(tool):
            raise PipelineError(f"'{tool}' not found: apt install debootstrap qemu-user-static binfmt-support")
    if not ensure_binfmt():
        raise PipelineError("cannot enable binfmt_misc for qemu-aarch64 (debootstrap's second stage runs "
                            "arm64 binaries): mount binfmt_misc and run `update-binfmts --enable qemu-aarch64`")
    with _lock(final.parent / f".{final.name}.lock"):
        if (final / MARKER).exists():
            return final
        for stale in final.parent.glob(f".{final.name}.*.tmp"):  # leftovers of killed builds
            remove_tree(stale)
        if final.exists():  # no marker: an untrusted leftover
            remove_tree(final)
        tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}.", suffix=".tmp", dir=final.parent))
        say = log or (lambda _m: None)
        say(f"building the arm64 Debian {suite} rootfs once for this machine (~5 min, ~320 MB) in {final}")
        start = time.monotonic()
        try:
            cmd = ["debootstrap", "--arch=arm64", "--variant=minbase", f"--include={INCLUDE}", suite,
                   str(tmp), mirror]
            _run_logged(cmd, timeout, say)
            if HOST_CA.exists():  # pip in the guest trusts the host's CA bundle (PIP_CERT)
                (tmp / GUEST_CA.lstrip("/")).parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(HOST_CA, tmp / GUEST_CA.lstrip("/"))
            info = {"suite": suite, "mirror": mirror, "include": INCLUDE, "build_seconds":
                    round(time.monotonic() - start, 1), "built": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
            write_text(tmp / MARKER, json.dumps(info, indent=2) + "\n")
            os.rename(tmp, final)
        except BaseException:
            remove_tree(tmp)
            raise
        say(f"rootfs ready in {time.monotonic() - start:.0f} s")
    return final


def _run_logged(cmd: list[str], timeout: float, say: Callable[[str], None]) -> None:
    """Run debootstrap, passing a status line every 25 of its 'I:' lines (it prints ~300).
    A timer kills it at the deadline even if it hangs without printing."""
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True)
    expired = threading.Event()

    def _expire() -> None:
        expired.set()
        kill_group(proc)

    timer = threading.Timer(timeout, _expire)
    timer.start()
    tail: list[str] = []
    try:
        assert proc.stdout is not None
        for n, line in enumerate(proc.stdout):
            tail = (tail + [line.strip()])[-5:]
            if n % 25 == 0 and line.startswith("I:"):
                say(f"debootstrap: {line[2:].strip()}")
        proc.wait()
    except BaseException:
        kill_group(proc)
        raise
    finally:
        timer.cancel()
    if expired.is_set():
        raise DeviceError(f"debootstrap did not finish within {timeout:.0f} s (killed)")
    if proc.returncode != 0:
        raise PipelineError(f"debootstrap failed (exit {proc.returncode}): {tail[-1] if tail else '?'}")


@dataclass
class Arm64:
    """Runs commands inside the rootfs as the emulated CPU `cpu` (QEMU_CPU, e.g. cortex-a72)."""

    root: Path
    cpu: str = "cortex-a72"

    def __post_init__(self) -> None:
        self.root = Path(self.root)
        if _mounts_under(self.root / "proc"):
            # a mounted /proc would hide the ARM cpuinfo and LiteRT would crash on the x86 one
            raise PipelineError(f"{self.root}/proc is mounted; unmount it (the emulator needs it empty)")
        cpuinfo = self.root / "proc" / "cpuinfo"
        want = cpuinfo_text(self.cpu)
        if not cpuinfo.exists() or cpuinfo.read_text() != want:
            write_text(cpuinfo, want)
        self.chroot = ensure_binfmt()

    def host_path(self, guest: str) -> Path:
        """Where a guest path (absolute, inside the rootfs) lives on the host."""
        return self.root / guest.lstrip("/")

    @contextlib.contextmanager
    def workdir(self) -> Iterator[tuple[str, Path]]:
        """A fresh directory inside the rootfs, removed afterwards: (guest path, host path)."""
        runs = self.root / "opt" / "pipeline" / "runs"
        runs.mkdir(parents=True, exist_ok=True)
        host = Path(tempfile.mkdtemp(prefix="run-", dir=runs))
        try:
            yield "/" + host.relative_to(self.root).as_posix(), host
        finally:
            shutil.rmtree(host, ignore_errors=True)

    def unpack_wheels(self, wheels: Path, guest_dir: str) -> str:
        """The no-binfmt fallback: install.sh cannot run (its shell spawns arm64 processes), so the
        wheels are unpacked on the host into a directory the emulated python gets as PYTHONPATH."""
        dest = self.host_path(guest_dir)
        if not (dest / ".complete").exists():
            with atomic_dir(dest) as tmp:
                for whl in sorted(Path(wheels).glob("*.whl")):
                    with zipfile.ZipFile(whl) as z:  # extract() strips absolute and '..' parts
                        for member in z.infolist():
                            if not member.filename.split("/", 1)[0].endswith(".data"):
                                z.extract(member, tmp)
                (tmp / ".complete").write_text("ok\n")
        return guest_dir

    @contextlib.contextmanager
    def locked(self, name: str) -> Iterator[None]:
        """Serialise work on one shared guest path (e.g. a cached venv) across processes."""
        with _lock(self.root / "opt" / "pipeline" / "locks" / f"{name}.lock"):
            yield

    def env(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        env = {"PATH": GUEST_PATH, "HOME": "/root", "LANG": "C.UTF-8", "QEMU_CPU": self.cpu,
               "PIP_CERT": GUEST_CA, "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
        env.update(extra or {})
        return env

    def argv(self, cmd: Sequence[str], cwd: str = "/", env: dict[str, str] | None = None) -> list[str]:
        if self.chroot:
            # env -i -C: a clean environment and working directory inside the chroot, no shell
            pairs = [f"{k}={v}" for k, v in self.env(env).items()]
            return ["chroot", str(self.root), "/usr/bin/env", "-i", "-C", cwd, *pairs, *cmd]
        if not cmd or not cmd[0].endswith(("python3", "python")):
            raise DeviceError("binfmt_misc is unavailable, so only Python programs can run in the emulator "
                              "(mount binfmt_misc and `update-binfmts --enable qemu-aarch64` as root)")
        # QEMU's -L maps a path into the rootfs only when it exists there, so a file about to be
        # created (an output) would land on the host's own /opt: pass such paths as host paths.
        args = [str(self.host_path(a)) if a.startswith("/") and self.host_path(a).parent.is_dir() else a
                for a in map(str, cmd[1:])]
        return [QEMU, "-cpu", self.cpu, "-L", str(self.root), str(self.host_path(cmd[0])), *args]

    def run(self, cmd: Sequence[str], *, timeout: float, what: str, cwd: str = "/",
            env: dict[str, str] | None = None, stdin: bytes | None = None,
            check: bool = True) -> subprocess.CompletedProcess:
        """Run `cmd` (argument list, no shell) in the rootfs; DeviceError on timeout (or failure)."""
        if os.geteuid() != 0 and self.chroot:
            _require_root("the emulated Pi")
        full = self.argv(cmd, cwd, env)
        host_env = self.env(env) if not self.chroot else {"PATH": os.environ.get("PATH", GUEST_PATH),
                                                           "QEMU_CPU": self.cpu}
        proc = subprocess.Popen(full, stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=host_env,
                                cwd=str(self.host_path(cwd)) if not self.chroot else None,
                                start_new_session=True)
        out, err = collect(proc, lambda: proc.communicate(stdin, timeout=timeout), lambda: DeviceError(
            f"emulated {self.cpu}: {what} did not finish within {timeout:.0f} s (killed)"))
        result = subprocess.CompletedProcess(full, proc.returncode, out, err)
        if check and proc.returncode != 0:
            raise DeviceError(f"emulated {self.cpu}: {what} failed (exit {proc.returncode}): {last_line(err)}")
        return result



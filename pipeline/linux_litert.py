"""The LiteRT bundle on a Linux box, over one of two transports: an emulator (the cached arm64
Debian rootfs under qemu-user) or ssh. Shared by the adapters that run it: linux-arm (a Pi), host
(its package), android (`--device emulator`, the phone's proxy); no adapter imports another.

package: the bundle (pipeline.bundle) in ctx.out_dir.
bench:   install the bundle with its own install.sh and run its bench.py on the device:
         `emulator` (cached arm64 Debian rootfs under qemu-user) or `ssh://user@host[:port]`.
run:     raw inference of any .tflite with the bundle's runner.py on the device.
Kernels: reference (BUILTIN_REF) by default in the emulator and for `run` — bit-exact with the host
and TFLM; XNNPACK by default on a real board, where latency is what is being measured.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from pathlib import Path
from typing import Any

from . import bundle
from .atomic import sha256_file, write_bytes, write_json
from .bundle.extract import extract_bundle
from .bundle.wheels import ensure_wheelhouse
from .errors import DeviceError, PipelineError, allowed_list
from .ssh import Ssh, SshTarget, remote_path

KERNELS = ("reference", "xnnpack")
INSTALL_TIMEOUT_S = 900  # measured 80 s (fresh venv, offline wheels, emulated, loaded 2-core host); a hang is killed
RUN_TIMEOUT_S = 600
REPORT_KEYS = ("device", "runtime", "latency", "accuracy", "memory")
# prints: machine, CPython version, and the install stamp of the venv given as argv[1] ('-' if none)
_PROBE = ("import os, platform, sys; p = sys.argv[1]; "
          "s = open(p).read().strip() if os.path.exists(p) else '-'; "
          "print(platform.machine(), '%d.%d' % sys.version_info[:2], s or '-')")


def package(ctx, inputs):
    convert, data = _need(inputs, "convert"), _need(inputs, "data")
    try:
        model_float = convert.path("model_float.tflite")
    except FileNotFoundError:
        model_float = None
    # The package stage's cache key holds no config section: bench.py keeps its built-in defaults
    # and the bench stage passes [bench] warmup/runs/inputs/threads on its command line.
    with ctx.progress.status(f"packaging the {ctx.target.id} bundle"):
        meta = bundle.build(ctx.out_dir, model_int8=convert.path("model_int8.tflite"),
                            dataset=data.path("dataset.npz"), meta=dict(data.meta), target_id=ctx.target.id,
                            model_float=model_float, threads=ctx.target.threads)
    return ctx.artifact(meta)


def bench(ctx, inputs):
    bundle_dir = _bundle_dir(ctx, inputs)
    opts, cfg = ctx.options, ctx.config.bench
    device = parse_device(opts.get("device"), ctx.target)
    emulated = device == "emulator"
    kernels = _kernels(opts.get("kernels") or ("reference" if emulated else "xnnpack"))
    args = ["--warmup", str(opts.get("warmup", cfg.warmup)), "--runs", str(opts.get("runs", cfg.runs)),
            "--inputs", str(cfg.inputs), "--threads", str(int(opts.get("threads") or cfg.threads)),
            "--kernels", kernels]
    timeout = float(opts.get("timeout_s") or cfg.timeout_s)
    if emulated:
        report = _bench_emulator(ctx, bundle_dir, args, timeout)
    else:
        report = _bench_ssh(ctx, bundle_dir, device, args, timeout)
    _check_report(report, device)
    from . import litert_exactness
    where = f"{ctx.target.id} ({'emulated' if emulated else device})"
    agreement = litert_exactness.check(report, bundle_dir, kernels, where,
                                       arm64_run=lambda q: _arm64_outputs(ctx, bundle_dir, q, kernels))
    report.pop("outputs")
    report["accuracy"] = {**report["accuracy"], "agreement": {"host": agreement}}
    write_json(ctx.out_dir / "bench.json", report)
    return ctx.artifact(meta=report)


def _arm64_outputs(ctx, bundle_dir: Path, q, kernels: str) -> list[bytes]:
    """Each input's output bytes from the bundle's model on arm64 LiteRT under qemu-user (the
    reference for XNNPACK on an arm64 device: the same NEON kernels)."""
    import tempfile

    import numpy as np
    model = bundle_dir / bundle.load_meta(bundle_dir)["model"]
    with tempfile.TemporaryDirectory(prefix="pipeline-ref-") as tmp:
        np.save(Path(tmp) / "x.npy", q)
        with ctx.progress.status(f"arm64 {kernels} reference outputs under qemu-user ({len(q)} inputs)"):
            _run_emulator(ctx.target, model, Path(tmp) / "x.npy", Path(tmp) / "y.npy", kernels, "1",
                          {"log": ctx.progress.log})
        y = np.load(Path(tmp) / "y.npy", allow_pickle=False)
    return [np.ascontiguousarray(y[i:i + 1]).tobytes() for i in range(len(y))]


def run_model(target, model, inputs, outputs, device, options):
    model, inputs, outputs = Path(model), Path(inputs), Path(outputs)
    options = dict(options or {})
    kernels = _kernels(options.get("kernels", "reference"))
    bundle.check_run_inputs(model, inputs, outputs)
    dev = parse_device(device, target)
    threads = str(int(options.get("threads") or 1))
    if dev == "emulator":
        _run_emulator(target, model, inputs, outputs, kernels, threads, options)
    else:
        _run_ssh(target, dev, model, inputs, outputs, kernels, threads, options)


# --- devices -------------------------------------------------------------------------------------

def parse_device(device: str | None, target) -> str | SshTarget:
    """'emulator' or an SshTarget; `None` means the target's default_device."""
    device = device or target.default_device
    if device in ("emulator", "qemu"):
        return "emulator"
    if device.startswith("ssh://"):
        return SshTarget.parse(device)
    raise PipelineError(f"device '{device}' is not usable for {target.id}; allowed: emulator, ssh://user@host[:port]")


def _kernels(value: str) -> str:
    if value not in KERNELS:
        raise PipelineError(f"kernels '{value}' unknown; allowed: {allowed_list(KERNELS)}")
    return value


def _need(inputs: dict, name: str):
    if name not in inputs:
        raise PipelineError(f"the linux-arm adapter needs the '{name}' artifact (got: {', '.join(inputs) or 'none'})")
    return inputs[name]


def _bundle_dir(ctx, inputs) -> Path:
    for art in inputs.values():
        if (art.dir / "bundle" / "bench.py").is_file():
            return art.dir / "bundle"
    # no package artifact (a bench called on its own): package into out_dir/.package
    if "convert" in inputs and "data" in inputs:
        scratch = ctx.out_dir / ".package"
        scratch.mkdir(parents=True, exist_ok=True)
        bundle.build(scratch, model_int8=inputs["convert"].path("model_int8.tflite"),
                     dataset=inputs["data"].path("dataset.npz"), meta=dict(inputs["data"].meta),
                     target_id=ctx.target.id, threads=ctx.target.threads)
        return scratch / "bundle"
    raise PipelineError("bench needs the 'package' artifact (a bundle/ with bench.py)")


def _check_report(report: Any, device) -> None:
    if not isinstance(report, dict) or any(k not in report for k in REPORT_KEYS):
        raise DeviceError(f"{device}: bench.json is incomplete (needs {', '.join(REPORT_KEYS)})")


def _guest_python(root: Path) -> str:
    """The rootfs's CPython version, e.g. '3.11' for bookworm (from its stdlib directory)."""
    found = sorted(p.parent.name[len("python"):] for p in (root / "usr" / "lib").glob("python3.*/os.py"))
    if not found:
        raise DeviceError(f"{root}: no python3 in the rootfs")
    return found[-1]


def _req_digest(bundle_dir: Path) -> str:
    return sha256_file(bundle_dir / "requirements.txt")[:12]


def _emulator(target, log):
    from . import tools
    from .emulators import arm64
    from .emulators.arm64 import Arm64, build_rootfs

    spec = target.emulator
    if spec is None or spec.kind != "qemu-user":
        raise PipelineError(f"target {target.id} has no [emulator] of kind qemu-user")
    # the tools first, by name and package: before root checks or a 5-minute rootfs build
    tools.require("qemu-aarch64-static")
    if not (arm64.rootfs_dir(spec.debian_suite or "bookworm") / arm64.MARKER).exists():
        tools.require("debootstrap")
    root = build_rootfs(spec.debian_suite or "bookworm", log=log)
    return Arm64(root, spec.cpu)


def _install_emulated(emu, bundle_host: Path, bundle_guest: str, log) -> tuple[list[str], dict, float]:
    """Install the runtime with the bundle's install.sh into a venv cached in the rootfs per
    requirements.txt (install.sh is a no-op when it is already there).
    Returns (python command, extra environment, seconds)."""
    wheels = ensure_wheelhouse("aarch64", _guest_python(emu.root), log=log)
    digest = _req_digest(bundle_host)
    start = time.monotonic()
    if not emu.chroot:
        log("binfmt_misc is unavailable: running the emulated python directly (qemu-aarch64-static -L) "
            "with the wheels unpacked on the host; install.sh is not exercised")
        site = emu.unpack_wheels(wheels, f"/opt/pipeline/sites/{digest}")
        return ["/usr/bin/python3"], {"PYTHONPATH": site}, time.monotonic() - start
    _link_tree(wheels, bundle_host / "wheels")
    venv = f"/opt/pipeline/venvs/{digest}"
    with emu.locked(f"venv-{digest}"):
        if not (emu.host_path(venv) / ".pipeline-installed").exists():
            log("installing the bundle runtime in the emulated Pi (offline wheels, ~1-2 min)")
        emu.run(["/bin/sh", f"{bundle_guest}/install.sh", "--venv", venv], timeout=INSTALL_TIMEOUT_S,
                what="install.sh")
    return [f"{venv}/bin/python"], {}, time.monotonic() - start


def _link_tree(src: Path, dest: Path) -> None:
    """Hard-link (same filesystem: instant) or copy the wheel files into dest."""
    dest.mkdir(parents=True, exist_ok=True)
    for f in src.iterdir():
        if f.is_file() and f.suffix == ".whl":
            try:
                os.link(f, dest / f.name)
            except OSError:
                shutil.copy2(f, dest / f.name)


def _bench_emulator(ctx, bundle_dir: Path, args: list[str], timeout: float) -> dict:
    log = ctx.progress.log
    emu = _emulator(ctx.target, log)
    with emu.workdir() as (guest, host):
        tarball = bundle_dir.parent / "bundle.tar.gz"
        if tarball.is_file():
            # The emulated Pi gets the archive a real board gets, unpacked with the same guards
            # (no links, no paths out of the destination, size limit): pipeline/bundle/extract.py.
            extract_bundle(tarball, host / "unpacked")
            rel = "unpacked/bundle"
        else:
            shutil.copytree(bundle_dir, host / "bundle", ignore=shutil.ignore_patterns(".venv", "wheels"))
            rel = "bundle"
        python, env, install_s = _install_emulated(emu, host / rel, f"{guest}/{rel}", log)
        start = time.monotonic()
        with ctx.progress.status(f"benchmarking on the emulated {ctx.target.id} ({emu.cpu}, qemu-user)"):
            emu.run([*python, f"{guest}/{rel}/bench.py", "--out", f"{guest}/bench.json",
                     "--device-kind", "emulated", "--transport", "qemu-user",
                     "--device-name", f"{ctx.target.name} [emulated: qemu-user {emu.cpu}]", *args],
                    timeout=timeout, what="bench.py", env=env)
        log(f"emulated {ctx.target.id}: install {install_s:.1f} s, benchmark {time.monotonic() - start:.1f} s")
        return _read_report(host / "bench.json", "emulator")


def _read_report(path: Path, device) -> dict:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as err:
        raise DeviceError(f"{device}: no readable bench.json ({err})") from None


def _ssh_client(target: SshTarget, options: dict) -> Ssh:
    return Ssh(target, known_hosts=options.get("known_hosts"), identity=options.get("identity_file"),
               accept_new_host_key=bool(options.get("accept_new_host_key", False)),
               connect_timeout=float(options.get("connect_timeout_s", 10)))


class _Deadline:
    """One overall time budget shared by every ssh step of a benchmark."""

    def __init__(self, seconds: float, device):
        self.end, self.seconds, self.device = time.monotonic() + seconds, seconds, device

    def left(self) -> float:
        left = self.end - time.monotonic()
        if left <= 0:
            raise DeviceError(f"{self.device}: overall timeout of {self.seconds:.0f} s reached")
        return left


def _prepare_ssh(ssh: Ssh, options: dict, trees: list[tuple[Path, str]], workdir: str,
                 deadline: _Deadline, log) -> str:
    """Probe the board, copy trees into workdir (+ the wheelhouse for its CPU when the runtime is
    not installed yet), run install.sh; returns the venv's python. The venv lives beside the work
    dirs, one per requirements.txt, so later runs and new bundles reuse it."""
    local_req = trees[0][0] / "requirements.txt"
    req_sha = sha256_file(local_req)
    venv = f"{_remote_root(options)}/venv-{req_sha[:12]}"
    probe = ssh.run(["python3", "-c", _PROBE, f"{venv}/.pipeline-installed"], timeout=deadline.left(),
                    what="probing python3")
    try:
        machine, python, stamp = probe.stdout.decode().split()
    except ValueError:
        raise DeviceError(f"{ssh.target}: unexpected answer from python3: {probe.stdout[:80]!r}") from None
    send = list(trees)
    if stamp != req_sha and options.get("offline_wheels", True):
        log(f"{ssh.target}: {machine} with Python {python}; sending the runtime wheels")
        send.append((ensure_wheelhouse(machine, python, log=log), "bundle/wheels"))
    ssh.put_tree(send, workdir, timeout=deadline.left())
    ssh.run(["sh", f"{workdir}/bundle/install.sh", "--venv", venv],
            timeout=min(deadline.left(), INSTALL_TIMEOUT_S), what="install.sh")
    return f"{venv}/bin/python"


def _remote_root(options: dict) -> str:
    """Everything on the board lives under this directory (relative: the login's home)."""
    return remote_path(str(options.get("remote_dir") or "pipeline"))


def _bench_ssh(ctx, bundle_dir: Path, target: SshTarget, args: list[str], timeout: float) -> dict:
    opts, log = ctx.options, ctx.progress.log
    ssh = _ssh_client(target, opts)
    deadline = _Deadline(timeout, target)
    digest = hashlib.sha256(b"".join(sha256_file(p).encode() for p in sorted(bundle_dir.rglob("*"))
                                      if p.is_file())).hexdigest()[:12]
    work = f"{_remote_root(opts)}/{ctx.target.id}-{digest}"
    with ctx.progress.status(f"installing the bundle on {target}"):
        python = _prepare_ssh(ssh, opts, [(bundle_dir, "bundle")], work, deadline, log)
    with ctx.progress.status(f"benchmarking on {target}"):
        ssh.run_script([["rm", "-f", "--", f"{work}/bench.json"],
                        [python, f"{work}/bundle/bench.py", "--out", f"{work}/bench.json",
                         "--device-kind", "physical", "--transport", "ssh", *args]],
                       timeout=deadline.left(), what="bench.py")
    raw = ssh.read_file(f"{work}/bench.json", timeout=deadline.left())
    try:
        return json.loads(raw)
    except ValueError:
        raise DeviceError(f"{target}: bench.json is not JSON") from None


def _raw_files(tree: Path, target_id: str, model: Path, inputs: Path) -> tuple[Path, Path]:
    """`tree/bundle` (runner.py and its installer) and `tree/io` (the model and inputs) for a raw run."""
    b, io_dir = tree / "bundle", tree / "io"
    b.mkdir()
    io_dir.mkdir()
    bundle.write_runner(b, target_id)
    (b / "requirements.txt").write_text(bundle.requirements_text())
    (b / "install.sh").write_text(bundle.render("install.sh"))
    shutil.copyfile(model, io_dir / "model.tflite")
    shutil.copyfile(inputs, io_dir / f"x{inputs.suffix}")
    return b, io_dir


def _raw_argv(python: list[str], root: str, inputs: Path, outputs: Path, kernels: str,
              threads: str) -> tuple[list[str], str]:
    """runner.py raw over the `_raw_files` tree as the device sees it at `root`; (argv, outputs path)."""
    out = f"{root}/io/y{outputs.suffix}"
    return [*python, f"{root}/bundle/runner.py", "raw", "--model", f"{root}/io/model.tflite",
            "--inputs", f"{root}/io/x{inputs.suffix}", "--outputs", out, "--kernels", kernels,
            "--threads", threads], out


def _run_emulator(target, model, inputs, outputs, kernels, threads, options) -> None:
    log = options.get("log") or (lambda _m: None)
    emu = _emulator(target, log)
    with emu.workdir() as (guest, host):
        b, _ = _raw_files(host, target.id, model, inputs)
        python, env, _ = _install_emulated(emu, b, f"{guest}/bundle", log)
        argv, out = _raw_argv(python, guest, inputs, outputs, kernels, threads)
        proc = emu.run(argv, timeout=float(options.get("timeout_s", RUN_TIMEOUT_S)),
                       what="runner.py raw", check=False, env=env)
        _runner_status(proc.returncode, proc.stderr, "emulator")
        write_bytes(outputs, emu.host_path(out).read_bytes())


def _run_ssh(target, dev: SshTarget, model, inputs, outputs, kernels, threads, options) -> None:
    import tempfile

    ssh = _ssh_client(dev, options)
    deadline = _Deadline(float(options.get("timeout_s", RUN_TIMEOUT_S + INSTALL_TIMEOUT_S)), dev)
    with tempfile.TemporaryDirectory(prefix="pipeline-run-") as tmp:
        b, io_dir = _raw_files(Path(tmp), target.id, model, inputs)
        rdir = f"{_remote_root(options)}/run"
        python = _prepare_ssh(ssh, options, [(b, "bundle"), (io_dir, "io")], rdir, deadline, lambda _m: None)
        argv, out = _raw_argv([python], rdir, inputs, outputs, kernels, threads)
        proc = ssh.run(argv, timeout=deadline.left(), what="runner.py raw", check=False)
        _runner_status(proc.returncode, proc.stderr, dev)
        write_bytes(outputs, ssh.read_file(out, timeout=deadline.left()))


def _runner_status(rc: int, stderr: bytes, device) -> None:
    from .subprocs import last_line

    if rc == 2:  # the runner's own usage errors (shape, dtype) are the user's to fix
        raise PipelineError(last_line(stderr).removeprefix("error: "))
    if rc != 0:
        raise DeviceError(f"{device}: runner.py failed (exit {rc}): {last_line(stderr)}")

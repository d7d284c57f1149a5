"""Talking to a board over OpenSSH: the system `ssh` binary, argument lists, no local shell.

- The remote side always gets a shell command line, so every remote argument is `shlex.quote`d.
- Host keys stay checked: StrictHostKeyChecking=yes unless the user opts in to `accept-new`
  (trust on first use) — never `no`. BatchMode=yes: no password prompt can hang a build.
- Files travel as a tar stream into `tar -x` on the board (no scp path re-parsing by a remote
  shell): any file name, including spaces, `;` and `$(...)`, arrives byte for byte.
- Every call has a timeout; ssh's exit status 255 (its own failures: refused, dropped, bad key)
  becomes a one-line DeviceError.
"""
from __future__ import annotations

import os
import shlex
import subprocess
import tarfile
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO
from urllib.parse import urlsplit

from .errors import DeviceError, PipelineError
from .subprocs import collect, last_line

SSH_FAILED = 255  # ssh's own exit status for connection/authentication errors


@dataclass(frozen=True)
class SshTarget:
    host: str
    user: str | None = None
    port: int = 22

    @classmethod
    def parse(cls, url: str) -> SshTarget:
        """ssh://[user@]host[:port] (IPv6 as ssh://user@[::1]:2222)."""
        parts = urlsplit(url)
        try:
            port = parts.port or 22
        except ValueError:
            raise PipelineError(f"device '{url}': bad port; expected ssh://user@host[:port]") from None
        if parts.scheme != "ssh" or not parts.hostname or parts.path not in ("", "/") or parts.query:
            raise PipelineError(f"device '{url}': expected ssh://user@host[:port]")
        for value in (parts.hostname, parts.username or ""):
            # these go to ssh as its destination argument: no option-looking or odd characters
            if value.startswith("-") or any(c.isspace() or c in "'\"\\;`$&|<>" for c in value):
                raise PipelineError(f"device '{url}': invalid user or host name")
        return cls(host=parts.hostname, user=parts.username, port=port)

    @property
    def destination(self) -> str:
        return f"{self.user}@{self.host}" if self.user else self.host

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"ssh://{self.user + '@' if self.user else ''}{host}:{self.port}"


def remote_command(argv: Sequence[str | os.PathLike]) -> str:
    """One remote shell command from an argument list, every argument quoted."""
    return " ".join(shlex.quote(os.fspath(a)) for a in argv)


def remote_path(path: str) -> str:
    """A relative remote path can't be read as an option: './-x', not '-x'."""
    return path if path.startswith(("/", "./", "~/")) else f"./{path}"


def _ssh_option_value(value: str) -> str:
    # ssh -o splits its value on whitespace unless double-quoted; a '"' cannot be expressed
    if '"' in value or "\n" in value:
        raise PipelineError(f"ssh option value {value!r} may not contain quotes or newlines")
    return f'"{value}"' if any(c.isspace() for c in value) else value


class Ssh:
    def __init__(self, target: SshTarget, *, known_hosts: str | Path | None = None,
                 identity: str | Path | None = None, accept_new_host_key: bool = False,
                 connect_timeout: float = 10, ssh_binary: str = "ssh"):
        self.target = target
        self.known_hosts = known_hosts
        self.identity = identity
        self.accept_new_host_key = accept_new_host_key
        self.connect_timeout = connect_timeout
        self.ssh_binary = ssh_binary

    def options(self) -> list[str]:
        opts = ["-o", "BatchMode=yes",
                "-o", f"StrictHostKeyChecking={'accept-new' if self.accept_new_host_key else 'yes'}",
                "-o", f"ConnectTimeout={int(self.connect_timeout)}",
                # a board that vanishes mid-run is noticed within ~15 s (3 probes 5 s apart)
                "-o", "ServerAliveInterval=5", "-o", "ServerAliveCountMax=3",
                "-o", "LogLevel=ERROR", "-p", str(self.target.port)]
        if self.known_hosts:
            opts += ["-o", f"UserKnownHostsFile={_ssh_option_value(os.fspath(self.known_hosts))}"]
        if self.identity:
            opts += ["-o", "IdentitiesOnly=yes", "-i", os.fspath(self.identity)]
        return opts

    def argv(self, remote: str) -> list[str]:
        return [self.ssh_binary, *self.options(), "--", self.target.destination, remote]

    def run(self, argv: Sequence[str | os.PathLike], *, timeout: float, what: str,
            feed: Callable[[IO[bytes]], None] | None = None, check: bool = True) -> subprocess.CompletedProcess:
        """Run one command on the board; `feed` writes its stdin (in a thread)."""
        return self.run_script([argv], timeout=timeout, what=what, feed=feed, check=check)

    def run_script(self, commands: Sequence[Sequence[str | os.PathLike]], *, timeout: float, what: str,
                   feed: Callable[[IO[bytes]], None] | None = None,
                   check: bool = True) -> subprocess.CompletedProcess:
        """Several commands joined with '&&' in one connection."""
        remote = " && ".join(remote_command(c) for c in commands)
        cmd = self.argv(remote)
        proc = subprocess.Popen(cmd, stdin=subprocess.PIPE if feed else subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
        feeder_error: list[BaseException] = []
        if feed:
            def _feed() -> None:
                try:
                    assert proc.stdin is not None
                    with proc.stdin:
                        feed(proc.stdin)
                except (BrokenPipeError, OSError) as err:  # the far end went away; ssh reports why
                    feeder_error.append(err)
            feeder = threading.Thread(target=_feed, daemon=True)
            feeder.start()
        out, err = collect(proc, lambda: _communicate(proc, timeout), lambda: DeviceError(
            f"{self.target}: {what} did not finish within {timeout:.0f} s (killed)"))
        if proc.returncode == SSH_FAILED:
            raise DeviceError(f"{self.target}: {what}: {self.describe(err)}")
        if check and proc.returncode != 0:
            raise DeviceError(f"{self.target}: {what} failed (exit {proc.returncode}): {last_line(err)}")
        return subprocess.CompletedProcess(cmd, proc.returncode, out, err)

    def describe(self, stderr: bytes) -> str:
        text = stderr.decode(errors="replace")
        if "Host key verification failed" in text or "REMOTE HOST IDENTIFICATION HAS CHANGED" in text:
            return ("host key verification failed: the board's host key is unknown or changed; check its "
                    "fingerprint and add it to known_hosts, or opt in with accept_new_host_key")
        if "Permission denied" in text:
            return f"authentication failed ({last_line(stderr)}); BatchMode is on, so use a key"
        if "closed by remote host" in text or "Connection reset" in text or "Broken pipe" in text \
                or "Timeout, server" in text or "connection closed" in text.lower():
            return f"connection lost ({last_line(stderr)})"
        return f"ssh failed: {last_line(stderr)}"

    def put_tree(self, trees: Sequence[tuple[Path, str]], remote_dir: str, *, timeout: float) -> None:
        """Copy local directories to remote_dir/<arcname> (replacing them) as one tar stream."""
        rdir = remote_path(remote_dir)

        def feed(pipe: IO[bytes]) -> None:
            with tarfile.open(fileobj=pipe, mode="w|", format=tarfile.PAX_FORMAT) as tar:
                for local, arcname in trees:
                    tar.add(str(local), arcname=arcname, recursive=True, filter=_skip_venvs)

        cleanup = [["rm", "-rf", "--", f"{rdir}/{arc}"] for _, arc in trees]
        self.run_script([["mkdir", "-p", "--", rdir], *cleanup, ["tar", "-x", "-f", "-", "-C", rdir]],
                        timeout=timeout, what="copying files", feed=feed)

    def read_file(self, path: str, *, timeout: float) -> bytes:
        return self.run(["cat", "--", remote_path(path)], timeout=timeout, what=f"reading {path}").stdout


def _skip_venvs(info: tarfile.TarInfo) -> tarfile.TarInfo | None:
    """A venv made by running install.sh locally is machine-specific: never ship it."""
    return None if ".venv" in info.name.split("/") else info


def _communicate(proc: subprocess.Popen, timeout: float) -> tuple[bytes, bytes]:
    # stdin is fed by our thread, so read stdout/stderr without communicate() touching stdin
    out_chunks: list[bytes] = []
    err_chunks: list[bytes] = []

    def drain(stream: IO[bytes], sink: list[bytes]) -> None:
        for chunk in iter(lambda: stream.read(65536), b""):
            sink.append(chunk)

    readers = [threading.Thread(target=drain, args=(proc.stdout, out_chunks), daemon=True),
               threading.Thread(target=drain, args=(proc.stderr, err_chunks), daemon=True)]
    for r in readers:
        r.start()
    proc.wait(timeout=timeout)
    for r in readers:
        r.join(timeout=10)
    return b"".join(out_chunks), b"".join(err_chunks)



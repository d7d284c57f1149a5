"""Safe extraction of a bundle tarball (what `install` on a board or a user unpacks).

Only regular files and directories, every member strictly inside the destination: absolute
paths, `..`, symlinks, hard links, devices and FIFOs are refused with a one-line PipelineError,
and nothing is written unless the whole archive passed the check (extracted into a temporary
sibling, renamed into place).
"""
from __future__ import annotations

import tarfile
from pathlib import Path, PurePosixPath

from ..atomic import atomic_dir
from ..errors import PipelineError

MAX_BUNDLE_BYTES = 512 * 1024 * 1024


def _check(member: tarfile.TarInfo, archive: Path) -> None:
    name = member.name
    p = PurePosixPath(name)
    if p.is_absolute() or name.startswith(("/", "\\")) or ".." in p.parts or "\\" in name or "\x00" in name:
        raise PipelineError(f"{archive}: refusing member '{name}': path escapes the destination")
    if not (member.isfile() or member.isdir()):
        kind = "link" if (member.issym() or member.islnk()) else "special file"
        raise PipelineError(f"{archive}: refusing member '{name}': {kind}s are not allowed in a bundle")


def extract_bundle(archive: Path | str, dest: Path | str) -> Path:
    archive, dest = Path(archive), Path(dest)
    try:
        with tarfile.open(archive, "r:*") as tar:
            members = tar.getmembers()
            total = 0
            for m in members:
                _check(m, archive)
                total += m.size
            if total > MAX_BUNDLE_BYTES:
                raise PipelineError(f"{archive}: {total} bytes unpacked is over the "
                                    f"{MAX_BUNDLE_BYTES >> 20} MB bundle limit")
            with atomic_dir(dest) as tmp:
                for m in members:
                    target = (tmp / m.name).resolve()
                    if not target.is_relative_to(tmp.resolve()):
                        raise PipelineError(f"{archive}: refusing member '{m.name}': path escapes the destination")
                    tar.extract(m, tmp, set_attrs=False, filter="data")
    except (tarfile.TarError, EOFError, OSError) as err:
        if isinstance(err, OSError) and not isinstance(err, tarfile.TarError) and err.errno in (28, 122):
            raise
        raise PipelineError(f"{archive}: not a readable bundle tarball: {' '.join(str(err).split())}") from None
    return dest

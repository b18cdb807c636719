"""Files the user asked nbtrack to write (exports, bundles): checked before any work, written
whole or not at all, and a failure is one error naming the file (never a temporary one)."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

from nbtrack.errors import NbtrackError, ValidationError


def check_output(path: Path, file_name: str) -> None:
    """Refuse an output path that cannot become a file (a directory, a path under a file, an
    unwritable folder) with a message naming it, before any work is done."""
    if path.is_dir():
        raise ValidationError(
            f"cannot export to {path}: it is a directory; give a file path, e.g. {path / file_name}"
        )
    folder = path.parent.absolute()
    while not folder.exists() and folder != folder.parent:  # the folders still to be made
        folder = folder.parent
    if not folder.is_dir():
        raise ValidationError(f"cannot export to {path}: {folder} is not a directory")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise ValidationError(f"cannot export to {path}: the directory {folder} is not writable")


@contextlib.contextmanager
def atomic_output(path: Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path`` to write, then move it into place; an
    operating-system failure becomes an error naming ``path``."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        yield tmp
        os.replace(tmp, path)
    except OSError as exc:
        reason = "it is a directory" if path.is_dir() else exc.strerror or type(exc).__name__
        raise NbtrackError(f"cannot write {path}: {reason}") from None
    finally:
        with contextlib.suppress(OSError):
            tmp.unlink()


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` whole or not at all."""
    with atomic_output(path) as tmp:
        tmp.write_bytes(data)

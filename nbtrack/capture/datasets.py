"""What ``log_input`` records of a dataset: its kind, content digest, schema, rows and source.

The digest of a DataFrame or an array is the hash the recorder keeps for a kernel variable
(:func:`nbtrack.capture.hashing.hash_value`), so a logged dataset is recognised in a run's
state; the digest of a file is its content hash, as for the files cells read (and as a blob's).
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from typing import Any

from nbtrack.capture.hashing import UNHASHABLE, hash_value
from nbtrack.capture.lineage import untracked
from nbtrack.errors import ValidationError

KINDS = ("dataframe", "array", "file")
_CHUNK = 1 << 20


@dataclass(frozen=True)
class Dataset:
    """A dataset as a run's input: ``schema`` is ``[{name, type}]`` for a table and
    ``{dtype, shape}`` for an array; ``rows`` the number of rows (first dimension)."""

    kind: str
    digest: str
    default_name: str
    schema: Any = None
    rows: int | None = None
    source: str | None = None
    size: int | None = None


def describe(data: Any) -> Dataset:
    """The :class:`Dataset` of a pandas DataFrame or Series, a numpy array or a file path;
    a clear ValidationError for anything else."""
    if isinstance(data, (str, os.PathLike)):
        return _file(os.fspath(data))
    pd = sys.modules.get("pandas")
    if pd is not None and isinstance(data, (pd.DataFrame, pd.Series)):
        frame = data.to_frame() if isinstance(data, pd.Series) else data
        schema = [{"name": str(c), "type": str(t)} for c, t in frame.dtypes.items()]
        digest = _digest(data)
        return Dataset("dataframe", digest, _named(digest), schema, int(len(frame)))
    np = sys.modules.get("numpy")
    if np is not None and isinstance(data, np.ndarray):
        digest = _digest(data)
        shape: dict[str, Any] = {"dtype": str(data.dtype), "shape": [int(n) for n in data.shape]}
        rows = int(data.shape[0]) if data.ndim else None
        return Dataset("array", digest, _named(digest), shape, rows)
    raise ValidationError(
        f"log_input takes a pandas DataFrame or Series, a numpy array or a file path, "
        f"not {type(data).__module__}.{type(data).__qualname__}"
    )


def _named(digest: str) -> str:
    return f"dataset-{digest[:8]}"


def _digest(data: Any) -> str:
    h = hash_value(data)
    if h.startswith(UNHASHABLE):
        raise ValidationError(
            f"cannot hash this {type(data).__name__} for log_input: {h[len(UNHASHABLE) :]}"
        )
    return h


def _file(path: str) -> Dataset:
    import xxhash

    full = os.path.abspath(os.path.expanduser(path))
    if os.path.isdir(full):
        raise ValidationError(f"input {path!r} is a directory; log_input takes a file")
    digest = xxhash.xxh3_128()  # equal to the content hash of the file's blob
    size = 0
    try:
        with untracked(), open(full, "rb") as f:  # not a read of the cell: an input
            while chunk := f.read(_CHUNK):
                digest.update(chunk)
                size += len(chunk)
    except OSError as exc:
        raise ValidationError(f"input {path!r} is not a readable file ({exc.strerror})") from None
    h = digest.hexdigest()
    return Dataset("file", h, os.path.basename(full), source=full, size=size)

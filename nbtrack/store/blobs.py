"""Content-addressed blobs on any fsspec filesystem: identical content is stored once."""

from __future__ import annotations

import contextlib
import os
import time
import uuid
from collections.abc import Iterator

import xxhash

from nbtrack.errors import NotFoundError, StoreError
from nbtrack.store.urls import mask_url

RETRIES = 4


def content_hash(data: bytes) -> str:
    return xxhash.xxh3_128_hexdigest(data)


class BlobStore:
    """Blobs at ``<root>/<h[:2]>/<h[2:]>``; written to a temporary name then moved into place,
    so a reader never sees half a blob and a run never points at one that was not written."""

    def __init__(self, url: str):
        import fsspec

        self.url = url
        self.shown = mask_url(url)  # for messages: a password in the URL is never shown
        self.fs, self.root = fsspec.core.url_to_fs(url)
        self.local = "file" in (
            self.fs.protocol if isinstance(self.fs.protocol, tuple) else (self.fs.protocol,)
        )
        self._known: set[str] = set()
        if self.local:
            try:
                os.makedirs(self.root, exist_ok=True)
            except OSError:
                pass  # a read-only store can still be read

    def _path(self, h: str) -> str:
        if len(h) != 32 or not all(c in "0123456789abcdef" for c in h):
            raise NotFoundError(f"not a blob hash: {h!r}")
        return f"{self.root}/{h[:2]}/{h[2:]}"

    def put(self, data: bytes) -> str:
        h = content_hash(data)
        if (
            h in self._known and not self.local
        ):  # locally a stat is cheap, and gc may have removed it
            return h
        path = self._path(h)
        if self.local:
            if not os.path.exists(path):
                if not os.path.isdir(
                    self.root
                ):  # store deleted or moved: do not recreate half of it
                    raise self._gone()
                tmp = f"{path}.{uuid.uuid4().hex}.tmp"
                try:
                    # not makedirs: a store moved meanwhile is not made again at the old path
                    with contextlib.suppress(FileExistsError):
                        os.mkdir(os.path.dirname(path))
                    with open(tmp, "wb") as f:
                        f.write(data)
                    os.replace(tmp, path)
                except BaseException as exc:  # disk full half-way: leave no partial file behind
                    try:
                        os.remove(tmp)
                    except OSError:
                        pass
                    if isinstance(exc, FileNotFoundError) and not os.path.isdir(self.root):
                        raise self._gone() from exc  # deleted or moved while this was written
                    raise
            else:  # reused: fresh again, so gc's grace period protects it until a row refers to it
                try:
                    os.utime(path)
                except OSError:
                    pass
        else:
            self._put_remote(path, data)
        self._known.add(h)
        return h

    def _gone(self) -> StoreError:
        return StoreError(f"the blob directory {self.root} is not there any more")

    def _put_remote(self, path: str, data: bytes) -> None:
        for attempt in range(RETRIES):
            try:
                if self.fs.exists(path):
                    return
                tmp = f"{path}.{uuid.uuid4().hex}.tmp"
                self.fs.pipe_file(tmp, data)
                self.fs.mv(tmp, path)
                return
            except (OSError, TimeoutError) as exc:
                if attempt == RETRIES - 1:
                    raise StoreError(f"could not write blob to {self.shown}: {exc}") from exc
                time.sleep(0.2 * 2**attempt)

    def get(self, h: str) -> bytes:
        path = self._path(h)
        try:
            if self.local:
                with open(path, "rb") as f:
                    return f.read()
            data: bytes = self.fs.cat_file(path)
            return data
        except FileNotFoundError:
            raise NotFoundError(f"blob {h} is missing from {self.shown}") from None

    def exists(self, h: str) -> bool:
        return bool(self.fs.exists(self._path(h)))

    def modified(self, h: str) -> float | None:
        """When the blob was last written (UNIX seconds), or None if this filesystem cannot tell."""
        path = self._path(h)
        try:
            if self.local:
                return os.stat(path).st_mtime
            return float(self.fs.modified(path).timestamp())
        except FileNotFoundError:
            raise NotFoundError(f"blob {h} is missing from {self.shown}") from None
        except (NotImplementedError, AttributeError, OSError, ValueError):
            return None

    def size(self, h: str) -> int:
        return int(self.fs.size(self._path(h)) or 0)

    def delete(self, h: str) -> int:
        path = self._path(h)
        size = self.fs.size(path)
        self.fs.rm(path)
        self._known.discard(h)
        return int(size or 0)

    def all_hashes(self) -> Iterator[str]:
        if not self.fs.exists(self.root):
            return
        for path in self.fs.find(self.root):
            parts = path.replace("\\", "/").rsplit("/", 2)
            if len(parts) == 3 and not parts[2].endswith(".tmp"):
                yield parts[1] + parts[2]

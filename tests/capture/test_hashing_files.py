"""File hashing after a cell is bounded (#18 finding 7): past NBTRACK_FILE_HASH_BYTES a file is
hashed over its head, size and mtime, marked partial."""

from __future__ import annotations

import os

from nbtrack.capture.lineage import PARTIAL, FileTracker
from nbtrack.store.blobs import content_hash


def test_a_file_past_the_limit_gets_a_partial_hash_of_head_size_and_mtime(tmp_path, monkeypatch):
    monkeypatch.setenv("NBTRACK_FILE_HASH_BYTES", str(1 << 20))
    path = tmp_path / "big.bin"
    path.write_bytes(b"a" * (3 << 20))
    tracker = FileTracker()
    h, size = tracker.file_hash(str(path))
    assert h.startswith(PARTIAL) and len(h) <= 64 and size == 3 << 20
    assert tracker.file_hash(str(path)) == (h, size)  # cached
    with open(path, "r+b") as f:  # the tail changes: seen through the mtime
        f.seek(2 << 20)
        f.write(b"b")
    os.utime(path, ns=(1, 1))
    assert FileTracker().file_hash(str(path))[0] != h


def test_a_file_within_the_limit_keeps_its_blob_hash(tmp_path, monkeypatch):
    monkeypatch.setenv("NBTRACK_FILE_HASH_BYTES", str(1 << 20))
    path = tmp_path / "small.bin"
    path.write_bytes(b"x" * (1 << 20))
    assert FileTracker().file_hash(str(path)) == (content_hash(b"x" * (1 << 20)), 1 << 20)

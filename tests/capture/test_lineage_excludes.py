"""What the file tracker leaves out: folders named after it started (a store opened in a
thread) and compiled modules, wherever they are (#19)."""

from __future__ import annotations

import os
from pathlib import Path

from nbtrack.capture.lineage import FileTracker


def test_a_folder_excluded_after_the_start_is_left_out_from_then_on(tmp_path):
    store = tmp_path / "store"
    store.mkdir()
    (store / "blob").write_text("b")
    (tmp_path / "data.csv").write_text("a,b")
    tracker = FileTracker()
    tracker.start()
    try:
        Path(store / "blob").read_text()
        Path(tmp_path / "data.csv").read_text()
        tracker.exclude_also([store, None, ""])
        assert tracker.take() == [(str(tmp_path / "data.csv"), "read")]
    finally:
        tracker.stop()


def test_compiled_modules_are_not_inputs_but_a_file_beside_them_is(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "mod.cpython-311.pyc").write_bytes(b"\0" * 16)
    (tmp_path / "notes.txt").write_text("n")
    tracker = FileTracker()
    tracker.start()
    try:
        Path("mod.cpython-311.pyc").read_bytes()
        with open(os.path.join(tmp_path, "notes.txt")) as f:
            f.read()
    finally:
        tracker.stop()
    assert tracker.take() == [(str(tmp_path / "notes.txt"), "read")]

"""The installed packages an environment records, read again after a distribution changes."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import pytest

from nbtrack.capture.environment import capture_environment

_changes = [0]


def install(site: Path, name: str, version: str) -> Path:
    dist = site / f"{name.replace('-', '_')}-{version}.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n\nA long description.\n"
    )
    # A directory changed seconds ago is never trusted to the cache: date each change a minute
    # back, one second apart, as a real install long ago would be.
    _changes[0] += 1
    past = time.time() - 60 + _changes[0]
    os.utime(site, (past, past))
    return dist


def test_a_distribution_installed_upgraded_or_removed_is_seen_by_the_next_capture(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = tmp_path / "site"
    site.mkdir()
    monkeypatch.syspath_prepend(str(site))
    old = install(site, "nbtrack-probe", "1.0")
    assert capture_environment()["packages"]["nbtrack-probe"] == "1.0"
    assert capture_environment()["packages"]["nbtrack-probe"] == "1.0"  # unchanged: same

    install(site, "nbtrack-other-probe", "0.3")
    assert capture_environment()["packages"]["nbtrack-other-probe"] == "0.3"

    (old / "METADATA").unlink()
    old.rmdir()
    install(site, "nbtrack-probe", "2.0")  # as pip upgrades: a new dist-info directory
    assert capture_environment()["packages"]["nbtrack-probe"] == "2.0"

    monkeypatch.setattr(sys, "path", [p for p in sys.path if p != str(site)])
    packages = capture_environment()["packages"]
    assert "nbtrack-probe" not in packages and "nbtrack-other-probe" not in packages


def test_memory_total_is_the_machines() -> None:
    psutil = pytest.importorskip("psutil")
    assert capture_environment()["memory_total"] == psutil.virtual_memory().total

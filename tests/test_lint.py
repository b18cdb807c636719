"""The house style's promises, checked in CI: ruff finds nothing and has nothing to format, mypy
type-checks the package (strictly for the store and query layers)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", *args], cwd=ROOT, capture_output=True, text=True, timeout=280
    )


def test_ruff_finds_nothing_in_the_code_tests_and_benchmarks() -> None:
    done = _run("ruff", "check", "nbtrack", "tests", "bench", "scripts")
    assert done.returncode == 0, done.stdout + done.stderr


def test_code_tests_and_benchmarks_are_formatted_by_ruff() -> None:
    done = _run("ruff", "format", "--check", "nbtrack", "tests", "bench", "scripts")
    assert done.returncode == 0, (
        "run: ruff format nbtrack tests bench scripts\n" + done.stdout + done.stderr
    )


@pytest.mark.slow
def test_mypy_finds_nothing_in_the_package() -> None:
    done = _run("mypy", "nbtrack")
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.slow
def test_mypy_strict_finds_nothing_in_the_store_and_query_layers() -> None:
    done = _run("mypy", "--strict", "nbtrack/store", "nbtrack/query")
    assert done.returncode == 0, done.stdout + done.stderr

"""Concurrent writers into one embedded store, briefly (bench/bench_reliability.py runs it for
60 s with 16 writers): every point, cell and artifact is stored exactly once."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))


def test_concurrent_writers_lose_and_duplicate_nothing(tmp_path):
    from bench_reliability import load_test

    result = load_test(seconds=6, n_scripts=5, n_kernels=1, work=tmp_path)
    assert result["problems"] == []
    assert result["points"] == result["expected_points"] > 0
    assert result["kernel_cells"] > 5 and result["artifacts"] > 0
    assert result["warnings"] == 0

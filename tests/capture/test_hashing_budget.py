"""The per-cell hashing budget (#18 finding 7): past it a value gets a budget-exceeded marker,
the hasher never lets BaseException out, and large containers carry on from where it stopped."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np

from nbtrack.capture.canonical.budget import Budget
from nbtrack.capture.hashing import StateHasher, hash_value

ROOT = Path(__file__).resolve().parents[2]


class Slow:
    def __init__(self, seconds: float) -> None:
        self.seconds = seconds

    def __reduce_ex__(self, protocol):
        time.sleep(self.seconds)
        return (Slow, (self.seconds,))


class RaisesBase:
    def __init__(self, exc: type[BaseException]) -> None:
        self.exc = exc

    def __reduce_ex__(self, protocol):
        raise self.exc("from the reducer")


def test_a_sleeping_reducer_is_cut_at_the_deadline():
    # in a fresh interpreter: pytest-timeout holds SIGALRM here, and the alarm stands aside then
    code = textwrap.dedent(
        """
        import json, time
        from nbtrack.capture.hashing import StateHasher
        class Slow:
            def __reduce_ex__(self, protocol):
                time.sleep(30)
                return (Slow, ())
        start = time.perf_counter()
        out = StateHasher().hash_namespace({"slow": Slow(), "other": Slow(), "x": 1}, None)
        print(json.dumps({"out": out, "elapsed": time.perf_counter() - start}))
        """
    )
    proc = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
        env=dict(os.environ, NBTRACK_HASH_SECONDS="0.3"),
    )
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    out = result["out"]
    assert out["slow"].startswith("unhashable:budget-exceeded"), out
    assert out["other"].startswith("unhashable:budget-exceeded"), out
    assert out["x"] == hash_value(1)
    assert result["elapsed"] < 20, "the sleeping reducer ran to its end"


def test_reducers_raising_system_exit_or_keyboard_interrupt_give_markers():
    for exc in (SystemExit, KeyboardInterrupt, GeneratorExit):
        h = hash_value(RaisesBase(exc))
        assert h.startswith("unhashable:") and exc.__name__ in h, h
        out = StateHasher().hash_namespace({"bad": RaisesBase(exc), "ok": [1]}, None)
        assert out["bad"].startswith("unhashable:") and out["ok"] == hash_value([1])


def test_class_property_raising_base_exception_gives_a_marker():
    class Liar:
        @property
        def __class__(self):  # type: ignore[override]
            raise SystemExit("no class")

    h = hash_value(Liar())  # never raises: a hash (type() is not fooled) or a marker
    assert isinstance(h, str) and (len(h) == 32 or h.startswith("unhashable:")), h


def test_a_byte_budget_marks_large_arrays_past_it(monkeypatch):
    monkeypatch.setenv("NBTRACK_HASH_BYTES", str(3 << 20))
    ns = {"a": np.zeros(1 << 18), "b": np.ones(1 << 18)}  # 2 MiB each
    out = StateHasher().hash_namespace(ns, None)
    marked = [k for k, v in out.items() if v.startswith("unhashable:budget-exceeded")]
    assert len(marked) == 1, out


def test_a_large_dict_past_the_budget_is_finished_by_later_cells(monkeypatch):
    monkeypatch.setenv("NBTRACK_HASH_SECONDS", "0.05")
    data = {f"k{i}": (i, str(i), i / 3) for i in range(400_000)}
    ns = {"data": data}
    hasher = StateHasher()
    results = [hasher.hash_namespace(ns, {"data"})["data"] for _ in range(200)]
    assert results[0].startswith("unhashable:budget-exceeded")
    assert results[-1] == hash_value(data), "never finished"


def test_the_budget_reads_its_settings_and_ignores_bad_ones(monkeypatch):
    monkeypatch.setenv("NBTRACK_HASH_SECONDS", "0.5")
    monkeypatch.setenv("NBTRACK_HASH_BYTES", "lots")
    b = Budget()
    assert b.seconds == 0.5 and b.nbytes == 4 << 30


def test_a_value_past_the_budget_is_not_hashed_again_after_every_cell(monkeypatch):
    # Given a namespace where one value alone takes past the budget, and a small variable after it
    monkeypatch.setenv("NBTRACK_HASH_SECONDS", "0.2")
    heavy = [Slow(0.1) for _ in range(4)]  # 0.4 s of reducers: past the budget on its own
    hasher = StateHasher()
    ns = {"heavy": heavy, "x": 1}
    first = hasher.hash_namespace(ns, None)
    assert "budget-exceeded" in first["heavy"]
    # When cells that do not touch it run (x rebound each time)
    for i in range(3):
        ns["x"] = i + 2
        start = time.perf_counter()
        out = hasher.hash_namespace(ns, {"x"})
        elapsed = time.perf_counter() - start
        # Then they cost nothing near the budget, and the marker stays
        assert elapsed < 0.1, elapsed
        assert out["heavy"] == first["heavy"] and out["x"] == hash_value(i + 2)
    # and a cell that touches it tries it again
    start = time.perf_counter()
    hasher.hash_namespace(ns, {"heavy"})
    assert time.perf_counter() - start >= 0.15


def test_values_the_budget_ran_out_before_are_hashed_the_next_cell(monkeypatch):
    # Given a heavy value hashed first, which uses up the budget before "later" is reached
    monkeypatch.setenv("NBTRACK_HASH_SECONDS", "0.2")
    hasher = StateHasher()
    later = Slow(0.0)  # an object: its reducer is not called past the deadline
    ns = {"heavy": [Slow(0.1) for _ in range(4)], "later": later}
    first = hasher.hash_namespace(ns, None)
    assert "budget-exceeded" in first["later"]
    # When the next cell touches neither
    out = hasher.hash_namespace(ns, set())
    # Then "later", never really tried, gets its hash; "heavy" keeps its marker
    assert out["later"] == hash_value(later)
    assert "budget-exceeded" in out["heavy"]


def test_a_matplotlib_figure_is_a_plot_not_data():
    import matplotlib

    matplotlib.use("agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    ax.plot(np.arange(1000), np.arange(1000) ** 2)
    start = time.perf_counter()
    hashes = StateHasher().hash_namespace({"fig": fig, "ax": ax, "n": 3}, None)
    assert time.perf_counter() - start < 0.5
    assert "a plot, not data" in hashes["fig"] and "a plot, not data" in hashes["ax"]
    assert hashes["n"] == hash_value(3)
    plt.close(fig)

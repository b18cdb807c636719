"""Replay start-up and ``%load_ext nbtrack``, each beside its baseline in the same run (#19).

    python bench/bench_replay_startup.py [--repeats 3] [--label after]

1. A 200-small-cell notebook (and the 17-cell least-squares notebook of bench_replay.py):
   executed top to bottom by nbclient in a fresh kernel (plain), then replayed by
   ``replay_run`` (fresh kernel, recording, state compared), interleaved. The replay is split
   into its phases: before the kernel (reading the run, the environment diff), the kernel's
   set-up (``%load_ext`` + ``start_run``), the cells, the tear-down (``end_run``) and after it
   (reading the replay, comparing).
2. ``%load_ext nbtrack`` in a fresh kernel: the round trip of the magic beside a ``pass``
   cell in the same kernel.
3. Cells that import packages: ``import <pkg>`` in a fresh kernel with nbtrack loaded
   against one without, interleaved.

Figures go to ``## Replay start-up and %load_ext`` of bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import nbformat

sys.path.insert(0, str(Path(__file__).parent))
from bench_replay import CELLS as LSTSQ_CELLS  # noqa: E402
from results import machine_line, write_section  # noqa: E402

TITLE = "Replay start-up and %load_ext"
SMALL_CELLS = [
    "%load_ext nbtrack",
    *[f"v{i} = {i} * 2\nt{i} = (v{i}, 'x{i}')" for i in range(199)],
]
IMPORTS = ["import pandas", "import scipy.stats", "import sklearn.linear_model"]


def plain(path: Path) -> float:
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    t = time.perf_counter()
    NotebookClient(nb, resources={"metadata": {"path": str(path.parent)}}).execute()
    return time.perf_counter() - t


class Phases:
    """Times replay_run's phases by wrapping the functions it calls (bench-only)."""

    def __init__(self) -> None:
        from nbtrack.reproduce import execute, replay

        self.marks: dict[str, float] = {}
        orig_exec, orig_silent = execute.execute_notebook, execute._silent
        marks = self.marks

        def execute_notebook(*a: Any, **k: Any) -> Any:
            marks["exec_start"] = time.perf_counter()
            try:
                return orig_exec(*a, **k)
            finally:
                marks["exec_end"] = time.perf_counter()

        async def silent(kc: Any, code: str, what: str) -> None:
            t = time.perf_counter()
            marks.setdefault("kernel_ready", t)
            await orig_silent(kc, code, what)
            marks[f"{what}_start"], marks[f"{what}_end"] = t, time.perf_counter()

        execute.execute_notebook = execute_notebook
        execute._silent = silent
        replay.execute_notebook = execute_notebook  # if imported by name

    def run(self, run_id: str, store: Any) -> dict[str, float]:
        from nbtrack.reproduce.replay import replay_run

        self.marks.clear()
        t0 = time.perf_counter()
        report = replay_run(run_id, store, progress=False)
        t1 = time.perf_counter()
        assert report.reproduced, report
        m = self.marks
        return {
            "total": t1 - t0,
            "before kernel": m["exec_start"] - t0,
            "kernel start": m["kernel_ready"] - m["exec_start"],
            "set-up": m["set-up_end"] - m["set-up_start"],
            "cells": m["tear-down_start"] - m["set-up_end"],
            "tear-down": m["tear-down_end"] - m["tear-down_start"],
            "kernel stop": m["exec_end"] - m["tear-down_end"],
            "after kernel": t1 - m["exec_end"],
        }


def replay_case(name: str, cells: list[str], tmp: str, repeats: int, phases: Phases) -> dict:
    from nbtrack.reproduce.execute import run_notebook
    from nbtrack.store import open_store

    store_url = os.path.join(tmp, "store")
    path = Path(tmp) / f"{name}.ipynb"
    nbformat.write(
        nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells]), path
    )
    run_id, ok = run_notebook(str(path), store_url=store_url)
    assert ok
    store = open_store(store_url)
    base, reps = [], []
    for _ in range(repeats):  # interleaved so both see the same machine
        base.append(plain(path))
        reps.append(phases.run(run_id, store))
    med = {k: statistics.median(r[k] for r in reps) for k in reps[0]}
    return {"name": name, "n_cells": len(cells), "plain": statistics.median(base), **med}


def kernel_round_trips(setup: list[str], timed: list[str]) -> list[float]:
    """Round-trip seconds of each of ``timed`` in a fresh kernel after ``setup``."""
    from jupyter_client.manager import start_new_kernel

    km, kc = start_new_kernel(
        kernel_name="python3", extra_arguments=["--IPKernelApp.log_level=ERROR"]
    )
    try:
        for code in setup:
            kc.execute_interactive(code, timeout=120, output_hook=lambda m: None)
        out = []
        for code in timed:
            t = time.perf_counter()
            reply = kc.execute_interactive(code, timeout=120, output_hook=lambda m: None)
            out.append(time.perf_counter() - t)
            assert reply["content"]["status"] == "ok", reply["content"]
        return out
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


HOOKS = """
import os, sys, tempfile, time
os.environ["NBTRACK_STORE"] = tempfile.mkdtemp() + "/store"
from IPython.testing.globalipapp import start_ipython
ip = start_ipython()
ip.run_line_magic("load_ext", "nbtrack")
ip.run_cell("x = 1")
from nbtrack.recording.session import _sessions
for s in _sessions.values():
    s.environment(30)  # the session's environment thread is done: the cells alone
spent = [0.0]
trigger = ip.events.trigger
def timed(name, *a, **k):
    t = time.perf_counter()
    try:
        return trigger(name, *a, **k)
    finally:
        spent[0] += time.perf_counter() - t
ip.events.trigger = timed
for code in CODES:
    spent[0] = 0.0
    t = time.perf_counter()
    ip.run_cell(code)
    print(repr((code, time.perf_counter() - t, spent[0])))
"""


def hooks(repeats: int) -> str:
    """In one IPython shell with nbtrack loaded: each import cell's time and the time of the
    pre/post cell events (nbtrack's hooks) within it."""
    import ast
    import subprocess

    codes = ["import json", *IMPORTS, "y = 2"]
    rows: dict[str, list[tuple[float, float]]] = {c: [] for c in codes}
    for _ in range(repeats):
        out = subprocess.run(
            [sys.executable, "-c", f"CODES = {codes!r}\n{HOOKS}"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        for line in out.splitlines():
            code, cell, hook = ast.literal_eval(line)
            rows[code].append((cell, hook))
    return "\n".join(
        f"| `{code}` | {statistics.median(c for c, _ in v) * 1000:.0f} ms | "
        f"{statistics.median(h for _, h in v) * 1000:.1f} ms |"
        for code, v in rows.items()
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--label", default="after")
    parser.add_argument("--hooks-only", action="store_true")
    args = parser.parse_args()
    if args.hooks_only:
        body = f"""{machine_line("bench_replay_startup.py --hooks-only")} Medians of {args.repeats}
shells. Import cells in an IPython shell with nbtrack loaded (its environment thread finished),
and the part of each spent in the pre/post cell events, i.e. nbtrack's hooks:

| cell | cell | nbtrack's hooks |
|---|---|---|
{hooks(args.repeats)}
"""
        write_section("Import cells (nbtrack's hooks)", body)
        print(body)
        return
    header = machine_line("bench_replay_startup.py")
    phases = Phases()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["NBTRACK_STORE"] = os.path.join(tmp, "store")
        for name, cells in (("small200", SMALL_CELLS), ("lstsq", LSTSQ_CELLS)):
            sub = os.path.join(tmp, name)
            os.makedirs(sub)
            os.environ["NBTRACK_STORE"] = os.path.join(sub, "store")
            rows.append(replay_case(name, cells, sub, args.repeats, phases))
            print(rows[-1], flush=True)
        load, passes = [], []
        imports: dict[str, list[tuple[float, float]]] = {c: [] for c in IMPORTS}
        for _ in range(args.repeats):
            p, ld, _p2 = kernel_round_trips(["pass"], ["pass", "%load_ext nbtrack", "pass"])
            passes.append(p)
            load.append(ld)
            for code in IMPORTS:
                (bare,) = kernel_round_trips(["pass"], [code])
                (tracked,) = kernel_round_trips(["%load_ext nbtrack", "x = 1"], [code])
                imports[code].append((bare, tracked))
        print("load", load, "pass", passes, imports, flush=True)
    keys = [
        "before kernel",
        "kernel start",
        "set-up",
        "cells",
        "tear-down",
        "kernel stop",
        "after kernel",
    ]
    table = "\n".join(
        f"| {r['name']} ({r['n_cells']} cells) | {r['plain']:.2f} s | {r['total']:.2f} s | "
        f"{r['total'] / r['plain']:.2f}x | " + " | ".join(f"{r[k] * 1000:.0f}" for k in keys) + " |"
        for r in rows
    )
    imp = "\n".join(
        f"| `{code}` | {statistics.median(b for b, _ in v) * 1000:.0f} ms | "
        f"{statistics.median(t for _, t in v) * 1000:.0f} ms | "
        f"{(statistics.median(t for _, t in v) - statistics.median(b for b, _ in v)) * 1000:+.0f} ms |"
        for code, v in imports.items()
    )
    body = f"""{header} Label: {args.label}; medians of {args.repeats}, modes interleaved.

Replay against plain nbclient execution of the same notebook, and where the replay's time goes
(ms: before the kernel = reading the run and the environment diff in the calling process;
set-up = `%load_ext nbtrack` + `start_run` in the kernel; tear-down = `end_run`; after = reading
the replay and comparing):

| notebook | plain nbclient | replay | ratio | {" | ".join(keys)} |
|---|---|---|---|{"---|" * len(keys)}
{table}

`%load_ext nbtrack` in a fresh kernel: {statistics.median(load) * 1000:.0f} ms round trip
(a `pass` cell in the same kernel: {statistics.median(passes) * 1000:.1f} ms).

Cells that import packages, each the first cell after start-up in a fresh kernel:

| cell | plain kernel | nbtrack loaded | added |
|---|---|---|---|
{imp}
"""
    write_section(TITLE, body)
    print(body)


if __name__ == "__main__":
    main()

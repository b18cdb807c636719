"""Where a corpus notebook's replay spends its time beside a plain run (#19).

    cd bench && ../.venv/bin/python bench_replay_phases.py [notebook ...]

For each statsmodels notebook of bench/corpus (default: three short ones): one ``nbtrack run``,
then, interleaved ``BENCH_REPEATS`` times (default 2): a plain top-to-bottom execution of the
notebook through the same nbclient path (no set-up, no tear-down, the kernel's graceful exit
waited for, as nbclient does) and ``replay_run`` of the recorded run as it was before (#19:
``%load_ext nbtrack`` sent once the kernel is up, its exit waited for) and as it is now (the
kernel loads nbtrack while it starts, and exits while the verdict is computed), each split into
phases: kernel start, set-up (loading nbtrack + ``start_run``), cells, tear-down (``end_run``),
shut-down (until ``replay_run`` goes on), and the total until the verdict is returned. "Kernel
gone" is when the kernel process has exited (the replay's exit thread joined). "CPU" is the
replaying process's own CPU time. Figures go to ``## Replay phases on the corpus`` of
bench/RESULTS.md."""

from __future__ import annotations

import os
import shutil
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import nbformat
from results import machine_line, write_section

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import nbtrack.reproduce.execute as execute  # noqa: E402
from nbtrack.reproduce.replay import replay_run  # noqa: E402
from nbtrack.store import open_store  # noqa: E402

CORPUS = Path(__file__).parent / "corpus"
REPEATS = int(os.environ.get("BENCH_REPEATS", "2"))
DEFAULT = ["categorical_interaction_plot", "glm_formula", "count_hurdle"]
PHASES = ("start", "set-up", "cells", "tear-down", "shut-down")
KINDS = ("plain", "replay before", "replay after")


class Phases:
    """Timestamps of one execute_notebook call (kernel ready, set-up and tear-down done);
    ``before`` makes it run as replays ran before #19's start-up and exit changes."""

    def __init__(self) -> None:
        self.marks: dict[str, float] = {}
        self.before = False
        orig_execute, orig_silent = execute.execute_notebook, execute._silent

        def timed_execute(nb: Any, **kw: Any) -> bool:
            self.marks = {"begin": time.perf_counter()}
            ready = kw.get("on_ready")
            if self.before:
                kw["extensions"], kw["exit_in_background"] = (), False
                kw["setup"] = kw["setup"].replace(execute.LOAD_NBTRACK, "%load_ext nbtrack")
                teardown = kw["teardown"]  # and the kernel's exit tore the interpreter down
                kw["teardown"] = lambda ok: teardown(ok).replace(execute.QUICK_EXIT, "")

            def on_ready() -> None:
                self.marks["ready"] = time.perf_counter()
                if ready is not None:
                    ready()
                self.marks["cells"] = time.perf_counter()

            kw["on_ready"] = on_ready
            try:
                return orig_execute(nb, **kw)
            finally:
                self.marks["end"] = time.perf_counter()

        async def timed_silent(kc: Any, code: str, what: str) -> None:
            self.marks.setdefault(what + "<", time.perf_counter())
            await orig_silent(kc, code, what)
            self.marks[what + ">"] = time.perf_counter()

        execute.execute_notebook = timed_execute
        execute._silent = timed_silent

    def split(self) -> dict[str, float]:
        m = self.marks
        setup_start = m.get("set-up<", m["ready"])
        return {
            "start": setup_start - m["begin"],
            "set-up": m["ready"] - setup_start,
            "cells": m["tear-down<"] - m["cells"],
            "tear-down": m["tear-down>"] - m["tear-down<"],
            "shut-down": m["end"] - m["tear-down>"],
        }


def plain(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    execute.execute_notebook(
        nb, cwd=str(path.parent), env={}, setup="", teardown=lambda ok: "pass", allow_errors=True
    )


def kernel_gone() -> None:
    """Wait for the replay's kernel to have exited (its exit thread, if any)."""
    for t in threading.enumerate():
        if t.name == "nbtrack-kernel-exit":
            t.join()


def main(names: list[str]) -> None:
    header = machine_line("bench_replay_phases.py")
    phases = Phases()
    rows = []
    with tempfile.TemporaryDirectory(prefix="nbtrack-phases-") as tmp:
        for name in names:
            path = Path(tmp) / f"{name}.ipynb"
            shutil.copy(CORPUS / f"{name}.ipynb", path)
            store = open_store(str(Path(tmp) / f"store-{name}"))
            run_id, ok = execute.run_notebook(str(path), store_url=store.url)
            assert ok, f"{name} failed under nbtrack run"
            kernel_gone()
            got: dict[str, list[dict[str, float]]] = {k: [] for k in KINDS}
            for i in range(REPEATS):
                order = KINDS if i % 2 == 0 else (KINDS[0], KINDS[2], KINDS[1])
                for kind in order:
                    phases.before = kind == "replay before"
                    c, t = time.process_time(), time.perf_counter()
                    if kind == "plain":
                        plain(path)
                    else:
                        report = replay_run(run_id, store, progress=False)
                        assert report.reproduced is not None
                    total = time.perf_counter() - t
                    cpu = time.process_time() - c
                    kernel_gone()
                    got[kind].append(
                        {
                            **phases.split(),
                            "total": total,
                            "gone": time.perf_counter() - t,
                            "cpu": cpu,
                        }
                    )
            med = {k: {p: statistics.median(r[p] for r in v) for p in v[0]} for k, v in got.items()}
            rows.append((name, med))
            print(name, {k: {p: round(x, 2) for p, x in v.items()} for k, v in med.items()})
    columns = (*PHASES, "total", "gone", "cpu")
    lines = [
        "| notebook | | "
        + " | ".join(PHASES)
        + " | total (verdict) | kernel gone | CPU | total / plain |",
        "|---|---|" + "---|" * (len(columns) + 1),
    ]
    ratios: dict[str, list[float]] = {k: [] for k in KINDS[1:]}
    for name, med in rows:
        for kind in KINDS:
            cells = " | ".join(f"{med[kind][p]:.2f} s" for p in columns)
            ratio = med[kind]["total"] / med["plain"]["total"]
            if kind != "plain":
                ratios[kind].append(ratio)
            label = name if kind == "plain" else ""
            lines.append(f"| {label} | {kind} | {cells} | {ratio:.2f}x |")
    summary = "; ".join(
        f"{k}: median {statistics.median(v):.2f}x, worst {max(v):.2f}x" for k, v in ratios.items()
    )
    intro = __doc__.split(chr(10) + chr(10), 2)[2].split("Figures go")[0].strip()
    body = f"""{header}

{intro} Medians of {REPEATS}.

{chr(10).join(lines)}

Total / plain, {summary}.
"""
    write_section("Replay phases on the corpus", body)


if __name__ == "__main__":
    main(sys.argv[1:] or DEFAULT)

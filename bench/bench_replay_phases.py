"""Where a corpus notebook's replay spends its time beside a plain run (#19).

    cd bench && ../.venv/bin/python bench_replay_phases.py [notebook ...]

For each statsmodels notebook of bench/corpus (default: three short ones): one ``nbtrack run``,
then, interleaved ``BENCH_REPEATS`` times (default 2): a plain top-to-bottom execution of the
notebook through the same nbclient path (no set-up, no tear-down) and ``replay_run`` of the
recorded run, each split into phases: kernel start, set-up (``%load_ext`` + ``start_run``),
cells, tear-down (``end_run``), kernel shut-down. "Replay CPU" is the CPU time of the replaying
process itself (its drift thread runs while the kernel starts and competes with it on a loaded
machine), with the imported-distributions lookup as ``importlib.metadata.packages_distributions``
did it (before) and as ``nbtrack.reproduce.imports.distributions_of`` does it (after).
Figures go to ``## Replay phases on the corpus`` of bench/RESULTS.md."""

from __future__ import annotations

import os
import shutil
import statistics
import sys
import tempfile
import time
from importlib import metadata
from pathlib import Path
from typing import Any

import nbformat
from results import machine_line, write_section

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import nbtrack.reproduce.execute as execute  # noqa: E402
import nbtrack.reproduce.imports as imports  # noqa: E402
from nbtrack.reproduce.replay import replay_run  # noqa: E402
from nbtrack.store import open_store  # noqa: E402

CORPUS = Path(__file__).parent / "corpus"
REPEATS = int(os.environ.get("BENCH_REPEATS", "2"))
DEFAULT = ["categorical_interaction_plot", "glm_formula", "count_hurdle"]
PHASES = ("start", "set-up", "cells", "tear-down", "shut-down")


class Phases:
    """Timestamps of one execute_notebook call (kernel ready, set-up and tear-down done)."""

    def __init__(self) -> None:
        self.marks: dict[str, float] = {}
        orig_execute, orig_silent = execute.execute_notebook, execute._silent

        def timed_execute(nb: Any, **kw: Any) -> bool:
            self.marks = {"begin": time.perf_counter()}
            ready = kw.get("on_ready")

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


def main(names: list[str]) -> None:
    header = machine_line("bench_replay_phases.py")
    phases = Phases()
    new_lookup = imports.distributions_of

    def old_lookup(modules: set[str]) -> dict[str, list[str]]:
        return {k: list(v) for k, v in metadata.packages_distributions().items()}

    rows = []
    with tempfile.TemporaryDirectory(prefix="nbtrack-phases-") as tmp:
        for name in names:
            path = Path(tmp) / f"{name}.ipynb"
            shutil.copy(CORPUS / f"{name}.ipynb", path)
            store = open_store(str(Path(tmp) / f"store-{name}"))
            run_id, ok = execute.run_notebook(str(path), store_url=store.url)
            assert ok, f"{name} failed under nbtrack run"
            got: dict[str, list[dict[str, float]]] = {"plain": [], "replay": []}
            cpu: dict[str, list[float]] = {"before": [], "after": []}
            for i in range(REPEATS):
                t = time.perf_counter()
                plain(path)
                got["plain"].append({**phases.split(), "total": time.perf_counter() - t})
                for which in ("before", "after") if i % 2 == 0 else ("after", "before"):
                    imports.distributions_of = new_lookup if which == "after" else old_lookup
                    c, t = time.process_time(), time.perf_counter()
                    replay_run(run_id, store, progress=False)
                    cpu[which].append(time.process_time() - c)
                    if which == "after":
                        got["replay"].append({**phases.split(), "total": time.perf_counter() - t})
            imports.distributions_of = new_lookup
            med = {
                k: {p: statistics.median(r[p] for r in v) for p in (*PHASES, "total")}
                for k, v in got.items()
            }
            rows.append((name, med, {k: statistics.median(v) for k, v in cpu.items()}))
            print(name, med, cpu, flush=True)
    lines = [
        "| notebook | | " + " | ".join(PHASES) + " | total | replay CPU, before → after |",
        "|---|---|" + "---|" * (len(PHASES) + 2),
    ]
    for name, med, cpu_med in rows:
        for kind in ("plain", "replay"):
            cells = " | ".join(f"{med[kind][p]:.2f} s" for p in (*PHASES, "total"))
            extra = (
                f"{cpu_med['before']:.2f} s → {cpu_med['after']:.2f} s" if kind == "replay" else ""
            )
            lines.append(f"| {name if kind == 'plain' else ''} | {kind} | {cells} | {extra} |")
    body = f"""{header}

{__doc__.split(chr(10) + chr(10), 2)[2].split("Figures go")[0].strip()} Medians of {REPEATS}.

{chr(10).join(lines)}
"""
    write_section("Replay phases on the corpus", body)


if __name__ == "__main__":
    main(sys.argv[1:] or DEFAULT)

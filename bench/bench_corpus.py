"""Per-cell cost and replay on a corpus of real third-party notebooks (#19): the statsmodels
example notebooks in bench/corpus/ (see its README), each executed cell by cell in two fresh
kernels side by side, one plain and one with ``%load_ext nbtrack``, interleaved cell by cell so
both see the same machine; then, for every notebook whose plain run takes over 1 s, a plain
top-to-bottom nbclient execution beside ``nbtrack replay`` of the same notebook's recorded run.

    pip install statsmodels  # the corpus's own dependency (numpy, scipy, pandas come with it)
    python bench/bench_corpus.py [NAME ...]

Writes the ``## Real-notebook corpus`` section of bench/RESULTS.md (other sections are left alone).
"""

from __future__ import annotations

import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from bench_core import Kernel
from results import machine_line, write_section

CORPUS = Path(__file__).parent / "corpus"
SECTION = "Real-notebook corpus"
REPEATS = int(os.environ.get("BENCH_REPEATS", "1"))


def code_cells(path: Path) -> list[str]:
    nb = nbformat.read(path, as_version=4)
    return [c.source for c in nb.cells if c.cell_type == "code" and c.source.strip()]


def per_cell(path: Path, workdir: Path, store: str) -> list[tuple[float, float]]:
    """(plain, tracked) round trip of each of the notebook's cells, in fresh kernels."""
    env = {"MPLBACKEND": "agg"}
    cwd = os.getcwd()
    os.chdir(workdir)  # the kernels start here: the notebooks read their data relative to it
    try:
        plain, tracked = Kernel(env), Kernel({**env, "NBTRACK_STORE": store})
    finally:
        os.chdir(cwd)
    try:
        tracked.run("%load_ext nbtrack")
        return [(plain.run(src), tracked.run(src)) for src in code_cells(path)]
    finally:
        plain.close()
        tracked.close()


def plain_run(path: Path) -> float:
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    t = time.perf_counter()
    NotebookClient(nb, timeout=600, resources={"metadata": {"path": str(path.parent)}}).execute()
    return time.perf_counter() - t


def replay_ratio(path: Path, store_url: str) -> tuple[float, float]:
    """A plain nbclient run, then ``nbtrack replay`` of the recorded run (``REPEATS`` of each,
    interleaved, medians)."""
    from nbtrack.reproduce.execute import run_notebook
    from nbtrack.reproduce.replay import replay_run
    from nbtrack.store import open_store

    run_id, ok = run_notebook(str(path), store_url=store_url)
    assert ok, f"{path.name} failed under nbtrack run"
    store = open_store(store_url)
    base, rep = [], []
    for _ in range(REPEATS):
        base.append(plain_run(path))
        t = time.perf_counter()
        replay_run(run_id, store, progress=False)
        rep.append(time.perf_counter() - t)
    return statistics.median(base), statistics.median(rep)


def main(names: list[str]) -> None:
    header = machine_line("bench_corpus.py")
    paths = sorted(CORPUS.glob("*.ipynb"))
    if names:
        paths = [p for p in paths if p.stem in names]
    rows, added, own_plain, own_tracked = [], [], 0.0, 0.0
    replays = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp) / "corpus"
        shutil.copytree(CORPUS, work)
        store = str(Path(tmp) / "store")
        os.environ["NBTRACK_STORE"] = store
        for path in paths:
            cells = per_cell(work / path.name, work, store)
            diffs = [t - p for p, t in cells]
            added.extend(diffs)
            plain_total = sum(p for p, _ in cells)
            tracked_total = sum(t for _, t in cells)
            own_plain += plain_total
            own_tracked += tracked_total
            row = (
                f"| {path.stem} | {len(cells)} | {plain_total:.2f} s | "
                f"{statistics.median(diffs) * 1e3:+.2f} ms | {tracked_total / plain_total:.2f}x |"
            )
            if plain_total > 1.0:
                b, r = replay_ratio(work / path.name, store)
                replays.append(r / b)
                row += f" {b:.2f} s → {r:.2f} s ({r / b:.2f}x) |"
            else:
                row += " (under 1 s) |"
            rows.append(row)
            print(row, flush=True)
    body = f"""{header}

{len(paths)} statsmodels example notebooks ({len(added)} code cells; bench/corpus/README.md), each
run cell by cell in two fresh kernels at once, plain and with `%load_ext nbtrack`, interleaved cell
by cell. "Added" is the tracked cell's round trip minus the plain one's; "own cells" is the sum of
the tracked kernel's cell times over the plain one's. Replay: for each notebook whose cells take over
1 s, a plain top-to-bottom nbclient run (kernel start and exit included) beside `replay_run` of
the notebook's recorded run (`nbtrack run`) up to its verdict, which comes while the replay's
kernel exits (`bench_replay_corpus.py` also times that exit: "Replay on the corpus, before and
after"), {REPEATS} of each, interleaved (medians).

| notebook | cells | plain (cells) | added per cell, median | own cells | plain run → replay |
|---|---|---|---|---|---|
{chr(10).join(rows)}

| corpus | figure | target |
|---|---|---|
| added per cell, median over all {len(added)} cells | {statistics.median(added) * 1e3:.2f} ms | ≤ 1 ms |
| the notebooks' own cells, tracked / plain | {own_tracked / own_plain:.2f}x | |
| replay (to its verdict) / plain run, worst notebook over 1 s | {max(replays, default=float("nan")):.2f}x | ≤ 1.10x |
| replay (to its verdict) / plain run, median | {statistics.median(replays) if replays else float("nan"):.2f}x | |
"""
    write_section(SECTION, body)
    print(body)


if __name__ == "__main__":
    main(sys.argv[1:])

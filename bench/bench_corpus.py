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

import ast
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import NamedTuple

import nbformat
from bench_core import Kernel
from results import machine_line, write_section

CORPUS = Path(__file__).parent / "corpus"
SECTION = "Real-notebook corpus"
REPEATS = int(os.environ.get("BENCH_REPEATS", "1"))


def code_cells(path: Path) -> list[str]:
    nb = nbformat.read(path, as_version=4)
    return [c.source for c in nb.cells if c.cell_type == "code" and c.source.strip()]


def corpus_kernel(work: Path, **env: str) -> Kernel:
    """A kernel started in ``work`` (the notebooks read their data relative to it), plotting
    to no screen."""
    return Kernel({"MPLBACKEND": "agg", **env}, cwd=str(work))


# In the tracked kernel: the state hashing's time per cell, and what it hashed again (by type),
# read after each cell through user_expressions (an empty cell, which IPython does not record).
HASH_TIMER = """
import time as _bt, nbtrack.recording.recorder as _bk
_bh = _bk._recorder.hasher
_bh_ms = []
def _bh_timed(*a, _hn=_bh.hash_namespace, **k):
    s = _bt.perf_counter()
    try:
        return _hn(*a, **k)
    finally:
        _bh_ms.append((_bt.perf_counter() - s) * 1e3)
_bh.hash_namespace = _bh_timed
get_ipython().user_ns_hidden.update(
    {n: globals()[n] for n in ("_bt", "_bk", "_bh", "_bh_ms", "_bh_timed")}
)  # not the user's: never hashed
"""
LAST_HASH = (
    "(_bh_ms[-1], sorted({type(get_ipython().user_ns[n]).__module__.split('.')[0] + '.' + "
    "type(get_ipython().user_ns[n]).__name__ for n in _bh.hashed_names "
    "if n in get_ipython().user_ns}))"
)


class Cell(NamedTuple):
    plain: float  # round trip, s
    tracked: float
    plain_busy: float  # until the kernel had handled one more request, s (Kernel.settle)
    tracked_busy: float  # (nbtrack records a cell after its reply, before the next request)
    hashing: float  # the tracked kernel's state hashing, ms
    hashed: list[str]  # types of the variables it hashed again


def per_cell(path: Path, workdir: Path, store: str) -> list[Cell]:
    """Each of the notebook's cells in fresh kernels, plain and tracked."""
    plain, tracked = corpus_kernel(workdir), corpus_kernel(workdir, NBTRACK_STORE=store)
    try:
        tracked.run("%load_ext nbtrack")
        tracked.run(HASH_TIMER)
        cells = []
        for src in code_cells(path):
            p, t = plain.run(src), tracked.run(src)
            pb, tb = p + plain.last_settle, t + tracked.last_settle
            ms, hashed = ast.literal_eval(tracked.value(LAST_HASH))
            cells.append(Cell(p, t, pb, tb, ms, hashed))
        return cells
    finally:
        plain.close()
        tracked.close()


BINS = ((0.0, 0.3), (0.3, 1.0), (1.0, 3.0), (3.0, float("inf")))


def by_hashing(cells: list[Cell]) -> str:
    """Rows of the added round trip per cell, grouped by the state hashing's time in the cell."""
    rows = []
    for lo, hi in BINS:
        group = [c for c in cells if lo <= c.hashing < hi]
        if not group:
            continue
        kinds = Counter(
            k for c in group for k in set(c.hashed) if not k.startswith("builtins.module")
        )
        common = ", ".join(f"{k} ({n})" for k, n in kinds.most_common(3)) or "none"
        span = f"{lo:g}-{hi:g} ms" if hi != float("inf") else f"{lo:g} ms and over"
        added = statistics.median(c.tracked - c.plain for c in group) * 1e3
        rows.append(
            f"| {span} | {len(group)} ({len(group) / len(cells):.0%}) | {added:+.2f} ms | "
            f"{statistics.median(c.hashing for c in group):.2f} ms | {common} |"
        )
    return "\n".join(rows)


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
    rows, added, busy, own_plain, own_tracked = [], [], [], 0.0, 0.0
    every: list[Cell] = []
    replays = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp) / "corpus"
        shutil.copytree(CORPUS, work)
        store = str(Path(tmp) / "store")
        os.environ["NBTRACK_STORE"] = store
        for path in paths:
            cells = per_cell(work / path.name, work, store)
            every += cells
            diffs = [c.tracked - c.plain for c in cells]
            added.extend(diffs)
            busy.extend(c.tracked_busy - c.plain_busy for c in cells)
            plain_total = sum(c.plain for c in cells)
            tracked_total = sum(c.tracked for c in cells)
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
the tracked kernel's cell times over the plain one's. nbtrack records a cell after its reply, before
the kernel handles its next request: after each cell, both kernels are sent one more (untimed)
request, and "until the next request" times the cell up to that request's answer. Replay: for each notebook whose cells take over
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
| added per cell until the kernel has handled its next request, median | {statistics.median(busy) * 1e3:.2f} ms | |
| the notebooks' own cells, tracked / plain | {own_tracked / own_plain:.2f}x | |
| the same until the next request | {sum(c.tracked_busy for c in every) / sum(c.plain_busy for c in every):.2f}x | |
| replay (to its verdict) / plain run, worst notebook over 1 s | {max(replays, default=float("nan")):.2f}x | ≤ 1.10x |
| replay (to its verdict) / plain run, median | {statistics.median(replays) if replays else float("nan"):.2f}x | |

The same cells grouped by how long nbtrack's state hashing took in the tracked kernel (timed
there; the time to read it back is not counted), with the types it hashed again most often
(modules left out):

| state hashing in the cell | cells | added per cell, median | hashing, median | hashed again most often (cells) |
|---|---|---|---|---|
{by_hashing(every)}
"""
    write_section(SECTION, body)
    print(body)


if __name__ == "__main__":
    main(sys.argv[1:])

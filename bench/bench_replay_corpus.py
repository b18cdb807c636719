"""Replay against a plain run on every notebook of the corpus, before and after #19's replay
start-up and exit changes, in one run.

    cd bench && ../.venv/bin/python bench_replay_corpus.py [NAME ...]

For each statsmodels notebook of bench/corpus: one ``nbtrack run``, then, interleaved
``BENCH_REPEATS`` times (default 1): the plain nbclient run of ``bench_corpus.py`` (kernel start
and its graceful exit included), ``replay_run`` as before (``%load_ext nbtrack`` once the kernel
is up, the kernel's exit, module teardown included, waited for) and as now (nbtrack loaded
while the kernel starts; the verdict returned while the kernel exits, without the interpreter's
module teardown: ``nbtrack.reproduce.quick_exit``). "Kernel gone" is when the replay's kernel
had exited, which is when ``nbtrack replay`` returns. "Verdicts" are the cells each replay
reproduced, before / after (a notebook whose cells are not deterministic, such as one printing
the time, may differ from one replay to the next).
Writes ``## Replay on the corpus, before and after`` of bench/RESULTS.md (``bench_corpus.py``
keeps the ``Real-notebook corpus`` section, whose replay column is the "after" here)."""

from __future__ import annotations

import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

from bench_corpus import plain_run
from bench_replay_phases import Phases, kernel_gone
from results import machine_line, write_section

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from nbtrack.reproduce.execute import run_notebook  # noqa: E402
from nbtrack.reproduce.replay import replay_run  # noqa: E402
from nbtrack.store import open_store  # noqa: E402

CORPUS = Path(__file__).parent / "corpus"
REPEATS = int(os.environ.get("BENCH_REPEATS", "1"))
KINDS = ("plain", "before", "after")


def main(names: list[str]) -> None:
    header = machine_line("bench_replay_corpus.py")
    phases = Phases()
    paths = sorted(CORPUS.glob("*.ipynb"))
    if names:
        paths = [p for p in paths if p.stem in names]
    rows, ratios = [], {"before": [], "after": [], "gone": []}
    with tempfile.TemporaryDirectory(prefix="nbtrack-replay-corpus-") as tmp:
        work = Path(tmp) / "corpus"
        shutil.copytree(CORPUS, work)
        store = open_store(str(Path(tmp) / "store"))
        for path in paths:
            nb = work / path.name
            run_id, ok = run_notebook(str(nb), store_url=store.url)
            assert ok, f"{path.stem} failed under nbtrack run"
            kernel_gone()
            got: dict[str, list[float]] = {k: [] for k in (*KINDS, "gone")}
            verdicts: dict[str, list[str]] = {"before": [], "after": []}
            for i in range(REPEATS):
                for kind in KINDS if i % 2 == 0 else ("plain", "after", "before"):
                    t = time.perf_counter()
                    if kind == "plain":
                        plain_run(nb)
                    else:
                        phases.before = kind == "before"
                        report = replay_run(run_id, store, progress=False)
                        phases.before = False
                        verdicts[kind].append(f"{report.cells_matched}/{report.cells_total}")
                    got[kind].append(time.perf_counter() - t)
                    kernel_gone()
                    if kind == "after":
                        got["gone"].append(time.perf_counter() - t)
            med = {k: statistics.median(v) for k, v in got.items()}
            for k in ratios:
                ratios[k].append(med[k] / med["plain"])
            row = (
                f"| {path.stem} | {med['plain']:.2f} s | {med['before']:.2f} s "
                f"({med['before'] / med['plain']:.2f}x) | {med['after']:.2f} s "
                f"({med['after'] / med['plain']:.2f}x) | {med['gone']:.2f} s "
                f"({med['gone'] / med['plain']:.2f}x) | "
                f"{', '.join(verdicts['before'])} / {', '.join(verdicts['after'])} |"
            )
            rows.append(row)
            print(row, flush=True)
    labels = {"before": "before", "after": "after (verdict)", "gone": "after (kernel gone)"}
    summary = "\n".join(
        f"| {labels[k]} | {statistics.median(v):.2f}x | {max(v):.2f}x | "
        f"{sum(r <= 1.10 for r in v)}/{len(v)} |"
        for k, v in ratios.items()
    )
    body = f"""{header}

{__doc__.split(chr(10) + chr(10), 2)[2].split("Writes")[0].strip()} Medians of {REPEATS}.

| notebook | plain run | replay before | replay after (verdict) | after: kernel gone | verdicts |
|---|---|---|---|---|---|
{chr(10).join(rows)}

| replay / plain run | median | worst | notebooks ≤ 1.10x |
|---|---|---|---|
{summary}
"""
    write_section("Replay on the corpus, before and after", body)
    print(body)


if __name__ == "__main__":
    main(sys.argv[1:])

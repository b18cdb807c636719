"""Two versions of nbtrack side by side on corpus notebooks (#19): each notebook run cell by cell in
three fresh kernels, interleaved cell by cell: plain, nbtrack as checked out, and nbtrack from
``--other DIR`` (a copy of the package with a change to try, put first on the kernel's
PYTHONPATH). Prints, per notebook, the added round trip per cell; the added time until the kernel
has handled one more request, sent untimed after each cell (nbtrack records a cell after its reply,
before the next request: this is the kernel's whole work for the cell); and the time of nbtrack's
post-cell work and its state hashing (medians, and the hashing's sum over the notebook).

    python bench/bench_hook_compare.py --other /tmp/nbtrack-change glm_weights count_hurdle

Writes nothing: copy the figures into your own section of bench/RESULTS.md.
"""

from __future__ import annotations

import os
import shutil
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

from bench_corpus import CORPUS
from bench_untouched_data import run  # kernels "before" (--other DIR first on PYTHONPATH), "after"

# bench_untouched_data.run's kernels: "after" runs nbtrack as checked out, "before" the other copy
CHECKED_OUT, OTHER = "after", "before"


def main(argv: list[str]) -> None:
    other = argv[argv.index("--other") + 1]
    names = [a for a in argv if a not in ("--other", other)]
    print(f"load average {os.getloadavg()[0]:.1f} at the start")
    print(
        "| notebook | cells | added per cell, checked out → other | until the next request, added | "
        "post-cell hook | state hashing | hashing, sum over the notebook |"
    )
    print("|---|---|---|---|---|---|---|")
    totals: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp) / "corpus"
        shutil.copytree(CORPUS, work)
        for name in names:
            t = run(work / f"{name}.ipynb", work, str(Path(tmp) / f"store-{name}"), other)
            for key, values in _figures(t).items():
                totals.setdefault(key, []).extend(values)
            print(_row(name, _figures(t)), flush=True)
    print(_row("all", totals))


def _figures(t: dict[str, list[float]]) -> dict[str, list[float]]:
    """Per cell: the added round trip ("<kernel>"), the added time until the kernel could take
    the next request ("<kernel> busy": round trip and the settling wait), hook and hashing."""
    plain, busy = t["plain"], _busy(t, "plain")
    out = {k: t[k] for k in t if " h" in k}
    for m in (CHECKED_OUT, OTHER):
        out[m] = [x - p for x, p in zip(t[m], plain, strict=True)]
        out[m + " busy"] = [x - p for x, p in zip(_busy(t, m), busy, strict=True)]
    return out


def _busy(t: dict[str, list[float]], kernel: str) -> list[float]:
    return [a + b for a, b in zip(t[kernel], t[kernel + " settle"], strict=True)]


def _row(name: str, f: dict[str, list[float]]) -> str:
    a, b, med = CHECKED_OUT, OTHER, statistics.median

    def pair(key: str, fmt: str, agg: Any = med) -> str:
        return f"{agg(f[a + key]) * 1e3:{fmt}} → {agg(f[b + key]) * 1e3:{fmt}} ms"

    return (
        f"| {name} | {len(f[a])} | {pair('', '+.2f')} | {pair(' busy', '+.2f')} | "
        f"{pair(' hook', '.2f')} | {pair(' hash', '.2f')} | {pair(' hash', '.0f', sum)} |"
    )


if __name__ == "__main__":
    main(sys.argv[1:])

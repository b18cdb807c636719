"""Two versions of nbtrack side by side on corpus notebooks (#19): each notebook run cell by cell in
three fresh kernels, interleaved cell by cell: plain, nbtrack as checked out, and nbtrack from
``--other DIR`` (a copy of the package with a change to try, put first on the kernel's
PYTHONPATH). Prints, per notebook, the added round trip per cell and the time inside nbtrack's
post-cell hook and its state hashing (medians, and the hashing's sum over the notebook).

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

from bench_corpus import CORPUS
from bench_untouched_data import run  # kernels "before" (--other DIR first on PYTHONPATH), "after"

# bench_untouched_data.run's kernels: "after" runs nbtrack as checked out, "before" the other copy
CHECKED_OUT, OTHER = "after", "before"


def main(argv: list[str]) -> None:
    other = argv[argv.index("--other") + 1]
    names = [a for a in argv if a not in ("--other", other)]
    med = statistics.median
    print(f"load average {os.getloadavg()[0]:.1f} at the start")
    print(
        "| notebook | cells | added per cell, checked out → other | post-cell hook | "
        "state hashing | hashing, sum over the notebook |"
    )
    print("|---|---|---|---|---|---|")
    totals: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp) / "corpus"
        shutil.copytree(CORPUS, work)
        for name in names:
            t = run(work / f"{name}.ipynb", work, str(Path(tmp) / f"store-{name}"), other)
            plain = t["plain"]
            added = {
                m: [x - p for x, p in zip(t[m], plain, strict=True)] for m in (CHECKED_OUT, OTHER)
            }
            for key, values in {**added, **{k: t[k] for k in t if " h" in k}}.items():
                totals.setdefault(key, []).extend(values)
            a, b = CHECKED_OUT, OTHER
            print(
                f"| {name} | {len(plain)} | {med(added[a]) * 1e3:+.2f} → {med(added[b]) * 1e3:+.2f} ms | "
                f"{med(t[a + ' hook']) * 1e3:.2f} → {med(t[b + ' hook']) * 1e3:.2f} ms | "
                f"{med(t[a + ' hash']) * 1e3:.2f} → {med(t[b + ' hash']) * 1e3:.2f} ms | "
                f"{sum(t[a + ' hash']) * 1e3:.0f} → {sum(t[b + ' hash']) * 1e3:.0f} ms |",
                flush=True,
            )
    a, b = CHECKED_OUT, OTHER
    print(
        f"| all | {len(totals[a])} | {med(totals[a]) * 1e3:+.2f} → {med(totals[b]) * 1e3:+.2f} ms | "
        f"{med(totals[a + ' hook']) * 1e3:.2f} → {med(totals[b + ' hook']) * 1e3:.2f} ms | "
        f"{med(totals[a + ' hash']) * 1e3:.2f} → {med(totals[b + ' hash']) * 1e3:.2f} ms | "
        f"{sum(totals[a + ' hash']) * 1e3:.0f} → {sum(totals[b + ' hash']) * 1e3:.0f} ms |"
    )


if __name__ == "__main__":
    main(sys.argv[1:])

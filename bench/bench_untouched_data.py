"""The per-cell cost of numpy/pandas data a cell did not touch (#19): corpus notebooks run cell by
cell in three fresh kernels, interleaved: plain, nbtrack with the hashing of before this change
(``--base DIR``: a copy of the package whose capture/hashing.py and canonical/arrays.py are the
old ones), and nbtrack as checked out. Also the median time inside nbtrack's post-cell hook and
inside its state hashing, measured in each tracked kernel.

    python bench/bench_untouched_data.py --base /tmp/nbtrack-base glm_weights gls count_hurdle

Writes the ``## Untouched data variables`` section of bench/RESULTS.md.
"""

from __future__ import annotations

import shutil
import statistics
import sys
import tempfile
from pathlib import Path

from bench_core import TIME_HOOK, UNTIME_HOOK
from bench_corpus import CORPUS, code_cells, corpus_kernel
from results import machine_line, write_section

SECTION = "Untouched data variables"
TIMED = (
    TIME_HOOK
    + r"""
_hash_t = []
_hn = _r.hasher.hash_namespace
def _hn_timed(*a, _hn=_hn, **k):
    s = _t.perf_counter(); out = _hn(*a, **k); _hash_t.append(_t.perf_counter() - s); return out
_r.hasher.hash_namespace = _hn_timed
"""
)


def run(path: Path, work: Path, store: str, base: str) -> dict[str, list[float]]:
    kernels = {
        "plain": corpus_kernel(work),
        "before": corpus_kernel(work, NBTRACK_STORE=store + "-before", PYTHONPATH=base),
        "after": corpus_kernel(work, NBTRACK_STORE=store + "-after"),
    }
    out: dict[str, list[float]] = {k: [] for k in kernels}
    out.update({k + " settle": [] for k in kernels})
    try:
        for name in ("before", "after"):
            kernels[name].run("%load_ext nbtrack")
            kernels[name].run(TIMED)
        where = kernels["before"].value("__import__('nbtrack').__file__")
        assert where.strip("'").startswith(base), where
        for src in code_cells(path):
            for name, k in kernels.items():
                out[name].append(k.run(src))
                out[name + " settle"].append(k.last_settle)
        for name in ("before", "after"):
            k = kernels[name]
            k.run(UNTIME_HOOK)
            out[name + " hook"] = [float(x) for x in eval(k.value("_post_t"))]
            out[name + " hash"] = [float(x) for x in eval(k.value("_hash_t"))]
    finally:
        for k in kernels.values():
            k.close()
    return out


def main(argv: list[str]) -> None:
    base = argv[argv.index("--base") + 1]
    names = [a for a in argv if a not in ("--base", base)]
    header = machine_line("bench_untouched_data.py")
    rows = []
    med = statistics.median
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp) / "corpus"
        shutil.copytree(CORPUS, work)
        for name in names:
            t = run(work / f"{name}.ipynb", work, str(Path(tmp) / f"store-{name}"), base)
            plain = t["plain"]
            added = {
                m: med([x - p for x, p in zip(t[m], plain, strict=True)])
                for m in ("before", "after")
            }
            row = (
                f"| {name} | {len(plain)} | {added['before'] * 1e3:+.1f} → {added['after'] * 1e3:+.1f} ms | "
                f"{med(t['before hook']) * 1e3:.1f} → {med(t['after hook']) * 1e3:.1f} ms | "
                f"{med(t['before hash']) * 1e3:.1f} → {med(t['after hash']) * 1e3:.1f} ms |"
            )
            rows.append(row)
            print(row, flush=True)
    body = f"""{header}

Corpus notebooks (bench/corpus) run cell by cell in three fresh kernels, interleaved cell by cell:
plain, nbtrack with the state hashing of before this change (every variable holding numpy/pandas
data re-hashed after every cell), and nbtrack now (such a variable is re-hashed only when the
touched variables' data shares its memory and hashes differently, or it shares a mutable object
whose token changed). Medians over the notebook's cells.

| notebook | cells | added per cell (round trip), before → after | nbtrack's post-cell hook | of which state hashing |
|---|---|---|---|---|
{chr(10).join(rows)}
"""
    write_section(SECTION, body)
    print(body)


if __name__ == "__main__":
    main(sys.argv[1:])

"""What a cheap cell's added time is made of, in a real notebook's namespace (#19): the notebook is
run whole in a plain kernel and in five tracked ones; in four of those a part of nbtrack's post-cell
hook is switched off (the store write, the state hashing, both, or the hooks themselves, leaving
the file-lineage audit hook on). Then each probe cell runs in all six kernels, round after round,
the order rotating each round; "added" is a kernel's round trip minus the plain kernel's in the
same round (median over the rounds). The tracked kernels record before the reply
(``NBTRACK_RECORD=before-reply``): after it, as by default, none of these parts is in the round trip.

    python bench/probe_cell_parts.py [NOTEBOOK ...]   # default: ols glm_weights

Writes the ``## Cheap cells, part by part`` section of bench/RESULTS.md.
"""

from __future__ import annotations

import os
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

from bench_corpus import CORPUS, code_cells, corpus_kernel
from results import machine_line, write_section

ROUNDS = int(os.environ.get("BENCH_ROUNDS", "150"))
# cells that name nothing, a small value, a DataFrame, an array; re-runnable in both notebooks
PROBES = {
    "ols": ["z = 1", "print(nsample)", "2.0 / len(X) ** 0.5", "eigs = np.linalg.eigvals(norm_xtx)"],
    "glm_weights": ["z = 1", "print(len(dc))", "len(data) / 2", "w = np.ones(len(data))"],
}
SETUP = r"""
import nbtrack.recording.recorder as _k
_r = _k._recorder
_r._wait_open()
_ip = get_ipython()
if "{off}" in ("write", "both"):
    _r.cells.save = lambda record: None
if "{off}" in ("hashing", "both"):
    _state = _r.hasher.hash_namespace(_ip.user_ns, None, _ip.user_ns_hidden)
    _r.hasher.hash_namespace = lambda *a, **k: _state
if "{off}" == "hooks":
    _ip.events.unregister("post_run_cell", _r.post_run_cell)
    _ip.events.unregister("pre_run_cell", _r.pre_run_cell)
_ip.user_ns_hidden.update({{n: globals()[n] for n in ("_k", "_r", "_ip")}})
"""
VARIANTS = {
    "nbtrack": None,
    "store write off": "write",
    "state hashing off": "hashing",
    "both off": "both",
    "hooks off (audit hook on)": "hooks",
}


def probe(name: str, work: Path) -> list[str]:
    cells = code_cells(work / f"{name}.ipynb")
    kernels = {"plain": corpus_kernel(work)}
    for label in VARIANTS:
        kernels[label] = corpus_kernel(
            work, NBTRACK_STORE=tempfile.mkdtemp(dir=work), NBTRACK_RECORD="before-reply"
        )
    try:
        for label in VARIANTS:
            kernels[label].run("%load_ext nbtrack")
        for src in cells:
            for k in kernels.values():
                k.run(src)
        for label, off in VARIANTS.items():
            if off:
                kernels[label].run(SETUP.format(off=off))
        order = list(kernels)
        rows = []
        for code in PROBES[name]:
            added: dict[str, list[float]] = {label: [] for label in VARIANTS}
            for r in range(ROUNDS + 5):
                turn = order[r % len(order) :] + order[: r % len(order)]
                times = {label: kernels[label].run(code) for label in turn}
                if r >= 5:  # warm-up rounds
                    for label in VARIANTS:
                        added[label].append(times[label] - times["plain"])
            figures = " | ".join(
                f"{statistics.median(added[label]) * 1e3:+.2f}" for label in VARIANTS
            )
            rows.append(f"| {name} | `{code}` | {figures} |")
        return rows
    finally:
        for k in kernels.values():
            k.close()


def main(names: list[str]) -> None:
    header = machine_line("probe_cell_parts.py")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp) / "corpus"
        shutil.copytree(CORPUS, work)
        for name in names or list(PROBES):
            rows += probe(name, work)
            print("\n".join(rows[-len(PROBES[name]) :]), flush=True)
    head = " | ".join(VARIANTS)
    body = f"""{header}

{__doc__.split(chr(10) + chr(10))[0]} {ROUNDS} rounds; added time in ms.

| notebook | cell | {head} |
|---|---|{"---|" * len(VARIANTS)}
{chr(10).join(rows)}
"""
    write_section("Cheap cells, part by part", body)
    print(body)


if __name__ == "__main__":
    main(sys.argv[1:])

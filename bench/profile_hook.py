"""Where nbtrack's per-cell time goes on real notebooks (#19): corpus notebooks run cell by cell in
one kernel with ``%load_ext nbtrack`` and ``NBTRACK_RECORD=before-reply`` (so that the post-cell hook
itself makes the cell's record); inside the kernel, each phase of the pre/post-cell hooks is timed (state hashing, the cell's names, file events, notebook path, the store write, the runs'
flush) and the garbage collector's pauses are summed, per cell. ``--profile`` also runs cProfile
over the post-cell hook and prints its top functions; ``--names`` prints, per cell, the
variables hashed again (those the cell names and the others) and their time; ``--audit`` counts the process's audit
events by name (every one goes through nbtrack's file-lineage hook).

    python bench/profile_hook.py [--profile] [--names] [--audit] glm_weights gls multivariate_ls

Prints medians per phase; writes nothing.
"""

from __future__ import annotations

import ast
import json
import os
import shutil
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

from bench_corpus import CORPUS, code_cells, corpus_kernel

PHASES = r"""
import time as _t, gc as _gc, json as _json, nbtrack.recording.recorder as _k
import nbtrack.capture.hashing as _h, nbtrack.recording.active as _a
_r = _k._recorder
_r._wait_open()
_P = {"pre": [], "post": []}
_cur = {}
def _phase(name, fn):
    def timed(*a, **k):
        s = _t.perf_counter()
        try:
            return fn(*a, **k)
        finally:
            _cur[name] = _cur.get(name, 0.0) + _t.perf_counter() - s
    return timed
_hn0 = _r.hasher.hash_namespace
def _hn_touched(ns, touched, *a, _hn0=_hn0, **k):
    _cur["touched"] = sorted(touched) if touched is not None else None
    return _hn0(ns, touched, *a, **k)
_r.hasher.hash_namespace = _phase("hash", _hn_touched)
_h.names_touched = _phase("names", _h.names_touched)
import nbtrack.capture.cellnames as _cn
if hasattr(_cn, "cell_names"):  # the recorder's one parse for touched and rebound names,
    # which it imports from the hasher's module at each cell
    _cn.cell_names = _h.cell_names = _phase("names", _cn.cell_names)
_r._file_events = _phase("files", _r._file_events)
_k._notebook_path = _phase("nbpath", _k._notebook_path)
_r.cells.save = _phase("save", _r.cells.save)
_a.flush_active = _phase("flush", _a.flush_active)
_VARS = {}
_hv = _r.hasher._hash_var
def _hash_var_timed(name, obj, enc, dirty, _hv=_hv):
    s = _t.perf_counter()
    try:
        return _hv(name, obj, enc, dirty)
    finally:
        key = type(obj).__module__.split(".")[0] + "." + type(obj).__qualname__
        _cur.setdefault("vars", {})[name] = _t.perf_counter() - s
        n, total = _VARS.get(key, (0, 0.0))
        _VARS[key] = (n + 1, total + _t.perf_counter() - s)
_r.hasher._hash_var = _hash_var_timed
_gcs = [0.0]
def _gccb(phase, info):
    if phase == "start":
        _gcs[0] = _t.perf_counter()
    else:
        _cur["gc"] = _cur.get("gc", 0.0) + _t.perf_counter() - _gcs[0]
        if info.get("generation") == 2:
            _cur["gc2"] = _cur.get("gc2", 0) + 1
_gc.callbacks.append(_gccb)
_AUD = {}
def _count_audit(event, args):
    _AUD[event] = _AUD.get(event, 0) + 1
if _COUNT_AUDIT:
    import sys as _sys; _sys.addaudithook(_count_audit)
_pre0, _post0 = _r.pre_run_cell, _r.post_run_cell
_prof = None
def _pre(info, _pre0=_pre0):
    _cur.clear()
    s = _t.perf_counter(); _pre0(info); _cur["pre"] = _t.perf_counter() - s
def _post(result, _post0=_post0):
    _cur["gc_cell"] = _cur.get("gc", 0.0)
    s = _t.perf_counter()
    if _prof is not None:
        _prof.enable()
    _post0(result)
    if _prof is not None:
        _prof.disable()
    _cur["post"] = _t.perf_counter() - s
    _cur["gc_hook"] = _cur.get("gc", 0.0) - _cur["gc_cell"]
    _cur["other"] = _cur["post"] - sum(
        _cur.get(k, 0.0) for k in ("hash", "names", "files", "nbpath", "save", "flush")
    )
    _P.setdefault("cells", []).append(dict(_cur))
_ip = get_ipython()
_ip.events.unregister('pre_run_cell', _pre0); _ip.events.unregister('post_run_cell', _post0)
_ip.events.register('pre_run_cell', _pre); _ip.events.register('post_run_cell', _post)
"""
STOP = r"""
_ip.events.unregister('pre_run_cell', _pre); _ip.events.unregister('post_run_cell', _post)
_gc.callbacks.remove(_gccb)
"""


def run(
    path: Path, work: Path, store: str, profile: bool, audit: bool, names: bool
) -> list[dict[str, Any]]:
    k = corpus_kernel(work, NBTRACK_STORE=store, NBTRACK_RECORD="before-reply")
    try:
        k.run("%load_ext nbtrack")
        k.run(f"_COUNT_AUDIT = {audit}\n" + PHASES)
        if profile:
            k.run("import cProfile as _cp; _prof = _cp.Profile()")
        sources = code_cells(path)
        rounds = [k.run(src) for src in sources]
        k.run(STOP)
        kinds = ast.literal_eval(k.value("sorted(_VARS.items(), key=lambda kv: -kv[1][1])[:8]"))
        shown = ", ".join(f"{t} {n}x {s * 1e3:.0f} ms" for t, (n, s) in kinds)
        print(f"{path.stem}: hashing time by type (whole notebook): {shown}")
        if audit:
            counts = ast.literal_eval(k.value("sorted(_AUD.items(), key=lambda kv: -kv[1])[:12]"))
            print(f"{path.stem}: audit events over {len(rounds)} cells: {counts}")
        cells = json.loads(ast.literal_eval(k.value("_json.dumps(_P['cells'])")))
        for c, rt in zip(cells, rounds, strict=False):
            c["round"] = rt
        if names:
            show_names(sources, cells)
        if profile:
            k.run(
                "import pstats, io as _io; _s = _io.StringIO(); "
                "pstats.Stats(_prof, stream=_s).sort_stats('tottime').print_stats(25); "
                "pstats.Stats(_prof, stream=_s).sort_stats('cumtime').print_stats(40)"
            )
            print(ast.literal_eval(k.value("_s.getvalue()")))
        return cells
    finally:
        k.close()


def show_names(sources: list[str], cells: list[dict[str, Any]]) -> None:
    """Per cell: the variables hashed again, those the cell names and the others, ms each."""
    for src, c in zip(sources, cells[1:], strict=False):  # cells[0]: the instrumenting cell
        touched = set(c.get("touched") or ())
        hashed = {n: round(t * 1e3, 1) for n, t in c.get("vars", {}).items()}
        named = {n: t for n, t in hashed.items() if n in touched}
        other = {n: t for n, t in hashed.items() if n not in touched}
        line = src.strip().splitlines()[0][:50]
        print(f"{c.get('hash', 0) * 1e3:6.2f} ms | named {named} | not named {other} | {line!r}")


def main(argv: list[str]) -> None:
    profile = "--profile" in argv
    audit = "--audit" in argv
    names_too = "--names" in argv
    names = [a for a in argv if not a.startswith("--")]
    keys = ["round", "pre", "post", "hash", "names", "files", "nbpath", "save", "flush", "other"]
    keys += ["gc_cell", "gc_hook"]
    print(f"load average {os.getloadavg()[0]:.1f}")
    print("| notebook | cells | " + " | ".join(keys) + " | gen-2 collections |")
    every: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp) / "corpus"
        shutil.copytree(CORPUS, work)
        for name in names:
            cells = run(
                work / f"{name}.ipynb",
                work,
                str(Path(tmp) / f"store-{name}"),
                profile,
                audit,
                names_too,
            )
            every += cells
            med = [statistics.median(c.get(key, 0.0) for c in cells) * 1e3 for key in keys]
            gen2 = sum(c.get("gc2", 0) for c in cells)
            print(
                f"| {name} | {len(cells)} | "
                + " | ".join(f"{m:.2f}" for m in med)
                + f" | {gen2} |",
                flush=True,
            )
    med = [statistics.median(c.get(key, 0.0) for c in every) * 1e3 for key in keys]
    print(f"| all | {len(every)} | " + " | ".join(f"{m:.2f}" for m in med) + " | |")
    worst = sorted(every, key=lambda c: -c.get("gc_cell", 0.0))[:3]
    print(
        "largest GC pauses in a cell (ms): " + ", ".join(f"{c['gc_cell'] * 1e3:.1f}" for c in worst)
    )


if __name__ == "__main__":
    main(sys.argv[1:])

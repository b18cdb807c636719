"""The store write of one cell record inside a kernel (#19): as nbtrack does it now (a pooled
connection checked out per write, ``PRAGMA busy_timeout`` set to the kernel's bounded wait before
and reset after) beside a variant that keeps one connection checked out with the bounded wait set
once, and one that checks a connection out per write but sets the wait only when the
connection does not have it yet. Cells alternate between the three in one kernel; each cell does some numpy work first, as a
notebook's would, so the write runs as cold as after a real cell.

    python bench/probe_cell_write.py

Prints the medians; writes nothing. The variant is a probe for the store layer, not nbtrack code.
"""

from __future__ import annotations

import ast
import sys
import tempfile

from bench_core import Kernel

PROBE = r"""
import time, statistics
from nbtrack.recording import recorder as _k, pending as _p
from nbtrack.store import CellRecord
from nbtrack.store.engines import file_ident
_r = _k._recorder
_st = _r.store
_T = {}
_orig_write = type(_st).write
_held = []
def _held_write(fn, wait=None):
    if not _held:
        c = _st.engine.connect(); c.exec_driver_sql(f"PRAGMA busy_timeout={int(wait * 1000)}"); _held.append(c)
    with _st._lock:
        _st._check_file()
        return _txn(_held[0], fn)
def _txn(conn, fn):
    conn.exec_driver_sql("BEGIN IMMEDIATE")
    try:
        r = fn(conn)
    except BaseException:
        conn.exec_driver_sql("ROLLBACK"); raise
    conn.exec_driver_sql("COMMIT")
    _st._wal_ident = file_ident(_st.db_path + "-wal")
    return r
def _once_write(fn, wait=None):
    want = int(wait * 1000)
    with _st._lock:
        _st._check_file()
        with _st.engine.connect() as conn:
            if conn.info.get("busy") != want:
                conn.exec_driver_sql(f"PRAGMA busy_timeout={want}")
                conn.info["busy"] = want
            return _txn(conn, fn)
_mode = ["now"]
def _write(fn, wait=None):
    t = time.perf_counter()
    if _mode[0] == "now":
        r = _orig_write(_st, fn, wait=wait)
    else:
        r = (_held_write if _mode[0] == "held" else _once_write)(fn, wait=wait)
    _T.setdefault(_mode[0], []).append(time.perf_counter() - t)
    return r
_st.write = _write
"""


def main(cells: int = 40) -> None:
    store = tempfile.mkdtemp() + "/store"
    k = Kernel({"NBTRACK_STORE": store, "MPLBACKEND": "agg"})
    try:
        k.run("%load_ext nbtrack")
        k.run("import numpy as np")
        k.run(PROBE)
        for _ in range(cells):
            for mode in ("now", "held", "pragma once"):
                k.run(f"_mode[0] = {mode!r}")
                k.run("z = np.random.rand(300, 300) @ np.random.rand(300, 300)\nprint(z.sum())")
        found = ast.literal_eval(
            k.value("{k: round(statistics.median(v) * 1e3, 3) for k, v in _T.items()}")
        )
        print(f"median store write per cell record, ms: {found}")
    finally:
        k.close()


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 40)

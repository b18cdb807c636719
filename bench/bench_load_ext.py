"""``%load_ext nbtrack`` and import cells in fresh kernels, beside plain execution (#19).

    python bench/bench_load_ext.py [--repeats 5] [--before DIR]

Every kernel is fresh; modes are interleaved so each sees the same machine:

- plain: no nbtrack;
- nbtrack: ``%load_ext nbtrack`` from this checkout;
- before (with ``--before DIR``): the same from an older nbtrack source tree put first on the
  kernel's ``PYTHONPATH`` (e.g. ``git archive <commit> nbtrack | tar -x -C DIR``).

Wall times are round trips from the client. Because the machine is shared (2 cores, other
kernels running), each cell's CPU time is also read in the kernel (``getrusage`` of the whole
process, nbtrack's threads included, from the cell before to the cell after: it includes one
pre- and one post-cell hook of the neighbouring cells), which other processes' load moves far
less than wall time.

Also ``python -X importtime`` of what ``%load_ext`` imports, per mode.

Figures go to ``## %load_ext and import cells`` of bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
from results import machine_line, write_section  # noqa: E402

TITLE = "%load_ext and import cells"
IMPORTS = ["import pandas", "import scipy.stats", "import sklearn.linear_model"]
CPU = "import resource as _r\n_u = _r.getrusage(_r.RUSAGE_SELF)\n_cpu = _u.ru_utime + _u.ru_stime"
CPU_DELTA = (
    "_u = _r.getrusage(_r.RUSAGE_SELF)\nprint(repr(_u.ru_utime + _u.ru_stime - _cpu))\ndel _u, _cpu"
)
LOAD_MODULES = "import nbtrack, nbtrack.magics, nbtrack.recording.recorder"


class Kernel:
    def __init__(self, env: dict[str, str]):
        from jupyter_client.manager import KernelManager

        self.km = KernelManager(kernel_name="python3")
        self.km.start_kernel(  # not in the checkout: its nbtrack would shadow PYTHONPATH's
            cwd=os.path.dirname(env["NBTRACK_STORE"]),
            env={**os.environ, **env},
            extra_arguments=["--IPKernelApp.log_level=ERROR"],
        )
        self.kc = self.km.client()
        self.kc.start_channels()
        self.kc.wait_for_ready(timeout=120)

    def run(self, code: str) -> tuple[float, str]:
        """(round-trip seconds, stdout)."""
        out: list[str] = []

        def hook(msg: dict[str, Any]) -> None:
            if msg["msg_type"] == "stream" and msg["content"]["name"] == "stdout":
                out.append(msg["content"]["text"])

        t = time.perf_counter()
        reply = self.kc.execute_interactive(code, timeout=300, output_hook=hook)
        dt = time.perf_counter() - t
        assert reply["content"]["status"] == "ok", (code, reply["content"])
        return dt, "".join(out)

    def timed(self, code: str) -> tuple[float, float]:
        """(round trip, CPU seconds of the kernel process) of ``code``."""
        self.run(CPU)
        dt, _ = self.run(code)
        _, out = self.run(CPU_DELTA)
        return dt, float(out.strip().splitlines()[-1])

    def stop(self) -> None:
        self.kc.stop_channels()
        self.km.shutdown_kernel(now=True)


def env_of(mode: str, before: str | None, tmp: str) -> dict[str, str]:
    env = {"NBTRACK_STORE": os.path.join(tmp, f"store-{mode}")}
    if mode == "before" and before:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [before, os.environ.get("PYTHONPATH")]))
    return env


def load_case(mode: str, env: dict[str, str]) -> dict[str, float]:
    """A fresh kernel: ``pass``, then ``%load_ext nbtrack`` (or ``pass`` for plain) and the
    next cell right after it, and a ``pass`` cell once everything settled."""
    k = Kernel(env)
    try:
        k.run("pass")
        pass_before, _ = k.run("pass")
        load, load_cpu = k.timed("pass" if mode == "plain" else "%load_ext nbtrack")
        nxt, _ = k.run("x = 1")
        time.sleep(1.0)
        settled, _ = k.run("pass")
        return {
            "pass": pass_before,
            "load": load,
            "load_cpu": load_cpu,
            "next": nxt,
            "settled": settled,
        }
    finally:
        k.stop()


def import_case(mode: str, env: dict[str, str], code: str, settle: bool) -> tuple[float, float]:
    k = Kernel(env)
    try:
        if mode != "plain":
            k.run("%load_ext nbtrack")
        k.run("x = 1")
        if settle:  # nbtrack's start-up threads (store, environment) are done
            time.sleep(2.0)
        return k.timed(code)
    finally:
        k.stop()


def importtime(env: dict[str, str]) -> tuple[float, list[str]]:
    """Milliseconds ``python -X importtime`` gives the modules ``%load_ext`` imports (median of
    3), and the heavy third-party modules among them."""
    totals, heavy = [], set()
    for _ in range(3):
        err = subprocess.run(
            [
                sys.executable,
                "-X",
                "importtime",
                "-c",
                f"import IPython, sys\n{LOAD_MODULES}\nsys.stderr.write('LOADED\\n')",
            ],
            capture_output=True,
            text=True,
            env={**os.environ, **env},
            cwd=os.path.dirname(env["NBTRACK_STORE"]),
            check=True,
        ).stderr.split("LOADED")[0]  # (not what exit handlers import)
        total = 0
        for line in err.splitlines():
            m = re.match(r"import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)", line)
            if not m:
                continue
            depth, name = len(m.group(3)), m.group(4)
            if depth == 1 and name.startswith("nbtrack"):
                total += int(m.group(2))
            if name in ("sqlalchemy", "psutil", "numpy", "pandas"):
                heavy.add(name)
        totals.append(total / 1000)
    return statistics.median(totals), sorted(heavy)


# In one IPython shell with nbtrack loaded and settled: an import cell's audit events (counted
# by a hook of our own), nbtrack's audit hook's cost per event (a sys.audit loop timed before
# and after nbtrack's hook is installed, CPU time), and the time spent in FileTracker.take and
# in the pre/post cell events (nbtrack's hooks), wrapped with perf_counter.
SHARE = """
import collections, os, sys, tempfile, time
os.environ["NBTRACK_STORE"] = tempfile.mkdtemp() + "/store"
def per_event(n=200000):
    t = time.process_time()
    for _ in range(n):
        sys.audit("nbtrack.bench", 1)
    return (time.process_time() - t) / n
bare = min(per_event() for _ in range(3))
from IPython.testing.globalipapp import start_ipython
ip = start_ipython()
ip.run_line_magic("load_ext", "nbtrack")
ip.run_cell("x = 1")
from nbtrack.recording import recorder
if hasattr(recorder._recorder, "_opener"):  # (an nbtrack that opens its store in a thread)
    recorder._recorder._opener.join()
recorder._recorder.session.environment(30)
hooked = min(per_event() for _ in range(3))
from nbtrack.capture import lineage
spent = {"take": 0.0, "events": 0.0}
take = lineage.FileTracker.take
def timed_take(self):
    t = time.perf_counter()
    try:
        return take(self)
    finally:
        spent["take"] += time.perf_counter() - t
lineage.FileTracker.take = timed_take
trigger = ip.events.trigger
def timed_trigger(name, *a, **k):
    t = time.perf_counter()
    try:
        return trigger(name, *a, **k)
    finally:
        spent["events"] += time.perf_counter() - t
ip.events.trigger = timed_trigger
count = collections.Counter()
sys.addaudithook(lambda e, a: count.update((e,)))
t = time.perf_counter()
ip.run_cell(CODE)
cell = time.perf_counter() - t
n = sum(count.values())
print(repr((cell, n, count["open"], hooked - bare, spent["take"], spent["events"])))
"""


def hook_share(code: str, env: dict[str, str], repeats: int) -> dict[str, float]:
    rows = []
    for _ in range(repeats):
        out = subprocess.run(
            [sys.executable, "-c", f"CODE = {code!r}\n{SHARE}"],
            capture_output=True,
            text=True,
            env={**os.environ, **env},
            cwd=os.path.dirname(env["NBTRACK_STORE"]),
            check=True,
        ).stdout
        rows.append(eval(out.strip().splitlines()[-1]))
    keys = ["cell", "events", "opens", "per_event", "take", "hooks"]
    return {k: statistics.median(r[i] for r in rows) for i, k in enumerate(keys)}


def ms(v: float) -> str:
    return f"{v * 1000:.0f} ms"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--before", help="an older nbtrack source tree (the 'before' mode)")
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    header = machine_line("bench_load_ext.py" + (" --before DIR" if args.before else ""))
    modes = ["plain", "nbtrack"] + (["before"] if args.before else [])
    loads: dict[str, list[dict[str, float]]] = {m: [] for m in modes}
    imports: dict[tuple[str, str, bool], list[tuple[float, float]]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for rep in range(args.repeats):
            for mode in modes:
                loads[mode].append(load_case(mode, env_of(mode, args.before, tmp)))
            for code in IMPORTS:
                for mode in modes:
                    for settle in (False, True) if mode != "plain" else (False,):
                        r = import_case(mode, env_of(mode, args.before, tmp), code, settle)
                        imports.setdefault((code, mode, settle), []).append(r)
            print("repeat", rep + 1, "done", flush=True)
        itime = {m: importtime(env_of(m, args.before, tmp)) for m in modes if m != "plain"}
        shares = {
            (code, m): hook_share(code, env_of(m, args.before, tmp), args.repeats)
            for code in IMPORTS
            for m in modes
            if m != "plain"
        }

    def med(mode: str, key: str) -> float:
        return statistics.median(r[key] for r in loads[mode])

    load_rows = []
    for mode in modes:
        if mode == "plain":
            continue
        load_rows.append(
            f"| {mode} | {ms(med(mode, 'load'))} (CPU {ms(med(mode, 'load_cpu'))}) | "
            f"{ms(med(mode, 'next'))} | {ms(med(mode, 'settled'))} | "
            f"{itime[mode][0]:.0f} ms ({', '.join(itime[mode][1]) or 'none of sqlalchemy, psutil, numpy, pandas'}) |"
        )
    plain_pass = med("plain", "load")
    imp_rows = []
    for code in IMPORTS:
        b = imports[(code, "plain", False)]
        bw = statistics.median(w for w, _ in b)
        bc = statistics.median(c for _, c in b)
        cells = [f"{ms(bw)} (CPU {ms(bc)})"]
        for mode in modes[1:]:
            for settle in (False, True):
                r = imports[(code, mode, settle)]
                w = statistics.median(x for x, _ in r)
                c = statistics.median(y for _, y in r)
                cells.append(f"{(w - bw) * 1000:+.0f} ms (CPU {(c - bc) * 1000:+.0f} ms)")
        imp_rows.append(f"| `{code}` | " + " | ".join(cells) + " |")
    mode_heads = " | ".join(
        f"{m}: added right after load | {m}: added, start-up settled" for m in modes[1:]
    )
    share_rows = []
    for (code, mode), r in shares.items():
        hook = r["events"] * r["per_event"]
        share_rows.append(
            f"| `{code}` | {mode} | {ms(r['cell'])} | {r['events']:,.0f} ({r['opens']:,.0f} opens) | "
            f"{r['per_event'] * 1e9:.0f} ns | {ms(hook)} | {r['take'] * 1000:.1f} ms | "
            f"{r['hooks'] * 1000:.1f} ms |"
        )
    body = f"""{header} Medians of {args.repeats} fresh kernels per cell and mode, modes interleaved.

`%load_ext nbtrack` (a `pass` cell in a plain kernel, same position: {ms(plain_pass)}; a `pass`
cell before loading: {ms(med("plain", "pass"))}), the next cell right after it, a `pass` cell
1 s later, and what `python -X importtime` gives nbtrack's modules at load:

| mode | `%load_ext nbtrack` | next cell (`x = 1`) | `pass`, settled | imports at load |
|---|---|---|---|---|
{chr(10).join(load_rows)}

Import cells in fresh kernels: plain round trip (and the kernel's CPU time), and what nbtrack
adds, with the cell run right after `%load_ext` + `x = 1`, or 2 s later (start-up threads done):

| cell | plain | {mode_heads} |
|---|---|{"---|---|" * (len(modes) - 1)}
{chr(10).join(imp_rows)}

Where nbtrack's share of an import cell goes, in one IPython shell (nbtrack loaded, its
start-up threads done; medians of {args.repeats} processes): the audit events the import raises,
what nbtrack's audit hook costs per event (CPU, a `sys.audit` loop before and after loading)
and so in all, the time in `FileTracker.take` (the opened files sorted out) and in the pre/post
cell events (nbtrack's hooks, `take` included):

| cell | mode | cell | audit events | hook per event | hook in all | take | pre/post hooks |
|---|---|---|---|---|---|---|---|
{chr(10).join(share_rows)}
"""
    print(body)
    if not args.no_write:
        write_section(TITLE, body)


if __name__ == "__main__":
    main()

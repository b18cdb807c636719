"""Cost of capture: the lineage audit hook on file opens and imports, environment capture,
notebook revision (cached and not), file hashing and system samples.

    python bench/bench_capture.py

Writes the ``## Capture`` section of bench/RESULTS.md (other sections are left alone). Times are
CPU time of this process (``time.process_time``), not wall time: the machine is shared with other
jobs, and CPU time is what the capture costs the user's kernel. Subprocesses (git, nvidia-smi) are
timed by wall clock, as they are waited for.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from results import write_section  # noqa: E402

OPENS = 100_000
ROUNDS = 2
HOOK_REPEATS = 3
IMPORT_REPEATS = 5
IMPORTS = "pandas, sqlalchemy, email.mime.multipart, xml.dom.minidom, decimal, json, csv"

IMPORT_SCRIPT = f"""
import sys, time
from nbtrack.capture.lineage import FileTracker
mode = sys.argv[1]
if mode != "none":
    tracker = FileTracker()
    tracker.start()
    if mode == "off":
        tracker.stop()
t0 = time.process_time()
import {IMPORTS}
print(time.process_time() - t0)
"""


HOOK_SCRIPT = """
import json, sys, time, timeit
from nbtrack.capture.lineage import FileTracker
mode, path, opens, rounds = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
if mode == "trivial":
    sys.addaudithook(lambda event, args: None)
elif mode != "none":
    tracker = FileTracker()
    tracker.start()
    if mode == "off":
        tracker.stop()

def open_loop():
    t0 = time.process_time()
    for _ in range(opens):
        with open(path, "rb") as f:
            f.read()
    return (time.process_time() - t0) / opens

def audit_loop(event, n=100_000):
    stmt = f"audit({event!r}, path, 'r', 524288)"
    env = {"audit": sys.audit, "path": path}
    return min(timeit.repeat(stmt, globals=env, number=n, repeat=10, timer=time.process_time)) / n

print(json.dumps({
    "open": min(open_loop() for _ in range(rounds)),
    "audit_open": min(audit_loop("open") for _ in range(rounds)),
    "audit_other": min(audit_loop("nbtrack.bench") for _ in range(rounds)),
}))
"""


def timed(
    fn: Callable[[], object], repeat: int, clock: Callable[[], float] = time.process_time
) -> list[float]:
    out = []
    for _ in range(repeat):
        t0 = clock()
        fn()
        out.append(clock() - t0)
    return out


def bench_hook(tmp: Path) -> dict[str, dict[str, float]]:
    """Per-event cost (µs) without the hook, with it installed but stopped, and started: each
    mode in fresh interpreters (a hook cannot be removed), interleaved so drift hits all alike."""
    small = tmp / "small.txt"
    small.write_bytes(b"x" * 100)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    runs: dict[str, list[dict[str, float]]] = {"none": [], "trivial": [], "off": [], "on": []}
    for _ in range(HOOK_REPEATS):
        for mode in runs:
            argv = [sys.executable, "-c", HOOK_SCRIPT, mode, str(small), str(OPENS), str(ROUNDS)]
            out = subprocess.run(argv, env=env, capture_output=True, text=True, check=True)
            runs[mode].append(json.loads(out.stdout))
    return {mode: {k: min(r[k] for r in rs) * 1e6 for k in rs[0]} for mode, rs in runs.items()}


def bench_take(tmp: Path) -> dict[str, float]:
    from nbtrack.capture.lineage import FileTracker

    files = []
    for i in range(1000):
        p = tmp / f"f{i}.txt"
        p.write_bytes(b"y")
        files.append(str(p))
    tracker = FileTracker()
    tracker.start()
    for p in files:
        with open(p, "rb") as f:
            f.read()
    take_1000 = timed(tracker.take, 1)[0]
    for _ in range(1000):
        with open(files[0], "rb") as f:
            f.read()
    take_1 = timed(tracker.take, 1)[0]
    tracker.stop()
    return {"take_1_ms": take_1 * 1e3, "take_1000_ms": take_1000 * 1e3}


def bench_imports() -> dict[str, float]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    results: dict[str, list[float]] = {"none": [], "off": [], "on": []}
    for _ in range(IMPORT_REPEATS):
        for mode in results:  # interleaved, so drift hits every mode alike
            out = subprocess.run(
                [sys.executable, "-c", IMPORT_SCRIPT, mode],
                env=env,
                capture_output=True,
                text=True,
                check=True,
            )
            results[mode].append(float(out.stdout.strip()))
    return {mode: min(v) * 1e3 for mode, v in results.items()}


def bench_environment() -> dict[str, float]:
    from nbtrack.capture.environment import capture_environment, environment_bytes

    first = timed(capture_environment, 1)[0]
    later = timed(capture_environment, 5)
    env = capture_environment()
    blob = environment_bytes(env)
    return {
        "first_ms": first * 1e3,
        "median_ms": statistics.median(later) * 1e3,
        "packages": len(env["packages"]),
        "bytes": len(blob),
        "bytes_ms": statistics.median(timed(lambda: environment_bytes(env), 20)) * 1e3,
    }


def git(repo: Path, *args: str) -> None:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "b",
        "GIT_AUTHOR_EMAIL": "b@example.com",
        "GIT_COMMITTER_NAME": "b",
        "GIT_COMMITTER_EMAIL": "b@example.com",
    }
    subprocess.run(["git", *args], cwd=repo, env=env, check=True, capture_output=True)


def bench_revision(tmp: Path) -> dict[str, float]:
    from nbtrack.capture import revision
    from nbtrack.store import blobs  # noqa: F401  (its import is not the capture's cost)

    repo = tmp / "repo"
    repo.mkdir()
    git(repo, "init", "-q")
    for i in range(200):
        (repo / f"module_{i}.py").write_text(f"X = {i}\n" * 50)
    notebook = repo / "analysis.ipynb"
    notebook.write_text('{"cells": [' + ",".join(['{"source": "x = 1"}'] * 2000) + "]}")
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "init")

    def uncached() -> None:
        revision.clear_cache()
        revision.capture_revision(str(notebook))

    clean = statistics.median(timed(uncached, 20, time.perf_counter))  # waits for git: wall time
    (repo / "module_3.py").write_text("X = 'changed'\n")
    (repo / "scratch.txt").write_text("new")
    dirty = statistics.median(timed(uncached, 20, time.perf_counter))
    revision.capture_revision(str(notebook))
    n = 10_000
    t0 = time.process_time()
    for _ in range(n):
        revision.capture_revision(str(notebook))
    cached = (time.process_time() - t0) / n
    return {
        "notebook_kb": notebook.stat().st_size / 1024,
        "clean_ms": clean * 1e3,
        "dirty_ms": dirty * 1e3,
        "cached_us": cached * 1e6,
    }


def bench_file_hash(tmp: Path) -> dict[str, float]:
    from nbtrack.capture.lineage import FileTracker

    big = tmp / "big.bin"
    size = 256 * 2**20
    with open(big, "wb") as f:
        for _ in range(size // 2**20):
            f.write(os.urandom(2**20))
    tracker = FileTracker()
    first = timed(lambda: tracker.file_hash(str(big)), 1)[0]
    cached = statistics.median(timed(lambda: tracker.file_hash(str(big)), 1000))
    return {"gb_per_s": size / first / 1e9, "cached_us": cached * 1e6}


def bench_system() -> dict[str, float]:
    from nbtrack.capture.system import sample_system

    sample_system()
    return {"sample_us": statistics.median(timed(sample_system, 1000)) * 1e6}


def main() -> None:
    load = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        hook = bench_hook(tmp)
        take = bench_take(tmp)
        imports = bench_imports()
        environment = bench_environment()
        rev = bench_revision(tmp)
        fh = bench_file_hash(tmp)
    system = bench_system()

    def pct(x: float, base: float) -> str:
        return f"{(x / base - 1) * 100:+.0f}%"

    lines = [
        "## Capture",
        "",
        f"`python bench/bench_capture.py` on {os.cpu_count()} cores, Python "
        f"{platform.python_version()}, {time.strftime('%Y-%m-%d')}, load average at start "
        f"{load:.1f} (other jobs share the machine: compare rows, not runs).",
        "",
        f"Lineage audit hook (`nbtrack/capture/lineage.py`); each mode in {HOOK_REPEATS} fresh "
        "interpreters (interleaved), best of all rounds (the least disturbed by other jobs):",
        "",
        f"| | open/read/close of a 100-byte file (x{OPENS:,}) | one `open` audit event "
        "| one other audit event |",
        "|---|---|---|---|",
        *(
            f"| {label} | {hook[m]['open']:.2f} µs ({pct(hook[m]['open'], hook['none']['open'])}) "
            f"| {hook[m]['audit_open'] * 1e3:.0f} ns | {hook[m]['audit_other'] * 1e3:.0f} ns |"
            for m, label in (
                ("none", "no hook installed"),
                ("trivial", "a do-nothing hook (`lambda event, args: None`), the floor"),
                ("off", "hook installed, tracker stopped"),
                ("on", "tracker started"),
            )
        ),
        "",
        f"`take()` after 1,000 opens of one file: {take['take_1_ms']:.2f} ms; "
        f"after opening 1,000 distinct files: {take['take_1000_ms']:.1f} ms.",
        "",
        f"Importing `{IMPORTS}` in a fresh interpreter (best of {IMPORT_REPEATS}): "
        f"no hook {imports['none']:.0f} ms, hook off {imports['off']:.0f} ms "
        f"({pct(imports['off'], imports['none'])}), tracker started {imports['on']:.0f} ms "
        f"({pct(imports['on'], imports['none'])}).",
        "",
        f"`capture_environment()`: first call {environment['first_ms']:.0f} ms, then "
        f"{environment['median_ms']:.0f} ms (median of 5); {environment['packages']} distributions; "
        f"`environment_bytes` {environment['bytes'] / 1024:.1f} KiB in {environment['bytes_ms']:.2f} ms.",
        "",
        f"`capture_revision()` of a {rev['notebook_kb']:.0f} KiB notebook in a 200-file git repo: "
        f"uncached (wall time) {rev['clean_ms']:.1f} ms clean (one `git status`), {rev['dirty_ms']:.1f} ms dirty "
        f"(`git status` + `git diff HEAD`); cached {rev['cached_us']:.1f} µs per call "
        "(recomputed at most once a second, or at once when the notebook, HEAD, index or branch ref changes).",
        "",
        f"`FileTracker.file_hash`: {fh['gb_per_s']:.1f} GB/s on a 256 MiB file (page cache warm), "
        f"{fh['cached_us']:.1f} µs when cached.",
        "",
        f"`sample_system()`: {system['sample_us']:.0f} µs per sample (no GPU on this machine).",
    ]
    text = "\n".join(lines)
    write_section("Capture", text.split("\n", 1)[1])
    print(text)


if __name__ == "__main__":
    main()

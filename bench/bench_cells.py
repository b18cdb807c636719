"""Per-cell cost of state hashing where it grows with the user's data (#19, #18 finding 7): a
1,000,000-element list appended to, a 1,000,000-entry dict updated, 10,000 small variables, a
5,000,000-entry dict touched, a slow ``__reduce_ex__`` -- each beside plain execution of the same
cell in a kernel without nbtrack, interleaved in the same run; with ``--before DIR``, also an
older nbtrack source tree (put first on the third kernel's ``PYTHONPATH``), interleaved too.

    python bench/bench_cells.py [--before DIR]

Writes the ``## State hashing per cell`` section of bench/RESULTS.md (other sections are left alone).
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
import uuid

from bench_core import Kernel, hook_time
from results import machine_line, write_section

SECTION = "State hashing per cell"

CASES = [
    (
        "append one tuple to a 1,000,000-element list",
        "results = [(i, f'name-{i}', i * 0.5) for i in range(1_000_000)]",
        "results.append((1, 'new', 0.5))",
        20,
        "≤ 20 ms",
    ),
    (
        "set one key in a 1,000,000-entry dict",
        "cache = {f'k{i}': (i, i * 0.5) for i in range(1_000_000)}",
        "cache[len(cache)] = (1, 2.0)",
        20,
        "≤ 20 ms",
    ),
    (
        "update one value in a 1,000,000-entry dict",
        "",
        "cache['k500000'] = (len(cache), 3.0)",
        20,
        "≤ 20 ms",
    ),
    (
        "10,000 small variables, a cell touching one",
        "for _i in range(10_000):\n    globals()[f'v{_i}'] = [_i, 'x'] if _i % 2 else {'k': _i}",
        "x = 1",
        50,
        "≤ 5 ms",
    ),
    (
        "set one key in a 5,000,000-entry dict",
        "big = {i: i * 0.5 for i in range(5_000_000)}",
        "big[len(big)] = 1.0",
        10,
        "bounded (was 6-7 s)",
    ),
]

SLOW = (
    "import time\nclass Slow:\n    def __reduce_ex__(self, protocol):\n"
    "        time.sleep(10)\n        return (Slow, ())\n"
)


def per_cell(kernels: list[Kernel], code: str, n: int) -> list[float]:
    """Median round trip of ``code`` in each kernel, interleaved so all see the same noise."""
    times: list[list[float]] = [[] for _ in kernels]
    for _ in range(n):
        for k, t in zip(kernels, times, strict=True):
            t.append(k.run(code))
    return [statistics.median(t) for t in times]


def figures(store: str, before: str | None = None) -> list[str]:
    plain, tracked = Kernel({}), Kernel({"NBTRACK_STORE": store})
    kernels = [plain, tracked]
    if before:
        path = os.pathsep.join(filter(None, [before, os.environ.get("PYTHONPATH")]))
        kernels.append(Kernel({"NBTRACK_STORE": store + "-before", "PYTHONPATH": path}))
    rows = []
    try:
        for k in kernels[1:]:
            k.run("%load_ext nbtrack")
        for name, setup, code, n, target in CASES:
            made = [k.run(setup) for k in kernels] if setup else []
            setup_note = (
                f"; the creating cell {made[0] * 1e3:,.0f} → {made[1] * 1e3:,.0f} ms"
                if made
                else ""
            )
            base, with_nbt, *old = per_cell(kernels, code, n)
            hook = hook_time(tracked, code, max(5, n // 2))
            before_note = ""
            if old:
                old_hook = hook_time(kernels[2], code, max(5, n // 2))
                before_note = (
                    f"; before: {(old[0] - base) * 1e3:.1f} ms, hook {old_hook * 1e3:.1f} ms"
                    + (f", creating cell {made[2] * 1e3:,.0f} ms" if made else "")
                )
            rows.append(
                f"| {name} | {(with_nbt - base) * 1e3:.1f} ms (round trip {base * 1e3:.1f} → "
                f"{with_nbt * 1e3:.1f} ms; nbtrack's hook {hook * 1e3:.1f} ms{setup_note}"
                f"{before_note}) | {target} |"
            )
        for k in (plain, tracked):
            k.run("del results, cache, big")
            k.run(SLOW)
        t0 = time.perf_counter()
        plain.run("slow = Slow()")
        t_plain = time.perf_counter() - t0
        t0 = time.perf_counter()
        tracked.run("slow = Slow()")
        t_tracked = time.perf_counter() - t0
        state = tracked.value("nbtrack.recording.recorder._recorder.state.get('slow')")
        rows.append(
            f"| a cell creating an object whose `__reduce_ex__` sleeps 10 s | "
            f"{(t_tracked - t_plain) * 1e3:,.0f} ms (round trip {t_plain * 1e3:.1f} → "
            f"{t_tracked * 1e3:,.0f} ms; recorded as {state[:42]}…) | ≤ budget (2 s) |"
        )
    finally:
        for k in kernels:
            k.close()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--before", help="an older nbtrack source tree, measured beside")
    args = parser.parse_args()
    header = machine_line("bench_cells.py" + (" --before DIR" if args.before else ""))
    with tempfile.TemporaryDirectory() as tmp:
        rows = figures(os.path.join(tmp, f"store-{uuid.uuid4().hex[:6]}"), args.before)
    body = f"""{header}

Added per cell by nbtrack: median round trip of the same cell in a plain kernel and in one with
`%load_ext nbtrack`, interleaved in the same run (20 cells each; 50 for the namespace, 10 for the
5M dict); "hook" is the median time inside nbtrack's post-cell hook, measured in the kernel. The
creating cell (a full hash of the new container, within the per-cell budget) is shown once.
"before" (with ``--before DIR``): the same cells in a third kernel running an older nbtrack.
Hashing budget: `NBTRACK_HASH_SECONDS` 2 s, `NBTRACK_HASH_BYTES` 4 GiB (defaults).

| cell | added by nbtrack (vs plain execution) | target |
|---|---|---|
{chr(10).join(rows)}

The machine is shared: compare rows within a run, and see ``bench_hashing.py`` for the
in-process cost of one update.

The real-notebook corpus (per cell, replay) is measured by ``bench_corpus.py``: see "Real-notebook
corpus".
"""
    write_section(SECTION, body)
    print(body)


if __name__ == "__main__":
    main()

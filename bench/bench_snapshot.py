"""Cost of the code snapshot beside 100,000 small data files, before and after the bounded walk
(.gitignore followed, ignored directories pruned, NBTRACK_SNAPSHOT_MAX_FILES).

    python bench/bench_snapshot.py [--before REV]

"Before" is the snapshot module of git revision REV (default: the commit before the bounded
walk), loaded into the same kernel in place of the current one. Writes the ``## Code snapshot``
section of bench/RESULTS.md. Wall times of a ``%%track`` cell (``x = 1``) in a real kernel
whose notebook directory holds the files, median of 3 runs after a first (the first stores
the blobs); runs are 1.2 s apart, as runs ending within a second share one snapshot.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from results import machine_line, write_section  # noqa: E402

FILES = 100_000
BEFORE = "1b18052"  # the last commit with the unbounded walk


class Kernel:
    def __init__(self, env: dict[str, str], cwd: Path):
        from jupyter_client.manager import KernelManager

        self.km = KernelManager(kernel_name="python3")
        self.km.start_kernel(
            env={**os.environ, **env},
            cwd=str(cwd),
            extra_arguments=["--IPKernelApp.log_level=ERROR"],
        )
        self.kc = self.km.client()
        self.kc.start_channels()
        self.kc.wait_for_ready(timeout=60)

    def run(self, code: str) -> float:
        t = time.perf_counter()
        reply = self.kc.execute_interactive(code, timeout=600, output_hook=lambda msg: None)
        elapsed = time.perf_counter() - t
        assert reply["content"]["status"] == "ok", reply["content"]
        return elapsed

    def value(self, expr: str) -> Any:
        reply = self.kc.execute_interactive(
            "", user_expressions={"v": expr}, timeout=60, output_hook=lambda m: None
        )
        return reply["content"]["user_expressions"]["v"]["data"]["text/plain"]

    def close(self) -> None:
        self.kc.stop_channels()
        self.km.shutdown_kernel(now=True)


def make_dir(root: Path, layout: str) -> Path:
    """A notebook directory beside 100,000 small files: ``ignored`` in data/ named in
    .gitignore, ``flat`` directly beside the notebook and not ignored."""
    nb = root / layout
    nb.mkdir()
    (nb / "analysis.ipynb").write_text("{}")
    (nb / "helpers.py").write_text("X = 1\n")
    where = nb
    if layout == "ignored":
        (nb / ".gitignore").write_text("data/\n")
        where = nb / "data"
        where.mkdir()
    for i in range(FILES):
        (where / f"part-{i:06d}.csv").write_bytes(b"a,b\n1,2\n")
    return nb


def track_times(nb: Path, store: Path, old_module: Path | None) -> tuple[float, float, int]:
    k = Kernel({"JPY_SESSION_NAME": str(nb / "analysis.ipynb"), "NBTRACK_STORE": str(store)}, nb)
    try:
        if old_module is not None:
            k.run(
                "import importlib.util, nbtrack.capture.snapshot as _s\n"
                f"_spec = importlib.util.spec_from_file_location('_old_snapshot', {str(old_module)!r})\n"
                "_m = importlib.util.module_from_spec(_spec); _spec.loader.exec_module(_m)\n"
                "_s.capture_snapshot = _m.capture_snapshot"
            )
        k.run("%load_ext nbtrack")
        first = k.run("%%track\nx = 1")
        times = []
        for _ in range(3):
            time.sleep(1.2)
            times.append(k.run("%%track\nx = 1"))
    finally:
        k.close()
    from nbtrack.capture.snapshot import snapshot_files
    from nbtrack.store import open_store

    st = open_store(str(store))
    row = st.run_summaries(st.list_run_ids()[:1])[0]
    files = len(snapshot_files(st, row["snapshot_hash"])) if row.get("snapshot_hash") else 0
    st.close()
    return first, statistics.median(times), files


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--before", default=BEFORE)
    args = ap.parse_args()
    head = machine_line("bench_snapshot.py")
    rows = []
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        old = tmp / "old" / "capture" / "snapshot.py"  # its parents[1] (nbtrack's home) is old/
        old.parent.mkdir(parents=True)
        old.write_text(
            subprocess.run(
                ["git", "show", f"{args.before}:nbtrack/capture/snapshot.py"],
                cwd=ROOT,
                capture_output=True,
                text=True,
                check=True,
            ).stdout
        )
        for layout, label in (
            ("ignored", f"{FILES:,} files in `data/`, named in `.gitignore`"),
            ("flat", f"{FILES:,} files beside the notebook, not ignored"),
        ):
            nb = make_dir(tmp, layout)
            figures = {}
            for which, module in (("before", old), ("after", None)):
                store = tmp / f"store-{layout}-{which}"
                figures[which] = track_times(nb, store, module)
                print(layout, which, figures[which], flush=True)
            b, a = figures["before"], figures["after"]
            rows.append(
                f"| {label} | {b[1] * 1e3:,.0f} ms ({b[2]} files; first run {b[0]:.1f} s) "
                f"| {a[1] * 1e3:,.0f} ms ({a[2]} files; first run {a[0]:.1f} s) |"
            )
    body = "\n".join(
        [
            head,
            "",
            "Wall time of a `%%track` cell (`x = 1`) in a real kernel whose notebook directory "
            "holds the files: median of 3 runs after the first (which stores the blobs), and how "
            "many files the run's snapshot holds. Before: the unbounded walk "
            f"(`{args.before}`, every file stat-ed, `.gitignore` not read); after: "
            "`.gitignore` followed, ignored directories never listed, at most "
            "`NBTRACK_SNAPSHOT_MAX_FILES` (2,000) files examined. Before and after run one after the other: compare rows, not runs.",
            "",
            "| directory | before | after |",
            "|---|---|---|",
            *rows,
        ]
    )
    write_section("Code snapshot", body)
    print(body)


if __name__ == "__main__":
    main()

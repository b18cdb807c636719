"""Peak memory of ``nbtrack import-runs`` and ``nbtrack replay --bundle``, measured with
``/usr/bin/time -v`` (maximum resident set size of the command and its children), each under an 8 GB
address-space limit (prlimit), as other jobs share the machine.

    python bench/bench_import.py [--label before|after]

Bundles: an ``export-runs`` zip of 20 runs x 5 metrics x 10,000 steps (1,000,000 points), a
crafted one of about 1 MB whose metrics member unpacks to 1 GB of rows (deflate packs
the same line ~1,000 to 1), and an ``export -f bundle`` zip of a two-cell run with a crafted
1 GB snapshot member (zeros, ~1 MB packed). Figures go to ``## Imports (memory)`` of
bench/RESULTS.md, one row per label: run it with ``--label before`` on the old code and
``--label after`` on the new one.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from results import RESULTS, machine_line, write_section  # noqa: E402

NBTRACK = str(ROOT / ".venv" / "bin" / "nbtrack")
PYTHON = str(ROOT / ".venv" / "bin" / "python")
TITLE = "Imports (memory)"
LIMIT = 8 << 30  # address space per command: the machine is shared, the old code took 8 GB
BOMB = 1 << 30  # bytes the crafted metrics member unpacks to


def peak(argv: list[str], env: dict[str, str] | None = None) -> tuple[float, float, str]:
    """(peak RSS in MB, wall seconds, last stderr line) of ``argv``."""
    out = subprocess.run(
        ["/usr/bin/time", "-v", "prlimit", f"--as={LIMIT}", *argv],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
    )
    rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", out.stderr).group(1))
    wall = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): ([\d:.]+)", out.stderr)
    parts = [float(p) for p in wall.group(1).split(":")]
    seconds = sum(p * 60**i for i, p in enumerate(reversed(parts)))
    lines = [
        line
        for line in out.stderr.splitlines()
        if line.strip()
        and not line.startswith("\t")
        and not line.startswith(("Command being timed", "Command exited"))
    ]
    return rss / 1024, seconds, (lines[-1] if lines else f"exit {out.returncode}")[:120]


def make_store(store: Path) -> None:
    code = (
        "import nbtrack\n"
        "for r in range(20):\n"
        "    with nbtrack.start_run(name=f'r{r}'):\n"
        "        nbtrack.log_params({'lr': 0.1, 'seed': r})\n"
        "        for step in range(10_000):\n"
        "            nbtrack.log_metrics({f'm{k}': step * 0.001 + k for k in range(5)}, step=step)\n"
    )
    subprocess.run(
        [PYTHON, "-c", code], env={**os.environ, "NBTRACK_STORE": str(store)}, check=True
    )


def bomb_runs_zip(good: Path, out: Path, target_bytes: int) -> None:
    """``good`` with its metrics member replaced by one row repeated to ``target_bytes``; the
    manifest's count follows, so only the size tells it apart."""
    with zipfile.ZipFile(good) as zin:
        manifest = json.loads(zin.read("nbtrack-runs.json"))
        first = zin.open("tables/metrics.jsonl").readline()
        repeats = target_bytes // len(first)
        manifest["tables"]["metrics"] = repeats
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zout:
            for item in zin.infolist():
                if item.filename == "tables/metrics.jsonl":
                    with zout.open("tables/metrics.jsonl", "w", force_zip64=True) as w:
                        block = first * 10_000
                        for _ in range(repeats // 10_000):
                            w.write(block)
                elif item.filename == "nbtrack-runs.json":
                    zout.writestr(item.filename, json.dumps(manifest))
                else:
                    zout.writestr(item, zin.read(item.filename))


def bomb_bundle(tmp: Path, out: Path) -> None:
    store = tmp / "bundle-store"
    nb = tmp / "nb"
    nb.mkdir()
    code = (
        "import os, sys\n"
        "from jupyter_client.manager import KernelManager\n"
        "km = KernelManager(kernel_name='python3')\n"
        f"km.start_kernel(env={{**os.environ, 'NBTRACK_STORE': {str(store)!r}}}, cwd={str(nb)!r})\n"
        "kc = km.client(); kc.start_channels(); kc.wait_for_ready(timeout=60)\n"
        "for c in ['%load_ext nbtrack', '%%track --name b\\nx = 1\\ny = x + 1']:\n"
        "    r = kc.execute_interactive(c, timeout=120, output_hook=lambda m: None)\n"
        "    assert r['content']['status'] == 'ok', r['content']\n"
        "kc.stop_channels(); km.shutdown_kernel(now=True)\n"
    )
    subprocess.run([PYTHON, "-c", code], check=True)
    good = tmp / "good-bundle.zip"
    from nbtrack.store import open_store

    st = open_store(str(store))
    rid = st.list_run_ids()[0]
    st.close()
    subprocess.run(
        [NBTRACK, "export", rid, "-f", "bundle", "-o", str(good), "--store", str(store)],
        check=True,
    )
    with zipfile.ZipFile(good) as zin, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, 9) as z:
        for item in zin.infolist():
            z.writestr(item, zin.read(item.filename))
        with z.open("snapshot/zeros.bin", "w", force_zip64=True) as w:
            block = b"\0" * (1 << 20)
            for _ in range(1024):
                w.write(block)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--label", default="after")
    args = ap.parse_args()
    rows = []
    with tempfile.TemporaryDirectory(dir=os.environ.get("BENCH_TMP")) as d:
        tmp = Path(d)
        make_store(tmp / "src")
        good = tmp / "runs.zip"
        subprocess.run(
            [NBTRACK, "export-runs", "-o", str(good), "--store", str(tmp / "src")],
            check=True,
            capture_output=True,
        )
        bomb = tmp / "bomb.zip"
        bomb_runs_zip(good, bomb, BOMB)
        bundle = tmp / "bundle.zip"
        bomb_bundle(tmp, bundle)
        cases = [
            (f"import-runs, {good.stat().st_size / 1e6:.1f} MB zip, 1,000,000 points", good),
            (
                f"import-runs, {bomb.stat().st_size / 1e6:.1f} MB zip unpacking to {BOMB >> 30} GB",
                bomb,
            ),
        ]
        for label, path in cases:
            mb, secs, last = peak(
                [NBTRACK, "import-runs", str(path), "--store", str(tmp / label[:30])]
            )
            rows.append(f"| {args.label} | {label} | {mb:,.0f} MB | {secs:.1f} s | {last} |")
            print(rows[-1], flush=True)
        mb, secs, last = peak(
            [NBTRACK, "replay", "--bundle", str(bundle), "--store", str(tmp / "replayed")]
        )
        label = f"replay --bundle, {bundle.stat().st_size / 1e6:.1f} MB zip with a 1 GB member"
        rows.append(f"| {args.label} | {label} | {mb:,.0f} MB | {secs:.1f} s | {last} |")
        print(rows[-1], flush=True)
    old = RESULTS.read_text() if RESULTS.exists() else ""
    kept = []
    if f"## {TITLE}" in old:
        section = old.split(f"## {TITLE}", 1)[1].split("\n## ", 1)[0]
        kept = [
            line
            for line in section.splitlines()
            if line.startswith("| ") and not line.startswith(("| code", f"| {args.label} "))
        ]
    body = "\n".join(
        [
            machine_line("bench_import.py"),
            "",
            "Peak resident memory (`/usr/bin/time -v`, the command and its kernel) and wall time; "
            "the last column is the command's last line on stderr.",
            "",
            "| code | command | peak RSS | wall | outcome |",
            "|---|---|---|---|---|",
            *kept,
            *rows,
        ]
    )
    write_section(TITLE, body)
    print(body)


if __name__ == "__main__":
    main()

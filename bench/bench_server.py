"""Server and sidebar: list-endpoint latency at 100,000 runs, sidebar first paint at 10,000 runs.

    python bench/bench_server.py [--runs 100000] [--sidebar-runs 10000] [--requests 300] [--no-browser]

Builds synthetic stores with bench/search_data.py (10 params, 10 metrics, 5 tags per run),
starts a real ``jupyter server`` / ``jupyter lab`` on 127.0.0.1 with a token and times real
HTTP requests (one keep-alive connection, sequential) and real headless Chromium (Debian's).
Writes the ``## Server and sidebar`` section of bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import statistics
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))  # the e2e tests' harness
from browser import ARTIFACTS, chromium_page, jupyter_lab  # noqa: E402
from results import machine_line, write_section  # noqa: E402
from search_data import build_nbtrack  # noqa: E402


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def time_requests(srv: dict[str, object], path: str, n: int) -> dict[str, float]:
    conn = http.client.HTTPConnection("127.0.0.1", int(srv["port"]), timeout=60)  # type: ignore[call-overload]
    headers = {"Authorization": f"token {srv['token']}"}
    times, size = [], 0
    for i in range(n + 5):
        t = time.perf_counter()
        conn.request("GET", path, headers=headers)
        response = conn.getresponse()
        body = response.read()
        elapsed = time.perf_counter() - t
        if response.status != 200:
            raise RuntimeError(f"{path}: {response.status} {body[:300]!r}")
        if i >= 5:  # warm-up
            times.append(elapsed * 1000)
            size = len(body)
    conn.close()
    return {
        "p50": statistics.median(times),
        "p99": percentile(times, 0.99),
        "max": max(times),
        "bytes": size,
    }


def bench_list(n_runs: int, n_requests: int, tmp: str) -> tuple[str, float]:
    store = os.path.join(tmp, "store-list")
    t = time.perf_counter()
    build_nbtrack(store, n_runs, history_runs=100)
    built = time.perf_counter() - t
    cases = {
        "first page, 100 runs, newest first (what the sidebar asks)": "runs?max_results=100",
        "first page, 200 runs (the sidebar's default page)": "runs?max_results=200",
        "filter `metrics.acc > 0.9 and params.model = 'rf'`, 100 runs": "runs?"
        + urllib.parse.urlencode(
            {"filter": "metrics.acc > 0.9 and params.model = 'rf'", "max_results": 100}
        ),
        "order by `metrics.loss ASC`, 100 runs": "runs?"
        + urllib.parse.urlencode({"order_by": "metrics.loss ASC", "max_results": 100}),
        "experiments with run counts": "experiments",
    }
    rows = []
    first_p99 = 0.0
    with jupyter_lab(Path(tmp, "server"), Path(tmp), store=store, app="server") as srv:
        # a page deep in the list, through the token the server handed out
        conn = http.client.HTTPConnection("127.0.0.1", int(srv["port"]))  # type: ignore[call-overload]
        token_path, pages = "runs?max_results=100", 1
        while pages < 51:
            conn.request(
                "GET",
                "/nbtrack/api/" + token_path,
                headers={"Authorization": f"token {srv['token']}"},
            )
            token = json.loads(conn.getresponse().read())["next_page_token"]
            if not token:
                break
            token_path = "runs?" + urllib.parse.urlencode({"max_results": 100, "page_token": token})
            pages += 1
        cases[f"page {pages} (after {(pages - 1) * 100:,} runs) via page_token"] = token_path
        for label, path in cases.items():
            r = time_requests(srv, "/nbtrack/api/" + path, n_requests)
            if label.startswith("first page, 100"):
                first_p99 = r["p99"]
            rows.append(
                f"| {label} | {r['p50']:.1f} | {r['p99']:.1f} | {r['max']:.1f} | {r['bytes'] / 1024:.0f} |"
            )
    table = "\n".join(
        [
            "| request (GET /nbtrack/api/...) | p50 ms | p99 ms | max ms | response KiB |",
            "|---|---|---|---|---|",
            *rows,
        ]
    )
    text = (
        f"List endpoint against a store of {n_runs:,} runs (built in {built:.0f} s), {n_requests} sequential "
        f"requests per row over one keep-alive connection after 5 warm-up requests, latency as the client sees it "
        f"(token auth, JSON encoding, store work on the extension's thread pool):\n\n{table}"
    )
    return text, first_p99


def bench_sidebar(n_runs: int, tmp: str, rounds: int = 5) -> tuple[str, float]:
    store = os.path.join(tmp, "store-sidebar")
    build_nbtrack(store, n_runs, history_runs=10)
    measure = """async () => {
        const t0 = performance.now();
        await window.jupyterapp.commands.execute('nbtrack:open-sidebar');
        await new Promise(resolve => {
            const check = () => document.querySelector('.nbtrack-run') ? resolve() : requestAnimationFrame(check);
            check();
        });
        await new Promise(r => requestAnimationFrame(() => r()));
        return [performance.now() - t0, document.querySelectorAll('.nbtrack-run').length];
    }"""
    times, rows_shown = [], 0
    with (
        jupyter_lab(Path(tmp, "lab"), Path(tmp), store=store) as srv,
        chromium_page({"width": 1400, "height": 900}) as page,
    ):
        for i in range(rounds + 1):
            # a fresh workspace each round, so the sidebar starts closed and nothing is cached in the page
            page.goto(f"{srv['url']}/lab/workspaces/bench{i}?reset&token={srv['token']}")
            page.wait_for_function(
                "() => window.jupyterapp && window.jupyterapp.commands.hasCommand('nbtrack:open-sidebar')",
                timeout=120_000,
            )
            page.wait_for_timeout(1500)  # let the rest of JupyterLab settle
            elapsed, rows_shown = page.evaluate(measure)
            if i:  # the first round warms the server's caches
                times.append(elapsed)
        page.screenshot(path=str(ARTIFACTS / "bench-sidebar-10k.png"))
    text = (
        f"Sidebar first paint with {n_runs:,} runs in the store: from running the *Show nbtrack Runs* command "
        f"(panel opens) to the first page of rows painted ({rows_shown} rows, the default page; more load on "
        f"demand), in Debian's headless Chromium, JupyterLab restored in a fresh workspace each round, "
        f"{rounds} rounds after one warm-up: median {statistics.median(times):.0f} ms, "
        f"max {max(times):.0f} ms (target <= 500 ms)."
    )
    return text, statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=100_000)
    parser.add_argument("--sidebar-runs", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=100)
    parser.add_argument("--no-browser", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="nbtrack-bench-server-") as tmp:
        parts = [machine_line("bench_server.py")]
        text, p99 = bench_list(args.runs, args.requests, tmp)
        print(text)
        parts += [
            text,
            f"Target p99 <= 100 ms for the sidebar's list request: {'met' if p99 <= 100 else 'NOT met'} ({p99:.1f} ms).",
        ]
        if not args.no_browser:
            text, median = bench_sidebar(args.sidebar_runs, tmp)
            print(text)
            parts.append(text)
        write_section("Server and sidebar", "\n\n".join(parts))


if __name__ == "__main__":
    main()

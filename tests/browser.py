"""A real JupyterLab on loopback and a real headless Chromium (Debian's), for end-to-end tests."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
IDLE_KERNEL = (
    "(name) => { const p = window.jupyterapp.shell.currentWidget; return p && p.sessionContext"
    " && (!name || (p.context && p.context.path === name))"
    " && p.sessionContext.session && p.sessionContext.session.kernel"
    " && p.sessionContext.session.kernel.status === 'idle'; }"
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def require_browser() -> None:
    pytest.importorskip("playwright")
    if not os.path.exists(CHROMIUM):
        pytest.skip("Debian's chromium is not installed")


@contextmanager
def jupyter_lab(
    base: Path,
    root: Path,
    settings: dict[str, dict[str, Any]] | None = None,
    *,
    store: str | None = None,
    app: str = "lab",
    server_args: Sequence[str] = (),
) -> Iterator[dict[str, Any]]:
    """``jupyter lab`` (or, with ``app="server"``, a bare ``jupyter server``) serving ``root`` on
    127.0.0.1 with a token; its own config, runtime and settings directories under ``base``;
    ``settings`` maps "<plugin dir>/<file>" to JSON. Without ``store`` the nbtrack store is the
    one beside the notebook. ``server_args`` go on the command line as they are."""
    token, port = uuid.uuid4().hex, free_port()
    env = {k: v for k, v in os.environ.items() if k != "NBTRACK_STORE"}
    if store is not None:
        env["NBTRACK_STORE"] = store
    for name in (
        "JUPYTER_CONFIG_DIR",
        "JUPYTER_RUNTIME_DIR",
        "JUPYTERLAB_SETTINGS_DIR",
        "JUPYTERLAB_WORKSPACES_DIR",
    ):
        env[name] = str(base / name.lower())
    for rel, value in {
        "@jupyterlab/apputils-extension/notification": {"fetchNews": "false"},
        **(settings or {}),
    }.items():
        path = base / "jupyterlab_settings_dir" / f"{rel}.jupyterlab-settings"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(value))
    log_path = base / f"{app}.log"
    cmd = [
        sys.executable,
        "-m",
        "jupyterlab" if app == "lab" else "jupyter_server",
        "--no-browser",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={root}",
        "--allow-root",
    ]
    if app == "lab":
        cmd.append("--LabApp.expose_app_in_browser=True")
    cmd.extend(server_args)
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=root)
        url = f"http://127.0.0.1:{port}"
        deadline = time.time() + 90
        while True:
            try:
                req = urllib.request.Request(
                    f"{url}/api/status", headers={"Authorization": f"token {token}"}
                )
                urllib.request.urlopen(req, timeout=2).read()
                break
            except OSError:
                if proc.poll() is not None or time.time() > deadline:
                    proc.kill()
                    raise RuntimeError(log_path.read_text()[-3000:]) from None
                time.sleep(0.5)
        try:
            yield {"url": url, "port": port, "token": token, "root": root, "log": log_path}
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()


# JupyterLab's note that a plugin was slow to activate: it says the machine is loaded, nothing else
SLOW_PLUGIN = re.compile(
    r"^Plugin \S+ (\(with \d+ dependants\) took [\d.]+ms|is taking too long) to activate\.$"
)


@contextmanager
def chromium_page(viewport: dict[str, int], block_external: bool = False) -> Iterator[Any]:
    """A page in headless Chromium; ``page.errors`` collects script errors, ``page.console`` the
    console's errors and warnings (``"warning: text"``; not JupyterLab's notes that a plugin was
    slow to activate, which only say the machine is loaded) and, with ``block_external``,
    ``page.external`` every request that tried to leave loopback."""
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport=viewport)
        page = context.new_page()
        page.errors = []  # type: ignore[attr-defined]
        page.external = []  # type: ignore[attr-defined]
        # with the stack, so a failure names the code that threw
        page.on("pageerror", lambda e: page.errors.append(f"{e.stack or e}"))  # type: ignore[attr-defined]
        page.console = []  # type: ignore[attr-defined]

        def console(m: Any) -> None:
            if m.type in ("error", "warning") and not SLOW_PLUGIN.search(m.text):
                # a failed request's message does not say which: its location does
                where = m.location.get("url", "") if m.text.startswith("Failed to load") else ""
                page.console.append(f"{m.type}: {m.text}" + (f" ({where})" if where else ""))  # type: ignore[attr-defined]

        page.on("console", console)

        def guard(route: Any) -> None:
            host = urlparse(route.request.url).hostname
            if route.request.url.startswith(("data:", "blob:")) or host in (
                "127.0.0.1",
                "localhost",
            ):
                route.continue_()
            else:
                page.external.append(route.request.url)  # type: ignore[attr-defined]
                route.abort()

        if block_external:
            context.route("**/*", guard)
        try:
            yield page
        finally:
            context.close()
            browser.close()


def open_lab(page: Any, lab: dict[str, Any], path: str = "lab") -> None:
    """Load ``path`` (``lab``, ``lab/tree/<notebook>``, ...) and wait until JupyterLab has
    started: its layout restored, its splash screen gone and its main area showing a widget.

    Until then JupyterLab is still settling: its splash screen (JupyterLab 4.6) removes its element
    200 ms after the layout is restored, and a theme change in that window shows the same element
    again, so one of the two removals throws ``Failed to execute 'removeChild' on 'Node'``."""
    sep = "&" if "?" in path else "?"
    # `reset`: a new page starts from an empty workspace, not the tabs an earlier test left open
    # (nbtrack's run and compare tabs come back after a reload like notebooks do)
    page.goto(f"{lab['url']}/{path}{sep}reset&token={lab['token']}")
    page.wait_for_function("() => window.jupyterapp !== undefined", timeout=60_000)
    page.evaluate("() => window.jupyterapp.restored.then(() => true)")
    page.wait_for_function("() => !document.getElementById('jupyterlab-splash')", timeout=30_000)
    # and its main area shown (the launcher, or the notebook in the path): opened late on a busy
    # machine, the launcher takes the focus from whatever the test is typing into (a filter
    # box's completion list closed under a test's hands)
    page.wait_for_function("() => window.jupyterapp.shell.currentWidget !== null", timeout=30_000)


def open_notebook(page: Any, lab: dict[str, Any], name: str) -> None:
    """Open ``name`` in JupyterLab and wait until it is the current widget and its kernel is idle
    (a restored workspace may show another notebook first)."""
    open_lab(page, lab, f"lab/tree/{name}")
    page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=60_000)
    page.wait_for_function(IDLE_KERNEL, arg=name, timeout=90_000)

"""The sidebar in a real JupyterLab and a real headless Chromium (Debian's), end to end.

Starts ``jupyter lab`` on loopback with a token in a temporary root, runs a ``%%track`` cell in
a notebook, and checks what a user sees. Screenshots go to ``test-artifacts/``.
"""

from __future__ import annotations

import json
import subprocess
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser import (
    ARTIFACTS,
    chromium_page,
    jupyter_lab,
    open_lab,
    open_notebook,
    require_browser,
)

pytestmark = pytest.mark.slow

BUILT = Path(__file__).resolve().parents[2] / "nbtrack" / "labextension"

TRACK_CELL = """%%track --name e2e-run --experiment e2e --param lr=0.1 --tag owner=ana
import nbtrack
banner = '<img src=x onerror="window.__xss=2">'  # markup in a cell's source is shown as code
total = 0
for step in range(20):
    total += step
    nbtrack.log_metric("loss", 1.0 / (step + 1), step=step)
nbtrack.log_metric("acc", 0.93)"""

COMPARE_CELLS = [
    "%load_ext nbtrack",
    "%%track --name cmp-a --experiment cmp --param lr=0.1 --param seed=7\nimport nbtrack\nnbtrack.log_metric('acc', 0.8)",
    "%%track --name cmp-b --experiment cmp --param lr=0.5 --param seed=7\nimport nbtrack\nnbtrack.log_metric('acc', 0.9)",
]

# WCAG contrast of an element's text against the background it is drawn on (the backgrounds of
# it and its ancestors composited, translucent ones included).
CONTRAST = """(sel) => {
  const el = document.querySelector(sel);
  if (!el) { return null; }
  const parse = c => {
    let m = /^color\\(srgb ([^)]+)\\)/.exec(c);
    if (m) {
      const p = m[1].split(/[\\s\\/]+/).filter(Boolean).map(Number);
      return [p[0] * 255, p[1] * 255, p[2] * 255, p.length > 3 ? p[3] : 1];
    }
    m = /rgba?\\(([^)]+)\\)/.exec(c);
    if (!m) { return [0, 0, 0, 0]; }
    const p = m[1].split(/[\\s,\\/]+/).filter(Boolean).map(Number);
    return [p[0], p[1], p[2], p.length > 3 ? p[3] : 1];
  };
  const over = (top, under) => [0, 1, 2].map(i => top[i] * top[3] + under[i] * (1 - top[3]));
  const chain = [];
  for (let n = el; n; n = n.parentElement) { chain.unshift(n); }
  let bg = [255, 255, 255];
  for (const n of chain) { bg = over(parse(getComputedStyle(n).backgroundColor), bg); }
  const fg = over(parse(getComputedStyle(el).color), bg);
  const lum = c => c.map(v => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); })
    .reduce((s, v, i) => s + v * [0.2126, 0.7152, 0.0722][i], 0);
  const [a, b] = [lum(fg), lum(bg)];
  return { ratio: (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05), background: b,
           fg: fg.map(Math.round), bg: bg.map(Math.round) };
}"""


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """A JupyterLab server on 127.0.0.1 with a token, serving a temporary root directory."""
    require_browser()
    import nbformat

    base = tmp_path_factory.mktemp("lab")
    root = base / "root"
    root.mkdir()
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell("%load_ext nbtrack"),
        nbformat.v4.new_code_cell(TRACK_CELL),
    ]
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nbformat.write(nb, root / "demo.ipynb")
    nb.cells = [nbformat.v4.new_code_cell(src) for src in COMPARE_CELLS]
    nbformat.write(nb, root / "compare.ipynb")
    # the extension as built in this checkout, ahead of the copy `pip install` last put in share/
    built = base / "labextensions"
    built.mkdir()
    (built / "nbtrack").symlink_to(BUILT, target_is_directory=True)
    args = [f"--LabApp.extra_labextensions_path={built}"]
    with jupyter_lab(base, root, server_args=args) as lab:
        yield lab


@pytest.fixture
def page(lab: dict[str, Any]) -> Iterator[Any]:
    with chromium_page({"width": 1400, "height": 900}) as pg:
        yield pg


def shot(page: Any, name: str) -> None:
    page.screenshot(path=str(ARTIFACTS / f"sidebar-{name}.png"))


def api(lab: dict[str, Any], method: str, path: str, body: Any = None) -> Any:
    req = urllib.request.Request(
        f"{lab['url']}/nbtrack/api/{path}",
        method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers={"Authorization": f"token {lab['token']}", "Content-Type": "application/json"},
    )
    return json.loads(urllib.request.urlopen(req, timeout=30).read())


def test_tracked_cell_appears_in_the_sidebar_and_opens_as_a_run_view(
    lab: dict[str, Any], page: Any
) -> None:
    # Given JupyterLab with a notebook holding %load_ext nbtrack and a %%track cell
    open_notebook(page, lab, "demo.ipynb")
    # When the user opens the nbtrack sidebar and runs all cells
    page.click("li.lm-TabBar-tab[data-id='nbtrack-sidebar']")
    page.wait_for_selector(".nbtrack-sidebar-body", timeout=30_000)
    page.evaluate("window.jupyterapp.commands.execute('notebook:run-all-cells')")
    # Then the run appears in the sidebar, under its experiment, finished, with its key metrics
    row = page.wait_for_selector(".nbtrack-run:has-text('e2e-run')", timeout=90_000)
    page.wait_for_selector(
        ".nbtrack-run:has-text('e2e-run') .nbtrack-badge-finished", timeout=30_000
    )
    assert "e2e" in page.inner_text(".nbtrack-group-title")
    text = row.inner_text()
    assert "acc" in text and "0.93" in text and "loss" in text
    shot(page, "1-list")

    # When the user opens it
    row.click()
    view = page.wait_for_selector(".nbtrack-runview", timeout=30_000)
    page.wait_for_selector(
        ".nbtrack-metric-card:has-text('loss') .nbtrack-chart-line", timeout=30_000
    )
    # Then params, tags, metrics with a chart and the executed cells with their code are shown
    assert "lr" in view.inner_text() and "owner=ana" in view.inner_text()
    codes = page.locator(".nbtrack-runview .nbtrack-code").all_inner_texts()
    assert any("%load_ext nbtrack" in c for c in codes)
    assert any('log_metric("loss"' in c for c in codes)
    shot(page, "2-run-view")

    # When the user clicks the recorded %%track cell, the notebook shows that cell
    page.locator(".nbtrack-cell-in-run .nbtrack-cell-head").last.click()
    page.wait_for_function(
        "() => { const p = window.jupyterapp.shell.currentWidget;"
        " return p && p.content && p.content.activeCellIndex === 1; }",
        timeout=10_000,
    )

    # Replay and export: shown as done when the engine is installed, else its message
    page.click(".lm-TabBar-tab:has-text('Run e2e-run')")
    page.click(".nbtrack-replay")
    page.wait_for_selector(
        ".nbtrack-verdict strong, .nbtrack-runview .nbtrack-error", timeout=240_000
    )
    shot(page, "3-replay")
    outcome = page.inner_text(".nbtrack-runview")
    assert "Reproduced" in outcome or "Diverged" in outcome or "replay is not available" in outcome
    page.click(".nbtrack-export-script")
    page.wait_for_selector(".nbtrack-message", timeout=60_000)
    message = page.inner_text(".nbtrack-message")
    assert "Exported" in message or "export is not available" in message
    assert not page.errors, page.errors  # type: ignore[attr-defined]


def test_run_names_notes_tags_and_cell_sources_with_markup_are_shown_as_text(
    lab: dict[str, Any], page: Any
) -> None:
    # Given a run whose name, notes, a tag and a cell's source contain HTML with script
    open_lab(page, lab)
    page.wait_for_selector("li.lm-TabBar-tab[data-id='nbtrack-sidebar']", timeout=60_000)
    # a top-level run: the runs a replay records again are folded under it in the list
    runs = [
        r for r in api(lab, "GET", "runs?notebook=demo.ipynb")["runs"] if not r["parent_run_id"]
    ]
    if not runs:
        pytest.skip("the first test records the run this one needs")
    run_id = runs[0]["id"]
    evil = '<img src=x onerror="window.__xss=1">'
    api(lab, "PATCH", f"runs/{run_id}?notebook=demo.ipynb", {"name": f"n{evil}", "notes": evil})
    api(lab, "PUT", f"runs/{run_id}/tags?notebook=demo.ipynb", {"tags": {"note": evil}})
    # When the sidebar lists it and the user opens it
    page.evaluate("window.jupyterapp.commands.execute('nbtrack:open-sidebar')")
    row = page.wait_for_selector(".nbtrack-run:has-text('onerror')", timeout=30_000)
    row.click()
    page.wait_for_selector(".nbtrack-notes", timeout=30_000)
    # Then the markup is visible as text and nothing ran
    assert page.input_value(".nbtrack-notes") == evil
    assert evil in row.inner_text()
    view = page.inner_text(".nbtrack-runview")
    assert f"note={evil}" in view or evil in view  # the tag
    codes = page.locator(".nbtrack-runview .nbtrack-code").all_inner_texts()
    assert any('onerror="window.__xss=2"' in c for c in codes)  # the cell source, as code
    assert page.evaluate("window.__xss") is None
    assert page.locator(".nbtrack-sidebar img, .nbtrack-runview img").count() == 0
    shot(page, "4-markup-as-text")


def test_two_selected_runs_are_compared_side_by_side(lab: dict[str, Any], page: Any) -> None:
    # Given a notebook whose two %%track cells make runs that differ in one param
    open_notebook(page, lab, "compare.ipynb")
    page.evaluate("window.jupyterapp.commands.execute('nbtrack:open-sidebar')")
    # not awaited: the selectors below wait (with a timeout) for what the cells record
    page.evaluate("() => { void window.jupyterapp.commands.execute('notebook:run-all-cells'); }")
    for name in ("cmp-a", "cmp-b"):
        page.wait_for_selector(
            f".nbtrack-run:has-text('{name}') .nbtrack-badge-finished", timeout=90_000
        )
    compare = page.locator(".nbtrack-compare")
    assert compare.is_disabled(), "Compare needs two runs"
    # When the user ticks one with the mouse and the other with the keyboard, then clicks Compare
    box = ".nbtrack-run-item:has(.nbtrack-run-name:text-is('{}')) .nbtrack-run-select"
    page.click(box.format("cmp-a"))
    assert compare.is_disabled()
    page.focus(box.format("cmp-b"))
    page.keyboard.press("Space")
    page.wait_for_selector(".nbtrack-selection-count:has-text('2 selected')", timeout=10_000)
    assert page.evaluate("window.jupyterapp.commands.isEnabled('nbtrack:compare-runs')")
    shot(page, "5-selected")
    compare.click()
    # Then a main-area view shows both runs as columns and the param that differs, highlighted
    view = page.wait_for_selector(".nbtrack-compareview .nbtrack-compare-table", timeout=30_000)
    heads = page.locator(".nbtrack-compare-table thead .nbtrack-compare-run").all_inner_texts()
    assert heads == ["cmp-a", "cmp-b"]
    lr = page.locator(".nbtrack-compare-params tr.nbtrack-row-differs[data-key='lr']")
    assert lr.locator("td").all_inner_texts() == ["0.1", "0.5"]
    assert "acc" in view.inner_text()
    # identical rows (seed) stay hidden until asked for
    assert page.locator(".nbtrack-compareview tr[data-key='seed']").count() == 0
    # and the code diff of the two runs' executed sequences is shown
    code = page.inner_text(".nbtrack-codediff")
    assert "cmp-a → cmp-b" in code and "lr=0.5" in code
    shot(page, "6-compare")
    page.click(".nbtrack-show-identical input")
    page.wait_for_selector(
        ".nbtrack-compareview tr.nbtrack-row-same[data-key='seed']", timeout=10_000
    )
    assert not page.errors, page.errors  # type: ignore[attr-defined]


def test_sidebar_run_view_and_compare_are_readable_in_the_dark_theme(
    lab: dict[str, Any], page: Any
) -> None:
    # Given JupyterLab switched to its dark theme
    open_lab(page, lab)
    page.wait_for_selector("li.lm-TabBar-tab[data-id='nbtrack-sidebar']", timeout=60_000)
    page.evaluate(
        "window.jupyterapp.commands.execute('apputils:change-theme', {theme: 'JupyterLab Dark'})"
    )
    page.wait_for_function("document.body.dataset.jpThemeLight === 'false'", timeout=30_000)
    # the theme change shows JupyterLab's splash screen again; the screenshots are taken without it
    page.wait_for_function("() => !document.getElementById('jupyterlab-splash')", timeout=30_000)
    page.evaluate("window.jupyterapp.commands.execute('nbtrack:open-sidebar')")
    try:
        page.wait_for_selector(".nbtrack-run-item:nth-child(2) .nbtrack-run", timeout=30_000)
    except Exception:
        pytest.skip("the tests before this one record the runs it shows")
    # When the user opens a run, and compares two
    page.click(".nbtrack-run-item:nth-child(1) .nbtrack-run")
    page.wait_for_selector(".nbtrack-runview .nbtrack-section", timeout=30_000)
    shot(page, "7-dark-sidebar-and-run")
    checks = [
        ".nbtrack-title",
        ".nbtrack-group-title",
        ".nbtrack-run-name",
        ".nbtrack-run-time",
        ".nbtrack-selection-count",
        ".nbtrack-filter-input",
        ".nbtrack-runview .nbtrack-name-input",
        ".nbtrack-runview-facts",
        ".nbtrack-section h2",
        ".nbtrack-kv th",
        ".nbtrack-kv td",
        ".nbtrack-code",
        ".nbtrack-cell-count",
        ".nbtrack-metric-title",
        ".nbtrack-badge",
    ]
    page.click(".nbtrack-run-item:nth-child(1) .nbtrack-run-select")
    page.click(".nbtrack-run-item:nth-child(2) .nbtrack-run-select")
    page.click(".nbtrack-compare")
    page.wait_for_selector(".nbtrack-compareview .nbtrack-compare-table", timeout=30_000)
    page.click(".nbtrack-show-identical input")
    shot(page, "8-dark-compare")
    checks += [
        ".nbtrack-compare-title",
        ".nbtrack-compare-run",
        ".nbtrack-compare-section th",
        ".nbtrack-row-differs th",
        ".nbtrack-row-differs td",
        ".nbtrack-row-same td",
        ".nbtrack-compare-detail",
        ".nbtrack-diff-head",
        ".nbtrack-diff-add",
        ".nbtrack-run-selected .nbtrack-run-name",
    ]
    # Then the panels are dark and every kind of text stands out from what is behind it
    assert page.evaluate(CONTRAST, ".nbtrack-sidebar-body")["background"] < 0.05
    poor = {}
    for sel in checks:
        found = page.evaluate(CONTRAST, sel)
        if found is not None and found["ratio"] < 3.0:
            poor[sel] = found
    assert not poor, poor
    assert page.evaluate(CONTRAST, ".nbtrack-run-name") is not None
    assert not page.errors, page.errors  # type: ignore[attr-defined]


def test_sidebar_says_how_to_enable_the_server_extension_when_it_is_missing(tmp_path: Path) -> None:
    # Given JupyterLab whose Jupyter server runs without nbtrack's server extension
    require_browser()
    root = tmp_path / "root"
    root.mkdir()
    no_extension = ["--ServerApp.jpserver_extensions=nbtrack.server=False"]
    with (
        jupyter_lab(tmp_path, root, server_args=no_extension) as lab,
        chromium_page({"width": 1400, "height": 900}) as page,
    ):
        open_lab(page, lab)
        # When the user opens the nbtrack sidebar
        page.evaluate("window.jupyterapp.commands.execute('nbtrack:open-sidebar')")
        # Then it says what is missing and what to run, instead of a bare "404 Not Found"
        error = page.wait_for_selector(".nbtrack-sidebar .nbtrack-error", timeout=30_000)
        text = error.inner_text()
        assert "server extension is not enabled" in text, text
        assert 'pip install "nbtrack[lab]"' in text and "restart" in text, text
        shot(page, "9-no-server-extension")
        assert not page.errors, page.errors  # type: ignore[attr-defined]


def test_typescript_unit_tests_pass() -> None:
    """The labextension's lint (ESLint, Prettier) and its own tests (API client and view logic)
    under node's test runner: ``npm test`` runs both."""
    import shutil

    ext = Path(__file__).resolve().parents[2] / "labextension"
    if shutil.which("npm") is None or not (ext / "node_modules").is_dir():
        pytest.skip("labextension dependencies are not installed (npm ci in labextension/)")
    result = subprocess.run(["npm", "test"], cwd=ext, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "# fail 0" in result.stdout

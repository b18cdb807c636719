"""Comparing runs in a real JupyterLab and a real headless Chromium: the sidebar's Compare and the
compare widget draw the same charts (specs from nbtrack.query.comparecharts) and the same code
diff (the runs' own bodies), with every label inside its chart and no console warning.

Three SGD-like runs that differ only in alpha, over four decades (0.0001, 0.01, 3.0).
Screenshots go to ``test-artifacts/compare-*.png``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser import ARTIFACTS, chromium_page, jupyter_lab, open_notebook, require_browser

pytestmark = pytest.mark.slow

BUILT = Path(__file__).resolve().parents[2] / "nbtrack" / "labextension"
NOTEBOOK = "sgd.ipynb"
ALPHAS = ["3.0", "0.01", "0.0001"]  # run in this order: the widget compares them oldest first
PREAMBLE = """import nbtrack
import numpy as np

rng = np.random.default_rng(0)
X = rng.normal(size=(200, 4))
y = (X @ np.array([1.0, -2.0, 0.5, 0.0]) > 0).astype(float)


def fit(alpha, epochs=30, lr=0.1):
    \"\"\"Logistic regression by gradient descent with an L2 penalty alpha (SGDClassifier-like).\"\"\"
    w = np.zeros(X.shape[1])
    for step in range(epochs):
        p = 1 / (1 + np.exp(-X @ w))
        loss = -np.mean(y * np.log(p + 1e-9) + (1 - y) * np.log(1 - p + 1e-9)) + alpha * w @ w
        nbtrack.log_metric("loss", float(loss), step=step)
        w -= lr * (X.T @ (p - y) / len(y) + 2 * alpha * w)
    nbtrack.log_metric("acc", float(np.mean(((X @ w) > 0) == y)))
    return w"""


def track(alpha: str) -> str:
    return (
        f"%%track --name sgd-alpha-{alpha} --experiment sgd\n"
        f"alpha = {alpha}\n"
        'nbtrack.log_param("alpha", alpha)\n'
        "w = fit(alpha)"
    )


CELLS = [
    "%load_ext nbtrack",
    PREAMBLE,
    *[track(a) for a in ALPHAS],
    'import nbtrack.widgets as widgets\nwidgets.compare(widgets.runs_table(experiment="sgd").run_ids[::-1])',
]
WIDGET_CELL = len(CELLS) - 1

# Text of a chart's svg drawn outside the svg's box, or the svg outside the box of ``outer``
OUTSIDE = """([sel, outer]) => {
  const bad = [];
  const svgs = [...document.querySelectorAll(sel)];
  for (const svg of svgs) {
    const box = svg.getBoundingClientRect();
    const frame = svg.closest(outer).getBoundingClientRect();
    if (box.left < frame.left - 1 || box.right > frame.right + 1) {
      bad.push({svg: [box.left, box.right], frame: [frame.left, frame.right]});
    }
    for (const t of svg.querySelectorAll('text')) {
      const r = t.getBoundingClientRect();
      if (!t.textContent.trim() || (r.width === 0 && r.height === 0)) { continue; }
      if (r.left < box.left - 1 || r.right > box.right + 1 || r.top < box.top - 1
          || r.bottom > box.bottom + 1) {
        bad.push({text: t.textContent, at: [r.left, r.top, r.right, r.bottom],
                  box: [box.left, box.top, box.right, box.bottom]});
      }
    }
  }
  return {count: svgs.length, bad};
}"""

# The vertical centre of each tick label of a parallel-coordinates chart, by its text
LABEL_Y = """(sel) => {
  const out = {};
  for (const t of document.querySelectorAll(sel + ' .mark-text text')) {
    const r = t.getBoundingClientRect();
    out[t.textContent] = (r.top + r.bottom) / 2;
  }
  return out;
}"""


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    require_browser()
    import nbformat

    base = tmp_path_factory.mktemp("compare-lab")
    root = base / "root"
    root.mkdir()
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(src) for src in CELLS]
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nbformat.write(nb, root / NOTEBOOK)
    settings = {"@jupyterlab/notebook-extension/tracker": {"windowingMode": "none"}}
    # The sidebar as built in this checkout, ahead of the copy `pip install` last put in share/
    built = base / "labextensions"
    built.mkdir()
    (built / "nbtrack").symlink_to(BUILT, target_is_directory=True)
    args = [f"--LabApp.extra_labextensions_path={built}"]
    with jupyter_lab(base, root, settings, server_args=args) as lab:
        yield lab


@pytest.fixture
def page(lab: dict[str, Any]) -> Iterator[Any]:
    with chromium_page({"width": 1400, "height": 1000}, block_external=True) as pg:
        yield pg


def shot(page: Any, name: str) -> None:
    page.screenshot(path=str(ARTIFACTS / f"compare-{name}.png"))


def no_console_problems(page: Any) -> None:
    assert not page.errors, page.errors
    assert not page.console, page.console
    assert not page.external, page.external


def open_with_runs(page: Any, lab: dict[str, Any]) -> None:
    """The notebook open and the sidebar listing the three runs (run all cells the first time,
    else only the widget's cell, in the kernel that made them)."""
    open_notebook(page, lab, NOTEBOOK)
    page.evaluate("window.jupyterapp.commands.execute('nbtrack:open-sidebar')")
    page.wait_for_selector(".nbtrack-sidebar-body", timeout=30_000)
    recorded = lab.setdefault("recorded", False)
    lab["recorded"] = True
    page.evaluate(
        """([recorded, cell]) => {
        const app = window.jupyterapp;
        if (recorded) {
            app.shell.currentWidget.content.activeCellIndex = cell;
            void app.commands.execute('notebook:run-cell');
        } else {
            void app.commands.execute('notebook:run-all-cells');
        }
    }""",
        [recorded, WIDGET_CELL],
    )
    for alpha in ALPHAS:
        page.wait_for_selector(
            f".nbtrack-run:has-text('sgd-alpha-{alpha}') .nbtrack-badge-finished", timeout=120_000
        )
    # JupyterLab's own start-up notes on a loaded machine ("Plugin ... took 5032ms to activate")
    # are not the views' to answer for
    page.console[:] = [m for m in page.console if "to activate" not in m]


def charts_inside(page: Any, sel: str, outer: str, expected: int) -> None:
    """``expected`` charts drawn, every label inside its chart and every chart inside ``outer``."""
    try:
        page.wait_for_function(
            "([sel, n]) => document.querySelectorAll(sel).length >= n"
            " && [...document.querySelectorAll(sel)].every("
            "s => s.querySelector('.mark-symbol, .mark-line'))",
            arg=[sel, expected],
            timeout=60_000,
        )
    except Exception:
        shot(page, "failed")
        raise AssertionError(
            f"{expected} charts not drawn: {page.locator(sel).count()} svgs; "
            f"{page.errors} {page.console}"
        ) from None
    found = page.evaluate(OUTSIDE, [sel, outer])
    assert found["count"] == expected and found["bad"] == [], found


def alpha_axis_is_logarithmic(page: Any, sel: str) -> None:
    ys = page.evaluate(LABEL_Y, sel)
    assert {"0.0001", "0.01", "3"} <= set(ys), ys
    # 0.0001 and 0.01 apart (a linear axis stacks them), 0.01 about half way to 3
    assert abs(ys["0.0001"] - ys["0.01"]) > 60, ys
    assert abs(ys["0.01"] - ys["3"]) > 40, ys


def test_sidebar_compare_diffs_the_runs_bodies_and_draws_the_widgets_charts(
    lab: dict[str, Any], page: Any
) -> None:
    # Given three runs that differ in alpha, from one notebook
    open_with_runs(page, lab)
    # When the user picks sgd-alpha-3.0, then sgd-alpha-0.01 and sgd-alpha-0.0001, and compares
    box = ".nbtrack-run-item:has(.nbtrack-run-name:text-is('sgd-alpha-{}')) .nbtrack-run-select"
    for alpha in ALPHAS:
        page.click(box.format(alpha))
    page.click(".nbtrack-compare")
    page.wait_for_selector(".nbtrack-compareview .nbtrack-codediff", timeout=30_000)
    # Then the code diff is of the runs' own cells: one changed cell, the alpha line
    summary = page.inner_text(".nbtrack-codediff-summary")
    assert summary == "1 changed", summary
    diff = page.inner_text(".nbtrack-codediff .nbtrack-diff-changed")
    assert "- alpha = 3.0" in diff and "+ alpha = 0.01" in diff, diff
    assert page.locator(".nbtrack-codediff .nbtrack-diff-removed").count() == 0
    # nothing offers to show zero identical rows
    assert "Show the 0" not in page.inner_text(".nbtrack-compareview")
    # And the charts: the loss overlay (the metric with most steps), parallel coordinates with
    # alpha on a log axis, the scatter; every label inside its chart
    assert page.input_value(".nbtrack-chart-overlay select") == "loss"
    charts_inside(page, ".nbtrack-compareview .nbtrack-vega svg.marks", ".nbtrack-compareview", 3)
    alpha_axis_is_logarithmic(page, ".nbtrack-chart-parallel")
    assert page.locator(".nbtrack-chart-overlay svg .mark-line path").count() == 3
    assert page.locator(".nbtrack-chart-scatter svg .mark-symbol.role-mark path").count() == 3
    page.locator(".nbtrack-compare-charts").scroll_into_view_if_needed()
    shot(page, "1-sidebar-charts")
    page.locator(".nbtrack-chart-scatter").scroll_into_view_if_needed()
    shot(page, "2-sidebar-scatter")

    # When the user asks for the whole history, every cell each kernel ran is diffed
    page.click(".nbtrack-codediff-history input")
    page.wait_for_function(
        "() => document.querySelector('.nbtrack-codediff-summary').textContent !== '1 changed'",
        timeout=10_000,
    )
    assert "identical cell" in page.inner_text(".nbtrack-codediff-summary")
    page.locator(".nbtrack-codediff").scroll_into_view_if_needed()
    shot(page, "3-sidebar-history")

    # When the overlay shows acc, one point per run: a chart with room around the point
    page.select_option(".nbtrack-chart-overlay select", "acc")
    page.wait_for_function(
        "() => [...document.querySelectorAll('.nbtrack-chart-overlay svg .role-title-text')]"
        ".some(t => t.textContent === 'acc')",
        timeout=30_000,
    )
    charts_inside(page, ".nbtrack-compareview .nbtrack-vega svg.marks", ".nbtrack-compareview", 3)
    ticks = page.evaluate(
        "() => [...document.querySelectorAll('.nbtrack-chart-overlay svg .role-axis-label text')]"
        ".map(t => t.textContent)"
    )
    assert "0.000000" not in ticks and "0" in ticks, ticks
    page.locator(".nbtrack-chart-overlay").scroll_into_view_if_needed()
    shot(page, "4-sidebar-one-point")
    no_console_problems(page)


def test_compare_widget_draws_the_same_charts_and_diff(lab: dict[str, Any], page: Any) -> None:
    # Given the notebook's last cell showing the compare widget of the three runs
    open_with_runs(page, lab)
    comp = page.locator(".jp-Notebook .jp-Cell").nth(WIDGET_CELL).locator(".jp-OutputArea")
    comp.locator(".nbt-compare-table").wait_for(timeout=120_000)
    # When the user opens the code diff, it is the bodies' diff the sidebar shows
    comp.locator("button.nbt-tab", has_text="Code diff").click()
    comp.locator(".nbt-diff-summary").wait_for(timeout=30_000)
    assert comp.locator(".nbt-diff-summary").inner_text() == "1 changed"
    diff = comp.locator(".nbt-diff-changed").first.inner_text()
    assert "- alpha = 3.0" in diff and "+ alpha = 0.01" in diff, diff
    comp.scroll_into_view_if_needed()
    shot(page, "5-widget-diff")
    # And each chart tab draws with its labels inside the chart
    for tab, name in (
        ("Metric overlay", "overlay"),
        ("Parallel coordinates", "parallel"),
        ("Scatter", "scatter"),
    ):
        comp.locator("button.nbt-tab", has_text=tab).click()
        charts_inside(page, ".nbt-compare .nbt-chart svg.marks", ".jp-OutputArea", 1)
        if name == "overlay":
            assert comp.locator("select[aria-label='metric']").input_value() == "loss"
            assert comp.locator("svg .mark-line path").count() == 3
        if name == "parallel":
            alpha_axis_is_logarithmic(page, ".nbt-compare .nbt-chart")
        comp.scroll_into_view_if_needed()
        shot(page, f"6-widget-{name}")
    no_console_problems(page)


def test_sidebar_compare_charts_read_in_the_dark_theme(lab: dict[str, Any], page: Any) -> None:
    # Given JupyterLab in its dark theme and the three runs
    open_with_runs(page, lab)
    page.evaluate(
        "window.jupyterapp.commands.execute('apputils:change-theme', {theme: 'JupyterLab Dark'})"
    )
    page.wait_for_function("document.body.dataset.jpThemeLight === 'false'", timeout=30_000)
    page.wait_for_function("() => !document.getElementById('jupyterlab-splash')", timeout=30_000)
    # When the user compares them
    box = ".nbtrack-run-item:has(.nbtrack-run-name:text-is('sgd-alpha-{}')) .nbtrack-run-select"
    for alpha in ALPHAS:
        page.click(box.format(alpha))
    page.click(".nbtrack-compare")
    charts_inside(page, ".nbtrack-compareview .nbtrack-vega svg.marks", ".nbtrack-compareview", 3)
    # Then the charts' text takes the theme's colours (light on dark), labels on lines a dark halo
    fills = page.evaluate(
        "() => [...document.querySelectorAll('.nbtrack-chart-overlay svg .role-axis-label text')]"
        ".map(t => getComputedStyle(t).fill)"
    )
    dark_text = [f for f in fills if sum(float(v) for v in re.findall(r"[\d.]+", f)[:3]) < 300]
    assert fills and not dark_text, fills
    halo = page.evaluate(
        "() => [...document.querySelectorAll('.nbtrack-chart-parallel svg .mark-text text')]"
        ".map(t => t.getAttribute('stroke')).filter(Boolean)"
    )
    assert halo and all(h not in ("white", "#fff", "#ffffff") for h in halo), halo
    page.locator(".nbtrack-compare-charts").scroll_into_view_if_needed()
    shot(page, "7-sidebar-dark")
    page.evaluate(
        "window.jupyterapp.commands.execute('apputils:change-theme', {theme: 'JupyterLab Light'})"
    )
    page.wait_for_function("document.body.dataset.jpThemeLight === 'true'", timeout=30_000)
    no_console_problems(page)

"""What a person sees of the widgets' charts and table in a real JupyterLab and headless
Chromium (issue #17, items 2, 7, 9, 10): nothing drawn outside a widget's box, a live metric
keeping its colour when another arrives, run_view's charts all visible, a runs table that fits
its box, and not one console warning (vega's "Infinite extent" included).

Screenshots go to ``test-artifacts/widget-geometry-*.png``.
"""

from __future__ import annotations

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

LOSS_SEEN = "loss-seen"  # written once the test has seen loss alone in the live chart
BOTH_SEEN = "both-seen"  # written once it has seen loss and acc together

# JupyterLab's own note on a loaded machine, not a widget's warning

PARAMS = {f"p{i}": 0.1 * (i + 1) for i in range(6)}
METRICS = ["loss", "acc", "f1", "precision", "recall", "auc"]

CELLS = [
    "%load_ext nbtrack",
    "import nbtrack.widgets as w\nw.runs_table()",
    "w.run_view(w.runs_table(filter_string=\"attributes.run_name = 'wide-0'\").run_ids[0])",
    # two metrics of three runs (one of them has a single point): two panels side by side
    'w.chart(w.runs_table(experiment="wide").run_ids, ["loss", "one_point"])',
    # loss alone until the test has seen it drawn, then acc too (acc sorts before loss: a
    # colour domain sorted by name would hand acc loss's colour)
    "%%track --live --name live-two --experiment live\nimport pathlib, time\ns = 0\n"
    f"while s < 20 or (s < 3000 and not pathlib.Path({LOSS_SEEN!r}).exists()):\n"
    '    nbtrack.log_metric("loss", 2 / (s + 1), step=s)\n'
    "    s += 1\n    time.sleep(0.05)\n"
    "t = s\n"
    f"while s < t + 20 or (s < t + 3000 and not pathlib.Path({BOTH_SEEN!r}).exists()):\n"
    '    nbtrack.log_metric("loss", 2 / (s + 1), step=s)\n'
    '    nbtrack.log_metric("acc", 1 - 1 / (s + 1), step=s)\n'
    "    s += 1\n    time.sleep(0.05)",
]


def populate(store: Path) -> None:
    """Runs with many params and metrics (wider than the page) and system metrics."""
    import nbtrack

    for i in range(3):
        with nbtrack.start_run(
            name=f"wide-{i}",
            experiment="wide",
            params=PARAMS,
            store=store,
            log_system_metrics=False,
        ) as run:
            for s in range(30):
                for k, m in enumerate(METRICS):
                    run.log_metric(m, (k + 1) / (s + 1) + i, step=s)
            run.log_metric("system/cpu_percent", 12.5)
            run.log_metric("system/memory_percent", 40.0)
            run.log_metric("one_point", 0.5)


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    require_browser()
    import nbformat

    base = tmp_path_factory.mktemp("widget-geometry")
    root = base / "root"
    root.mkdir()
    populate(root / ".nbtrack")
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(src) for src in CELLS]
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nbformat.write(nb, root / "geometry.ipynb")
    with jupyter_lab(
        base, root, {"@jupyterlab/notebook-extension/tracker": {"windowingMode": "none"}}
    ) as lab:
        yield lab


@pytest.fixture
def page(lab: dict[str, Any]) -> Iterator[Any]:
    with chromium_page({"width": 1300, "height": 1000}, block_external=True) as pg:
        yield pg


def output_of(page: Any, index: int) -> Any:
    return page.locator(".jp-Notebook .jp-Cell").nth(index).locator(".jp-OutputArea")


def shot(locator: Any, name: str) -> None:
    locator.scroll_into_view_if_needed()
    locator.screenshot(path=str(ARTIFACTS / f"widget-geometry-{name}.png"))


# Every axis title, tick label, legend label and symbol of the charts under `root`, with
# its box and the boxes of its svg and of the widget (`.nbt-widget`) that holds it.
CHART_PARTS = """(root) => {
  const parts = root.querySelectorAll(
    '.role-axis-label text, .role-axis-title text, .role-legend-label text, .role-legend-symbol path, .role-title-text text, .role-title-subtitle text');
  const box = (el) => { const r = el.getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom]; };
  return [...parts].filter((el) => el.textContent !== '' || el.tagName === 'path').map((el) => ({
    text: el.textContent, part: el.closest('[class*="role-"]').getAttribute('class'),
    box: box(el), svg: box(el.closest('svg')), widget: box(el.closest('.nbt-widget')) }));
}"""


def outside(parts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The parts that stick out of their svg or their widget (1 px of rounding allowed)."""

    def within(inner: list[float], outer: list[float]) -> bool:
        return (
            inner[0] >= outer[0] - 1
            and inner[1] >= outer[1] - 1
            and inner[2] <= outer[2] + 1
            and inner[3] <= outer[3] + 1
        )

    return [p for p in parts if not (within(p["box"], p["svg"]) and within(p["box"], p["widget"]))]


# The colour of each legend entry of the live chart: {label: colour}.
LEGEND_COLOURS = """(root) => {
  const out = {};
  for (const legend of root.querySelectorAll('.role-legend')) {
    const labels = [...legend.querySelectorAll('.role-legend-label text')];
    legend.querySelectorAll('.role-legend-symbol path').forEach((p, i) => {
      const stroke = p.getAttribute('stroke');
      out[labels[i].textContent] = stroke && stroke !== 'transparent' ? stroke : p.getAttribute('fill');
    });
  }
  return out;
}"""
LINE_COLOURS = """(root) => [...root.querySelectorAll('.mark-line path')].map((p) => p.getAttribute('stroke')).sort()"""


def test_charts_and_table_fit_their_boxes_and_keep_their_colours(
    lab: dict[str, Any], page: Any
) -> None:
    # Given JupyterLab with a notebook showing the runs table, a run view and a live chart
    open_notebook(page, lab, "geometry.ipynb")
    # When the user runs all cells
    page.evaluate("() => { window.jupyterapp.commands.execute('notebook:run-all-cells'); }")

    # Then the live chart draws loss alone, every label inside its box
    live = output_of(page, 4)
    try:
        live.locator(".nbt-live svg .mark-line path").first.wait_for(timeout=180_000)
    except Exception:
        page.screenshot(path=str(ARTIFACTS / "widget-geometry-debug.png"), full_page=True)
        raise
    page.wait_for_function(
        "(el) => el.querySelectorAll('.role-axis-label text').length > 4",
        arg=live.element_handle(),
        timeout=60_000,
    )
    before = page.evaluate(LEGEND_COLOURS, live.element_handle())
    assert list(before) == ["loss"], before
    parts = page.evaluate(CHART_PARTS, live.element_handle())
    assert parts and not outside(parts), outside(parts)
    shot(live, "1-live-loss")
    (lab["root"] / LOSS_SEEN).touch()

    # When acc arrives, Then loss keeps its colour, acc gets another, and all still fits
    page.wait_for_function(
        "(el) => el.querySelectorAll('.role-legend-label text').length === 2",
        arg=live.element_handle(),
        timeout=120_000,
    )
    page.wait_for_timeout(1000)  # a few more batches
    after = page.evaluate(LEGEND_COLOURS, live.element_handle())
    assert after["loss"] == before["loss"] and after["acc"] != after["loss"], (before, after)
    assert page.evaluate(LINE_COLOURS, live.element_handle()) == sorted(after.values())
    parts = page.evaluate(CHART_PARTS, live.element_handle())
    assert {p["text"] for p in parts if "legend-label" in p["part"]} == {"loss", "acc"}
    assert not outside(parts), outside(parts)
    shot(live, "2-live-loss-and-acc")
    (lab["root"] / BOTH_SEEN).touch()

    # The run view: one small chart per metric (not the one-point one), all inside the widget
    view = output_of(page, 2)
    view.locator(".nbt-smallchart svg.marks").nth(len(METRICS) - 1).wait_for(timeout=60_000)
    assert view.locator(".nbt-smallchart svg.marks").count() == len(METRICS)
    geometry = page.evaluate(
        """(el) => {
          const run = el.querySelector('.nbt-run').getBoundingClientRect();
          const out = el.querySelector('.jp-OutputArea-output');
          const charts = [...el.querySelectorAll('.nbt-smallchart svg.marks')].map((s) => {
            const r = s.getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom]; });
          return { run: [run.left, run.right], charts, overflow: out.scrollWidth - out.clientWidth };
        }""",
        view.element_handle(),
    )
    assert geometry["overflow"] <= 0, geometry
    for left, _top, right, _bottom in geometry["charts"]:
        assert geometry["run"][0] - 1 <= left and right <= geometry["run"][1] + 1, geometry
    parts = page.evaluate(CHART_PARTS, view.element_handle())
    assert not outside(parts), outside(parts)
    subtitles = [p["text"] for p in parts if "subtitle" in p["part"]]
    assert any(t.startswith("last ") and " min " in t and " max " in t for t in subtitles)
    # the environment reads as words and sizes, its packages folded
    text = view.inner_text()
    assert "Memory" in text and "GiB" in text and "memory_total" not in text
    packages = view.locator("details.nbt-packages")
    assert packages.count() == 1 and packages.get_attribute("open") is None
    shot(view.locator(".nbt-smallcharts"), "3-run-view-charts")
    shot(view.locator(".nbt-environment"), "4-run-view-environment")

    # The metric chart: both panels, every label and legend entry inside the widget
    chart = output_of(page, 3)
    try:
        chart.locator(".nbt-chartwidget svg .mark-line path").first.wait_for(timeout=60_000)
    except Exception:
        page.screenshot(path=str(ARTIFACTS / "widget-geometry-debug.png"))
        raise
    parts = page.evaluate(CHART_PARTS, chart.element_handle())
    assert {"loss", "one_point"} <= {p["text"] for p in parts}, parts
    assert not outside(parts), outside(parts)
    # each run's one point of one_point is drawn (a line through one point shows nothing)
    shown = chart.locator(".mark-symbol.role-mark path").evaluate_all(
        "(ps) => ps.filter((p) => parseFloat(p.getAttribute('opacity') ?? '1') > 0).length"
    )
    assert shown == 3, shown
    shot(chart, "10-chart")

    # The runs table: experiment and short id shown, no system/ column, fits its box
    table = output_of(page, 1)
    table.locator(".nbt-datarow[data-run-id]").first.wait_for(timeout=60_000)
    headers = table.locator(".nbt-header [role=columnheader]").all_inner_texts()
    assert {"Experiment", "Run id", "Name"} <= {h.strip(" ▲▼") for h in headers}, headers
    assert not [h for h in headers if "system/" in h], headers
    first_id = table.locator(".nbt-datarow[data-run-id] .nbt-k-id").first.inner_text()
    assert len(first_id) == 8, first_id
    fit = page.evaluate(
        """(el) => {
          const out = el.querySelector('.jp-OutputArea-output');
          const t = el.querySelector('.nbt-table').getBoundingClientRect();
          const s = el.querySelector('.nbt-scroller');
          return { table: [t.left, t.right], out: out.getBoundingClientRect().right,
                   overflow: out.scrollWidth - out.clientWidth,
                   scroll: [s.scrollWidth, s.clientWidth] };
        }""",
        table.element_handle(),
    )
    assert fit["overflow"] <= 0 and fit["table"][1] <= fit["out"] + 1, fit
    shot(table, "5-table")
    # wider than its box, it scrolls sideways inside, the name column staying in place
    assert fit["scroll"][0] > fit["scroll"][1], fit
    table.locator(".nbt-scroller").evaluate("(s) => { s.scrollLeft = s.scrollWidth; }")
    page.wait_for_timeout(300)
    sticky = page.evaluate(
        """(el) => {
          const s = el.querySelector('.nbt-scroller').getBoundingClientRect();
          const n = el.querySelector('.nbt-datarow[data-run-id] .nbt-sticky + .nbt-sticky').getBoundingClientRect();
          return { scroller: s.left, name: [n.left, n.right] };
        }""",
        table.element_handle(),
    )
    assert sticky["scroller"] - 1 <= sticky["name"][0] <= sticky["scroller"] + 40, sticky
    shot(table, "6-table-scrolled")
    # the system metrics appear when asked for
    table.locator(".nbt-system-toggle input").check()
    table.locator(".nbt-header [role=columnheader]:has-text('system/cpu_percent')").wait_for(
        timeout=30_000
    )
    shot(table, "7-table-system")

    # And no widget logged a warning or an error
    assert not page.errors, page.errors  # type: ignore[attr-defined]
    assert not page.external, page.external  # type: ignore[attr-defined]
    assert not page.console, page.console


def test_the_sidebar_run_view_names_its_charts_ranges_and_reads_the_environment(
    lab: dict[str, Any], page: Any
) -> None:
    # Given JupyterLab over the store of the runs above (no notebook open: its widgets' models
    # belong to the first test's page)
    open_lab(page, lab)
    # When the user opens a run in nbtrack's sidebar
    page.evaluate("window.jupyterapp.commands.execute('nbtrack:open-sidebar')")
    page.locator(".nbtrack-run:has(.nbtrack-run-name:text-is('wide-0'))").first.click()
    view = page.locator(".nbtrack-runview")
    view.locator(".nbtrack-chart-range").nth(len(METRICS) - 1).wait_for(timeout=60_000)
    # Then each chart names its minimum, maximum and last value (not bare corner numbers)
    ranges = view.locator(".nbtrack-chart-range").all_inner_texts()
    assert len(ranges) >= len(METRICS), ranges
    assert all(r.startswith("min ") and " · max " in r and " · last " in r for r in ranges)
    # a one-value metric is shown as its value, not as a lone dot over "steps 0–0"
    single = view.locator(".nbtrack-metric-card:has-text('one_point') .nbtrack-chart-single")
    single.wait_for(timeout=30_000)
    assert "0.5" in single.inner_text() and "steps 0–0" not in view.inner_text()
    # the environment reads as words and sizes, its packages and the manifest folded
    env = view.locator(".nbtrack-environment")
    assert "Memory" in env.inner_text() and "GiB" in env.inner_text()
    assert view.locator("details.nbtrack-packages").get_attribute("open") is None
    view.locator(".nbtrack-metrics").screenshot(
        path=str(ARTIFACTS / "widget-geometry-8-sidebar-charts.png")
    )
    env.scroll_into_view_if_needed()
    view.locator(".nbtrack-environment").screenshot(
        path=str(ARTIFACTS / "widget-geometry-9-sidebar-environment.png")
    )
    assert not page.errors, page.errors  # type: ignore[attr-defined]
    assert not page.console, page.console

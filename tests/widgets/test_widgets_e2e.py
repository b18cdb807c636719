"""The notebook widgets in a real JupyterLab and a real headless Chromium (Debian's).

Starts ``jupyter lab`` on loopback with a token in a temporary root holding a store and a
notebook that shows every widget, runs all cells, and checks what a person sees. Every
request the page makes must stay on loopback (vega is bundled, no CDN). Screenshots go to
``test-artifacts/widgets-*.png``.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser import ARTIFACTS, chromium_page, jupyter_lab, open_notebook, require_browser

pytestmark = pytest.mark.slow

EVIL = '<img src=x onerror="window.__xss=1">'
LIVE_SEEN = "live-chart-seen"  # written beside the notebook once the live chart drew while running

CELLS = [
    "%load_ext nbtrack",
    "%%track --name base --experiment demo --param lr=0.1\nlr = 0.1\nfor s in range(40):\n"
    '    nbtrack.log_metric("loss", 1 / (s + 1) + lr, step=s)\n'
    f"banner = {EVIL!r}  # markup in a cell source, shown by run_view and compare as code",
    "%%track --name tuned --experiment demo --param lr=0.01\nlr = 0.01\nfor s in range(40):\n"
    '    nbtrack.log_metric("loss", 1 / (s + 1) + lr, step=s)\nnbtrack.log_metric("acc", 0.91)',
    "import nbtrack.widgets as w\ntable = w.runs_table()\ntable",
    'w.chart(w.runs_table(experiment="offline").run_ids[-3:], "loss")',
    # 150 steps, and on (at most 3000) until the test has seen the chart draw: how soon a
    # loaded machine's browser draws it must not decide whether the cell is still running then
    "import pathlib, time\nlc = w.live()\n"
    'with nbtrack.start_run(name="live-run", experiment="live", log_system_metrics=False) as run:\n'
    "    s = 0\n"
    f"    while s < 150 or (s < 3000 and not pathlib.Path({LIVE_SEEN!r}).exists()):\n"
    '        run.log_metric("loss", 1 / (s + 1), step=s)\n'
    "        s += 1\n"
    "        time.sleep(0.05)",
    'demo = w.runs_table(experiment="demo").run_ids[::-1]\nw.compare(demo)',
    "w.run_view(demo[-1])",
    'print("SELECTED", sorted(table.selected))',
]


def populate(store: Path) -> None:
    """Runs logged from a script (no cells), one with markup in its name and a tag."""
    import nbtrack

    for i in range(4):
        name = f"offline-{i}" if i < 3 else f"x{EVIL}"
        with nbtrack.start_run(
            name=name,
            experiment="offline",
            params={"lr": 0.1 / (i + 1), "depth": i},
            tags={"owner": "ana", **({"note": EVIL} if i == 3 else {})},
            store=store,
            log_system_metrics=False,
        ) as run:
            for s in range(200):
                run.log_metric("loss", (1.0 + i) / (s + 1), step=s)
            run.log_metric("acc", 0.8 + 0.05 * i)
        time.sleep(0.01)


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    require_browser()
    import nbformat

    base = tmp_path_factory.mktemp("widgets-lab")
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
    nbformat.write(nb, root / "widgets.ipynb")
    # render every cell, so off-screen outputs can be read
    with jupyter_lab(
        base, root, {"@jupyterlab/notebook-extension/tracker": {"windowingMode": "none"}}
    ) as lab:
        yield lab


@pytest.fixture
def page(lab: dict[str, Any]) -> Iterator[Any]:
    with chromium_page({"width": 1300, "height": 1000}, block_external=True) as pg:
        yield pg


def run_all(page: Any) -> None:
    """Start running every cell without waiting for them (the command's promise ends with them)."""
    page.evaluate("() => { window.jupyterapp.commands.execute('notebook:run-all-cells'); }")


def output_of(page: Any, index: int) -> Any:
    return page.locator(".jp-Notebook .jp-Cell").nth(index).locator(".jp-OutputArea")


def shot(locator: Any, name: str) -> None:
    locator.scroll_into_view_if_needed()
    locator.screenshot(path=str(ARTIFACTS / f"widgets-{name}.png"))


def test_every_widget_renders_in_jupyterlab(lab: dict[str, Any], page: Any) -> None:
    # Given JupyterLab with a notebook showing each widget, and runs in the store
    open_notebook(page, lab, "widgets.ipynb")
    # When the user runs all cells
    run_all(page)

    # Then the live chart draws points while its cell is still running
    page.wait_for_function(
        """() => {
            const cell = document.querySelectorAll('.jp-Notebook .jp-Cell')[5];
            const path = cell && cell.querySelector('.nbt-live svg .mark-line path');
            const prompt = cell && cell.querySelector('.jp-InputPrompt');
            return path && (path.getAttribute('d') || '').length > 20 && prompt.textContent.includes('*');
        }""",
        timeout=180_000,
        polling=100,
    )
    shot(output_of(page, 5), "3-live-running")
    (lab["root"] / LIVE_SEEN).touch()  # the live cell may end now

    # The runs table shows rows fetched from the kernel, with markup shown as text
    table = output_of(page, 3)
    table.locator(".nbt-datarow[data-run-id]").first.wait_for(timeout=120_000)
    table.scroll_into_view_if_needed()
    text = table.inner_text()
    assert "offline-2" in text and "tuned" in text and "finished" in text
    assert "onerror" in text and table.locator("img").count() == 0
    assert "6 runs" in table.locator(".nbt-count").inner_text()
    shot(table, "1-runs-table")

    # The chart draws one line per run with the bundled vega (no CDN)
    chart = output_of(page, 4)
    chart.locator(".nbt-chartwidget svg .mark-line path").first.wait_for(timeout=60_000)
    assert chart.locator(".nbt-chartwidget svg .mark-line path").count() >= 3
    assert "offline-0" in chart.inner_text()
    shot(chart, "2-chart")

    # The live chart drew points while its cell was still running (checked first, below)
    shot(output_of(page, 5), "3-live")

    # Compare: the differing param is shown, the code diff shows the changed cell
    comp = output_of(page, 6)
    comp.locator(".nbt-compare-table").wait_for(timeout=120_000)
    assert "lr" in comp.locator(".nbt-compare-table").inner_text()
    shot(comp, "4-compare-table")
    comp.locator("button.nbt-tab", has_text="Code diff").click()
    comp.locator(".nbt-diff-changed").first.wait_for(timeout=30_000)
    diff = comp.locator(".nbt-diff-changed").first.inner_text()
    assert "- lr = 0.1" in diff and "+ lr = 0.01" in diff
    shot(comp, "5-compare-diff")
    comp.locator("button.nbt-tab", has_text="Parallel coordinates").click()
    comp.locator("svg .mark-symbol path").first.wait_for(timeout=30_000)
    assert comp.locator("svg .mark-symbol path").count() >= 2
    shot(comp, "6-compare-parallel")

    # The run view shows the run's params, metrics and executed cells
    view = output_of(page, 7)
    view.locator(".nbt-run .nbt-cellrow").first.wait_for(timeout=60_000)
    vt = view.inner_text()
    assert "tuned" in vt and "Params" in vt and "acc" in vt and "%load_ext nbtrack" in vt
    shot(view, "7-run-view")

    # Interaction: a bad query shows an inline error; a good one filters; selection reaches Python
    page.locator(".jp-Notebook .jp-Cell").nth(8).locator(
        ".jp-OutputArea:has-text('SELECTED')"
    ).wait_for(timeout=120_000)
    query = table.locator(".nbt-query")
    query.fill("metrics.loss >")
    query.press("Enter")
    table.locator(".nbt-error:has-text('column')").wait_for(timeout=30_000)
    shot(table, "8-query-error")
    query.fill("attributes.experiment = 'offline'")
    query.press("Enter")
    page.wait_for_function(
        "(el) => el.textContent.startsWith('4 runs')",
        arg=table.locator(".nbt-count").element_handle(),
        timeout=30_000,
    )
    rows = table.locator(".nbt-datarow[data-run-id]")
    rows.nth(0).click()
    rows.nth(1).click(modifiers=["Shift"])
    table.locator(".nbt-count:has-text('2 selected')").wait_for(timeout=30_000)
    shot(table, "9-selection")
    page.evaluate(
        "async () => { const nb = window.jupyterapp.shell.currentWidget; nb.content.activeCellIndex = 8;"
        " await window.jupyterapp.commands.execute('notebook:run-cell'); }"
    )
    out = output_of(page, 8)
    page.wait_for_function(
        "(el) => el.textContent.includes('SELECTED') && (el.textContent.match(/'[0-9a-f]{32}'/g) || []).length === 2",
        arg=out.element_handle(),
        timeout=60_000,
    )

    assert page.evaluate("window.__xss") is None
    assert not page.external, page.external  # type: ignore[attr-defined]
    assert not page.errors, page.errors  # type: ignore[attr-defined]


def test_widgets_say_when_there_is_no_store(lab: dict[str, Any], page: Any) -> None:
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell(
            "import nbtrack.widgets as w\nw.runs_table(store='no-such-store')"
        ),
        nbformat.v4.new_code_cell("w.chart(['abc'], 'loss', store='no-such-store')"),
    ]
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nbformat.write(nb, lab["root"] / "empty.ipynb")
    page.goto(f"{lab['url']}/lab/workspaces/empty/tree/empty.ipynb?reset&token={lab['token']}")
    page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=60_000)
    page.wait_for_function(
        "() => { const p = window.jupyterapp.shell.currentWidget; return p && p.sessionContext"
        " && p.sessionContext.session && p.sessionContext.session.kernel"
        " && p.sessionContext.session.kernel.status === 'idle'; }",
        timeout=90_000,
    )
    run_all(page)
    for i in range(2):
        note = output_of(page, i).locator(".nbt-notice.nbt-error")
        note.wait_for(timeout=60_000)
        assert "No nbtrack store" in note.inner_text()
    shot(page.locator(".jp-Notebook"), "10-no-store")
    assert not (lab["root"] / "no-such-store").exists()
    assert not page.errors, page.errors  # type: ignore[attr-defined]

"""The line a ``%%track`` run prints when it ends, and a renamed notebook's runs, in a real
JupyterLab and a real headless Chromium (Debian's). Screenshots go to ``test-artifacts/``."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser import (
    ARTIFACTS,
    IDLE_KERNEL,
    chromium_page,
    jupyter_lab,
    open_lab,
    open_notebook,
    require_browser,
)

pytestmark = pytest.mark.slow

BUILT = Path(__file__).resolve().parents[2] / "nbtrack" / "labextension"
NOTEBOOK = "summary.ipynb"
CELLS = [
    "%load_ext nbtrack",
    "%%track --name sgd-e2e --param alpha=0.01\n"
    "import nbtrack\n"
    "for step in range(5):\n"
    "    nbtrack.log_metric('loss', 1 / (step + 1), step=step)\n"
    "nbtrack.log_metric('acc', 0.93)",
    "%%track --name broken-e2e\nimport nbtrack\nnbtrack.log_metric('acc', 0.5)\n1 / 0",
]
# JS: the current notebook gets a code cell with this source at its end, made the active cell.
APPEND_CELL = """(src) => {
  const panel = window.jupyterapp.shell.currentWidget;
  const shared = panel.content.model.sharedModel;
  shared.insertCell(shared.cells.length, {cell_type: 'code', source: src});
  panel.content.activeCellIndex = shared.cells.length - 1;
}"""


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    require_browser()
    import nbformat

    base = tmp_path_factory.mktemp("lab")
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
    # The front end as built in this checkout (nbtrack/labextension), ahead of the copy that
    # `pip install` put in the environment's share/jupyter when it last ran.
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
    page.screenshot(path=str(ARTIFACTS / f"track-summary-{name}.png"))


def api(lab: dict[str, Any], path: str) -> Any:
    req = urllib.request.Request(
        f"{lab['url']}/nbtrack/api/{path}", headers={"Authorization": f"token {lab['token']}"}
    )
    return json.loads(urllib.request.urlopen(req, timeout=30).read())


def no_console_problems(page: Any) -> None:
    assert not page.errors, page.errors
    assert not page.console, page.console


def inside(inner: dict[str, float], outer: dict[str, float]) -> bool:
    return (
        inner["x"] >= outer["x"] - 0.5
        and inner["y"] >= outer["y"] - 0.5
        and inner["x"] + inner["width"] <= outer["x"] + outer["width"] + 0.5
        and inner["y"] + inner["height"] <= outer["y"] + outer["height"] + 0.5
    )


def test_a_track_cell_ends_with_a_line_whose_button_opens_the_run(
    lab: dict[str, Any], page: Any
) -> None:
    # Given a notebook with a %%track cell that logs metrics and one that fails
    open_notebook(page, lab, NOTEBOOK)
    page.console.clear()  # JupyterLab's own start-up notes ("plugin took 5 s to activate")
    # When the user runs all its cells
    page.evaluate("() => { void window.jupyterapp.commands.execute('notebook:run-all-cells'); }")
    # Then each tracked cell ends with one line: name, short id, status, duration, metrics
    done = page.wait_for_selector(".nbtrack-RunSummary[data-status='finished']", timeout=90_000)
    failed = page.wait_for_selector(".nbtrack-RunSummary[data-status='failed']", timeout=60_000)
    runs = {r["name"]: r for r in api(lab, f"runs?notebook={NOTEBOOK}")["runs"]}
    text = done.inner_text()
    assert "sgd-e2e" in text and runs["sgd-e2e"]["id"][:8] in text, text
    assert "finished in" in text and "loss" in text and "0.2" in text and "acc" in text, text
    assert "0.93" in text
    # the failed run says failed, what and where (line 4 of its cell)
    bad = failed.inner_text()
    assert "broken-e2e" in bad and "failed after" in bad, bad
    assert "ZeroDivisionError: division by zero at line 4 of cell [3]" in bad, bad
    # one output per line: the plain-text fallback is not drawn beside it
    summary_cell = page.locator(".jp-CodeCell").nth(1)
    assert summary_cell.locator(".jp-OutputArea-output").count() == 1
    assert "nbtrack: run" not in summary_cell.locator(".jp-OutputArea").inner_text()
    # nothing is cut: the button and every part lie inside the output area
    area = summary_cell.locator(".jp-OutputArea-output").bounding_box()
    for part in summary_cell.locator(".nbtrack-RunSummary > *").all():
        box = part.bounding_box()
        assert box is not None and inside(box, area), (part.inner_text(), box, area)
    page.locator(".jp-CodeCell").nth(2).scroll_into_view_if_needed()
    shot(page, "1-lines")

    # When the user clicks the line's button
    summary_cell.locator(".nbtrack-RunSummary-open").click()
    # Then the run opens in nbtrack's run view
    view = page.wait_for_selector(
        ".nbtrack-runview:has(.nbtrack-name-input[value='sgd-e2e']) .nbtrack-section",
        timeout=30_000,
    )
    assert "alpha" in view.inner_text()
    shot(page, "2-opened")
    no_console_problems(page)

    # Given the notebook saved, then changed outside JupyterLab: its outputs are untrusted
    import nbformat

    page.evaluate(
        "(path) => { for (const w of window.jupyterapp.shell.widgets('main')) {"
        " if (w.context && w.context.path === path) { return w.context.save().then(() => true); }"
        " } return false; }",
        NOTEBOOK,
    )
    nb = nbformat.read(lab["root"] / NOTEBOOK, as_version=4)
    assert any("application/vnd.nbtrack.run+json" in o.get("data", {}) for o in nb.cells[1].outputs)
    nb.cells.append(nbformat.v4.new_markdown_cell("changed by someone else"))
    nbformat.write(nb, lab["root"] / "untrusted.ipynb")
    # When it is opened
    open_lab(page, lab, "lab/tree/untrusted.ipynb")  # the workspace's summary.ipynb stays, hidden
    page.wait_for_function(IDLE_KERNEL, arg="untrusted.ipynb", timeout=90_000)
    page.console.clear()
    # Then the line is drawn all the same (its renderer draws data, not HTML) and still opens the run
    line = (
        page.locator(".jp-NotebookPanel:visible .jp-CodeCell").nth(1).locator(".nbtrack-RunSummary")
    )
    line.wait_for(timeout=30_000)
    assert (
        page.evaluate(
            "() => window.jupyterapp.shell.currentWidget.content.model.cells.get(1).trusted"
        )
        is False
    )
    assert "sgd-e2e" in line.inner_text() and "finished in" in line.inner_text()
    line.screenshot(path=str(ARTIFACTS / "track-summary-0-line.png"))
    line.locator(".nbtrack-RunSummary-open").click()
    page.wait_for_selector(
        ".nbtrack-runview:has(.nbtrack-name-input[value='sgd-e2e']) .nbtrack-section",
        timeout=30_000,
    )
    no_console_problems(page)


def test_runs_after_a_new_notebook_is_renamed_carry_the_renamed_files_revision(
    lab: dict[str, Any], page: Any
) -> None:
    # Given a new notebook (Untitled.ipynb) that recorded a run
    open_lab(page, lab)
    page.evaluate(
        "() => window.jupyterapp.commands.execute('notebook:create-new', "
        "{kernelName: 'python3', cwd: ''}).then(() => true)"
    )
    page.wait_for_function(IDLE_KERNEL, arg="Untitled.ipynb", timeout=90_000)
    page.console.clear()  # JupyterLab's own start-up notes ("plugin took 5 s to activate")
    page.evaluate(
        "() => window.jupyterapp.shell.currentWidget.content.model.sharedModel.cells[0]"
        ".setSource('%load_ext nbtrack')"
    )
    page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-cell')")
    page.evaluate(
        APPEND_CELL,
        "%%track --name before-rename\nimport nbtrack\nnbtrack.log_metric('acc', 1)",
    )
    page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-cell')")
    page.wait_for_selector(".nbtrack-RunSummary:has-text('before-rename')", timeout=90_000)
    # When it is renamed (not saved: the file keeps its empty first version)
    page.evaluate(
        "() => window.jupyterapp.serviceManager.contents"
        ".rename('Untitled.ipynb', 'renamed-e2e.ipynb').then(() => true)"
    )
    page.wait_for_function(
        "() => { const p = window.jupyterapp.shell.currentWidget;"
        " return p.context.path === 'renamed-e2e.ipynb'"
        " && p.sessionContext.session.path === 'renamed-e2e.ipynb'; }",
        timeout=30_000,
    )
    page.wait_for_function(IDLE_KERNEL, arg="renamed-e2e.ipynb", timeout=30_000)
    # and records another run, without a kernel restart
    page.evaluate(
        APPEND_CELL, "%%track --name after-rename\nimport nbtrack\nnbtrack.log_metric('acc', 2)"
    )
    page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-cell')")
    line = page.wait_for_selector(".nbtrack-RunSummary:has-text('after-rename')", timeout=90_000)
    # Then the run after the rename has the renamed file's revision (path and hash)
    runs = {r["name"]: r for r in api(lab, "runs?notebook=renamed-e2e.ipynb")["runs"]}
    before = api(lab, f"runs/{runs['before-rename']['id']}?notebook=renamed-e2e.ipynb")
    after = api(lab, f"runs/{runs['after-rename']['id']}?notebook=renamed-e2e.ipynb")
    assert before["notebook"]["path"].endswith("Untitled.ipynb"), before["notebook"]
    assert after["notebook"]["path"].endswith("renamed-e2e.ipynb"), after["notebook"]
    assert after["notebook"]["hash"], after["notebook"]
    # and its run view shows that revision, not "Not recorded"
    line.query_selector(".nbtrack-RunSummary-open").click()
    view = ".nbtrack-runview:has(.nbtrack-name-input[value='after-rename'])"
    revision = page.locator(f"{view} .nbtrack-section").filter(
        has=page.locator("h2", has_text="Notebook revision")
    )
    revision.wait_for(timeout=30_000)
    revision.scroll_into_view_if_needed()
    text = revision.inner_text()
    assert "renamed-e2e.ipynb" in text and "Not recorded" not in text, text
    shot(page, "3-renamed-revision")
    no_console_problems(page)

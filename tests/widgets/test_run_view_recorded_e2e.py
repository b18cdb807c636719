"""``run_view()``'s "Notebook as recorded" in a real JupyterLab and a real headless Chromium.

With nbtrack's JupyterLab extension the button opens the extension's read-only main-area view
(the ``nbtrack:open`` event, labextension/src/bridge.ts), the run's cells marked, and writes no
file. With the extension disabled (as in classic Notebook or VS Code, where nothing answers the
event) the kernel writes a read-only copy beside the notebook and the widget names it. The
widget also shows the run's datasets. Screenshots go to ``test-artifacts/run-view-recorded-*.png``.
"""

from __future__ import annotations

import json
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser import ARTIFACTS, chromium_page, jupyter_lab, open_notebook, require_browser

pytestmark = pytest.mark.slow

NOTEBOOK = "recorded.ipynb"
CELLS = [
    "%load_ext nbtrack",
    "rows = [3.0, 1.0, 2.0]",
    "%%track --name fitted --experiment demo\nimport pandas as pd\n"
    'frame = pd.DataFrame({"x": rows, "label": ["a", "b", "c"]})\n'
    'nbtrack.log_input(frame, name="train", context="training")\n'
    "total = frame.x.sum()",
    "import nbtrack.widgets as w\nw.run_view(nbtrack.search_runs()['run_id'][0])",
]
SETTINGS = {"@jupyterlab/notebook-extension/tracker": {"windowingMode": "none"}}


def make_root(base: Path) -> Path:
    import nbformat

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
    return root


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    require_browser()
    base = tmp_path_factory.mktemp("recorded-lab")
    with jupyter_lab(base, make_root(base), SETTINGS) as lab:
        yield lab


@pytest.fixture(scope="module")
def bare_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """JupyterLab with nbtrack's extension disabled: nothing answers the widget's event."""
    require_browser()
    base = tmp_path_factory.mktemp("recorded-bare-lab")
    config = base / "jupyter_config_dir" / "labconfig" / "page_config.json"
    config.parent.mkdir(parents=True)
    config.write_text(json.dumps({"disabledExtensions": {"nbtrack": True}}))
    with jupyter_lab(base, make_root(base), SETTINGS) as lab:
        yield lab


def run_cells(page: Any) -> Any:
    """Run every cell in turn; returns the run view's widget once it has drawn."""
    for i in range(len(CELLS)):
        page.evaluate(
            "async (i) => { const nb = window.jupyterapp.shell.currentWidget;"
            " nb.content.activeCellIndex = i;"
            " await window.jupyterapp.commands.execute('notebook:run-cell'); }",
            i,
        )
    view = page.locator(".jp-Notebook .jp-Cell").nth(len(CELLS) - 1).locator(".nbt-run")
    view.locator(".nbt-cellrow").first.wait_for(timeout=120_000)
    return view


def test_the_button_opens_the_read_only_recorded_notebook_with_the_run_cells_marked(
    lab: dict[str, Any],
) -> None:
    with chromium_page({"width": 1300, "height": 2000}, block_external=True) as page:
        # Given the view of a run that declared a dataset, shown in its notebook
        open_notebook(page, lab, NOTEBOOK)
        view = run_cells(page)
        # Then the view lists the dataset: name, context, short digest, what it holds
        datasets = view.locator(".nbt-datasets")
        datasets.wait_for(timeout=30_000)
        row = datasets.locator(".nbt-dataset")
        assert row.count() == 1
        text = row.inner_text()
        assert "train" in text and "training" in text and "3 rows × 2 columns" in text, text
        digest = row.locator("td").nth(1)
        assert len(digest.inner_text().strip()) == 12
        assert len(digest.get_attribute("title") or "") > 12
        view.screenshot(path=str(ARTIFACTS / "run-view-recorded-1-datasets.png"))

        # When the user clicks "Notebook as recorded"
        view.locator("button.nbt-open-recorded").click()
        # Then JupyterLab opens the read-only view of the extension in the main area
        page.wait_for_selector(".nbtrack-recorded .nbtrack-rec-cell", timeout=30_000)
        current = page.evaluate(
            "() => { const w = window.jupyterapp.shell.currentWidget;"
            " return { id: w.id, label: w.title.label, document: !!w.context }; }"
        )
        assert current["id"].startswith("nbtrack-recorded-"), current
        assert current["label"] == "fitted (as recorded)" and not current["document"], current
        header = page.inner_text(".nbtrack-rec-header")
        assert "fitted" in header and "read-only" in header.lower(), header
        # with the run's one cell marked, and the cells before it not
        marked = page.locator(".nbtrack-rec-in-run")
        assert marked.count() == 1
        assert "nbtrack.log_input(frame" in marked.inner_text()
        assert page.locator(".nbtrack-rec-cell:not(.nbtrack-rec-in-run)").count() >= 2
        assert page.locator(".nbtrack-recorded .cm-editor, .nbtrack-recorded textarea").count() == 0
        page.screenshot(path=str(ARTIFACTS / "run-view-recorded-2-opened.png"))
        # and the kernel wrote nothing: the extension answered
        assert not list(Path(lab["root"]).glob("*.as-recorded.ipynb"))
        assert not page.external, page.external  # type: ignore[attr-defined]
        assert not page.errors, page.errors  # type: ignore[attr-defined]


def test_without_the_extension_the_kernel_writes_a_read_only_copy_and_the_widget_names_it(
    bare_lab: dict[str, Any],
) -> None:
    with chromium_page({"width": 1300, "height": 1000}, block_external=True) as page:
        # Given the run view in a JupyterLab where nbtrack's extension is disabled
        open_notebook(page, bare_lab, NOTEBOOK)
        assert page.evaluate("() => window.jupyterapp.hasPlugin('nbtrack:plugin')") is False
        view = run_cells(page)
        # When the user clicks "Notebook as recorded"
        view.locator("button.nbt-open-recorded").click()
        # Then the widget says where the read-only copy was written
        message = view.locator(".nbt-action-message:has-text('written to')")
        message.wait_for(timeout=60_000)
        said = message.inner_text()
        [copy] = list(Path(bare_lab["root"]).glob("fitted-*.as-recorded.ipynb"))
        assert str(copy) in said and "read-only" in said, said
        assert stat.S_IMODE(copy.stat().st_mode) == 0o444
        nb = json.loads(copy.read_text())
        assert nb["metadata"]["nbtrack"]["as_recorded"] is True
        marked = [c for c in nb["cells"] if c["metadata"].get("nbtrack", {}).get("in_run")]
        assert len(marked) == 1 and "nbtrack.log_input(frame" in "".join(marked[0]["source"])
        assert page.locator(".nbtrack-recorded").count() == 0
        view.locator(".nbt-controls").screenshot(
            path=str(ARTIFACTS / "run-view-recorded-3-fallback.png")
        )
        assert not page.external, page.external  # type: ignore[attr-defined]

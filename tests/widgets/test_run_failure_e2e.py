"""A failed ``%%track`` cell in a real JupyterLab and a real headless Chromium: its traceback
reads like any cell's, and ``run_view()`` of its run opens with the failure banner.
Screenshots go to ``test-artifacts/run-failure-*.png``."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from tests.browser import ARTIFACTS, chromium_page, jupyter_lab, open_notebook, require_browser

pytestmark = pytest.mark.slow

CELLS = [
    "%load_ext nbtrack",
    "%%track --name broken --experiment demo\nrows = [1, 2, 3]\ntotal = sum(rows) / 0\nprint(total)",
    "import nbtrack.widgets as w\nw.run_view(nbtrack.search_runs()['run_id'][0])",
]


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    require_browser()
    import nbformat

    base = tmp_path_factory.mktemp("failure-lab")
    root = base / "root"
    root.mkdir()
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(src) for src in CELLS]
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nbformat.write(nb, root / "failure.ipynb")
    with jupyter_lab(
        base, root, {"@jupyterlab/notebook-extension/tracker": {"windowingMode": "none"}}
    ) as lab:
        yield lab


def run_cell(page: Any, index: int) -> None:
    page.evaluate(
        "async (i) => { const nb = window.jupyterapp.shell.currentWidget; nb.content.activeCellIndex = i;"
        " await window.jupyterapp.commands.execute('notebook:run-cell'); }",
        index,
    )


def cell(page: Any, index: int) -> Any:
    return page.locator(".jp-Notebook .jp-Cell").nth(index)


def test_a_failed_track_cell_reads_like_any_cell_and_its_run_view_opens_with_the_failure(
    lab: dict[str, Any],
) -> None:
    with chromium_page({"width": 1200, "height": 900}, block_external=True) as page:
        # Given a notebook whose %%track cell fails on its line 3
        open_notebook(page, lab, "failure.ipynb")
        for i in range(2):
            run_cell(page, i)
        # Then its traceback names the cell's own prompt number and line 3, with no magic frame
        error = cell(page, 1).locator(".jp-OutputArea-output:has-text('Traceback')")
        error.wait_for(timeout=120_000)
        prompt = cell(page, 1).locator(".jp-InputPrompt").inner_text()
        count = re.search(r"\[(\d+)\]", prompt)
        assert count, prompt
        text = error.inner_text()
        assert f"Cell In[{count.group(1)}], line 3" in text, text
        assert "run_cell_magic" not in text and "run_line_magic" not in text, text
        assert "%%track --name broken --experiment demo" in text
        cell(page, 1).screenshot(path=str(ARTIFACTS / "run-failure-1-traceback.png"))

        # When the user shows the run's view
        run_cell(page, 2)
        banner = cell(page, 2).locator(".nbt-run .nbt-failure")
        banner.wait_for(timeout=120_000)
        # Then it opens with the failure: type, message, where, the line
        said = banner.inner_text()
        assert "Failed: ZeroDivisionError: division by zero" in said, said
        assert f"at line 3 of cell [{count.group(1)}]" in said and "total = sum(rows) / 0" in said
        view = cell(page, 2).locator(".nbt-run")
        first = view.locator(":scope > *")
        assert first.nth(2).get_attribute("class") == "nbt-failure"  # under the name, on top
        view.screenshot(path=str(ARTIFACTS / "run-failure-2-run-view.png"))
        assert not page.external, page.external  # type: ignore[attr-defined]
        assert not page.errors, page.errors  # type: ignore[attr-defined]

"""The run view in a real JupyterLab and Chromium shows the datasets a run logged."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser import ARTIFACTS, chromium_page, jupyter_lab, open_lab, require_browser

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """JupyterLab over a store holding one run with a DataFrame, an array and a file as inputs."""
    require_browser()
    import numpy as np
    import pandas as pd

    import nbtrack
    from nbtrack.store import Store

    base = tmp_path_factory.mktemp("lab")
    root = base / "root"
    root.mkdir()
    store = Store(str(base / "store"))
    (root / "labels.csv").write_text("id,label\n1,cat\n")
    with nbtrack.start_run(
        name="data-run", experiment="datasets-e2e", store=store, log_system_metrics=False
    ) as run:
        run.log_input(pd.DataFrame({"x": [1.0, 2.0, 3.0], "y": ["a", "b", "c"]}), name="train", context="training")  # fmt: skip
        run.log_input(np.zeros((4, 2)), context="validation")
        run.log_input(root / "labels.csv")
    with jupyter_lab(base, root, store=str(base / "store")) as lab:
        yield lab


def test_the_run_view_lists_the_runs_datasets(lab: dict[str, Any], tmp_path: Path) -> None:
    with chromium_page({"width": 1400, "height": 900}) as page:
        # Given JupyterLab over a store with a run that logged three datasets
        open_lab(page, lab)
        page.evaluate("window.jupyterapp.commands.execute('nbtrack:open-sidebar')")
        # When the user opens the run
        page.click(".nbtrack-run:has-text('data-run')", timeout=60_000)
        section = page.wait_for_selector(".nbtrack-datasets", timeout=30_000)
        # Then each dataset shows its name, context, short digest and what it holds
        items = page.locator(".nbtrack-datasets li").all_inner_texts()
        page.screenshot(path=str(ARTIFACTS / "sidebar-datasets.png"))
        assert len(items) == 3, items
        assert "train" in items[0] and "training" in items[0] and "3 rows × 2 columns" in items[0]
        assert "validation" in items[1] and "array 4×2 float64" in items[1]
        assert "labels.csv" in items[2] and str(lab["root"] / "labels.csv") in items[2]
        assert "Datasets" in section.inner_text()
        assert not page.errors, page.errors  # type: ignore[attr-defined]

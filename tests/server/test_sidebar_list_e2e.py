"""The sidebar's run list and the run view's actions in a real JupyterLab and a real headless
Chromium (Debian's), end to end (issue #17, items 1, 8 and 10): nested runs folded under their
parent, names and params that fit the sidebar's default width, a Compare that looks disabled,
tabs that come back after a reload, replay feedback in words, one styled outcome at a time,
Export naming where the file went, Delete asking first, and no replay for a script's run.

The store holds runs made by a plain Python script (no cells; a "replay" with three nested
runs; two same-named runs told apart by their params) and one run of a notebook executed
through a real kernel. Screenshots go to ``test-artifacts/sidebar-list-*.png``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser import ARTIFACTS, chromium_page, jupyter_lab, open_lab, require_browser

pytestmark = pytest.mark.slow

BUILT = Path(__file__).resolve().parents[2] / "nbtrack" / "labextension"
LONG_NAME = "sgd-classifier-baseline-with-a-rather-long-descriptive-name"
SCRIPT = f"""
import nbtrack
for alpha in ("0.01", "3.0"):
    with nbtrack.start_run({LONG_NAME!r}, "sgd", params={{"alpha": alpha, "epochs": 5}}):
        nbtrack.log_metric("acc", 0.9)
with nbtrack.start_run("replay-of-sgd", "sgd"):
    for i in range(3):
        with nbtrack.start_run(f"re-run-cell-{{i}}", "sgd", params={{"cell": i}}):
            nbtrack.log_metric("acc", 0.5)
"""
TRACK_CELL = """%%track --name tracked --experiment sgd --param alpha=0.5
import nbtrack
x = sum(range(10))
nbtrack.log_metric("acc", 0.75)"""


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """JupyterLab on a store holding the script's runs and one tracked notebook run."""
    require_browser()
    import nbformat
    from nbclient import NotebookClient

    base = tmp_path_factory.mktemp("lab")
    root = base / "root"
    root.mkdir()
    store = str(root / ".nbtrack")
    env = {**os.environ, "NBTRACK_STORE": store}
    subprocess.run([sys.executable, "-c", SCRIPT], env=env, cwd=root, check=True, timeout=120)
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
    nbformat.write(nb, root / "track.ipynb")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("NBTRACK_STORE", store)
        client = NotebookClient(
            nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(root)}}
        )
        client.execute()
    nbformat.write(nb, root / "track.ipynb")
    # the extension as built in this checkout, ahead of the copy `pip install` last put in share/
    built = base / "labextensions"
    built.mkdir()
    (built / "nbtrack").symlink_to(BUILT, target_is_directory=True)
    args = [f"--LabApp.extra_labextensions_path={built}"]
    with jupyter_lab(base, root, store=store, server_args=args) as lab:
        yield lab


@pytest.fixture
def page(lab: dict[str, Any]) -> Iterator[Any]:
    with chromium_page({"width": 1400, "height": 900}) as pg:
        yield pg


def shot(page: Any, name: str) -> None:
    page.screenshot(path=str(ARTIFACTS / f"sidebar-list-{name}.png"))


def api(lab: dict[str, Any], method: str, path: str, body: Any = None) -> Any:
    req = urllib.request.Request(
        f"{lab['url']}/nbtrack/api/{path}",
        method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers={"Authorization": f"token {lab['token']}", "Content-Type": "application/json"},
    )
    return json.loads(urllib.request.urlopen(req, timeout=30).read())


def run_id(lab: dict[str, Any], name: str, **params: str) -> str:
    runs = api(lab, "GET", "runs?max_results=100")["runs"]
    return next(
        r["id"]
        for r in runs
        if r["name"] == name and all(r["params"].get(k) == v for k, v in params.items())
    )


def view(page: Any, selector: str) -> Any:
    """``selector`` in the run view shown (other run tabs, restored, are hidden)."""
    return page.locator(f".nbtrack-runview:visible {selector}")


def no_console_problems(page: Any) -> None:
    assert not page.errors, page.errors
    assert not page.console, page.console


def open_sidebar(page: Any, lab: dict[str, Any]) -> None:
    open_lab(page, lab)
    page.evaluate("window.jupyterapp.commands.execute('nbtrack:open-sidebar')")
    page.wait_for_selector(".nbtrack-run:has-text('tracked')", timeout=30_000)


def row(page: Any, name: str) -> Any:
    return page.locator(f".nbtrack-run-item:has(.nbtrack-run-name:text-is('{name}'))")


def open_run(page: Any, name: str) -> None:
    row(page, name).first.locator("button.nbtrack-run").click()
    page.wait_for_selector(
        f".nbtrack-runview:has(.nbtrack-name-input[value='{name}']) .nbtrack-section",
        timeout=30_000,
    )


# the bounding boxes of a row's parts, and whether the text of each is cut (ellipsized)
GEOMETRY = """(li) => {
  const box = e => { const r = e.getBoundingClientRect(); return [r.left, r.right, r.top, r.bottom]; };
  const name = li.querySelector('.nbtrack-run-name');
  const select = li.querySelector('.nbtrack-run-select');
  const params = li.querySelector('.nbtrack-run-params');
  return { row: box(li), name: box(name), select: box(select), nameCut: name.scrollWidth > name.clientWidth,
           nameTitle: name.title, params: params ? box(params) : null,
           paramsText: params ? params.textContent : null, paramsTitle: params ? params.title : null,
           sidebar: box(document.getElementById('nbtrack-sidebar')) };
}"""


def test_the_list_folds_nested_runs_and_fits_names_and_params_at_the_default_width(
    lab: dict[str, Any], page: Any
) -> None:
    # Given a replay with three nested runs and two same-named runs with different params
    open_sidebar(page, lab)
    page.console.clear()
    # Then the sidebar has its default width, and the replay's nested runs are folded under it
    replay = row(page, "replay-of-sgd")
    toggle = replay.locator(".nbtrack-run-toggle")
    assert toggle.inner_text().endswith("3 nested runs")
    assert toggle.get_attribute("aria-expanded") == "false"
    assert page.locator(".nbtrack-run-name:text-is('re-run-cell-0')").count() == 0
    # and each of the same-named runs shows its params, inside the row, full text in the title
    named = row(page, LONG_NAME)
    assert named.count() == 2
    seen = set()
    for i in range(2):
        g = named.nth(i).evaluate(GEOMETRY)
        assert g["sidebar"][1] - g["sidebar"][0] <= 260, g  # JupyterLab's default 250 px
        # the long name is cut with an ellipsis inside the row, and its title is the full name
        assert g["nameCut"] and g["nameTitle"] == LONG_NAME, g
        assert g["row"][0] <= g["name"][0] and g["name"][1] <= g["row"][1] + 0.5, g
        # on the line of its select box (a long name or params must not push it below)
        assert g["select"][1] <= g["name"][0] and g["name"][2] < g["select"][3], g
        assert g["params"] is not None and g["params"][1] <= g["row"][1] + 0.5, g
        assert g["paramsTitle"] == g["paramsText"]
        seen.add(g["paramsText"])
    assert seen == {"alpha=0.01 · epochs=5", "alpha=3.0 · epochs=5"}
    # and Compare, with nothing selected, looks disabled and says why
    compare = page.locator(".nbtrack-compare")
    assert compare.is_disabled()
    assert "two or more" in (compare.get_attribute("title") or "")
    disabled_look = compare.evaluate(
        "b => [getComputedStyle(b).backgroundColor, getComputedStyle(b).cursor]"
    )
    assert disabled_look[1] == "not-allowed"
    shot(page, "1-folded")

    # When the user expands the replay
    toggle.click()
    # Then its three runs show under it, indented, and the toggle says they are shown
    assert toggle.get_attribute("aria-expanded") == "true"
    for i in range(3):
        child = row(page, f"re-run-cell-{i}")
        assert child.get_attribute("data-depth") == "1"
        assert (
            child.bounding_box()["x"] > replay.bounding_box()["x"]
            or child.locator(".nbtrack-run-select").bounding_box()["x"]
            > replay.locator(".nbtrack-run-select").bounding_box()["x"]
        )
    # and selecting two runs enables Compare, which then looks enabled
    named.nth(0).locator(".nbtrack-run-select").check()
    named.nth(1).locator(".nbtrack-run-select").check()
    assert compare.is_enabled()
    enabled_look = compare.evaluate(
        "b => [getComputedStyle(b).backgroundColor, getComputedStyle(b).cursor]"
    )
    assert enabled_look[0] != disabled_look[0] and enabled_look[1] != "not-allowed"
    shot(page, "2-expanded")
    # When it is collapsed again, the children are gone from the list
    toggle.click()
    assert page.locator(".nbtrack-run-name:text-is('re-run-cell-0')").count() == 0
    no_console_problems(page)


def test_a_script_run_cannot_be_replayed_and_says_why(lab: dict[str, Any], page: Any) -> None:
    # Given a run made by a plain Python script (no recorded cells)
    open_sidebar(page, lab)
    page.console.clear()
    # When the user opens it
    open_run(page, LONG_NAME)
    # Then Reproduce, Replay and "Notebook as recorded" are disabled and their titles say why
    for button in (".nbtrack-reproduce", ".nbtrack-replay", ".nbtrack-open-recorded"):
        b = view(page, button)
        assert b.is_disabled(), button
        assert "no notebook cells" in (b.get_attribute("title") or ""), button
    shot(page, "3-script-run")
    no_console_problems(page)


def test_export_says_where_the_file_went_and_replay_counts_cells_one_outcome_at_a_time(
    lab: dict[str, Any], page: Any
) -> None:
    # Given the run of a notebook
    open_sidebar(page, lab)
    page.console.clear()
    open_run(page, "tracked")
    assert view(page, ".nbtrack-replay").is_enabled()
    # When the user exports it as a script
    with page.expect_download() as download:
        view(page, ".nbtrack-export-script").click()
    filename = download.value.suggested_filename
    # Then a success message names the file and says it went to the browser's downloads
    message = view(page, ".nbtrack-message-success")
    message.wait_for(timeout=30_000)
    assert filename in message.inner_text() and "downloads" in message.inner_text()
    shot(page, "4-exported")
    # When the user replays it, the step counts are watched as they change
    page.evaluate(
        """() => { window.__counts = new Set();
        new MutationObserver(() => {
          for (const c of document.querySelectorAll('.nbtrack-step-count, .nbtrack-step-text')) {
            window.__counts.add(c.textContent);
          }
        }).observe(document.body, {subtree: true, childList: true, characterData: true}); }"""
    )
    view(page, ".nbtrack-replay").click()
    # Then the export's message is replaced (not piled up) by the replay's progress
    view(page, ".nbtrack-replay-steps").wait_for(timeout=30_000)
    assert view(page, ".nbtrack-message").count() == 0
    verdict = view(page, ".nbtrack-verdict, .nbtrack-replay-error")
    verdict.wait_for(timeout=240_000)
    assert view(page, ".nbtrack-replay-error").count() == 0, view(page, "").inner_text()
    # and the progress read in words, never a bare count ("Replaying… 0")
    counts = set(page.evaluate("() => Array.from(window.__counts)"))
    assert counts and not any(c.strip().isdigit() for c in counts), counts
    assert any("cells done" in c or "starting a fresh kernel" in c for c in counts), counts
    # and the verdict is styled as a success
    assert "nbtrack-verdict-ok" in (verdict.get_attribute("class") or "")
    color = verdict.evaluate("v => getComputedStyle(v).borderLeftColor")
    shot(page, "5-replayed")
    # When another action ends (a tag that is not KEY=VALUE), its error replaces the verdict
    view(page, ".nbtrack-tag-form input").fill("=nokey")
    view(page, ".nbtrack-tag-form input").press("Enter")
    error = view(page, ".nbtrack-message-error")
    error.wait_for(timeout=10_000)
    assert view(page, ".nbtrack-verdict").count() == 0
    assert error.evaluate("e => getComputedStyle(e).borderLeftColor") != color
    shot(page, "6-error")
    no_console_problems(page)


def test_run_and_compare_tabs_come_back_after_a_reload_without_deleted_runs(
    lab: dict[str, Any], page: Any
) -> None:
    # Given a run tab and a compare tab open
    open_sidebar(page, lab)
    page.console.clear()
    open_run(page, "tracked")
    named = row(page, LONG_NAME)
    named.nth(0).locator(".nbtrack-run-select").check()
    named.nth(1).locator(".nbtrack-run-select").check()
    page.click(".nbtrack-compare")
    page.wait_for_selector(".lm-TabBar-tab:has-text('Compare 2 runs')", timeout=30_000)
    wait_saved(lab, "nbtrack-compare:")
    # When the page is reloaded
    page.reload()
    page.wait_for_function("() => window.jupyterapp !== undefined", timeout=60_000)
    page.evaluate("() => window.jupyterapp.restored.then(() => true)")
    # Then both tabs are back, showing their runs
    page.wait_for_selector(".lm-TabBar-tab:has-text('Run tracked')", timeout=30_000)
    page.wait_for_selector(".lm-TabBar-tab:has-text('Compare 2 runs')", timeout=30_000)
    page.click(".lm-TabBar-tab:has-text('Run tracked')")
    view(page, ".nbtrack-name-input[value='tracked']").wait_for(timeout=30_000)
    shot(page, "7-restored")
    # When one of the compared runs is deleted and the page reloaded again
    gone = run_id(lab, LONG_NAME, alpha="0.01")
    api(lab, "DELETE", f"runs/{gone}")
    try:
        page.reload()
        page.wait_for_function("() => window.jupyterapp !== undefined", timeout=60_000)
        page.evaluate("() => window.jupyterapp.restored.then(() => true)")
        page.wait_for_selector(".lm-TabBar-tab:has-text('Run tracked')", timeout=30_000)
        # Then the compare tab is dropped silently; the run tab stays
        time.sleep(1)
        assert page.locator(".lm-TabBar-tab:has-text('Compare 2 runs')").count() == 0
    finally:
        api(lab, "POST", f"runs/{gone}/restore", {})
    no_console_problems(page)


def wait_saved(lab: dict[str, Any], key: str) -> None:
    """Waits until JupyterLab's workspace holds ``key`` (the layout restorer saved the tab)."""
    deadline = time.time() + 30
    while time.time() < deadline:
        req = urllib.request.Request(
            f"{lab['url']}/lab/api/workspaces/default",
            headers={"Authorization": f"token {lab['token']}"},
        )
        try:
            if key in urllib.request.urlopen(req, timeout=10).read().decode():
                return
        except OSError:
            pass
        time.sleep(0.5)
    raise AssertionError(f"the workspace never saved {key}")


def test_delete_asks_first_counting_the_nested_runs_and_takes_them_along(
    lab: dict[str, Any], page: Any
) -> None:
    # Given the replay with three nested runs, open in its tab
    open_sidebar(page, lab)
    page.console.clear()
    open_run(page, "replay-of-sgd")
    before = len(api(lab, "GET", "runs?max_results=100")["runs"])
    # When the user clicks Delete
    view(page, ".nbtrack-delete").click()
    # Then a dialog asks first, saying 4 runs go (the replay and its 3 nested runs)
    dialog = page.wait_for_selector(".jp-Dialog", timeout=10_000)
    text = dialog.inner_text()
    assert "Delete 4 runs?" in text and "3 runs nested" in text, text
    shot(page, "8-confirm-delete")
    # When the user cancels, nothing is deleted
    page.click(".jp-Dialog .jp-mod-reject")
    page.wait_for_selector(".jp-Dialog", state="detached")
    assert len(api(lab, "GET", "runs?max_results=100")["runs"]) == before
    # When the user deletes and confirms
    view(page, ".nbtrack-delete").click()
    page.click(".jp-Dialog .jp-mod-warn")
    # Then the view says 4 runs were deleted, and the replay and its runs leave the list
    message = view(page, ".nbtrack-message-success")
    message.wait_for(timeout=30_000)
    assert "Deleted 4 runs" in message.inner_text()
    page.wait_for_selector(".nbtrack-run-name:text-is('replay-of-sgd')", state="detached")
    names = {r["name"] for r in api(lab, "GET", "runs?max_results=100")["runs"]}
    assert not any(n.startswith("re-run-cell") for n in names) and "replay-of-sgd" not in names
    shot(page, "9-deleted")
    # and Restore brings all four back
    view(page, ".nbtrack-restore").click()
    page.wait_for_selector(".nbtrack-run-name:text-is('replay-of-sgd')", timeout=30_000)
    assert len(api(lab, "GET", "runs?max_results=100")["runs"]) == before
    no_console_problems(page)

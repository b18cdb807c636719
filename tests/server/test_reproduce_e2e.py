"""Issue #15 in a real JupyterLab and a real headless Chromium: a failed run's banner, Reproduce
(the replay in the run's recorded environment, rebuilt) with its progress and verdict, and the
notebook as the run recorded it, opened read-only. Screenshots go to ``test-artifacts/``.

The environments Reproduce builds are cached in a temporary directory shared by the module
(``NBTRACK_ENV_CACHE``), so the second Reproduce of the same run takes the cached one.
"""

from __future__ import annotations

import json
import urllib.error
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser import ARTIFACTS, chromium_page, jupyter_lab, open_notebook, require_browser
from tests.server.test_sidebar_e2e import CONTRAST, api

# a cold environment build installs dozens of packages from the index: allow for a slow one
pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

NOTEBOOK = "repro.ipynb"
# only the standard library: the recreated environment needs ipykernel and nothing else
OK_CELL = """%%track --name repro-ok --experiment repro
import json
import statistics
xs = [i * i for i in range(6)]
mean = statistics.mean(xs)
blob = json.dumps(xs)"""
CLOCK_CELL = """%%track --name repro-clock --experiment repro
import time
stamp = time.time()"""
BAD_CELL = """%%track --name repro-bad --experiment repro
ratio = 1.5
scaled = ratio * 2
value = scaled / 0"""

# Elements under `sel` whose text is cut off: wider content than box (clipped or scrolled), or a
# box reaching outside the main-area widget that holds it.
CLIPPED = """(sel) => {
  const root = document.querySelector(sel);
  if (!root) { return ['missing ' + sel]; }
  const frame = root.closest('.lm-Widget.jp-MainAreaWidget') || document.body;
  const fr = frame.getBoundingClientRect();
  const bad = [];
  for (const el of [root, ...root.querySelectorAll('*')]) {
    const r = el.getBoundingClientRect();
    if (r.width === 0 || !el.textContent.trim()) { continue; }
    const style = getComputedStyle(el);
    const name = el.className || el.tagName;
    if (el.scrollWidth > el.clientWidth + 1 && style.overflowX !== 'visible') {
      bad.push(`${name}: content ${el.scrollWidth}px in ${el.clientWidth}px`);
    }
    if (r.left < fr.left - 1 || r.right > fr.right + 1) {
      bad.push(`${name}: ${Math.round(r.left)}-${Math.round(r.right)} outside ${Math.round(fr.left)}-${Math.round(fr.right)}`);
    }
  }
  return bad;
}"""


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """JupyterLab serving a notebook with a markdown cell, ``%load_ext nbtrack``, a tracked cell
    that succeeds, one that reads the clock and one that fails; recreated environments cached in the module's directory."""
    require_browser()
    import nbformat

    base = tmp_path_factory.mktemp("lab")
    root = base / "root"
    root.mkdir()
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_markdown_cell("# Reproduce demo\nThe runs below are *tracked*."),
        nbformat.v4.new_code_cell("%load_ext nbtrack"),
        # outputs saved from an earlier session: the notebook as recorded shows them, untrusted
        nbformat.v4.new_code_cell(
            OK_CELL,
            outputs=[
                nbformat.v4.new_output("stream", name="stdout", text="printed earlier\n"),
                nbformat.v4.new_output(
                    "display_data",
                    data={
                        "text/html": "<b>bold output</b><script>window.__xss = 3</script>",
                        "text/plain": "bold output",
                    },
                ),
            ],
        ),
        nbformat.v4.new_code_cell(CLOCK_CELL),
        nbformat.v4.new_code_cell(BAD_CELL),
    ]
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nbformat.write(nb, root / NOTEBOOK)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("NBTRACK_ENV_CACHE", str(base / "envs"))
        with jupyter_lab(base, root) as lab:
            yield lab


@pytest.fixture
def page(lab: dict[str, Any]) -> Iterator[Any]:
    with chromium_page({"width": 1400, "height": 900}) as pg:
        yield pg


def shot(page: Any, name: str) -> None:
    page.screenshot(path=str(ARTIFACTS / f"reproduce-{name}.png"))


def open_with_runs(page: Any, lab: dict[str, Any]) -> None:
    """The notebook open and the sidebar showing both runs (recorded by running it once)."""
    open_notebook(page, lab, NOTEBOOK)
    page.evaluate("window.jupyterapp.commands.execute('nbtrack:open-sidebar')")
    page.wait_for_selector(".nbtrack-sidebar-body", timeout=30_000)
    recorded = api(lab, "GET", f"runs?notebook={NOTEBOOK}")["runs"]
    if not {"repro-ok", "repro-clock", "repro-bad"} <= {r["name"] for r in recorded}:
        # not awaited: the selectors below wait for what the cells record
        page.evaluate(
            "() => { void window.jupyterapp.commands.execute('notebook:run-all-cells'); }"
        )
    page.wait_for_selector(
        ".nbtrack-run:has-text('repro-ok') .nbtrack-badge-finished", timeout=120_000
    )
    page.wait_for_selector(
        ".nbtrack-run:has-text('repro-bad') .nbtrack-badge-failed", timeout=60_000
    )


def open_run(page: Any, name: str) -> Any:
    """Open the run the notebook recorded as ``name``: the oldest of that name, as replays of a
    run whose cells hold ``%%track`` record those cells' runs again (newest first in the list)."""
    page.locator(f".nbtrack-run:has(.nbtrack-run-name:text-is('{name}'))").last.click()
    view = f".nbtrack-runview:has(.nbtrack-name-input[value='{name}'])"
    found = page.wait_for_selector(f"{view} .nbtrack-section", timeout=30_000)
    # its buttons shown, not only its first section: the view is the main area's current tab
    waited(page, f"{view} .nbtrack-reproduce", 30_000, "the run view's Reproduce button")
    return found


def waited(page: Any, selector: str, timeout: int, what: str) -> Any:
    """``page.wait_for_selector``, failing with what the page showed: a screenshot and the run
    view's text (a bare Playwright timeout says nothing of where the view was stuck)."""
    try:
        return page.wait_for_selector(selector, timeout=timeout)
    except Exception as exc:
        shot(page, "timeout")
        shown = page.evaluate(
            "() => [...document.querySelectorAll('.nbtrack-runview')].map(v => "
            "(v.offsetParent ? 'shown: ' : 'hidden: ') + v.innerText.slice(0, 1500))"
        )
        current = page.evaluate(
            "() => window.jupyterapp.shell.currentWidget && window.jupyterapp.shell.currentWidget.title.label"
        )
        raise AssertionError(
            f"{what} did not show in {timeout / 1000:.0f} s ({exc.__class__.__name__}); "
            f"current tab {current!r}; run views: {shown}; console: {page.console}"
        ) from None


def no_console_problems(page: Any) -> None:
    assert not page.errors, page.errors
    assert not page.console, page.console


def test_a_failed_run_shows_a_banner_at_the_top_that_leads_to_its_cell(
    lab: dict[str, Any], page: Any
) -> None:
    # Given a notebook whose second tracked cell raised ZeroDivisionError
    open_with_runs(page, lab)
    page.console.clear()
    # When the user opens the failed run
    open_run(page, "repro-bad")
    banner = page.wait_for_selector(".nbtrack-failure", timeout=30_000)
    # Then a banner above everything else names the exception, the failing line and its cell
    first = page.evaluate(
        "() => document.querySelector('.nbtrack-runview').firstElementChild.className"
    )
    assert "nbtrack-failure" in first
    text = banner.inner_text()
    assert "ZeroDivisionError" in text and "division by zero" in text, text
    assert "value = scaled / 0" in page.inner_text(".nbtrack-failure-line")
    assert "[4]" in text, text
    # nothing of it is cut off or outside the tab
    assert page.evaluate(CLIPPED, ".nbtrack-failure") == []
    shot(page, "1-failure-banner")

    # When the user asks for the failing cell, the run's cell list shows it
    page.click(".nbtrack-failure-show")
    page.wait_for_selector(".nbtrack-cell-flash", timeout=5_000)
    flashed = page.locator(".nbtrack-cell-flash")
    assert "value = scaled / 0" in flashed.inner_text()
    page.wait_for_function(
        "() => { const c = document.querySelector('.nbtrack-cell-flash').getBoundingClientRect();"
        " const w = document.querySelector('.nbtrack-cell-flash')"
        ".closest('.nbtrack-runview-widget').getBoundingClientRect(); return c.top >= w.top && c.bottom <= w.bottom; }",
        timeout=5_000,
    )
    shot(page, "2-failing-cell")
    no_console_problems(page)


def test_reproduce_rebuilds_the_environment_replays_and_shows_the_verdict(
    lab: dict[str, Any], page: Any
) -> None:
    # Given the finished run, whose cells import only the standard library
    open_with_runs(page, lab)
    page.console.clear()
    open_run(page, "repro-ok")
    # the steps the view shows, as they come (a MutationObserver, so fast steps are not missed)
    page.evaluate(
        """() => { window.__steps = new Set();
        new MutationObserver(() => {
          for (const li of document.querySelectorAll('.nbtrack-step-active, .nbtrack-step-done')) {
            window.__steps.add(li.dataset.phase + ':' + (li.querySelector('.nbtrack-step-count')
              ? 'counted' : 'plain'));
          }
        }).observe(document.body, {subtree: true, childList: true, characterData: true,
                                   attributes: true}); }"""
    )
    # When the user clicks Reproduce
    page.click(".nbtrack-reproduce:visible")
    # Then the environment's steps show first, with the installs counted
    page.wait_for_selector(".nbtrack-replay-steps", timeout=30_000)
    waited(
        page,
        ".nbtrack-step-active[data-phase='install'], .nbtrack-step-done[data-phase='kernel'],"
        " .nbtrack-step[data-phase='cached'], .nbtrack-verdict, .nbtrack-replay-error",
        300_000,
        "the environment's steps",
    )
    shot(page, "3-reproduce-progress")
    # and in the end a verdict box that says the run reproduced, with what it ran in
    waited(page, ".nbtrack-verdict, .nbtrack-replay-error", 600_000, "the Reproduce verdict")
    assert page.locator(".nbtrack-replay-error").count() == 0, page.inner_text(
        ".nbtrack-replay-error"
    )
    verdict = page.locator(".nbtrack-verdict")
    assert "nbtrack-verdict-ok" in (verdict.get_attribute("class") or "")
    text = verdict.inner_text()
    assert "Reproduced" in text and "cells match" in text, text
    assert "Recorded environment" in text and "Python 3." in text, text
    steps = set(page.evaluate("() => Array.from(window.__steps)"))
    assert {"resolve:plain", "create:plain"} <= steps or "cached:plain" in steps, steps
    assert "cells:counted" in steps, steps
    assert page.evaluate(CLIPPED, ".nbtrack-verdict") == []
    shot(page, "4-reproduce-verdict")

    # When the user reproduces it again, the environment comes from the cache at once
    page.evaluate("() => { window.__steps.clear(); }")
    page.click(".nbtrack-reproduce:visible")
    page.wait_for_selector(".nbtrack-verdict:has-text('from the cache')", timeout=300_000)
    assert "cached:plain" in set(page.evaluate("() => Array.from(window.__steps)"))
    shot(page, "5-reproduce-cached")

    # The replay in the current environment still works beside it
    page.click(".nbtrack-replay:visible")
    page.wait_for_selector(".nbtrack-verdict:has-text('Current environment')", timeout=300_000)
    assert "Reproduced" in page.inner_text(".nbtrack-verdict")
    no_console_problems(page)


def test_a_diverging_replay_names_the_cell_and_its_likely_cause(
    lab: dict[str, Any], page: Any
) -> None:
    # Given a run whose cell stores the time
    open_with_runs(page, lab)
    page.console.clear()
    open_run(page, "repro-clock")
    # When the user replays it in the current environment
    page.click(".nbtrack-replay:visible")
    verdict = page.wait_for_selector(".nbtrack-verdict, .nbtrack-replay-error", timeout=300_000)
    # Then a red verdict box says where it diverged, what differs and the likely cause
    assert "nbtrack-verdict-diverged" in (verdict.get_attribute("class") or ""), (
        verdict.inner_text()
    )
    text = verdict.inner_text()
    assert "Diverged at cell [3]" in text, text
    assert "stamp = time.time()" in text, text
    assert "stamp differs" in text, text
    assert "Likely cause: reads the network or the clock" in text, text
    assert "Current environment" in text, text
    assert page.evaluate(CLIPPED, ".nbtrack-verdict") == []
    shot(page, "6-diverged")
    no_console_problems(page)


def test_the_notebook_as_recorded_opens_read_only_with_the_run_cells_marked(
    lab: dict[str, Any], page: Any
) -> None:
    # Given the finished run of a notebook that has changed on disk since
    open_with_runs(page, lab)
    root = Path(lab["root"])
    before = (root / NOTEBOOK).read_bytes()
    page.console.clear()
    open_run(page, "repro-ok")
    # When the user opens the notebook as it was
    page.click(".nbtrack-open-recorded:visible")
    view = page.wait_for_selector(".nbtrack-recorded .nbtrack-rec-cell", timeout=30_000)
    assert view is not None
    # Then a read-only tab names the run and when it was recorded
    header = page.inner_text(".nbtrack-rec-header")
    assert "repro-ok" in header and "Recorded" in header and "read-only" in header.lower(), header
    assert "1 of 5 cells ran in this run" in header, header
    # every cell of that revision is there, the run's one marked with its count and time
    cells = page.locator(".nbtrack-rec-cell")
    assert cells.count() == 5
    marked = page.locator(".nbtrack-rec-in-run")
    assert marked.count() == 1
    assert "xs = [i * i for i in range(6)]" in marked.inner_text()
    assert "[2]" in marked.locator(".nbtrack-rec-count").inner_text()
    assert marked.locator(".nbtrack-rec-time").count() == 1
    bar = marked.evaluate("el => getComputedStyle(el).borderLeftWidth")
    assert float(bar.rstrip("px")) >= 3, bar
    # the code is highlighted by JupyterLab's editor languages, the markdown rendered
    assert marked.locator(".nbtrack-rec-source span[class]").count() > 3
    assert page.locator(".nbtrack-rec-markdown h1:has-text('Reproduce demo')").count() == 1
    assert page.locator(".nbtrack-rec-markdown em:has-text('tracked')").count() == 1
    # the outputs saved in that revision are rendered as untrusted: markup shown, scripts not run
    outputs = marked.locator(".nbtrack-rec-output")
    assert outputs.count() == 2
    assert "printed earlier" in outputs.nth(0).inner_text()
    assert outputs.nth(1).locator("b:has-text('bold output')").count() == 1
    assert page.evaluate("window.__xss") is None
    # and nothing in it can be edited or saved over the notebook
    assert page.locator(".nbtrack-recorded textarea, .nbtrack-recorded input").count() == 0
    assert (
        page.locator(
            ".nbtrack-recorded [contenteditable='true'], .nbtrack-recorded .cm-editor"
        ).count()
        == 0
    )
    current = page.evaluate(
        "() => { const w = window.jupyterapp.shell.currentWidget;"
        " return { id: w.id, document: !!w.context }; }"
    )
    assert current["id"].startswith("nbtrack-recorded-") and not current["document"], current
    assert not page.evaluate("window.jupyterapp.commands.isEnabled('docmanager:save')")
    page.keyboard.press("Control+s")
    assert (root / NOTEBOOK).read_bytes() == before
    assert page.evaluate(CLIPPED, ".nbtrack-rec-header") == []
    shot(page, "7-notebook-as-recorded")
    no_console_problems(page)

    # The endpoint behind it answers nbformat JSON, and a clear 404 for a run that is not there
    run_id = next(
        r["id"]
        for r in api(lab, "GET", f"runs?notebook={NOTEBOOK}")["runs"]
        if r["name"] == "repro-ok"
    )
    nb = api(lab, "GET", f"runs/{run_id}/notebook-as-recorded?notebook={NOTEBOOK}")
    assert nb["nbformat"] == 4 and nb["metadata"]["nbtrack"]["as_recorded"] is True
    with pytest.raises(urllib.error.HTTPError) as missing:
        api(lab, "GET", f"runs/{'f' * 32}/notebook-as-recorded?notebook={NOTEBOOK}")
    assert missing.value.code == 404
    assert "f" * 8 in json.loads(missing.value.read())["message"]


def test_banner_verdict_and_recorded_notebook_are_readable_in_the_dark_theme(
    lab: dict[str, Any], page: Any
) -> None:
    # Given JupyterLab in its dark theme
    open_with_runs(page, lab)
    page.evaluate(
        "window.jupyterapp.commands.execute('apputils:change-theme', {theme: 'JupyterLab Dark'})"
    )
    page.wait_for_function("document.body.dataset.jpThemeLight === 'false'", timeout=30_000)
    page.wait_for_function("() => !document.getElementById('jupyterlab-splash')", timeout=30_000)
    page.console.clear()
    # When the user opens the failed run, and the notebook as the finished one recorded it
    open_run(page, "repro-bad")
    page.wait_for_selector(".nbtrack-failure", timeout=30_000)
    shot(page, "8-dark-banner")
    checks = [
        ".nbtrack-failure-type",
        ".nbtrack-failure-message",
        ".nbtrack-failure-line",
        ".nbtrack-failure-where span",
    ]
    poor = {s: f for s in checks if (f := page.evaluate(CONTRAST, s)) and f["ratio"] < 4.5}
    open_run(page, "repro-ok")
    page.click(".nbtrack-open-recorded:visible")
    page.wait_for_selector(".nbtrack-recorded .nbtrack-rec-in-run", timeout=30_000)
    shot(page, "9-dark-recorded")
    for sel in (".nbtrack-rec-title h1", ".nbtrack-rec-legend", ".nbtrack-rec-flag"):
        found = page.evaluate(CONTRAST, sel)
        if found is not None and found["ratio"] < 4.5:
            poor[sel] = found
    # and a verdict of a replay
    open_run(page, "repro-ok")
    page.click(".nbtrack-replay:visible")
    page.wait_for_selector(".nbtrack-verdict", timeout=300_000)
    shot(page, "10-dark-verdict")
    for sel in (".nbtrack-verdict strong", ".nbtrack-verdict-env-facts", ".nbtrack-verdict-mark"):
        found = page.evaluate(CONTRAST, sel)
        if found is not None and found["ratio"] < 4.5:
            poor[sel] = found
    # Then the text stands out from what is behind it
    assert not poor, poor
    no_console_problems(page)

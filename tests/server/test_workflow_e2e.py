"""The whole workflow of issue #17 as a user drives it, in a real JupyterLab and a real headless
Chromium (Debian's), with not one console error or warning from start to end.

One notebook trains three scikit-learn SGDClassifiers whose alpha spans four decades
(``%%track``), follows a fourth live (``%%track --live``) and fails a fifth; the failed run is
replayed from its run view; the three runs are compared in the sidebar (charts and code diff);
the main-area Runs view browses and sorts an experiment of 10,000 runs (loaded through the
store's import path in the fixture, not through kernels); the notebook's last cells show the
table, compare and run_view widgets. Geometry is checked where clipping hides things: axis
labels and legends inside their charts, long names inside their boxes or named in full on hover,
a replay's re-runs folded under it in the table widget. Console problems fail the test at once.

Screenshots go to ``test-artifacts/workflow-*.png``; with ``NBTRACK_SCREENSHOTS=<dir>`` the
README's pictures are written there too (``scripts/screenshots`` regenerates docs/screenshots).
"""

from __future__ import annotations

import json
import os
import random
import shutil
import time
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser import ARTIFACTS, chromium_page, jupyter_lab, open_notebook, require_browser

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

BUILT = Path(__file__).resolve().parents[2] / "nbtrack" / "labextension"
PICTURES = os.environ.get("NBTRACK_SCREENSHOTS")
PICTURES_DIR = Path(PICTURES).resolve() if PICTURES else None
NOTEBOOK = "sgd.ipynb"
ALPHAS = ["0.0001", "0.3", "3.0"]
GRID = "sgd-grid"  # the experiment of N_BULK runs the Runs view browses
N_BULK = 10_000
LONG_NAME = "sgd-grid-elasticnet-modified-huber-with-early-stopping-and-a-very-long-name"

PREAMBLE = """import nbtrack
from sklearn.datasets import make_classification
from sklearn.linear_model import SGDClassifier
from sklearn.metrics import log_loss
from sklearn.model_selection import train_test_split

X, y = make_classification(n_samples=1500, n_features=20, n_informative=6, random_state=0)
X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)


def train(alpha, epochs=25):
    clf = SGDClassifier(
        loss="log_loss", alpha=alpha, learning_rate="constant", eta0=0.0002, random_state=0
    )
    for epoch in range(epochs):
        clf.partial_fit(X_train, y_train, classes=[0, 1])
        nbtrack.log_metric("loss", log_loss(y_train, clf.predict_proba(X_train)), step=epoch)
        nbtrack.log_metric("val_acc", clf.score(X_test, y_test), step=epoch)
    nbtrack.log_metric("acc", clf.score(X_test, y_test))
    return clf"""


def track(alpha: str) -> str:
    return (
        f"%%track --name sgd-alpha-{alpha} --experiment sgd\n"
        f"alpha = {alpha}\n"
        'nbtrack.log_param("alpha", alpha)\n'
        "clf = train(alpha)"
    )


LIVE = """%%track --live --name sgd-live --experiment sgd --param alpha=0.001
import time

clf = SGDClassifier(loss="log_loss", alpha=0.001, random_state=0)
for epoch in range(30):
    clf.partial_fit(X_train, y_train, classes=[0, 1])
    nbtrack.log_metric("loss", log_loss(y_train, clf.predict_proba(X_train)), step=epoch)
    nbtrack.log_metric("train_acc", clf.score(X_train, y_train), step=epoch)
    time.sleep(0.1)"""

FAILED = """%%track --name sgd-wrong-labels --experiment sgd
clf = SGDClassifier(alpha=0.01).fit(X_train, y_test)  # the test labels: a mistake"""

# the first three run ids of the sweep, not the replay's re-runs of them
SWEEP = "attributes.run_name LIKE 'sgd-alpha-%' AND attributes.parent_run_id IS NULL"
WIDGETS = [
    'import nbtrack.widgets as widgets\n\nwidgets.runs_table(experiment="sgd")',
    f'sweep = widgets.runs_table(filter_string="{SWEEP}").run_ids\nwidgets.compare(sweep)',
    "widgets.run_view(sweep[0])",
]
CELLS = ["%load_ext nbtrack", PREAMBLE, *[track(a) for a in ALPHAS], LIVE, FAILED, *WIDGETS]
LIVE_CELL, FAILED_CELL = 5, 6
TABLE_CELL, COMPARE_CELL, RUN_VIEW_CELL = 7, 8, 9


def bulk_rows(n: int) -> dict[str, list[dict[str, Any]]]:
    """``n`` finished runs of a grid search over SGD settings in experiment ``GRID``, as the
    store's import path takes them (what ``nbtrack import-runs`` loads): params, tags and final
    metrics with their summaries, one with a very long name. Older than the notebook's runs."""
    rnd = random.Random(17)
    t0 = 1_760_000_000.0
    out: dict[str, list[dict[str, Any]]] = {
        "experiments": [{"name": GRID, "created": t0, "deleted_at": None}],
        "runs": [],
        "params": [],
        "tags": [],
        "latest_metrics": [],
    }
    for i in range(n):
        rid = uuid.UUID(int=rnd.getrandbits(128)).hex
        start = t0 + i * 30
        alpha = 10 ** rnd.uniform(-6, 1)
        params = {
            "alpha": f"{alpha:.3g}",
            "penalty": rnd.choice(["l2", "l1", "elasticnet"]),
            "loss": rnd.choice(["hinge", "log_loss", "modified_huber"]),
            "eta0": rnd.choice(["0.01", "0.1", "1.0"]),
        }
        acc = round(min(0.97, 0.55 + 0.4 * rnd.random() - 0.05 * max(0.0, alpha - 1)), 4)
        metrics = {"acc": acc, "f1": round(acc - rnd.uniform(0, 0.05), 4)}
        metrics["loss"] = round(1.2 - acc + rnd.uniform(0, 0.1), 4)
        out["runs"].append(
            {
                "id": rid,
                "experiment": GRID,
                "name": LONG_NAME if i == n - 1 else f"grid-{i:05d}",
                "status": "finished" if i % 97 else "failed",
                "start_time": start,
                "end_time": start + 4 + i % 20,
                "user": "ana",
            }
        )
        out["params"] += [{"run_id": rid, "key": k, "value": v} for k, v in params.items()]
        out["tags"].append({"run_id": rid, "key": "stage", "value": rnd.choice(["dev", "prod"])})
        out["latest_metrics"] += [
            {
                "run_id": rid,
                "key": k,
                "value": v,
                "step": 0,
                "timestamp": start + 1,
                "min_value": v,
                "max_value": v,
                "count": 1,
            }
            for k, v in metrics.items()
        ]
    return out


def load_bulk(store_path: str, n: int) -> float:
    """Loads the grid into the store in one transaction; returns its best acc."""
    from nbtrack.store import Store
    from nbtrack.store.transfer import TABLES, add_rows

    rows = bulk_rows(n)
    store = Store(store_path)
    try:
        add_rows(store, {t: rows.get(t, []) for t in TABLES})
    finally:
        store.close()
    return max(m["value"] for m in rows["latest_metrics"] if m["key"] == "acc")


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """JupyterLab (the extension as built in this checkout) on a store holding the grid, with
    the notebook beside it; kernels record into the same store."""
    require_browser()
    pytest.importorskip("sklearn")
    import nbformat

    base = tmp_path_factory.mktemp("workflow")
    root = base / "root"
    root.mkdir()
    store = str(root / ".nbtrack")
    best = load_bulk(store, N_BULK)
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(src) for src in CELLS]
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nbformat.write(nb, root / NOTEBOOK)
    built = base / "labextensions"
    built.mkdir()
    (built / "nbtrack").symlink_to(BUILT, target_is_directory=True)
    args = [f"--LabApp.extra_labextensions_path={built}"]
    # every cell drawn (no windowing), so cells' outputs can be looked at wherever they are
    settings = {"@jupyterlab/notebook-extension/tracker": {"windowingMode": "none"}}
    with jupyter_lab(base, root, settings, store=store, server_args=args) as lab:
        yield {**lab, "best_acc": best}


def api(lab: dict[str, Any], path: str) -> Any:
    req = urllib.request.Request(
        f"{lab['url']}/nbtrack/api/{path}", headers={"Authorization": f"token {lab['token']}"}
    )
    return json.loads(urllib.request.urlopen(req, timeout=30).read())


def picture(locator: Any, name: str, readme: bool = False) -> None:
    """A screenshot of ``locator`` in test-artifacts/; with ``readme`` and NBTRACK_SCREENSHOTS
    set, also the README's picture ``<dir>/<name>.png`` (colours reduced to keep it small)."""
    locator.scroll_into_view_if_needed()
    locator.page.mouse.move(0, 0)  # no hover highlight or tooltip in the picture
    locator.page.wait_for_timeout(200)
    path = ARTIFACTS / f"workflow-{name}.png"
    locator.screenshot(path=str(path), animations="disabled")
    if readme and PICTURES_DIR is not None:
        PICTURES_DIR.mkdir(parents=True, exist_ok=True)
        target = PICTURES_DIR / f"{name}.png"
        try:
            from PIL import Image

            with Image.open(path) as image:
                small = image.convert("RGB").quantize(256, method=Image.Quantize.MEDIANCUT)
                small.save(target, optimize=True)
        except ImportError:
            shutil.copy(path, target)


# Every text of the svgs under the element, and each svg, outside the svg's or the element's box
CHARTS_OUTSIDE = """(root) => {
  const box = e => { const r = e.getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom]; };
  const within = (a, b) => a[0] >= b[0] - 1 && a[1] >= b[1] - 1 && a[2] <= b[2] + 1 && a[3] <= b[3] + 1;
  const frame = box(root);
  const bad = [];
  const svgs = [...root.querySelectorAll('svg.marks')];
  for (const svg of svgs) {
    const s = box(svg);
    if (!within(s, frame)) { bad.push({svg: s, frame}); }
    for (const t of svg.querySelectorAll('text')) {
      const r = t.getBoundingClientRect();
      if (!t.textContent.trim() || (r.width === 0 && r.height === 0)) { continue; }
      if (!within(box(t), s)) { bad.push({text: t.textContent, at: box(t), svg: s}); }
    }
  }
  return {count: svgs.length, bad};
}"""

# Elements matching `sel` under the element whose text is cut without an ellipsis and a title
# naming it in full, or that stick out of the element
TEXT_CUT = """([root, sel]) => {
  const frame = root.getBoundingClientRect();
  const bad = [];
  for (const el of root.querySelectorAll(sel)) {
    const r = el.getBoundingClientRect();
    if (r.width === 0) { continue; }
    if (r.left < frame.left - 1 || r.right > frame.right + 1) {
      bad.push({text: el.textContent, box: [r.left, r.right], frame: [frame.left, frame.right]});
    }
    const cut = el.scrollWidth > el.clientWidth + 1;
    const ellipsis = getComputedStyle(el).textOverflow === 'ellipsis';
    const title = el.title || el.closest('[title]')?.title || '';
    if (cut && !(ellipsis && title.includes(el.textContent.trim()))) {
      bad.push({text: el.textContent, cut: [el.scrollWidth, el.clientWidth], title});
    }
  }
  return bad;
}"""

LEGEND = (
    """(root) => [...root.querySelectorAll('.role-legend-label text')].map(t => t.textContent)"""
)


def charts_fit(page: Any, root: Any, expected: int, what: str) -> None:
    """``expected`` charts drawn under ``root`` (a locator), every label inside its chart and
    every chart inside ``root``."""
    handle = root.element_handle()
    try:
        page.wait_for_function(
            "([el, n]) => [...el.querySelectorAll('svg.marks')].filter("
            "s => s.querySelector('.mark-line path, .mark-symbol path, .mark-area path')).length >= n",
            arg=[handle, expected],
            timeout=60_000,
        )
    except Exception:
        page.screenshot(path=str(ARTIFACTS / "workflow-failed.png"))
        raise AssertionError(f"{what}: {expected} charts not drawn; {page.console}") from None
    found = page.evaluate(CHARTS_OUTSIDE, handle)
    assert found["count"] >= expected and found["bad"] == [], (what, found)


def output(page: Any, cell: int) -> Any:
    return page.locator(".jp-Notebook .jp-Cell").nth(cell).locator(".jp-OutputArea")


def run_cells(page: Any, first: int, how: str) -> None:
    """Makes cell ``first`` active and runs it (``how``: 'run-cell') or it and those below
    ('run-all-below'), not awaited: the test waits for what they show."""
    page.evaluate(
        """([cell, command]) => {
          const app = window.jupyterapp;
          app.shell.currentWidget.content.activeCellIndex = cell;
          void app.commands.execute('notebook:' + command);
        }""",
        [first, how],
    )


def show_notebook(page: Any) -> None:
    """Brings the notebook's tab to the front of the main area."""
    page.evaluate(
        "(path) => { for (const w of window.jupyterapp.shell.widgets('main')) {"
        " if (w.context && w.context.path === path) { window.jupyterapp.shell.activateById(w.id); } } }",
        NOTEBOOK,
    )
    page.locator(".jp-NotebookPanel:visible").wait_for()


def sidebar_row(page: Any, name: str) -> Any:
    return page.locator(
        f".nbtrack-run-item:has(> .nbtrack-run .nbtrack-run-name:text-is('{name}'))"
    )


def top_level_names(page: Any) -> list[str]:
    """The run names the sidebar lists, nested runs (folded or not) left out."""
    return page.evaluate(
        "() => [...document.querySelectorAll('#nbtrack-sidebar .nbtrack-run-name')]"
        ".filter(n => !n.closest('.nbtrack-run-nested, .nbtrack-run-child, [data-depth]:not([data-depth=\"0\"])'))"
        ".map(n => n.textContent)"
    )


def test_the_whole_workflow_records_replays_compares_browses_and_shows_widgets(
    lab: dict[str, Any],
) -> None:
    with chromium_page({"width": 1400, "height": 1000}, block_external=True) as page:
        try:
            workflow(page, lab)
        except Exception:  # not pytest's xfail: a look at what the page showed
            page.screenshot(path=str(ARTIFACTS / "workflow-failed.png"))
            raise


def no_console_problems(page: Any, step: str) -> None:
    """No script error, console error or warning (tests/browser.py's ``page.console``) and no
    request off loopback since the page opened."""
    print(f"{time.strftime('%H:%M:%S')} {step} done", flush=True)  # where the time goes
    assert not page.errors, (step, page.errors)
    assert not page.console, (step, page.console)
    assert not page.external, (step, page.external)


def workflow(page: Any, lab: dict[str, Any]) -> None:
    # Given the notebook, and nbtrack's sidebar open beside it
    open_notebook(page, lab, NOTEBOOK)
    page.evaluate("window.jupyterapp.commands.execute('nbtrack:open-sidebar')")
    page.wait_for_selector(".nbtrack-sidebar-body", timeout=30_000)

    # When the user runs all cells: the three sweeps, the live run, and the failed run, where
    # running stops
    run_cells(page, 0, "run-all-cells")
    live = output(page, LIVE_CELL)
    # Then the live chart follows loss and train_acc, each its own colour, everything inside
    live.locator(".nbt-live svg .mark-line path").first.wait_for(timeout=120_000)
    failed_line = output(page, FAILED_CELL).locator(".nbtrack-RunSummary[data-status='failed']")
    failed_line.wait_for(timeout=120_000)
    page.wait_for_function(
        "(el) => el.querySelectorAll('.mark-line path').length === 2", arg=live.element_handle()
    )
    assert sorted(page.evaluate(LEGEND, live.element_handle())) == ["loss", "train_acc"]
    colours = live.locator(".mark-line path").evaluate_all(
        "ps => ps.map(p => p.getAttribute('stroke'))"
    )
    assert len(set(colours)) == 2, colours
    charts_fit(page, live.locator(".nbt-live"), 1, "live chart")
    picture(live.locator(".nbt-live"), "widget-live", readme=True)

    # and each tracked cell ends with a line: name, short id, status, final metrics
    runs = {r["name"]: r for r in api(lab, "runs?experiment=sgd&max_results=100")["runs"]}
    assert set(runs) == {*(f"sgd-alpha-{a}" for a in ALPHAS), "sgd-live", "sgd-wrong-labels"}
    for cell, alpha in enumerate(ALPHAS, start=2):
        line = output(page, cell).locator(".nbtrack-RunSummary[data-status='finished']")
        line.wait_for(timeout=30_000)
        text = line.inner_text()
        assert f"sgd-alpha-{alpha}" in text and runs[f"sgd-alpha-{alpha}"]["id"][:8] in text
        assert "finished in" in text and "acc" in text and "loss" in text, text
    assert "ValueError" in failed_line.inner_text(), failed_line.inner_text()
    picture(output(page, 4), "track-line", readme=True)

    # And the sidebar lists the five runs under their experiment, the failed one marked failed
    sidebar = page.locator("#nbtrack-sidebar")
    page.wait_for_selector(
        ".nbtrack-run:has-text('sgd-wrong-labels') .nbtrack-badge-failed", timeout=30_000
    )
    for alpha in ALPHAS:
        sidebar_row(page, f"sgd-alpha-{alpha}").locator(".nbtrack-badge-finished").wait_for()
    # its rows tell the sweep apart by alpha, and nothing is cut without its title
    params = sidebar_row(page, f"sgd-alpha-{ALPHAS[1]}").locator(".nbtrack-run-params")
    assert f"alpha={ALPHAS[1]}" in params.inner_text(), params.inner_text()
    names = ".nbtrack-run-name, .nbtrack-run-params, .nbtrack-group-title"
    assert page.evaluate(TEXT_CUT, [sidebar.element_handle(), names]) == []
    # the notebook beside the sidebar: the README's first picture
    page.evaluate("(el) => el.scrollIntoView({block: 'center'})", live.element_handle())
    picture(page.locator("#main"), "lab", readme=True)
    no_console_problems(page, "recording")

    # When the user types a bare word in the sidebar's filter box, Then it searches run names
    box = sidebar.locator(".nbtrack-filter-input")
    box.fill("alpha-3")
    sidebar.locator(".nbtrack-filter-apply").click()
    page.wait_for_function(
        "() => { const n = [...document.querySelectorAll('#nbtrack-sidebar .nbtrack-run-name')]"
        ".map(e => e.textContent); return n.length > 0 && n.every(t => t.includes('alpha-3')); }",
        timeout=30_000,
    )
    assert sidebar.locator(".nbtrack-filter-error").count() == 0
    box.fill("")
    sidebar.locator(".nbtrack-filter-apply").click()
    sidebar_row(page, "sgd-wrong-labels").wait_for(timeout=30_000)
    no_console_problems(page, "sidebar filter")

    # When the user opens the failed run from the sidebar
    sidebar_row(page, "sgd-wrong-labels").locator("button.nbtrack-run").click()
    view = page.locator(".nbtrack-runview:has(.nbtrack-name-input[value='sgd-wrong-labels'])")
    # Then a banner names the error and the line that raised it
    banner = view.locator(".nbtrack-failure")
    banner.wait_for(timeout=30_000)
    assert "ValueError" in banner.inner_text() and "inconsistent" in banner.inner_text()
    # When the user replays it in a fresh kernel
    view.locator(".nbtrack-replay").click()
    # Then the replay fails the same way, and says so
    verdict = view.locator(".nbtrack-verdict, .nbtrack-replay-error")
    verdict.wait_for(timeout=240_000)
    assert view.locator(".nbtrack-replay-error").count() == 0, verdict.inner_text()
    said = verdict.inner_text()
    assert "Reproduced" in said, said
    picture(page.locator(".jp-MainAreaWidget:visible:has(.nbtrack-runview)"), "replay", readme=True)
    # and the sidebar folds the replay's re-run cells under it: one more top-level run, not six
    page.evaluate("window.jupyterapp.commands.execute('nbtrack:refresh')")
    replay = sidebar_row(page, "replay of sgd-wrong-labels")
    replay.wait_for(timeout=30_000)
    toggle = replay.locator(".nbtrack-run-toggle")
    assert toggle.get_attribute("aria-expanded") == "false"
    assert "nested" in toggle.inner_text(), toggle.inner_text()
    listed = top_level_names(page)
    for name in (*(f"sgd-alpha-{a}" for a in ALPHAS), "sgd-live", "sgd-wrong-labels"):
        assert listed.count(name) == 1, listed
    picture(sidebar, "sidebar", readme=True)
    no_console_problems(page, "replay")

    # When the user ticks the three sweep runs and clicks Compare
    for alpha in ALPHAS:
        sidebar_row(page, f"sgd-alpha-{alpha}").locator(".nbtrack-run-select").first.click()
    page.wait_for_selector(".nbtrack-selection-count:has-text('3 selected')", timeout=10_000)
    page.click(".nbtrack-compare")
    compare = page.locator(".nbtrack-compareview:visible")
    compare.locator(".nbtrack-codediff").wait_for(timeout=30_000)
    # Then the code diff is of the runs' own cells: alpha changed, nothing else
    summary = compare.locator(".nbtrack-codediff-summary").inner_text()
    assert summary.startswith("1 changed") or summary.startswith("2 changed"), summary
    diff = compare.locator(".nbtrack-diff-changed").first.inner_text()
    assert f"alpha = {ALPHAS[0]}" in diff and f"alpha = {ALPHAS[1]}" in diff, diff
    assert compare.locator(".nbtrack-diff-removed").count() == 0
    # and the charts: loss over epochs (the metric with most steps), one line per run; parallel
    # coordinates with alpha on a log axis; a scatter; every label inside its chart
    charts = compare.locator(".nbtrack-compare-charts")
    charts_fit(page, charts, 3, "sidebar compare charts")
    assert compare.locator(".nbtrack-chart-overlay select").input_value() in ("loss", "val_acc")
    assert compare.locator(".nbtrack-chart-overlay svg .mark-line path").count() == 3
    parallel = page.evaluate(
        "(el) => { const out = {}; for (const t of el.querySelectorAll('.mark-text text')) {"
        " const r = t.getBoundingClientRect(); out[t.textContent] = (r.top + r.bottom) / 2; }"
        " return out; }",
        compare.locator(".nbtrack-chart-parallel").element_handle(),
    )
    assert {"0.0001", "0.01", "3"} <= set(parallel), parallel
    assert abs(parallel["0.0001"] - parallel["0.01"]) > 40, parallel  # log axis: not stacked
    heads = compare.locator(".nbtrack-compare-table thead .nbtrack-compare-run").all_inner_texts()
    assert sorted(h.split("\n")[0] for h in heads) == sorted(f"sgd-alpha-{a}" for a in ALPHAS)
    picture(compare.locator(".nbtrack-compare-table"), "compare-table")
    # the charts are taller than the panel: the picture is taken in a taller window
    page.set_viewport_size({"width": 1400, "height": 1900})
    charts_fit(page, charts, 3, "sidebar compare charts, taller")
    picture(charts, "compare-charts", readme=True)
    page.set_viewport_size({"width": 1400, "height": 1000})
    picture(compare.locator(".nbtrack-codediff"), "compare-diff", readme=True)
    no_console_problems(page, "compare")

    # When the user opens a finished run from its %%track line
    show_notebook(page)
    output(page, 3).locator(".nbtrack-RunSummary-open").click()
    run = page.locator(f".nbtrack-runview:has(.nbtrack-name-input[value='sgd-alpha-{ALPHAS[1]}'])")
    run.locator(".nbtrack-metric-card:has-text('loss') .nbtrack-chart-line").wait_for(
        timeout=30_000
    )
    # Then its params, metrics with charts and cells are shown
    text = run.inner_text()
    assert "alpha" in text and ALPHAS[1] in text and "val_acc" in text
    codes = run.locator(".nbtrack-code").all_inner_texts()
    assert any("clf = train(alpha)" in c for c in codes), codes
    page.evaluate("(el) => { el.scrollTop = 0; }", run.element_handle())
    picture(
        page.locator(".jp-MainAreaWidget:visible:has(.nbtrack-runview)"), "run-view", readme=True
    )
    no_console_problems(page, "run view")

    # When the user opens the Runs view from the sidebar's button and picks the grid experiment
    sidebar.locator(".nbtrack-open-table").first.click()
    rv = page.locator("#nbtrack-runs-view")
    rows = "#nbtrack-runs-view .nbtrack-rv-row"
    page.wait_for_selector(f"{rows}[data-run-id]", timeout=30_000)
    rv.locator(".nbtrack-rv-experiment").select_option(GRID)
    # Then it counts the 10,000 runs and draws only the rows in view
    page.wait_for_function(
        "(s) => document.querySelector(s)?.textContent.replace(',', '') === '10000 runs'",
        arg="#nbtrack-runs-view .nbtrack-rv-count",
        timeout=30_000,
    )
    assert page.locator(rows).count() < 100
    # When the user sorts by acc, Then the best run comes first, highlighted
    rv.locator(".nbtrack-rv-head[data-column='metrics.acc'] button").click()
    best = f"{rows}[aria-rowindex='2'] [data-column='metrics.acc']"
    page.wait_for_function(
        "([s, best]) => { const c = document.querySelector(s);"
        " return c && Number(c.textContent) === best && c.classList.contains('nbtrack-rv-best'); }",
        arg=[best, lab["best_acc"]],
        timeout=30_000,
    )
    # and neither a header nor the long name is cut without saying it in full on hover
    heads = rv.locator(".nbtrack-rv-label").evaluate_all(
        "ls => ls.filter(l => l.scrollWidth > l.clientWidth + 1 && l.title !== l.textContent)"
        ".map(l => [l.textContent, l.scrollWidth, l.clientWidth, l.title])"
    )
    assert heads == [], f"Runs view headers cut with no title naming them: {heads}"
    rv.locator(".nbtrack-filter-input").fill("sgd-grid-elasticnet")
    rv.locator(".nbtrack-filter-apply").click()
    page.wait_for_function(
        "(s) => document.querySelector(s)?.textContent === '1 run'",
        arg="#nbtrack-runs-view .nbtrack-rv-count",
        timeout=30_000,
    )
    long = rv.locator(".nbtrack-rv-name")
    assert long.inner_text() == LONG_NAME
    name_box, cell_box = long.bounding_box(), long.locator("xpath=..").bounding_box()
    assert name_box and cell_box
    assert name_box["x"] + name_box["width"] <= cell_box["x"] + cell_box["width"] + 1
    assert LONG_NAME in (long.get_attribute("title") or "")
    rv.locator(".nbtrack-filter-input").fill("")
    rv.locator(".nbtrack-filter-apply").click()
    page.wait_for_function(
        "(s) => document.querySelector(s)?.textContent.replace(',', '') === '10000 runs'",
        arg="#nbtrack-runs-view .nbtrack-rv-count",
        timeout=30_000,
    )
    page.wait_for_selector(f"{rows}[aria-rowindex='2'] .nbtrack-rv-best", timeout=30_000)
    page.set_viewport_size({"width": 1700, "height": 1000})  # room for the param columns
    page.wait_for_timeout(500)
    picture(rv, "runs-view", readme=True)
    page.set_viewport_size({"width": 1400, "height": 1000})
    no_console_problems(page, "runs view")

    # When the user goes back to the notebook and runs the widget cells
    show_notebook(page)
    run_cells(page, TABLE_CELL, "run-all-below")
    # Then the table lists the experiment's runs, the replay's re-runs folded, metrics inside it
    table = output(page, TABLE_CELL)
    table.locator(".nbt-datarow[data-run-id]").first.wait_for(timeout=120_000)
    headers = table.locator(".nbt-header [role=columnheader]").all_inner_texts()
    assert {"Experiment", "Run id", "Name"} <= {h.strip(" ▲▼") for h in headers}, headers
    assert any("acc" in h for h in headers), headers
    names = table.locator(".nbt-datarow[data-run-id] .nbt-cell[title^='sgd-']").all_inner_texts()
    assert names.count(f"sgd-alpha-{ALPHAS[1]}") == 1, f"the replay's re-runs listed flat: {names}"
    fit = page.evaluate(
        "(el) => { const o = el.querySelector('.jp-OutputArea-output');"
        " return o.scrollWidth - o.clientWidth; }",
        table.element_handle(),
    )
    assert fit <= 0, fit
    # the replay's long name is cut inside its cell, named in full on hover
    cells = ".nbt-datarow .nbt-cell[title^='replay of']"
    assert page.evaluate(TEXT_CUT, [table.locator(".nbt-table").element_handle(), cells]) == []
    picture(table.locator(".nbt-widget").first, "widget-table", readme=True)

    # the compare widget: the same charts, on the loss overlay, every label inside
    comp = output(page, COMPARE_CELL)
    comp.locator(".nbt-compare-table").wait_for(timeout=120_000)
    comp.locator("button.nbt-tab", has_text="Metric overlay").click()
    charts_fit(page, comp.locator(".nbt-compare"), 1, "compare widget overlay")
    assert comp.locator("svg .mark-line path").count() == 3
    picture(comp.locator(".nbt-compare"), "widget-compare", readme=True)
    comp.locator("button.nbt-tab", has_text="Parallel coordinates").click()
    charts_fit(page, comp.locator(".nbt-compare"), 1, "compare widget parallel coordinates")
    picture(comp.locator(".nbt-compare"), "widget-compare-parallel")

    # the run_view widget: one small chart per metric with steps, all inside the widget
    rview = output(page, RUN_VIEW_CELL)
    rview.locator(".nbt-smallchart svg.marks").nth(1).wait_for(timeout=120_000)
    charts_fit(page, rview.locator(".nbt-run"), 2, "run_view widget")
    page.set_viewport_size({"width": 1400, "height": 1800})  # the whole widget in the window
    charts_fit(page, rview.locator(".nbt-run"), 2, "run_view widget, taller")
    picture(rview.locator(".nbt-run"), "widget-run-view", readme=True)
    page.set_viewport_size({"width": 1400, "height": 1000})
    no_console_problems(page, "widgets")

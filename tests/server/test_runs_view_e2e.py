"""The main-area Runs view in a real JupyterLab and a real headless Chromium, end to end.

A store of ~10,000 runs (the few the test names written through ``Store.add_run``, the rest
imported in one transaction) with a grid-search parent and its children; the view is opened
from the sidebar's table button, scrolled to the bottom, sorted, given a column, its parent
unfolded, three runs compared, two deleted and restored and three downloaded as CSV, with no
console error or warning. Screenshots go to ``test-artifacts/``.
"""

from __future__ import annotations

import csv
import io
import random
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser import ARTIFACTS, chromium_page, jupyter_lab, open_lab, require_browser

pytestmark = pytest.mark.slow

N_RUNS = 10_000
CHILDREN = 5
LONG_NAME = "a-run-whose-name-is-far-longer-than-its-column-" + "x" * 60
T0 = 1_780_000_000.0


def build_store(path: str) -> dict[str, Any]:
    """``N_RUNS`` finished runs (acc, loss; lr, model, seed) in experiment ``rv``: a grid search
    ``sweep`` with ``CHILDREN`` children and one run with a very long name, each written through
    ``Store.add_run``, and the rest plain, loaded through the store's import path in one
    transaction (what ``nbtrack import-runs`` does: one ``add_run`` a run took 20 s of setup)."""
    from nbtrack.store import Store
    from nbtrack.store.transfer import TABLES, add_rows

    store = Store(path)
    rnd = random.Random(17)
    best_acc, ids = -1.0, {}
    plain: dict[str, list[dict[str, Any]]] = {t: [] for t in TABLES}
    plain["experiments"].append({"name": "rv", "created": T0, "deleted_at": None})

    def run(name: str, i: int, parent: str | None = None) -> tuple[str, dict[str, Any], Any, Any]:
        nonlocal best_acc
        rid = uuid.UUID(int=rnd.getrandbits(128)).hex
        acc, loss = round(rnd.uniform(0.5, 0.99), 4), round(rnd.uniform(0.01, 1.0), 4)
        best_acc = max(best_acc, acc)
        start = T0 + i * 60
        row = {
            "id": rid,
            "name": name,
            "status": "finished",
            "start_time": start,
            "end_time": start + 5 + i % 100,
            "user": "ana",
            "parent_run_id": parent,
        }
        params = {"lr": str(rnd.choice([0.1, 0.01, 0.001])), "model": "sgd", "seed": str(i % 7)}
        points = [("acc", acc, 0, start + 1, None), ("loss", loss, 0, start + 1, None)]
        return rid, row, params, points

    def add(name: str, i: int, parent: str | None = None) -> str:
        rid, row, params, points = run(name, i, parent)
        store.add_run(row, "rv", params, {"owner": "ana"}, points)
        return rid

    def add_plain(name: str, i: int) -> None:
        rid, row, params, points = run(name, i)
        plain["runs"].append({**row, "experiment": "rv"})
        plain["params"] += [{"run_id": rid, "key": k, "value": v} for k, v in params.items()]
        plain["tags"].append({"run_id": rid, "key": "owner", "value": "ana"})
        for key, value, step, ts, seq in points:
            point = {"run_id": rid, "key": key, "value": value, "step": step, "timestamp": ts}
            plain["metrics"].append({**point, "cell_seq": seq})
            plain["latest_metrics"].append(
                {**point, "min_value": value, "max_value": value, "count": 1}
            )

    ids["sweep"] = add("sweep", N_RUNS + 10)  # the newest: first in the default order
    ids["children"] = [add(f"sweep-child-{k}", N_RUNS + k, ids["sweep"]) for k in range(CHILDREN)]
    ids["long"] = add(LONG_NAME, N_RUNS + 9)
    for i in range(N_RUNS - CHILDREN - 2):
        add_plain(f"run-{i}", i)
    add_rows(store, plain)
    store.close()
    return {"ids": ids, "best_acc": best_acc, "top_level": N_RUNS - CHILDREN}


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    require_browser()
    base = tmp_path_factory.mktemp("runsview")
    root = base / "root"
    root.mkdir()
    data = build_store(str(base / "store"))
    with jupyter_lab(base, root, store=str(base / "store")) as lab:
        yield {**lab, **data}


def shot(page: Any, name: str) -> None:
    page.screenshot(path=str(ARTIFACTS / f"runs-view-{name}.png"))


VIEW = "#nbtrack-runs-view"
ROWS = f"{VIEW} .nbtrack-rv-row"


def first_row_text(page: Any, column: str) -> str:
    return str(page.locator(f"{ROWS}[aria-rowindex='2'] [data-column='{column}']").inner_text())


def row_named(page: Any, name: str) -> Any:
    return page.locator(f"{ROWS}:has(.nbtrack-rv-name:text-is('{name}'))")


def test_runs_view_browses_sorts_nests_selects_deletes_and_downloads(
    lab: dict[str, Any], tmp_path: Path
) -> None:
    with chromium_page({"width": 1400, "height": 900}) as page:
        console: list[str] = []
        page.on(
            "console",
            lambda m: (
                console.append(f"{m.type}: {m.text}") if m.type in ("error", "warning") else None
            ),
        )
        open_lab(page, lab)
        page.evaluate("() => window.jupyterapp.commands.execute('nbtrack:open-sidebar')")
        labels = page.evaluate("() => window.jupyterapp.commands.label('nbtrack:open-runs-table')")
        assert labels == "nbtrack: Open runs table"

        # Given the sidebar's table button, When clicked, Then the view shows the first rows
        page.locator("#nbtrack-sidebar .nbtrack-open-table").first.click()
        page.wait_for_selector(f"{ROWS}[data-run-id]", timeout=30_000)
        page.wait_for_function(  # counted apart from the first page, so a moment later
            "([s, text]) => document.querySelector(s)?.textContent.replace(',', '') === text",
            arg=[f"{VIEW} .nbtrack-rv-count", f"{lab['top_level']} runs"],
        )
        assert first_row_text(page, "name").endswith("sweep")
        assert page.locator(
            f"{ROWS}[aria-rowindex='2'] .nbtrack-rv-child-count"
        ).inner_text() == str(CHILDREN)
        shot(page, "first-paint")

        # the table fits the panel: the scroller inside the tab, rows scroll sideways in it
        geo = page.evaluate(
            """(view) => {
              const panel = document.querySelector(view).getBoundingClientRect();
              const s = document.querySelector(view + ' .nbtrack-rv-scroll');
              const r = s.getBoundingClientRect();
              const heads = Array.from(document.querySelectorAll(view + ' .nbtrack-rv-head'))
                .map(h => { const b = h.getBoundingClientRect();
                            const l = h.querySelector('.nbtrack-rv-label');
                            return { id: h.dataset.column, left: b.left, right: b.right,
                                     top: b.top, bottom: b.bottom,
                                     labelFits: !l || l.scrollWidth <= l.clientWidth + 1 }; });
              return { panel: { left: panel.left, right: panel.right },
                       scroller: { left: r.left, right: r.right, top: r.top },
                       scrollWidth: s.scrollWidth, clientWidth: s.clientWidth, heads };
            }""",
            VIEW,
        )
        assert geo["scroller"]["left"] >= geo["panel"]["left"] - 1
        assert geo["scroller"]["right"] <= geo["panel"]["right"] + 1
        for head in geo["heads"]:
            assert head["top"] >= geo["scroller"]["top"] - 1, head
            assert head["labelFits"], head  # the header's label is not cut
            if head["left"] < geo["scroller"]["right"]:
                assert head["left"] >= geo["scroller"]["left"] - 1, head

        # a long name is cut with an ellipsis inside its cell, and named in full on hover
        name = page.locator(f"{ROWS} .nbtrack-rv-name:text-is('{LONG_NAME}')")
        name_box, cell_box = name.bounding_box(), name.locator("xpath=..").bounding_box()
        assert name_box and cell_box
        assert name_box["x"] + name_box["width"] <= cell_box["x"] + cell_box["width"] + 1
        assert name.get_attribute("title") == f"Open {LONG_NAME}"

        # When scrolled to the bottom, Then the last run is drawn and the DOM holds few rows
        page.evaluate(
            "(s) => { const e = document.querySelector(s); e.scrollTop = e.scrollHeight; }",
            f"{VIEW} .nbtrack-rv-scroll",
        )
        last = lab["top_level"] + 1
        page.wait_for_selector(f"{ROWS}[aria-rowindex='{last}'][data-run-id]", timeout=30_000)
        assert (
            page.locator(f"{ROWS}[aria-rowindex='{last}'] .nbtrack-rv-name").inner_text() == "run-0"
        )
        assert page.locator(ROWS).count() < 80
        shot(page, "bottom")

        # When the acc header is clicked, Then the best acc comes first, highlighted
        page.locator(f"{VIEW} .nbtrack-rv-head[data-column='metrics.acc'] button").click()
        page.wait_for_function(
            """([rows, best]) => {
              const c = document.querySelector(rows + "[aria-rowindex='2'] [data-column='metrics.acc']");
              return c && Number(c.textContent) === best;
            }""",
            arg=[ROWS, lab["best_acc"]],
            timeout=30_000,
        )
        top = page.locator(f"{ROWS}[aria-rowindex='2'] [data-column='metrics.acc']")
        page.wait_for_function(
            "(s) => document.querySelector(s).classList.contains('nbtrack-rv-best')",
            arg=f"{ROWS}[aria-rowindex='2'] [data-column='metrics.acc']",
            timeout=10_000,
        )
        assert "Best acc (highest)" == top.get_attribute("title")
        head = page.locator(f"{VIEW} .nbtrack-rv-head[data-column='metrics.acc']")
        assert head.get_attribute("aria-sort") == "descending"
        shot(page, "sorted-by-acc")

        # When the owner tag is chosen in the column picker, Then it shows and is remembered
        page.locator(f"{VIEW} .nbtrack-rv-columns-button").click()
        page.locator(f"{VIEW} .nbtrack-rv-picker input[data-column='tags.owner']").check()
        page.wait_for_selector(f"{VIEW} .nbtrack-rv-head[data-column='tags.owner']")
        shot(page, "column-picker")
        page.locator(f"{VIEW} .nbtrack-rv-columns-button").click()
        stored = page.evaluate(
            "() => Object.entries(localStorage).filter(([k]) => k.startsWith('nbtrack:runs-view:columns:'))"
        )
        assert any("tags.owner" in v for _, v in stored), stored
        wide = page.evaluate(
            "(s) => { const e = document.querySelector(s); return [e.scrollWidth, e.clientWidth]; }",
            f"{VIEW} .nbtrack-rv-scroll",
        )
        assert wide[0] > wide[1]  # many columns: the table scrolls sideways inside the panel

        # Given a filter naming the sweep, Then its children are folded under it
        page.locator(f"{VIEW} .nbtrack-filter-input").fill("attributes.run_name LIKE 'sweep%'")
        page.locator(f"{VIEW} .nbtrack-filter-apply").click()
        page.wait_for_function(
            "(s) => document.querySelector(s)?.textContent === '1 run'",
            arg=f"{VIEW} .nbtrack-rv-count",
        )
        expander = row_named(page, "sweep").locator(".nbtrack-rv-expander")
        assert expander.get_attribute("aria-expanded") == "false"
        expander.click()
        page.wait_for_selector(f"{ROWS}.nbtrack-rv-child >> nth={CHILDREN - 1}")
        assert page.locator(f"{ROWS}.nbtrack-rv-child").count() == CHILDREN
        shot(page, "expanded")
        expander.click()
        page.wait_for_function(
            "(s) => document.querySelectorAll(s).length === 0", arg=f"{ROWS}.nbtrack-rv-child"
        )
        expander.click()
        page.wait_for_selector(f"{ROWS}.nbtrack-rv-child >> nth={CHILDREN - 1}")

        # When three children are selected (click, Ctrl+click, Shift+click) and compared
        def at(row: int) -> Any:  # table row 0 is the parent, its children follow
            return page.locator(f"{ROWS}[aria-rowindex='{row + 2}'] [data-column='user']")

        at(1).click()
        at(2).click(modifiers=["Control"])
        at(3).click(modifiers=["Shift"])
        assert page.locator(f"{ROWS}.nbtrack-rv-selected").count() == 3
        picked = [
            page.locator(f"{ROWS}[aria-rowindex='{k + 2}'] .nbtrack-rv-name").inner_text()
            for k in (1, 2, 3)
        ]
        assert page.locator(f"{VIEW} .nbtrack-rv-count").inner_text() == "1 run · 3 selected"
        page.locator(f"{VIEW} .nbtrack-rv-compare").click()
        page.wait_for_selector(".nbtrack-compareview table", timeout=30_000)
        for name in picked:
            assert page.locator(".nbtrack-compareview", has_text=name).count() >= 1
        shot(page, "compare")
        page.evaluate("() => window.jupyterapp.shell.activateById('nbtrack-runs-view')")

        # CSV of the selection: the shown columns, one line per run
        with page.expect_download() as download:
            page.locator(f"{VIEW} .nbtrack-rv-csv").click()
        target = tmp_path / "runs.csv"
        download.value.save_as(target)
        table = list(csv.reader(io.StringIO(target.read_text())))
        assert table[0][:7] == [
            "name",
            "status",
            "start",
            "duration",
            "user",
            "experiment",
            "run_id",
        ]
        assert "metrics.acc" in table[0] and table[0][-1] == "tags.owner"
        # in the table's order (acc, highest first)
        assert [r[0] for r in table[1:]] == picked
        accs = [float(r[table[0].index("metrics.acc")]) for r in table[1:]]
        assert accs == sorted(accs, reverse=True)
        assert {r[6] for r in table[1:]} <= set(lab["ids"]["children"])

        # When two are deleted, Then a dialog names how many; after it they are gone
        at(1).click()
        at(2).click(modifiers=["Shift"])
        page.locator(f"{VIEW} .nbtrack-rv-delete").click()
        dialog = page.locator(".jp-Dialog")
        dialog.wait_for()
        assert "Delete 2 runs?" in dialog.inner_text()
        shot(page, "delete-dialog")
        dialog.locator("button.jp-mod-accept").last.click()
        page.wait_for_function(
            "(s) => document.querySelector(s)?.textContent === '3'",
            arg=f"{ROWS} .nbtrack-rv-child-count",
        )

        # Then under Deleted they are listed, and restored after a confirmation
        page.locator(f"{VIEW} .nbtrack-rv-lifecycle").select_option("deleted")
        page.wait_for_function(
            "(s) => document.querySelector(s)?.textContent === '2 runs'",
            arg=f"{VIEW} .nbtrack-rv-count",
        )
        page.locator(f"{VIEW} .nbtrack-rv-select-all").check()
        page.locator(f"{VIEW} .nbtrack-rv-restore").click()
        dialog.wait_for()
        assert "Restore 2 runs?" in dialog.inner_text()
        dialog.locator("button.jp-mod-accept").last.click()
        page.wait_for_function(
            "(s) => document.querySelector(s)?.textContent === '0 runs'",
            arg=f"{VIEW} .nbtrack-rv-count",
        )
        page.locator(f"{VIEW} .nbtrack-rv-lifecycle").select_option("active")
        page.wait_for_function(
            "(s) => document.querySelector(s)?.textContent === String(5)",
            arg=f"{ROWS} .nbtrack-rv-child-count",
        )
        shot(page, "restored")

        assert not page.errors, page.errors  # type: ignore[attr-defined]
        assert not console, console

        # A bad filter's message, in view (checked first: never listed, so no 400 in the console)
        page.locator(f"{VIEW} .nbtrack-filter-input").fill("metrics.acc >")
        page.locator(f"{VIEW} .nbtrack-filter-apply").click()
        error = page.locator(f"{VIEW} .nbtrack-filter-error")
        error.wait_for()
        assert "metrics.acc" in error.inner_text()
        assert page.locator(f"{VIEW} .nbtrack-filter-input").get_attribute("aria-invalid")
        view_box, error_box = page.locator(VIEW).bounding_box(), error.bounding_box()
        assert view_box and error_box
        assert error_box["x"] + error_box["width"] <= view_box["x"] + view_box["width"] + 1
        assert page.locator(f"{VIEW} .nbtrack-empty").inner_text() == ""
        shot(page, "bad-filter")
        assert not console, console

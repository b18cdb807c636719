"""The filter box (#17) in a real JupyterLab and a real headless Chromium: plain words search run
names, the stored keys are offered after ``params.`` and friends, a bad filter's caret sits under
the bad token in a monospace block, and a bad filter is never sent to the listing nor polled.
Screenshots go to ``test-artifacts/filter-box-*.png``."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser import ARTIFACTS, chromium_page, jupyter_lab, open_lab, require_browser

pytestmark = pytest.mark.slow

BUILT = Path(__file__).resolve().parents[2] / "nbtrack" / "labextension"

T0 = 1_780_000_000.0
RUNS = [
    ("sgd-alpha-0.0001", {"alpha": "0.0001", "l1_ratio": "0.15"}, 0.91),
    ("sgd-alpha-0.01", {"alpha": "0.01", "l1_ratio": "0.15"}, 0.88),
    ("sgd-alpha-3.0", {"alpha": "3.0", "l1_ratio": "0.5"}, 0.41),
    ("adam-lr-0.1", {"lr": "0.1"}, 0.7),
]
SIDEBAR = "#nbtrack-sidebar"
FIELD = f"{SIDEBAR} .nbtrack-filter-input"
NAMES = f"{SIDEBAR} .nbtrack-run-name"

# Where the bad token and the caret under it are drawn: the token's characters measured with a
# Range over its text, the caret's with its element's box.
CARET = """(root) => {
  const box = document.querySelector(root);
  const token = box.querySelector('.nbtrack-filter-error-token');
  const caret = box.querySelector('.nbtrack-filter-caret');
  const pre = box.querySelector('.nbtrack-filter-error-code');
  const range = document.createRange();
  range.selectNodeContents(token.firstChild || token);
  const t = range.getBoundingClientRect();
  const c = caret.getBoundingClientRect();
  const p = pre.getBoundingClientRect();
  return {
    token: token.textContent, tokenLeft: t.left, tokenRight: t.right, tokenBottom: t.bottom,
    caretLeft: c.left, caretRight: c.right, caretTop: c.top,
    preLeft: p.left, preRight: p.right, font: getComputedStyle(pre).fontFamily,
    tokenFont: getComputedStyle(token).fontFamily,
    bodyFont: getComputedStyle(document.body).fontFamily,
  };
}"""

# The placeholder's width in the field's own font, and the room the field has for it.
PLACEHOLDER = """(sel) => {
  const el = document.querySelector(sel);
  const style = getComputedStyle(el);
  const ctx = document.createElement('canvas').getContext('2d');
  ctx.font = `${style.fontWeight} ${style.fontSize} ${style.fontFamily}`;
  const room = el.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
  return { text: el.placeholder, width: ctx.measureText(el.placeholder).width, room,
           title: el.title, sidebar: document.querySelector('#nbtrack-sidebar').clientWidth };
}"""


def build_store(path: str) -> None:
    from nbtrack.store import Store

    store = Store(path)
    for i, (name, params, acc) in enumerate(RUNS):
        start = T0 + i * 60
        row = {
            "id": uuid.uuid4().hex,
            "name": name,
            "status": "finished",
            "start_time": start,
            "end_time": start + 5,
            "user": "ana",
        }
        points = [
            ("acc", acc, 0, start + 1, None),
            ("loss", 1 - acc, 0, start + 1, None),
            ("val_acc", acc - 0.02, 0, start + 1, None),
        ]
        store.add_run(row, "sgd", params, {"owner": "ana"}, points)
    store.close()


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    require_browser()
    base = tmp_path_factory.mktemp("filterbox")
    root = base / "root"
    root.mkdir()
    build_store(str(base / "store"))
    # the extension as built in this checkout, ahead of the copy `pip install` last put in share/
    built = base / "labextensions"
    built.mkdir()
    (built / "nbtrack").symlink_to(BUILT, target_is_directory=True)
    args = [f"--LabApp.extra_labextensions_path={built}"]
    with jupyter_lab(base, root, store=str(base / "store"), server_args=args) as lab:
        yield lab


def shot(page: Any, name: str) -> None:
    page.screenshot(path=str(ARTIFACTS / f"filter-box-{name}.png"))


def listed(page: Any) -> list[str]:
    return sorted(page.locator(NAMES).all_inner_texts())


def apply(page: Any, text: str) -> None:
    page.locator(FIELD).fill(text)
    page.locator(FIELD).press("Enter")


def wait_listed(page: Any, names: list[str]) -> None:
    page.wait_for_function(
        "([sel, want]) => JSON.stringify([...document.querySelectorAll(sel)]"
        ".map(e => e.textContent).sort()) === JSON.stringify(want)",
        arg=[NAMES, sorted(names)],
        timeout=30_000,
    )


def test_filter_box_searches_names_completes_keys_and_shows_errors_under_their_token(
    lab: dict[str, Any],
) -> None:
    with chromium_page({"width": 1400, "height": 900}) as page:
        console = page.console  # errors and warnings (tests/browser.py)
        requests: list[str] = []
        page.on(
            "request",
            lambda r: requests.append(r.url) if "/nbtrack/api/" in r.url else None,
        )
        open_lab(page, lab)
        page.evaluate("() => window.jupyterapp.commands.execute('nbtrack:open-sidebar')")
        wait_listed(page, [name for name, _, _ in RUNS])

        # Given the sidebar at its default width, Then the placeholder fits in the field, and
        # the full syntax is in its tooltip
        fit = page.evaluate(PLACEHOLDER, FIELD)
        shot(page, "1-placeholder")
        assert fit["sidebar"] <= 260, fit
        assert fit["width"] <= fit["room"], fit
        assert "params." in fit["text"] and "AND" in fit["title"], fit

        # When a long filter is typed, Then the field grows to show all of it
        long = "sgd and metrics.acc > 0.5 and params.l1_ratio = '0.15' and tags.owner = 'ana'"
        page.locator(FIELD).fill(long)
        size = page.evaluate(
            "(s) => { const e = document.querySelector(s);"
            " return { scroll: e.scrollHeight, client: e.clientHeight, lines: e.clientHeight / 18 }; }",
            FIELD,
        )
        assert size["scroll"] <= size["client"] + 1 and size["lines"] >= 2, size
        shot(page, "2-long-filter-wraps")
        page.locator(FIELD).press("Enter")
        wait_listed(page, ["sgd-alpha-0.0001", "sgd-alpha-0.01"])

        # When a bare word is applied, Then it searches run names (ignoring case)
        apply(page, "SGD")
        wait_listed(page, ["sgd-alpha-0.0001", "sgd-alpha-0.01", "sgd-alpha-3.0"])
        apply(page, "alpha-3")
        wait_listed(page, ["sgd-alpha-3.0"])
        apply(page, "sgd and metrics.acc > 0.9")
        wait_listed(page, ["sgd-alpha-0.0001"])
        shot(page, "3-name-search")

        # When the user types params., Then the experiment's param keys are offered
        field = page.locator(FIELD)
        field.fill("")
        field.press_sequentially("params.")
        options = page.locator(f"{SIDEBAR} .nbtrack-filter-keys [role=option]")
        options.first.wait_for(timeout=10_000)
        assert options.all_inner_texts() == ["alpha", "l1_ratio", "lr"]
        assert field.get_attribute("aria-expanded") == "true"
        shot(page, "4-completion")
        # the list lies within the sidebar
        box = page.locator(f"{SIDEBAR} .nbtrack-filter-keys").bounding_box()
        side = page.locator(SIDEBAR).bounding_box()
        assert box and side and box["x"] + box["width"] <= side["x"] + side["width"] + 1
        # arrows move the choice, Enter inserts it (and does not apply the filter)
        field.press("ArrowDown")
        field.press("ArrowDown")
        field.press("ArrowUp")
        active = page.locator(f"{SIDEBAR} .nbtrack-filter-key-active")
        assert active.inner_text() == "l1_ratio"
        assert field.get_attribute("aria-activedescendant") == active.get_attribute("id")
        field.press("Enter")
        assert field.input_value() == "params.l1_ratio "
        assert options.count() == 0
        # typing narrows the keys; Escape closes the list; Tab inserts
        field.fill("")
        field.press_sequentially("metrics.ac")
        options.first.wait_for()
        assert options.all_inner_texts() == ["acc", "val_acc"]
        field.press("Escape")
        assert options.count() == 0
        field.press_sequentially("c")
        field.fill("")
        field.press_sequentially("attributes.sta")
        options.first.wait_for()
        assert "status" in options.all_inner_texts()
        field.press("Tab")
        assert field.input_value() == "attributes.status "
        field.press_sequentially("= 'finished' and params.alpha > 0.001")
        field.press("Enter")
        wait_listed(page, ["sgd-alpha-0.01", "sgd-alpha-3.0"])
        keys_asked = [u for u in requests if "/nbtrack/api/keys" in u]
        assert len(keys_asked) == 1, keys_asked  # cached: asked once however often focused

        # When a bad filter is applied
        before = len(requests)
        apply(page, "metrics.acc >> 0.9")
        error = page.locator(f"{SIDEBAR} .nbtrack-filter-error")
        error.wait_for(timeout=10_000)
        # Then the message shows the line in monospace with the caret under the bad token
        at = page.evaluate(CARET, SIDEBAR)
        assert at["token"] == ">>", at
        assert "mono" in at["font"].lower() and at["font"] != at["bodyFont"], at
        assert abs(at["caretLeft"] - at["tokenLeft"]) < 1, at
        assert abs(at["caretRight"] - at["tokenRight"]) < 1, at
        assert at["caretTop"] >= at["tokenBottom"] - 4, at  # on the line below
        assert "unknown operator '>>'" in error.inner_text()
        # and no "No run matches the filter." under it
        assert page.locator(f"{SIDEBAR} .nbtrack-empty").count() == 0
        assert field.get_attribute("aria-invalid") == "true"
        shot(page, "5-bad-filter")
        # and over more than a refresh period (10 s) the filter is never sent to the listing
        page.wait_for_timeout(12_000)
        after = requests[before:]
        assert [u for u in after if "/nbtrack/api/runs" in u] == [], after
        assert len([u for u in after if "filter/check" in u]) == 1, after

        # When the bad token lies far to the right of a long filter, Then the block scrolls to it
        # and the caret is still under it
        apply(
            page,
            "sgd and params.l1_ratio = '0.15' and tags.owner = 'ana' and metrics.acc > 0.5 "
            "and metrcs.loss < 1",
        )
        page.wait_for_function(
            "(s) => document.querySelector(s + ' .nbtrack-filter-error-token')"
            "?.textContent === 'metrcs.loss'",
            arg=SIDEBAR,
        )
        at = page.evaluate(CARET, SIDEBAR)
        assert abs(at["caretLeft"] - at["tokenLeft"]) < 1, at
        assert at["preLeft"] - 1 <= at["caretLeft"] < at["preRight"], at  # in view
        shot(page, "6-bad-filter-scrolled")

        # When a good filter follows, Then it is listed again
        apply(page, "adam")
        wait_listed(page, ["adam-lr-0.1"])
        assert page.locator(f"{SIDEBAR} .nbtrack-filter-error").count() == 0

        assert not page.errors, page.errors  # type: ignore[attr-defined]
        assert not console, console


def test_filter_box_error_and_keys_are_readable_in_the_dark_theme(lab: dict[str, Any]) -> None:
    from tests.server.test_sidebar_e2e import CONTRAST

    with chromium_page({"width": 1400, "height": 900}) as page:
        console = page.console  # errors and warnings (tests/browser.py)
        # Given JupyterLab in its dark theme and the sidebar open
        open_lab(page, lab)
        page.evaluate(
            "window.jupyterapp.commands.execute('apputils:change-theme', {theme: 'JupyterLab Dark'})"
        )
        page.wait_for_function("document.body.dataset.jpThemeLight === 'false'", timeout=30_000)
        page.wait_for_function("() => !document.getElementById('jupyterlab-splash')")
        page.evaluate("() => window.jupyterapp.commands.execute('nbtrack:open-sidebar')")
        wait_listed(page, [name for name, _, _ in RUNS])
        # When a bad filter is applied and keys are offered
        apply(page, "sgd and metrics.acc > 0.9 and")
        page.locator(f"{SIDEBAR} .nbtrack-filter-error").wait_for(timeout=10_000)
        page.locator(FIELD).fill("")
        page.locator(FIELD).press_sequentially("metrics.")
        page.locator(f"{SIDEBAR} .nbtrack-filter-key-active").wait_for(timeout=10_000)
        shot(page, "7-dark")
        # Then every kind of text stands out from what is behind it
        poor = {}
        for sel in (
            ".nbtrack-filter-input",
            ".nbtrack-filter-error-reason",
            ".nbtrack-filter-error-line",
            ".nbtrack-filter-caret",
            ".nbtrack-filter-error-hint",
            ".nbtrack-filter-key",
            ".nbtrack-filter-key-active",
        ):
            found = page.evaluate(CONTRAST, f"{SIDEBAR} {sel}")
            assert found is not None, sel
            if found["ratio"] < 4.5:
                poor[sel] = found
        assert not poor, poor
        assert not page.errors, page.errors  # type: ignore[attr-defined]
        assert not console, console


def test_runs_view_filter_box_completes_keys_and_searches_names(lab: dict[str, Any]) -> None:
    view = "#nbtrack-runs-view"
    names = f"{view} .nbtrack-rv-row .nbtrack-rv-name"
    with chromium_page({"width": 1400, "height": 900}) as page:
        console = page.console  # errors and warnings (tests/browser.py)
        # Given the main-area Runs view
        open_lab(page, lab)
        page.evaluate("() => window.jupyterapp.commands.execute('nbtrack:open-runs-table')")
        page.locator(names).first.wait_for(timeout=30_000)
        field = page.locator(f"{view} .nbtrack-filter-input")
        # its filter field is one line as tall as the toolbar's buttons
        height = field.bounding_box()["height"]  # type: ignore[index]
        assert 28 <= height <= 34, height
        button = page.locator(f"{view} .nbtrack-filter-apply").bounding_box()
        assert button and button["width"] >= 30, button
        # When the user types metrics., Then the stored metric keys are offered
        field.click()
        field.press_sequentially("metrics.")
        options = page.locator(f"{view} .nbtrack-filter-keys [role=option]")
        options.first.wait_for(timeout=10_000)
        assert options.all_inner_texts() == ["acc", "loss", "val_acc"]
        shot(page, "8-runs-view-keys")
        field.press("ArrowDown")
        field.press("Enter")
        field.press_sequentially("< 0.2")
        field.press("Enter")
        page.wait_for_function(
            "(s) => document.querySelectorAll(s).length === 2", arg=names, timeout=30_000
        )
        assert sorted(page.locator(names).all_inner_texts()) == [
            "sgd-alpha-0.0001",
            "sgd-alpha-0.01",
        ]
        # When a plain word is applied, Then it searches the names
        field.fill("adam")
        field.press("Enter")
        page.wait_for_function(
            "(s) => [...document.querySelectorAll(s)].map(e => e.textContent).join() === 'adam-lr-0.1'",
            arg=names,
            timeout=30_000,
        )
        shot(page, "9-runs-view-name-search")
        assert not page.errors, page.errors  # type: ignore[attr-defined]
        assert not console, console

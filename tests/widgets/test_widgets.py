"""The widgets' kernel side: table paging/sorting/queries/selection, charts, live feed, compare,
run view, and downsampling that keeps extremes. Real stores in tmp_path; no browser here
(see test_widgets_e2e.py)."""

from __future__ import annotations

import math
import time
import uuid
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import nbtrack
from nbtrack.query.codediff import diff_cells
from nbtrack.query.downsample import downsample_indices
from nbtrack.store import CellRecord, open_store
from nbtrack.widgets import chart, compare, feed, live, run_view, runs_table


# -- fixtures --------------------------------------------------------------------------------
def make_runs(path: Path, n: int = 5, steps: int = 30) -> list[str]:
    """``n`` finished runs through the public tracking API; returns ids oldest first."""
    ids = []
    for i in range(n):
        with nbtrack.start_run(
            name=f"run-{i}",
            experiment="exp-a" if i % 2 == 0 else "exp-b",
            params={"lr": 0.1 / (i + 1), "opt": "adam" if i % 2 else "sgd", "layers": 3},
            tags={"owner": "ana"},
            store=path,
            log_system_metrics=False,
        ) as run:
            for s in range(steps):
                run.log_metric("loss", 1.0 / (s + 1) + i * 0.01, step=s)
                run.log_metric("acc", 0.5 + 0.01 * s + 0.001 * i, step=s)
        ids.append(run.id)
        time.sleep(0.002)  # distinct start times
    return ids


@pytest.fixture(scope="module")
def populated(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    path = tmp_path_factory.mktemp("widgets") / "store"
    return path, make_runs(path)


def capture(widget: Any) -> list[dict[str, Any]]:
    sent: list[dict[str, Any]] = []
    widget.send = lambda content, buffers=None: sent.append(content)
    return sent


def ask_page(table: Any, offset: int, limit: int, gen: int | None = None) -> dict[str, Any]:
    sent = capture(table)
    table._on_msg(
        table,
        {
            "type": "page",
            "offset": offset,
            "limit": limit,
            "gen": table.gen if gen is None else gen,
        },
        [],
    )
    assert len(sent) == 1
    return sent[0]


def names(rows: list[dict[str, Any]], table: Any) -> list[str]:
    i = table.visible.index("name")
    return [r["cells"][i] for r in rows]


# -- downsampling ----------------------------------------------------------------------------
def test_downsampling_keeps_endpoints_and_extremes_of_a_million_points() -> None:
    rng = np.random.default_rng(0)
    y = np.cumsum(rng.normal(size=1_000_000))
    y[123_457], y[777_777] = 1e6, -1e6
    x = np.arange(y.size)
    idx = downsample_indices(x, y, 1000)
    assert idx.size <= 1000
    assert idx[0] == 0 and idx[-1] == y.size - 1
    assert 123_457 in idx and 777_777 in idx
    assert np.all(np.diff(idx) > 0)


def test_downsampling_never_picks_nan_and_keeps_short_series_whole() -> None:
    y = np.linspace(0, 1, 50_000)
    y[::7] = np.nan
    idx = downsample_indices(np.arange(y.size), y, 500)
    assert not np.isnan(y[idx]).any()
    short = np.array([3.0, 1.0, math.nan, 2.0])
    assert downsample_indices(np.arange(4), short, 100).tolist() == [0, 1, 3]


def test_downsampling_keeps_a_single_spike_in_a_flat_series() -> None:
    y = np.zeros(200_000)
    y[150_001] = 5.0
    idx = downsample_indices(np.arange(y.size), y, 300)
    assert 150_001 in idx


# -- runs table ------------------------------------------------------------------------------
def test_table_opens_with_default_columns_and_newest_first(
    populated: tuple[Path, list[str]],
) -> None:
    path, ids = populated
    table = runs_table(store=path)
    assert table.status == "ready" and table.total == 5
    assert table.visible[:6] == ["name", "status", "experiment", "id", "start_time", "duration"]
    assert {"params.lr", "params.opt", "metrics.acc", "metrics.loss", "tags.owner"} <= set(
        table.visible
    )
    page = ask_page(table, 0, 100)
    assert names(page["rows"], table) == [f"run-{i}" for i in range(4, -1, -1)]
    assert table.run_ids == list(reversed(ids))


def test_table_pages_are_slices_of_the_result(populated: tuple[Path, list[str]]) -> None:
    path, _ = populated
    table = runs_table(store=path)
    first, second = ask_page(table, 0, 2), ask_page(table, 2, 2)
    assert names(first["rows"], table) == ["run-4", "run-3"]
    assert names(second["rows"], table) == ["run-2", "run-1"]
    assert ask_page(table, 10, 5)["rows"] == []


def test_stale_page_requests_get_no_rows(populated: tuple[Path, list[str]]) -> None:
    path, _ = populated
    table = runs_table(store=path)
    old = table.gen
    table.order_by = "name"
    assert table.gen != old
    reply = ask_page(table, 0, 5, gen=old)
    assert reply["rows"] == [] and reply["stale"]


def test_sorting_by_a_param_is_numeric_and_by_name_is_textual(
    populated: tuple[Path, list[str]],
) -> None:
    path, _ = populated
    table = runs_table(store=path)
    table.order_by, table.descending = "params.lr", False
    rows = ask_page(table, 0, 10)["rows"]
    lr = [float(r["cells"][table.visible.index("params.lr")]) for r in rows]
    assert lr == sorted(lr)
    table.order_by = "name"
    assert names(ask_page(table, 0, 10)["rows"], table) == [f"run-{i}" for i in range(5)]


def test_sorting_by_a_metric_puts_runs_without_it_last(tmp_path: Path) -> None:
    path = tmp_path / "store"
    make_runs(path, n=3)
    with nbtrack.start_run(
        name="no-metrics", experiment="exp-a", store=path, log_system_metrics=False
    ):
        pass
    table = runs_table(store=path)
    for desc in (True, False):
        table.order_by, table.descending = "metrics.loss", desc
        assert names(ask_page(table, 0, 10)["rows"], table)[-1] == "no-metrics"


def test_nested_runs_fold_under_their_parent_until_asked_for(tmp_path: Path) -> None:
    # Given a sweep: a parent run that started two children, and a run on its own
    path = tmp_path / "store"
    opts = {"experiment": "sweep", "store": path, "log_system_metrics": False}
    with nbtrack.start_run(name="sweep", **opts):
        for lr in (0.1, 0.01):
            with nbtrack.start_run(name=f"lr-{lr}", params={"lr": lr}, **opts):
                pass
    with nbtrack.start_run(name="alone", **opts):
        pass
    # When the table opens
    table = runs_table(store=path)
    # Then it lists the top-level runs and says how many are nested
    assert sorted(names(ask_page(table, 0, 10)["rows"], table)) == ["alone", "sweep"]
    assert (table.total, table.nested) == (2, 2)
    # and the nested ones show when asked for
    table.show_nested = True
    assert sorted(names(ask_page(table, 0, 10)["rows"], table)) == [
        "alone",
        "lr-0.01",
        "lr-0.1",
        "sweep",
    ]
    assert (table.total, table.nested) == (4, 2)


def test_runs_nested_under_a_run_of_another_experiment_are_listed(tmp_path: Path) -> None:
    # Given runs started inside a notebook's run (``nbtrack run``) of another experiment
    path = tmp_path / "store"
    opts = {"store": path, "log_system_metrics": False}
    with nbtrack.start_run(name="notebook", experiment="notebooks", **opts):
        for lr in (0.1, 0.01):
            with nbtrack.start_run(name=f"lr-{lr}", experiment="sweep", **opts):
                nbtrack.log_metric("acc", lr)
    # When the table of their experiment opens, filtered or not
    for query in ("", "metrics.acc > 0"):
        table = runs_table(query, store=path, experiment="sweep")
        # Then both are listed, none is hidden as nested
        assert sorted(names(ask_page(table, 0, 10)["rows"], table)) == ["lr-0.01", "lr-0.1"]
        assert (table.total, table.nested, table.run_ids[0] != "") == (2, 0, True)
    # and in the table of every experiment they fold under the notebook's run
    table = runs_table(store=path)
    assert (names(ask_page(table, 0, 10)["rows"], table), table.nested) == (["notebook"], 2)


def test_metric_min_max_columns_show_the_range(populated: tuple[Path, list[str]]) -> None:
    path, _ = populated
    table = runs_table(store=path)
    table.visible = ["name", "metrics.loss.min", "metrics.loss.max"]
    table.order_by, table.descending = "name", False
    row = ask_page(table, 0, 1)["rows"][0]
    assert row["cells"] == ["run-0", pytest.approx(1 / 30), pytest.approx(1.0)]


def test_query_filters_rows_and_a_bad_query_shows_an_inline_error(
    populated: tuple[Path, list[str]],
) -> None:
    path, _ = populated
    table = runs_table("params.opt = 'adam'", store=path)
    assert table.total == 2 and table.error == ""
    table.filter_string = "metrics.acc >"
    assert "column" in table.error and "metrics.acc >" in table.error
    assert table.total == 2  # the previous result stays while the query is wrong
    table.filter_string = "metrics.acc > 100"
    assert table.error == "" and table.status == "empty" and "No run matches" in table.message


def test_column_filters_become_query_clauses(populated: tuple[Path, list[str]]) -> None:
    path, _ = populated
    table = runs_table(store=path)
    table.column_filters = {"name": "run-3"}
    assert table.total == 1
    table.column_filters = {"metrics.loss": "< 0.045"}
    assert table.total == 2  # run-0 (0.0333) and run-1 (0.0433)
    table.column_filters = {"metrics.loss": "abc"}
    assert "needs a number" in table.error


def test_experiment_limits_the_table(populated: tuple[Path, list[str]]) -> None:
    path, _ = populated
    table = runs_table(experiment="exp-b", store=path)
    assert table.total == 2
    assert sorted(names(ask_page(table, 0, 10)["rows"], table)) == ["run-1", "run-3"]


def test_selection_is_readable_from_python(populated: tuple[Path, list[str]]) -> None:
    path, ids = populated
    table = runs_table(store=path)
    table.selected = [ids[1]]  # as the front end sets it
    assert table.selected == [ids[1]]
    table._on_msg(table, {"type": "select-all"}, [])
    assert sorted(table.selected) == sorted(ids)


def test_missing_store_is_reported_and_not_created(tmp_path: Path) -> None:
    table = runs_table(store=tmp_path / "nowhere")
    assert table.status == "no-store" and "No nbtrack store" in table.message
    assert not (tmp_path / "nowhere").exists()


def test_empty_store_says_how_to_make_a_run(tmp_path: Path) -> None:
    open_store(tmp_path / "empty")
    table = runs_table(store=tmp_path / "empty")
    assert table.status == "empty" and "%%track" in table.message


def test_a_page_of_100000_runs_is_read_without_reading_them_all(tmp_path: Path) -> None:
    from nbtrack.store import schema as s

    store = open_store(tmp_path / "big")
    eid = store.write(lambda conn: store.experiment_id(conn, "big"))
    rows = [
        {
            "id": uuid.uuid4().hex,
            "experiment_id": eid,
            "name": f"r{i}",
            "status": "finished",
            "start_time": 1e9 + i,
            "end_time": 1e9 + i + 5,
        }
        for i in range(20_000)
    ]
    store.write(lambda conn: conn.execute(s.runs.insert(), rows))
    table = runs_table(store=tmp_path / "big")
    assert table.total == 20_000
    reply = ask_page(table, 19_900, 100)
    assert names(reply["rows"], table)[0] == "r99"


# -- charts ----------------------------------------------------------------------------------
def test_chart_draws_one_line_per_run(populated: tuple[Path, list[str]]) -> None:
    path, ids = populated
    widget = chart(ids[:3], "loss", store=path)
    assert widget.status == "ready"
    values = widget.spec["data"]["values"]
    assert len({v["run_id"] for v in values}) == 3 and {v["metric"] for v in values} == {"loss"}
    assert widget.spec["layer"][0]["encoding"]["color"]["field"] == "run"


def test_chart_controls_recompute_the_spec(populated: tuple[Path, list[str]]) -> None:
    path, ids = populated
    widget = chart(ids[:2], ["loss", "acc"], store=path)
    assert widget.spec["facet"]["field"] == "metric"
    widget.smoothing = 0.8
    assert "smoothed" in widget.spec["data"]["values"][0]
    widget.log_scale = True
    assert widget.spec["spec"]["layer"][1]["encoding"]["y"]["scale"] == {"type": "log"}
    widget.x = "relative"
    assert widget.spec["spec"]["layer"][1]["encoding"]["x"]["title"] == "seconds since run start"


def test_chart_of_a_long_history_is_downsampled_keeping_extremes(tmp_path: Path) -> None:
    path = tmp_path / "store"
    with nbtrack.start_run(name="long", store=path, log_system_metrics=False) as run:
        for s in range(20_000):
            run.log_metric(
                "loss", 9.0 if s == 12_345 else (-9.0 if s == 17 else math.sin(s / 50)), step=s
            )
        run.log_metric("loss", math.nan, step=20_000)
    widget = chart(run.id, "loss", store=path, max_points=500)
    values = widget.spec["data"]["values"]
    assert len(values) <= 500
    steps = {v["x"] for v in values}
    assert {0, 19_999, 12_345, 17} <= steps
    assert any("NaN" in n for n in widget.spec["title"]["subtitle"])


def test_chart_spec_is_a_plain_altair_chart(populated: tuple[Path, list[str]]) -> None:
    import altair as alt

    path, ids = populated
    spec = nbtrack.widgets.chart_spec(ids[0], "acc", store=path)
    assert isinstance(spec, alt.TopLevelMixin)
    assert spec.to_dict()["layer"][0]["mark"]["type"] == "line"


def test_chart_without_runs_or_store_says_so(
    tmp_path: Path, populated: tuple[Path, list[str]]
) -> None:
    assert chart([], "loss", store=populated[0]).status == "empty"
    missing = chart(["abc"], "loss", store=tmp_path / "none")
    assert missing.status == "no-store" and "No nbtrack store" in missing.message
    with pytest.raises(nbtrack.ValidationError, match="smoothing"):
        chart(populated[1][0], "loss", store=populated[0], smoothing=1.5)


# -- live charts -----------------------------------------------------------------------------
def test_live_chart_receives_points_while_logging(tmp_path: Path) -> None:
    widget = live(display=False)
    sent = capture(widget)
    try:
        with nbtrack.start_run(name="live", store=tmp_path / "s", log_system_metrics=False) as run:
            for s in range(50):
                run.log_metric("loss", 1.0 / (s + 1), step=s)
                run.log_metric("system/cpu", 3.0, step=s)
            widget.flush()
        rows = [r for m in sent for r in m["rows"]]
        assert sent and {r["series"] for r in rows} == {"loss"}
        assert sent[0]["type"] == "reset" and [m["seq"] for m in sent] == list(
            range(1, len(sent) + 1)
        )
        assert len(sent) <= 3  # throttled: at most one push per interval, plus the final flush
        widget._on_msg(widget, {"type": "snapshot"}, [])
        assert sent[-1]["type"] == "reset" and len(sent[-1]["rows"]) == 50
    finally:
        widget.close()
    assert widget not in feed.sinks


def test_live_chart_follows_only_its_run(tmp_path: Path) -> None:
    with nbtrack.start_run(name="a", store=tmp_path / "s", log_system_metrics=False) as a:
        widget = live(a, display=False)
        capture(widget)
        try:
            a.log_metric("loss", 1.0)
            with nbtrack.start_run(
                name="b", store=tmp_path / "s", log_system_metrics=False, nested=False
            ) as b:
                b.log_metric("loss", 2.0)
            assert list(widget._history) == [(a.id, "loss")]
        finally:
            widget.close()


def test_metric_hook_is_a_no_op_without_live_charts() -> None:
    assert feed.sinks == []
    feed.on_point("abc", "loss", 1.0, 0, 0.0)


# -- compare and code diff -------------------------------------------------------------------
def test_compare_marks_identical_rows(populated: tuple[Path, list[str]]) -> None:
    path, ids = populated
    widget = compare(ids[:3], store=path)
    assert widget.status == "ready" and widget.hide_identical
    by_key = {(r["section"], r["key"]): r for r in widget.rows}
    assert by_key[("params", "layers")]["same"] and by_key[("tags", "owner")]["same"]
    assert not by_key[("params", "lr")]["same"] and not by_key[("metrics", "loss")]["same"]
    assert widget.overlay_spec["data"]["values"] and widget.parallel_spec["data"]["values"]
    widget.scatter_x, widget.scatter_y = "params.lr", "metrics.acc"
    assert len(widget.scatter_spec["data"]["values"]) == 3


def test_compare_with_a_missing_run_raises_not_found(populated: tuple[Path, list[str]]) -> None:
    with pytest.raises(nbtrack.NotFoundError):
        compare(["ffffffffffff"], store=populated[0])


def cells(*sources: str) -> list[dict[str, Any]]:
    return [
        {"index": i, "execution_count": i + 1, "source": s, "in_run": True}
        for i, s in enumerate(sources)
    ]


def test_code_diff_finds_added_removed_and_changed_cells() -> None:
    old = cells("import numpy as np", "x = np.arange(10)\nlr = 0.1", "print('old only')", "fit(x)")
    new = cells("import numpy as np", "x = np.arange(10)\nlr = 0.01", "fit(x)", "plot(x)")
    entries = diff_cells(old, new)
    assert [e["kind"] for e in entries] == ["same", "changed", "removed", "same", "added"]
    changed = entries[1]["lines"]
    assert {"op": "-", "text": "lr = 0.1"} in changed and {
        "op": "+",
        "text": "lr = 0.01",
    } in changed
    assert {"op": " ", "text": "x = np.arange(10)"} in changed


def test_compare_diffs_the_runs_recorded_cells(tmp_path: Path) -> None:
    store = open_store(tmp_path / "s")
    ids = []
    for k, body in enumerate(["lr = 0.1\nfit(lr)", "lr = 0.5\nfit(lr)"]):
        sid = uuid.uuid4().hex
        store.add_session({"id": sid, "kind": "kernel", "started": 1.0})
        for seq, src in enumerate(["import math", body]):
            store.record_cell(
                CellRecord(
                    session_id=sid,
                    seq=seq,
                    source=src,
                    start_time=1.0,
                    end_time=1.5,
                    status="ok",
                    execution_count=seq + 1,
                    state_diff={"lr": f"h{k}"} if seq else {},
                )
            )
        rid = uuid.uuid4().hex
        store.create_run(
            {
                "id": rid,
                "name": f"r{k}",
                "status": "finished",
                "start_time": 1.0 + k,
                "end_time": 2.0 + k,
                "session_id": sid,
                "start_seq": 1,
                "end_seq": 1,
            },
            "e",
            {},
            {},
        )
        ids.append(rid)
    widget = compare(ids, store=tmp_path / "s")
    assert [e["kind"] for e in widget.diff] == ["changed"]  # the runs' own cells by default
    widget.diff_scope = "all"
    assert [e["kind"] for e in widget.diff] == ["same", "changed"]
    view = run_view(ids[0], store=tmp_path / "s")
    assert [c["source"] for c in view.cells] == ["import math", "lr = 0.1\nfit(lr)"]
    assert [c["in_run"] for c in view.cells] == [False, True]


# -- run view --------------------------------------------------------------------------------
def test_run_view_shows_the_run(populated: tuple[Path, list[str]]) -> None:
    path, ids = populated
    view = run_view(ids[2][:8], store=path)
    assert view.status == "ready" and view.run["name"] == "run-2"
    assert view.params["opt"] == "sgd" and view.tags == {"owner": "ana"}
    assert [m["key"] for m in view.metrics] == ["acc", "loss"]
    # one small chart per metric (they wrap to the output's width), each saying last/min/max
    assert [c["title"]["text"] for c in view.charts] == ["acc", "loss"]
    assert all(c["width"] <= 360 for c in view.charts)
    assert view.charts[1]["title"]["subtitle"][0] == "last 0.0533333 · min 0.0533333 · max 1.02"


def test_run_view_of_an_unknown_run_says_so(populated: tuple[Path, list[str]]) -> None:
    view = run_view("0123456789", store=populated[0])
    assert view.status == "error" and "no run" in view.message

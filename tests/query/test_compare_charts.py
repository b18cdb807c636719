"""The charts of compared runs (overlay, parallel coordinates, scatter): one builder for the
compare widget and the sidebar's Compare, with finite domains on every scale."""

from __future__ import annotations

import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from nbtrack.errors import ValidationError
from nbtrack.query.comparecharts import compare_charts, parallel_coordinates, scatter
from nbtrack.query.runs import run_summaries
from nbtrack.store import Store

ALPHAS = ["0.0001", "0.01", "3.0"]


def sgd_runs(store: Store, acc_points: int = 1) -> list[dict[str, Any]]:
    """Three runs that differ in alpha (four decades): a 20-step loss, ``acc_points`` of acc."""
    ids = []
    for i, alpha in enumerate(ALPHAS):
        run_id = uuid.uuid4().hex
        start = time.time() + i
        store.create_run(
            {"id": run_id, "name": f"sgd-alpha-{alpha}", "status": "finished", "start_time": start},
            "sgd",
            {"alpha": alpha, "loss_fn": "hinge"},
            {},
        )
        points = [("loss", 1.0 / (s + 1 + i), s, start + s, None) for s in range(20)]
        points += [("acc", 0.9 - 0.1 * i, s, start + s, None) for s in range(acc_points)]
        store.write(lambda conn, p=points, r=run_id: store.write_batch(conn, r, {}, {}, p))
        ids.append(run_id)
    return run_summaries(store, ids)


def layer_data(spec: dict[str, Any], index: int) -> list[dict[str, Any]]:
    return (spec["layer"][index].get("data") or spec["data"])["values"]


def tick_labels(spec: dict[str, Any]) -> list[dict[str, Any]]:
    """The parallel coordinates' value labels, whichever side of their axis they are drawn."""
    layers = spec["layer"][2:]
    return [t for layer in layers if layer["mark"].get("style") for t in layer["data"]["values"]]


def test_overlay_defaults_to_the_metric_with_the_most_steps(tmp_path: Path) -> None:
    store = Store(str(tmp_path / "s"))
    runs = sgd_runs(store)
    charts = compare_charts(store, runs)
    assert charts["options"]["metric"] == "loss" and charts["options"]["metrics"] == ["acc", "loss"]
    overlay = charts["overlay"]
    assert overlay["title"]["text"] == "loss"
    assert len(overlay["data"]["values"]) == 60 and {r["run"] for r in overlay["data"]["values"]}
    assert overlay["encoding"]["x"]["scale"]["domain"] == [0.0, 19.0]


def test_a_one_point_metric_gets_a_padded_domain_not_an_empty_plot(tmp_path: Path) -> None:
    store = Store(str(tmp_path / "s"))
    runs = sgd_runs(store)
    overlay = compare_charts(store, runs, metric="acc")["overlay"]
    assert overlay["encoding"]["x"]["scale"]["domain"] == [-1.0, 1.0]
    assert overlay["title"]["subtitle"] == "one point per run"
    lo, hi = overlay["encoding"]["y"]["scale"]["domain"]
    assert lo <= 0.7 and hi >= 0.9 and lo < hi
    # a single run's single value: room around it too
    single = compare_charts(store, runs[:1] + runs[:1], metric="acc")["overlay"]
    lo, hi = single["encoding"]["y"]["scale"]["domain"]
    assert lo < 0.9 < hi


def test_parallel_coordinates_put_alpha_on_a_log_axis_with_its_values(tmp_path: Path) -> None:
    store = Store(str(tmp_path / "s"))
    spec = compare_charts(store, sgd_runs(store))["parallel"]
    rows, ticks = layer_data(spec, 0), tick_labels(spec)
    alpha = {r["raw"]: r["pos"] for r in rows if r["axis"] == "params.alpha (log)"}
    # 0.0001 .. 3.0 over four and a half decades: 0.01 sits near the middle, not on 0.0001
    assert alpha["0.0001"] == 0.0 and alpha["3.0"] == 1.0
    assert 0.35 < alpha["0.01"] < 0.55
    labels = {t["label"] for t in ticks if t["axis"] == "params.alpha (log)"}
    assert {"0.0001", "3"} <= labels and "0.01" in labels
    # the identical param is left out; the colour metric is the last axis, with its values
    assert [a for a in spec["layer"][0]["encoding"]["x"]["sort"]] == [
        "params.alpha (log)",
        "metrics.loss",
    ]
    assert {t["axis"] for t in ticks} == {"params.alpha (log)", "metrics.loss"}
    # the labels sit where no line runs: left of the first axis, right of the last
    sides = {
        layer["data"]["values"][0]["axis"]: layer["mark"]["align"] for layer in spec["layer"][2:]
    }
    assert sides == {"params.alpha (log)": "right", "metrics.loss": "left"}


def test_parallel_coordinates_of_text_and_equal_values() -> None:
    runs = [
        {"id": f"{i}" * 8, "name": n, "params": {"opt": o, "k": "5"}, "metrics": {}}
        for i, (n, o) in enumerate([("a", "sgd"), ("b", "adam")])
    ]
    spec = parallel_coordinates(runs, ["params.opt", "params.k"], None)
    ticks = tick_labels(spec)
    assert {(t["axis"], t["pos"], t["label"]) for t in ticks} == {
        ("params.opt", 0.0, "adam"),
        ("params.opt", 1.0, "sgd"),
        ("params.k", 0.5, "5"),
    }


def test_scatter_pads_its_axes_and_logs_a_param_spanning_decades(tmp_path: Path) -> None:
    store = Store(str(tmp_path / "s"))
    charts = compare_charts(store, sgd_runs(store))
    assert (charts["options"]["x"], charts["options"]["y"]) == ("params.alpha", "metrics.loss")
    spec = charts["scatter"]
    x = spec["encoding"]["x"]["scale"]
    assert x["type"] == "log" and x["domain"][0] < 0.0001 and x["domain"][1] > 3.0
    lo, hi = spec["encoding"]["y"]["scale"]["domain"]
    ys = [r["y"] for r in spec["data"]["values"]]
    assert lo < min(ys) and hi > max(ys)


def test_scatter_of_one_value_and_of_nothing() -> None:
    runs = [
        {"id": f"{i}" * 8, "name": f"r{i}", "params": {"k": "2"}, "metrics": {"m": 0.5}}
        for i in range(2)
    ]
    spec = scatter(runs, "params.k", "metrics.m")
    assert (
        spec["encoding"]["x"]["scale"]["domain"][0]
        < 2
        < spec["encoding"]["x"]["scale"]["domain"][1]
    )
    assert scatter(runs, "params.k", "metrics.absent") == {}


def test_a_chart_field_none_of_the_runs_has_is_named_in_the_error(tmp_path: Path) -> None:
    store = Store(str(tmp_path / "s"))
    runs = sgd_runs(store)
    with pytest.raises(ValidationError, match="metric 'nope' .* one of: acc, loss"):
        compare_charts(store, runs, metric="nope")
    empty = compare_charts(store, [{**r, "metrics": {}, "params": {}} for r in runs[:2]])
    assert empty["overlay"] == {} and empty["messages"]["overlay"] == "These runs have no metrics."

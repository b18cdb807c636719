"""The reads behind JupyterLab's Runs view: pages with children folded, best values, CSV, keys."""

from __future__ import annotations

import csv
import io

import pytest
from search_fixtures import fill, run_id

from nbtrack.errors import QueryError, ValidationError
from nbtrack.query.runstable import (
    best_values,
    key_names,
    lower_is_better,
    runs_csv,
    table_page,
)
from nbtrack.store import Store


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Store:
    st = Store(str(tmp_path_factory.mktemp("runstable") / "store"))
    fill(st)
    return st


def page_names(page: dict) -> list[str]:
    return [r["name"] for r in page["runs"]]


def test_a_child_is_folded_under_its_listed_parent(store: Store) -> None:
    page = table_page(store)
    assert page_names(page) == ["rf-eval", "rf-small", "Running one"]
    assert page["total"] == 3
    assert {r["name"]: r["children"] for r in page["runs"]}["rf-small"] == 1
    children = table_page(store, parent=run_id(1))
    assert page_names(children) == ["xgb-big"] and children["total"] == 1


def test_a_child_whose_parent_the_filter_leaves_out_is_top_level(store: Store) -> None:
    assert page_names(table_page(store, filter_string="params.model = 'xgb'")) == ["xgb-big"]
    assert page_names(table_page(store, filter_string="params.model = 'rf'")) == [
        "rf-eval",
        "rf-small",
    ]


def test_pages_sort_on_the_server_and_skip_the_count_when_asked(store: Store) -> None:
    page = table_page(store, order_by=["metrics.acc DESC"], count=False)
    assert page["total"] is None
    assert page_names(page) == ["rf-small", "Running one", "rf-eval"]  # no acc: last
    second = table_page(store, order_by=["metrics.acc DESC"], offset=1, limit=1)
    assert page_names(second) == ["Running one"] and second["total"] == 3


def test_deleted_runs_are_listed_apart(store: Store) -> None:
    assert page_names(table_page(store, deleted=True)) == ["deleted"]


def test_a_bad_filter_or_page_is_an_error(store: Store) -> None:
    with pytest.raises(QueryError):
        table_page(store, filter_string="metrics.acc >")
    with pytest.raises(ValidationError):
        table_page(store, limit=0)


@pytest.mark.parametrize(
    "key, lower",
    [("loss", True), ("val_loss", True), ("test/RMSE", True), ("error", True), ("mae", True)]
    + [("acc", False), ("loss_weight_acc", False), ("f1", False)],
)
def test_losses_and_errors_are_best_lowest(key: str, lower: bool) -> None:
    assert lower_is_better(key) is lower


def test_best_values_of_the_live_matching_runs(store: Store) -> None:
    best = best_values(store, ["acc", "loss", "missing"])
    # acc: rf-small's latest 0.91 (the deleted run's 0.99 does not count); loss: lowest
    assert best == {
        "acc": {"value": 0.91, "lower_is_better": False},
        "loss": {"value": 0.25, "lower_is_better": True},
    }
    assert best_values(store, ["acc"], filter_string="params.model = 'xgb'") == {
        "acc": {"value": 0.8, "lower_is_better": False}
    }


def test_csv_has_the_shown_columns_in_the_given_order(store: Store) -> None:
    text = runs_csv(
        store,
        ["name", "run_id", "start", "metrics.acc", "params.model", "tags.stage"],
        run_ids=[run_id(2), run_id(1)],
    )
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["name", "run_id", "start", "metrics.acc", "params.model", "tags.stage"]
    assert rows[1][:2] == ["xgb-big", run_id(2)] and rows[1][3:] == ["0.8", "xgb", "dev"]
    assert rows[2][0] == "rf-small" and rows[2][2] == "2026-11-23T10:00:00.000Z"
    everything = list(csv.reader(io.StringIO(runs_csv(store, ["name"]))))
    assert sorted(r[0] for r in everything[1:]) == ["Running one", "rf-eval", "rf-small", "xgb-big"]


def test_csv_refuses_an_unknown_column(store: Store) -> None:
    with pytest.raises(ValidationError, match="unknown column 'colour'"):
        runs_csv(store, ["name", "colour"])


def test_keys_of_an_experiment_and_the_experiment_names(store: Store) -> None:
    keys = key_names(store, "eval")
    assert keys["params"] == ["lr", "model"]
    assert keys["metrics"] == ["acc", "loss"]
    assert keys["tags"] == ["owner", "stage"]
    assert keys["experiments"] == ["eval", "train"]
    assert "a.b" in key_names(store)["params"]


def test_a_child_whose_parent_is_in_another_experiment_is_top_level(tmp_path) -> None:
    # Given runs made inside a notebook's run (nbtrack run) that sits in another experiment
    import nbtrack

    opts = {"store": tmp_path / "s", "log_system_metrics": False}
    with nbtrack.start_run(name="notebook", experiment="notebooks", **opts):
        with nbtrack.start_run(name="fit", experiment="sweep", **opts):
            nbtrack.log_metric("acc", 0.9)
    st = Store(str(tmp_path / "s"))
    # Then the Runs view of their experiment lists them, filtered or not
    for text in ("", "metrics.acc > 0.5"):
        assert page_names(table_page(st, filter_string=text, experiment="sweep")) == ["fit"]
    # and of every experiment, folds them under the notebook's run
    assert page_names(table_page(st)) == ["notebook"]
    assert table_page(st)["runs"][0]["children"] == 1
    # which, in its own experiment, has no child to unfold there
    assert table_page(st, experiment="notebooks")["runs"][0]["children"] == 0

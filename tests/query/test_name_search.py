"""Plain words in a filter search run names (as MLflow's and W&B's search boxes do), through the
one path every view takes: the parser, ``search_run_ids``/``search_runs`` and ``nbtrack runs``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import run_cli
from search_fixtures import fill, names

from nbtrack.errors import QueryError
from nbtrack.query import parse
from nbtrack.query.search import search_run_ids, search_runs
from nbtrack.store import Store


@pytest.fixture(scope="module")
def store_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("names") / "store"
    store = Store(str(path))
    fill(store)  # rf-small, xgb-big, rf-eval, Running one (and a deleted run)
    store.close()
    return path


@pytest.fixture(scope="module")
def store(store_path: Path) -> Store:
    return Store(str(store_path))


def found(store: Store, text: str) -> set[str]:
    ids, _ = search_run_ids(store, text)
    return set(names(store, ids))


@pytest.mark.parametrize(
    "text, expected",
    [
        ("rf", {"rf-small", "rf-eval"}),
        ("RF", {"rf-small", "rf-eval"}),  # ignoring case
        ("running", {"Running one"}),
        ("rf small", {"rf-small"}),  # every word, in any order
        ("small rf", {"rf-small"}),
        ("rf-eval", {"rf-eval"}),  # a hyphenated name is one word
        ("'running one'", {"Running one"}),  # a quoted phrase as it is
        ('"g o"', {"Running one"}),
        ("'ng one' xgb", set()),
        ("big", {"xgb-big"}),
        ("nothing-like-it", set()),
        ("'%'", set()),  # LIKE's wildcards are plain characters here
        ("'rf_small'", set()),
        ("rf and metrics.acc > 0.9", {"rf-small"}),
        ("metrics.acc > 0.9 AND rf", {"rf-small"}),
        ("rf or xgb", {"rf-small", "rf-eval", "xgb-big"}),
        ("not rf", {"xgb-big", "Running one"}),
        ("(rf or big) and params.lr > 0.001", {"rf-small", "xgb-big"}),
        ("name", set()),  # an attribute's name alone is a word to search
        ("name = 'rf-eval'", {"rf-eval"}),  # and the attribute when an operator follows
    ],
)
def test_plain_words_search_run_names(store: Store, text: str, expected: set[str]) -> None:
    assert found(store, text) == expected


def test_deleted_runs_are_not_found_by_name(store: Store) -> None:
    assert found(store, "deleted") == set()


def test_search_runs_takes_a_name_search(store_path: Path) -> None:
    df = search_runs("rf", store=str(store_path))
    assert sorted(df["run_name"]) == ["rf-eval", "rf-small"]


def test_nbtrack_runs_filter_takes_a_name_search(store_path: Path) -> None:
    res = run_cli(
        "runs", "--filter", "small", "--format", "json", env={"NBTRACK_STORE": str(store_path)}
    )
    assert res.returncode == 0, res.stderr
    assert [r["name"] for r in json.loads(res.stdout)["runs"]] == ["rf-small"]


@pytest.mark.parametrize(
    "text, column, fragments",
    [
        # a word followed by an operator is still a column, with its errors
        ("acc > 0.9", 1, ["unknown identifier 'acc'", "metrics.acc"]),
        ("0.9 < metrics.acc", 1, ["put the identifier on the left"]),
        ("'rf' = params.model", 1, ["expected an identifier"]),
        # a word after a complete condition needs AND
        ("metrics.acc > 0.9 rf", 19, ["unexpected 'rf'", "AND or OR"]),
        ("rf metrics.acc > 0.9", 4, ["unexpected 'metrics.acc'", "AND or OR"]),
        # a dotted word reads as a key: quoting it searches names
        ("resnet.v2", 1, ["unknown identifier 'resnet.v2'", "quote it: 'resnet.v2'"]),
        ("rf and", 7, ["missing a condition after 'and'"]),
    ],
)
def test_what_is_not_a_name_search_stays_an_error(
    text: str, column: int, fragments: list[str]
) -> None:
    with pytest.raises(QueryError) as info:
        parse(text)
    assert info.value.column == column, str(info.value)
    for fragment in fragments:
        assert fragment in str(info.value)

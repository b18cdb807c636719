"""The search API: ordering, paging, experiments, the runs DataFrame, one run and its history."""

from __future__ import annotations

import math

import pandas as pd
import pytest
import sqlalchemy
from search_fixtures import fill, names, run_id

from nbtrack.errors import NotFoundError, QueryError, ValidationError
from nbtrack.query.search import get_metric_history, get_run, search_run_ids, search_runs
from nbtrack.store import Store


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Store:
    st = Store(str(tmp_path_factory.mktemp("search") / "store"))
    fill(st)
    return st


def ordered(store: Store, order_by: list[str] | None, text: str | None = None) -> list[str]:
    ids, _ = search_run_ids(store, text, order_by=order_by)
    return names(store, ids)


@pytest.mark.parametrize(
    "order_by, expected",
    [
        (None, ["rf-eval", "rf-small", "Running one", "xgb-big"]),  # newest first
        (["attributes.start_time DESC"], ["rf-eval", "rf-small", "Running one", "xgb-big"]),
        (["start_time ASC"], ["xgb-big", "Running one", "rf-small", "rf-eval"]),
        (
            ["metrics.acc DESC"],
            ["rf-small", "xgb-big", "Running one", "rf-eval"],
        ),  # missing goes last
        (
            ["metrics.acc"],
            ["Running one", "xgb-big", "rf-small", "rf-eval"],
        ),  # ... in both directions
        (["MAX(metrics.acc) DESC"], ["xgb-big", "rf-small", "Running one", "rf-eval"]),
        (
            ["MIN(metrics.loss) ASC"],
            ["xgb-big", "rf-small", "rf-eval", "Running one"],
        ),  # NaN-only: last
        (
            ["params.lr"],
            ["Running one", "rf-small", "xgb-big", "rf-eval"],
        ),  # numbers by value, then text
        (["params.lr DESC"], ["xgb-big", "rf-small", "Running one", "rf-eval"]),
        (["params.model", "metrics.acc DESC"], ["Running one", "rf-small", "rf-eval", "xgb-big"]),
        (["tags.stage DESC"], ["Running one", "rf-small", "xgb-big", "rf-eval"]),
        (
            ["attributes.experiment", "attributes.run_name DESC"],
            ["rf-eval", "Running one", "xgb-big", "rf-small"],
        ),
        (["attributes.end_time DESC"], ["rf-eval", "rf-small", "xgb-big", "Running one"]),
        (["duration DESC"], ["xgb-big", "rf-small", "rf-eval", "Running one"]),
    ],
)
def test_order_by_any_identifier_with_missing_values_last(
    store: Store, order_by: list[str] | None, expected: list[str]
) -> None:
    assert ordered(store, order_by) == expected


def test_ties_go_newest_first_then_by_run_id_as_in_mlflow(store: Store, tmp_path) -> None:
    newest_first, _ = search_run_ids(store, None)
    for order in (["params.missing DESC"], ["params.missing"], ["metrics.missing"]):
        ids, _ = search_run_ids(store, None, order_by=order)
        assert ids == newest_first  # whatever the direction of the key
    ids, _ = search_run_ids(store, None, order_by=["tags.stage DESC"])
    assert names(store, ids) == ["Running one", "rf-small", "xgb-big", "rf-eval"]
    twins = Store(str(tmp_path / "twins"))  # equal start times: run id ascending
    for n in (7, 3, 5):
        row = {"id": run_id(n), "name": f"t{n}", "status": "finished", "start_time": 1.0e9}
        twins.create_run(row, "e", {}, {})
    for order in (None, ["attributes.start_time ASC"], ["params.x DESC"]):
        ids, _ = search_run_ids(twins, None, order_by=order)
        assert ids == [run_id(3), run_id(5), run_id(7)]


def test_a_nan_metric_sorts_after_numbers_and_before_missing_in_both_directions(
    tmp_path,
) -> None:
    import nbtrack

    values = {"one": 1.0, "nan": float("nan"), "none": None, "two": 2.0}
    for name, v in values.items():
        with nbtrack.start_run(name=name, store=str(tmp_path), log_system_metrics=False) as run:
            run.log_metric("other", 0)
            if v is not None:
                run.log_metric("acc", v)
    st = Store(str(tmp_path))
    df = search_runs(store=st)
    by = dict(zip(df["run_id"], df["run_name"], strict=True))
    for order, expected in (
        (["metrics.acc"], ["one", "two", "nan", "none"]),
        (["metrics.acc DESC"], ["two", "one", "nan", "none"]),
        (["metrics.other", "metrics.acc"], ["one", "two", "nan", "none"]),
        (["metrics.other", "metrics.acc DESC"], ["two", "one", "nan", "none"]),
    ):
        ids, _ = search_run_ids(st, None, order_by=order)
        assert [by[i] for i in ids] == expected, order


def test_order_by_errors_point_at_the_item(store: Store) -> None:
    with pytest.raises(QueryError, match="did you mean 'metrics.acc'"):
        search_run_ids(store, None, order_by=["metrc.acc DESC"])
    with pytest.raises(QueryError, match="ASC or DESC"):
        search_run_ids(store, None, order_by=["metrics.acc DOWN"])
    with pytest.raises(QueryError, match="cannot order by cells.source"):
        search_run_ids(store, None, order_by=["cells.source"])
    with pytest.raises(QueryError, match="names metrics.acc twice"):
        search_run_ids(store, None, order_by=["metrics.acc", "metrics.acc DESC"])
    with pytest.raises(QueryError, match="ends with a space"):
        search_run_ids(store, None, order_by=["metrics.acc "])


def test_pages_cover_every_run_once_in_order(store: Store) -> None:
    everything, token = search_run_ids(store, None, order_by=["metrics.acc DESC"])
    assert token is None
    seen, token = [], None
    while True:
        page, token = search_run_ids(
            store, None, order_by=["metrics.acc DESC"], max_results=3, page_token=token
        )
        seen += page
        if token is None:
            break
    assert seen == everything
    page, token = search_run_ids(store, None, max_results=4)
    assert len(page) == 4 and token is None


def test_a_page_token_only_fits_its_own_search(store: Store) -> None:
    _, token = search_run_ids(store, "params.model = 'rf' OR metrics.acc > 0", max_results=1)
    assert token
    with pytest.raises(ValidationError, match="different search"):
        search_run_ids(store, "params.model = 'xgb'", max_results=1, page_token=token)
    with pytest.raises(ValidationError, match="invalid page_token"):
        search_run_ids(store, None, page_token="not-a-token")
    with pytest.raises(ValidationError, match="max_results"):
        search_run_ids(store, None, max_results=0)


def test_experiment_names_restrict_the_search(store: Store) -> None:
    ids, _ = search_run_ids(store, None, experiment_names=["eval"])
    assert set(names(store, ids)) == {"rf-eval", "Running one"}
    ids, _ = search_run_ids(store, "params.model = 'rf'", experiment_names=["train", "eval"])
    assert set(names(store, ids)) == {"rf-small", "rf-eval"}
    with pytest.raises(NotFoundError, match="did you mean 'train'"):
        search_run_ids(store, None, experiment_names=["trian"])


def test_search_runs_frame_has_run_columns_then_params_metrics_tags(store: Store) -> None:
    df = search_runs(store=store)
    assert list(df.columns) == [
        "run_id",
        "run_name",
        "experiment",
        "status",
        "start_time",
        "end_time",
        "duration",
        "user",
        "parent_run_id",
        "params.a.b",
        "params.lr",
        "params.model",
        "metrics.acc",
        "metrics.loss",
        "metrics.val acc",
        "tags.owner",
        "tags.stage",
    ]
    assert list(df["run_name"]) == ["rf-eval", "rf-small", "Running one", "xgb-big"]
    assert str(df["start_time"].dt.tz) == "UTC"
    first = df.set_index("run_name").loc["rf-small"]
    assert first["start_time"] == pd.Timestamp("2026-11-23T10:00:00", tz="UTC")
    assert first["duration"] == 30.0
    assert (
        first["metrics.acc"] == 0.91
        and first["params.lr"] == "0.01"
        and first["tags.owner"] == "anna"
    )
    assert (
        first["experiment"] == "train" and first["status"] == "finished" and first["user"] == "anna"
    )
    running = df.set_index("run_name").loc["Running one"]
    assert pd.isna(running["end_time"]) and math.isnan(running["duration"])
    assert math.isnan(running["metrics.loss"])  # logged NaN
    assert pd.isna(running["params.a.b"]) and math.isnan(
        df.set_index("run_name").loc["rf-eval", "metrics.acc"]
    )
    text = pd.Series(["x"]).dtype  # pandas' own dtype for text: str in pandas 3, object before
    assert df["params.model"].dtype == df["tags.owner"].dtype == df["run_name"].dtype == text
    assert df.set_index("run_name").loc["xgb-big", "parent_run_id"] == run_id(1)
    assert df.attrs["next_page_token"] is None


def test_search_runs_filters_orders_and_pages(store: Store) -> None:
    df = search_runs(
        "params.model = 'rf' OR params.model = 'xgb'",
        order_by=["metrics.acc DESC"],
        max_results=2,
        store=store,
    )
    assert list(df["run_name"]) == ["rf-small", "xgb-big"]
    token = df.attrs["next_page_token"]
    rest = search_runs(
        "params.model = 'rf' OR params.model = 'xgb'",
        order_by=["metrics.acc DESC"],
        max_results=2,
        page_token=token,
        store=store,
    )
    assert list(rest["run_name"]) == ["rf-eval"] and rest.attrs["next_page_token"] is None
    assert list(search_runs(experiment_names=["eval"], store=store)["run_name"]) == [
        "rf-eval",
        "Running one",
    ]


def test_search_runs_with_no_match_is_an_empty_frame_with_the_run_columns(store: Store) -> None:
    df = search_runs("params.model = 'nothing'", store=store)
    assert len(df) == 0
    assert list(df.columns)[:9] == [
        "run_id",
        "run_name",
        "experiment",
        "status",
        "start_time",
        "end_time",
        "duration",
        "user",
        "parent_run_id",
    ]


def test_search_runs_uses_the_default_store(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NBTRACK_STORE", store.root)
    assert len(search_runs()) == 4


def test_get_run_returns_the_full_summary(store: Store) -> None:
    run = get_run(run_id(2)[:6], store=store)
    assert run["id"] == run_id(2) and run["experiment"] == "train" and run["name"] == "xgb-big"
    assert run["params"] == {"model": "xgb", "lr": "0.1"} and run["tags"]["stage"] == "dev"
    assert run["metrics"]["acc"] == 0.8
    assert (
        run["metric_summary"]["acc"]["max"] == 0.95 and run["metric_summary"]["loss"]["min"] == 0.15
    )
    with pytest.raises(NotFoundError):
        get_run("ffff", store=store)


def test_get_metric_history_lists_every_step(store: Store) -> None:
    df = get_metric_history(run_id(1), "acc", store=store)
    assert list(df.columns) == ["step", "value", "timestamp"]
    assert list(df["step"]) == [0, 1, 2] and list(df["value"]) == [0.5, 0.7, 0.91]
    assert df["timestamp"].iloc[0] == pd.Timestamp("2026-11-23T10:00:00", tz="UTC")
    with pytest.raises(NotFoundError, match="no metric 'nope'"):
        get_metric_history(run_id(1), "nope", store=store)


def test_metric_order_pages_ties_nan_and_missing_keys_each_once(tmp_path) -> None:
    """Runs ordered by a metric come from its index page by page: equal values in a fixed
    order, NaN and missing values after every number, no run on two pages."""
    import nbtrack

    store_dir = tmp_path / "store"
    values = [1.0, 1.0, 1.0, 2.0, float("nan"), None, None, 0.5]
    made = {}
    for i, v in enumerate(values):
        with nbtrack.start_run(name=f"r{i}", store=str(store_dir), log_system_metrics=False) as run:
            run.log_metric("other", i)
            if v is not None:
                run.log_metric("acc", v)
        made[run.id] = v
    store = Store(str(store_dir))
    for order in (["metrics.acc"], ["metrics.acc DESC"]):
        everything, _ = search_run_ids(store, None, order_by=order)
        shown = [made[i] for i in everything]
        numbers = [v for v in shown if v is not None and not math.isnan(v)]
        assert numbers == sorted(numbers, reverse="DESC" in order[0])
        assert shown[len(numbers) :] and all(
            v is None or math.isnan(v) for v in shown[len(numbers) :]
        )
        for size in (1, 3, 5):
            seen, token = [], None
            while True:
                page, token = search_run_ids(
                    store, None, order_by=order, max_results=size, page_token=token
                )
                seen += page
                if token is None:
                    break
            assert seen == everything
    filtered, _ = search_run_ids(
        store, "metrics.acc >= 1 AND metrics.other < 7", order_by=["metrics.acc DESC"]
    )
    assert [made[i] for i in filtered] == [2.0, 1.0, 1.0, 1.0]
    assert search_runs("metrics.acc >= 1", order_by=["metrics.acc"], store=store)[
        "metrics.acc"
    ].tolist() == [1.0, 1.0, 1.0, 2.0]


def test_an_ended_run_keeps_its_summary_for_whole_table_reads(tmp_path) -> None:
    import json
    import sqlite3

    import nbtrack

    store_dir = tmp_path / "store"
    with nbtrack.start_run(
        name="short", store=str(store_dir), params={"lr": 0.1}, log_system_metrics=False
    ):
        pass  # created already ended, in one transaction
    with nbtrack.start_run(
        name="long", store=str(store_dir), tags={"t": "x"}, log_system_metrics=False
    ) as run:
        run.log_metric("acc", 1 / 3)
        run.flush()  # created while running, ended later
    db = sqlite3.connect(store_dir / "nbtrack.db")
    summaries = {
        name: json.loads(doc) for name, doc in db.execute("SELECT name, summary FROM runs")
    }
    assert summaries == {
        "short": {"p": {"lr": "0.1"}, "m": {}, "t": {}},
        "long": {"p": {}, "m": {"acc": 1 / 3}, "t": {"t": "x"}},
    }


def test_rare_and_common_conditions_find_the_same_runs_whichever_way_the_plan_reads_them(
    tmp_path,
) -> None:
    """Before a filtered search on SQLite the plan samples how often each condition holds:
    it walks the order's index for common conditions and starts from a rare condition's index
    otherwise. Both ways return exactly the runs, in the order, that Python computes."""
    import random

    import nbtrack
    from nbtrack.query import plan_search

    rnd = random.Random(3)
    made = []
    for i in range(600):
        params = {"model": rnd.choice(["rf", "xgb", "lr"]), "seed": str(i % 300)}
        tags = {"stage": rnd.choice(["prod", "prod-x", "dev"])}
        with nbtrack.start_run(
            name=f"r{i}", store=str(tmp_path), params=params, tags=tags, log_system_metrics=False
        ) as run:
            acc = None if i % 50 == 0 else round(rnd.random(), 3)
            if acc is not None:
                run.log_metric("acc", acc)
        made.append({"id": run.id, "i": i, "acc": acc, **params, **tags})
    store = Store(str(tmp_path))

    def by_acc(runs: list[dict]) -> list[str]:
        # ties and runs without acc: newest first (runs were made in order of i), as MLflow
        having = sorted(
            (r for r in runs if r["acc"] is not None), key=lambda r: (-r["acc"], -r["i"])
        )
        return [r["id"] for r in having] + [
            r["id"] for r in sorted(runs, key=lambda r: -r["i"]) if r["acc"] is None
        ]

    cases = [
        ("params.seed = '7'", lambda r: r["seed"] == "7"),
        (
            "params.model = 'rf' AND tags.stage LIKE 'prod%'",
            lambda r: r["model"] == "rf" and r["stage"].startswith("prod"),
        ),
        (
            "params.model IN ('rf', 'lr') AND metrics.acc > 0.3",
            lambda r: r["model"] in ("rf", "lr") and (r["acc"] or 0) > 0.3,
        ),
        (
            "params.seed IN ('7', '8') AND tags.stage = 'dev'",
            lambda r: r["seed"] in ("7", "8") and r["stage"] == "dev",
        ),
    ]
    for text, keep in cases:
        runs = [r for r in made if keep(r)]
        for limit in (3, 40, None):
            found, _ = search_run_ids(store, text, order_by=["metrics.acc DESC"], max_results=limit)
            assert found == by_acc(runs)[:limit], (text, limit)
            newest, _ = search_run_ids(store, text, max_results=limit)
            assert newest == [r["id"] for r in reversed(runs)][:limit], (text, limit)

    def first_table(text: str, limit: int) -> str:
        head, _ = store.read(
            lambda conn: plan_search(text, ["metrics.acc DESC"]).queries(conn, limit)
        )
        return str(head.compile()).split("FROM", 1)[1].split()[0]

    assert (
        first_table("params.model = 'rf' AND tags.stage LIKE 'prod%'", 3) == "latest_metrics"
    )  # walk acc
    assert (
        first_table("params.model = 'rf' AND params.seed = '7'", 3) == "params"
    )  # start from the seed


def test_a_filters_sampled_odds_are_reused_by_its_next_searches_and_never_change_the_answer(
    tmp_path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A filtered search samples runs to choose its join order. The next page, a refresh or a
    new run's search with the same filter reuses those odds for ``plan.ODDS_SECONDS``; another
    filter or another store samples its own. Odds only choose the plan: runs added since
    are found all the same."""
    import nbtrack
    from nbtrack.query import plan as plan_module

    name_of: dict[str, str] = {}

    def make(where: str, n: int, first: int = 0) -> None:
        for i in range(first, first + n):
            with nbtrack.start_run(
                name=f"r{i}",
                store=where,
                params={"model": ["rf", "xgb"][i % 2]},
                tags={"stage": "prod" if i % 3 else "dev"},
                log_system_metrics=False,
            ) as run:
                run.log_metric("acc", i / 100)
            name_of[run.id] = f"r{i}"

    make(str(tmp_path / "a"), 30)
    make(str(tmp_path / "b"), 4)
    a, b = Store(str(tmp_path / "a")), Store(str(tmp_path / "b"))
    sampled: list[str] = []
    for st in (a, b):

        @sqlalchemy.event.listens_for(st.engine, "before_cursor_execute")
        def count(conn, cursor, statement, *args, url=str(st.engine.url)) -> None:
            if " sample" in statement:
                sampled.append(url)

    text = "params.model = 'rf' AND tags.stage = 'prod'"
    rf_prod = {f"r{i}" for i in range(30) if i % 2 == 0 and i % 3}
    first, token = search_run_ids(a, text, order_by=["metrics.acc DESC"], max_results=5)
    rest, _ = search_run_ids(
        a, text, order_by=["metrics.acc DESC"], max_results=100, page_token=token
    )
    assert {name_of[i] for i in first + rest} == rf_prod
    assert sampled == [str(a.engine.url)]  # the second page reused the first page's odds
    search_run_ids(b, text)
    search_run_ids(a, "params.model = 'xgb' AND tags.stage = 'prod'")
    assert len(sampled) == 3  # another store, another filter: sampled anew

    make(str(tmp_path / "a"), 6, first=30)  # new runs, odds kept: found all the same
    found, _ = search_run_ids(a, text, order_by=["metrics.acc DESC"])
    assert [name_of[i] for i in found] == [
        f"r{i}" for i in range(35, -1, -1) if i % 2 == 0 and i % 3
    ]
    assert len(sampled) == 3
    monkeypatch.setattr(plan_module, "ODDS_SECONDS", 0.0)  # stale: sampled again
    assert search_run_ids(a, text, order_by=["metrics.acc DESC"])[0] == found
    assert len(sampled) == 4

"""The filter language held against a real MLflow: the same runs in both stores, the same
filters and orderings sent to ``mlflow.search_runs`` and ``nbtrack.search_runs``.

The runs are logged through nbtrack's API; the MLflow runs are made with the same names,
params, tags, metric histories, statuses and times (nbtrack's times in whole milliseconds,
``query.jsonsafe.millis``). A filter may name a run's own id, artifact URI or times, each
store's own: ``{id:alpha}``, ``{ID:alpha}`` (upper case), ``{uri:alpha}``, ``{start:alpha}``,
``{end:alpha}``. Four tables: cases both accept and answer alike (in order), cases both
reject, nbtrack's documented extensions (MLflow rejects, nbtrack accepts) and the documented
differences (both accept, the answers differ); docs/query-language.md lists the last two.
"""

from __future__ import annotations

import math
import re
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

pytest.importorskip("mlflow")

import nbtrack  # noqa: E402
from nbtrack.errors import QueryError  # noqa: E402
from nbtrack.query.jsonsafe import millis  # noqa: E402
from nbtrack.query.search import get_run, search_runs  # noqa: E402
from nbtrack.store import Store  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore::FutureWarning")

NAN, INF = float("nan"), float("inf")
# name, status, params, tags, metric histories (the last value is the latest), parent
RUNS: list[tuple[str, str, dict[str, str], dict[str, str], dict[str, list[float]], str | None]] = [
    (
        "alpha",
        "finished",
        {"model": "rf", "lr": "0.01", "depth": "5", "p 1": "x y"},
        {"owner": "anna", "stage": "prod", "t.dot": "v"},
        {"acc": [0.5, 0.9], "loss": [0.6, 0.3], "m 1": [1.0], "x": [NAN]},
        None,
    ),
    (
        "epsilon",
        "finished",
        {"model": "mlp", "lr": "0.1"},
        {"owner": "anna", "stage": "prod"},
        {"acc": [0.95], "loss": [0.05], "m 1": [2.0], "x": [INF]},
        "alpha",
    ),
    (
        "beta",
        "finished",
        {"model": "xgb", "lr": "0.1", "depth": "10"},
        {"owner": "Andre", "stage": "dev"},
        {"acc": [0.8], "loss": [NAN], "x": [-INF]},
        None,
    ),
    (
        "gamma",
        "failed",
        {"model": "rf", "lr": "1e-3"},
        {"owner": "bob"},
        {"acc": [NAN], "loss": [0.5], "x": [-1000.0]},
        None,
    ),
    (
        "delta",
        "killed",
        {"model": "RF", "depth": "5"},
        {"stage": "prod-x"},
        {"loss": [0.1], "x": [0.0]},
        None,
    ),
    ("zeta", "finished", {}, {}, {"acc": [-1.0], "loss": [INF], "x": [1000.0]}, None),
    (
        "Theta",
        "finished",
        {"model": "rf", "lr": "0.01", "note": "L'Hosp"},
        {},
        {"acc": [0.7, 0.9]},
        None,
    ),
    ("iota", "finished", {"model": "xgb"}, {"owner": "chen", "stage": "dev"}, {"acc": [0.8]}, None),
    ("eta", "running", {"model": "xgb"}, {"owner": "chen"}, {"acc": [0.8], "loss": [0.2]}, None),
]
EXPERIMENT = "parity"


@dataclass
class Side:
    """One store: how to search it and each run's id, artifact URI and times in ms."""

    ids: dict[str, str] = field(default_factory=dict)
    uris: dict[str, str] = field(default_factory=dict)
    start: dict[str, int] = field(default_factory=dict)
    end: dict[str, int | None] = field(default_factory=dict)

    def fill(self, text: str) -> str:
        values = {"id": self.ids, "uri": self.uris, "start": self.start, "end": self.end}

        def one(m: re.Match[str]) -> str:
            what, name = m.group(1), m.group(2)
            return (
                str(values[what.lower()][name]).upper() if what == "ID" else str(values[what][name])
            )

        return re.sub(r"\{(id|ID|uri|start|end):(\w+)\}", one, text)


@dataclass
class Stores:
    nbtrack: Store
    nb: Side
    ml: Side
    mlflow_uri: str
    experiment_id: str

    def nbtrack_names(
        self, text: str, order_by: list[str] | None, max_results: int | None
    ) -> list[str]:
        df = search_runs(
            self.nb.fill(text),
            experiment_names=[EXPERIMENT],
            order_by=order_by,
            max_results=max_results,
            store=self.nbtrack,
        )
        return list(df["run_name"])

    def mlflow_names(
        self, text: str, order_by: list[str] | None, max_results: int | None
    ) -> list[str]:
        import mlflow

        before = mlflow.get_tracking_uri()
        mlflow.set_tracking_uri(self.mlflow_uri)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                df = mlflow.search_runs(
                    [self.experiment_id],
                    filter_string=self.ml.fill(text),
                    order_by=order_by,
                    max_results=max_results if max_results is not None else 100_000,
                )
        finally:
            mlflow.set_tracking_uri(before)
        return list(df["tags.mlflow.runName"]) if len(df) else []


@pytest.fixture(scope="module")
def stores(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stores]:
    from mlflow import MlflowClient
    from mlflow.entities import Metric, Param, RunTag

    root = tmp_path_factory.mktemp("parity")
    st = Store(str(root / "nbtrack"))
    made: dict[str, Any] = {}
    running = None
    for name, status, params, tags, metrics, parent in RUNS:
        time.sleep(0.003)  # distinct times in whole milliseconds, so both stores order alike
        if parent is not None:
            continue  # started inside its parent, below
        run = nbtrack.start_run(
            name,
            EXPERIMENT,
            params=params,
            tags=tags,
            store=st,
            log_system_metrics=False,
            nested=False,
        )
        _log(run, metrics)
        if name == "alpha":
            for c_name, _, c_params, c_tags, c_metrics, _ in (r for r in RUNS if r[5] == name):
                time.sleep(0.003)
                with nbtrack.start_run(
                    c_name,
                    EXPERIMENT,
                    params=c_params,
                    tags=c_tags,
                    store=st,
                    log_system_metrics=False,
                ) as child:
                    _log(child, c_metrics)
                made[c_name] = child.id
        if status == "running":
            run.flush()
            running = run
        else:
            run.end(status)
        made[name] = run.id

    nb = Side()
    for name, rid in made.items():
        row = get_run(rid, store=st)
        nb.ids[name] = rid
        nb.uris[name] = f"runs:/{rid}"
        nb.start[name] = millis(row["start_time"])
        nb.end[name] = millis(row["end_time"]) if row["end_time"] is not None else None

    uri = f"sqlite:///{root / 'mlflow.db'}"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        client = MlflowClient(tracking_uri=uri)
        exp = client.create_experiment(EXPERIMENT, artifact_location=str(root / "mlartifacts"))
        ml = Side(start=nb.start, end=nb.end)
        for name, status, params, tags, metrics, parent in sorted(
            RUNS, key=lambda r: nb.start[r[0]]
        ):
            extra = {"mlflow.parentRunId": ml.ids[parent]} if parent else {}
            r = client.create_run(exp, start_time=nb.start[name], tags=extra, run_name=name)
            rid = r.info.run_id
            ml.ids[name], ml.uris[name] = rid, r.info.artifact_uri
            points = [
                Metric(key, value, nb.start[name] + step, step)
                for key, values in metrics.items()
                for step, value in enumerate(values)
            ]
            client.log_batch(
                rid,
                metrics=points,
                params=[Param(k, v) for k, v in params.items()],
                tags=[RunTag(k, v) for k, v in tags.items()],
            )
            if status != "running":
                client.set_terminated(rid, status.upper(), end_time=nb.end[name])
    yield Stores(st, nb, ml, uri, exp)
    if running is not None:
        running.end("finished")


def _log(run: Any, metrics: dict[str, list[float]]) -> None:
    for key, values in metrics.items():
        for step, value in enumerate(values):
            run.log_metric(key, value, step=step)


# -- both accept, and answer alike --------------------------------------------------------------
VALID_FILTERS = [
    "",
    # metrics: numbers only; a NaN metric matches != and nothing else
    "metrics.acc > 0.85",
    "metrics.acc >= 0.9",
    "metrics.acc < 0.9",
    "metrics.acc <= 0.8",
    "metrics.acc = 0.9",
    "metrics.acc = 0.8",
    "metrics.acc != 0.9",
    "metrics.acc != 0.8",
    "metrics.acc > 0",
    "metrics.acc < 100",
    "metrics.acc = 0",
    "metrics.acc > -1",
    "metrics.acc >= -1",
    "metrics.acc = -1",
    "metrics.acc != -1.0",
    "metrics.acc > .5",
    "metrics.acc > 1e-1",
    "metrics.acc >= -1e400",
    "metric.acc > 0.5",
    "metrics.loss > 1e308",
    "metrics.loss < 1e308",
    "metrics.loss >= 0",
    "metrics.loss != 0.3",
    "metrics.loss = 0.05",
    "metrics.`m 1` >= 1",
    'metrics."m 1" = 2',
    "metrics.`m 1` != 1",
    "metrics.nokey > 0",
    "metrics.nokey != 0",
    "`metrics`.acc > 0.85",
    "metrics.acc > 0.5 AND metrics.loss < 0.4",
    "metric.acc>=0.9",
    "metrics.x > 0",
    "metrics.x < 0",
    "metrics.x != 0",
    "metrics.x >= -1e308",
    "metrics.x <= 1e308",
    "metrics.XYZ = 3",
    'metrics."X//Y#$$@&Z" = 3',
    'metrics."accuracy.2.0" > 5',
    "metrics.`spacey name` > 5",
    "`metric`.acc >= 0.1",
    "metrics.acc > 0.5 and metrics.loss < 0.4",
    # params: text
    "params.model = 'rf'",
    "params.model != 'rf'",
    "params.model = 'RF'",
    'params.model = "rf"',
    "params.model LIKE 'r%'",
    "params.model LIKE '%f'",
    "params.model LIKE 'R%'",
    "params.model LIKE '_f'",
    "params.model LIKE '%'",
    "params.model like 'x%'",
    "params.model ILIKE 'r%'",
    "params.model ILIKE '%F'",
    "params.model ilike 'X_B'",
    "params.lr = '0.01'",
    "params.lr != '0.1'",
    "params.lr = '1e-3'",
    "param.depth = '5'",
    "parameter.depth = '10'",
    "parameters.model = 'mlp'",
    "params.`p 1` = 'x y'",
    "params.\"p 1\" LIKE 'x%'",
    "params.nokey = 'x'",
    "params.nokey != 'x'",
    "params.model IS NULL",
    "params.model IS NOT NULL",
    "params.depth IS NULL",
    "params.depth is not null",
    "params.model != 'rf' AND params.model != 'xgb'",
    "params.model = 'rf' AND params.lr = '0.01'",
    "params.model!='rf'",
    'params."model"!="rf"',
    "`params`.model = 'xgb'",
    'params.note = "L\'Hosp"',
    'params."p.a.r.a.m" != "a"',
    "tags.noSuchTag IS NULL AND params.model = 'rf'",
    "`tags`.owner = 'bob'",
    'tags."t.a.g" = "a"',
    # tags: text
    "tags.owner = 'anna'",
    "tags.owner != 'anna'",
    "tags.owner LIKE 'an%'",
    "tags.owner ILIKE 'AN%'",
    "tags.owner LIKE '%a%'",
    "tags.stage LIKE 'prod%'",
    "tags.stage = 'prod'",
    "tag.stage != 'dev'",
    "tags.stage ILIKE '%X'",
    "tags.`t.dot` = 'v'",
    "tags.\"t.dot\" = 'v'",
    "tags.owner IS NULL",
    "tags.owner IS NOT NULL",
    "tags.stage IS NULL AND params.model IS NOT NULL",
    "tags.mlflow.runName = 'alpha'",
    "tags.`mlflow.runName` LIKE 'e%'",
    "tags.`mlflow.runName` ILIKE 't%'",
    "tags.mlflow.parentRunId = '{id:alpha}'",
    # attributes: status (any text), names (and their aliases), ids, artifact URIs
    "attributes.status = 'FINISHED'",
    "attributes.status = 'FAILED'",
    "attribute.status = 'KILLED'",
    "attr.status = 'RUNNING'",
    'run.status = "FINISHED"',
    "attribute.status = 'SCHEDULED'",
    "attributes.status != 'FINISHED'",
    "attribute.status != 'blah'",
    "attributes.status LIKE 'F%'",
    "attributes.status ILIKE 'f%'",
    "attributes.status ILIKE '%ED'",
    "status = 'FAILED'",
    "attributes.run_name = 'alpha'",
    "attributes.run_name != 'alpha'",
    "attributes.run_name LIKE 'e%'",
    "attributes.run_name LIKE 't%'",
    "attributes.run_name ILIKE 'T%'",
    "run_name = 'beta'",
    "attributes.`Run name` = 'alpha'",
    "attributes.`run name` LIKE '%a'",
    "attributes.`Run Name` != 'beta'",
    "attributes.\"Run name\" = 'gamma'",
    "attributes.run_id = '{id:alpha}'",
    "attributes.run_id != '{id:alpha}'",
    "attributes.run_id IN ('{id:alpha}', '{id:beta}')",
    "attributes.run_id NOT IN ('{id:alpha}', '{id:beta}')",
    "run_id IN ('{id:gamma}')",
    "attributes.run_id LIKE '{id:delta}'",
    "attributes.artifact_uri = '{uri:alpha}'",
    "attributes.artifact_uri != '{uri:alpha}'",
    "attributes.artifact_uri LIKE '%{id:alpha}%'",
    "attributes.artifact_uri ILIKE '%{ID:beta}%'",
    "attributes.artifact_uri LIKE '%'",
    # times: UNIX milliseconds, the run's own time matches = and is excluded by >
    "attributes.start_time = {start:alpha}",
    "attributes.start_time > {start:alpha}",
    "attributes.start_time >= {start:alpha}",
    "attributes.start_time < {start:beta}",
    "attributes.start_time <= {start:beta}",
    "attributes.start_time != {start:beta}",
    "attribute.start_time > {start:delta}",
    "attribute.end_time = {end:beta}",
    "attribute.end_time > {end:beta}",
    "attributes.end_time <= {end:gamma}",
    "attributes.end_time != {end:gamma}",
    "attributes.end_time >= 0",
    "attributes.created = {start:gamma}",
    "attributes.created > {start:gamma}",
    "attributes.Created < {start:gamma}",
    "created >= {start:zeta}",
    "attributes.start_time > 0",
    "attributes.start_time >= 1.7e12",
    "attributes.start_time = -5",
    "start_time < {start:eta} AND end_time > {end:alpha}",
    # mixed
    "metrics.acc > 0.5 AND params.model = 'rf' AND tags.owner = 'anna'",
    "params.model = 'xgb' AND attributes.status = 'FINISHED'",
    "tags.stage LIKE 'prod%' AND metrics.loss < 0.2",
    "attributes.run_name LIKE '%a' AND metrics.acc >= 0.8 AND params.model != 'mlp'",
    "metrics.acc = 0.8 AND tags.owner = 'chen' AND attributes.status != 'RUNNING'",
]


@pytest.mark.parametrize("text", VALID_FILTERS)
def test_filter_finds_what_mlflow_finds(stores: Stores, text: str) -> None:
    expected = stores.mlflow_names(text, None, None)
    assert stores.nbtrack_names(text, None, None) == expected


VALID_ORDERS: list[tuple[list[str], str]] = [
    ([], ""),
    (["metrics.acc"], ""),
    (["metrics.acc DESC"], ""),
    (["metrics.acc ASC"], ""),
    (["metrics.acc desc"], ""),
    (["metrics.acc  DESC"], ""),
    (["metric.acc"], ""),
    (["metrics.`acc` desc"], ""),
    (["metrics.loss"], ""),
    (["metrics.loss DESC"], ""),
    (["metrics.`m 1` DESC"], ""),
    (["params.model"], ""),
    (["params.model DESC"], ""),
    (["tags.owner"], ""),
    (["tags.owner DESC"], ""),
    (["tags.stage", "metrics.acc DESC"], ""),
    (["tags.stage DESC", "metrics.acc"], ""),
    (["attributes.start_time"], ""),
    (["attributes.start_time DESC"], ""),
    (["attribute.end_time"], ""),
    (["attribute.end_time DESC"], ""),
    (["created"], ""),
    (["attributes.created DESC"], ""),
    (["attributes.run_name"], ""),
    (["run_name DESC"], ""),
    (["attributes.status"], ""),
    (["attributes.status DESC"], ""),
    (["metrics.acc DESC", "params.model"], ""),
    (["params.model", "metrics.acc"], ""),
    (["params.model DESC", "metrics.loss DESC"], ""),
    (["tags.mlflow.runName"], ""),
    (["attributes.end_time", "metrics.loss DESC"], ""),
    (["metrics.acc", "attributes.start_time"], ""),
    (["params.nokey"], ""),
    (["metrics.nokey DESC"], ""),
    (["tags.noSuchTag"], ""),
    (["metrics.x asc"], ""),
    (["metrics.x desc"], ""),
    (['metrics."acc"  desc'], ""),
    (["params.model aSc", "attributes.status  ASC"], ""),
    (["params.model", "attributes.status DESC"], ""),
    (["params.`model` DESC", "attributes.status   DESC"], ""),
    (["tags.owner    DESC"], ""),
    (["metrics.acc DESC"], "params.model = 'xgb'"),
    (["metrics.acc"], "metrics.acc != 0.9"),
    (["metrics.loss DESC"], "tags.owner IS NOT NULL"),
    (["params.model"], "attributes.status != 'RUNNING'"),
    (["attributes.run_name DESC"], "metrics.acc > 0"),
]


@pytest.mark.parametrize("order_by, text", VALID_ORDERS)
def test_order_is_mlflows(stores: Stores, order_by: list[str], text: str) -> None:
    expected = stores.mlflow_names(text, order_by, None)
    assert stores.nbtrack_names(text, order_by, None) == expected


@pytest.mark.parametrize(
    "order_by, text, max_results",
    [
        ([], "", 3),
        (["metrics.acc DESC"], "", 4),
        (["metrics.acc"], "", 7),
        (["params.model"], "params.model != 'rf'", 2),
        (["tags.owner DESC"], "", 1),
    ],
)
def test_first_page_is_mlflows(
    stores: Stores, order_by: list[str], text: str, max_results: int
) -> None:
    expected = stores.mlflow_names(text, order_by, max_results)
    assert stores.nbtrack_names(text, order_by, max_results) == expected


# -- both reject ----------------------------------------------------------------------------------
INVALID_FILTERS = [
    # metrics take numbers and comparisons only
    "metrics.acc LIKE '0.9'",
    "metrics.acc ILIKE 'x'",
    "metrics.acc = 'x'",
    "metrics.acc > 'abc'",
    "metrics.acc != 'nan'",
    "metric.acc < '0.5'",
    "metrics.acc = NULL",
    "metrics.acc LIKE '%'",
    # no range comparison on text
    "params.model > 'a'",
    "params.model >= 'a'",
    "params.model < 'z'",
    "params.model <= 'z'",
    "params.lr > '0.01'",
    "tags.owner > 'a'",
    "tags.owner < 'b'",
    "tag.stage >= 'p'",
    "attributes.run_name > 'a'",
    "attributes.run_name <= 'z'",
    "run_name > 'a'",
    "attributes.status > 'A'",
    "attributes.status < 'Z'",
    "attributes.artifact_uri > 'a'",
    "attributes.run_id >= 'a'",
    # values of the wrong kind
    "params.model = rf",
    "params.model = NULL",
    "attributes.status = FINISHED",
    "attributes.status = 1",
    "attributes.run_name = 5",
    "attributes.artifact_uri = 1",
    "attributes.start_time = 'abc'",
    "attributes.end_time > 'yesterday'",
    "attributes.created = 'x'",
    "attributes.start_time LIKE '1%'",
    "attributes.end_time LIKE '%'",
    "attributes.created ILIKE 'x'",
    # unknown names
    "attributes.foo = 'x'",
    "attributes.startTime > 1",
    "foo.bar = 'x'",
    "metricss.acc > 1",
    "acc > 0.9",
    # syntax
    "metrics.acc >",
    "metrics.acc",
    "> 0.9",
    "metrics.acc = = 1",
    "metrics.acc => 0.9",
    "metrics.acc =< 0.9",
    "params.model = 'rf",
    "metrics.`acc > 1",
    "metrics.acc > 0.9abc",
    "metrics.acc > 0.9; DROP TABLE runs",
    "metrics.acc > 0.9 && params.model = 'rf'",
    "NOT",
    "metrics.acc IS 5",
    "attributes.run_id IN ()",
    "attributes.run_id IN 'x'",
    "params.model LIKEE 'r%'",
    "0.9 < metrics.acc",
    "metrics.acc > metrics.loss",
    # from MLflow's tests/utils/test_search_utils.py
    "metric.acc >= 0.94; metrics.rmse < 1",
    "m.acc >= 0.94",
    "p.model >= 'LR'",
    "attri.x != 1",
    "a.x != 1",
    "model >= 'LR'",
    "metrics.A > 0.1 NAND params.B = 'LR'",
    "`metrics.A > 0.1",
    "param`.A > 0.1",
    "`dummy.A > 0.1",
    "dummy`.A > 0.1",
    "attribute.start != 1",
    "attribute.experiment_id != 1",
    "attribute.lifecycle_stage = 'ACTIVE'",
    "attribute.name != 1",
    "attribute.time != 1",
    "attribute._status != 'RUNNING'",
    "attribute.status = true",
    "metric.model = 'LR'",
    "metric.model = '5'",
    "metrics.acc != metrics.acc",
    "1.0 > metrics.acc",
    "params.acc = LR",
    "tags.acc = LR",
    "params.acc = `LR`",
    "params.'acc = LR",
    "params.acc = LR'",
    "params.acc = \"LR'",
    "tags.acc = = 'LR'",
    "attribute.status IS 'RUNNING'",
    "params.acc LR !=",
    "params.acc LR",
    "metric.acc !=",
    "acc != 1.0",
    "foo is null",
    "1=1",
    "1==2",
    "metrics.abc ~ 1",
    "metrics.abc ~= 1",
    "params.abc ~ 'my-param-value'",
    "tags.abc <= 'my-tag-value'",
    "attributes.start_time ILIKE 1234",
]


@pytest.mark.parametrize("text", INVALID_FILTERS)
def test_filter_mlflow_rejects_is_rejected(stores: Stores, text: str) -> None:
    from mlflow.exceptions import MlflowException

    with pytest.raises(MlflowException):
        stores.mlflow_names(text, None, None)
    with pytest.raises(QueryError):
        stores.nbtrack_names(text, None, None)


INVALID_ORDERS = [
    ["metrics.acc "],
    [" metrics.acc"],
    ["metrics.acc", "metrics.acc DESC"],
    ["tags.owner ASC", "tag.owner DESC"],
    ["attributes.start_time", "created"],
    ["metrics.acc DOWN"],
    ["metrics.acc ASC DESC"],
    ["metrics.acc,"],
    ["metrics.`acc"],
    [""],
    ["foo.bar"],
    ["attributes.foo"],
    ["m.acc"],
    ["acc"],
    ["attri.x"],
    ["`metrics.A"],
    ["`metrics.A`"],
    ["attribute.start"],
    ["attribute.experiment_id"],
    ["metrics.A != 1"],
    ["params.my_param "],
    ["attribute.run_id ACS"],
    ["attribute.run_id decs"],
]


@pytest.mark.parametrize("order_by", INVALID_ORDERS)
def test_order_mlflow_rejects_is_rejected(stores: Stores, order_by: list[str]) -> None:
    from mlflow.exceptions import MlflowException

    with pytest.raises(MlflowException):
        stores.mlflow_names("", order_by, None)
    with pytest.raises(QueryError):
        stores.nbtrack_names("", order_by, None)


# -- nbtrack's documented extensions: MLflow rejects them, nbtrack answers ------------------------
EXTENSIONS: list[tuple[str, list[str] | None, set[str]]] = [
    ("metrics.acc > 0.9 OR params.model = 'mlp'", None, {"epsilon"}),
    ("(metrics.acc > 0.9)", None, {"epsilon"}),
    ("NOT params.model = 'rf'", None, {"epsilon", "beta", "delta", "zeta", "iota", "eta"}),
    ("params.model IN ('mlp', 'RF')", None, {"epsilon", "delta"}),
    ("params.model NOT IN ('rf', 'xgb')", None, {"epsilon", "delta"}),
    ("tags.owner IN ('chen')", None, {"iota", "eta"}),
    ("attributes.status IN ('KILLED', 'FAILED')", None, {"gamma", "delta"}),
    ("attributes.run_name IN ('alpha')", None, {"alpha"}),
    ("metrics.acc IS NULL", None, {"delta"}),
    ("attributes.end_time IS NULL", None, {"eta"}),
    ("params.lr > 0.005", None, {"alpha", "epsilon", "beta", "Theta"}),
    ("params.depth = 5", None, {"alpha", "delta"}),
    ("MIN(metrics.acc) >= 0.8", None, {"epsilon", "beta", "iota", "eta"}),
    ("MAX(metrics.loss) > 0.55", None, {"alpha", "zeta"}),
    ("metrics.acc IN (0.9, 0.95)", None, {"alpha", "epsilon", "Theta"}),
    ("metrics.acc == 0.95", None, {"epsilon"}),
    ("metrics.acc <> 0.8", None, {"alpha", "epsilon", "gamma", "zeta", "Theta"}),
    ("attributes.name = 'zeta'", None, {"zeta"}),
    (
        "attributes.experiment = 'parity' AND attributes.parent_run_id IS NOT NULL",
        None,
        {"epsilon"},
    ),
    ("attributes.start_time > '2000-01-01'", None, {name for name, *_ in RUNS}),
    ("attributes.duration < 0", None, set()),
    ("", ["MIN(metrics.acc)"], {name for name, *_ in RUNS}),
    ("", ["attributes.`Run name`"], {name for name, *_ in RUNS}),
    ("attributes.status IS NULL", None, set()),
    ("metrics.A > 0.1 AND (params.model = 'LR')", None, set()),
    ("params.acc = 5", None, set()),
    ("tags.acc = 5", None, set()),
    # plain words and strings search run names, ignoring case
    ("eta", None, {"beta", "zeta", "eta", "Theta"}),
    ("'ETA' AND metrics.acc > 0.5", None, {"beta", "eta", "Theta"}),
    ("theta OR alpha", None, {"Theta", "alpha"}),
]


@pytest.mark.parametrize("text, order_by, expected", EXTENSIONS)
def test_documented_extension_answers_where_mlflow_rejects(
    stores: Stores, text: str, order_by: list[str] | None, expected: set[str]
) -> None:
    from mlflow.exceptions import MlflowException

    with pytest.raises(MlflowException):
        stores.mlflow_names(text, order_by, None)
    assert set(stores.nbtrack_names(text, order_by, None)) == expected


# -- documented differences: both answer, differently --------------------------------------------
DIFFERENCES: list[tuple[str, list[str] | None, list[str]]] = [
    # status in any case: nbtrack's own tables show 'finished'
    ("attributes.status = 'failed'", None, ["gamma"]),
    ("attributes.status LIKE 'kill%'", None, ["delta"]),
    # params and tags that spell numbers sort as numbers, before other text
    ("params.depth IS NOT NULL", ["params.depth"], ["delta", "alpha", "beta"]),
    ("params.lr IS NOT NULL", ["params.lr DESC"], ["beta", "epsilon", "Theta", "alpha", "gamma"]),
]


@pytest.mark.parametrize("text, order_by, expected", DIFFERENCES)
def test_documented_difference(
    stores: Stores, text: str, order_by: list[str] | None, expected: list[str]
) -> None:
    assert stores.nbtrack_names(text, order_by, None) == expected
    assert stores.mlflow_names(text, order_by, None) != expected


def test_mlflow_quirks_nbtrack_rejects(stores: Stores) -> None:
    """MLflow's parser lets a missing, trailing or lone AND through; nbtrack says what is wrong."""
    for text in ("metrics.acc > 0.9 params.model = 'rf'", "metrics.acc > 0.9 and", "AND"):
        stores.mlflow_names(text, None, None)  # no error
        with pytest.raises(QueryError):
            stores.nbtrack_names(text, None, None)


def test_times_in_milliseconds_are_the_runs_own(stores: Stores) -> None:
    """A run's start time in ms as nbtrack reports it is the one MLflow got, and each run
    matches its own time exactly."""
    for name, *_ in RUNS:
        start = stores.nb.start[name]
        assert stores.nbtrack_names(f"attributes.start_time = {start}", None, None) == [name]
        assert name not in stores.nbtrack_names(f"attributes.start_time > {start}", None, None)
    df = search_runs(experiment_names=[EXPERIMENT], store=stores.nbtrack)
    for name, when in zip(df["run_name"], df["start_time"], strict=True):
        assert when.value // 1_000_000 == stores.nb.start[name]
    assert all(not math.isnan(v) for v in stores.nb.start.values())


def test_iso_times_in_json_are_the_same_milliseconds(stores: Stores) -> None:
    import datetime as dt

    from nbtrack.query.jsonsafe import iso

    for name, rid in stores.nb.ids.items():
        shown = iso(get_run(rid, store=stores.nbtrack)["start_time"])
        assert shown is not None
        when = dt.datetime.fromisoformat(shown.replace("Z", "+00:00"))
        assert round(when.timestamp() * 1000) == stores.nb.start[name]


def test_max_results_above_50000_is_a_page_as_in_mlflow_search_runs(stores: Stores) -> None:
    """``mlflow.search_runs`` pages through any ``max_results`` (only ``MlflowClient`` caps a
    single request at 50,000); nbtrack's ``search_runs`` does the same."""
    assert stores.nbtrack_names("", None, 50_001) == stores.mlflow_names("", None, 50_001)

"""The filter language: what it selects on a real store, its errors, and that values stay bound."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from search_fixtures import fill, names
from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite

from nbtrack.errors import QueryError, ValidationError
from nbtrack.query import compile_filter, parse
from nbtrack.query.search import search_run_ids
from nbtrack.store import Store
from nbtrack.store import schema as s


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Store:
    st_ = Store(str(tmp_path_factory.mktemp("query") / "store"))
    fill(st_)
    return st_


def found(store: Store, text: str) -> set[str]:
    ids, _ = search_run_ids(store, text)
    return set(names(store, ids))


ALL = {"rf-small", "xgb-big", "rf-eval", "Running one"}


@pytest.mark.parametrize(
    "text, expected",
    [
        # MLflow's grammar, as users paste it
        ("metrics.acc > 0.9", {"rf-small"}),
        ("metrics.acc > 0.9 AND params.model = 'rf'", {"rf-small"}),
        ("metrics.acc > 0.5 and params.model = 'rf' and tags.owner LIKE 'an%'", {"rf-small"}),
        ("metrics.acc >= 0.8", {"rf-small", "xgb-big"}),
        ("metrics.acc != 0.8", {"rf-small", "Running one"}),
        ("metrics.acc <= 0.6", {"Running one"}),
        ("metric.acc < 0.85", {"xgb-big", "Running one"}),
        ('params.model = "rf"', {"rf-small", "rf-eval"}),
        ("param.model != 'rf'", {"xgb-big", "Running one"}),
        ("params.model IN ('xgb', 'mlp')", {"xgb-big", "Running one"}),
        ("params.model NOT IN ('xgb', 'mlp')", {"rf-small", "rf-eval"}),
        ("tags.owner LIKE 'an%'", {"rf-small", "xgb-big"}),
        ("tags.owner ILIKE 'an%'", {"rf-small", "xgb-big", "Running one"}),
        ("tags.owner NOT LIKE 'an%'", {"rf-eval", "Running one"}),
        ("tag.stage LIKE 'prod_%'", {"Running one"}),
        ("tags.stage = 'prod'", {"rf-small"}),
        ("attributes.run_name = 'rf-eval'", {"rf-eval"}),
        ("attributes.run_name LIKE '%-%'", {"rf-small", "xgb-big", "rf-eval"}),
        ("attr.run_name ILIKE 'running%'", {"Running one"}),
        ("tags.mlflow.runName = 'xgb-big'", {"xgb-big"}),
        ("attributes.status = 'FINISHED'", {"rf-small", "xgb-big"}),
        ("run.status IN ('FAILED', 'running')", {"rf-eval", "Running one"}),
        ("attributes.status != 'finished'", {"rf-eval", "Running one"}),
        (f"attributes.run_id = '{'02' * 16}'", {"xgb-big"}),
        ("attributes.user = 'bob'", {"rf-eval"}),
        ("attributes.user_id = 'bob'", {"rf-eval"}),
        ("attributes.experiment = 'eval'", {"rf-eval", "Running one"}),
        ("attributes.experiment LIKE 'tr%'", {"rf-small", "xgb-big"}),
        (f"attributes.parent_run_id = '{'01' * 16}'", {"xgb-big"}),
        ("attributes.parent_run_id IS NULL", {"rf-small", "rf-eval", "Running one"}),
        # times: UNIX milliseconds (as MLflow) or ISO; a bare date is its whole UTC day
        ("attributes.start_time > 1795420800000", {"rf-small", "rf-eval"}),
        ("attributes.start_time = '2026-11-23'", {"rf-small", "Running one"}),
        ("attributes.start_time > '2026-11-23'", {"rf-eval"}),
        ("attributes.start_time >= '2026-11-23'", {"rf-small", "rf-eval", "Running one"}),
        ("attributes.start_time < '2026-11-23'", {"xgb-big"}),
        ("attributes.start_time <= '2026-11-23'", {"xgb-big", "rf-small", "Running one"}),
        ("attributes.start_time >= '2026-11-23T09:00:00'", {"rf-small", "rf-eval"}),
        ("attributes.start_time >= '2026-11-23T10:00:00+01:00'", {"rf-small", "rf-eval"}),
        ("attributes.end_time IS NULL", {"Running one"}),
        ("attributes.duration > 60", {"xgb-big"}),
        ("attributes.duration < 10", {"rf-eval"}),
        # keys with spaces or dots
        ("metrics.`val acc` > 0.5", {"rf-small"}),
        ('metrics."val acc" > 0.5', {"rf-small"}),
        ("params.\"a.b\" = 'dotted'", {"rf-small"}),
        ("params.a.b = 'dotted'", {"rf-small"}),
        # beyond MLflow: OR, parentheses, NOT
        ("params.model = 'xgb' OR tags.owner = 'bob'", {"xgb-big", "rf-eval"}),
        (
            "(params.model = 'rf' OR params.model = 'mlp') AND metrics.acc > 0.55",
            {"rf-small", "Running one"},
        ),
        (
            "params.model = 'rf' OR params.model = 'mlp' AND metrics.acc > 0.55",
            {"rf-small", "rf-eval", "Running one"},
        ),
        ("NOT params.model = 'rf'", {"xgb-big", "Running one"}),
        ("NOT (metrics.acc > 0.9)", {"xgb-big", "rf-eval", "Running one"}),
        ("not not params.model = 'rf'", {"rf-small", "rf-eval"}),
        # MIN / MAX / LATEST read latest_metrics
        ("MIN(metrics.loss) < 0.2", {"xgb-big"}),
        ("min(metrics.loss) <= 0.25", {"xgb-big", "rf-small"}),
        ("MAX(metrics.acc) > 0.9", {"rf-small", "xgb-big"}),
        ("LATEST(metrics.acc) > 0.9", {"rf-small"}),
        ("MAX(metrics.acc) > 0.9 AND LATEST(metrics.acc) < 0.9", {"xgb-big"}),
        # a NaN latest value matches no comparison, but the run still has the metric
        ("metrics.loss < 1", {"rf-small", "xgb-big", "rf-eval"}),
        ("metrics.loss IS NOT NULL", {"rf-small", "xgb-big", "rf-eval", "Running one"}),
        # IS NULL: runs without that metric / param / tag
        ("metrics.acc IS NULL", {"rf-eval"}),
        ("tags.stage IS NULL", {"rf-eval"}),
        ("params.missing IS NULL", ALL),
        ("params.lr IS NOT NULL", ALL),
        # params compare numerically against numbers (non-numbers never match)
        ("params.lr > 0.001", {"rf-small", "xgb-big"}),
        ("params.lr >= 0.001", {"rf-small", "xgb-big", "Running one"}),
        ("params.lr = 0.1", {"xgb-big"}),
        ("params.lr IN (0.01, 0.001)", {"rf-small", "Running one"}),
        ("params.lr = '0.1'", {"xgb-big"}),
        ("params.lr < 1", {"rf-small", "xgb-big", "Running one"}),
        # cells of the run's executed sequence (session cells up to end_seq)
        ("cells.source LIKE '%xgboost%'", {"xgb-big"}),
        ("cells.source LIKE '%pandas%'", {"rf-small", "xgb-big"}),
        ("cells.source ILIKE '%XGBOOST%'", {"xgb-big"}),
        ("cells.error_type = 'ValueError'", {"xgb-big"}),
        ("cells.error_type != 'ValueError'", {"rf-small", "rf-eval", "Running one"}),
        ("cells.error_type IS NOT NULL", {"xgb-big", "Running one"}),
        ("cells.error_type IS NULL", {"rf-small", "rf-eval"}),
        ("cells.status = 'error' AND cells.source LIKE '%torch%'", {"Running one"}),
        ("notebook.path = 'nb/eval.ipynb'", {"rf-eval"}),
        ("notebook.path LIKE 'nb/%'", ALL),
        ("reproduced = true", {"rf-eval"}),
        ("reproduced = FALSE", {"Running one"}),
        ("reproduced IS NULL", {"rf-small", "xgb-big"}),
        # bare attribute names, keywords in any case
        ("status = 'failed' oR user = 'chen'", {"rf-eval", "Running one"}),
        ("", ALL),
        ("   ", ALL),
    ],
)
def test_filter_selects_the_right_runs(store: Store, text: str, expected: set[str]) -> None:
    assert found(store, text) == expected


def test_deleted_runs_are_left_out_unless_asked(store: Store) -> None:
    assert "deleted" not in found(store, "metrics.acc > 0.98 OR params.model = 'rf'")
    ids, _ = search_run_ids(store, "metrics.acc > 0.98", include_deleted=True)
    assert names(store, ids) == ["deleted"]


@pytest.mark.parametrize(
    "text, column, fragments",
    [
        ("metrc.acc > 0.9", 1, ["unknown identifier 'metrc.acc'", "did you mean 'metrics.acc'?"]),
        ("paramz.lr > 1", 1, ["did you mean 'params.lr'?"]),
        ("metrics.acc > 0.9 AND atributes.status = 'x'", 23, ["did you mean 'attributes.status'?"]),
        ("attributes.stauts = 'x'", 1, ["unknown attribute", "did you mean 'attributes.status'?"]),
        ("stauts = 'FINISHED'", 1, ["did you mean 'status'?"]),
        ("acc > 0.9", 1, ["unknown identifier 'acc'", "metrics.acc"]),
        ("metrics.acc LIKE '%9'", 13, ["LIKE does not apply to metrics.acc"]),
        ("MIN(metrics.loss) ILIKE 'x'", 19, ["ILIKE does not apply"]),
        ("metrics.acc > '0.9'", 15, ["is a number", "remove the quotes: 0.9"]),
        ("params.model = 'rf", 16, ["unterminated string"]),
        ('params.model = "rf', 16, ["unterminated string"]),
        ("metrics.`val acc > 1", 9, ["unterminated key"]),
        ("metrics.acc >", 14, ["missing a value after '>'"]),
        ("metrics.acc", 12, ["missing an operator after 'metrics.acc'"]),
        ("metrics.acc > 0.9 AND", 22, ["missing a condition after 'AND'"]),
        ("metrics.acc > 0.9 params.x = 'y'", 19, ["unexpected 'params.x'", "AND or OR"]),
        ("metrics.acc > 0.9 AMD params.x = 'y'", 19, ["did you mean 'AND'?"]),
        ("metrics.acc => 0.9", 13, ["unknown operator '=>'", "did you mean '>='?"]),
        ("params.model LIKEE 'r%'", 14, ["did you mean 'LIKE'?"]),
        ("(metrics.acc > 0.9", 19, ["expected ')'"]),
        ("metrics.acc > 0.9)", 18, ["unmatched ')'"]),
        ("MIN(params.lr) < 1", 1, ["MIN() applies to a metric"]),
        ("AVG(metrics.acc) < 1", 1, ["unknown function 'AVG'"]),
        ("metrics.acc IN ()", 17, ["empty IN list"]),
        ("metrics.acc IN 0.9", 16, ["IN takes a parenthesised list"]),
        ("params.model IN ('rf', 2)", 24, ["mixes numbers and strings"]),
        ("params.lr > '0.1'", 11, ["does not compare text", "params.lr > 0.1"]),
        ("attributes.run_name <= 'b'", 21, ["does not compare text"]),
        ("attributes.status > 'a'", 19, ["does not apply"]),
        ("attributes.start_time > 'yesterday'", 25, ["UNIX milliseconds or an ISO date"]),
        ("reproduced = 'yes'", 14, ["true or false"]),
        ("reproduced > true", 12, ["does not apply"]),
        ("params.flag = true", 15, ["true/false apply to reproduced only"]),
        ("attributes.run_name = 5", 23, ["quote the value"]),
        ("metrics.acc = NULL", 15, ["IS NULL"]),
        ("metrics.acc IS 5", 16, ["expected NULL after IS"]),
        ("metrics.acc > metrics.loss", 15, ["comparing two columns is not supported"]),
        ("0.9 < metrics.acc", 1, ["put the identifier on the left"]),
        ("metrics.acc > 0.9; DROP TABLE runs", 18, ["unexpected character ';'"]),
        ("metrics.acc > 0.9 && params.x = 'y'", 19, ["write AND instead of &&"]),
        ("metrics. > 1", 1, ["missing key after 'metrics.'"]),
        ("metrics.acc > 0.9abc", 15, ["bad number"]),
        ("AND", 1, ["keyword 'AND'"]),
        ("cells.sauce LIKE 'x'", 1, ["did you mean 'cells.source'?"]),
    ],
)
def test_errors_point_at_the_bad_token_with_a_hint(
    text: str, column: int, fragments: list[str]
) -> None:
    with pytest.raises(QueryError) as info:
        parse(text)
    err = info.value
    assert isinstance(err, ValidationError)
    assert err.column == column, str(err)
    message = str(err)
    for fragment in fragments:
        assert fragment in message
    lines = message.split("\n")
    assert lines[1] == "  " + text
    assert lines[2].index("^") == column + 1  # the caret sits under the token


def test_error_in_a_multi_line_filter_names_line_and_column() -> None:
    with pytest.raises(QueryError) as info:
        parse("metrics.acc > 0.9\n  AND metrc.loss < 1")
    assert (info.value.line, info.value.column) == (2, 7)
    assert "line 2, column 7" in str(info.value)
    assert "  AND metrc.loss < 1" in str(info.value)


HOSTILE = [
    "'; DROP TABLE runs; --",
    "x' OR '1'='1",
    'rf" OR 1=1 --',
    "') OR 1=1 --",
    "%' UNION SELECT id FROM runs --",
    "Robert'); DELETE FROM params; --",
    "\x00\n\t' OR run_id LIKE '%",
]


@pytest.mark.parametrize("payload", HOSTILE)
@pytest.mark.parametrize(
    "template",
    [
        "params.model = {q}",
        "tags.owner LIKE {q}",
        "attributes.run_name ILIKE {q}",
        "params.model IN ({q}, 'zz')",
        "cells.source LIKE {q}",
        "notebook.path = {q}",
        "attributes.experiment = {q}",
        "metrics.{k} > 1",
        "params.{k} IS NULL",
        "tags.{k} != 'x'",
    ],
)
def test_hostile_values_stay_bound_parameters(store: Store, payload: str, template: str) -> None:
    quoted = "'" + payload.replace("'", "''") + "'"
    key = "`" + payload.replace("`", "``") + "`"
    text = template.format(q=quoted, k=key)
    clause = compile_filter(text)
    query = select(s.runs.c.id).where(clause)
    for dialect in (sqlite.dialect(), postgresql.dialect()):
        sql = str(query.compile(dialect=dialect, compile_kwargs={"render_postcompile": True}))
        for fragment in ("DROP", "DELETE", "UNION", "1=1", "'1'", "Robert", payload.strip()[:8]):
            assert fragment not in sql
    ids, _ = search_run_ids(store, text)
    assert ids == [] or "IS NULL" in text or "!=" in text
    assert len(search_run_ids(store, None)[0]) == 4  # nothing was dropped or deleted


@pytest.mark.parametrize(
    "text",
    ["' OR 1=1 --", "params.model = 'x' OR 1=1 --", "1; DROP TABLE runs", "run_id = 1 OR 1=1"],
)
def test_hostile_filters_are_errors_not_sql(store: Store, text: str) -> None:
    with pytest.raises(QueryError):
        search_run_ids(store, text)
    assert len(search_run_ids(store, None)[0]) == 4


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=60))
def test_arbitrary_text_parses_or_raises_query_error(text: str) -> None:
    try:
        parse(text)
    except QueryError:
        pass


_PIECES = [
    "metrics.acc",
    "params.lr",
    "tags.`a b`",
    "attributes.status",
    "cells.source",
    "MIN(",
    "MAX(",
    "LATEST(",
    "(",
    ")",
    ",",
    " AND ",
    " OR ",
    " NOT ",
    " LIKE ",
    " ILIKE ",
    " IN ",
    " IS ",
    " NULL",
    "=",
    "!=",
    ">",
    "<=",
    "'x'",
    '"y"',
    "0.5",
    "-1e3",
    "true",
    "reproduced",
    "start_time",
    "'2026-11-23'",
    "`",
    "'",
    ".",
    " ",
]


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(_PIECES), max_size=12))
def test_query_like_token_soup_parses_or_raises_query_error(pieces: list[str]) -> None:
    text = "".join(pieces)
    try:
        node = parse(text)
    except QueryError:
        return
    compile_filter(text)  # whatever parses also compiles
    assert node is None or text.strip()


def test_the_index_a_join_reads_through_is_part_of_the_statement_cache_key() -> None:
    """SQLAlchemy caches compiled statements by key: two joins differing only in their index
    must not share one."""
    from nbtrack.query.plan import _Then
    from nbtrack.store import schema as s

    a = s.params.alias("p")
    on = a.c.run_id == s.runs.c.id
    assert (
        _Then(s.runs, a, on, "ix_params_key_value")._generate_cache_key()
        != _Then(s.runs, a, on, None)._generate_cache_key()
    )

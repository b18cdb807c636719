"""Bad and hostile input: thousands of generated values through the logging API, the
``%%track`` argument parser and the query language. Each gives a result or a clear nbtrack
error; none crashes, corrupts the store or reaches SQL other than as a bound parameter."""

from __future__ import annotations

import json
import math
import os
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from IPython.core.error import UsageError

import nbtrack
from nbtrack.errors import NbtrackError, ValidationError
from nbtrack.store import open_store

SETTINGS = settings(
    max_examples=1500, deadline=None, suppress_health_check=list(HealthCheck), database=None
)

valid_names = st.from_regex(r"[A-Za-z0-9_][A-Za-z0-9_.:/ -]{0,30}", fullmatch=True)
names = st.one_of(
    valid_names,
    valid_names,
    st.text(max_size=40),
    st.text(alphabet="abc_-./: '\";<>&%\\\x00é中", max_size=20),
    st.sampled_from(
        [
            "../etc/passwd",
            "/abs",
            "a/../b",
            "x; DROP TABLE runs;--",
            "<img src=x onerror=alert(1)>",
            "a" * 251,
        ]
    ),
    st.binary(max_size=10),
    st.integers(),
    st.none(),
)
leaf = st.one_of(
    st.text(max_size=50),
    st.binary(max_size=50),
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(),
    st.booleans(),
    st.none(),
    st.sampled_from([b"\xff\xfe\x80", "\ud800lone", "-0.0"]),
)
values = st.recursive(
    leaf,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=5), inner, max_size=4)
    ),
    max_leaves=20,
)


def integrity_ok(store_dir: Path) -> None:
    conn = sqlite3.connect(store_dir / "nbtrack.db")
    try:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    finally:
        conn.close()


@pytest.fixture
def run(store_dir: Path) -> Any:
    r = nbtrack.start_run(name="fuzz", log_system_metrics=False)
    yield r
    r.end()
    integrity_ok(store_dir)


def test_logging_api_gives_a_result_or_a_clear_error_for_any_input(run, store_dir):
    accepted: dict[str, int] = {"param": 0, "tag": 0, "metric": 0}

    @SETTINGS
    @given(
        kind=st.sampled_from(["param", "tag", "metric"]),
        key=names,
        value=st.one_of(
            st.floats(),
            st.integers(min_value=-(2**70), max_value=2**70),
            st.integers(),
            st.just(10**400),
            values,
        ),
        step=st.one_of(
            st.none(),
            st.integers(),
            st.integers(min_value=-(2**63), max_value=2**63 - 1),
            st.floats(),
        ),
    )
    def check(kind: str, key: Any, value: Any, step: Any) -> None:
        try:
            if kind == "param":
                run.log_param(key, value)
            elif kind == "tag":
                run.set_tag(key, value)
            else:
                run.log_metric(key, value, step=step)
        except ValidationError as exc:
            assert str(exc)  # names the problem
            return
        accepted[kind] += 1

    check()
    assert run.flush()
    store = open_store(store_dir)
    row = store.run_summaries([run.id])[0]
    assert all(
        isinstance(v, str) for v in list(row["params"].values()) + list(row["tags"].values())
    )
    assert sum(accepted.values()) > 100  # plenty got through, not only errors


def test_log_dict_takes_any_nesting_or_refuses_it_clearly(run, store_dir):
    @settings(
        max_examples=400, deadline=None, suppress_health_check=list(HealthCheck), database=None
    )
    @given(value=values, name=st.sampled_from(["a.json", "d/b.json", "../x.json", "/abs.json", ""]))
    def check(value: Any, name: str) -> None:
        try:
            run.log_dict({"v": value}, name)
        except ValidationError as exc:
            assert "artifact path" in str(exc) or "log_dict" in str(exc)

    check()
    deep: Any = []
    for _ in range(100_000):
        deep = [deep]
    with pytest.raises(ValidationError, match="could not serialise"):
        run.log_dict({"deep": deep}, "deep.json")
    paths = [a["path"] for a in open_store(store_dir).artifacts_of(run.id)]
    assert paths and all(not p.startswith("/") and ".." not in p.split("/") for p in paths)


def test_track_arguments_give_a_run_or_a_usage_error(store_dir):
    from IPython.core.interactiveshell import InteractiveShell

    from nbtrack.magics import TrackMagics

    shell = InteractiveShell.instance()
    magics = TrackMagics(shell=shell)
    token = st.one_of(
        st.sampled_from(
            [
                "--name",
                "-n",
                "--experiment",
                "-e",
                "--param",
                "-p",
                "--tag",
                "-t",
                "--live",
                "--no-system-metrics",
                "--bogus",
                "lr=0.1",
                "=",
                "k=",
                "=v",
                "api_key=sk-1",
                "'a b'",
                '"',
                "'",
                "\\",
                "--",
                "-",
            ]
        ),
        st.text(max_size=12),
    )
    outcomes = {"run": 0, "error": 0}

    import shlex

    well_formed = st.tuples(st.text(max_size=15), valid_names, st.text(max_size=15)).map(
        lambda t: [
            "--name",
            shlex.quote(t[0]),
            "-p",
            shlex.quote(f"{t[1]}={t[2]}"),
            "-t",
            shlex.quote(f"{t[1]}={t[2]}"),
        ]
    )

    @settings(
        max_examples=300, deadline=None, suppress_health_check=list(HealthCheck), database=None
    )
    @given(st.one_of(st.lists(token, max_size=6), well_formed))
    def check(tokens: list[str]) -> None:
        line = " ".join(tokens)
        if "--live" in tokens:
            return  # displays a widget; not what this test is about
        try:
            magics.track(line + " --no-system-metrics", "fuzz_value = 1")
        except UsageError as exc:
            assert (
                str(exc).startswith("%%track")
                or "argument" in str(exc)
                or "unrecognized" in str(exc)
            ), exc
            outcomes["error"] += 1
            return
        outcomes["run"] += 1

    check()
    assert outcomes["run"] > 10 and outcomes["error"] > 10
    assert nbtrack.active_run() is None  # every run the magic started was ended
    integrity_ok(store_dir)


QUERY_TOKENS = [
    "params.",
    "metrics.",
    "tags.",
    "attributes.",
    "run_name",
    "status",
    "lr",
    "acc",
    "a b",
    "`x`",
    '"q"',
    "'v'",
    "=",
    "!=",
    "<",
    ">=",
    "LIKE",
    "ILIKE",
    "IN",
    "NOT",
    "AND",
    "OR",
    "(",
    ")",
    ",",
    "'%'",
    "1",
    "-1.5e3",
    "NaN",
    "MIN(",
    "MAX(",
    "cells.",
    "IS",
    "NULL",
    "'; DROP TABLE runs;--",
    "\\",
    "%",
    "_",
    "0x1",
    "'\u00e9\u4e2d'",
]


def test_query_language_gives_runs_or_a_query_error_for_any_text(store_dir):
    from nbtrack.query.search import search_run_ids

    with nbtrack.start_run(
        name="a", params={"lr": 0.1}, tags={"owner": "ana"}, log_system_metrics=False
    ) as r:
        r.log_metric("acc", 0.9)
    store = open_store(store_dir)
    answered = {"ok": 0, "error": 0}

    well_formed = st.one_of(
        st.tuples(
            st.sampled_from(["params.lr", "tags.owner", "run_name", "params.`a b`"]),
            st.sampled_from(["=", "!=", "LIKE", "ILIKE"]),
            st.text(max_size=10),
        ).map(lambda t: f"{t[0]} {t[1]} '{t[2].replace(chr(39), chr(39) * 2)}'"),
        st.tuples(
            st.sampled_from(["metrics.acc", "MIN(metrics.acc)", "metrics.loss"]),
            st.sampled_from(["=", "<", ">=", "!="]),
            st.floats(allow_nan=False),
        ).map(lambda t: f"{t[0]} {t[1]} {t[2]!r}"),
    )

    @SETTINGS
    @given(
        st.one_of(
            st.lists(st.sampled_from(QUERY_TOKENS), max_size=8).map(" ".join),
            st.text(max_size=30),
            well_formed,
        )
    )
    def check(text: str) -> None:
        try:
            ids, _ = search_run_ids(store, text)
        except NbtrackError as exc:
            assert str(exc)
            answered["error"] += 1
            return
        assert set(ids) <= {r.id}
        answered["ok"] += 1

    check()
    assert answered["ok"] > 20 and answered["error"] > 20
    integrity_ok(store_dir)


def test_query_values_and_keys_reach_sql_only_as_bound_parameters(store_dir):
    """The statement text search sends to SQLite (as ``query.plan.fetch`` compiles it) never holds
    a value or key from the filter: those travel as bound parameters."""
    from nbtrack.query.search import _search_query, search_run_ids

    with nbtrack.start_run(name="a", params={"lr": 0.1}, log_system_metrics=False):
        pass
    store = open_store(store_dir)
    hostile = st.text(alphabet="ZQX'\"`;-()%_\\ \n*/=", min_size=1, max_size=20).map(
        lambda s: "ZQX" + s
    )
    compiled = {"n": 0}

    @settings(
        max_examples=600, deadline=None, suppress_health_check=list(HealthCheck), database=None
    )
    @given(
        hostile,
        st.sampled_from(["params", "tags", "metrics"]),
        st.sampled_from(["=", "!=", "LIKE"]),
    )
    def check(marker: str, group: str, op: str) -> None:
        key = "`" + marker.replace("`", "") + "`"
        quoted = "'" + marker.replace("'", "''") + "'"
        if group == "metrics":
            quoted, op = "1", "="
        for text in (
            f"{group}.{key} {op} {quoted}",
            f"params.lr = '{marker.replace(chr(39), chr(39) * 2)}'",
        ):
            try:
                plan, _ = _search_query(store, text, None, None, False)
                search_run_ids(store, text)
            except NbtrackError:
                continue
            walk_and_sort = [
                store.read(lambda conn, need=need, plan=plan: plan.queries(conn, need))
                for need in (1, None)
            ]
            for query in (q for pair in walk_and_sort for q in pair):
                if query is not None:
                    sql = str(
                        query.compile(
                            dialect=store.engine.dialect,
                            compile_kwargs={"render_postcompile": True},
                        )
                    )
                    assert "ZQX" not in sql, (text, sql)
            compiled["n"] += 1

    check()
    assert compiled["n"] > 300
    integrity_ok(store_dir)


# -- hostile values, one by one -----------------------------------------------------------
def test_a_10_mb_param_is_refused_with_the_limit_named(run):
    with pytest.raises(ValidationError, match="over the limit of 8,000"):
        run.log_param("huge", "x" * 10_000_000)
    with pytest.raises(ValidationError, match="over the limit"):
        run.set_tag("huge", b"y" * 10_000_000)


@pytest.mark.parametrize(
    "name",
    [
        "acc'; DROP TABLE metrics;--",
        "<script>alert(1)</script>",
        "../../etc/passwd",
        "/etc/passwd",
        "a\\b",
        "acc\x00",
        "a/../b",
    ],
)
def test_metric_names_with_sql_html_or_path_characters_are_refused(run, name):
    with pytest.raises(ValidationError) as err:
        run.log_metric(name, 1.0)
    assert repr(name[:80]) in str(err.value) or "'..'" in str(err.value)


def test_metric_names_with_allowed_punctuation_are_kept_verbatim(run, store_dir):
    for name in ("train/loss", "val:acc", "a b", "x.y-z_1"):
        run.log_metric(name, 1.0)
    run.flush()
    assert set(open_store(store_dir).metric_summary(run.id)) == {
        "train/loss",
        "val:acc",
        "a b",
        "x.y-z_1",
    }


def test_nan_inf_and_negative_zero_round_trip(run, store_dir):
    for v in (math.nan, math.inf, -math.inf, -0.0, 5e-324, 1.7976931348623157e308):
        run.log_metric("m", v)
    run.flush()
    got = [p["value"] for p in open_store(store_dir).metric_history(run.id, "m")]
    assert math.isnan(got[0]) and got[1:3] == [math.inf, -math.inf]
    assert got[3] == 0.0 and got[4:] == [5e-324, 1.7976931348623157e308]


def test_non_utf8_bytes_are_stored_escaped_not_crashed_on(run, store_dir):
    run.log_param("raw", b"ok\xff\xfe\x80")
    run.set_tag("lone", "a\ud800b")
    run.log_text("x\ud800y", "t.txt")
    run.flush()
    row = open_store(store_dir).run_summaries([run.id])[0]
    assert row["params"]["raw"] == "ok\\xff\\xfe\\x80"
    assert row["tags"]["lone"] == "a\\ud800b"


def test_artifact_directory_with_symlinks_out_of_it_copies_nothing_from_outside(
    run, store_dir, tmp_path
):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("OUTSIDE-CONTENT")
    art = tmp_path / "model"
    (art / "sub").mkdir(parents=True)
    (art / "weights.bin").write_bytes(b"w")
    (art / "sub" / "config.json").write_text("{}")
    os.symlink(outside / "secret.txt", art / "link-to-file.txt")
    os.symlink(outside, art / "link-to-dir")
    os.symlink("../../outside/secret.txt", art / "sub" / "relative-link.txt")
    run.log_artifact(art)
    assert run.flush()
    store = open_store(store_dir)
    arts = store.artifacts_of(run.id)
    assert sorted(a["path"] for a in arts) == ["model/sub/config.json", "model/weights.bin"]
    assert all(b"OUTSIDE-CONTENT" not in store.get_blob(a["blob_hash"]) for a in arts)
    for bad in ("../escape", "a/../../b", "/etc/x", "..", "C:/x"):
        with pytest.raises(ValidationError, match="must be relative and stay inside the run"):
            run.log_artifact(art / "weights.bin", bad)


def test_stored_hostile_text_comes_back_as_the_same_text(run, store_dir):
    evil = "<img src=x onerror=alert(1)>'; DROP TABLE runs;--"
    run.set_tag("note", evil)
    run.log_param("p", evil)
    run.flush()
    row = open_store(store_dir).run_summaries([run.id])[0]
    assert row["tags"]["note"] == evil and row["params"]["p"] == evil
    assert json.loads(json.dumps(row["tags"]))["note"] == evil


def test_a_metric_at_the_largest_step_has_no_next_step_and_says_so(run: Any) -> None:
    # Given a metric logged at the largest 64-bit step
    run.log_metric("m", 1.0, step=2**63 - 1)
    # When the next point asks for the next step
    with pytest.raises(ValidationError, match="no next step"):
        run.log_metric("m", 2.0)
    # Then what was logged is still written
    assert run.flush()

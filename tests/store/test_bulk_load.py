"""The bulk path of imports (``transfer.add_rows``): COPY on PostgreSQL, INSERT batches on
SQLite, the same rows either way; PostgreSQL's statement-level summary triggers (schema 5)."""

from __future__ import annotations

import json
import math
import random
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update

from nbtrack.query.search import search_run_ids, search_runs
from nbtrack.store import Store
from nbtrack.store import schema as s
from nbtrack.store.dialect import bulk_insert
from nbtrack.store.transfer import TABLES, add_rows, rows_of_runs

AWKWARD = [
    "tab\there",
    "new\nline",
    "back\\slash \\N",
    "quote ' \" ,",
    "ünïcödé ✓ 𝛼",
    "",
    "\\.",
    "\r\n",
    "x" * 5000,
]
# (not -0.0: SQLite reads it back as 0.0, whatever the path)
FLOATS = [1 / 3, 0.1 + 0.2, 5e-324, 1e308, -1e-300, 123456789.12345679, 2.0**53 + 1, 7.0]


def bundle(n: int, seed: int = 3) -> dict[str, list[dict[str, Any]]]:
    """``n`` runs in two experiments with params, tags, metric histories and their summaries,
    sessions and cells, files, artifacts and datasets: text with tabs, newlines, backslashes
    and non-ASCII, NULLs, booleans, 64-bit integers, floats that round-trip only exactly."""
    rnd = random.Random(seed)
    out: dict[str, list[dict[str, Any]]] = {t: [] for t in TABLES}
    out["experiments"] = [
        {"name": "bulk", "created": 1.5, "deleted_at": None},
        {"name": "odd\tname ✓", "created": 2.25, "deleted_at": 3.0},
    ]
    out["sources"] = [{"hash": f"{i:064x}", "text": t} for i, t in enumerate(AWKWARD)]
    for k in range(3):
        sid = f"s{k:031d}"
        out["sessions"].append(
            {"id": sid, "kind": "kernel", "started": 10.0 + k, "host": "h\tost", "pid": 2**31 - 1}
        )
        for seq in range(1, 6):
            out["cells"].append(
                {
                    "session_id": sid,
                    "seq": seq,
                    "execution_count": seq if seq != 3 else None,
                    "cell_id": f"c{seq}",
                    "source_hash": f"{seq:064x}",
                    "start_time": 10.0 + seq,
                    "end_time": 10.5 + seq,
                    "status": "error" if seq == 4 else "ok",
                    "error_type": "ValueError" if seq == 4 else None,
                    "error_message": AWKWARD[seq] if seq == 4 else None,
                    "created": json.dumps(["a", "b"]),
                    "touched": None,
                }
            )
            out["cell_state"].append(
                {
                    "session_id": sid,
                    "seq": seq,
                    "name": f"v{seq}",
                    "hash": None if seq == 2 else "h",
                }
            )
            out["file_events"].append(
                {
                    "session_id": sid,
                    "seq": seq,
                    "run_id": None,
                    "path": f"data/{AWKWARD[seq % len(AWKWARD)]}.csv",
                    "mode": "read",
                    "hash": None,
                    "size": 2**40,
                }
            )
    for i in range(n):
        rid = f"{rnd.getrandbits(128):032x}"
        status = ["finished", "failed", "running"][i % 3]
        out["runs"].append(
            {
                "id": rid,
                "experiment": out["experiments"][i % 2]["name"],
                "name": f"run {i} {AWKWARD[i % len(AWKWARD)][:50]}",
                "status": status,
                "start_time": 1000.0 + i / 3,
                "end_time": None if status == "running" else 2000.0 + i,
                "user": "anna",
                "session_id": f"s{i % 3:031d}",
                "start_seq": 1,
                "end_seq": 2 + i % 4,
                "reproduced": [True, False, None][i % 3],
                "notes": AWKWARD[i % len(AWKWARD)] if i % 2 else None,
                "failure": json.dumps({"type": "ValueError"}) if status == "failed" else None,
            }
        )
        for k in range(4):
            out["params"].append(
                {"run_id": rid, "key": f"p{k}", "value": AWKWARD[(i + k) % len(AWKWARD)]}
            )
        out["params"].append({"run_id": rid, "key": "model", "value": ["rf", "xgb"][i % 2]})
        out["tags"].append({"run_id": rid, "key": "stage", "value": ["prod", "dev"][i % 2]})
        for key in ("acc", "loss"):
            values = [rnd.choice(FLOATS) * rnd.choice([1, -1]) for _ in range(4)]
            values[1] = None if i % 5 == 0 else values[1]  # NaN is NULL
            finite = [v for v in values if v is not None]
            out["metrics"] += [
                {
                    "run_id": rid,
                    "key": key,
                    "step": 2**40 + st,
                    "value": v,
                    "timestamp": 5.0 + st,
                    "cell_seq": None,
                }
                for st, v in enumerate(values)
            ]
            out["latest_metrics"].append(
                {
                    "run_id": rid,
                    "key": key,
                    "value": values[-1],
                    "step": 2**40 + 3,
                    "timestamp": 8.0,
                    "min_value": min(finite),
                    "max_value": max(finite),
                    "count": 4,
                }
            )
        if i % 4 == 0:
            out["artifacts"].append(
                {
                    "run_id": rid,
                    "path": "m\todel.pkl",
                    "blob_hash": "ab" * 32,
                    "size": 2**33,
                    "created": 3.0,
                }
            )
            out["datasets"].append(
                {
                    "run_id": rid,
                    "name": "train",
                    "digest": "d" * 16,
                    "context": None,
                    "kind": "dataframe",
                    "source": None,
                    "schema": json.dumps([{"name": "x", "type": "float64"}]),
                    "rows": 2**35,
                    "created": 4.0,
                }
            )
            out["file_events"].append(
                {
                    "session_id": f"s{i % 3:031d}",
                    "seq": None,
                    "run_id": rid,
                    "path": "inputs/x.csv",
                    "mode": "input",
                    "hash": "e" * 64,
                    "size": 7,
                }
            )
    return out


def _canonical(rows: dict[str, list[dict[str, Any]]]) -> dict[str, list[str]]:
    """Each table's rows in a comparable form (floats exactly, by their hex), sorted."""

    def value(k: str, v: Any) -> Any:
        if k == "summary" and v is not None:  # each engine writes its own JSON text
            return json.loads(v, parse_int=float)
        return v.hex() if isinstance(v, float) else v

    return {
        t: sorted(json.dumps({k: value(k, v) for k, v in sorted(r.items())}) for r in rows[t])
        for t in rows
    }


@pytest.fixture
def stores(tmp_path: Path, pg_url: str, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("NBTRACK_BLOBS", str(tmp_path / "blobs"))
    lite, pg = Store(str(tmp_path / "store")), Store(pg_url)
    yield lite, pg
    lite.close()
    pg.close()


def test_copy_into_postgresql_reads_back_what_sqlite_gives(stores: tuple[Store, Store]) -> None:
    lite, pg = stores
    rows = bundle(60)
    added = [add_rows(st, rows) for st in (lite, pg)]
    assert added[0] == added[1]
    assert len(added[0].runs) == 60 and added[0].rows["params"] == 300
    ids = [r["id"] for r in rows["runs"]]
    back = [_canonical(rows_of_runs(st, ids)) for st in (lite, pg)]
    assert back[0] == back[1]
    sent = _canonical(
        {
            t: [{k: v for k, v in r.items()} for r in rows[t]]
            for t in ("params", "tags", "metrics", "latest_metrics", "artifacts", "datasets")
        }
    )
    for table in sent:
        assert back[1][table] == sent[table], table
    # the summaries the import filled, and what searches and frames read from them
    summaries = [
        [{**r, "summary": json.loads(r["summary"] or "null", parse_int=float)} for r in got]
        for got in (lite.run_summaries(ids), pg.run_summaries(ids))
    ]
    assert summaries[0] == summaries[1]
    query = "params.model = 'rf' AND metrics.acc > 0 AND tags.stage = 'prod'"
    for order in (None, ["metrics.acc DESC"], ["params.p1"]):
        assert search_run_ids(lite, query, order_by=order) == search_run_ids(
            pg, query, order_by=order
        )
    frames = [search_runs(store=st, order_by=["attributes.start_time"]) for st in (lite, pg)]
    assert frames[0].equals(frames[1])
    # a second import of the same rows adds nothing
    again = add_rows(pg, rows)
    assert again.runs == [] and sorted(again.skipped) == sorted(ids)
    assert _canonical(rows_of_runs(pg, ids)) == back[1]


def test_a_bulk_load_leaves_postgresql_statistics(stores: tuple[Store, Store]) -> None:
    _, pg = stores
    add_rows(pg, bundle(400))

    def estimate(conn: Any) -> dict[str, float]:
        rows = conn.exec_driver_sql(
            "SELECT relname, reltuples FROM pg_class WHERE relname IN "
            "('runs', 'params', 'latest_metrics', 'metrics')"
        )
        return {name: n for name, n in rows}

    got = pg.read(estimate)  # tables given 1,000 rows or more are analyzed in the load
    assert (got["params"], got["metrics"]) == (2000, 3200)
    assert (got["runs"], got["latest_metrics"]) == (-1, -1)  # never analyzed: fewer


def test_statement_triggers_clear_the_summaries_of_every_run_a_statement_touches(
    pg_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NBTRACK_BLOBS", str(tmp_path / "blobs"))
    st = Store(pg_url)
    rows = bundle(6)
    add_rows(st, rows)
    ended = [r["id"] for r in rows["runs"] if r["status"] != "running"]
    r = s.runs.c

    def summaries(conn: Any) -> dict[str, Any]:
        return dict(conn.execute(select(r.id, r.summary).where(r.id.in_(ended))).all())

    assert all(st.read(summaries).values())
    # COPY (one statement, several runs) of new keys
    st.write(
        lambda conn: bulk_insert(
            conn, s.tags, [{"run_id": i, "key": "new", "value": "v"} for i in ended[:2]]
        )
    )
    got = st.read(summaries)
    assert [got[i] is None for i in ended] == [True, True] + [False] * (len(ended) - 2)
    # an UPDATE and a DELETE of several runs' rows
    st.write(lambda conn: conn.exec_driver_sql("UPDATE runs SET summary = 'x'"))
    st.write(
        lambda conn: conn.execute(
            update(s.params).where(s.params.c.run_id.in_(ended[2:4])).values(value="changed")
        )
    )
    got = st.read(summaries)
    assert [got[i] is None for i in ended] == [False, False, True, True] + [False] * (
        len(ended) - 4
    )
    st.write(lambda conn: conn.exec_driver_sql("UPDATE runs SET summary = 'x'"))
    st.write(
        lambda conn: conn.execute(
            s.latest_metrics.delete().where(s.latest_metrics.c.run_id == ended[-1])
        )
    )
    got = st.read(summaries)
    assert [got[i] is None for i in ended] == [False] * (len(ended) - 1) + [True]
    st.close()


def test_a_version_4_postgresql_store_gets_statement_triggers(
    pg_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NBTRACK_BLOBS", str(tmp_path / "blobs"))
    st = Store(pg_url)
    rows = bundle(3)
    add_rows(st, rows)
    ended = next(r["id"] for r in rows["runs"] if r["status"] == "finished")

    def downgrade(conn: Any) -> None:  # version 4: one trigger per table, per row
        conn.exec_driver_sql("""
            CREATE FUNCTION nbtrack_forget_summary() RETURNS trigger AS $$
            BEGIN
                IF TG_OP <> 'INSERT' THEN
                    UPDATE runs SET summary = NULL WHERE id = OLD.run_id AND summary IS NOT NULL;
                END IF;
                IF TG_OP <> 'DELETE' THEN
                    UPDATE runs SET summary = NULL WHERE id = NEW.run_id AND summary IS NOT NULL;
                END IF;
                RETURN NULL;
            END $$ LANGUAGE plpgsql""")
        for table in s.SUMMARY_TABLES:
            for name in ("forget_summary", "forget_summary_update", "forget_summary_delete"):
                conn.exec_driver_sql(f"DROP TRIGGER {name} ON {table.name}")
            conn.exec_driver_sql(
                f"CREATE TRIGGER forget_summary AFTER INSERT OR UPDATE OR DELETE ON {table.name} "
                "FOR EACH ROW EXECUTE FUNCTION nbtrack_forget_summary()"
            )
        conn.execute(update(s.meta).where(s.meta.c.key == "schema_version").values(value="4"))

    st.write(downgrade)
    st.close()
    st = Store(pg_url)

    def triggers(conn: Any) -> set[tuple[str, str, str]]:
        return set(
            conn.exec_driver_sql(
                "SELECT event_object_table, trigger_name, action_orientation "
                "FROM information_schema.triggers"
            ).all()
        )

    found = st.read(triggers)
    assert {orientation for *_, orientation in found} == {"STATEMENT"}
    assert {(t, n) for t, n, _ in found} == {
        (t.name, n)
        for t in s.SUMMARY_TABLES
        for n in ("forget_summary", "forget_summary_update", "forget_summary_delete")
    }
    assert not st.read(
        lambda conn: conn.exec_driver_sql(
            "SELECT 1 FROM pg_proc WHERE proname = 'nbtrack_forget_summary'"
        ).all()
    )
    st.write(
        lambda conn: conn.execute(
            update(s.tags).where(s.tags.c.run_id == ended).values(value="new")
        )
    )
    assert (
        st.read(
            lambda conn: conn.execute(select(s.runs.c.summary).where(s.runs.c.id == ended)).scalar()
        )
        is None
    )
    assert search_runs(store=st, filter_string="tags.stage = 'new'")["run_id"].tolist() == [ended]
    st.close()


def test_bulk_insert_names_an_unknown_column(stores: tuple[Store, Store]) -> None:
    for st in stores:
        with pytest.raises(Exception, match="nope"):
            st.write(
                lambda conn: bulk_insert(
                    conn, s.tags, [{"run_id": "a", "key": "b", "value": "c", "nope": 1}]
                )
            )


def test_non_finite_and_nan_metric_values_survive_copy(stores: tuple[Store, Store]) -> None:
    rows = bundle(1)
    rid = rows["runs"][0]["id"]
    rows["latest_metrics"][0].update(value=math.inf, min_value=-math.inf, max_value=math.inf)
    rows["latest_metrics"][1].update(value=None)
    for st in stores:
        add_rows(st, rows)
    got = [
        st.read(
            lambda conn: sorted(
                conn.execute(
                    select(
                        s.latest_metrics.c.key,
                        s.latest_metrics.c.value,
                        s.latest_metrics.c.min_value,
                    )
                ).all()
            )
        )
        for st in stores
    ]
    assert got[0] == got[1]
    assert got[0][0][1:] == (math.inf, -math.inf) and got[0][1][1] is None
    assert rid


def test_postgresql_searches_walked_in_written_order_find_what_sqlite_finds(
    stores: tuple[Store, Store],
) -> None:
    """Once the load's statistics say how many runs there are, a PostgreSQL search whose
    sampled odds say walk the order's index runs with its joins as written; it returns the
    runs SQLite returns, page by page, ties included, and leaves the planner as it found it."""
    from nbtrack.query import plan as plan_module
    from nbtrack.query.search import _search_query

    lite, pg = stores
    rows = bundle(1500, seed=5)
    for st in (lite, pg):
        add_rows(st, rows)
    searches = [
        ("params.model = 'rf' AND tags.stage = 'prod'", ["metrics.acc DESC"]),
        ("params.model = 'rf' AND metrics.loss > 0", ["metrics.acc"]),
        ("metrics.acc > 0 AND tags.stage LIKE 'pr%'", None),
        ("params.model = 'xgb' AND params.p1 != 'x'", ["metrics.loss DESC", "params.p2"]),
        (
            "params.p0 = 'tab\\there' AND tags.stage = 'prod'",
            ["metrics.acc DESC"],
        ),  # rare: not walked
    ]
    walked = []
    for text, order in searches:
        plan, _ = _search_query(pg, text, None, order, False)
        walked.append(pg.read(lambda conn, p=plan: (p.queries(conn, 21), p.as_written)[1]))
        pages: list[list[list[str]]] = [[], []]
        for got, st in zip(pages, (lite, pg), strict=True):
            token = None
            for _ in range(3):
                ids, token = search_run_ids(
                    st, text, order_by=order, max_results=20, page_token=token
                )
                got.append(ids)
        assert pages[0] == pages[1], text
        assert search_run_ids(lite, text, order_by=order) == search_run_ids(
            pg, text, order_by=order
        )
    assert walked[:4] == [True] * 4 and walked[4] is False

    def settings_after_a_walk(conn: Any) -> list[str]:
        plan, _ = _search_query(pg, searches[0][0], None, searches[0][1], False)
        assert plan.ids(conn, 0, 10) and plan.as_written
        return [conn.exec_driver_sql(f"SHOW {k}").scalar() for k in plan_module._WRITTEN_ORDER]

    before = pg.read(
        lambda conn: [
            conn.exec_driver_sql(f"SHOW {k}").scalar() for k in plan_module._WRITTEN_ORDER
        ]
    )
    assert pg.read(settings_after_a_walk) == before


def test_a_walked_search_pages_on_into_the_runs_without_the_order_metric(
    stores: tuple[Store, Store],
) -> None:
    """The runs lacking the order's metric come after those that have it, once each (the
    walked head's key condition stays out of the tail query), on both backends."""
    rows = bundle(1200, seed=9)
    rids = [r["id"] for r in rows["runs"]]
    have = set(rids[::100])  # few: the page that passes them is walked
    rows["latest_metrics"] += [
        {
            "run_id": rid,
            "key": "f1",
            "value": float(i % 7),
            "step": 0,
            "timestamp": 1.0,
            "min_value": 0.0,
            "max_value": 9.0,
            "count": 1,
        }
        for i, rid in enumerate(rids)
        if rid in have
    ]
    for st in stores:
        add_rows(st, rows)
    text = "params.model = 'rf' AND tags.stage = 'prod'"
    expected = {r["run_id"] for r in rows["params"] if (r["key"], r["value"]) == ("model", "rf")}
    got = []
    for st in stores:
        ids, token = [], None
        while True:
            page, token = search_run_ids(
                st, text, order_by=["metrics.f1 DESC"], max_results=10, page_token=token
            )
            ids += page
            if token is None:
                break
        got.append(ids)
    assert got[0] == got[1]
    assert len(got[0]) == len(set(got[0])) == len(expected) == 600
    assert set(got[0]) == expected
    firsts = [i for i in got[0] if i in have]
    assert got[0][: len(firsts)] == firsts  # every run with the metric before every run without

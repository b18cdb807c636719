"""Every way the search plan can read a PostgreSQL store finds what SQLite finds.

The plan walks the order's index with its joins as written, or lets PostgreSQL join and sort
(``plan.PG_LOOKUP_COST`` decides between them): whichever it takes, a search returns the same
run ids in the same order, page by page, as SQLite, with deleted runs and runs of deleted
experiments left out (or in, when asked for).
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update
from test_bulk_load import bundle

from nbtrack.query import plan as plan_module
from nbtrack.query.search import _search_query, search_run_ids
from nbtrack.store import Store
from nbtrack.store import schema as s
from nbtrack.store.edits import set_deleted
from nbtrack.store.migrations import schema_version
from nbtrack.store.transfer import add_rows

FILTERS = [
    "params.model = 'rf'",
    "params.model = 'rf' AND tags.stage = 'prod'",
    "metrics.acc > 0 AND params.model = 'rf' AND tags.stage LIKE 'prod%'",
    "params.model != 'rf' AND metrics.acc > 0",
    "tags.stage LIKE 'pr%' AND metrics.loss < 0.5",
    "params.p0 IN ('tab\there', '') AND params.model = 'xgb'",
    "params.p1 NOT LIKE '%x%' AND tags.stage = 'dev'",
    "params.p2 = 'ünïcödé ✓ 𝛼' AND metrics.loss >= 0 AND metrics.acc != 7.0",
]
ORDERS: list[list[str] | None] = [
    ["metrics.acc DESC"],
    ["metrics.loss"],
    ["params.p2 DESC"],
    None,  # newest first
    ["attributes.start_time"],
]
# PG_LOOKUP_COST: walk whenever the order's index can be walked; never walk
PLANS = {"walk": 1e-9, "postgresql": 1e12}


@pytest.fixture
def stores(tmp_path: Path, pg_url: str, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The same 1,500 runs in SQLite and PostgreSQL: half of them in a deleted experiment,
    a tenth of the rest deleted."""
    monkeypatch.setenv("NBTRACK_BLOBS", str(tmp_path / "blobs"))
    lite, pg = Store(str(tmp_path / "store")), Store(pg_url)
    rows = bundle(1500, seed=11)
    deleted = random.Random(4).sample([r["id"] for r in rows["runs"]], 150)
    for st in (lite, pg):
        add_rows(st, rows)
        set_deleted(st, deleted, True)
    yield lite, pg
    lite.close()
    pg.close()


def pages(store: Store, text: str, order: list[str] | None, deleted: bool) -> list[list[str]]:
    """The whole search, then its first three pages of 20 (fewer if it ends sooner)."""
    out = [search_run_ids(store, text, order_by=order, include_deleted=deleted)[0]]
    token = None
    for _ in range(3):
        ids, token = search_run_ids(
            store, text, order_by=order, max_results=20, page_token=token, include_deleted=deleted
        )
        out.append(ids)
        if token is None:
            break
    return out


def test_every_plan_on_postgresql_finds_the_runs_sqlite_finds_in_its_order(
    stores: tuple[Store, Store], monkeypatch: pytest.MonkeyPatch
) -> None:
    lite, pg = stores
    for text in FILTERS:
        for order in ORDERS:
            for deleted in (False, True):
                expected = pages(lite, text, order, deleted)
                # every filter finds runs, once deleted ones count (xgb's are all deleted)
                assert expected[0] or not deleted, text
                assert sum(expected[1:], []) == expected[0][:60]
                for name, cost in PLANS.items():
                    monkeypatch.setattr(plan_module, "PG_LOOKUP_COST", cost)
                    assert pages(pg, text, order, deleted) == expected, (name, text, order)


def test_a_walked_search_leaves_out_deleted_runs_and_experiments(
    stores: tuple[Store, Store], monkeypatch: pytest.MonkeyPatch
) -> None:
    lite, pg = stores
    monkeypatch.setattr(plan_module, "PG_LOOKUP_COST", PLANS["walk"])
    live = set(search_run_ids(lite, None)[0])
    everything = set(search_run_ids(lite, None, include_deleted=True)[0])
    assert len(everything) == 1500 and 600 < len(live) < 750
    plan, _ = _search_query(pg, "params.model = 'rf'", None, ["metrics.acc DESC"], False)
    assert pg.read(lambda conn: (plan.queries(conn, 21), plan.as_written)[1])  # it walks
    for st in (lite, pg):
        got = search_run_ids(st, "params.model = 'rf'", order_by=["metrics.acc DESC"])[0]
        rf = search_run_ids(
            st, "params.model = 'rf'", order_by=["metrics.acc DESC"], include_deleted=True
        )[0]
        assert set(got) == set(rf) & live and len(rf) == 750


def test_a_walk_reads_tags_from_the_covering_index_that_a_version_5_store_gains(
    stores: tuple[Store, Store], pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Schema 6: on PostgreSQL a walk looks each candidate run's tag up in an index holding
    the value (a LIKE cannot use ``(key, value, run_id)``), not in the table; a store made
    before gains that index when it is opened. SQLite's tags table needs none."""
    lite, pg = stores
    pg.close()

    def downgrade(conn: Any) -> None:
        conn.exec_driver_sql("DROP INDEX ix_tags_run_key_value")
        conn.execute(update(s.meta).where(s.meta.c.key == "schema_version").values(value="5"))

    old = Store(pg_url)
    old.write(downgrade)
    old.close()
    pg = Store(pg_url)
    assert pg.read(schema_version) == lite.read(schema_version) == s.SCHEMA_VERSION == 6
    with pg.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("VACUUM (ANALYZE) tags")  # as autovacuum does: index-only reads
    text = "metrics.acc > 0 AND params.model = 'rf' AND tags.stage LIKE 'prod%'"
    monkeypatch.setattr(plan_module, "PG_LOOKUP_COST", PLANS["walk"])
    plan, _ = _search_query(pg, text, None, ["metrics.acc DESC"], False)

    def explain(conn: Any) -> str:
        head = plan.queries(conn, 20)[0].limit(20)
        sql = str(head.compile(dialect=conn.dialect, compile_kwargs={"literal_binds": True}))
        run = lambda: "\n".join(conn.exec_driver_sql("EXPLAIN " + sql).scalars())  # noqa: E731
        return plan_module._as_written(conn, run)

    assert "Index Only Scan using ix_tags_run_key_value" in pg.read(explain)
    found = search_run_ids(pg, text, order_by=["metrics.acc DESC"])[0]
    assert found and found == search_run_ids(lite, text, order_by=["metrics.acc DESC"])[0]
    assert not lite.read(
        lambda conn: conn.exec_driver_sql(
            "SELECT name FROM sqlite_master WHERE name = 'ix_tags_run_key_value'"
        ).all()
    )
    pg.close()

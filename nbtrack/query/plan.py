"""A search as SQL: the ids of the runs matching a filter, in order, a page at a time.

Three choices make a search over 100,000 runs fast:

- The filter's top-level AND conditions on metrics, params and tags are inner joins on their
  ``(run_id, key)`` tables, each looked up by primary key. Other conditions (OR, NOT,
  IS NULL, cells, attributes) stay as :mod:`.compiler` writes them.
- Ordering by a metric walks that metric's ``(key, value, run_id)`` index in order and stops
  at the end of the page; newest first walks ``(start_time, id)``. Runs without the metric
  (or whose value is NaN) sort last: they are a second query, the ``tail``, run only when a
  page reaches past the runs that have it.
- SQLite keeps no statistics, so it cannot tell ``params.seed = '42'`` (10 runs) from
  ``params.model = 'rf'`` (20,000). Before a filtered search the plan counts how often each
  joined condition holds in a sample of runs, then fixes the join order (CROSS JOIN): either
  walk the order's index, testing the rarest condition first, or start from the rarest
  condition's ``(key, value)`` index and sort what matches, whichever reads fewer rows. The
  odds are remembered per filter and database for ``ODDS_SECONDS``, so the next page or a
  refresh does not sample again.
- PostgreSQL has statistics, but they take ``key`` and ``value`` as independent and guess at
  LIKE and NOT IN, so a filter's matches are often estimated at a tenth of what they are; it
  then joins everything and sorts it (338 ms at 100,000 runs) where walking the order's index
  reads a page's worth. The plan takes the same sampled odds there, with a walk's look-ups
  weighed at ``PG_LOOKUP_COST`` rows: when they say walk, the head query runs with the join
  order as written and nested loops only (:func:`_as_written`); otherwise PostgreSQL plans
  the joins itself.

Ties are broken as MLflow breaks them: newest start first, then run id ascending; the
engine reads the first key's order from its index and sorts only each run of equal values.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import Float, Select, and_, case, exists, func, literal_column, select
from sqlalchemy.engine import Connection
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import ColumnElement, Join
from sqlalchemy.sql.visitors import InternalTraversal

from nbtrack.query.compiler import compile_node, key_column, key_table, value_test
from nbtrack.query.nodes import BoolOp, Compare, Ident
from nbtrack.query.ordering import order_clauses, parse_order_by, tie_break
from nbtrack.query.parser import parse
from nbtrack.store import schema as s

T = TypeVar("T")
SAMPLE = 500  # runs sampled to learn how often each condition holds
# A filter's odds are learned once and reused for ODDS_SECONDS by later searches with the same
# filter on the same database (the next page, the sidebar's refresh): sampling is about a tenth
# of a filtered search at a million runs. Odds only choose the join order, never the answer.
ODDS_SECONDS = 60.0
_LEARNED: dict[tuple[str, str], tuple[float, list[float], int]] = {}
_MAX_LEARNED = 256
# On PostgreSQL a look-up per run in a nested loop costs about six times a row read and hashed
# from the rarest condition's index (EXPLAIN ANALYZE, CPU time at 200,000 runs): a walk must
# read six times fewer rows to pay (bench/RESULTS.md, "A million runs: PostgreSQL").
PG_LOOKUP_COST = 6
# Top-level conditions on at most MAX_JOINS distinct keys are joined; those on further keys are
# semi-joins (subqueries), so a filter never meets SQLite's 64-table limit on a join.
MAX_JOINS = 16


@dataclass
class Plan:
    """A search, turned into SQL for a given connection by :meth:`queries`."""

    where: list[ColumnElement[bool]]  # conditions on runs
    joins: dict[Any, str]  # alias of params, tags or latest_metrics -> the key it is joined on
    tests: list[tuple[Any, ColumnElement[bool]]]  # (alias, value test) of each joined condition
    items: list[tuple[Ident, bool]]  # the order, first key first
    exact: set[Any]  # the aliases of params and tags tested only for being some strings
    order_alias: Any | None = None  # the join the first key (a metric) is read from, if any
    as_written: bool = False  # the last head query is to run in its written join order (PostgreSQL)
    source: str | None = None  # the filter's text: the key its odds are remembered by

    def ids(self, conn: Connection, offset: int = 0, limit: int | None = None) -> list[str]:
        """Run ids ``offset`` to ``offset + limit`` of the search (all of them for ``limit=None``)."""
        return [row[0] for row in self.rows(conn, [s.runs.c.id], offset, limit)]

    def rows(
        self, conn: Connection, columns: Sequence[Any], offset: int = 0, limit: int | None = None
    ) -> list[tuple[Any, ...]]:
        """``columns`` (expressions over ``runs``) of the same runs as :meth:`ids`, in order."""
        queries = self.queries(conn, None if limit is None else offset + limit)
        head = queries[0].with_only_columns(*columns)
        tail = queries[1].with_only_columns(*columns) if queries[1] is not None else None
        if self.as_written:
            rows = _as_written(conn, lambda: fetch(conn, _page(head, offset, limit)))
        else:
            rows = fetch(conn, _page(head, offset, limit))
        if tail is None or (limit is not None and len(rows) >= limit):
            return rows
        skip = 0 if rows or not offset else max(0, offset - count(conn, queries[0]))
        rest = None if limit is None else limit - len(rows)
        return rows + fetch(conn, _page(tail, skip, rest))

    def count(self, conn: Connection) -> int:
        return sum(count(conn, q) for q in self.queries(conn, None) if q is not None)

    def queries(self, conn: Connection, need: int | None) -> tuple[Select[Any], Select[Any] | None]:
        """The ``head`` query (SELECT runs.id ... ORDER BY ...) and the ``tail`` (the runs
        sorting after every row of head, in order, or None) for the first ``need`` rows."""
        ident, descending = self.items[0]

        def direction(c: Any) -> Any:
            return c.desc() if descending else c.asc()

        joins, order_alias = dict(self.joins), self.order_alias
        if ident.kind == "metric" and order_alias is None:
            order_alias = s.latest_metrics.alias("order_key")
            joins[order_alias] = ident.key
        conditions = [*self.where, *(t for _, t in self.tests)]
        driving: list[ColumnElement[bool]] = []  # the key of the table read first (head only)
        sqlite = conn.dialect.name == "sqlite"
        odds = self._odds(conn) if self.tests else None
        walk, source = True, _joined(joins)  # without odds the engine picks the order of the joins
        self.as_written = False
        if odds is not None:
            ratio, n = odds
            walkable = ident.kind == "metric" or (ident.kind, ident.key) == ("attr", "start_time")
            others = math.prod(ratio.get(a, 1.0) for a in joins if a is not order_alias)
            # rows read walking the order until the page is full, or starting from the rarest
            # (multiplied out: a product of many small odds may round to 0)
            cost = 1 if sqlite else PG_LOOKUP_COST
            walk = (
                walkable
                and (n if need is None else need) * cost <= n * min(ratio.values()) * others
            )
            self.as_written = walk and not sqlite
            if not sqlite and not walk:
                odds, walk = None, True  # PostgreSQL plans it from its statistics
        if odds is not None:
            tables = sorted(joins, key=lambda a: ratio.get(a, 1.0))  # rarest first
            first: Any = tables[0] if not walk else s.runs if order_alias is None else order_alias
            source = _in_order(
                first, [t for t in [*tables, s.runs] if t is not first], joins, self.exact
            )
            if first is not s.runs:
                driving.append(first.c.key == joins[first])
        if ident.kind != "metric":
            ordered, clauses = order_clauses(source, self.items, indexed=walk)
            query = select(s.runs.c.id).select_from(ordered).where(*conditions, *driving)
            return query.order_by(*clauses, *tie_break(self.items)), None

        assert order_alias is not None  # a metric order reads a latest_metrics join
        col = key_column(ident, order_alias)
        head_source, rest = order_clauses(source, self.items[1:], first=1)
        head = (
            select(s.runs.c.id)
            .select_from(head_source)
            .where(*conditions, *driving, col.is_not(None))
            .order_by(direction(col if walk else col + 0), *rest, *tie_break(self.items))
        )
        lm = s.latest_metrics.alias("has_key")
        lacking = ~exists().where(
            _on(lm, ident.key, s.runs.c.id), key_column(ident, lm).is_not(None)
        )
        # a NaN value (a row whose value is NULL) before no value at all, as MLflow
        nan = s.latest_metrics.alias("nan_key")
        nan_first = case((exists().where(_on(nan, ident.key, s.runs.c.id)), 0), else_=1)
        tail_source, rest = order_clauses(_joined(self.joins), self.items[1:], first=1)
        tail = (
            select(s.runs.c.id)
            .select_from(tail_source)
            .where(*conditions, lacking)
            .order_by(nan_first, *rest, *tie_break(self.items))
        )
        return head, tail

    def _odds(self, conn: Connection) -> tuple[dict[Any, float], int] | None:
        """The sampled odds of the joins' conditions (:func:`_odds`), reused while fresh."""
        if self.source is None:
            return _odds(conn, self.joins, self.tests)
        key = (str(conn.engine.url), self.source)
        now = time.monotonic()
        known = _LEARNED.get(key)
        if known is not None and now - known[0] < ODDS_SECONDS:  # (the text gives the joins)
            return dict(zip(self.joins, known[1], strict=True)), known[2]
        odds = _odds(conn, self.joins, self.tests)
        if odds is not None:
            if len(_LEARNED) >= _MAX_LEARNED:
                _LEARNED.clear()
            _LEARNED[key] = (now, [odds[0][a] for a in self.joins], odds[1])
        return odds


def plan_search(
    filter_text: str | None,
    order_by: Sequence[str] | None = None,
    where: Sequence[ColumnElement[bool]] = (),
) -> Plan:
    """The plan of a search: ``filter_text`` in the query language, ``order_by`` items
    (default newest first) and further conditions on ``runs``. Raises QueryError."""
    node = parse(filter_text) if filter_text else None
    plan = Plan(list(where), {}, [], parse_order_by(order_by), set(), source=filter_text)
    joined: dict[tuple[str, str], Any] = {}
    conjuncts = (
        node.items if isinstance(node, BoolOp) and node.op == "AND" else (node,) if node else ()
    )
    for part in conjuncts:
        if (
            not isinstance(part, Compare)
            or part.ident.kind not in ("metric", "param", "tag")
            or part.op == "IS NULL"
        ):
            plan.where.append(compile_node(part))
            continue
        kind = part.ident.kind
        alias = joined.get((kind, part.ident.key))
        if alias is None and len(joined) >= MAX_JOINS:
            plan.where.append(compile_node(part))
            continue
        if alias is None:
            alias = joined[(kind, part.ident.key)] = key_table(kind).alias(f"filter_{len(joined)}")
            plan.joins[alias] = part.ident.key
            plan.exact.add(alias)
        plan.tests.append((alias, value_test(part, alias)))
        if (
            kind == "metric"
            or part.op not in ("=", "IN")
            or not all(isinstance(v, str) for v in part.values)
        ):
            plan.exact.discard(alias)
    first = plan.items[0][0]
    plan.order_alias = joined.get(("metric", first.key)) if first.kind == "metric" else None
    return plan


def _odds(
    conn: Connection, joins: dict[Any, str], tests: list[tuple[Any, ColumnElement[bool]]]
) -> tuple[dict[Any, float], int] | None:
    """How often each join's tests hold in a sample of runs, and about how many runs there
    are. The sample is the first runs in id order (ids are random); each join is looked up
    by primary key."""
    sample = select(s.runs.c.id).order_by(s.runs.c.id).limit(SAMPLE).subquery("sample")
    hits = [
        func.count(
            case((exists().where(_on(a, key, sample.c.id), *(t for b, t in tests if b is a)), 1))
        )
        for a, key in joins.items()
    ]
    if conn.dialect.name == "sqlite":
        total: Any = select(func.max(literal_column("rowid"))).select_from(s.runs).scalar_subquery()
    else:  # the planner's estimate; -1 (or 0) until the table was first analyzed
        total = literal_column(
            "(SELECT reltuples FROM pg_class WHERE oid = to_regclass('runs'))", Float
        )
    size, n, *counts = conn.execute(select(func.count(), total, *hits).select_from(sample)).one()
    if not size or n is None or n <= 0:
        return None
    return {a: max(c, 0.5) / size for a, c in zip(joins, counts, strict=True)}, max(int(n), size)


class _Then(Join):
    """An inner join that SQLite performs in the written order (CROSS JOIN ... ON), reading
    the right side through ``index``."""

    _traverse_internals = [
        *Join._traverse_internals,
        ("index", InternalTraversal.dp_string),
    ]  # cache key
    inherit_cache = True

    def __init__(self, left: Any, right: Any, onclause: Any, index: str | None):
        super().__init__(left, right, onclause)
        self.index = index


@compiles(_Then, "sqlite")
def _then_sqlite(join: _Then, compiler: Any, **kw: Any) -> str:
    kw["asfrom"] = True
    left, right = (compiler.process(t, **kw) for t in (join.left, join.right))
    kw.pop("asfrom")
    if join.index:
        right += f" INDEXED BY {join.index}"
    return f"{left} CROSS JOIN {right} ON {compiler.process(join.onclause, **kw)}"


@compiles(_Then)
def _then_default(join: _Then, compiler: Any, **kw: Any) -> str:
    return str(compiler.visit_join(join, **kw))


def _joined(joins: dict[Any, str]) -> Any:
    source: Any = s.runs
    for alias, key in joins.items():
        source = source.join(alias, _on(alias, key, s.runs.c.id))
    return source


def _in_order(first: Any, rest: list[Any], joins: dict[Any, str], exact: set[Any]) -> Any:
    """``first`` (runs or a join alias) then each of ``rest``, joined by run id in this order.
    Runs are read through their covering index; a param or tag tested for equality only,
    through its ``(key, value, run_id)`` index, whose entries for that value sit together."""
    run_id = s.runs.c.id if first is s.runs else first.c.run_id
    source = first
    for t in rest:
        if t is s.runs:
            source = _Then(source, t, t.c.id == run_id, "ix_runs_search")
        else:
            index = f"ix_{t.element.name}_key_value" if t in exact else None
            source = _Then(source, t, _on(t, joins[t], run_id), index)
    return source


# PostgreSQL's planner, for one query: the joins in the order written (each inner side looked up
# per row of what precedes it), the order read from the first table's index rather than
# sorted; JIT and parallel workers cost more than a page's worth of look-ups.
_WRITTEN_ORDER = {
    "join_collapse_limit": "1",
    "from_collapse_limit": "1",
    "enable_hashjoin": "off",
    "enable_mergejoin": "off",
    "enable_sort": "off",
    "enable_memoize": "off",  # each run is looked up once: a cache of look-ups never hits
    "jit": "off",
    "max_parallel_workers_per_gather": "0",
}


def _as_written(conn: Connection, run: Callable[[], T]) -> T:
    """``run()`` with PostgreSQL planning in the written join order (``_WRITTEN_ORDER``), set
    for the transaction and put back after, so the caller's further queries plan freely."""
    names = list(_WRITTEN_ORDER)

    def set_all(values: Sequence[str]) -> Any:
        calls = [func.set_config(k, v, True) for k, v in zip(names, values, strict=True)]
        return conn.execute(select(*calls)).one()

    before = conn.execute(select(*(func.current_setting(k) for k in names))).one()
    set_all([_WRITTEN_ORDER[k] for k in names])
    result = run()
    set_all(list(before))
    return result


def _on(alias: Any, key: str, run_id: Any) -> ColumnElement[bool]:
    return and_(alias.c.run_id == run_id, alias.c.key == key)


def _page(query: Select[Any], offset: int, limit: int | None) -> Select[Any]:
    if limit is not None:
        query = query.limit(limit)
    return query.offset(offset) if offset else query


def count(conn: Connection, query: Select[Any]) -> int:
    counted = select(func.count()).select_from(query.order_by(None).subquery())
    return int(conn.execute(counted).scalar() or 0)


def fetch(conn: Connection, query: Any) -> list[tuple[Any, ...]]:
    """All rows of ``query`` as plain tuples; on SQLite straight from the driver's cursor.

    The statement is compiled by SQLAlchemy with every value as a bound parameter; going
    around its result objects roughly halves the cost of fetching a million rows.
    """
    if conn.dialect.name != "sqlite":
        return [tuple(row) for row in conn.execute(query)]
    compiled = query.compile(dialect=conn.dialect, compile_kwargs={"render_postcompile": True})
    params = compiled.construct_params()
    values = [params[name] for name in compiled.positiontup or []]
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        rows: list[tuple[Any, ...]] = cursor.execute(str(compiled), values).fetchall()
        return rows
    finally:
        cursor.close()

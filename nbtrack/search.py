"""Search runs with the filter language; runs and metric histories as pandas DataFrames.

``search_run_ids`` is the primitive (ids in order plus a page token); ``search_runs`` builds
its DataFrame column-wise from four bulk queries (runs, params, latest metrics, tags)
over the selected runs, never from per-run dicts.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from .errors import NotFoundError, ValidationError

if TYPE_CHECKING:
    import pandas as pd
    from sqlalchemy import Select
    from sqlalchemy.engine import Connection

    from .store import Store

RUN_COLUMNS = [
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
_ID_LIST_MAX = (
    2000  # up to this many runs are fetched by id; more by re-running the search as a subquery
)


def search_run_ids(
    store: Store | None,
    filter_string: str | None = None,
    experiment_names: Sequence[str] | None = None,
    order_by: Sequence[str] | None = None,
    max_results: int | None = None,
    page_token: str | None = None,
    include_deleted: bool = False,
) -> tuple[list[str], str | None]:
    """Ids of the runs matching ``filter_string``, in ``order_by`` order, and the next page's token.

    ``max_results=None`` returns every match (and no token); ``order_by`` defaults to
    newest first. Unknown experiment names raise NotFoundError; a bad filter QueryError.
    """
    from .query import decode_page_token, encode_page_token

    store = _store(store)
    query, fp = _search_query(store, filter_string, experiment_names, order_by, include_deleted)
    offset = decode_page_token(page_token, fp)
    limit = _check_max_results(max_results)
    if limit is not None:
        query = query.limit(limit + 1)
    if offset:
        query = query.offset(offset)
    ids = store.read(lambda conn: [row[0] for row in _fetch(conn, query)])
    if limit is not None and len(ids) > limit:
        return ids[:limit], encode_page_token(offset + limit, fp)
    return ids, None


def search_runs(
    filter_string: str | None = None,
    experiment_names: Sequence[str] | None = None,
    order_by: Sequence[str] | None = None,
    max_results: int | None = None,
    page_token: str | None = None,
    store: Store | None = None,
) -> pd.DataFrame:
    """Matching runs as a DataFrame, one row per run in ``order_by`` order.

    Columns: run_id, run_name, experiment, status, start_time, end_time (UTC datetimes),
    duration (seconds), user, parent_run_id, then ``params.*``, ``metrics.*`` (latest
    values) and ``tags.*``, each group sorted by key. Deleted runs are left out. The token
    of the next page, if any, is in ``df.attrs["next_page_token"]``.
    """

    from .query import decode_page_token

    store = _store(store)
    query, fp = _search_query(store, filter_string, experiment_names, order_by, False)
    offset = decode_page_token(page_token, fp)
    limit = _check_max_results(max_results)
    paged = query.limit(limit + 1) if limit is not None else query
    if offset:
        paged = paged.offset(offset)

    def fn(conn: Connection) -> pd.DataFrame:
        ids = [row[0] for row in _fetch(conn, paged)]
        token = None
        if limit is not None and len(ids) > limit:
            from .query import encode_page_token

            ids, token = ids[:limit], encode_page_token(offset + limit, fp)
        if len(ids) <= _ID_LIST_MAX:
            selection: Any = ids
        else:  # the same search again as a subquery: cheaper than binding 100,000 ids
            selection = (
                query.limit(limit).offset(offset)
                if limit is not None
                else query.offset(offset)
                if offset
                else query
            )
            selection = selection.order_by(None).subquery()
        df = _frame(conn, ids, selection)
        df.attrs["next_page_token"] = token
        return df

    return store.read(fn)


def get_run(run_id: str, store: Store | None = None) -> dict[str, Any]:
    """Everything about one run (a unique id prefix will do): its row, experiment, params,
    latest metrics and tags, plus ``metric_summary`` (latest/min/max/step/count per metric)."""
    store = _store(store)
    full = store.resolve_run_id(run_id)
    runs = store.run_summaries([full])
    if not runs:
        raise NotFoundError(f"no run with id {run_id!r}")
    return {**runs[0], "metric_summary": store.metric_summary(full)}


def get_metric_history(run_id: str, key: str, store: Store | None = None) -> pd.DataFrame:
    """Every logged point of metric ``key`` of a run: step, value, timestamp (UTC datetime)."""
    import pandas as pd

    store = _store(store)
    full = store.resolve_run_id(run_id)
    points = store.metric_history(full, key)
    if not points and key not in store.metric_summary(full):
        raise NotFoundError(f"run {full} has no metric {key!r}")
    df = pd.DataFrame(points, columns=["step", "value", "timestamp"])
    df["step"] = df["step"].astype("int64")
    df["value"] = df["value"].astype("float64")
    df["timestamp"] = pd.to_datetime(df["timestamp"].astype("float64"), unit="s", utc=True)
    return df


# -- the query ------------------------------------------------------------------------------
def _store(store: Store | None) -> Store:
    if store is not None:
        return store
    from .store import open_store

    return open_store()


def _check_max_results(max_results: int | None) -> int | None:
    if max_results is None:
        return None
    if isinstance(max_results, bool) or not isinstance(max_results, int) or max_results < 1:
        raise ValidationError(
            f"max_results must be a positive integer or None, not {max_results!r}"
        )
    return max_results


def _search_query(
    store: Store,
    filter_string: str | None,
    experiment_names: Sequence[str] | None,
    order_by: Sequence[str] | None,
    include_deleted: bool,
) -> tuple[Select[Any], str]:
    """The ordered ``SELECT runs.id`` of a search and the fingerprint its page tokens carry."""
    from sqlalchemy import select

    from .query import apply_order_by, compile_filter, fingerprint
    from .store import schema as s

    if isinstance(experiment_names, str):
        experiment_names = [experiment_names]
    if isinstance(order_by, str):
        order_by = [order_by]
    r, e = s.runs, s.experiments
    query = select(r.c.id).where(compile_filter(filter_string))
    if experiment_names:
        query = query.where(r.c.experiment_id.in_(_experiment_ids(store, list(experiment_names))))
    if not include_deleted:
        query = query.where(
            r.c.deleted_at.is_(None),
            r.c.experiment_id.not_in(select(e.c.id).where(e.c.deleted_at.is_not(None))),
        )
    query = apply_order_by(query, list(order_by) if order_by is not None else None)
    fp = fingerprint(
        filter_string or "", sorted(experiment_names or []), list(order_by or []), include_deleted
    )
    return query, fp


def _experiment_ids(store: Store, names: list[str]) -> list[int]:
    from sqlalchemy import select

    from .store import schema as s

    e = s.experiments
    known = dict(store.read(lambda conn: conn.execute(select(e.c.name, e.c.id)).all()))
    missing = [n for n in names if n not in known]
    if missing:
        guess = difflib.get_close_matches(missing[0], list(known), n=1)
        hint = (
            f"; did you mean {guess[0]!r}?"
            if guess
            else f" (experiments: {', '.join(sorted(known)[:10]) or 'none'})"
        )
        raise NotFoundError(f"no experiment named {missing[0]!r}{hint}")
    return [known[n] for n in names]


def _fetch(conn: Connection, query: Any) -> list[tuple[Any, ...]]:
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
        return cursor.execute(str(compiled), values).fetchall()
    finally:
        cursor.close()


# -- the DataFrame --------------------------------------------------------------------------
def _frame(conn: Connection, ids: list[str], selection: Any) -> pd.DataFrame:
    import numpy as np
    import pandas as pd
    from sqlalchemy import select

    from .store import schema as s

    r, e = s.runs, s.experiments
    n = len(ids)
    position = pd.Index(ids, dtype=object)

    def among(col: Any) -> Any:
        return (
            col.in_(selection) if isinstance(selection, list) else col.in_(select(selection.c.id))
        )

    def rows_of(table: Any) -> list[tuple[Any, ...]]:
        return (
            _fetch(
                conn,
                select(table.c.run_id, table.c.key, table.c.value).where(among(table.c.run_id)),
            )
            if n
            else []
        )

    run_rows = (
        _fetch(
            conn,
            select(
                r.c.id,
                r.c.name,
                e.c.name,
                r.c.status,
                r.c.start_time,
                r.c.end_time,
                r.c.user,
                r.c.parent_run_id,
            )
            .join(e, e.c.id == r.c.experiment_id)
            .where(among(r.c.id)),
        )
        if n
        else []
    )
    cols = list(zip(*run_rows, strict=False)) if run_rows else [()] * 8
    order = position.get_indexer(cols[0]) if run_rows else np.array([], dtype=np.int64)

    def placed(values: Sequence[Any], dtype: Any) -> np.ndarray:
        out = np.empty(n, dtype=dtype)
        out[order] = values
        return out

    start = placed(cols[4], "float64")
    end = placed([np.nan if v is None else v for v in cols[5]], "float64")
    data: dict[str, Any] = {
        "run_id": np.array(ids, dtype=object),
        "run_name": placed(cols[1], object),
        "experiment": placed(cols[2], object),
        "status": placed(cols[3], object),
        "start_time": pd.to_datetime(start, unit="s", utc=True),
        "end_time": pd.to_datetime(end, unit="s", utc=True),
        "duration": end - start,
        "user": placed(cols[6], object),
        "parent_run_id": placed(cols[7], object),
    }
    for prefix, table in (("params.", s.params), ("metrics.", s.latest_metrics), ("tags.", s.tags)):
        rows = rows_of(table)
        data.update(_pivot(prefix, rows, position, n, numeric=prefix == "metrics."))
    frame = pd.DataFrame({k: pd.Series(v, dtype=object) if isinstance(v, np.ndarray) and v.dtype == object else v
                          for k, v in data.items()}, index=pd.RangeIndex(n))
    return frame


def _pivot(prefix: str, rows: list[tuple[Any, ...]], position: Any, n: int, numeric: bool) -> dict[str, Any]:
    """``{prefix + key: column}`` from ``(run_id, key, value)`` rows, a column per key.

    A run's rows are usually adjacent, so run ids are looked up once per stretch of equal
    ids rather than once per row (correct either way).
    """
    import numpy as np
    import pandas as pd

    if not rows:
        return {}
    run_ids, keys, values = zip(*rows, strict=False)
    rid = np.array(run_ids, dtype=object)
    change = np.ones(len(rid), dtype=bool)
    np.not_equal(rid[1:], rid[:-1], out=change[1:])
    starts = np.flatnonzero(change)
    at = np.repeat(position.get_indexer(rid[starts]), np.diff(np.append(starts, len(rid))))
    keep = at >= 0
    codes, uniques = pd.factorize(np.array(keys, dtype=object), sort=True)
    if numeric:
        grid = np.full((len(uniques), n), np.nan)
        vals = np.array(values, dtype="float64")  # None (NaN is stored as NULL) becomes nan
    else:
        grid = np.full((len(uniques), n), None, dtype=object)
        vals = np.array(values, dtype=object)
    grid[codes[keep], at[keep]] = vals[keep]
    return {prefix + key: grid[i] for i, key in enumerate(uniques)}

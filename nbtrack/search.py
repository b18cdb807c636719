"""Search runs with the filter language; runs and metric histories as pandas DataFrames.

``search_run_ids`` is the primitive (ids in order plus a page token); ``search_runs`` builds
its DataFrame column-wise from one query over the selected runs: their rows with their
params, latest metrics and tags as one JSON summary each (``runs.summary``).
"""

from __future__ import annotations

import difflib
import gc
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from .errors import NotFoundError, ValidationError

if TYPE_CHECKING:
    import pandas as pd
    from sqlalchemy.engine import Connection

    from .query import Plan
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
_ID_LIST_MAX = 2000  # up to this many runs are read by id; more by reading every run


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
    plan, fp = _search_query(store, filter_string, experiment_names, order_by, include_deleted)
    offset = decode_page_token(page_token, fp)
    limit = _check_max_results(max_results)
    ids = store.read(lambda conn: plan.ids(conn, offset, None if limit is None else limit + 1))
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

    from .query import decode_page_token, encode_page_token

    store = _store(store)
    plan, fp = _search_query(store, filter_string, experiment_names, order_by, False)
    offset = decode_page_token(page_token, fp)
    limit = _check_max_results(max_results)

    def fn(conn: Connection) -> pd.DataFrame:
        ids = plan.ids(conn, offset, None if limit is None else limit + 1)
        token = None
        if limit is not None and len(ids) > limit:
            ids, token = ids[:limit], encode_page_token(offset + limit, fp)
        gc.disable()  # millions of new objects, none of them garbage: no collections meanwhile
        try:
            df = _frame(conn, ids)
        finally:
            gc.enable()
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
) -> tuple[Plan, str]:
    """The plan of a search and the fingerprint its page tokens carry."""
    from sqlalchemy import select

    from .query import fingerprint, plan_search
    from .store import schema as s

    if isinstance(experiment_names, str):
        experiment_names = [experiment_names]
    if isinstance(order_by, str):
        order_by = [order_by]
    r, e = s.runs, s.experiments
    where = []
    if experiment_names:
        where.append(r.c.experiment_id.in_(_experiment_ids(store, list(experiment_names))))
    if not include_deleted:
        where += [
            r.c.deleted_at.is_(None),
            r.c.experiment_id.not_in(select(e.c.id).where(e.c.deleted_at.is_not(None))),
        ]
    plan = plan_search(filter_string, list(order_by) if order_by is not None else None, where)
    fp = fingerprint(
        filter_string or "", sorted(experiment_names or []), list(order_by or []), include_deleted
    )
    return plan, fp


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


# -- the DataFrame --------------------------------------------------------------------------
def _frame(conn: Connection, ids: list[str]) -> pd.DataFrame:
    """One row per run of ``ids``: the run's columns, then its params, metrics and tags.

    One query reads each run's row and its JSON summary (kept for ended runs, computed
    for the others), so Python parses one document rather than a row per (run, key).
    """
    import numpy as np
    import orjson
    import pandas as pd
    from sqlalchemy import func, select

    from .query.plan import fetch
    from .store import schema as s
    from .store.sql import summary_json

    r, e = s.runs, s.experiments
    n = len(ids)
    position = pd.Index(ids, dtype=object)
    summary = func.coalesce(r.c.summary, summary_json(conn.dialect.name == "sqlite"))
    query = select(
        r.c.id, r.c.name, e.c.name, r.c.status, r.c.start_time, r.c.end_time, r.c.user, r.c.parent_run_id, summary
    ).join(e, e.c.id == r.c.experiment_id)
    if n <= _ID_LIST_MAX:  # more: read every run, keep those of ids
        query = query.where(r.c.id.in_(ids))
    rows = fetch(conn, query) if n else []
    cols = list(zip(*rows, strict=False)) if rows else [()] * 9
    at = position.get_indexer(cols[0]) if rows else np.array([], dtype=np.int64)
    keep = at >= 0
    at = at[keep]

    def placed(values: Sequence[Any], dtype: Any) -> np.ndarray:
        out = np.full(n, np.nan if dtype == "float64" else None, dtype=dtype)
        out[at] = np.asarray(values, dtype=dtype)[keep]
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
    docs = orjson.loads("[" + ",".join(np.asarray(cols[8], dtype=object)[keep]) + "]") if rows else []
    for prefix, part in (("params.", "p"), ("metrics.", "m"), ("tags.", "t")):
        numeric = prefix == "metrics."
        maps = [d[part] or {} for d in docs]  # PostgreSQL aggregates no rows to null
        for key in sorted(set().union(*maps)):
            column = np.full(n, np.nan if numeric else None, dtype="float64" if numeric else object)
            column[at] = np.array([m.get(key) for m in maps], dtype=column.dtype)
            data[prefix + key] = column
    return pd.DataFrame(
        {k: pd.Series(v, dtype=object) if isinstance(v, np.ndarray) and v.dtype == object else v
         for k, v in data.items()},
        index=pd.RangeIndex(n),
    )

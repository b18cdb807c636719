"""Search runs with the filter language; runs and metric histories as pandas DataFrames.

``search_run_ids`` is the primitive (ids in order plus a page token); ``search_runs`` builds
its DataFrame column-wise from one query over the selected runs: their rows with their
params, latest metrics and tags as one JSON summary each (``runs.summary``), which Arrow
reads into columns.
"""

from __future__ import annotations

import difflib
import gc
import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from nbtrack.errors import NotFoundError, ValidationError

if TYPE_CHECKING:
    import pandas as pd
    from sqlalchemy.engine import Connection

    from nbtrack.query import Plan
    from nbtrack.store import Store

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
    from nbtrack.query import decode_page_token, encode_page_token

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
    store: Store | str | os.PathLike[str] | None = None,
) -> pd.DataFrame:
    """Matching runs as a DataFrame, one row per run in ``order_by`` order.

    Columns: run_id, run_name, experiment, status, start_time, end_time (UTC datetimes in
    whole milliseconds, as MLflow), duration (seconds), user, parent_run_id, then ``params.*``,
    ``metrics.*`` (latest values, float64) and ``tags.*``, each group sorted by key; text
    columns have pandas' default dtype for text, missing values are NaN. Deleted runs are left out. The token
    of the next page, if any, is in ``df.attrs["next_page_token"]``.
    """

    from nbtrack.query import decode_page_token, encode_page_token

    store = _store(store)
    plan, fp = _search_query(store, filter_string, experiment_names, order_by, False)
    offset = decode_page_token(page_token, fp)
    limit = _check_max_results(max_results)

    def fn(conn: Connection) -> pd.DataFrame:
        gc.disable()  # millions of new objects, none of them garbage: no collections meanwhile
        try:
            rows = plan.rows(
                conn, _frame_columns(conn), offset, None if limit is None else limit + 1
            )
            token = None
            if limit is not None and len(rows) > limit:
                rows, token = rows[:limit], encode_page_token(offset + limit, fp)
            df = _frame(rows, _experiment_names(conn))
        finally:
            gc.enable()
        df.attrs["next_page_token"] = token
        return df

    return store.read(fn)


def get_run(run_id: str, store: Store | str | os.PathLike[str] | None = None) -> dict[str, Any]:
    """Everything about one run (a unique id prefix will do): its row, experiment, params,
    latest metrics and tags, plus ``metric_summary`` (latest/min/max/step/count per metric)."""
    store = _store(store)
    full = store.resolve_run_id(run_id)
    runs = store.run_summaries([full])
    if not runs:
        raise NotFoundError(f"no run with id {run_id!r}")
    return {**runs[0], "metric_summary": store.metric_summary(full)}


def get_metric_history(
    run_id: str, key: str, store: Store | str | os.PathLike[str] | None = None
) -> pd.DataFrame:
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
def _store(store: Store | str | os.PathLike[str] | None) -> Store:
    """A Store, a path or a URL (an existing store: searching never makes one), or the default."""
    from nbtrack.store import open_store

    return open_store() if store is None else open_store(store, create=False)


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

    from nbtrack.query import fingerprint, plan_search
    from nbtrack.store import schema as s

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

    from nbtrack.store import schema as s

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
def _frame_columns(conn: Connection) -> list[Any]:
    """What :func:`_frame` reads of each run: its columns and its JSON summary (kept for ended
    runs, computed for the others)."""
    from sqlalchemy import func

    from nbtrack.store import schema as s
    from nbtrack.store.summary import summary_json

    r = s.runs.c
    summary = func.coalesce(r.summary, summary_json(conn.dialect.name == "sqlite"))
    return [
        r.id,
        r.name,
        r.experiment_id,
        r.status,
        r.start_time,
        r.end_time,
        r.user,
        r.parent_run_id,
        summary,
    ]


def _experiment_names(conn: Connection) -> dict[int, str]:
    from sqlalchemy import select

    from nbtrack.store import schema as s

    return dict(conn.execute(select(s.experiments.c.id, s.experiments.c.name)).all())


def _frame(rows: list[tuple[Any, ...]], experiments: dict[int, str]) -> pd.DataFrame:
    """One row per run: the run's columns, then its params, metrics and tags. Text columns
    get pandas' default dtype for text (``str`` in pandas 3, object before), as MLflow's do."""
    import numpy as np
    import pandas as pd

    n = len(rows)
    cols = list(zip(*rows, strict=True)) if rows else [()] * 9
    # times in whole milliseconds, as MLflow keeps them (query.jsonsafe.millis, vectorised)
    start = np.floor(np.array(cols[4], dtype="float64") * 1000 + 0.5)
    end = np.floor(np.array(cols[5], dtype="float64") * 1000 + 0.5)  # None -> NaN
    runs = pd.DataFrame(
        {
            "run_id": cols[0],
            "run_name": cols[1],
            "experiment": [experiments[i] for i in cols[2]],
            "status": cols[3],
            "start_time": pd.to_datetime(start, unit="ms", utc=True),
            "end_time": pd.to_datetime(end, unit="ms", utc=True),
            "duration": (end - start) / 1000,
            "user": cols[6],
            "parent_run_id": cols[7],
        },
        index=pd.RangeIndex(n),
    )
    return pd.concat([runs, _key_columns(cols[8])], axis=1) if n else runs


def _key_columns(summaries: Sequence[str]) -> pd.DataFrame:
    """The ``params.*``, ``metrics.*`` and ``tags.*`` columns of runs from their summaries,
    each group sorted by key. Arrow reads the summaries as JSON lines straight into columns;
    a summary holding an infinite metric (JSON has no number for it) is read by orjson."""
    import io

    import pyarrow as pa
    import pyarrow.json as pj

    groups = {"p": "params.", "m": "metrics.", "t": "tags."}
    try:
        table = pj.read_json(io.BytesIO("\n".join(summaries).encode())).flatten()
    except pa.ArrowInvalid:
        return _key_columns_by_orjson(summaries)
    names = sorted(
        (name for name in table.column_names if "." in name),
        key=lambda k: ("pmt".index(k[0]), k[2:]),
    )
    table = table.select(names).rename_columns([groups[name[0]] + name[2:] for name in names])
    for i, name in enumerate(table.column_names):
        if name.startswith("metrics."):  # all-integer or all-null columns too
            table = table.set_column(i, name, table.column(i).cast(pa.float64()))
    return table.to_pandas()


def _key_columns_by_orjson(summaries: Sequence[str]) -> pd.DataFrame:
    import numpy as np
    import orjson
    import pandas as pd

    docs = orjson.loads("[" + ",".join(summaries) + "]")
    data: dict[str, Any] = {}
    for prefix, part in (("params.", "p"), ("metrics.", "m"), ("tags.", "t")):
        maps = [d[part] or {} for d in docs]  # PostgreSQL aggregates no rows to null
        keys = sorted(set().union(*maps))
        for key, values in zip(keys, _values_by_key(maps, keys), strict=True):
            # numpy reads infinity from its text too
            data[prefix + key] = (
                np.array(values, dtype="float64") if prefix == "metrics." else list(values)
            )
    return pd.DataFrame(data, index=pd.RangeIndex(len(docs)))


def _values_by_key(maps: list[dict[str, Any]], keys: list[str]) -> list[Sequence[Any]]:
    """For each of ``keys``, its value in every map (None where missing): one C-level call per
    map when every map has every key, as runs of one experiment usually do."""
    from operator import itemgetter

    if not keys:
        return []
    if sum(map(len, maps)) == len(keys) * len(maps):  # then every map has every key
        if len(keys) == 1:
            return [[m[keys[0]] for m in maps]]
        return list(zip(*map(itemgetter(*keys), maps), strict=True))
    return [[m.get(key) for m in maps] for key in keys]

"""What the filter language can name (prefixes, attributes, cell fields) and the values each takes."""

from __future__ import annotations

import datetime as dt
import re
from typing import TYPE_CHECKING, Any

from nbtrack.query.nodes import Compare, Millis

if TYPE_CHECKING:
    from nbtrack.query.lexer import Token
    from nbtrack.query.parser import _Parser

PREFIXES = {
    "metrics": "metric",
    "metric": "metric",
    "params": "param",
    "param": "param",
    "parameters": "param",
    "parameter": "param",
    "tags": "tag",
    "tag": "tag",
    "attributes": "attr",
    "attribute": "attr",
    "attr": "attr",
    "run": "attr",
    "cells": "cell",
    "cell": "cell",
    "notebook": "notebook",
    "datasets": "dataset",
    "dataset": "dataset",
}
CANONICAL_PREFIX = {
    p: {
        "metric": "metrics",
        "param": "params",
        "tag": "tags",
        "attr": "attributes",
        "cell": "cells",
    }.get(k, p)
    for p, k in PREFIXES.items()
}

# attribute -> type: text | time | number | status | bool
ATTRIBUTES = {
    "run_id": "text",
    "run_name": "text",
    "status": "status",
    "start_time": "time",
    "end_time": "time",
    "experiment": "text",
    "user": "text",
    "parent_run_id": "text",
    "duration": "number",
    "notebook_path": "text",
    "notebook_hash": "text",
    "git_commit": "text",
    "replay_of": "text",
    "reproduced": "bool",
    "notes": "text",
    "artifact_uri": "text",
}
ATTRIBUTE_ALIASES = {
    **{a: a for a in ATTRIBUTES},
    "id": "run_id",
    "name": "run_name",
    "runname": "run_name",
    "created": "start_time",
    "run name": "run_name",  # MLflow's `Run name`, `run name`, `Run Name`
    "experiment_name": "experiment",
    "user_id": "user",
    "parent_id": "parent_run_id",
}
MLFLOW_TAGS = {
    "mlflow.runName": "run_name",
    "mlflow.user": "user",
    "mlflow.parentRunId": "parent_run_id",
}
CELL_FIELDS = {
    "source": "source",
    "error_type": "error_type",
    "error_message": "error_message",
    "status": "status",
    "cell_id": "cell_id",
    "notebook_path": "notebook_path",
    "execution_count": "execution_count",
}
CELL_TYPES = {"execution_count": "number"}
NOTEBOOK_FIELDS = {"path": "notebook_path", "hash": "notebook_hash"}
# datasets.<field>: a run matches when any of its datasets does (as MLflow)
DATASET_FIELDS = {"name": "name", "digest": "digest", "context": "context"}
DATASET_OPS = ("=", "!=", "LIKE", "ILIKE", "IN", "NOT IN", "NOT LIKE", "NOT ILIKE")
STATUSES = ("running", "finished", "failed", "killed")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def type_of(kind: str, key: str) -> str:
    """number | text | time | status | bool; params and tags are text that may compare as numbers."""
    if kind == "metric":
        return "number"
    if kind == "attr":
        return ATTRIBUTES[key]
    if kind == "cell":
        return CELL_TYPES.get(key, "text")
    return "text"


def check(p: _Parser, cmp: Compare, op_tok: Token) -> Compare:
    """``cmp`` with its value tokens checked against the column's type and converted."""

    ident, op = cmp.ident, cmp.op
    typ = type_of(ident.kind, ident.key)
    base = op.removeprefix("NOT ")
    if ident.kind == "dataset" and op not in DATASET_OPS:
        raise p.error(
            op_tok,
            f"'{op}' does not apply to {ident}",
            "datasets.name, datasets.digest and datasets.context take =, !=, [NOT] LIKE, "
            "[NOT] ILIKE, IN (...) and NOT IN (...) with quoted values",
        )
    if op in ("IS NULL", "IS NOT NULL"):
        return cmp
    if base in ("LIKE", "ILIKE"):
        if typ not in ("text", "status"):
            raise p.error(
                op_tok,
                f"{base} does not apply to {ident}, which is a {_TYPE_NAMES[typ]}",
                "LIKE and ILIKE match text (params, tags, names, cells.source); "
                "compare numbers and times with =, !=, <, <=, >, >=",
            )
        tok = cmp.values[0]
        if tok.kind != "STRING":
            raise p.error(
                tok,
                f"{base} takes a quoted pattern, not {tok.describe()}",
                "write a pattern such as 'an%' (% any text, _ one character)",
            )
        return Compare(ident, op, (tok.value,))
    if typ == "bool" and base not in ("=", "!="):
        raise p.error(
            op_tok,
            f"'{op_tok.text}' does not apply to {ident}, which is true or false",
            "write reproduced = true or reproduced = false",
        )
    if typ == "status" and base in (">", ">=", "<", "<="):
        raise p.error(
            op_tok,
            f"'{op_tok.text}' does not apply to {ident}",
            f"compare the status with = or IN: one of {', '.join(STATUSES)}",
        )
    if typ == "text" and base in (">", ">=", "<", "<=") and cmp.values[0].kind == "STRING":
        hint = (
            f"compare it as a number without the quotes: {ident} {op_tok.text} {cmp.values[0].value}"
            if ident.kind in ("param", "tag") and is_number(cmp.values[0].value)
            else "compare text with =, !=, LIKE, ILIKE or IN"
        )
        raise p.error(op_tok, f"'{op_tok.text}' does not compare text such as {ident}", hint)
    values = tuple(_convert(p, ident, typ, tok) for tok in cmp.values)
    if len({isinstance(v, str) for v in values}) > 1:
        bad = next(
            t for t in cmp.values if (t.kind == "STRING") != (cmp.values[0].kind == "STRING")
        )
        raise p.error(
            bad, "an IN list mixes numbers and strings", "use all numbers or all 'strings'"
        )
    return Compare(ident, op, values)


_TYPE_NAMES = {
    "number": "number",
    "text": "text",
    "time": "time",
    "status": "status",
    "bool": "boolean",
}


def _convert(p: _Parser, ident: Any, typ: str, tok: Token) -> Any:
    is_bool = tok.kind == "WORD"  # only TRUE / FALSE get here
    if typ == "bool":
        if not is_bool:
            raise p.error(
                tok, f"{ident} is true or false, not {tok.describe()}", "write reproduced = true"
            )
        return tok.value.upper() == "TRUE"
    if is_bool:
        raise p.error(
            tok,
            f"true/false apply to reproduced only, not to {ident}",
            f"compare text with a quoted value: '{tok.value}'",
        )
    if typ == "number":
        if tok.kind != "NUMBER":
            hint = (
                f"remove the quotes: {tok.value}"
                if is_number(tok.value)
                else "compare it with a number such as 0.9"
            )
            raise p.error(
                tok,
                f"{ident} is a number; compare it with a number, not the string {tok.text}",
                hint,
            )
        return tok.value
    if typ == "text":
        if tok.kind == "NUMBER" and ident.kind in ("attr", "cell", "dataset"):
            raise p.error(tok, f"{ident} is text; quote the value", f"write '{tok.text}'")
        return tok.value
    if typ == "status":
        if tok.kind != "STRING":
            raise p.error(
                tok, f"{ident} is text; quote the value", "write attributes.status = 'FINISHED'"
            )
        # any text, as MLflow takes it ('SCHEDULED' matches no run); stored lower-case
        return tok.value.lower()
    # time: UNIX milliseconds (as MLflow) or an ISO date / date-time (naive means UTC)
    if tok.kind == "NUMBER":
        return Millis(tok.value)
    return _parse_time(p, ident, tok)


def _parse_time(p: _Parser, ident: Any, tok: Token) -> float | tuple[float, float]:
    text = tok.value.strip()
    try:
        if _DATE.fullmatch(text):
            day = dt.datetime.fromisoformat(text).replace(tzinfo=dt.timezone.utc)
            return (day.timestamp(), (day + dt.timedelta(days=1)).timestamp())
        when = dt.datetime.fromisoformat(text)
    except ValueError:
        raise p.error(
            tok,
            f"{ident} takes UNIX milliseconds or an ISO date/time, not {tok.text}",
            "write '2026-11-23', '2026-11-23T10:00:00' (UTC unless an offset is given) "
            "or 1795392000000",
        ) from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.timezone.utc)
    return when.timestamp()


def is_number(text: str) -> bool:
    """Whether ``text`` spells a number (as ``float`` reads it)."""
    try:
        float(text)
    except ValueError:
        return False
    return True

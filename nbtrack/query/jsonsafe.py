"""Values made JSON-safe one way for every view (CLI, server, widgets): NaN and infinities as
the strings ``"NaN"``, ``"Infinity"``, ``"-Infinity"`` (what JavaScript's ``Number()`` reads
back), times as ISO 8601, and metric values as text the way the tables show them."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any


def json_number(value: Any) -> Any:
    """A float that JSON can hold: NaN and infinities become ``"NaN"``, ``"Infinity"``, ``"-Infinity"``.
    Anything else (finite numbers, None, text) comes back as it is."""
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if value != value else ("Infinity" if value > 0 else "-Infinity")
    return value


def jsonable(value: Any) -> Any:
    """``value`` (dicts, lists, tuples, scalars) with every float made safe by :func:`json_number`."""
    if isinstance(value, float):
        return json_number(value)
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    return value


def millis(ts: float) -> int:
    """UNIX seconds (as the store keeps times) in whole milliseconds, rounded half up: the one
    conversion behind every time in milliseconds (MLflow's unit): ISO strings, filters, exports."""
    return math.floor(ts * 1000 + 0.5)


def iso(ts: float | None) -> str | None:
    """UNIX seconds as ISO 8601 in UTC with milliseconds (``2026-01-02T03:04:05.678Z``)."""
    if ts is None:
        return None
    return (
        dt.datetime.fromtimestamp(millis(ts) / 1000, dt.timezone.utc)
        .isoformat(timespec="milliseconds")
        .replace("+00:00", "Z")
    )


def number_text(x: float) -> str:
    """A metric value as text, the way the widgets' tables show it: plain notation with six
    significant digits (37209, 0.937063, 12.5), exponent notation only below 1e-4 or from 1e7;
    NaN and infinities spelled as :func:`json_number` spells them."""
    if math.isnan(x) or math.isinf(x):
        return str(json_number(x))
    if x == int(x) and abs(x) < 1e15:
        return str(int(x))
    if abs(x) < 1e-4 or abs(x) >= 1e7:
        mantissa, exponent = f"{x:.4e}".split("e")
        return f"{mantissa.rstrip('0').removesuffix('.')}e{exponent}"
    text = repr(float(f"{x:.6g}"))  # repr, not .6g: 1234567.0 stays 1234570, not 1.23457e+06
    return text.removesuffix(".0")

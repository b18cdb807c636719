"""Points in time and durations as users type them: ``2026-01-31``, ``1767225600``, ``30d``, ``1d2h``."""

from __future__ import annotations

import datetime as dt
import re

from nbtrack.errors import ValidationError

_DURATION = re.compile(
    r"(?:(\d+(?:\.\d+)?)d)?(?:(\d+(?:\.\d+)?)h)?(?:(\d+(?:\.\d+)?)m)?(?:(\d+(?:\.\d+)?)s)?"
)
_UNITS = (86400.0, 3600.0, 60.0, 1.0)


def parse_duration(text: str | float | int) -> float:
    """Seconds from ``#d#h#m#s`` (MLflow's ``gc --older-than`` format, floats allowed: ``1.5d``)
    or a plain number of seconds."""
    if isinstance(text, (int, float)) and not isinstance(text, bool):
        if text < 0:
            raise ValidationError(f"a duration cannot be negative, got {text}")
        return float(text)
    raw = str(text).strip().lower()
    try:
        return parse_duration(float(raw))
    except ValueError:
        pass
    match = _DURATION.fullmatch(raw)
    if not raw or match is None or not any(match.groups()):
        raise ValidationError(
            f"not a duration: {text!r}; write e.g. 30d, 12h, 1d2h30m or a number of seconds"
        )
    return sum(float(g) * unit for g, unit in zip(match.groups(), _UNITS, strict=True) if g)


def parse_time(text: str | float | int) -> float:
    """UNIX seconds from UNIX seconds or an ISO date / date-time (naive means UTC; a bare
    date means its start)."""
    if isinstance(text, (int, float)) and not isinstance(text, bool):
        return float(text)
    raw = str(text).strip()
    try:
        return float(raw)
    except ValueError:
        pass
    try:
        when = dt.datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise ValidationError(
            f"not a time: {text!r}; write an ISO date or date-time such as 2026-01-31 or "
            "2026-01-31T12:00 (UTC unless an offset is given), or UNIX seconds"
        ) from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.timezone.utc)
    return when.timestamp()

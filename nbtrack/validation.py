"""Checks on everything a user logs: names, values, sizes. Errors name the value and what is allowed."""

from __future__ import annotations

import datetime as dt
import math
import numbers
import re
from collections.abc import Mapping
from typing import Any

from nbtrack.errors import ValidationError
from nbtrack.redaction import REDACTED as REDACTED  # re-exported: callers import it from here
from nbtrack.redaction import redact_track_line as redact_track_line
from nbtrack.redaction import redact_tree, redact_value, secret_key

MAX_NAME = 250
MAX_PARAM_VALUE = 8000
MAX_TAG_VALUE = 8000

_NAME = re.compile(r"^[A-Za-z0-9_\-. /:]+$")


def check_name(kind: str, name: object) -> str:
    """A metric/param/tag key: 1-250 of letters, digits, ``_ - . / :`` and space; no ``..`` segment."""
    if not isinstance(name, str):
        raise ValidationError(
            f"{kind} name must be a string, got {type(name).__name__} {name!r:.80}"
        )
    if not name or len(name) > MAX_NAME:
        raise ValidationError(
            f"{kind} name must be 1 to {MAX_NAME} characters, got {len(name)}: {name[:80]!r}"
        )
    if not _NAME.match(name):
        bad = sorted({c for c in name if not _NAME.match(c)})
        raise ValidationError(
            f"{kind} name {name[:80]!r} has characters {''.join(bad)!r}; use letters, digits, "
            "'_', '-', '.', '/', ':' and spaces"
        )
    if name.startswith("/") or ".." in name.split("/"):
        raise ValidationError(
            f"{kind} name {name[:80]!r} must not start with '/' or contain a '..' segment"
        )
    return name


def check_label(kind: str, value: object, max_len: int = 256) -> str:
    """A run or experiment name: any printable text up to ``max_len`` characters."""
    if not isinstance(value, str):
        raise ValidationError(f"{kind} must be a string, got {type(value).__name__} {value!r:.80}")
    value = value.strip()
    if not value or len(value) > max_len:
        raise ValidationError(f"{kind} must be 1 to {max_len} characters, got {len(value)}")
    if any(ord(c) < 32 for c in value):
        raise ValidationError(f"{kind} {value[:80]!r} contains control characters")
    return value


def looks_secret(key: str) -> bool:
    return secret_key(key)


def redact(key: str, value: str) -> str:
    """Values under secret-looking keys, and secrets inside URLs and ``key=value`` text, are
    never stored (:mod:`nbtrack.redaction`)."""
    return redact_value(key, value)


def _text(kind: str, key: str, value: object, limit: int) -> str:
    if isinstance(value, bytes):
        value = value.decode("utf-8", "backslashreplace")
    elif isinstance(value, (Mapping, list, tuple)):  # a dict holding a password, say
        value = redact_tree(value)
    text = value if isinstance(value, str) else str(value)
    text = text.encode("utf-8", "backslashreplace").decode("utf-8")  # lone surrogates
    if len(text) > limit:
        raise ValidationError(
            f"{kind} {key!r} is {len(text):,} characters, over the limit of {limit:,}; "
            "log large values with log_text/log_dict/log_artifact instead"
        )
    return redact(key, text)


def check_param(key: object, value: object) -> tuple[str, str]:
    k = check_name("param", key)
    return k, _text("param", k, value, MAX_PARAM_VALUE)


def check_tag(key: object, value: object) -> tuple[str, str]:
    k = check_name("tag", key)
    return k, _text("tag", k, value, MAX_TAG_VALUE)


def check_metric_value(key: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        if hasattr(value, "item") and getattr(value, "size", 1) == 1:  # numpy/torch scalars
            return check_metric_value(key, value.item())  # type: ignore[union-attr]
        raise ValidationError(
            f"metric {key!r} must be a real number, got {type(value).__name__} {value!r:.80}"
        )
    try:
        return float(value)
    except OverflowError:
        raise ValidationError(
            f"metric {key!r} is too large for a 64-bit float: {str(value)[:40]}..."
        ) from None


def check_step(key: str, step: object) -> int:
    if isinstance(step, bool) or not isinstance(step, numbers.Integral):
        raise ValidationError(
            f"step of metric {key!r} must be an integer, got {type(step).__name__} {step!r:.80}"
        )
    step = int(step)
    if not -(2**63) <= step < 2**63:
        raise ValidationError(f"step of metric {key!r} is out of the 64-bit range: {step}")
    return step


def check_timestamp(timestamp: object) -> float:
    """UNIX seconds (int/float) or a datetime."""
    if isinstance(timestamp, dt.datetime):
        return timestamp.timestamp()
    if (
        isinstance(timestamp, bool)
        or not isinstance(timestamp, numbers.Real)
        or not math.isfinite(timestamp)
    ):
        raise ValidationError(
            f"timestamp must be UNIX seconds or a datetime, got {timestamp!r:.80}"
        )
    return float(timestamp)


def check_mapping(kind: str, values: object) -> Mapping[Any, Any]:
    if not isinstance(values, Mapping):
        raise ValidationError(f"{kind} must be a dict, got {type(values).__name__}")
    return values


def parse_assignment(kind: str, text: str) -> tuple[str, str]:
    """``key=value`` from the command line or the magic."""
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise ValidationError(f"{kind} {text!r} must look like key=value")
    return key.strip(), value.strip()

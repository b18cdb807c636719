"""Opaque page tokens: URL-safe base64 of ``{"offset": n, "query": fingerprint}``.

Offsets rather than keysets, so any ``order_by`` pages the same way; the fingerprint of
the search (filter, experiments, order, deleted flag) makes a token given to a different
search an error instead of a silently wrong page. Runs added while paging through a
search ordered by start time (newest first) shift later pages, as with MLflow.
"""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

from nbtrack.errors import ValidationError


def fingerprint(*parts: Any) -> str:
    return hashlib.sha1(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:12]


def encode_page_token(offset: int, query: str) -> str:
    raw = json.dumps({"offset": offset, "query": query}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_page_token(token: str | None, query: str) -> int:
    """The offset a token stands for (0 for no token); ValidationError if it is not one of ours."""
    if not token:
        return 0
    try:
        data = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        offset = data["offset"]
        ok = isinstance(offset, int) and offset >= 0
    except Exception:
        ok = False
    if not ok:
        raise ValidationError(
            f"invalid page_token {token[:40]!r}: pass the token a previous search returned"
        )
    if data.get("query") != query:
        raise ValidationError(
            "this page_token belongs to a different search (filter, experiments or order_by changed)"
        )
    return int(offset)

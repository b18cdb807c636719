"""The one redactor: what a secret looks like, and how it is hidden before anything is stored,
exported or imported. One function per kind of input:

- :func:`secret_key`: is this key name (a param, tag, dict key, query parameter) a secret's?
- :func:`redact_text`: a free text with the secrets inside it hidden: URL passwords
  (``scheme://user:pw@host``, ``redis://:pw@host``, ``postgres://u:p@ss@host``), secret query
  parameters (``?api_key=...&token=...``) and ``key=value`` / ``"key": "value"`` pairs under
  secret keys.
- :func:`redact_value`: a value stored under a key: all of it when the key is secret, else
  :func:`redact_text`.
- :func:`redact_tree`: nested dicts / lists / strings (an environment, a dict logged as a
  param): values under secret keys at any depth, and the secrets inside every string.

Secret key names: ``password``, ``passwd``, ``passphrase``, ``secret``, ``api key`` / ``api_key`` /
``apikey``, ``private key`` / ``private.key``, ``access key``, ``credential(s)``, and the words
``pass``, ``pwd``, ``pw``, ``token`` (also as a suffix: ``hf_token``, ``authToken``), ``auth``
(not ``author``), ``cookie``, ``bearer``, in any case and with any separator or camelCase.
``tokenizer`` and ``max_tokens`` are not secrets.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote

REDACTED = "[redacted]"

# substrings of the key with its separators removed
_STRONG = (
    "password",
    "passwd",
    "passphrase",
    "secret",
    "apikey",
    "privatekey",
    "accesskey",
    "credential",
    "sshkey",
    "signingkey",
    "encryptionkey",
)
# whole words of the key
_WORDS = frozenset({"pass", "pwd", "pw", "token", "auth", "authorization", "cookie", "bearer"})
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_NOT_ALNUM = re.compile(r"[^a-z0-9]+")


@functools.lru_cache(maxsize=4096)
def secret_key(key: str) -> bool:
    """True when values under ``key`` are secrets (see the module docstring for the names)."""
    words = [w for w in _NOT_ALNUM.split(_CAMEL.sub(" ", key).lower()) if w]
    joined = "".join(words)
    if any(s in joined for s in _STRONG):
        return True
    for w in words:
        if w in _WORDS or w.endswith(("token", "pwd", "passwd", "oauth")):
            return True
        if w.startswith("auth") and not w.startswith("author"):
            return True
    return False


# scheme://userinfo@ : the userinfo runs to the authority's last '@' (a password may hold '@')
_URL_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)([^/?#\s@]*(?:@[^/?#\s@]*)*)@")
# key=value or "key": value; keys quoted or bare, values quoted or up to a separator
_PAIR = re.compile(
    r"""(?x)
    (?P<key>"[^"\n]{1,80}"|'[^'\n]{1,80}'|[A-Za-z0-9_.\-]{1,80})
    (?P<op>\s*(?:=|:(?!//))\s*)
    (?P<val>\[redacted\]|"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*'|[^\s,;&#}\])'"]+)
    """
)


# ?key=value / &key=value in a URL or anywhere in a text
_QUERY = re.compile(r"([?&;])([^=&#\s?;]{1,80})=([^&#\s;]*)")


def _userinfo(m: re.Match[str]) -> str:
    info = m.group(2)
    # a user and a password, or a long token standing as the user (https://ghp_x@github.com)
    if ":" in info or "@" in info or (len(info) >= 20 and any(c.isdigit() for c in info)):
        return f"{m.group(1)}{REDACTED}@"
    return m.group(0)


def _query(m: re.Match[str]) -> str:
    if m.group(3) and secret_key(unquote(m.group(2))):
        return f"{m.group(1)}{m.group(2)}={REDACTED}"
    return m.group(0)


def _pair(m: re.Match[str]) -> str:
    key = m.group("key")
    bare = key.strip("\"'")
    if not secret_key(unquote(bare)) or m.group("val").strip("\"'") == REDACTED:
        return m.group(0)
    val = m.group("val")
    quote = val[0] if val[0] in "\"'" else ""
    return f"{key}{m.group('op')}{quote}{REDACTED}{quote}"


def redact_text(text: str) -> str:
    """``text`` with URL passwords, secret query parameters and secret ``key=value`` /
    ``"key": value`` pairs replaced by ``[redacted]``; other text unchanged."""
    if not text or not any(c in text for c in "@=:"):
        return text
    text = _URL_USERINFO.sub(_userinfo, text)
    text = _QUERY.sub(_query, text)
    return _PAIR.sub(_pair, text)


def redact_value(key: str, value: str) -> str:
    """A value stored under ``key``: ``[redacted]`` when the key is secret, else
    :func:`redact_text` of it."""
    if secret_key(key):
        return REDACTED
    return redact_text(value)


def redact_tree(value: Any, key: str | None = None) -> Any:
    """A copy of ``value`` (dicts, lists, tuples, strings, other scalars) with everything under
    a secret key replaced by ``[redacted]`` and every string passed through :func:`redact_text`."""
    if key is not None and secret_key(key) and value is not None:
        return REDACTED
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, Mapping):
        return {k: redact_tree(v, str(k)) for k, v in value.items()}
    if isinstance(value, list):
        return [redact_tree(v) for v in value]
    if isinstance(value, tuple):
        return tuple(redact_tree(v) for v in value)
    return value


_TOKEN = re.compile(r"""(?:'[^']*'|"[^"]*"|\S)+""")


def redact_track_line(source: str) -> str:
    """A ``%%track`` cell's source with the values of secret-looking ``--param``/``--tag``
    keys and URL passwords on its first line replaced, as they are in the params and tags
    (the stored source must not show what the params hide). Other sources are unchanged:
    literal secrets typed into code are recorded as typed."""
    if not source.startswith("%%track"):
        return source
    first, nl, rest = source.partition("\n")

    def token(m: re.Match[str]) -> str:
        text = m.group(0)
        opening = text[0] if text[0] in "'\"" else ""
        key, sep, _ = text[len(opening) :].partition("=")
        if not sep or not secret_key(key):
            return text
        quote = text[-1] if text[-1] in "'\"" and text.count(text[-1]) % 2 == 0 else ""
        return f"{opening}{key}={REDACTED}{quote}"

    return redact_text(_TOKEN.sub(token, first)) + nl + rest

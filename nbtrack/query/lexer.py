"""Tokens of the filter language: identifiers, words, strings, numbers and operators."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from nbtrack.errors import QueryError

OPERATORS = ("!=", "<>", ">=", "<=", "==", "=", "<", ">")
_CANONICAL_OP = {"<>": "!=", "==": "="}
# a word, with hyphenated parts so a run name such as sgd-alpha-3.0 is one word
_WORD = re.compile(r"[^\W\d]\w*(?:-\w+(?:\.\w+)*)*")
_KEY = re.compile(r"[\w\-./:]+")
_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_QUOTE_HINT = "close it with the same quote; write a quote inside a string twice, as in 'it''s'"
# Limits (docs/query-language.md, "Limits"): a string value (also a LIKE pattern) holds at most
# MAX_STRING characters, as a param or tag value; a number is at most MAX_NUMBER characters long.
MAX_STRING = 8_000
MAX_NUMBER = 100
_INT64 = 2**63


@dataclass(frozen=True)
class Token:
    """``kind`` is IDENT, WORD, STRING, NUMBER, OP, LPAREN, RPAREN, COMMA or END.

    ``value``: IDENT ``(prefix, key)``; WORD the word; STRING the text; NUMBER an int or float;
    OP the operator (``<>`` and ``==`` normalised to ``!=`` and ``=``).
    """

    kind: str
    value: Any
    pos: int
    end: int
    text: str  # as written

    def describe(self) -> str:
        if self.kind == "END":
            return "the end of the filter"
        return f"'{self.text}'"


def tokenize(text: str) -> list[Token]:
    """Split ``text`` into tokens, ending with an END token; raises QueryError on bad input."""
    tokens: list[Token] = []
    i, n = 0, len(text)
    while True:
        while i < n and text[i].isspace():
            i += 1
        if i >= n:
            tokens.append(Token("END", None, n, n, ""))
            return tokens
        c = text[i]
        start = i
        if c in "(),":
            kind = {"(": "LPAREN", ")": "RPAREN", ",": "COMMA"}[c]
            tokens.append(Token(kind, c, i, i + 1, c))
            i += 1
            continue
        op = next((o for o in OPERATORS if text.startswith(o, i)), None)
        if op is not None:
            if text[i + len(op) : i + len(op) + 1] in ("<", ">", "=", "!") and op != "<>":
                raise _bad_operator(text, i)
            i += len(op)
            tokens.append(Token("OP", _CANONICAL_OP.get(op, op), start, i, op))
            continue
        if c == "`":  # MLflow's `metrics`.acc: a quoted prefix
            prefix, after = _quoted(text, i)
            if text[after : after + 1] != ".":
                raise _unexpected(text, i)
            key, i = _key(text, start, after + 1)
            tokens.append(Token("IDENT", (prefix, key), start, i, text[start:i]))
            continue
        if c in "'\"":
            value, i = _quoted(text, i)
            if len(value) > MAX_STRING:
                raise QueryError(
                    f"a string of {len(value):,} characters; values hold at most {MAX_STRING:,} characters",
                    text,
                    start,
                    i - start,
                    "shorten the value or the LIKE pattern",
                )
            tokens.append(Token("STRING", value, start, i, text[start:i]))
            continue
        m = _NUMBER.match(text, i) if c.isdigit() or c in ".+-" else None
        if m:
            i = m.end()
            if i < n and (text[i].isalnum() or text[i] in "_."):
                raise QueryError(
                    f"bad number '{_run_of(text, start)}'",
                    text,
                    start,
                    len(_run_of(text, start)),
                    "numbers look like 3, -0.5 or 1e-3; quote text: 'abc'",
                )
            raw = m.group()
            tokens.append(Token("NUMBER", _number(text, start, raw), start, i, raw))
            continue
        m = _WORD.match(text, i)
        if m:
            i = m.end()
            if i < n and text[i] == "." and "-" not in m.group():
                key, i = _key(text, start, i + 1)
                tokens.append(Token("IDENT", (m.group(), key), start, i, text[start:i]))
            else:
                tokens.append(Token("WORD", m.group(), start, i, m.group()))
            continue
        raise _unexpected(text, i)


def _number(text: str, start: int, raw: str) -> int | float:
    """The value of number ``raw``: an int within 64 bits, else a float (perhaps infinite)."""
    hint = "numbers are 64-bit integers or floats up to about 1.8e308, as 3, -0.5 or 1e-3"
    if len(raw) > MAX_NUMBER:
        raise QueryError(
            f"a number of {len(raw):,} characters; numbers are at most {MAX_NUMBER} characters long",
            text,
            start,
            len(raw),
            hint,
        )
    if re.fullmatch(r"[+-]?\d+", raw):
        value = int(raw)
        if -_INT64 <= value < _INT64:
            return value
    return float(raw)  # past about 1.8e308 it is infinite, as in MLflow: -1e400 is -inf


def _quoted(text: str, i: int) -> tuple[str, int]:
    """The string starting with the quote at ``i`` (a doubled quote stands for one) and its end."""
    q = text[i]
    parts = []
    j = i + 1
    while True:
        k = text.find(q, j)
        if k < 0:
            what = "key" if q == "`" else "string"
            raise QueryError(
                f"unterminated {what} starting with {q}", text, i, len(text) - i, _QUOTE_HINT
            )
        parts.append(text[j:k])
        if text.startswith(q * 2, k):
            parts.append(q)
            j = k + 2
            continue
        return "".join(parts), k + 1


def _key(text: str, start: int, i: int) -> tuple[str, int]:
    """The key after ``prefix.`` at ``i``: quoted with backticks or double quotes, or bare."""
    if i < len(text) and text[i] in '`"':
        key, end = _quoted(text, i)
    else:
        m = _KEY.match(text, i)
        if not m:
            raise QueryError(
                f"missing key after '{text[start:i]}'",
                text,
                start,
                i - start,
                'quote keys with spaces or symbols: metrics.`val acc` or params."a b"',
            )
        key, end = m.group(), m.end()
    if not key:
        raise QueryError(f"empty key after '{text[start:i]}'", text, start, end - start)
    return key, end


def _run_of(text: str, i: int) -> str:
    m = re.compile(r"[^\s(),]+").match(text, i)
    return m.group() if m else text[i : i + 1]


def _unexpected(text: str, i: int) -> QueryError:
    c = text[i]
    hints = {
        ";": "a filter is one expression; join conditions with AND",
        "&": "write AND instead of &&",
        "|": "write OR instead of ||",
        "!": "the not-equal operator is != (or <>); negate a condition with NOT",
        "`": "backticks quote keys after a prefix, as in metrics.`val acc`",
        "[": "IN takes a parenthesised list: params.model IN ('rf', 'xgb')",
        "-": "numbers look like -0.5; a '--' comment is not part of the language",
    }
    return QueryError(f"unexpected character '{c}'", text, i, 1, hints.get(c))


def _bad_operator(text: str, i: int) -> QueryError:
    m = re.compile(r"[<>=!]+").match(text, i)
    bad = m.group() if m else text[i]
    fixes = {"=>": ">=", "=<": "<=", "!==": "!=", "===": "=", "><": "!=", "=!": "!="}
    guess = fixes.get(bad)
    reason = f"unknown operator '{bad}'" + (f"; did you mean '{guess}'?" if guess else "")
    return QueryError(
        reason,
        text,
        i,
        len(bad),
        "operators are =, !=, <, <=, >, >=, LIKE, ILIKE, IN, NOT IN, IS NULL",
    )

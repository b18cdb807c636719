"""The filter language parsed into a small tree, with each value checked against its column's type.

Grammar (keywords case-insensitive; NOT binds tighter than AND, AND tighter than OR)::

    filter     := or
    or         := and ("OR" and)*
    and        := not ("AND" not)*
    not        := "NOT" not | "(" or ")" | comparison | name_search
    comparison := operand op value | operand ["NOT"] ("LIKE" | "ILIKE") string
                | operand ["NOT"] "IN" "(" value ("," value)* ")" | operand "IS" ["NOT"] "NULL"
    operand    := identifier | ("MIN" | "MAX" | "LATEST") "(" metric ")"
    name_search:= term term*    (each term: a word, number or string not followed by an operator)

A name search holds when the run's name contains every term, ignoring case: ``sgd`` is
``attributes.run_name`` containing "sgd", ``sgd adam`` a name holding both, ``'sgd alpha'`` the
quoted text as it is, and ``sgd AND metrics.acc > 0.9`` joins it with a condition.
"""

from __future__ import annotations

import difflib
from typing import Any

from nbtrack.errors import QueryError
from nbtrack.query import fields as f
from nbtrack.query.lexer import Token, tokenize
from nbtrack.query.nodes import BoolOp, Compare, Ident, Node, Not

COMPARISONS = ("=", "!=", ">", ">=", "<", "<=")
# Limits (docs/query-language.md, "Limits"), each a QueryError naming it: within them every
# filter compiles to SQL that SQLite and PostgreSQL take (expression depth, bound variables).
MAX_LENGTH = 100_000  # characters of a filter
MAX_DEPTH = 100  # nested parentheses, NOTs and functions
MAX_CONDITIONS = 500  # comparisons in a filter
MAX_VALUES = 5_000  # values in a filter, IN lists included
_OPERATOR_WORDS = ("LIKE", "ILIKE", "IN", "IS", "NOT")
_KEYWORDS = ("AND", "OR", "NOT", "LIKE", "ILIKE", "IN", "IS", "NULL", "TRUE", "FALSE")
_OPS_HINT = (
    "operators are =, !=, <, <=, >, >=, LIKE, ILIKE, IN (...), NOT IN (...), IS NULL, IS NOT NULL"
)
_IDENT_HINT = (
    "identifiers are metrics.<key>, params.<key>, tags.<key>, attributes.<name>, cells.<field>, "
    "datasets.<name|digest|context>, notebook.path and reproduced; quote keys with spaces as metrics.`val acc`"
)


def parse(text: str) -> Node | None:
    """The tree of a filter string (None when it is empty); raises QueryError when it is wrong."""
    if not isinstance(text, str):
        raise QueryError(f"a filter is a string, not {type(text).__name__}")
    if len(text) > MAX_LENGTH:
        raise QueryError(
            f"the filter is {len(text):,} characters long; a filter holds at most {MAX_LENGTH:,}",
        )
    _check_encoding(text)
    p = _Parser(text, tokenize(text))
    if p.peek.kind == "END":
        return None
    node = p.or_()
    tok = p.peek
    if tok.kind != "END":
        if tok.kind == "RPAREN":
            raise p.error(tok, "unmatched ')'", "remove it or add the '(' it closes")
        guess = _close(tok.text, ["AND", "OR"]) if tok.kind == "WORD" else None
        reason = f"unexpected {tok.describe()} after a complete condition"
        raise p.error(
            tok,
            reason + (f"; did you mean '{guess}'?" if guess else ""),
            "join conditions with AND or OR, as in metrics.acc > 0.9 AND params.model = 'rf'",
        )
    return node


def _check_encoding(text: str) -> None:
    """A filter is text: a lone surrogate (half of a UTF-16 pair) cannot be stored or compared."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise QueryError(
            f"the filter holds a lone surrogate (U+{ord(text[exc.start]):04X}), which is not text",
            text,
            exc.start,
            1,
            "remove it; a filter is UTF-8 text",
        ) from None


def parse_operand(p: _Parser) -> Ident:
    """An identifier, or MIN/MAX/LATEST of a metric."""
    tok = p.next()
    if tok.kind == "WORD" and p.peek.kind == "LPAREN":
        p.deeper(tok)
        name = tok.value.lower()
        if name not in ("min", "max", "latest"):
            guess = _close(tok.value.upper(), ["MIN", "MAX", "LATEST"])
            raise p.error(
                tok,
                f"unknown function '{tok.value}'" + (f"; did you mean '{guess}'?" if guess else ""),
                "MIN(metrics.x), MAX(metrics.x) and LATEST(metrics.x) read a metric's summary",
            )
        p.next()
        inner = parse_operand(p)
        p.depth -= 1
        close = p.next()
        if close.kind != "RPAREN":
            raise p.error(close, f"expected ')' to close {name.upper()}(, got {close.describe()}")
        if inner.kind != "metric" or inner.agg != "latest":
            raise p.error(
                tok,
                f"{name.upper()}() applies to a metric, not {inner}",
                "write MIN(metrics.loss)",
                length=close.end - tok.pos,
            )
        return Ident("metric", inner.key, name, tok.pos, close.end)
    if tok.kind == "IDENT":
        return _resolve(p, tok)
    if tok.kind == "WORD":
        attr = f.ATTRIBUTE_ALIASES.get(tok.value.lower())
        if attr is not None:
            return Ident("attr", attr, pos=tok.pos, end=tok.end)
        if tok.value.upper() in _KEYWORDS:
            raise p.error(
                tok, f"expected a condition, got the keyword '{tok.value.upper()}'", _IDENT_HINT
            )
        guess = _close(tok.value.lower(), list(f.ATTRIBUTE_ALIASES))
        if guess:
            raise p.error(
                tok, f"unknown identifier '{tok.value}'; did you mean '{guess}'?", _IDENT_HINT
            )
        raise p.error(
            tok,
            f"unknown identifier '{tok.value}'",
            f"prefix keys with metrics., params. or tags., as in metrics.{tok.value}",
        )
    if tok.kind == "END":
        prev = p.tokens[p.i - 2] if p.i >= 2 else None
        after = f" after '{prev.text}'" if prev is not None else ""
        raise p.error(tok, f"missing a condition{after}", _IDENT_HINT)
    if tok.kind in ("STRING", "NUMBER"):
        raise p.error(
            tok,
            f"expected an identifier, got the value {tok.text}",
            "put the identifier on the left, as in metrics.acc > 0.9",
        )
    raise p.error(tok, f"expected an identifier, got {tok.describe()}", _IDENT_HINT)


def _resolve(p: _Parser, tok: Token) -> Ident:
    prefix, key = tok.value
    kind = f.PREFIXES.get(prefix.lower())
    if kind is None:
        guess = _close(prefix.lower(), list(f.PREFIXES))
        shown = tok.text[len(prefix) :]
        reason = f"unknown identifier '{tok.text}'"
        if guess:
            reason += f"; did you mean '{f.CANONICAL_PREFIX.get(guess, guess)}{shown}'?"
        after = p.peek
        if after.kind != "OP" and not (
            after.kind == "WORD" and after.value.upper() in _OPERATOR_WORDS
        ):
            # no operator follows: perhaps a run name with a dot
            return_hint = f"to search run names for it, quote it: '{tok.text}'"
            raise p.error(tok, reason, f"{_IDENT_HINT}; {return_hint}")
        raise p.error(tok, reason, _IDENT_HINT)
    if kind == "tag" and key in f.MLFLOW_TAGS:
        return Ident("attr", f.MLFLOW_TAGS[key], pos=tok.pos, end=tok.end)
    if kind in ("attr", "cell", "notebook", "dataset"):
        names = {
            "attr": f.ATTRIBUTE_ALIASES,
            "cell": f.CELL_FIELDS,
            "notebook": f.NOTEBOOK_FIELDS,
            "dataset": f.DATASET_FIELDS,
        }[kind]
        name = names.get(key.lower())
        if name is None:
            guess = _close(key.lower(), list(names))
            reason = f"unknown {'attribute' if kind == 'attr' else kind + ' field'} '{tok.text}'"
            if guess:
                reason += f"; did you mean '{prefix}.{guess}'?"
            raise p.error(
                tok, reason, f"{prefix}. takes one of: {', '.join(sorted(set(names.values())))}"
            )
        if kind == "notebook":
            return Ident("attr", name, pos=tok.pos, end=tok.end)
        return Ident(kind, name, pos=tok.pos, end=tok.end)
    return Ident(kind, key, pos=tok.pos, end=tok.end)


def parse_comparison(p: _Parser) -> Compare:
    p.conditions += 1
    if p.conditions > MAX_CONDITIONS:
        raise p.error(
            p.peek,
            f"too many conditions: a filter holds at most {MAX_CONDITIONS} conditions",
            "write a list of values as IN (...): params.seed IN ('1', '2', '3')",
        )
    ident = parse_operand(p)
    tok = p.next()
    word = tok.value.upper() if tok.kind == "WORD" else None
    negate = False
    if word == "NOT":
        nxt = p.next()
        if nxt.kind != "WORD" or nxt.value.upper() not in ("LIKE", "ILIKE", "IN"):
            raise p.error(
                nxt, f"expected LIKE, ILIKE or IN after NOT, got {nxt.describe()}", _OPS_HINT
            )
        negate, tok, word = True, nxt, nxt.value.upper()
    if tok.kind == "OP":
        op = tok.value
        values: tuple[Any, ...] = (p.literal(tok),)
    elif word in ("LIKE", "ILIKE"):
        op = word
        values = (p.literal(tok),)
    elif word == "IN":
        op = "IN"
        values = p.literal_list(tok)
    elif word == "IS":
        nxt = p.next()
        if nxt.kind == "WORD" and nxt.value.upper() == "NOT":
            negate, nxt = True, p.next()
        if nxt.kind != "WORD" or nxt.value.upper() != "NULL":
            raise p.error(
                nxt,
                f"expected NULL after IS{' NOT' if negate else ''}, got {nxt.describe()}",
                "write IS NULL or IS NOT NULL; compare values with = or !=",
            )
        return f.check(p, Compare(ident, "IS NOT NULL" if negate else "IS NULL"), tok)
    else:
        raise _missing_operator(p, ident, tok)
    op = f"NOT {op}" if negate else op
    return f.check(p, Compare(ident, op, values), tok)


def _missing_operator(p: _Parser, ident: Ident, tok: Token) -> QueryError:
    if tok.kind == "END":
        return p.error(
            tok, f"missing an operator after '{p.text[ident.pos : ident.end]}'", _OPS_HINT
        )
    if tok.kind == "WORD":
        guess = _close(tok.value.upper(), list(_OPERATOR_WORDS))
        if guess:
            return p.error(
                tok, f"unknown operator '{tok.value}'; did you mean '{guess}'?", _OPS_HINT
            )
    if tok.kind == "IDENT" and p.text[ident.pos : ident.end].endswith("."):
        return p.error(tok, f"expected an operator, got {tok.describe()}", _OPS_HINT)
    return p.error(
        tok,
        f"expected an operator after '{p.text[ident.pos : ident.end]}', got {tok.describe()}",
        _OPS_HINT,
    )


class _Parser:
    def __init__(self, text: str, tokens: list[Token]):
        self.text = text
        self.tokens = tokens
        self.i = 0
        self.depth = 0  # nesting of the node being parsed (MAX_DEPTH)
        self.conditions = 0
        self.values = 0

    def deeper(self, tok: Token) -> None:
        """One more level of nesting at ``tok``: a QueryError past MAX_DEPTH (not a RecursionError)."""
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise self.error(
                tok,
                f"nested too deeply: a filter nests parentheses, NOTs and functions at most {MAX_DEPTH} levels",
                "remove parentheses that group a single condition",
            )

    @property
    def peek(self) -> Token:
        return self.tokens[self.i]

    def next(self) -> Token:
        tok = self.tokens[self.i]
        if tok.kind != "END":
            self.i += 1
        else:
            self.i = len(self.tokens)  # so "after" messages find the token before END
        return tok

    def error(
        self, tok: Token | Ident, reason: str, hint: str | None = None, *, length: int | None = None
    ) -> QueryError:
        size = length if length is not None else max(1, tok.end - tok.pos)
        return QueryError(reason, self.text, tok.pos, size, hint)

    def is_word(self, word: str) -> bool:
        tok = self.peek
        return tok.kind == "WORD" and tok.value.upper() == word

    def or_(self) -> Node:
        items = [self.and_()]
        while self.is_word("OR"):
            self.next()
            items.append(self.and_())
        return items[0] if len(items) == 1 else BoolOp("OR", tuple(items))

    def and_(self) -> Node:
        items = [self.not_()]
        while self.is_word("AND"):
            self.next()
            items.append(self.not_())
        return items[0] if len(items) == 1 else BoolOp("AND", tuple(items))

    def not_(self) -> Node:
        if self.is_word("NOT"):
            self.deeper(self.next())
            node: Node = Not(self.not_())
            self.depth -= 1
            return node
        if self.peek.kind == "LPAREN":
            open_ = self.next()
            self.deeper(open_)
            node = self.or_()
            self.depth -= 1
            close = self.next()
            if close.kind != "RPAREN":
                raise self.error(
                    close,
                    f"expected ')' to close the '(' at column {open_.pos + 1}, got {close.describe()}",
                    "balance the parentheses; join conditions with AND or OR",
                )
            return node
        if self.starts_term():
            return self.name_search()
        return parse_comparison(self)

    def starts_term(self, at: int = 0) -> bool:
        """Whether the token ``at`` places ahead begins a name-search term: a word that is not a
        keyword nor a function, a number or a string, none of them followed by an operator."""
        tok, after = (
            self.tokens[self.i + at],
            self.tokens[min(self.i + at + 1, len(self.tokens) - 1)],
        )
        if tok.kind == "WORD":
            if tok.value.upper() in _KEYWORDS or after.kind == "LPAREN":
                return False
        elif tok.kind not in ("NUMBER", "STRING"):
            return False
        if after.kind == "OP":
            return False
        if after.kind == "WORD" and after.value.upper() in _OPERATOR_WORDS:
            # NOT after a term is an operator only as NOT LIKE / NOT ILIKE / NOT IN
            if after.value.upper() != "NOT":
                return False
            following = self.tokens[min(self.i + at + 2, len(self.tokens) - 1)]
            return not (
                following.kind == "WORD" and following.value.upper() in ("LIKE", "ILIKE", "IN")
            )
        return True

    def name_search(self) -> Node:
        """Terms in a row: runs whose name contains each of them (ignoring case)."""
        terms: list[Node] = []
        while self.starts_term():
            tok = self.next()
            self.conditions += 1
            self.values += 1
            if self.conditions > MAX_CONDITIONS or self.values > MAX_VALUES:
                raise self.error(
                    tok,
                    f"too many conditions: a filter holds at most {MAX_CONDITIONS} conditions",
                    "search for fewer words",
                )
            text = tok.value if tok.kind in ("WORD", "STRING") else tok.text
            ident = Ident("attr", "run_name", pos=tok.pos, end=tok.end)
            terms.append(Compare(ident, "CONTAINS", (text,)))
        return terms[0] if len(terms) == 1 else BoolOp("AND", tuple(terms))

    def literal(self, op: Token) -> Token:
        tok = self.next()
        self.values += 1
        if self.values > MAX_VALUES:
            raise self.error(
                tok,
                f"too many values: a filter holds at most {MAX_VALUES:,} values, IN lists included",
                "split the search in two",
            )
        if tok.kind in ("STRING", "NUMBER"):
            return tok
        if tok.kind == "WORD" and tok.value.upper() in ("TRUE", "FALSE"):
            return tok
        if tok.kind == "WORD" and tok.value.upper() == "NULL":
            raise self.error(
                tok, f"cannot compare with NULL using '{op.text}'", "write IS NULL or IS NOT NULL"
            )
        if tok.kind == "END":
            raise self.error(
                tok,
                f"missing a value after '{op.text}'",
                "values are numbers, 'strings', true or false",
            )
        if tok.kind == "IDENT" or (tok.kind == "WORD" and tok.value.lower() in f.ATTRIBUTE_ALIASES):
            raise self.error(
                tok,
                f"expected a value after '{op.text}', got the identifier {tok.describe()}",
                "comparing two columns is not supported; compare with a number or a 'string'",
            )
        if tok.kind == "LPAREN":
            raise self.error(
                tok,
                f"a parenthesised list goes with IN, not '{op.text}'",
                "write params.model IN ('rf', 'xgb')",
            )
        if tok.kind == "WORD":
            raise self.error(
                tok,
                f"expected a value after '{op.text}', got {tok.describe()}",
                f"quote text: '{tok.value}'",
            )
        raise self.error(
            tok,
            f"expected a value after '{op.text}', got {tok.describe()}",
            "values are numbers, 'strings', true or false",
        )

    def literal_list(self, op: Token) -> tuple[Token, ...]:
        open_ = self.next()
        if open_.kind != "LPAREN":
            raise self.error(
                open_,
                f"IN takes a parenthesised list, got {open_.describe()}",
                "write params.model IN ('rf', 'xgb')",
            )
        if self.peek.kind == "RPAREN":
            raise self.error(self.peek, "empty IN list", "give at least one value: IN ('rf')")
        items = [self.literal(op)]
        while self.peek.kind == "COMMA":
            comma = self.next()
            items.append(self.literal(comma))
        close = self.next()
        if close.kind != "RPAREN":
            raise self.error(
                close,
                f"expected ',' or ')' in the IN list, got {close.describe()}",
                "separate values with commas: IN ('rf', 'xgb')",
            )
        return tuple(items)


def _close(word: str, candidates: list[str]) -> str | None:
    found = difflib.get_close_matches(word, candidates, n=1, cutoff=0.6)
    return found[0] if found else None


def check_filter(text: str) -> dict[str, Any]:
    """Whether ``text`` parses, for a filter box to ask before it searches: ``{"ok": True}``, or
    ``{"ok": False, "message", "reason", "hint", "position", "column"}`` from the QueryError."""
    try:
        parse(text)
    except QueryError as exc:
        return {
            "ok": False,
            "message": str(exc),
            "reason": exc.reason,
            "hint": exc.hint,
            "position": exc.position,
            "column": exc.column,
        }
    return {"ok": True}

"""The SOQL subset the Salesforce sandbox answers: SELECT fields (dotted relationships) FROM one object,
WHERE with AND/OR/NOT, comparisons, IN, LIKE and typed literals, ORDER BY, LIMIT.

Strings follow SOQL's escapes (\\' \\" \\\\ \\n ...), so the sandbox rejects what Salesforce rejects
and an unescaped quote in a value breaks a query here exactly as it would there.
"""
from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any


class SoqlError(ValueError):
    """A query Salesforce would refuse; `code` is its errorCode (MALFORMED_QUERY, INVALID_FIELD, ...)."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code


_TOKEN = re.compile(r"""
    (?P<ws>\s+)
  | (?P<string>'(?:[^'\\]|\\.)*')
  | (?P<datetime>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,6})?(?:Z|[+-]\d{2}:?\d{2}))
  | (?P<date>\d{4}-\d{2}-\d{2}(?![\dT]))
  | (?P<number>-?\d+(?:\.\d+)?)
  | (?P<op><=|>=|!=|<>|=|<|>)
  | (?P<punct>[(),])
  | (?P<ident>[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)
""", re.VERBOSE)

_ESCAPES = {"\\": "\\", "'": "'", '"': '"', "n": "\n", "r": "\r", "t": "\t", "b": "\b", "f": "\f",
            "%": "\\%", "_": "\\_"}  # \% and \_ stay escaped: they only mean something inside LIKE
_KEYWORDS = {"SELECT", "FROM", "WHERE", "AND", "OR", "NOT", "IN", "LIKE", "ORDER", "BY", "ASC", "DESC",
             "LIMIT", "NULLS", "FIRST", "LAST", "TRUE", "FALSE", "NULL"}


@dataclass(frozen=True)
class Token:
    kind: str
    value: Any
    text: str


def _unescape(body: str) -> str:
    out: list[str] = []
    i = 0
    while i < len(body):
        ch = body[i]
        if ch == "\\":
            nxt = body[i + 1] if i + 1 < len(body) else ""
            if nxt not in _ESCAPES:
                raise SoqlError("MALFORMED_QUERY", f"invalid escape sequence \\{nxt} in a string literal")
            out.append(_ESCAPES[nxt])
            i += 2
            continue
        out.append(ch)
        i += 1
    return "".join(out)


def parse_soql_datetime(text: str) -> datetime:
    """A SOQL datetime literal (or a stored Salesforce timestamp) as an aware UTC datetime."""
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def tokenize(soql: str) -> list[Token]:
    tokens: list[Token] = []
    pos = 0
    while pos < len(soql):
        match = _TOKEN.match(soql, pos)
        if match is None:
            raise SoqlError("MALFORMED_QUERY", f"unexpected character {soql[pos]!r} at position {pos}")
        pos = match.end()
        kind = match.lastgroup or ""
        text = match.group()
        if kind == "ws":
            continue
        if kind == "string":
            tokens.append(Token("value", _unescape(text[1:-1]), text))
        elif kind == "datetime":
            tokens.append(Token("value", parse_soql_datetime(text), text))
        elif kind == "date":
            tokens.append(Token("value", date.fromisoformat(text), text))
        elif kind == "number":
            tokens.append(Token("value", float(text) if "." in text else int(text), text))
        elif kind == "ident" and text.upper() in _KEYWORDS:
            upper = text.upper()
            if upper in {"TRUE", "FALSE", "NULL"}:
                tokens.append(Token("value", {"TRUE": True, "FALSE": False, "NULL": None}[upper], text))
            else:
                tokens.append(Token("kw", upper, text))
        else:
            tokens.append(Token(kind, text, text))
    return tokens


# WHERE expressions: ("and", [..]) ("or", [..]) ("not", x) ("cmp", field, op, value) ("in", field, values, negated)
Expr = tuple[Any, ...]


@dataclass
class Query:
    fields: list[str]
    sobject: str
    where: Expr | None = None
    order_by: list[tuple[str, bool, bool]] = field(default_factory=list)  # (field, descending, nulls_last)
    limit: int | None = None


class _Parser:
    def __init__(self, tokens: list[Token]):
        self.tokens = tokens
        self.i = 0

    def peek(self) -> Token | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def take(self) -> Token:
        tok = self.peek()
        if tok is None:
            raise SoqlError("MALFORMED_QUERY", "unexpected end of query")
        self.i += 1
        return tok

    def is_kw(self, *words: str) -> bool:
        tok = self.peek()
        return tok is not None and tok.kind == "kw" and tok.value in words

    def expect_kw(self, word: str) -> None:
        tok = self.take()
        if tok.kind != "kw" or tok.value != word:
            raise SoqlError("MALFORMED_QUERY", f"expected {word}, found {tok.text!r}")

    def expect_punct(self, char: str) -> None:
        tok = self.take()
        if tok.kind != "punct" or tok.value != char:
            raise SoqlError("MALFORMED_QUERY", f"expected {char!r}, found {tok.text!r}")

    def ident(self) -> str:
        tok = self.take()
        if tok.kind != "ident":
            raise SoqlError("MALFORMED_QUERY", f"expected a field or object name, found {tok.text!r}")
        return str(tok.value)

    def query(self) -> Query:
        self.expect_kw("SELECT")
        fields = [self.ident()]
        while self.peek() is not None and self.peek().kind == "punct" and self.peek().value == ",":  # type: ignore[union-attr]
            self.take()
            fields.append(self.ident())
        self.expect_kw("FROM")
        query = Query(fields, self.ident())
        if self.is_kw("WHERE"):
            self.take()
            query.where = self.expr()
        if self.is_kw("ORDER"):
            self.take()
            self.expect_kw("BY")
            query.order_by.append(self.order_item())
            while self.peek() is not None and self.peek().kind == "punct" and self.peek().value == ",":  # type: ignore[union-attr]
                self.take()
                query.order_by.append(self.order_item())
        if self.is_kw("LIMIT"):
            self.take()
            tok = self.take()
            if tok.kind != "value" or not isinstance(tok.value, int) or tok.value < 0:
                raise SoqlError("MALFORMED_QUERY", f"LIMIT needs a whole number, found {tok.text!r}")
            query.limit = tok.value
        if self.peek() is not None:
            raise SoqlError("MALFORMED_QUERY", f"unexpected token {self.peek().text!r}")  # type: ignore[union-attr]
        return query

    def order_item(self) -> tuple[str, bool, bool]:
        name = self.ident()
        descending = False
        if self.is_kw("ASC", "DESC"):
            descending = self.take().value == "DESC"
        nulls_last = descending  # SOQL: NULLS FIRST for ASC, NULLS LAST for DESC
        if self.is_kw("NULLS"):
            self.take()
            tok = self.take()
            if tok.value not in ("FIRST", "LAST"):
                raise SoqlError("MALFORMED_QUERY", "expected NULLS FIRST or NULLS LAST")
            nulls_last = tok.value == "LAST"
        return name, descending, nulls_last

    def expr(self) -> Expr:
        parts = [self.term()]
        while self.is_kw("OR"):
            self.take()
            parts.append(self.term())
        return parts[0] if len(parts) == 1 else ("or", parts)

    def term(self) -> Expr:
        parts = [self.factor()]
        while self.is_kw("AND"):
            self.take()
            parts.append(self.factor())
        return parts[0] if len(parts) == 1 else ("and", parts)

    def factor(self) -> Expr:
        if self.is_kw("NOT"):
            self.take()
            return ("not", self.factor())
        tok = self.peek()
        if tok is not None and tok.kind == "punct" and tok.value == "(":
            self.take()
            inner = self.expr()
            self.expect_punct(")")
            return inner
        name = self.ident()
        negated = False
        if self.is_kw("NOT"):
            self.take()
            negated = True
            if not self.is_kw("IN"):
                raise SoqlError("MALFORMED_QUERY", "expected IN after NOT")
        if self.is_kw("IN"):
            self.take()
            self.expect_punct("(")
            values = [self.value()]
            while self.peek() is not None and self.peek().kind == "punct" and self.peek().value == ",":  # type: ignore[union-attr]
                self.take()
                values.append(self.value())
            self.expect_punct(")")
            return ("in", name, values, negated)
        if self.is_kw("LIKE"):
            self.take()
            pattern = self.value()
            if not isinstance(pattern, str):
                raise SoqlError("MALFORMED_QUERY", "LIKE needs a string pattern")
            return ("like", name, _like_regex(pattern))
        op = self.take()
        if op.kind != "op":
            raise SoqlError("MALFORMED_QUERY", f"expected a comparison operator after {name}, found {op.text!r}")
        return ("cmp", name, "!=" if op.value == "<>" else op.value, self.value())

    def value(self) -> Any:
        tok = self.take()
        if tok.kind != "value":
            raise SoqlError("MALFORMED_QUERY", f"expected a value, found {tok.text!r}")
        return tok.value


def _like_regex(pattern: str) -> re.Pattern[str]:
    out: list[str] = []
    i = 0
    while i < len(pattern):
        if pattern[i] == "\\" and i + 1 < len(pattern) and pattern[i + 1] in "%_":
            out.append(re.escape(pattern[i + 1]))
            i += 2
            continue
        out.append(".*" if pattern[i] == "%" else "." if pattern[i] == "_" else re.escape(pattern[i]))
        i += 1
    return re.compile("".join(out), re.IGNORECASE | re.DOTALL)


def parse(soql: str) -> Query:
    """Parse a query of the supported subset; raises SoqlError(MALFORMED_QUERY) otherwise."""
    return _Parser(tokenize(soql)).query()


def _coerce(stored: Any, literal: Any) -> Any:
    """The stored value in the literal's type (SOQL compares typed values), or None when it cannot be."""
    if stored is None:
        return None
    try:
        if isinstance(literal, datetime):
            return stored if isinstance(stored, datetime) else parse_soql_datetime(str(stored))
        if isinstance(literal, date):
            return stored if isinstance(stored, date) else date.fromisoformat(str(stored)[:10])
        if isinstance(literal, bool):
            return stored if isinstance(stored, bool) else None
        if isinstance(literal, int | float):
            return float(stored) if not isinstance(stored, bool) else None
    except (TypeError, ValueError):
        return None
    return stored


_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "=": lambda a, b: a == b, "!=": lambda a, b: a != b, "<": lambda a, b: a < b,
    ">": lambda a, b: a > b, "<=": lambda a, b: a <= b, ">=": lambda a, b: a >= b,
}

Getter = Callable[[dict[str, Any], str], Any]


def matches(expr: Expr | None, record: dict[str, Any], get: Getter) -> bool:
    """Whether a record satisfies a WHERE expression; `get(record, dotted_field)` reads values."""
    if expr is None:
        return True
    kind = expr[0]
    if kind == "and":
        return all(matches(e, record, get) for e in expr[1])
    if kind == "or":
        return any(matches(e, record, get) for e in expr[1])
    if kind == "not":
        return not matches(expr[1], record, get)
    if kind == "in":
        _, name, values, negated = expr
        stored = get(record, name)
        found = any(_coerce(stored, v) == v for v in values)
        return found != negated
    if kind == "like":
        stored = get(record, expr[1])
        return stored is not None and expr[2].fullmatch(str(stored)) is not None
    _, name, op, literal = expr
    value = _coerce(get(record, name), literal)
    if literal is None or value is None:
        if op == "=":
            return value is None and literal is None
        if op == "!=":
            return (value is None) != (literal is None)
        return False
    try:
        return _OPS[op](value, literal)
    except TypeError:
        return False


def _sortable(value: Any) -> Any:
    if isinstance(value, str) and re.match(r"\d{4}-\d{2}-\d{2}T", value):
        return parse_soql_datetime(value).timestamp()
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, datetime):
        return value.timestamp()
    return value


def sort_records(records: list[dict[str, Any]], order_by: list[tuple[str, bool, bool]], get: Getter) -> None:
    """Sort in place by each ORDER BY item, honouring direction and NULLS placement (stable passes, last key first)."""
    for name, descending, nulls_last in reversed(order_by):
        present = [r for r in records if get(r, name) is not None]
        missing = [r for r in records if get(r, name) is None]
        try:
            present.sort(key=lambda r: _sortable(get(r, name)), reverse=descending)
        except TypeError:
            present.sort(key=lambda r: str(get(r, name)), reverse=descending)
        records[:] = present + missing if nulls_last else missing + present

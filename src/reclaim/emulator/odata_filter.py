"""OData ``$filter`` and ``$orderby`` as Graph applies them: a tokenizer, a recursive-descent parser and an
evaluator over the emulator's Graph-shaped dicts.

Supported forms (the ones reclaim and its peers send): property paths with ``/``
(``location/countryOrRegion``), ``eq ne gt ge lt le``, ``and``, ``or``, ``not``, parentheses, string
literals with ``''`` escaping, unquoted datetimes (``2024-05-01T00:00:00Z``), numbers, ``true`` /
``false`` / ``null``, ``startswith(prop,'x')`` / ``endswith`` / ``contains`` and lambdas over
collections (``targetResources/any(t: t/id eq 'x')``, ``all``). Anything else is a 400
``BadRequest`` "Invalid filter clause", never a crash.

Semantics follow the directory: string equality is case-insensitive; a datetime literal compares
against ISO 8601 string properties as instants; a missing property equals ``null`` and is neither
greater nor smaller than anything.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from reclaim.emulator.wire import ApiError

JSON = dict[str, Any]

COMPARISON_OPERATORS = ("eq", "ne", "gt", "ge", "lt", "le")
FUNCTIONS = ("startswith", "endswith", "contains")
#: Deeper nesting than this is refused (Graph refuses far smaller queries; this guards the recursion).
MAX_DEPTH = 32
MAX_LENGTH = 4096


def invalid(detail: str | None = None) -> ApiError:
    message = "Invalid filter clause" + (f": {detail}" if detail else "")
    return ApiError(400, "BadRequest", message)


# ---------------------------------------------------------------------------------------- tokens
@dataclass(frozen=True)
class Token:
    kind: str  # "ident" | "string" | "datetime" | "number" | "punct"
    text: str
    value: Any = None


_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,7})?)?(?:Z|z|[+-]\d{2}:\d{2})?)?")
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?")
_IDENT = re.compile(r"[A-Za-z_@$][A-Za-z0-9_@$.]*(?:/[A-Za-z_@$][A-Za-z0-9_@$.]*)*")
_GUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


def tokenize(text: str) -> list[Token]:
    tokens: list[Token] = []
    i = 0
    n = len(text)
    while i < n:
        ch = text[i]
        if ch.isspace():
            i += 1
            continue
        if ch in "(),:":
            tokens.append(Token("punct", ch))
            i += 1
            continue
        if ch == "'":
            j = i + 1
            parts: list[str] = []
            while True:
                if j >= n:
                    raise invalid("unterminated string literal")
                if text[j] == "'":
                    if j + 1 < n and text[j + 1] == "'":
                        parts.append("'")
                        j += 2
                        continue
                    break
                parts.append(text[j])
                j += 1
            tokens.append(Token("string", text[i:j + 1], "".join(parts)))
            i = j + 1
            continue
        m = _GUID.match(text, i)
        if m is not None and not _continues_word(text, m.end()):
            tokens.append(Token("string", m.group(), m.group()))
            i = m.end()
            continue
        m = _DATETIME.match(text, i)
        if m is not None and "-" in m.group() and not _continues_word(text, m.end()):
            try:
                value = _parse_datetime(m.group())
            except ValueError:
                raise invalid(f"'{m.group()}' is not a valid DateTimeOffset") from None
            tokens.append(Token("datetime", m.group(), value))
            i = m.end()
            continue
        m = _NUMBER.match(text, i)
        if m is not None and not _continues_word(text, m.end()):
            raw = m.group()
            number: float | int = float(raw) if any(c in raw for c in ".eE") else int(raw)
            tokens.append(Token("number", raw, number))
            i = m.end()
            continue
        m = _IDENT.match(text, i)
        if m is not None:
            tokens.append(Token("ident", m.group()))
            i = m.end()
            continue
        raise invalid(f"unexpected character {ch!r} at position {i}")
    return tokens


def _continues_word(text: str, end: int) -> bool:
    return end < len(text) and (text[end].isalnum() or text[end] in "_'")


@functools.lru_cache(maxsize=262_144)
def _parse_datetime(text: str) -> datetime:
    """Parse an OData / ISO 8601 timestamp (cached: collections compare the same stamps on every page)."""
    t = text
    if t[-1] in "Zz":
        t = t[:-1] + "+00:00"
    if "." in t:  # .NET writes up to 7 fractional digits; Python reads at most 6
        head, _, rest = t.partition(".")
        digits = "".join(c for c in rest if c.isdigit())
        tail = rest[len(digits):]
        t = f"{head}.{digits[:6].ljust(6, '0')}{tail}"
    dt = datetime.fromisoformat(t)
    return dt if dt.tzinfo is not None else dt.replace(tzinfo=UTC)


# ---------------------------------------------------------------------------------------- AST
@dataclass(frozen=True)
class Prop:
    path: tuple[str, ...]

    @property
    def name(self) -> str:
        return "/".join(self.path)


@dataclass(frozen=True)
class Literal:
    value: Any


@dataclass(frozen=True)
class Compare:
    op: str
    left: Prop | Literal
    right: Prop | Literal


@dataclass(frozen=True)
class Call:
    name: str
    prop: Prop
    arg: Literal


@dataclass(frozen=True)
class Lambda:
    kind: str  # "any" | "all"
    collection: Prop
    var: str
    body: Expr


@dataclass(frozen=True)
class BoolOp:
    """``a and b and c`` as one node with three operands: long chains stay flat (no deep recursion)."""

    op: str  # "and" | "or"
    operands: tuple[Expr, ...]


@dataclass(frozen=True)
class Not:
    operand: Expr


Expr = Compare | Call | Lambda | BoolOp | Not


# ---------------------------------------------------------------------------------------- parser
class _Parser:
    def __init__(self, tokens: list[Token]) -> None:
        self.tokens = tokens
        self.pos = 0
        self.depth = 0
        self.vars: list[str] = []

    def peek(self, offset: int = 0) -> Token | None:
        i = self.pos + offset
        return self.tokens[i] if i < len(self.tokens) else None

    def next(self) -> Token:
        tok = self.peek()
        if tok is None:
            raise invalid("unexpected end of expression")
        self.pos += 1
        return tok

    def expect_punct(self, ch: str) -> None:
        tok = self.next()
        if tok.kind != "punct" or tok.text != ch:
            raise invalid(f"expected '{ch}' but found '{tok.text}'")

    def at_keyword(self, word: str) -> bool:
        tok = self.peek()
        return tok is not None and tok.kind == "ident" and tok.text.lower() == word

    def parse(self) -> Expr:
        if not self.tokens:
            raise invalid("empty expression")
        expr = self.parse_or()
        if self.peek() is not None:
            raise invalid(f"unexpected '{self.next().text}'")
        return expr

    def _enter(self) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise invalid("the expression is nested too deeply")

    def parse_or(self) -> Expr:
        self._enter()
        operands = [self.parse_and()]
        while self.at_keyword("or"):
            self.next()
            operands.append(self.parse_and())
        self.depth -= 1
        return operands[0] if len(operands) == 1 else BoolOp("or", tuple(operands))

    def parse_and(self) -> Expr:
        operands = [self.parse_unary()]
        while self.at_keyword("and"):
            self.next()
            operands.append(self.parse_unary())
        return operands[0] if len(operands) == 1 else BoolOp("and", tuple(operands))

    def parse_unary(self) -> Expr:
        if self.at_keyword("not"):
            self.next()
            self._enter()
            operand = self.parse_unary()
            self.depth -= 1
            return Not(operand)
        return self.parse_primary()

    def parse_primary(self) -> Expr:
        tok = self.peek()
        if tok is None:
            raise invalid("unexpected end of expression")
        if tok.kind == "punct" and tok.text == "(":
            self.next()
            expr = self.parse_or()
            self.expect_punct(")")
            return expr
        if tok.kind == "ident" and tok.text.lower() in FUNCTIONS and self._is_punct(1, "("):
            return self.parse_call()
        if tok.kind == "ident" and self._is_punct(1, "("):
            head, _, last = tok.text.rpartition("/")
            if head and last.lower() in ("any", "all"):
                return self.parse_lambda()
            raise invalid(f"unknown function '{tok.text}'")
        left = self.parse_operand()
        after = self.peek()
        if isinstance(left, Prop) and (after is None or (after.kind == "punct" and after.text == ")")
                                       or (after.kind == "ident" and after.text.lower() in ("and", "or"))):
            return Compare("eq", left, Literal(True))  # a Boolean property on its own: ``not isRead``
        op = self.next()
        if op.kind != "ident" or op.text.lower() not in COMPARISON_OPERATORS:
            raise invalid(f"expected a comparison operator but found '{op.text}'")
        right = self.parse_operand()
        if isinstance(left, Literal) and isinstance(right, Literal):
            raise invalid("a comparison needs a property")
        return Compare(op.text.lower(), left, right)

    def _is_punct(self, offset: int, ch: str) -> bool:
        tok = self.peek(offset)
        return tok is not None and tok.kind == "punct" and tok.text == ch

    def parse_call(self) -> Expr:
        name = self.next().text.lower()
        self.expect_punct("(")
        prop = self.parse_operand()
        self.expect_punct(",")
        arg = self.parse_operand()
        self.expect_punct(")")
        if not isinstance(prop, Prop) or not isinstance(arg, Literal) or not isinstance(arg.value, str):
            raise invalid(f"{name}() takes a property and a string literal")
        return Call(name, prop, arg)

    def parse_lambda(self) -> Expr:
        tok = self.next()
        head, _, kind = tok.text.rpartition("/")
        self.expect_punct("(")
        var = self.next()
        if var.kind != "ident" or "/" in var.text or var.text.lower() in (*COMPARISON_OPERATORS, "and", "or", "not"):
            raise invalid("a lambda needs a range variable, e.g. any(t: t/id eq 'x')")
        self.expect_punct(":")
        self.vars.append(var.text)
        self._enter()
        body = self.parse_or()
        self.depth -= 1
        self.vars.pop()
        self.expect_punct(")")
        return Lambda(kind.lower(), Prop(tuple(head.split("/"))), var.text, body)

    def parse_operand(self) -> Prop | Literal:
        tok = self.next()
        if tok.kind in ("string", "datetime", "number"):
            return Literal(tok.value)
        if tok.kind == "ident":
            word = tok.text.lower()
            if word == "true":
                return Literal(True)
            if word == "false":
                return Literal(False)
            if word == "null":
                return Literal(None)
            if word in (*COMPARISON_OPERATORS, "and", "or", "not"):
                raise invalid(f"unexpected '{tok.text}'")
            return Prop(tuple(tok.text.split("/")))
        raise invalid(f"unexpected '{tok.text}'")


def parse_filter(text: str) -> Expr:
    """Parse a ``$filter`` expression; raises ``ApiError`` 400 for anything not understood."""
    if len(text) > MAX_LENGTH:
        raise invalid("the expression is too long")
    return _Parser(tokenize(text)).parse()


# ---------------------------------------------------------------------------------------- inspection
def walk(expr: Expr) -> Iterator[Expr]:
    """Every node, left to right (the order properties appear in the query text)."""
    yield expr
    if isinstance(expr, BoolOp):
        for operand in expr.operands:
            yield from walk(operand)
    elif isinstance(expr, Not):
        yield from walk(expr.operand)
    elif isinstance(expr, Lambda):
        yield from walk(expr.body)


def properties(expr: Expr) -> list[str]:
    """Property paths in order of appearance (lambda bodies as ``collection/any/inner``)."""
    out: list[str] = []
    for node in walk(expr):
        if isinstance(node, Compare):
            for side in (node.left, node.right):
                if isinstance(side, Prop):
                    out.append(side.name)
        elif isinstance(node, Call):
            out.append(node.prop.name)
        elif isinstance(node, Lambda):
            out.append(node.collection.name)
    return out


def comparisons(expr: Expr) -> list[tuple[str, str, Any]]:
    """``(property, operator, literal value)`` for every property-vs-literal comparison, operator
    normalised so the property is on the left (``X lt p`` → ``p gt X``)."""
    flip = {"gt": "lt", "lt": "gt", "ge": "le", "le": "ge", "eq": "eq", "ne": "ne"}
    out: list[tuple[str, str, Any]] = []
    for node in walk(expr):
        if isinstance(node, Compare):
            if isinstance(node.left, Prop) and isinstance(node.right, Literal):
                out.append((node.left.name, node.op, node.right.value))
            elif isinstance(node.right, Prop) and isinstance(node.left, Literal):
                out.append((node.right.name, flip[node.op], node.left.value))
    return out


def check_allowed(expr: Expr, allowed: set[str], *, resource: str | None = None) -> None:
    """Refuse properties outside ``allowed`` (case-insensitive), as Graph refuses unsupported filters.

    Inside a lambda only the collection must be allowed; paths on the range variable are free.
    ``resource`` (e.g. ``User``) answers with the directory's ``Request_UnsupportedQuery`` instead.
    """
    lowered = {a.lower() for a in allowed}

    def visit(node: Expr, bound: tuple[str, ...]) -> None:
        if isinstance(node, BoolOp):
            for operand in node.operands:
                visit(operand, bound)
        elif isinstance(node, Not):
            visit(node.operand, bound)
        elif isinstance(node, Lambda):
            _require(node.collection, bound)
            visit(node.body, (*bound, node.var))
        elif isinstance(node, Compare):
            for side in (node.left, node.right):
                if isinstance(side, Prop):
                    _require(side, bound)
        else:
            _require(node.prop, bound)

    def _require(prop: Prop, bound: tuple[str, ...]) -> None:
        if prop.path[0] in bound:
            return
        if prop.name.lower() not in lowered:
            if resource is not None:
                raise ApiError(400, "Request_UnsupportedQuery", "Unsupported or invalid query filter clause "
                               f"specified for property '{prop.name}' of resource '{resource}'.")
            raise invalid(f"filtering on property '{prop.name}' is not supported")

    visit(expr, ())


# ---------------------------------------------------------------------------------------- evaluation
_MISSING = object()


def _resolve(prop: Prop, item: Any, env: dict[str, Any]) -> Any:
    path = prop.path
    if path[0] in env:
        current = env[path[0]]
        path = path[1:]
    else:
        current = item
    for segment in path:
        if not isinstance(current, dict):
            return None
        if segment in current:
            current = current[segment]
            continue
        lowered = {k.lower(): k for k in current}
        key = lowered.get(segment.lower())
        if key is None:
            return None
        current = current[key]
    return current


def _operand(side: Prop | Literal, item: Any, env: dict[str, Any]) -> Any:
    return side.value if isinstance(side, Literal) else _resolve(side, item, env)


def _coerce(left: Any, right: Any) -> tuple[Any, Any] | None:
    """Bring two values to one comparable type, or None when they cannot be compared."""
    if isinstance(left, datetime) or isinstance(right, datetime):
        try:
            a = left if isinstance(left, datetime) else _parse_datetime(str(left))
            b = right if isinstance(right, datetime) else _parse_datetime(str(right))
        except ValueError:
            return None
        return a, b
    if isinstance(left, bool) or isinstance(right, bool):
        return (left, right) if isinstance(left, bool) and isinstance(right, bool) else None
    if isinstance(left, int | float) and isinstance(right, int | float):
        return left, right
    if isinstance(left, str) and isinstance(right, str):
        return left.lower(), right.lower()
    return None


def _compare(op: str, left: Any, right: Any) -> bool:
    if left is None or right is None:
        if op == "eq":
            return left is None and right is None
        if op == "ne":
            return not (left is None and right is None)
        return False
    pair = _coerce(left, right)
    if pair is None:
        return op == "ne"
    a, b = pair
    if op == "eq":
        return bool(a == b)
    if op == "ne":
        return bool(a != b)
    if op == "gt":
        return bool(a > b)
    if op == "ge":
        return bool(a >= b)
    if op == "lt":
        return bool(a < b)
    return bool(a <= b)


def evaluate(expr: Expr, item: Any, env: dict[str, Any] | None = None) -> bool:
    env = env or {}
    if isinstance(expr, BoolOp):
        results = (evaluate(operand, item, env) for operand in expr.operands)
        return all(results) if expr.op == "and" else any(results)
    if isinstance(expr, Not):
        return not evaluate(expr.operand, item, env)
    if isinstance(expr, Compare):
        return _compare(expr.op, _operand(expr.left, item, env), _operand(expr.right, item, env))
    if isinstance(expr, Call):
        value = _resolve(expr.prop, item, env)
        if not isinstance(value, str):
            return False
        text, arg = value.lower(), str(expr.arg.value).lower()
        if expr.name == "startswith":
            return text.startswith(arg)
        if expr.name == "endswith":
            return text.endswith(arg)
        return arg in text
    collection = _resolve(expr.collection, item, env)
    elements = collection if isinstance(collection, list) else []
    results = (evaluate(expr.body, item, {**env, expr.var: element}) for element in elements)
    return any(results) if expr.kind == "any" else all(results)


def apply_filter(items: list[JSON], text: str | None, *, allowed: set[str] | None = None,
                 resource: str | None = None) -> list[JSON]:
    """Filter ``items`` by a ``$filter`` text (``None`` or empty: all items)."""
    if not text:
        return items
    expr = parse_filter(text)
    if allowed is not None:
        check_allowed(expr, allowed, resource=resource)
    return [i for i in items if evaluate(expr, i)]


# ---------------------------------------------------------------------------------------- $orderby
def parse_orderby(text: str) -> list[tuple[str, bool]]:
    """``"receivedDateTime desc, subject"`` → ``[("receivedDateTime", True), ("subject", False)]``."""
    out: list[tuple[str, bool]] = []
    for part in text.split(","):
        words = part.split()
        if not words or len(words) > 2 or _IDENT.fullmatch(words[0]) is None:
            raise ApiError(400, "BadRequest", f"Invalid $orderby clause '{text}'.")
        descending = False
        if len(words) == 2:
            direction = words[1].lower()
            if direction not in ("asc", "desc"):
                raise ApiError(400, "BadRequest", f"Invalid $orderby clause '{text}'.")
            descending = direction == "desc"
        out.append((words[0], descending))
    return out


def _sort_key(value: Any) -> tuple[int, Any]:
    if value is None:
        return (0, "")
    if isinstance(value, bool):
        return (1, int(value))
    if isinstance(value, int | float):
        return (2, value)
    if isinstance(value, str):
        if len(value) >= 10 and value[4] == "-" and value[7] == "-" and _DATETIME.fullmatch(value):
            try:
                return (3, _parse_datetime(value))
            except ValueError:
                return (4, value.lower())
        return (4, value.lower())
    return (5, str(value))


def apply_orderby(items: list[JSON], text: str | None) -> list[JSON]:
    """Sort by ``$orderby`` (stable, last key first); nulls sort first ascending, as in OData."""
    if not text:
        return items
    out = list(items)
    for name, descending in reversed(parse_orderby(text)):
        out.sort(key=_key_for(Prop(tuple(name.split("/")))), reverse=descending)
    return out


def _key_for(prop: Prop) -> Callable[[JSON], tuple[int, Any]]:
    if len(prop.path) == 1:
        name = prop.path[0]

        def top_level(item: JSON) -> tuple[int, Any]:
            # the common case (``createdDateTime desc``), without the general path walk
            return _sort_key(item[name] if name in item else _resolve(prop, item, {}))

        return top_level

    def key(item: JSON) -> tuple[int, Any]:
        return _sort_key(_resolve(prop, item, {}))

    return key

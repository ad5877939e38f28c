"""The NGSI-LD query language (`q`): parse a filter once, then test entities against it.

Grammar (ETSI NGSI-LD clause 4.9), as implemented here:

    Query     := AndQuery ("|" AndQuery)*          ";" binds tighter than "|"
    AndQuery  := Primary (";" Primary)*
    Primary   := "(" Query ")" | Term
    Term      := Attribute [Operator Value]        Attribute alone: "the attribute exists"
    Attribute := name ("." name)* ("[" key "]")*   "." = sub-attribute (e.g. pm10.observedAt),
                                                   "[key]" = member of a structured value
    Operator  := "==" | "!=" | ">" | ">=" | "<" | "<=" | "~=" | "!~="
    Value     := single | single ".." single | single ("," single)+
    single    := number | "quoted string" | true | false | dateTime | date | other text (URI)

Ranges and lists go with "==" and "!="; "~=" and "!~=" take a regular expression (quote it when
it contains ";" or "|"). A term on an attribute the entity lacks, or whose value has another type
than the one compared with, does not match.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from citymeter.ngsi.errors import BadRequestData

_OPERATORS = ("!~=", "==", "!=", ">=", "<=", "~=", ">", "<")
_NAME = re.compile(r"[^\s=!<>~;|()\[\].,\"']+")
_NUMBER = re.compile(r"^-?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$")
# Metadata an attribute carries beside its value; reachable as "attr.observedAt" and the like.
_META = frozenset({"observedAt", "unitCode", "datasetId", "createdAt", "modifiedAt"})
MAX_LENGTH = 4000


@dataclass(frozen=True)
class Range:
    low: Any
    high: Any


@dataclass(frozen=True)
class ValueList:
    items: tuple[Any, ...]


@dataclass(frozen=True)
class Term:
    path: tuple[str, ...]
    members: tuple[str, ...]
    op: str | None
    value: Any = None
    pattern: re.Pattern[str] | None = None


@dataclass(frozen=True)
class And:
    terms: tuple[Expr, ...]


@dataclass(frozen=True)
class Or:
    terms: tuple[Expr, ...]


Expr = Term | And | Or


def parse_q(text: str, expand: Callable[[str], str] | None = None) -> Expr:
    """Parse `q`; `expand` maps attribute terms to stored names (the request's @context)."""
    if not text.strip():
        raise BadRequestData("The q parameter is empty.")
    if len(text) > MAX_LENGTH:
        raise BadRequestData(f"The q parameter is longer than {MAX_LENGTH} characters.")
    parser = _Parser(text, expand or (lambda name: name))
    expr = parser.parse_or()
    parser.skip_space()
    if parser.pos != len(text):
        parser.fail("unexpected text")
    return expr


def attribute_names(expr: Expr) -> set[str]:
    """The top-level attributes a filter reads (to know what an entity must carry)."""
    if isinstance(expr, Term):
        return {expr.path[0]}
    names: set[str] = set()
    for term in expr.terms:
        names |= attribute_names(term)
    return names


class _Parser:
    def __init__(self, text: str, expand: Callable[[str], str]) -> None:
        self.text = text
        self.pos = 0
        self.expand = expand

    def fail(self, what: str) -> None:
        shown = self.text[self.pos : self.pos + 20] or "the end"
        raise BadRequestData(
            f"Invalid q: {what} at character {self.pos + 1} ({shown!r}) in {self.text!r}."
        )

    def skip_space(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos].isspace():
            self.pos += 1

    def peek(self) -> str:
        self.skip_space()
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def parse_or(self) -> Expr:
        terms = [self.parse_and()]
        while self.peek() == "|":
            self.pos += 1
            terms.append(self.parse_and())
        return terms[0] if len(terms) == 1 else Or(tuple(terms))

    def parse_and(self) -> Expr:
        terms = [self.parse_primary()]
        while self.peek() == ";":
            self.pos += 1
            terms.append(self.parse_primary())
        return terms[0] if len(terms) == 1 else And(tuple(terms))

    def parse_primary(self) -> Expr:
        if self.peek() == "(":
            self.pos += 1
            expr = self.parse_or()
            if self.peek() != ")":
                self.fail("a ')' is missing")
            self.pos += 1
            return expr
        return self.parse_term()

    def parse_term(self) -> Term:
        self.skip_space()
        path = [self._name("an attribute name")]
        while self.pos < len(self.text) and self.text[self.pos] == ".":
            self.pos += 1
            path.append(self._name("a sub-attribute name after '.'"))
        members: list[str] = []
        while self.pos < len(self.text) and self.text[self.pos] == "[":
            end = self.text.find("]", self.pos)
            if end < 0:
                self.fail("a ']' is missing")
            member = self.text[self.pos + 1 : end].strip()
            if not member:
                self.fail("an empty [] member")
            members.append(member)
            self.pos = end + 1
        expanded = (self.expand(path[0]), *path[1:])
        self.skip_space()
        op = next((o for o in _OPERATORS if self.text.startswith(o, self.pos)), None)
        if op is None:
            return Term(expanded, tuple(members), None)
        self.pos += len(op)
        raw = self._raw_value(op)
        if op in ("~=", "!~="):
            pattern = _unquote(raw) if raw[:1] in "\"'" else raw
            try:
                compiled = re.compile(pattern)
            except re.error as exc:
                raise BadRequestData(
                    f"Invalid q: the pattern {pattern!r} is not valid: {exc}."
                ) from None
            return Term(expanded, tuple(members), op, pattern, compiled)
        value = self._value(raw, op)
        return Term(expanded, tuple(members), op, value)

    def _name(self, what: str) -> str:
        match = _NAME.match(self.text, self.pos)
        if match is None:
            self.fail(f"expected {what}")
            raise AssertionError  # unreachable; fail() raises
        self.pos = match.end()
        return match.group(0)

    def _raw_value(self, op: str) -> str:
        """The text of a value: up to the next ';', '|' or unmatched ')' outside quotes."""
        self.skip_space()
        start = self.pos
        depth = 0
        quote = ""
        regex = op in ("~=", "!~=")
        while self.pos < len(self.text):
            char = self.text[self.pos]
            if quote:
                if char == "\\":
                    self.pos += 1
                elif char == quote:
                    quote = ""
            elif char in "\"'":
                quote = char
            elif char == "(" and regex:
                depth += 1
            elif char == ")":
                if depth == 0:
                    break
                depth -= 1
            elif char == ";" or (char == "|" and depth == 0):
                break
            self.pos += 1
        if quote:
            self.fail("a closing quote is missing")
        raw = self.text[start : self.pos].strip()
        if not raw:
            self.fail(f"a value is missing after {op!r}")
        return raw

    def _value(self, raw: str, op: str) -> Any:
        parts = _split_outside_quotes(raw, "..")
        if len(parts) == 2:
            if op not in ("==", "!="):
                self.fail("a range (a..b) goes only with == or !=")
            low, high = _single(parts[0], self), _single(parts[1], self)
            if _kind(low) != _kind(high):
                self.fail("both ends of a range must be of the same kind")
            return Range(low, high)
        if len(parts) > 2:
            self.fail("a range has exactly two ends")
        items = _split_outside_quotes(raw, ",")
        if len(items) > 1:
            if op not in ("==", "!="):
                self.fail("a list of values goes only with == or !=")
            return ValueList(tuple(_single(item, self) for item in items))
        value = _single(raw, self)
        if isinstance(value, bool) and op not in ("==", "!="):
            self.fail("true and false can only be compared with == or !=")
        return value


def _split_outside_quotes(text: str, separator: str) -> list[str]:
    parts: list[str] = []
    quote = ""
    start = 0
    i = 0
    while i < len(text):
        char = text[i]
        if quote:
            if char == "\\":
                i += 1
            elif char == quote:
                quote = ""
        elif char in "\"'":
            quote = char
        elif text.startswith(separator, i):
            parts.append(text[start:i])
            i += len(separator)
            start = i
            continue
        i += 1
    parts.append(text[start:])
    return parts


def _unquote(text: str) -> str:
    inner = text[1:-1]
    return re.sub(r"\\(.)", r"\1", inner)


def _single(raw: str, parser: _Parser) -> Any:
    text = raw.strip()
    if not text:
        parser.fail("an empty value")
    if text[0] in "\"'":
        if len(text) < 2 or text[-1] != text[0]:
            parser.fail("a quoted value must end with the same quote")
        return _unquote(text)
    if text == "true":
        return True
    if text == "false":
        return False
    if _NUMBER.match(text):
        number = float(text)
        return int(number) if number.is_integer() and re.match(r"^-?\d+$", text) else number
    if _DATETIME.match(text):
        return _as_datetime(text)
    if _DATE.match(text):
        try:
            return dt.date.fromisoformat(text)
        except ValueError:
            parser.fail(f"{text!r} is not a valid date")
    if text[0] in "=<>!~" or any(char in "()" for char in text):
        parser.fail(f"{text!r} is not a value")
    if any(char.isspace() for char in text):
        parser.fail(f"the text {text!r} has spaces; put it in double quotes")
    return text


def _as_datetime(text: str) -> dt.datetime | None:
    try:
        value = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, dt.datetime):
        return "datetime"
    if isinstance(value, dt.date):
        return "date"
    return "text"


# ---- evaluation -------------------------------------------------------------------------------


def matches(expr: Expr, entity: dict[str, Any]) -> bool:
    """True when the entity (NGSI-LD normalized form, stored names) satisfies the filter."""
    if isinstance(expr, And):
        return all(matches(term, entity) for term in expr.terms)
    if isinstance(expr, Or):
        return any(matches(term, entity) for term in expr.terms)
    found, target = _target(expr, entity)
    if not found:
        return False
    if expr.op is None:
        return True
    if isinstance(target, list):
        hits = [_compare(item, expr) for item in target]
        if expr.op in ("!=", "!~="):
            return all(hits)
        return any(hits)
    return _compare(target, expr)


_MISSING = object()


def _target(term: Term, entity: dict[str, Any]) -> tuple[bool, Any]:
    node: Any = entity.get(term.path[0], _MISSING)
    if not isinstance(node, dict):
        return False, None
    for name in term.path[1:]:
        child = node.get(name, _MISSING)
        if child is _MISSING:
            return False, None
        if isinstance(child, dict) and "type" in child:
            node = child
            continue
        if name in _META and name == term.path[-1] and not term.members:
            return True, child
        return False, None
    value = _attribute_value(node)
    for member in term.members:
        if not isinstance(value, dict) or member not in value:
            return False, None
        value = value[member]
    return value is not None, value


def _attribute_value(attribute: dict[str, Any]) -> Any:
    kind = attribute.get("type")
    if kind == "Relationship":
        return attribute.get("object")
    if kind == "LanguageProperty":
        return attribute.get("languageMap")
    return attribute.get("value")


def _compare(target: Any, term: Term) -> bool:
    op, value = term.op, term.value
    if op in ("~=", "!~="):
        if not isinstance(target, str) or term.pattern is None:
            return False
        hit = term.pattern.search(target) is not None
        return hit if op == "~=" else not hit
    if isinstance(value, Range):
        low, high = _coerce(target, value.low), _coerce(target, value.high)
        if low is None or high is None:
            return False
        inside = _ordered(low[0], value_low=low[1], value_high=high[1])
        return inside if op == "==" else not inside
    if isinstance(value, ValueList):
        hits = []
        for item in value.items:
            pair = _coerce(target, item)
            hits.append(pair is not None and pair[0] == pair[1])
        return any(hits) if op == "==" else not any(hits)
    pair = _coerce(target, value)
    if pair is None:
        return False
    left, right = pair
    try:
        if op == "==":
            return bool(left == right)
        if op == "!=":
            return bool(left != right)
        if op == ">":
            return bool(left > right)
        if op == ">=":
            return bool(left >= right)
        if op == "<":
            return bool(left < right)
        if op == "<=":
            return bool(left <= right)
    except TypeError:
        return False
    return False


def _ordered(target: Any, *, value_low: Any, value_high: Any) -> bool:
    try:
        return bool(value_low <= target <= value_high)
    except TypeError:
        return False


def _coerce(target: Any, value: Any) -> tuple[Any, Any] | None:
    """(target, value) made comparable, or None when their kinds differ."""
    kind = _kind(value)
    if kind == "bool":
        return (target, value) if isinstance(target, bool) else None
    if kind == "number":
        if isinstance(target, bool) or not isinstance(target, int | float):
            return None
        return target, value
    if kind == "datetime":
        if not isinstance(target, str):
            return None
        parsed = _as_datetime(target)
        return (parsed, value) if parsed is not None else None
    if kind == "date":
        if not isinstance(target, str):
            return None
        try:
            return dt.date.fromisoformat(target[:10]), value
        except ValueError:
            return None
    if isinstance(target, str):
        return target, value
    return None

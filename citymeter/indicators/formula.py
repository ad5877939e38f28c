"""The formula language of indicator definitions: tokenizer, parser, unit analysis, evaluation.

    formula   := expr
    expr      := term (("+" | "-") term)*
    term      := unary (("*" | "/") unary)*
    unary     := "-" unary | primary
    primary   := NUMBER | "(" expr ")" | call | metric
    call      := NAME "(" [arg ("," arg)*] ")"
    arg       := [NAME ":"] (expr | NAME "." NAME | STRING)
    metric    := NAME ["[" condition ("," condition)* "]"]
    condition := NAME ("=" | ">=" | ">" | "<=" | "<") (NAME | NUMBER | STRING | band)

A bare name is a metric observation (`population`); a selector pins a breakdown
(`employed_persons[sex=female]`, `population[age_band>=65]`); a call is a registered aggregate
over live records (`median(complaints.processing_hours)`). Nothing is ever passed to eval().
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from citymeter.errors import InvalidInput
from citymeter.indicators import breakdowns
from citymeter.indicators.breakdowns import AgeRange
from citymeter.indicators.functions import REGISTRY, AggregateFunction, Param
from citymeter.indicators.units import DIMENSIONLESS, Unit, UnitError, describe, parse_unit


class FormulaError(InvalidInput):
    """A formula that cannot be read, checked or evaluated; names the indicator and the inputs."""

    def __init__(
        self,
        code: str,
        problem: str,
        *,
        inputs: tuple[str, ...] = (),
        position: int | None = None,
        text: str | None = None,
    ) -> None:
        message = f"Indicator {code}: {problem}"
        if inputs:
            message += f" (inputs: {', '.join(inputs)})"
        if position is not None and text is not None:
            message += f"\n  {text}\n  {' ' * position}^"
        super().__init__(
            message, details={"code": code, "inputs": list(inputs), "position": position}
        )
        self.code = code
        self.problem = problem
        self.inputs = inputs
        self.position = position


# ---------------------------------------------------------------- tokens


@dataclass(frozen=True)
class Token:
    kind: str  # NUMBER NAME STRING OP END
    text: str
    pos: int


_TOKEN = re.compile(
    r"(?P<ws>\s+)|(?P<NUMBER>\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)"
    r"|(?P<NAME>[A-Za-z_][A-Za-z0-9_]*)|(?P<STRING>'[^']*'|\"[^\"]*\")"
    r"|(?P<OP>>=|<=|[-+*/()\[\],:.<>=])"
)


def tokenize(text: str, code: str = "?") -> list[Token]:
    tokens = []
    pos = 0
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if not match:
            raise FormulaError(
                code, f"formula syntax error at position {pos + 1}: unexpected {text[pos]!r}",
                position=pos, text=text,
            )  # fmt: skip
        kind = match.lastgroup or ""
        if kind != "ws":
            tokens.append(Token(kind, match.group(), pos))
        pos = match.end()
    tokens.append(Token("END", "", len(text)))
    return tokens


# ---------------------------------------------------------------- syntax tree


@dataclass(frozen=True)
class Number:
    value: float
    pos: int


@dataclass(frozen=True)
class Text:
    """A quoted string or a bare word used as a function argument (`type: fire`)."""

    value: str
    pos: int


@dataclass(frozen=True)
class FieldPath:
    records: str
    field: str
    pos: int


@dataclass(frozen=True)
class MetricRef:
    """An observation of a metric, optionally pinned to a sex, an age range or other dimensions."""

    code: str
    pos: int
    sex: str | None = None
    ages: AgeRange | None = None
    dims: tuple[tuple[str, str], ...] = ()

    @cached_property
    def key(self) -> str:
        """Canonical text, the key of this input in an inputs mapping."""
        parts = []
        if self.ages is not None:
            parts.append(f"age_band={self.ages}")
        parts.extend(f"{k}={v}" for k, v in self.dims)
        if self.sex is not None:
            parts.append(f"sex={self.sex}")
        return f"{self.code}[{','.join(sorted(parts))}]" if parts else self.code


@dataclass(frozen=True)
class Arg:
    name: str | None
    value: Node
    pos: int


@dataclass(frozen=True)
class Call:
    name: str
    args: tuple[Arg, ...]
    pos: int


@dataclass(frozen=True)
class Unary:
    op: str
    operand: Node
    pos: int


@dataclass(frozen=True)
class Binary:
    op: str
    left: Node
    right: Node
    pos: int


@dataclass(frozen=True)
class Aggregate:
    """A call bound to its registered function, with checked arguments."""

    function: AggregateFunction
    options: tuple[tuple[str, str | float], ...]
    filters: tuple[tuple[str, str], ...]
    exprs: tuple[Node, ...]
    pos: int

    @cached_property
    def key(self) -> str:
        parts = [f"{k}: {v:g}" if isinstance(v, float) else f"{k}: {v}" for k, v in self.options]
        parts = [p.removeprefix("field: ").removeprefix("records: ") for p in parts]
        parts += [f"{k}: {v}" for k, v in self.filters]
        parts += [render(e) for e in self.exprs]
        return f"{self.function.name}({', '.join(parts)})"

    def option(self, name: str) -> str | float | None:
        return dict(self.options).get(name)


Node = Number | Text | FieldPath | MetricRef | Call | Unary | Binary | Aggregate


def render(node: Node) -> str:
    """Canonical formula text of a node."""
    if isinstance(node, Number):
        return f"{node.value:g}"
    if isinstance(node, Text):
        return node.value
    if isinstance(node, FieldPath):
        return f"{node.records}.{node.field}"
    if isinstance(node, MetricRef | Aggregate):
        return node.key
    if isinstance(node, Call):
        args = ", ".join(
            f"{a.name}: {render(a.value)}" if a.name else render(a.value) for a in node.args
        )
        return f"{node.name}({args})"
    if isinstance(node, Unary):
        return f"-{_wrapped(node.operand, 3)}"
    left = _wrapped(node.left, _PRECEDENCE[node.op])
    right = _wrapped(node.right, _PRECEDENCE[node.op] + 1)
    return f"{left} {node.op} {right}"


_PRECEDENCE = {"+": 1, "-": 1, "*": 2, "/": 2}


def _wrapped(node: Node, level: int) -> str:
    if isinstance(node, Binary) and _PRECEDENCE[node.op] < level:
        return f"({render(node)})"
    return render(node)


# ---------------------------------------------------------------- parser


class _Parser:
    def __init__(self, text: str, code: str) -> None:
        self.text = text
        self.code = code
        self.tokens = tokenize(text, code)
        self.index = 0

    @property
    def token(self) -> Token:
        return self.tokens[self.index]

    def fail(self, problem: str, token: Token | None = None) -> FormulaError:
        where = (token or self.token).pos
        return FormulaError(
            self.code, f"formula syntax error at position {where + 1}: {problem}",
            position=where, text=self.text,
        )  # fmt: skip

    def describe(self, token: Token) -> str:
        return "the end of the formula" if token.kind == "END" else repr(token.text)

    def take(self, text: str) -> Token:
        if self.token.text != text or self.token.kind not in ("OP",):
            raise self.fail(f"expected {text!r}, found {self.describe(self.token)}")
        token = self.token
        self.index += 1
        return token

    def accept(self, text: str) -> bool:
        if self.token.kind == "OP" and self.token.text == text:
            self.index += 1
            return True
        return False

    def formula(self) -> Node:
        if self.token.kind == "END":
            raise self.fail("the formula is empty")
        node = self.expr()
        if self.token.kind != "END":
            raise self.fail(f"unexpected {self.describe(self.token)} (an operator is missing?)")
        return node

    def expr(self) -> Node:
        node = self.term()
        while self.token.kind == "OP" and self.token.text in ("+", "-"):
            op = self.token
            self.index += 1
            node = Binary(op.text, node, self.term(), op.pos)
        return node

    def term(self) -> Node:
        node = self.unary()
        while self.token.kind == "OP" and self.token.text in ("*", "/"):
            op = self.token
            self.index += 1
            node = Binary(op.text, node, self.unary(), op.pos)
        return node

    def unary(self) -> Node:
        if self.token.kind == "OP" and self.token.text == "-":
            op = self.token
            self.index += 1
            return Unary("-", self.unary(), op.pos)
        return self.primary()

    def primary(self) -> Node:
        token = self.token
        if token.kind == "NUMBER":
            self.index += 1
            try:
                return Number(float(token.text), token.pos)
            except ValueError:
                raise self.fail(f"{token.text!r} is not a number", token) from None
        if token.kind == "OP" and token.text == "(":
            self.index += 1
            node = self.expr()
            self.take(")")
            return node
        if token.kind == "NAME":
            self.index += 1
            if self.accept("("):
                return self.call(token)
            if self.token.kind == "OP" and self.token.text == ".":
                raise self.fail(
                    f"a record field such as {token.text}.… can only be a function argument, "
                    "e.g. median(complaints.processing_hours)"
                )
            return self.metric(token)
        raise self.fail(
            f"expected a number, a metric, a function or '(', found {self.describe(token)}"
        )

    def call(self, name: Token) -> Call:
        args: list[Arg] = []
        if not self.accept(")"):
            while True:
                args.append(self.argument())
                if self.accept(")"):
                    break
                self.take(",")
        return Call(name.text, tuple(args), name.pos)

    def argument(self) -> Arg:
        start = self.token
        label: str | None = None
        if start.kind == "NAME" and self.tokens[self.index + 1].text == ":":
            label = start.text
            self.index += 2
        token = self.token
        if token.kind == "STRING":
            self.index += 1
            return Arg(label, Text(token.text[1:-1], token.pos), start.pos)
        nxt = self.tokens[self.index + 1]
        if token.kind == "NAME" and nxt.kind == "OP" and nxt.text == ".":
            self.index += 2
            if self.token.kind != "NAME":
                raise self.fail(f"expected a field name after {token.text}.")
            field_token = self.token
            self.index += 1
            return Arg(label, FieldPath(token.text, field_token.text, token.pos), start.pos)
        return Arg(label, self.expr(), start.pos)

    def metric(self, name: Token) -> MetricRef:
        if not self.accept("["):
            return MetricRef(name.text, name.pos)
        sex: str | None = None
        ages: AgeRange | None = None
        dims: dict[str, str] = {}
        while True:
            key = self.token
            if key.kind != "NAME":
                raise self.fail(
                    f"expected a breakdown name (sex, age_band, …), found {self.describe(key)}"
                )
            self.index += 1
            op = self.token
            if op.kind != "OP" or op.text not in breakdowns.AGE_OPERATORS:
                raise self.fail(f"expected =, >=, >, <= or < after {key.text}")
            self.index += 1
            value = self.token
            if value.kind not in ("NAME", "NUMBER", "STRING"):
                raise self.fail(f"expected a value for {key.text}, found {self.describe(value)}")
            self.index += 1
            raw = value.text.strip("'\"")
            if key.text == "age_band" and value.kind == "NUMBER":
                raw += self._band_end()
            if key.text == "age_band":
                try:
                    ages = breakdowns.narrow(ages or AgeRange(), op.text, raw)
                except ValueError as exc:
                    raise self.fail(str(exc), value) from None
            elif op.text != "=":
                raise self.fail(f"{key.text} takes = only; comparisons are for age_band", op)
            elif key.text == "sex":
                if raw not in breakdowns.SEX_VALUES:
                    raise self.fail(
                        f"sex is one of {', '.join(breakdowns.SEX_VALUES)}, not {raw!r}", value
                    )
                sex = raw
            else:
                dims[key.text] = raw
            if self.accept("]"):
                break
            self.take(",")
        return MetricRef(name.text, name.pos, sex, ages, tuple(sorted(dims.items())))

    def _band_end(self) -> str:
        """The rest of a band written without quotes: `-64` in `15-64`, `+` in `65+`."""
        if self.token.kind == "OP" and self.token.text == "+":
            self.index += 1
            return "+"
        nxt = self.tokens[self.index + 1]
        if self.token.kind == "OP" and self.token.text == "-" and nxt.kind == "NUMBER":
            self.index += 2
            return f"-{nxt.text}"
        return ""


def parse(text: str, code: str = "?") -> Node:
    """The syntax tree of a formula; errors name the position."""
    return _Parser(text, code).formula()


# ---------------------------------------------------------------- analysis


@dataclass(frozen=True)
class Catalogue:
    """What a formula may name: metrics with units, entity attributes, record fields.

    Record fields have a unit, or `text` / `bool` for fields that can only be filtered or shared.
    """

    metrics: Mapping[str, str] = field(default_factory=dict)
    entities: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    records: Mapping[str, Mapping[str, str]] = field(default_factory=dict)


@dataclass(frozen=True)
class Formula:
    """A checked formula: its tree with bound aggregates, its result unit and its inputs."""

    code: str
    text: str
    tree: Node
    unit: Unit

    @property
    def metric_refs(self) -> list[MetricRef]:
        return [n for n in walk(self.tree) if isinstance(n, MetricRef)]

    @property
    def aggregates(self) -> list[Aggregate]:
        return [n for n in walk(self.tree) if isinstance(n, Aggregate)]

    @property
    def metrics(self) -> set[str]:
        return {ref.code for ref in self.metric_refs}

    @property
    def input_keys(self) -> list[str]:
        keys: list[str] = []
        for node in walk(self.tree):
            if _is_input(node) and node.key not in keys:  # type: ignore[union-attr]
                keys.append(node.key)  # type: ignore[union-attr]
        return keys

    @property
    def is_reported(self) -> bool:
        """The formula is one metric as reported, with nothing computed."""
        return isinstance(self.tree, MetricRef)

    def evaluate(self, inputs: Mapping[str, float], data: Mapping[str, Any] | None = None) -> float:
        return evaluate(self, inputs, data)


def walk(node: Node) -> Iterator[Node]:
    yield node
    if isinstance(node, Binary):
        yield from walk(node.left)
        yield from walk(node.right)
    elif isinstance(node, Unary):
        yield from walk(node.operand)
    elif isinstance(node, Aggregate):
        for expr in node.exprs:
            yield from walk(expr)
    elif isinstance(node, Call):
        for arg in node.args:
            yield from walk(arg.value)


def _is_input(node: Node) -> bool:
    """A metric or an aggregate is an input; coalesce only chooses between inputs."""
    if isinstance(node, Aggregate):
        return node.function.name != "coalesce"
    return isinstance(node, MetricRef)


def _inputs_of(node: Node) -> tuple[str, ...]:
    seen: list[str] = []
    for n in walk(node):
        if _is_input(n) and n.key not in seen:  # type: ignore[union-attr]
            seen.append(n.key)  # type: ignore[union-attr]
    return tuple(seen)


@dataclass
class _Checked:
    node: Node
    unit: Unit
    constant: float | None = None


class _Analyser:
    def __init__(self, code: str, text: str, catalogue: Catalogue) -> None:
        self.code = code
        self.text = text
        self.catalogue = catalogue

    def fail(
        self, problem: str, node: Node | None = None, inputs: tuple[str, ...] = ()
    ) -> FormulaError:
        pos = getattr(node, "pos", None)
        return FormulaError(self.code, problem, inputs=inputs, position=pos, text=self.text)

    def unit_of(self, text: str, what: str) -> Unit:
        try:
            return parse_unit(text)
        except UnitError as exc:
            raise self.fail(f"{what} has an unreadable unit: {exc}") from None

    def check(self, node: Node) -> _Checked:
        if isinstance(node, Number):
            return _Checked(node, DIMENSIONLESS, node.value)
        if isinstance(node, MetricRef):
            return self.metric(node)
        if isinstance(node, Unary):
            inner = self.check(node.operand)
            constant = -inner.constant if inner.constant is not None else None
            return _Checked(Unary("-", inner.node, node.pos), inner.unit, constant)
        if isinstance(node, Binary):
            return self.binary(node)
        if isinstance(node, Call):
            return self.call(node)
        if isinstance(node, FieldPath):
            raise self.fail(
                f"{node.records}.{node.field} is a record field; use it inside a function", node
            )
        raise self.fail(f"{render(node)!r} cannot stand alone here", node)

    def metric(self, ref: MetricRef) -> _Checked:
        unit_text = self.catalogue.metrics.get(ref.code)
        if unit_text is None:
            close = difflib.get_close_matches(ref.code, list(self.catalogue.metrics), n=3)
            hint = f"; did you mean {', '.join(close)}?" if close else ""
            raise self.fail(f"unknown metric {ref.code!r}{hint}", ref, (ref.key,))
        return _Checked(ref, self.unit_of(unit_text, f"metric {ref.code}"))

    def binary(self, node: Binary) -> _Checked:
        left = self.check(node.left)
        right = self.check(node.right)
        tree = Binary(node.op, left.node, right.node, node.pos)
        if left.constant is not None and right.constant is not None:
            a, b = left.constant, right.constant
            if node.op == "/" and b == 0:
                raise self.fail("division by zero in a constant", node)
            value = {"+": a + b, "-": a - b, "*": a * b, "/": a / b if b else 0.0}[node.op]
            return _Checked(tree, DIMENSIONLESS, value)
        if node.op in "+-":
            if left.constant is not None:
                return _Checked(tree, right.unit)
            if right.constant is not None:
                return _Checked(tree, left.unit)
            if not left.unit.same_as(right.unit):
                verb = "add" if node.op == "+" else "subtract"
                raise self.fail(
                    f"unit mismatch: cannot {verb} {describe(left.unit)} "
                    f"({render(left.node)}) and {describe(right.unit)} ({render(right.node)})",
                    node, _inputs_of(tree),
                )  # fmt: skip
            return _Checked(tree, left.unit)
        if node.op == "*":
            if left.constant is not None:
                return _Checked(tree, right.unit.times_number(left.constant or 1))
            if right.constant is not None:
                return _Checked(tree, left.unit.times_number(right.constant or 1))
            return _Checked(tree, left.unit * right.unit)
        if right.constant is not None:
            if right.constant == 0:
                raise self.fail("division by zero", node, _inputs_of(left.node))
            return _Checked(tree, left.unit.times_number(1 / right.constant))
        if left.constant is not None:
            return _Checked(tree, right.unit.inverse().times_number(left.constant or 1))
        return _Checked(tree, left.unit / right.unit)

    def call(self, call: Call) -> _Checked:
        function = REGISTRY.get(call.name)
        if function is None:
            known = ", ".join(sorted(REGISTRY))
            raise self.fail(f"unknown function {call.name!r} (known: {known})", call)
        positional = [p for p in function.params if p.positional]
        named = {p.name: p for p in function.params}
        bound: dict[str, Node] = {}
        extra_exprs: list[Node] = []
        filters: dict[str, str] = {}
        index = 0
        for arg in call.args:
            if arg.name is None:
                if index < len(positional):
                    param = positional[index]
                    index += 1
                    bound[param.name] = arg.value
                elif function.variadic:
                    extra_exprs.append(arg.value)
                else:
                    raise self.fail(
                        f"{call.name}() takes {len(positional)} unnamed argument(s)", arg.value
                    )
            elif arg.name in named:
                if arg.name in bound:
                    raise self.fail(f"{call.name}(): argument {arg.name!r} given twice", arg.value)
                bound[arg.name] = arg.value
            elif function.accepts_filters:
                if arg.name in filters:
                    raise self.fail(f"{call.name}(): filter {arg.name!r} given twice", arg.value)
                filters[arg.name] = self.word(arg.value, arg.name, call.name)
            else:
                allowed = ", ".join(named)
                raise self.fail(
                    f"{call.name}() has no argument {arg.name!r} (it takes {allowed})", arg.value
                )
        for param in function.params:
            if param.required and param.name not in bound:
                raise self.fail(
                    f"{call.name}() needs the argument {param.name!r}: {param.help}".rstrip(": "),
                    call,
                )
        options: dict[str, str | float] = {}
        exprs: list[_Checked] = []
        for name, value in bound.items():
            param = named[name]
            if param.kind == "expr":
                exprs.append(self.check(value))
            else:
                options[name] = self.option(param, value, call.name)
        exprs.extend(self.check(e) for e in extra_exprs)
        node = Aggregate(
            function,
            tuple((p.name, options[p.name]) for p in function.params if p.name in options),
            tuple(sorted(filters.items())),
            tuple(c.node for c in exprs),
            call.pos,
        )
        return _Checked(node, self.result_unit(node, exprs, call))

    def word(self, value: Node, name: str, function: str) -> str:
        if isinstance(value, Text):
            return value.value
        if isinstance(value, MetricRef) and value.key == value.code:
            return value.code
        if isinstance(value, Number):
            return f"{value.value:g}"
        raise self.fail(
            f"{function}(): {name} takes a word such as fire, not {render(value)!r}", value
        )

    def option(self, param: Param, value: Node, function: str) -> str | float:
        if param.kind == "number":
            if isinstance(value, Number):
                return value.value
            if isinstance(value, Unary) and isinstance(value.operand, Number):
                return -value.operand.value
            raise self.fail(
                f"{function}(): {param.name} takes a number, not {render(value)!r}", value
            )
        if param.kind == "field":
            if not isinstance(value, FieldPath):
                raise self.fail(
                    f"{function}(): {param.name} takes records.field, "
                    "e.g. complaints.processing_hours",
                    value,
                )
            return f"{value.records}.{value.field}"
        return self.word(value, param.name, function)

    def result_unit(self, node: Aggregate, exprs: list[_Checked], call: Call) -> Unit:
        function = node.function
        if function.result == "common":
            if not exprs:
                raise self.fail(f"{call.name}() needs at least one argument", call)
            first = exprs[0].unit
            for other in exprs[1:]:
                if not other.unit.same_as(first) and other.constant is None:
                    raise self.fail(
                        f"unit mismatch in {call.name}(): "
                        f"{describe(first)} and {describe(other.unit)}",
                        call,
                        _inputs_of(node),
                    )
            return first
        if function.result == "count":
            records = str(node.option("records"))
            fields = self.records(records, call)
            for name in dict(node.filters):
                if name not in fields:
                    raise self.fail(f"{records} have no field {name!r} to filter on", call)
            return DIMENSIONLESS
        if function.result in ("attribute", "days"):
            entity = str(node.option("entity"))
            attr = str(node.option("attr"))
            attributes = self.catalogue.entities.get(entity)
            if attributes is None:
                known = ", ".join(sorted(self.catalogue.entities)) or "none"
                raise self.fail(f"unknown entity type {entity!r} (known: {known})", call)
            if attr not in attributes:
                raise self.fail(
                    f"{entity} has no attribute {attr!r} (it has {', '.join(attributes)})", call
                )
            if function.result == "days":
                return parse_unit("days")
            return self.unit_of(attributes[attr], f"{entity}.{attr}")
        records, _, name = str(node.option("field")).partition(".")
        fields = self.records(records, call)
        for filter_name in dict(node.filters):
            if filter_name not in fields:
                raise self.fail(f"{records} have no field {filter_name!r} to filter on", call)
        if name not in fields:
            raise self.fail(
                f"{records} have no field {name!r} (they have {', '.join(fields)})", call
            )
        kind = fields[name]
        if function.result == "ratio":
            if kind != "bool":
                raise self.fail(
                    f"{call.name}() needs a yes/no field; {records}.{name} is {kind}", call
                )
            return DIMENSIONLESS
        if kind in ("bool", "text"):
            raise self.fail(
                f"{call.name}() needs a numeric field; {records}.{name} is {kind}", call
            )
        return self.unit_of(kind, f"{records}.{name}")

    def records(self, name: str, call: Call) -> Mapping[str, str]:
        fields = self.catalogue.records.get(name)
        if fields is None:
            known = ", ".join(sorted(self.catalogue.records)) or "none"
            raise self.fail(f"unknown records {name!r} (known: {known})", call)
        return fields


def compile_formula(text: str, code: str, catalogue: Catalogue) -> Formula:
    """Parse and check a formula: names known, arguments right, units consistent."""
    tree = parse(text, code)
    checked = _Analyser(code, text, catalogue).check(tree)
    return Formula(code, text, checked.node, checked.unit)


# ---------------------------------------------------------------- evaluation


class _Missing(Exception):
    def __init__(self, keys: list[str]) -> None:
        self.keys = keys


def evaluate(
    formula: Formula, inputs: Mapping[str, float], data: Mapping[str, Any] | None = None
) -> float:
    """The formula's value from input values keyed by `MetricRef.key` / `Aggregate.key`.

    An aggregate not in `inputs` is computed from `data[key]` (samples or records) with its
    registered function. Errors name the indicator and the inputs involved.
    """
    try:
        value = _eval(formula, formula.tree, inputs, data or {})
    except _Missing as missing:
        raise FormulaError(formula.code, "missing input", inputs=tuple(missing.keys)) from None
    if not math.isfinite(value):
        raise FormulaError(formula.code, f"the result is not a finite number ({value})",
                           inputs=tuple(formula.input_keys))  # fmt: skip
    return value


def _eval(
    formula: Formula, node: Node, inputs: Mapping[str, float], data: Mapping[str, Any]
) -> float:
    if isinstance(node, Number):
        return node.value
    if isinstance(node, MetricRef):
        if node.key not in inputs:
            raise _Missing([node.key])
        return float(inputs[node.key])
    if isinstance(node, Unary):
        return -_eval(formula, node.operand, inputs, data)
    if isinstance(node, Binary):
        missing: list[str] = []
        values: list[float] = []
        for side in (node.left, node.right):
            try:
                values.append(_eval(formula, side, inputs, data))
            except _Missing as exc:
                missing.extend(k for k in exc.keys if k not in missing)
        if missing:
            raise _Missing(missing)
        a, b = values
        if node.op == "/":
            if b == 0:
                raise FormulaError(
                    formula.code,
                    f"division by zero: {render(node.right)} is 0",
                    inputs=_inputs_of(node),
                )
            return a / b
        return {"+": a + b, "-": a - b, "*": a * b}[node.op]
    if isinstance(node, Aggregate):
        return _aggregate(formula, node, inputs, data)
    raise FormulaError(formula.code, f"cannot evaluate {render(node)!r}")


def _aggregate(
    formula: Formula, node: Aggregate, inputs: Mapping[str, float], data: Mapping[str, Any]
) -> float:
    if node.function.name == "coalesce":
        tried: list[str] = []
        for expr in node.exprs:
            try:
                return _eval(formula, expr, inputs, data)
            except _Missing as exc:
                tried.extend(exc.keys)
        raise _Missing(tried)
    if node.key in inputs:
        return float(inputs[node.key])
    if node.key not in data or node.function.compute is None:
        raise _Missing([node.key])
    options = dict(node.options)
    kwargs: dict[str, Any] = {
        k: v for k, v in options.items() if k not in ("entity", "attr", "records", "field")
    }
    try:
        if node.function.result in ("attribute", "days"):
            return node.function.compute(data[node.key], **kwargs)
        args: list[Any] = [data[node.key]]
        if "field" in options:
            args.append(str(options["field"]).partition(".")[2])
        return node.function.compute(*args, dict(node.filters), **kwargs)
    except LookupError as exc:
        raise FormulaError(formula.code, f"{node.key}: {exc}", inputs=(node.key,)) from None

"""Text -> SymPy expression, through a whitelist: user text never reaches ``eval``.

``sympify`` and ``parse_expr`` evaluate their input as Python code, so symcalc never
hands them what a user typed.  Instead the text is parsed with Python's `ast` module
(which only builds a syntax tree and runs nothing), every node is checked against a
short list of allowed kinds, and the SymPy expression is built node by node from a
table of allowed functions.  Limits on length, nesting, node count and the size of
numeric powers refuse runaway input before any work is done.

Accepted syntax is SymPy/Python syntax: ``+ - * / **`` (``^`` means power),
numbers, variables (any plain name: ``x``, ``theta``, ``z_1``), the constants
``pi``, ``e``/``E`` and ``oo``, the functions in `FUNCTIONS`, catalog activations
used as functions (``relu(x - 1)``), comparisons and ``Piecewise((expr, cond), ...)``.
Text containing a backslash or a brace is read as LaTeX (see `symcalc.symbolic.parse_latex`).

Examples
--------
>>> parse("x*tanh(log(1 + exp(x)))")
x*tanh(log(exp(x) + 1))
>>> parse("max(0, x)")
Max(0, x)
>>> parse("x^2")
x**2
>>> parse("__import__('os')")
Traceback (most recent call last):
...
symcalc.errors.ParseError: names may not start with an underscore: '__import__'
"""

from __future__ import annotations

import ast
import dataclasses
import math
import re
from collections.abc import Callable
from typing import Any

import sympy

from ..errors import ParseError, SymcalcError, did_you_mean
from .catalog import CATALOG, Entry, all_names, canonical_name, get
from .catalog import catalog as catalog_entries
from .functions import CONSTANTS, FUNCTIONS, symbol

__all__ = ["FUNCTIONS", "MAX_LENGTH", "parse", "resolve"]

#: Longest text accepted, in characters.
MAX_LENGTH = 2000
#: Deepest nesting of the syntax tree accepted.
MAX_DEPTH = 200
#: Most syntax-tree nodes accepted.
MAX_NODES = 1000
#: Largest number of decimal digits a literal or an exact numeric power may have.
MAX_DIGITS = 1000


_BINARY = {
    ast.Add: lambda a, b: a + b,
    ast.Sub: lambda a, b: a - b,
    ast.Mult: lambda a, b: a * b,
    ast.Div: lambda a, b: a / b,
}
_COMPARE = {
    ast.Lt: sympy.StrictLessThan,
    ast.LtE: sympy.LessThan,
    ast.Gt: sympy.StrictGreaterThan,
    ast.GtE: sympy.GreaterThan,
}
_OPERATOR_NAMES = {
    ast.FloorDiv: "//",
    ast.Mod: "%",
    ast.MatMult: "@",
    ast.LShift: "<<",
    ast.RShift: ">>",
    ast.BitOr: "|",
    ast.BitAnd: "&",
    ast.BitXor: "^",
    ast.Invert: "~",
    ast.Not: "not",
    ast.Eq: "==",
    ast.NotEq: "!=",
    ast.Is: "is",
    ast.IsNot: "is not",
    ast.In: "in",
    ast.NotIn: "not in",
}
_NODE_NAMES = {
    ast.Attribute: "attribute access",
    ast.Subscript: "indexing",
    ast.Lambda: "lambda",
    ast.ListComp: "a comprehension",
    ast.SetComp: "a comprehension",
    ast.DictComp: "a comprehension",
    ast.GeneratorExp: "a generator",
    ast.IfExp: "a conditional expression (use Piecewise)",
    ast.NamedExpr: "assignment",
    ast.Starred: "unpacking",
    ast.Dict: "a dict",
    ast.Set: "a set",
    ast.List: "a list",
    ast.JoinedStr: "an f-string",
    ast.Await: "await",
    ast.Yield: "yield",
    ast.YieldFrom: "yield",
    ast.Slice: "slicing",
    ast.FormattedValue: "an f-string",
}


def _activation_names() -> list[str]:
    return [e.name for e in catalog_entries("activation")]


def _check_text(text: Any) -> str:
    if not isinstance(text, str):
        raise SymcalcError(f"expected an expression as text, got {type(text).__name__}")
    if len(text) > MAX_LENGTH:
        raise ParseError(
            f"expression is too long ({len(text)} characters; the limit is {MAX_LENGTH})"
        )
    for column, char in enumerate(text, 1):
        if not char.isprintable() and char not in " \t\n":
            raise ParseError(f"unexpected control character {char!r} at column {column}", column)
    text = text.strip()
    if not text:
        raise ParseError("empty expression")
    return text


def _check_brackets(text: str) -> None:
    """Report the first unbalanced bracket with its column."""
    pairs = {")": "(", "]": "["}
    stack: list[tuple[str, int]] = []
    for column, char in enumerate(text, 1):
        if char in "([":
            stack.append((char, column))
        elif char in pairs:
            if not stack or stack[-1][0] != pairs[char]:
                raise ParseError(
                    f"unbalanced parenthesis: '{char}' at column {column} has no matching opener",
                    column,
                )
            stack.pop()
    if stack:
        char, column = stack[-1]
        raise ParseError(
            f"unbalanced parenthesis: '{char}' at column {column} is never closed", column
        )


def _syntax_tree(text: str) -> ast.expr:
    _check_brackets(text)
    source = text.replace("^", "**")
    try:
        tree = ast.parse(source, mode="eval")
    except SyntaxError as exc:
        column = exc.offset or 0
        hint = ""
        if exc.msg.startswith("invalid decimal literal") or "invalid syntax" in exc.msg:
            hint = _implicit_multiplication_hint(text)
        raise ParseError(f"syntax error at column {column}: {exc.msg}{hint}", column) from None
    except (RecursionError, MemoryError):
        raise ParseError("expression is nested too deeply") from None
    except ValueError as exc:  # e.g. integer literal beyond Python's digit limit
        raise ParseError(f"cannot read expression: {exc}") from None
    _check_size(tree)
    return tree.body


def _implicit_multiplication_hint(text: str) -> str:
    for i in range(len(text) - 1):
        if text[i].isdigit() and (text[i + 1].isalpha() or text[i + 1] == "("):
            return f" (write '{text[i]}*{text[i + 1]}' for a product)"
        if text[i] == ")" and (text[i + 1].isalnum() or text[i + 1] == "("):
            return " (write '*' between factors)"
    return ""


def _check_size(tree: ast.AST) -> None:
    count = 0
    stack = [(tree, 0)]
    while stack:
        node, depth = stack.pop()
        count += 1
        if count > MAX_NODES:
            raise ParseError(f"expression is too large (more than {MAX_NODES} parts)")
        if depth > MAX_DEPTH:
            raise ParseError(
                f"expression is nested too deeply (more than {MAX_DEPTH} levels of brackets,"
                " functions or chained operators)"
            )
        stack.extend((child, depth + 1) for child in ast.iter_child_nodes(node))


@dataclasses.dataclass
class _Builder:
    """Turns an allowed syntax tree into a SymPy expression, one node kind a method."""

    text: str

    def build(self, node: ast.AST) -> Any:
        method = getattr(self, f"_{type(node).__name__}", None)
        if method is None:
            raise self._refuse(node)
        return method(node)

    def _refuse(self, node: ast.AST) -> ParseError:
        column = getattr(node, "col_offset", -1) + 1
        what = _NODE_NAMES.get(type(node), type(node).__name__)
        if isinstance(node, ast.Attribute):
            what = f"attribute access ('.{node.attr}')"
        error = ParseError(f"{what} is not allowed in an expression (column {column})", column)
        error.braces = isinstance(node, (ast.Set, ast.Dict))  # LaTeX groups look like sets
        return error

    def _Constant(self, node: ast.Constant) -> sympy.Expr:
        value = node.value
        if isinstance(value, bool):
            return sympy.true if value else sympy.false
        if isinstance(value, int):
            if value and math.log10(abs(value)) > MAX_DIGITS:
                raise ParseError(f"number is too large (more than {MAX_DIGITS} digits)")
            return sympy.Integer(value)
        if isinstance(value, float):
            if not math.isfinite(value):
                literal = ast.get_source_segment(self.text, node) or repr(value)
                raise ParseError(
                    f"number {literal} is too large for a float (column {node.col_offset + 1})"
                )
            return sympy.Float(repr(value))
        if isinstance(value, complex):
            raise ParseError(
                f"complex numbers are not supported ('{value}', column {node.col_offset + 1})"
            )
        raise ParseError(
            f"{type(value).__name__} literals are not expressions (column {node.col_offset + 1})"
        )

    def _Name(self, node: ast.Name) -> sympy.Expr:
        name = node.id
        if name.startswith("_"):
            raise ParseError(
                f"names may not start with an underscore: '{name}'", node.col_offset + 1
            )
        if name in CONSTANTS:
            return CONSTANTS[name]
        if name in FUNCTIONS or name in _activation_names():
            raise ParseError(
                f"'{name}' is a function; call it, as in {name}(x)", node.col_offset + 1
            )
        if not name.isascii() and not name.isidentifier():  # pragma: no cover - ast guarantees
            raise ParseError(f"'{name}' is not a valid variable name")
        return symbol(name)

    def _UnaryOp(self, node: ast.UnaryOp) -> sympy.Expr:
        operand = self.build(node.operand)
        if isinstance(node.op, ast.USub):
            return -operand
        if isinstance(node.op, ast.UAdd):
            return operand
        if isinstance(node.op, ast.Invert) and _is_condition(operand):
            return sympy.Not(operand)
        raise self._operator(node.op, node)

    def _operator(self, op: ast.AST, node: ast.AST) -> ParseError:
        symbol_text = _OPERATOR_NAMES.get(type(op), type(op).__name__)
        column = getattr(node, "col_offset", -1) + 1
        return ParseError(f"operator '{symbol_text}' is not supported (column {column})", column)

    def _BinOp(self, node: ast.BinOp) -> sympy.Expr:
        left, right = self.build(node.left), self.build(node.right)
        if isinstance(node.op, ast.Pow):
            return _power(left, right)
        if isinstance(node.op, (ast.BitAnd, ast.BitOr)):
            if not (_is_condition(left) and _is_condition(right)):
                raise ParseError(
                    f"'{_OPERATOR_NAMES[type(node.op)]}' joins conditions, as in (x > 0) & (x < 1)"
                    f" (column {node.col_offset + 1})",
                    node.col_offset + 1,
                )
            return (
                sympy.And(left, right) if isinstance(node.op, ast.BitAnd) else sympy.Or(left, right)
            )
        combine = _BINARY.get(type(node.op))
        if combine is None:
            raise self._operator(node.op, node)
        return combine(left, right)

    def _Compare(self, node: ast.Compare) -> sympy.Basic:
        parts = [self.build(node.left), *(self.build(c) for c in node.comparators)]
        relations = []
        for op, a, b in zip(node.ops, parts, parts[1:], strict=False):
            relation = _COMPARE.get(type(op))
            if relation is None:
                raise self._operator(op, node)
            relations.append(relation(a, b))
        return sympy.And(*relations)

    def _BoolOp(self, node: ast.BoolOp) -> sympy.Basic:
        values = [self.build(v) for v in node.values]
        return sympy.And(*values) if isinstance(node.op, ast.And) else sympy.Or(*values)

    def _Tuple(self, node: ast.Tuple) -> tuple:
        return tuple(self.build(e) for e in node.elts)

    def _Call(self, node: ast.Call) -> sympy.Expr:
        if not isinstance(node.func, ast.Name):
            if isinstance(node.func, ast.Attribute):
                raise self._refuse(node.func)
            raise ParseError(
                f"only named functions can be called (column {node.col_offset + 1})",
                node.col_offset + 1,
            )
        name = node.func.id
        column = node.col_offset + 1
        if name.startswith("_"):
            raise ParseError(f"names may not start with an underscore: '{name}'", column)
        if node.keywords:
            raise ParseError(f"{name}() takes no keyword arguments (column {column})", column)
        if name == "Piecewise":
            return self._piecewise(node)
        if name in LOGIC:
            return self._logic(name, node)
        canonical = canonical_name(name)
        activation = (
            name not in FUNCTIONS
            and canonical is not None
            and CATALOG[canonical].kind == "activation"
        )
        if name not in FUNCTIONS and not activation:
            known = [*FUNCTIONS, *all_names()]
            raise ParseError(f"unknown function '{name}'{did_you_mean(name, known)}", column)
        args = [self.build(a) for a in node.args]
        if any(isinstance(a, tuple) for a in args):
            raise ParseError(f"tuples are only allowed inside Piecewise (column {column})", column)
        if activation:
            return _apply_activation(CATALOG[canonical], args, name)
        build, low, high = FUNCTIONS[name]
        if len(args) < low or (high is not None and len(args) > high):
            wanted = (
                f"{low}"
                if low == high
                else f"at least {low}"
                if high is None
                else f"{low} or {high}"
            )
            raise ParseError(
                f"{name}() takes {wanted} argument{'s' if wanted != '1' else ''}, got {len(args)}"
            )
        return build(*args)

    def _logic(self, name: str, node: ast.Call) -> sympy.Basic:
        build, low, high = LOGIC[name]
        args = [self.build(a) for a in node.args]
        if len(args) < low or (high is not None and len(args) > high):
            raise ParseError(
                f"{name}() takes {low if low == high else f'at least {low}'} arguments,"
                f" got {len(args)}"
            )
        if name in ("And", "Or", "Not") and not all(_is_condition(a) for a in args):
            raise ParseError(f"{name}() takes conditions, as in {name}(x > 0, x < 1)")
        if name in ("Eq", "Ne") and not all(isinstance(a, sympy.Expr) for a in args):
            raise ParseError(f"{name}() compares two expressions, as in {name}(x, 0)")
        return build(*args)

    def _piecewise(self, node: ast.Call) -> sympy.Expr:
        pieces = []
        for arg in node.args:
            piece = self.build(arg)
            if not (isinstance(piece, tuple) and len(piece) == 2):
                raise ParseError(
                    "Piecewise takes pairs (expression, condition),"
                    " as in Piecewise((x, x > 0), (0, True))"
                )
            value, condition = piece
            if not _is_condition(condition):
                raise ParseError(
                    f"a Piecewise condition must be a comparison or True, got {condition}"
                )
            pieces.append((value, condition))
        if not pieces:
            raise ParseError("Piecewise needs at least one (expression, condition) pair")
        return sympy.Piecewise(*pieces)


def _is_condition(value: Any) -> bool:
    boolean = sympy.logic.boolalg
    return isinstance(
        value, (sympy.core.relational.Relational, boolean.BooleanFunction, boolean.BooleanAtom)
    )


# Condition builders for Piecewise: name -> (builder, smallest arity, largest arity)
LOGIC: dict[str, tuple[Callable[..., sympy.Basic], int, int | None]] = {
    "Eq": (sympy.Eq, 2, 2),
    "Ne": (sympy.Ne, 2, 2),
    "And": (sympy.And, 2, None),
    "Or": (sympy.Or, 2, None),
    "Not": (sympy.Not, 1, 1),
}


def _power(base: sympy.Expr, exponent: sympy.Expr) -> sympy.Expr:
    """``base**exponent``, refusing exact numeric powers too large to write down."""
    if base.is_Number and exponent.is_Number and abs(base) not in (0, 1):
        magnitude = (
            abs(float(exponent)) * abs(math.log10(abs(float(base)))) if base.is_finite else math.inf
        )
        if exponent.is_Integer and magnitude > MAX_DIGITS:
            raise ParseError(
                f"number is too large: {base}**{exponent} has about {magnitude:.3g} digits"
            )
    return sympy.Pow(base, exponent)


def _apply_activation(entry: Entry, args: list[sympy.Expr], name: str) -> sympy.Expr:
    if len(args) != 1:
        raise ParseError(f"{name}() takes 1 argument, got {len(args)}")
    return entry.bind().subs(entry.variable, args[0])


def _looks_like_latex(text: str) -> bool:
    return "\\" in text or text.startswith("$")


_WORD = re.compile(r"[A-Za-z]{2,}")


def _may_be_textbook_notation(text: str, error: ParseError) -> bool:
    """Whether a text Python syntax refused deserves a second reading as LaTeX.

    '2x^2 + 3x', '|p - y|' and 'e^{-x}' do; 'import os' does not: in a second reading
    every word must be a known function or constant, never a run of single letters.
    """
    if not (str(error).startswith("syntax error") or getattr(error, "braces", False)):
        return False
    known = {*FUNCTIONS, *CONSTANTS, *all_names()}
    return all(word in known for word in _WORD.findall(text))


def _latex_as_text(text: str) -> str:
    from .parse_latex import latex_to_text

    translated = latex_to_text(text)
    if len(translated) > 2 * MAX_LENGTH:  # pragma: no cover - the input limit keeps it short
        raise ParseError("expression is too long")
    return translated.strip()


def _build(text: str) -> Any:
    """Syntax tree, then SymPy objects; SymPy's own refusals become ParseErrors."""
    tree = _syntax_tree(text)
    try:
        return _Builder(text.replace("^", "**")).build(tree)
    except SymcalcError:
        raise
    except (ValueError, TypeError, ArithmeticError, AttributeError, RecursionError) as exc:
        detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ParseError(f"cannot build the expression '{text}': {detail}") from None


def parse(text: str) -> sympy.Expr:
    """Read an expression from text (SymPy/Python syntax, or LaTeX), never running it.

    Raises `ParseError` (a `SymcalcError`) with a one-line message naming the problem.

    Examples
    --------
    >>> parse("relu(x - 1)")
    Max(0, x - 1)
    >>> parse("sigmod(x)")
    Traceback (most recent call last):
    ...
    symcalc.errors.ParseError: unknown function 'sigmod'; did you mean 'sigmoid'?
    """
    text = _check_text(text)
    if _looks_like_latex(text):
        result = _build(_latex_as_text(text))
    else:
        try:
            result = _build(text)
        except ParseError as error:
            # Textbook notation such as '2x^2 + 3x' or '|p - y|' is not Python syntax but is
            # valid LaTeX: try that reading, and report the first error if it fails too.
            if not _may_be_textbook_notation(text, error):
                raise
            try:
                result = _build(_latex_as_text(text))
            except SymcalcError:
                raise error from None
    if isinstance(result, tuple):
        raise ParseError("a tuple is not an expression; write one expression")
    if not isinstance(result, sympy.Expr):
        raise ParseError(f"'{text}' is a condition, not an expression; use it inside Piecewise")
    if result.has(sympy.I):
        raise ParseError(f"'{text}' is complex-valued; symcalc works with real functions")
    if result.has(sympy.zoo, sympy.nan):
        raise ParseError(f"'{text}' is undefined (it contains a division by zero)")
    return result


_PREFERRED = ("x", "t", "z", "p")


def order_variables(symbols) -> tuple[sympy.Symbol, ...]:
    """Variables in the order symcalc uses: x, t, z, p first, then by name, y last.

    Examples
    --------
    >>> from symcalc.symbolic.functions import symbol
    >>> order_variables({symbol("y"), symbol("p")})
    (p, y)
    """

    def key(sym):
        name = sym.name
        if name in _PREFERRED:
            return (0, _PREFERRED.index(name), name)
        return (2 if name.startswith("y") else 1, 0, sympy.default_sort_key(sym))

    return tuple(sorted(symbols, key=key))


def resolve(function: str | sympy.Expr | Entry, **params: Any) -> Entry:
    """Turn a catalog name, expression text, SymPy expression or `Entry` into an `Entry`.

    This is what every public function calls on its ``f`` argument.  Parameters
    given as keywords are bound (catalog entries only).

    Examples
    --------
    >>> resolve("sigmoid").name
    'sigmoid'
    >>> resolve("x**2 + y").variables
    (x, y)
    """
    if isinstance(function, Entry):
        return function.with_params(**params) if params else function
    if isinstance(function, str):
        if canonical_name(function) is not None:
            return get(function, **params)
        stripped = function.strip()
        if stripped.isidentifier() and stripped not in CONSTANTS:
            hint = did_you_mean(stripped.lower(), all_names())
            if hint and len(stripped) > 2:
                raise SymcalcError(f"unknown function '{stripped}'{hint}")
        expr = parse(function)
        name = stripped
    elif isinstance(function, sympy.Basic):
        if not isinstance(function, sympy.Expr):
            raise SymcalcError(f"expected a SymPy expression, got {type(function).__name__}")
        expr = _realify(function)
        name = sympy.sstr(expr)
    else:
        raise SymcalcError(
            "expected a catalog name, expression text or SymPy expression,"
            f" got {type(function).__name__}"
        )
    if params:
        raise SymcalcError(
            "parameters can only be set on catalog entries; write the value into the expression"
        )
    variables = order_variables(expr.free_symbols)
    if not variables:
        variables = (symbol("x"),)
    return Entry(
        name=name, kind="expression", expr=expr, variables=variables, description="user expression"
    )


def _realify(expr: sympy.Expr) -> sympy.Expr:
    """Replace plain SymPy symbols by symcalc's real symbols of the same name."""
    return expr.xreplace(
        {s: symbol(s.name) for s in expr.free_symbols if isinstance(s, sympy.Symbol)}
    )

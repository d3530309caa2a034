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
used as functions (``relu(x - 1)``; a loss on prediction and target, ``bce(sigmoid(x), 1)``),
comparisons and ``Piecewise((expr, cond), ...)``,
and written derivatives ``diff(u, x)``, ``diff(u, x, n)`` (computed where they stand; see
`read` and `derivative_request`).  Text containing a backslash or a brace is read as
LaTeX (see `symcalc.symbolic.parse_latex`), where Leibniz notation ``\\frac{d}{dx}`` is
read the same way.

General rules decide what is refused rather than guessed, each with a one-line message:

* a syntax error says what was expected and where (``x**``: "expected an exponent after
  '**'"), columns counted from 1 in the text as typed (see `symcalc.symbolic.diagnose`);
* ``#`` would start a Python comment and drop the rest: it is refused;
* a name that spells other variables of the expression (and e, pi) side by side, or a
  letter and ``e`` raised with ``^`` (``xe^x``), would be one variable where a reader sees
  a product: refused, with the product spelled out;
* ``d/dx`` and ``dy/dx`` would divide variables, not differentiate: refused;
* truth values (``True``, ``x > 0``) are not numbers: they belong in Piecewise conditions;
* real numbers only: every part of the expression without variables (``asin(2)``,
  ``(-8)**(1/3)``, ``sqrt(-1)``) must have a real value, checked as it is built;
  parts with variables are real functions on their natural domain;
* no warning from Python or SymPy reaches the user: each becomes the one-line error.

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
import contextlib
import dataclasses
import math
import re
import sys
import warnings
from collections.abc import Callable
from typing import Any

import sympy

from ..errors import ParseError, SymcalcError, did_you_mean
from .catalog import CATALOG, Entry, all_names, canonical_name, get
from .catalog import names as catalog_names
from .diagnose import diagnose
from .functions import CONSTANTS, FUNCTIONS, set_text, symbol
from .kinks import apply_convention
from .notation import Columns, check_comment, check_juxtaposed_names, check_leibniz_division
from .reals import complex_error, nonreal_constant
from .special import SPECIAL

__all__ = [
    "FUNCTIONS",
    "MAX_LENGTH",
    "Reading",
    "WrittenDerivative",
    "derivative_notes",
    "derivative_request",
    "parse",
    "read",
    "resolve",
]

#: Longest text accepted, in characters (room for the JSON of a high-order derivative).
MAX_LENGTH = 50_000
#: Deepest nesting of the syntax tree accepted.
MAX_DEPTH = 200
#: Most syntax-tree nodes accepted.
MAX_NODES = 20_000
#: Largest number of decimal digits a literal or an exact numeric power may have.
MAX_DIGITS = 1000
#: Highest order of a derivative, written (diff(u, x, n), \\frac{d^n}{dx^n}) or asked for.
MAX_ORDER = 10


#: SymPy's names for numbers that are not real: read as variables, they would answer
#: another question (d/da of I*a + a**2 was taken by 'I').
_NOT_REAL = {
    "I": "SymPy's imaginary unit; symcalc works with real numbers (name the variable otherwise)",
    "zoo": "SymPy's complex infinity, not a real number",
    "nan": "SymPy's 'not a number', not a real number",
}

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
    return catalog_names("activation")


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
    digits = _LONG_NUMBER.search(text)
    if digits is not None:  # refused at once, whichever reading (Python, LaTeX) comes next
        column = digits.start() + 1
        raise ParseError(
            f"number is too large (more than {MAX_DIGITS} digits) at column {column}", column
        )
    return text


#: A run of digits longer than `MAX_DIGITS` (Python itself stops at 4,300, with a traceback
#: in the LaTeX reading).
_LONG_NUMBER = re.compile(rf"[0-9_]{{{MAX_DIGITS + 1},}}")


def _shortened(literal: str, keep: int = 12) -> str:
    """A long number as its first and last digits, so that a message stays one short line."""
    if len(literal) <= 2 * keep + 3:
        return literal
    return f"{literal[:keep]}...{literal[-keep:]} ({len(literal)} characters)"


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
    check_comment(text)
    source = text.replace("^", "**")
    try:
        with warnings.catch_warnings(), _recursion_room(_AST_RECURSION):
            # Python warns about '1if' or '1_' on stderr; the message below says it once.
            warnings.simplefilter("ignore")
            tree = ast.parse(source, mode="eval")
    except SyntaxError as exc:
        raise _syntax_error(text, exc) from None
    except (RecursionError, MemoryError):
        raise ParseError("expression is nested too deeply") from None
    except ValueError as exc:  # e.g. integer literal beyond Python's digit limit
        raise ParseError(f"cannot read expression: {exc}") from None
    _check_size(tree)
    return tree.body


#: Python's recursion limit while `ast.parse` builds the tree: a flat sum a + b + ... is
#: a left-nested tree whose conversion to Python objects recurses once per term (about
#: 1,000 terms at the default limit of 1,000; 25,000, the most that fits `MAX_LENGTH`,
#: needs about 8,500).  Python's parser refuses deep brackets, unary chains and powers by
#: its own limits (200 brackets, a MemoryError), so only such chains go this deep.
_AST_RECURSION = 12_000


@contextlib.contextmanager
def _recursion_room(limit: int):
    """Python's recursion limit raised to ``limit`` inside (never lowered), then restored."""
    before = sys.getrecursionlimit()
    sys.setrecursionlimit(max(before, limit))
    try:
        yield
    finally:
        sys.setrecursionlimit(before)


def _syntax_error(text: str, exc: SyntaxError) -> ParseError:
    """A syntax error that says what is expected where, columns counted from 1."""
    found = diagnose(text)
    if found is None:
        offset = max((exc.offset or 1) - 1, 0)
        column = min(Columns.of(text).column(offset), len(text) + 1)
        found = (exc.msg, column)
    message, column = found
    return ParseError(f"syntax error at column {column}: {message}", column)


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
        # a chain a + b - c + ... is a left-nested tree in Python but one flat level here
        # (the builder reads it in a loop): its left operand stays at this depth
        chain = _chain_of(node)
        stack.extend(
            (
                child,
                depth if chain and child is node.left and _chain_of(child) == chain else depth + 1,
            )
            for child in ast.iter_child_nodes(node)
        )


#: Operators that chain into one flat sum or product: a + b - c, a * b / c.
_CHAINS = {ast.Add: "sum", ast.Sub: "sum", ast.Mult: "product", ast.Div: "product"}


def _chain_of(node: ast.AST) -> str | None:
    """``"sum"`` or ``"product"`` for a node of such a chain, else None."""
    return _CHAINS.get(type(node.op)) if isinstance(node, ast.BinOp) else None


# -- building SymPy objects from the tree ------------------------------------------------


@dataclasses.dataclass(frozen=True)
class WrittenDerivative:
    """A derivative the input writes out (``\\frac{d}{dx} u``, ``diff(u, x)``) and its value."""

    operand: sympy.Expr
    variable: sympy.Symbol
    order: int
    value: sympy.Expr

    @property
    def notation(self) -> str:
        """``d/dx`` or ``d²/dx²``."""
        if self.order == 1:
            return f"d/d{self.variable}"
        sup = str(self.order).translate(str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹"))
        return f"d{sup}/d{self.variable}{sup}"

    def to_text(self) -> str:
        return f"{self.notation}[{sympy.sstr(self.operand)}] = {sympy.sstr(self.value)}"


@dataclasses.dataclass
class _Builder:
    """Turns an allowed syntax tree into a SymPy expression, one node kind a method."""

    text: str
    columns: Columns = dataclasses.field(default_factory=Columns)
    derivatives: list[WrittenDerivative] = dataclasses.field(default_factory=list)

    def build(self, node: ast.AST) -> Any:
        method = getattr(self, f"_{type(node).__name__}", None)
        if method is None:
            raise self._refuse(node)
        return method(node)

    def value(self, node: ast.AST) -> sympy.Expr:
        """Build ``node`` where a number belongs: a condition or a tuple is refused."""
        result = self.build(node)
        if isinstance(result, tuple):
            raise self.error(node, "tuples are only allowed inside Piecewise")
        if not isinstance(result, sympy.Expr):
            typed = ast.get_source_segment(self.text, node) if self.columns.known else None
            raise self.error(
                node,
                f"'{typed or sympy.sstr(result)}' is a condition (true or false), not a number; "
                "conditions belong in Piecewise",
            )
        return result

    def real(self, node: ast.AST, result: sympy.Expr) -> sympy.Expr:
        """``result`` if it is not a constant with a non-real value (see `_complex_error`).

        Checked as each part is built, so that ``abs(sqrt(-1))`` is refused before SymPy
        turns it into 1.
        """
        part = None if result.free_symbols else nonreal_constant(result)
        if part is not None:
            shown = ast.get_source_segment(self.text, node) or sympy.sstr(result)
            shown = shown.replace("**", "^") if self.columns.carets else shown
            raise complex_error(shown, part, self.column(node))
        return result

    def column(self, node: ast.AST) -> int | None:
        return self.columns.column(node.col_offset) if self.columns.known else None

    def error(self, node: ast.AST, message: str) -> ParseError:
        """A ParseError whose message ends with the node's column (when it means something)."""
        column = self.column(node)
        return ParseError(message + (f" (column {column})" if column else ""), column)

    def _refuse(self, node: ast.AST) -> ParseError:
        what = _NODE_NAMES.get(type(node), type(node).__name__)
        if isinstance(node, ast.Attribute):
            what = f"attribute access ('.{node.attr}')"
        error = self.error(node, f"{what} is not allowed in an expression")
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
            literal = ast.get_source_segment(self.text, node) or repr(value)
            shown = _shortened(literal)
            if not math.isfinite(value):
                raise self.error(node, f"number {shown} is too large for a float")
            nonzero = any(c in "123456789" for c in _mantissa(literal))
            if nonzero and abs(value) < sys.float_info.min:
                # Python reads 1e-400 as 0.0 and 1.234567890123e-320 as 1.2347e-320: refused,
                # as 1e400 is, rather than computed with another number than the one typed
                raise self.error(
                    node,
                    f"number {shown} is too small for a float (below {sys.float_info.min:.3g}); "
                    "scale the expression, or write the number exactly, as in 10**-400",
                )
            return sympy.Float(repr(value))
        if isinstance(value, complex):
            raise self.error(node, f"complex numbers are not supported ('{value}')")
        raise self.error(node, f"{type(value).__name__} literals are not expressions")

    def _Name(self, node: ast.Name) -> sympy.Expr:
        name = node.id
        if name.startswith("_"):
            raise ParseError(f"names may not start with an underscore: '{name}'", self.column(node))
        if name in CONSTANTS:
            return CONSTANTS[name]
        if name in _NOT_REAL:  # SymPy's meaning, which a variable of that name would hide
            raise ParseError(f"'{name}' is {_NOT_REAL[name]}", self.column(node))
        if (name in FUNCTIONS and name not in SPECIAL) or name in _activation_names():
            raise ParseError(f"'{name}' is a function; call it, as in {name}(x)", self.column(node))
        # a special function's name not called is a variable, as it always was: beta of
        # softplus, gamma of a batch norm (called, gamma(x) is Euler's function)
        if not name.isascii() and not name.isidentifier():  # pragma: no cover - ast guarantees
            raise ParseError(f"'{name}' is not a valid variable name")
        return symbol(name)

    def _UnaryOp(self, node: ast.UnaryOp) -> sympy.Expr:
        if isinstance(node.op, ast.Invert):
            operand = self.build(node.operand)
            if _is_condition(operand):
                return sympy.Not(operand)
            raise self._operator(node.op, node)
        if isinstance(node.op, ast.Not):
            raise self._operator(node.op, node)
        operand = self.value(node.operand)
        return -operand if isinstance(node.op, ast.USub) else operand

    def _operator(self, op: ast.AST, node: ast.AST) -> ParseError:
        symbol_text = _OPERATOR_NAMES.get(type(op), type(op).__name__)
        return self.error(node, f"operator '{symbol_text}' is not supported")

    def _BinOp(self, node: ast.BinOp) -> sympy.Expr:
        if isinstance(node.op, (ast.BitAnd, ast.BitOr)):
            left, right = self.build(node.left), self.build(node.right)
            if not (_is_condition(left) and _is_condition(right)):
                raise self.error(
                    node,
                    f"'{_OPERATOR_NAMES[type(node.op)]}' joins conditions, as in (x > 0) & (x < 1)",
                )
            return (
                sympy.And(left, right) if isinstance(node.op, ast.BitAnd) else sympy.Or(left, right)
            )
        if isinstance(node.op, ast.Pow):
            return self.real(node, _power(self.value(node.left), self.value(node.right)))
        combine = _BINARY.get(type(node.op))
        if combine is None:
            raise self._operator(node.op, node)
        chain = _chain_of(node)
        links = []  # a chain a + b - c + ... read in a loop: no recursion per term
        while _chain_of(node) == chain:
            links.append(node)
            node = node.left
        terms = [self.value(node)]
        for link in reversed(links):
            right = self.value(link.right)
            if isinstance(link.op, ast.Sub):
                right = -right
            elif isinstance(link.op, ast.Div):
                right = _BINARY[ast.Div](sympy.S.One, right)
            terms.append(right)
        return sympy.Add(*terms) if chain == "sum" else sympy.Mul(*terms)

    def _Compare(self, node: ast.Compare) -> sympy.Basic:
        parts = [self.value(node.left), *(self.value(c) for c in node.comparators)]
        relations = []
        for op, a, b in zip(node.ops, parts, parts[1:], strict=False):
            relation = _COMPARE.get(type(op))
            if relation is None:
                raise self._operator(op, node)
            relations.append(relation(a, b))
        return sympy.And(*relations)

    def _BoolOp(self, node: ast.BoolOp) -> sympy.Basic:
        values = [self.build(v) for v in node.values]
        if not all(_is_condition(v) for v in values):
            word = "and" if isinstance(node.op, ast.And) else "or"
            raise self.error(node, f"'{word}' joins conditions, as in (x > 0) {word} (x < 1)")
        return sympy.And(*values) if isinstance(node.op, ast.And) else sympy.Or(*values)

    def _Tuple(self, node: ast.Tuple) -> tuple:
        return tuple(self.build(e) for e in node.elts)

    def _Call(self, node: ast.Call) -> sympy.Expr:
        if not isinstance(node.func, ast.Name):
            if isinstance(node.func, ast.Attribute):
                raise self._refuse(node.func)
            error = self.error(
                node, "only named functions can be called (write '*' between factors of a product)"
            )
            error.juxtaposed = True  # '(x + 1)(x - 1)': textbook notation for a product
            raise error
        name = node.func.id
        column = self.column(node)
        if name.startswith("_"):
            raise ParseError(f"names may not start with an underscore: '{name}'", column)
        if node.keywords:
            raise self.error(node, f"{name}() takes no keyword arguments")
        if name == "Piecewise":
            return self._piecewise(node)
        if name in LOGIC:
            return self._logic(name, node)
        if name in DERIVATIVES:
            return self._derivative(name, node)
        canonical = None if name in FUNCTIONS else canonical_name(name)
        if name not in FUNCTIONS and canonical is None:
            known = [*FUNCTIONS, *all_names(), *DERIVATIVES]
            raise ParseError(f"unknown function '{name}'{did_you_mean(name, known)}", column)
        args = [self.value(a) for a in node.args]
        if canonical is not None:
            return self.real(node, _apply_entry(CATALOG[canonical], args, name))
        build, low, high = FUNCTIONS[name]
        _check_count(name, len(args), low, high)
        return self.real(node, build(*args))

    def _logic(self, name: str, node: ast.Call) -> sympy.Basic:
        build, low, high = LOGIC[name]
        args = [self.build(a) for a in node.args]
        _check_count(name, len(args), low, high)
        if name in ("And", "Or", "Not") and not all(_is_condition(a) for a in args):
            raise ParseError(f"{name}() takes conditions, as in {name}(x > 0, x < 1)")
        if name in ("Eq", "Ne") and not all(isinstance(a, sympy.Expr) for a in args):
            raise ParseError(f"{name}() compares two expressions, as in {name}(x, 0)")
        return build(*args)

    def _piecewise(self, node: ast.Call) -> sympy.Expr:
        pieces = []
        for arg in node.args:
            if not (isinstance(arg, ast.Tuple) and len(arg.elts) == 2):
                raise ParseError(
                    "Piecewise takes pairs (expression, condition),"
                    " as in Piecewise((x, x > 0), (0, True))"
                )
            value = self.value(arg.elts[0])
            condition = self.build(arg.elts[1])
            if not _is_condition(condition):
                raise ParseError(
                    f"a Piecewise condition must be a comparison or True, got {condition}"
                )
            pieces.append((value, condition))
        if not pieces:
            raise ParseError("Piecewise needs at least one (expression, condition) pair")
        return sympy.Piecewise(*pieces)

    def _derivative(self, name: str, node: ast.Call) -> sympy.Expr:
        """``diff(u, x)``, ``diff(u, x, n)`` (and ``Derivative``, which LaTeX is read into)."""
        usage = f"{name}(expression, variable) or {name}(expression, variable, order)"
        if not 2 <= len(node.args) <= 3:
            raise self.error(node, f"{name}() takes 2 or 3 arguments: {usage}")
        operand = self.value(node.args[0])
        variable = self.build(node.args[1])
        if not (isinstance(variable, sympy.Symbol) and isinstance(node.args[1], ast.Name)):
            raise self.error(node, f"the second argument of {name}() must be a variable: {usage}")
        order = self.value(node.args[2]) if len(node.args) == 3 else sympy.S.One
        if not (order.is_Integer and 1 <= order <= MAX_ORDER):
            raise self.error(
                node, f"the order in {name}() must be a whole number from 1 to {MAX_ORDER}"
            )
        if operand.free_symbols and variable not in operand.free_symbols:
            shown = ", ".join(sorted(s.name for s in operand.free_symbols))
            raise ParseError(
                f"d/d{variable} of {sympy.sstr(operand)}: {shown} does not depend on {variable} "
                f"(symcalc's variables are independent, so this would be 0); write what is "
                f"differentiated as a formula in {variable}"
            )
        value = operand
        for _ in range(int(order)):
            value = apply_convention(sympy.diff(value, variable))
        written = WrittenDerivative(operand, variable, int(order), value)
        self.derivatives.append(written)
        return value


def _check_count(name: str, count: int, low: int, high: int | None) -> None:
    if count >= low and (high is None or count <= high):
        return
    if low == high:
        wanted = f"{low} argument{'s' if low != 1 else ''}"
    elif high is None:
        wanted = f"at least {low} arguments"
    else:
        wanted = f"{low} or {high} arguments"
    raise ParseError(f"{name}() takes {wanted}, got {count}")


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
#: Names that write a derivative: diff(u, x[, n]); LaTeX's Leibniz notation is read into them.
DERIVATIVES = ("diff", "Derivative")


def _mantissa(literal: str) -> str:
    """The digits of a float literal before its exponent (``1.5e-400`` -> ``1.5``)."""
    return re.split("[eE]", literal.replace("_", ""), maxsplit=1)[0]


def _power(base: sympy.Expr, exponent: sympy.Expr) -> sympy.Expr:
    """``base**exponent``, refusing exact numeric powers too large to write down."""
    if base.is_Number and exponent.is_Number and abs(base) not in (0, 1):
        magnitude = (
            abs(float(exponent)) * abs(math.log10(abs(float(base)))) if base.is_finite else math.inf
        )
        if exponent.is_Integer and magnitude > MAX_DIGITS:
            size = f"about {magnitude:.3g}" if math.isfinite(magnitude) else "too many"
            raise ParseError(
                f"number is too large: {_shortened(str(base))}**{_shortened(str(exponent))}"
                f" has {size} digits"
            )
    return sympy.Pow(base, exponent)


def _apply_entry(entry: Entry, args: list[sympy.Expr], name: str) -> sympy.Expr:
    """A catalog entry called on ``args``, one per variable in its order: an activation
    on its input, a loss on (prediction, target) (``bce(sigmoid(x), 1)``).  A number
    outside the variable's domain (a target of 2 for binary cross-entropy) is refused."""
    variables = entry.variables
    if len(args) != len(variables):
        wanted = ", ".join(map(str, variables))
        count = f"{len(variables)} argument{'s' * (len(variables) > 1)}"
        raise ParseError(f"{name}() takes {count} ({wanted}), got {len(args)}")
    for variable, arg in zip(variables, args, strict=True):
        domain = entry.domain_of(variable)
        if arg.is_number and arg.is_real and domain.contains(arg) is not sympy.true:
            shown = repr(float(arg)) if arg.is_Float else str(arg)
            raise ParseError(
                f"{name}(): {variable} = {shown} is outside its domain {set_text(domain)}"
            )
    return entry.bind().xreplace(dict(zip(variables, args, strict=True)))


def _looks_like_latex(text: str) -> bool:
    return "\\" in text or text.startswith("$")


_WORD = re.compile(r"[A-Za-z]{2,}")


def _may_be_textbook_notation(text: str, error: ParseError) -> bool:
    """Whether a text Python syntax refused deserves a second reading as LaTeX.

    '2x^2 + 3x', '|p - y|' and 'e^{-x}' do; 'import os' does not: in a second reading
    every word must be a known function or constant, never a run of single letters.
    """
    second_reading = getattr(error, "braces", False) or getattr(error, "juxtaposed", False)
    if not (str(error).startswith("syntax error") or second_reading):
        return False
    known = {*FUNCTIONS, *CONSTANTS, *all_names()}
    return all(word in known for word in _WORD.findall(text))


def _latex_as_text(text: str) -> str:
    from .parse_latex import latex_to_text

    translated = latex_to_text(text)
    if len(translated) > 2 * MAX_LENGTH:  # pragma: no cover - the input limit keeps it short
        raise ParseError("expression is too long")
    return translated.strip()


@dataclasses.dataclass(frozen=True)
class Reading:
    """What a text was read as: the expression, and the derivatives it wrote out.

    ``expr`` is what the text denotes: a written derivative (``\\frac{d}{dx}\\tan x``,
    ``diff(tan(x), x)``) is computed where it stands.  ``whole`` is set when the whole
    text is one written derivative.
    """

    text: str
    expr: sympy.Expr
    derivatives: tuple[WrittenDerivative, ...] = ()
    whole: WrittenDerivative | None = None

    def notes(self) -> tuple[str, ...]:
        """One line per written derivative, saying how it was read."""
        return tuple(
            f"the input asks for {d.to_text()} (computed where it stands)" for d in self.derivatives
        )


def _build(text: str, typed: bool = True) -> Reading:
    """Syntax tree, then SymPy objects; SymPy's own refusals become ParseErrors.

    ``typed=False`` for text translated from LaTeX: its columns are not the user's.
    """
    tree = _syntax_tree(text)
    columns = Columns.of(text, known=typed)
    source = text.replace("^", "**")
    if typed:
        check_leibniz_division(tree, columns, source)
        check_juxtaposed_names(tree, columns, source, {*FUNCTIONS, *CONSTANTS, *all_names()})
    builder = _Builder(source, columns)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            result = builder.build(tree)
    except SymcalcError:
        raise
    except Warning as warning:
        detail = next((ln for ln in str(warning).splitlines() if ln.strip()), "")
        raise ParseError(f"cannot build the expression '{text}': {detail.strip()}") from None
    except (ValueError, TypeError, ArithmeticError, AttributeError, RecursionError) as exc:
        detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ParseError(f"cannot build the expression '{text}': {detail}") from None
    whole = builder.derivatives[-1] if _is_derivative_call(tree) else None
    return Reading(text, result, tuple(builder.derivatives), whole)


def _is_derivative_call(node: ast.AST) -> bool:
    return (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id in DERIVATIVES
    )


def _check_value(text: str, result: Any) -> sympy.Expr:
    if isinstance(result, tuple):
        raise ParseError("a tuple is not an expression; write one expression")
    if not isinstance(result, sympy.Expr):
        raise ParseError(f"'{text}' is a condition, not an expression; use it inside Piecewise")
    if result.has(sympy.zoo, sympy.nan):
        raise ParseError(f"'{text}' is undefined (it contains a division by zero)")
    part = nonreal_constant(result)
    if part is not None:
        raise complex_error(text, part)
    return result


def read(text: str) -> Reading:
    """Read an expression from text, and say how it was read (see `Reading`).

    Examples
    --------
    >>> r = read(r"\\frac{d}{dx} \\tan x")
    >>> r.expr, r.whole.operand
    (tan(x)**2 + 1, tan(x))
    >>> r.notes()
    ('the input asks for d/dx[tan(x)] = tan(x)**2 + 1 (computed where it stands)',)
    """
    text = _check_text(text)
    if _looks_like_latex(text):
        reading = _build(_latex_as_text(text), typed=False)
    else:
        try:
            reading = _build(text)
        except ParseError as error:
            # Textbook notation such as '2x^2 + 3x' or '|p - y|' is not Python syntax but is
            # valid LaTeX: try that reading, and report the first error if it fails too.
            if not _may_be_textbook_notation(text, error):
                raise
            try:
                reading = _build(_latex_as_text(text), typed=False)
            except SymcalcError:
                raise error from None
    expr = _check_value(text, reading.expr)
    return dataclasses.replace(reading, text=text, expr=expr)


def parse(text: str) -> sympy.Expr:
    """Read an expression from text (SymPy/Python syntax, or LaTeX), never running it.

    Raises `ParseError` (a `SymcalcError`) with a one-line message naming the problem.
    A derivative the text writes out (``\\frac{d}{dx} u`` or ``diff(u, x)``) is computed
    where it stands; `read` also says which ones there were.

    Examples
    --------
    >>> parse("relu(x - 1)")
    Max(0, x - 1)
    >>> parse("sigmod(x)")
    Traceback (most recent call last):
    ...
    symcalc.errors.ParseError: unknown function 'sigmod'; did you mean 'sigmoid'?
    >>> parse(r"\\frac{d^2}{dx^2} x^3")
    6*x
    """
    return read(text).expr


def derivative_request(
    function: Any, wrt: str | sympy.Symbol | None = None, order: int = 1
) -> tuple[Any, str | sympy.Symbol | None, int, Reading | None]:
    """For text that is one written derivative d^n/dv^n u as a whole: ``(u, v, n, reading)``.

    Differentiating ``\\frac{d}{dx} \\tan x`` means the derivative the text asks for,
    d/dx tan(x); any other input comes back unchanged with ``reading`` None.  A
    variable or order that contradicts the written one is refused.

    Examples
    --------
    >>> derivative_request(r"\\frac{d^2}{dx^2} \\sin x")[:3]
    (sin(x), x, 2)
    >>> derivative_request("sigmoid")
    ('sigmoid', None, 1, None)
    """
    if not isinstance(function, str) or canonical_name(function) is not None:
        return function, wrt, order, None
    reading = read(function)
    whole = reading.whole
    if whole is None:
        return function, wrt, order, None
    asked = whole.notation
    if wrt is not None and str(wrt) != whole.variable.name:
        raise SymcalcError(
            f"the input already asks for {asked}; differentiating by {wrt} as well is not "
            "supported: drop the variable, or write the expression without the derivative"
        )
    if order != 1:
        raise SymcalcError(
            f"the input already asks for {asked}; write the order there (diff(u, x, 3), "
            f"\\frac{{d^3}}{{dx^3}}) rather than as order={order}"
        )
    return whole.operand, whole.variable, whole.order, reading


def derivative_notes(function: Any) -> tuple[str, ...]:
    """How the derivatives written in ``function`` were read: one line each, or none.

    Examples
    --------
    >>> derivative_notes(r"\\frac{d}{dx} \\tan x")
    ('the input asks for d/dx[tan(x)]: this is that derivative',)
    >>> derivative_notes("x + diff(x**2, x)")
    ('the input asks for d/dx[x**2] = 2*x (computed where it stands)',)
    """
    if not isinstance(function, str) or canonical_name(function) is not None:
        return ()
    reading = read(function)
    notes = list(reading.notes())
    if reading.whole is not None:
        whole = reading.whole
        asked = f"{whole.notation}[{sympy.sstr(whole.operand)}]"
        notes[-1] = f"the input asks for {asked}: this is that derivative"
    return tuple(notes)


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


def resolve_claimed(function: str | sympy.Expr) -> Entry:
    """`resolve` for a formula to be judged, not worked on: a claimed antiderivative with
    an infinity in it is read (the FTC check says it fails), not refused."""
    return resolve(function, _claimed=True)


def resolve(function: str | sympy.Expr | Entry, _claimed: bool = False, **params: Any) -> Entry:
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
        reading = read(function)
        expr = reading.expr
        description = "; ".join(["user expression", *reading.notes()])
        name = stripped
    elif isinstance(function, sympy.Basic):
        if not isinstance(function, sympy.Expr):
            raise SymcalcError(f"expected a SymPy expression, got {type(function).__name__}")
        expr = _realify(function)
        name = sympy.sstr(expr)
        description = "user expression"
    else:
        raise SymcalcError(
            "expected a catalog name, expression text or SymPy expression,"
            f" got {type(function).__name__}"
        )
    if params:
        raise SymcalcError(
            "parameters can only be set on catalog entries; write the value into the expression"
        )
    if _infinite(expr) and not _claimed:  # x + oo, loggamma(0): no real function
        shown = sympy.sstr(expr)
        shown = "" if shown == name else f" ({shown})"
        raise ParseError(f"'{name}' is infinite{shown}, not a real function")
    variables = order_variables(expr.free_symbols)
    if not variables:
        variables = (symbol("x"),)
    return Entry(
        name=name, kind="expression", expr=expr, variables=variables, description=description
    )


def _infinite(expr: sympy.Basic) -> bool:
    """Whether an infinity stands in the formula (one in a condition, x < oo, is fine)."""
    if expr.is_infinite and expr.is_number:
        return True
    if isinstance(expr, sympy.Piecewise):
        return any(_infinite(e) for e, _ in expr.args)
    if isinstance(expr, sympy.core.relational.Relational):
        return False
    return any(_infinite(a) for a in expr.args)


def _realify(expr: sympy.Expr) -> sympy.Expr:
    """Replace plain SymPy symbols by symcalc's real symbols of the same name."""
    return expr.xreplace(
        {s: symbol(s.name) for s in expr.free_symbols if isinstance(s, sympy.Symbol)}
    )

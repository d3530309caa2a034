"""The parser: reads what users write, refuses what could run code or run away."""

from __future__ import annotations

import ast
import builtins
import sys

import pytest
import sympy
from hypothesis import given, settings
from hypothesis import strategies as st

from symcalc import ParseError, SymcalcError, get, parse, resolve
from symcalc.symbolic.functions import sigmoid, symbol
from symcalc.symbolic.parse import MAX_LENGTH, order_variables

x, y, p, z = (symbol(n) for n in "xypz")

VALID = [
    ("x*tanh(log(1+exp(x)))", x * sympy.tanh(sympy.log(1 + sympy.exp(x)))),
    ("max(0, x)", sympy.Max(0, x)),
    ("Max(0, x)", sympy.Max(0, x)),
    ("min(x, 1, 2*x)", sympy.Min(x, 1, 2 * x)),
    ("x**2", x**2),
    ("x^2", x**2),
    ("x^2*3", 3 * x**2),
    ("-log(x)", -sympy.log(x)),
    ("+x", x),
    ("1/(1+exp(-x))", 1 / (1 + sympy.exp(-x))),
    ("sigmoid(x)*(1 - sigmoid(x))", sigmoid(x) * (1 - sigmoid(x))),
    ("log(x, 2)", sympy.log(x, 2)),
    ("ln(x)", sympy.log(x)),
    ("log1p(x)", sympy.log(1 + x)),
    ("expm1(x)", sympy.exp(x) - 1),
    ("abs(p - y)", sympy.Abs(p - y)),
    ("sqrt(1 + x**2)", sympy.sqrt(1 + x**2)),
    ("erf(x/sqrt(2))", sympy.erf(x / sympy.sqrt(2))),
    ("atan(x) + arctan(x)", 2 * sympy.atan(x)),
    ("sech(x)**2", sympy.sech(x) ** 2),
    ("pi*e", sympy.pi * sympy.E),
    ("2.5*x", sympy.Float("2.5") * x),
    ("1e-3*x", sympy.Float("0.001") * x),
    (
        "Piecewise((x, x > 0), (0.01*x, True))",
        sympy.Piecewise((x, x > 0), (sympy.Float("0.01") * x, True)),
    ),
    (
        "Piecewise((1, (x > 0) & (x < 6)), (0, True))",
        sympy.Piecewise((1, (x > 0) & (x < 6)), (0, True)),
    ),
    (
        "Piecewise((1, x > 0), (1/2, Eq(x, 0)), (0, True))",
        sympy.Piecewise((1, x > 0), (sympy.S.Half, sympy.Eq(x, 0)), (0, True)),
    ),
    (
        "Piecewise((x, (x < -1) | (x > 1)), (0, True))",
        sympy.Piecewise((x, (x < -1) | (x > 1)), (0, True)),
    ),
    ("Piecewise((x, 0 < x < 1), (0, True))", sympy.Piecewise((x, (x > 0) & (x < 1)), (0, True))),
    ("relu(x - 1)", sympy.Max(0, x - 1)),
    ("swish(2*x)", 2 * x / (1 + sympy.exp(-2 * x))),
    ("z_1 + z_2", symbol("z_1") + symbol("z_2")),
    ("theta*x", symbol("theta") * x),
    ("2x^2 + 3x + 1", 2 * x**2 + 3 * x + 1),
    ("|p - y|", sympy.Abs(p - y)),
    (r"\frac{1}{1+e^{-x}}", 1 / (1 + sympy.exp(-x))),
    (r"$x\tanh\left(\ln\left(1+e^{x}\right)\right)$", x * sympy.tanh(sympy.log(1 + sympy.exp(x)))),
    ("   x + 1   ", x + 1),
    ("2 x", 2 * x),
    ("e^{-x}", sympy.exp(-x)),
    ("x + " * 150 + "x", 151 * x),
]


@pytest.mark.parametrize(("text", "expected"), VALID)
def test_valid_expressions_parse_to_the_expected_sympy_expression(text, expected):
    result = parse(text)
    assert result == expected or sympy.simplify(result - expected) == 0


def test_symbols_are_real():
    assert all(s.is_real for s in parse("x*y + theta").free_symbols)
    assert sympy.diff(parse("abs(x)"), x) == sympy.sign(x)


# (text, a fragment the one-line message must contain)
HOSTILE = [
    ("__import__('os').system('id')", "attribute access ('.system')"),
    ("__import__('os')", "names may not start with an underscore: '__import__'"),
    ("().__class__.__bases__[0].__subclasses__()", "attribute access"),
    ("os.system('ls')", "attribute access ('.system')"),
    ("exec('print(1)')", "unknown function 'exec'"),
    ("eval('1+1')", "unknown function 'eval'"),
    ("open('/etc/passwd')", "unknown function 'open'"),
    ("getattr(x, 'real')", "unknown function 'getattr'"),
    ("globals()", "unknown function 'globals'"),
    ("lambda: 1", "lambda is not allowed"),
    ("[i for i in x]", "comprehension is not allowed"),
    ("{i for i in x}", "not allowed"),
    ("(i for i in x)", "generator is not allowed"),
    ("x if x > 0 else 0", "conditional expression (use Piecewise)"),
    ("(y := 3)", "assignment is not allowed"),
    ("x[0]", "indexing is not allowed"),
    ("f'{x}'", "f-string is not allowed"),
    ("'abc'", "str literals are not expressions"),
    ("b'abc'", "bytes literals are not expressions"),
    ("[1, 2]", "a list is not allowed"),
    ("{'a': 1}", "a dict is not allowed"),
    ("*x", "syntax error"),
    ("x = 1", "syntax error"),
    ("x; import os", "syntax error"),
    ("9**9**9**9", "number is too large"),
    ("10**100000", "number is too large"),
    ("2**(2**(2**(2**(2**5))))", "number is too large"),
    ("1" * 1500, "number is too large"),
    ("1e400", "too large for a float"),
    ("x" * (MAX_LENGTH + 1), "expression is too long"),
    ("a" * 2_000_000, "expression is too long"),
    ("(" * 300 + "x" + ")" * 300, "nested"),
    ("-" * 250 + "x", "nested too deeply"),
    ("sin(" * 250 + "x" + ")" * 250, "nested"),
    ("+".join(["x"] * 900), "nested too deeply"),
    ("sigmod(x)", "unknown function 'sigmod'; did you mean 'sigmoid'?"),
    ("tanhh(x)", "unknown function 'tanhh'; did you mean 'tanh'?"),
    ("f(x)", "unknown function 'f'"),
    ("sin", "'sin' is a function; call it, as in sin(x)"),
    ("(x + 1", "unbalanced parenthesis: '(' at column 1 is never closed"),
    ("x + 1)", "unbalanced parenthesis: ')' at column 6 has no matching opener"),
    ("exp(x))", "column 7"),
    ("exp(x, 2)", "exp() takes 1 argument, got 2"),
    ("max(x)", "max() takes at least 2 arguments, got 1"),
    ("exp(x=1)", "takes no keyword arguments"),
    ("1j*x", "complex numbers are not supported"),
    ("sqrt(-1)*x", "complex-valued"),
    ("1/0", "undefined"),
    ("x > 0", "is a condition, not an expression"),
    ("x // 2", "operator '//' is not supported"),
    ("x % 2", "operator '%' is not supported"),
    ("x @ y", "operator '@' is not supported"),
    ("x << 2", "operator '<<' is not supported"),
    ("x == 1", "operator '==' is not supported"),
    ("x & y", "'&' joins conditions"),
    ("Piecewise(x)", "Piecewise takes pairs"),
    ("Piecewise((x, x), (0, True))", "condition must be a comparison"),
    ("(1, 2)", "tuple"),
    ("x\x00", "control character"),
    ("", "empty expression"),
    ("   ", "empty expression"),
    ("import os", "syntax error"),
    ("x y z w if", "syntax error"),
]


def test_there_are_at_least_thirty_hostile_or_malformed_inputs():
    assert len(HOSTILE) >= 30


@pytest.mark.parametrize(("text", "message"), HOSTILE, ids=[t[:30] for t, _ in HOSTILE])
def test_hostile_and_malformed_input_is_refused_with_a_one_line_message(text, message):
    with pytest.raises(ParseError) as info:
        parse(text)
    assert message in str(info.value)
    assert "\n" not in str(info.value)


@pytest.fixture
def no_code_execution(monkeypatch):
    """Make every way of running text as code fail loudly while the parser works."""

    def refuse(*args, **kwargs):
        raise AssertionError("user text reached a code-running function")

    real_compile = builtins.compile

    def compile_syntax_tree_only(source, filename, mode, flags=0, *args, **kwargs):
        if not flags & ast.PyCF_ONLY_AST:
            raise AssertionError("user text was compiled to code")
        return real_compile(source, filename, mode, flags, *args, **kwargs)

    monkeypatch.setattr(builtins, "eval", refuse)
    monkeypatch.setattr(builtins, "exec", refuse)
    monkeypatch.setattr(builtins, "compile", compile_syntax_tree_only)
    import sympy.parsing.sympy_parser as sympy_parser

    monkeypatch.setattr(sympy_parser, "parse_expr", refuse)
    monkeypatch.setattr(sympy_parser, "eval_expr", refuse)


def test_parsing_never_runs_code(no_code_execution):
    for text, _expected in VALID:
        assert parse(text) is not None
    for text, _ in HOSTILE:
        with pytest.raises(ParseError):
            parse(text)


def test_sympify_is_never_given_user_strings(monkeypatch):
    """sympify on a str would eval it; our parser only hands SymPy objects to SymPy."""
    real = sympy.sympify

    def guarded(value, *args, **kwargs):
        assert not isinstance(value, str), f"sympify received text: {value!r}"
        return real(value, *args, **kwargs)

    monkeypatch.setattr(sympy, "sympify", guarded)
    monkeypatch.setattr(sys.modules["sympy.core.sympify"], "sympify", guarded)
    for text, _ in VALID:
        parse(text)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=120))
def test_arbitrary_text_either_parses_or_raises_a_parse_error(text):
    try:
        result = parse(text)
    except SymcalcError as exc:
        assert "\n" not in str(exc)
    else:
        assert isinstance(result, sympy.Expr)


ALPHABET = "x y 0 1 2 . + - * / ** ^ ( ) , exp log sin max relu sigmoid Piecewise < > & |".split()


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(ALPHABET), max_size=25))
def test_token_soup_either_parses_or_raises_a_parse_error(tokens):
    text = " ".join(tokens)
    try:
        result = parse(text)
    except SymcalcError as exc:
        assert str(exc)
    else:
        assert isinstance(result, sympy.Expr)


def test_resolve_catalog_names_text_and_sympy_objects():
    assert resolve("sigmoid") is get("sigmoid")
    assert resolve("Swish").name == "silu"
    entry = resolve("(p - y)**2")
    assert entry.kind == "expression" and entry.variables == (p, y)
    plain = sympy.Symbol("x")  # not real: resolve makes it symcalc's real x
    assert resolve(plain**2).expr == x**2
    assert resolve(get("relu")) is get("relu")
    assert resolve("elu", alpha=2).params == {}
    assert resolve("3").variables == (x,)


def test_resolve_refuses_what_it_cannot_use():
    with pytest.raises(SymcalcError, match=r"unknown function 'sigmod'; did you mean 'sigmoid'\?"):
        resolve("sigmod")
    with pytest.raises(SymcalcError, match="parameters can only be set on catalog entries"):
        resolve("x**2", alpha=2)
    with pytest.raises(
        SymcalcError, match="expected a catalog name, expression text or SymPy expression, got list"
    ):
        resolve([1, 2])
    with pytest.raises(SymcalcError, match="expected a SymPy expression"):
        resolve(sympy.Eq(x, 1))


def test_variable_order_puts_x_first_and_targets_last():
    assert order_variables({y, symbol("a"), x}) == (x, symbol("a"), y)
    assert order_variables({symbol("y_1"), symbol("z_1")}) == (symbol("z_1"), symbol("y_1"))

"""The parser: reads what users write, refuses what could run code or run away."""

from __future__ import annotations

import ast
import builtins
import re
import sys
import time
import warnings

import mpmath
import pytest
import sympy
from hypothesis import given, settings
from hypothesis import strategies as st

from symcalc import ParseError, SymcalcError, get, parse, resolve
from symcalc.symbolic.functions import sigmoid, symbol
from symcalc.symbolic.parse import (
    MAX_LENGTH,
    derivative_notes,
    derivative_request,
    order_variables,
    read,
)

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
    # a loss on (prediction, target), as its catalog entry names them
    ("bce(p, 1)", -sympy.log(p)),
    ("mse(x, y)", (x - y) ** 2),
    ("log_cosh(2*x, 1)", sympy.log(sympy.cosh(2 * x - 1))),
    ("hinge(x, -1)", sympy.Max(0, x + 1)),
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
    ("x*1e-400", "number 1e-400 is too small for a float"),  # was read as 0
    ("x*1.234567890123e-320", "too small for a float"),  # was read as 1.2347e-320
    ("-2.5e-310 + x", "too small for a float"),
    ("x" * (MAX_LENGTH + 1), "expression is too long"),
    ("a" * 2_000_000, "expression is too long"),
    ("(" * 300 + "x" + ")" * 300, "nested"),
    ("-" * 250 + "x", "nested too deeply"),
    ("sin(" * 250 + "x" + ")" * 250, "nested"),
    ("x**" * 250 + "x", "nested too deeply"),  # a power tower nests; a flat sum does not
    ("sigmod(x)", "unknown function 'sigmod'; did you mean 'sigmoid'?"),
    ("tanhh(x)", "unknown function 'tanhh'; did you mean 'tanh'?"),
    ("f(x)", "unknown function 'f'"),
    ("sin", "'sin' is a function; call it, as in sin(x)"),
    ("(x + 1", "unbalanced parenthesis: '(' at column 1 is never closed"),
    ("x + 1)", "unbalanced parenthesis: ')' at column 6 has no matching opener"),
    ("exp(x))", "column 7"),
    ("exp(x, 2)", "exp() takes 1 argument, got 2"),
    ("swish(x, 2)", "swish() takes 1 argument (x), got 2"),
    ("mse(x)", "mse() takes 2 arguments (p, y), got 1"),  # was: unknown; did you mean 'mse'?
    ("bce(x, 2)", "bce(): y = 2 is outside its domain [0, 1]"),
    ("bce(1.5, x)", "bce(): p = 1.5 is outside its domain (0, 1)"),
    ("hinge(x, 0)", "hinge(): y = 0 is outside its domain {-1, 1}"),
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


# -- syntax errors say what is expected, with columns counted from 1 ---------------------

# (text, the message after "syntax error at column N: ", N)
SYNTAX = [
    ("x**", "expected an exponent after '**'", 4),
    ("x^", "expected an exponent after '^'", 3),
    ("x +", "expected an operand after '+'", 4),
    ("x + * 3", "expected an operand after '+', found '*'", 5),
    ("x^2 + * 3", "expected an operand after '+', found '*'", 7),  # columns of the text as typed
    ("x**2 + * 3", "expected an operand after '+', found '*'", 8),
    ("* x", "expected an expression at the start, found '*'", 1),
    ("2 3", "expected an operator between '2' and '3' (write 2*3 for a product)", 3),
    ("max(x,, 1)", "expected another argument after ',', found ','", 7),
    ("x = 1", "an expression has no '='", 3),
    ("1.2.3", "'1.2.3' is not a number", 1),
    ("x + 'abc", "the quote ' at column 5 is never closed", 5),
    ("x; import os", "';' is not an operator symcalc reads", 2),
    ("x ? 1", "unexpected character '?'", 3),
    ("x y z w if", "expected an operator between", 3),
]


@pytest.mark.parametrize(("text", "message", "column"), SYNTAX, ids=[t for t, _, _ in SYNTAX])
def test_syntax_errors_say_what_is_expected_and_where(text, message, column):
    with pytest.raises(ParseError) as info:
        parse(text)
    assert str(info.value).startswith(f"syntax error at column {column}: {message}")
    assert info.value.column == column


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from([*ALPHABET, "=", ";", "#", "'", "True", "if"]), max_size=12))
def test_error_columns_count_from_one_and_stay_inside_the_text(tokens):
    text = " ".join(tokens)
    try:
        parse(text)
    except ParseError as exc:
        assert "column 0" not in str(exc)
        assert exc.column is None or 1 <= exc.column <= len(text.strip()) + 1, str(exc)
    except SymcalcError:
        pass


def test_a_hash_is_not_a_comment():
    with pytest.raises(ParseError, match="'#' at column 2 is not part of a formula"):
        parse("x#^2")
    with pytest.raises(ParseError, match="'#' at column 7"):
        parse("sin(x)#+1")


# -- words that textbook notation reads as products -------------------------------------


@pytest.mark.parametrize(
    ("text", "product"),
    [
        ("xe^x", "x*e^x"),
        ("xe^(2*x)", "x*e^(2*x)"),
        ("te^t + t", "t*e^t"),
        ("xy + x + y", "x*y"),
        ("ex + x", "e*x"),
        ("3*xy^2 - x*y", "x*y^2"),
    ],
)
def test_names_that_spell_a_product_are_refused(text, product):
    with pytest.raises(ParseError, match=re.escape(f"for the product write {product}")):
        parse(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("x*e^x", x * sympy.exp(x)),
        ("x e^x", x * sympy.exp(x)),
        ("ye**2", symbol("ye") ** 2),  # Python power, no y elsewhere: a variable named ye
        ("theta^2 + t", symbol("theta") ** 2 + symbol("t")),
        ("rate^2", symbol("rate") ** 2),
        ("xy + x", symbol("xy") + x),
        ("slope*x + e", symbol("slope") * x + sympy.E),
    ],
)
def test_longer_names_are_still_variables(text, expected):
    assert parse(text) == expected


def test_splitting_names_into_products_takes_linear_time():
    start = time.perf_counter()
    with pytest.raises(ParseError, match="one variable named 'aa'"):
        parse("a" * 1900 + "b + a + aa")  # backtracking would take 2**1900 steps
    assert time.perf_counter() - start < 1.0


@pytest.mark.parametrize("text", ["d/dx*x**2", "dy/dx", "d^2/dx^2*x^3", "d(x**2)/dx"])
def test_leibniz_notation_in_python_syntax_is_not_a_division(text):
    with pytest.raises(ParseError, match=r"not differentiate; write diff\(expression, x\)"):
        parse(text)


# -- booleans are not numbers ------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "x**True",
        "x**False",
        "x**(1<2)",
        "exp(False)**2",
        "Piecewise((True, x>0), (x, True))",
        "1 + (x > 0)",
        "-True",
        "relu(x > 1)",
        "max(x, True)",
        "(x < 1) < 2",
    ],
)
def test_truth_values_are_not_numbers(text):
    with pytest.raises(ParseError, match=r"is a condition \(true or false\), not a number"):
        parse(text)


def test_conditions_still_work_where_they_belong():
    assert parse("Piecewise((x, True))") == x
    assert parse("Piecewise((1, ~(x > 0)), (0, True))") == sympy.Piecewise((1, x <= 0), (0, True))
    assert parse("Piecewise((1, (x > 0) and (x < 1)), (0, True))") == sympy.Piecewise(
        (1, (x > 0) & (x < 1)), (0, True)
    )


@pytest.mark.parametrize("text", ["1if x else 2", "exp(False)**2", "x**True", "1_"])
def test_parsing_emits_no_warning(text):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(ParseError):
            parse(text)
    assert not caught, [str(w.message) for w in caught]


def test_the_command_line_prints_one_line_even_when_python_would_warn(cli_subprocess):
    # Python's compiler writes its SyntaxWarning straight to a real process's stderr
    result = cli_subprocess("show", "1if x else 2")
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert "Warning" not in result.stderr


# -- complex values: the policy ------------------------------------------------------------

# (text, its value by mpmath at 30 digits): a constant part must be a real number.
CONSTANTS_TRUTH = [
    ("asin(2)", lambda: mpmath.asin(2)),
    ("acos(-3)", lambda: mpmath.acos(-3)),
    ("(-8)**(1/3)", lambda: mpmath.power(-8, mpmath.mpf(1) / 3)),
    ("sqrt(-1)", lambda: mpmath.sqrt(-1)),
    ("log(-2)", lambda: mpmath.log(-2)),
    ("acosh(1/2)", lambda: mpmath.acosh(mpmath.mpf(1) / 2)),
    ("atanh(2)", lambda: mpmath.atanh(2)),
    ("(-2)**0.5", lambda: mpmath.power(-2, 0.5)),
    ("asin(1)", lambda: mpmath.asin(1)),
    ("-(8**(1/3))", lambda: -mpmath.cbrt(8)),
    ("log(2)", lambda: mpmath.log(2)),
    ("acosh(2)", lambda: mpmath.acosh(2)),
    ("atanh(1/2)", lambda: mpmath.atanh(mpmath.mpf(1) / 2)),
    ("(-8)**(2)", lambda: mpmath.mpf(64)),
    ("sqrt(2)**2", lambda: mpmath.mpf(2)),
]


@pytest.mark.parametrize(("text", "truth"), CONSTANTS_TRUTH, ids=[t for t, _ in CONSTANTS_TRUTH])
def test_a_constant_is_accepted_exactly_when_it_is_real(text, truth, mp_digits):
    mp_digits(30)
    value = mpmath.mpmathify(truth())
    real = mpmath.im(value) == 0
    variants = [(text, value), (f"x + {text}", 1 + value), (f"abs({text})*x", abs(value))]
    for written, at_one in variants:  # alone, inside a sum, under abs
        if real:
            assert abs(complex(parse(written).subs(x, 1)) - complex(at_one)) < 1e-12
        else:
            with pytest.raises(ParseError, match="is complex-valued: .* is not a real number"):
                parse(written)


@pytest.mark.parametrize(
    ("text", "wrt", "truth"),
    [  # SymPy's named real constants are numbers, never the variable differentiated by
        ("a*EulerGamma + a**2", None, lambda a: mpmath.euler + 2 * a),
        ("GoldenRatio**t", None, lambda t: mpmath.phi**t * mpmath.log(mpmath.phi)),
        ("Catalan*x**2 + TribonacciConstant", None, lambda x: 2 * mpmath.catalan * x),
        # SymPy's number constructors and root(u, n), as SymPy's own tests write them
        ("(x + 1)**Rational(3, 2) + S(1)/2*x", "x", lambda x: 1.5 * mpmath.sqrt(x + 1) + 0.5),
        (
            "root(x, 3)*Integer(6) + Float(2.5)*x",
            "x",
            lambda x: 2 * x ** (-mpmath.mpf(2) / 3) + 2.5,
        ),
    ],
)
def test_sympy_constants_and_number_constructors_read_as_sympy_means_them(text, wrt, truth):
    from symcalc import derivative

    d = derivative(text, wrt=wrt)
    (var,) = d.free_symbols
    for point in (0.7, 1.9):
        assert abs(complex(d.subs(var, point).evalf(30)) - truth(mpmath.mpf(point))) < 1e-20


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("I*a + a**2", "'I' is SymPy's imaginary unit; symcalc works with real numbers"),
        ("exp(zoo*x)", "'zoo' is SymPy's complex infinity, not a real number"),
        ("nan + x", "'nan' is SymPy's 'not a number'"),
        ("Rational(x, 2)", r"Rational\(\) takes whole numbers, got Rational\(x, 2\)"),
        ("Integer(2.5)*x", r"Integer\(\) takes a whole number"),
        ("root(x, 3, 1)", r"root\(\) takes 2 arguments, got 3"),
    ],
)
def test_sympy_names_that_are_not_real_numbers_are_refused(text, message):
    with pytest.raises(ParseError, match=message) as info:
        parse(text)
    assert "\n" not in str(info.value)


def test_functions_of_variables_are_taken_on_their_real_domain():
    assert parse("asin(x)") == sympy.asin(x)
    assert parse("sqrt(x)") == sympy.sqrt(x)
    assert parse("x**(1/3)") == x ** sympy.Rational(1, 3)
    assert parse("log(x)") == sympy.log(x)


def test_a_negative_base_with_a_fractional_power_says_how_to_write_the_real_root():
    with pytest.raises(ParseError, match=r"for the real odd root write -\(8\*\*\(1/3\)\)"):
        parse("(-8)**(1/3)")


# -- written derivatives: diff(u, x) -------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "operand", "order"),
    [
        ("diff(x**3, x)", x**3, 1),
        ("diff(tan(x), x, 2)", sympy.tan(x), 2),
        ("Derivative(sigmoid(x), x)", sigmoid(x), 1),
        ("diff(p*log(p), p)", p * sympy.log(p), 1),
        ("diff(relu(x), x)", sympy.Max(0, x), 1),
        ("diff(y*x**2, x)", y * x**2, 1),
    ],
)
def test_a_written_derivative_is_computed_where_it_stands(text, operand, order, mp_digits):
    mp_digits(30)
    reading = read(text)
    var = sorted(operand.free_symbols, key=lambda s: s.name != "x")[0]
    assert reading.whole is not None and reading.whole.order == order
    # independent truth: finite differences of the operand at 30 digits
    f = sympy.lambdify(var, operand.subs(y, 3), "mpmath")
    for point in (mpmath.mpf("0.7"), mpmath.mpf("1.3")):
        expected = mpmath.diff(f, point, order)
        assert abs(reading.expr.subs(y, 3).subs(var, point).evalf(30) - expected) < 1e-20
    assert reading.notes() == (
        f"the input asks for {reading.whole.to_text()} (computed where it stands)",
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("diff(y, x)", "y does not depend on x"),
        ("diff(x**2)", "takes 2 or 3 arguments"),
        ("diff(x**2, 2)", "second argument of diff() must be a variable"),
        ("diff(x**2, x*y)", "second argument of diff() must be a variable"),
        ("diff(x**2, x, 0)", "order in diff() must be a whole number from 1 to 10"),
        ("diff(x**2, x, 11)", "order in diff() must be a whole number from 1 to 10"),
        ("diff(x**2, x, 1.5)", "order in diff() must be a whole number"),
        ("diff(x > 0, x)", "is a condition"),
    ],
)
def test_a_written_derivative_that_cannot_be_meant_is_refused(text, message):
    with pytest.raises(ParseError, match=re.escape(message)):
        parse(text)


def test_derivative_request_reads_a_whole_derivative_as_the_question():
    assert derivative_request("diff(sin(x), x, 2)")[:3] == (sympy.sin(x), x, 2)
    assert derivative_request("x + diff(x**2, x)")[:3] == ("x + diff(x**2, x)", None, 1)
    assert derivative_request("relu")[:3] == ("relu", None, 1)
    with pytest.raises(SymcalcError, match="already asks for d/dx"):
        derivative_request("diff(sin(x), x)", wrt="y")
    with pytest.raises(SymcalcError, match="already asks for d/dx; write the order there"):
        derivative_request("diff(sin(x), x)", order=2)
    assert derivative_notes("sigmoid") == ()
    assert derivative_notes("x**2") == ()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("x**True", "'True' is a condition (true or false), not a number"),
        ("x**False", "'False' is a condition"),
        ("x**(1<2)", "'1<2' is a condition"),
        ("Piecewise((True, x>0), (x, True))", "'True' is a condition"),
        ("x**", "syntax error at column 4: expected an exponent after '**'"),
        ("asin(2)", "is complex-valued"),
    ],
)
def test_the_command_line_refuses_with_one_line_and_exit_2(cli, text, message):
    for command in ("show", "derive"):
        result = cli(command, text)
        assert result.returncode == 2, result
        assert message in result.stderr and len(result.stderr.splitlines()) == 1

"""Special functions (gamma, Bessel, exponential integrals, ...): read, derived, printed.

The truth is mpmath at 50 digits: each function's own mpmath implementation,
differentiated numerically by `mpmath.diff`, never the formula symcalc uses.  Every
numeric route refuses these functions in one line (no kernel is promised for them).
"""

from __future__ import annotations

import mpmath
import pytest
import sympy

import symcalc
from symcalc.errors import SymcalcError
from symcalc.symbolic.derivatives import derivative, derive
from symcalc.symbolic.functions import latex, symbol
from symcalc.symbolic.parse import parse
from symcalc.symbolic.render import to_text
from symcalc.symbolic.special import SPECIAL
from symcalc.symbolic.steps import (
    DontKnowRule,
    MultivariableChainRule,
    SpecialFunctionRule,
    derivation_steps,
    walk,
)

x = symbol("x")
mp = mpmath.mp

#: name -> (text in x, the same function in mpmath, points where it is real and smooth).
CASES = {
    "gamma": ("gamma(x)", mpmath.gamma, ("-2.5", "-0.3", "0.7", "3.2", "12.5")),
    "loggamma": ("loggamma(x)", mpmath.loggamma, ("0.2", "1.5", "2", "30")),
    "digamma": ("digamma(x)", lambda t: mpmath.psi(0, t), ("-1.5", "0.4", "1.4616", "9")),
    "trigamma": ("trigamma(x)", lambda t: mpmath.psi(1, t), ("-0.5", "0.4", "9")),
    "polygamma": ("polygamma(3, x)", lambda t: mpmath.psi(3, t), ("0.4", "2.5", "7")),
    "beta": ("beta(x, 7/5)", lambda t: mpmath.beta(t, mpmath.mpf(7) / 5), ("0.3", "1", "4")),
    "erfi": ("erfi(x)", mpmath.erfi, ("-2", "0.1", "1.5")),
    "erfinv": ("erfinv(x)", mpmath.erfinv, ("-0.99", "0.1", "0.7")),
    "erfcinv": ("erfcinv(x)", lambda t: mpmath.erfinv(1 - t), ("0.05", "0.9", "1.6")),
    "Ei": ("Ei(x)", mpmath.ei, ("-3", "0.2", "1", "8")),
    "expint": ("expint(2, x)", lambda t: mpmath.expint(2, t), ("0.1", "1", "6")),
    "E1": ("E1(x)", mpmath.e1, ("0.1", "1", "6")),
    "Si": ("Si(x)", mpmath.si, ("-4", "0.3", "10")),
    "Ci": ("Ci(x)", mpmath.ci, ("0.3", "2", "10")),
    "Shi": ("Shi(x)", mpmath.shi, ("-4", "0.3", "5")),
    "Chi": ("Chi(x)", mpmath.chi, ("0.3", "2", "5")),
    "li": ("li(x)", mpmath.li, ("0.3", "1.5", "10")),
    "Li": ("Li(x)", lambda t: mpmath.li(t, offset=True), ("0.3", "1.5", "10")),
    "LambertW": ("LambertW(x)", lambda t: mpmath.lambertw(t).real, ("-0.3", "0.5", "20")),
    "besselj": ("besselj(3, x)", lambda t: mpmath.besselj(3, t), ("-2", "0.5", "7")),
    "bessely": ("bessely(1, x)", lambda t: mpmath.bessely(1, t), ("0.5", "3", "11")),
    "besseli": ("besseli(1, x)", lambda t: mpmath.besseli(1, t), ("-2", "0.5", "7")),
    "besselk": ("besselk(0, x)", lambda t: mpmath.besselk(0, t), ("0.5", "3", "11")),
    "fresnels": ("fresnels(x)", mpmath.fresnels, ("-1.5", "0.3", "3")),
    "fresnelc": ("fresnelc(x)", mpmath.fresnelc, ("-1.5", "0.3", "3")),
    "airyai": ("airyai(x)", mpmath.airyai, ("-5", "0", "2")),
    "airybi": ("airybi(x)", mpmath.airybi, ("-5", "0", "2")),
    "airyaiprime": ("airyaiprime(x)", lambda t: mpmath.airyai(t, 1), ("-5", "0", "2")),
    "airybiprime": ("airybiprime(x)", lambda t: mpmath.airybi(t, 1), ("-5", "0", "2")),
    "zeta": ("zeta(3, x)", lambda t: mpmath.zeta(3, t), ("0.5", "2", "9")),
    "elliptic_k": ("elliptic_k(x)", mpmath.ellipk, ("-3", "0.2", "0.9")),
    "elliptic_e": ("elliptic_e(x)", mpmath.ellipe, ("-3", "0.2", "0.9")),
    "lowergamma": (
        "lowergamma(7/3, x)",
        lambda t: mpmath.gammainc(mpmath.mpf(7) / 3, 0, t),
        ("0.3", "2", "9"),
    ),
    "uppergamma": (
        "uppergamma(7/3, x)",
        lambda t: mpmath.gammainc(mpmath.mpf(7) / 3, t),
        ("0.3", "2", "9"),
    ),
}


def _value(expr: sympy.Expr, point: str) -> mpmath.mpf:
    expr = expr.replace(sympy.erfcinv, lambda u: sympy.erfinv(1 - u))  # SymPy cannot evalf it
    value = sympy.N(expr.xreplace({x: sympy.Float(point, 60)}), 50)
    re, im = value.as_real_imag()
    assert abs(im) <= 1e-40 * max(1, abs(re)), (expr, point, value)
    return mpmath.mpf(str(re))


def test_every_special_function_has_a_case():
    assert set(CASES) == set(SPECIAL)


@pytest.mark.parametrize("name", sorted(CASES))
@pytest.mark.parametrize("order", [1, 2])
def test_derivative_matches_mpmath(name, order):
    text, truth, points = CASES[name]
    d = derivative(text, order=order)
    with mp.workdps(50):
        for point in points:
            expected = mpmath.diff(truth, mpmath.mpf(point), order)
            got = _value(d, point)
            assert abs(got - expected) <= mpmath.mpf("1e-30") * max(1, abs(expected)), (
                name,
                point,
                got,
                expected,
            )


@pytest.mark.parametrize("name", sorted(CASES))
def test_steps_show_the_rule_and_agree(name):
    text = CASES[name][0]
    expr = parse(text)
    d = derive(text)
    (tree,) = d.steps
    rules = [node for node in walk(tree) if isinstance(node, SpecialFunctionRule)]
    assert rules and rules[0].name == SPECIAL[name].rule
    assert f"({SPECIAL[name].rule})" in to_text(tree)
    assert not any(isinstance(node, DontKnowRule) for node in walk(tree))
    assert sympy.simplify(tree.result - sympy.diff(expr, x)) == 0


def test_chain_rule_through_a_bessel_function():
    tree = derivation_steps(parse("besselj(2, x**2)"), x)
    assert [type(n).__name__ for n in walk(tree)] == [
        "ChainRule",
        "SpecialFunctionRule",
        "PowerRule",
    ]
    u = tree.placeholder
    assert tree.outer.result == (sympy.besselj(1, u) - sympy.besselj(3, u)) / 2
    assert sympy.simplify(tree.result - x * (sympy.besselj(1, x**2) - sympy.besselj(3, x**2))) == 0


def test_multivariable_chain_rule_for_beta():
    expr = sympy.beta(x, x**2)
    tree = derivation_steps(expr, x)
    assert isinstance(tree, MultivariableChainRule)
    assert "multivariable chain rule" in to_text(tree)
    with mp.workdps(50):
        truth = mpmath.diff(lambda t: mpmath.beta(t, t**2), mpmath.mpf("1.3"))
        assert abs(_value(tree.result, "1.3") - truth) < mpmath.mpf("1e-30")


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("zeta(x)", "zeta in its argument 1"),
        ("besselj(x, 2)", "besselj in its argument 1"),
        ("x*polygamma(x, 2)", "polygamma in its argument 1"),
        ("expint(x, 3)", "expint in its argument 1"),
    ],
)
def test_derivative_without_closed_form_is_refused(text, where):
    with pytest.raises(SymcalcError, match=f"no closed-form derivative .*{where}"):
        derivative(text)
    with pytest.raises(SymcalcError, match="no closed-form derivative"):
        derive(text)


@pytest.mark.parametrize("name", sorted(CASES))
def test_latex_round_trip(name):
    text = CASES[name][0]
    expr = parse(text)
    assert parse(latex(expr)) == expr
    d = derive(text).to_dict()
    assert sympy.simplify(parse(d["derivative_latex"]) - parse(d["derivative"])) == 0
    for step in d["steps"]:
        lhs, *_, rhs = step["latex"].split(" = ")
        assert sympy.simplify(parse(rhs) - parse(step["result"])) == 0


@pytest.mark.parametrize(
    ("written", "meant"),
    [
        (r"\Gamma(x + 1)", sympy.gamma(x + 1)),
        (r"\Gamma\left(x\right)^{2}", sympy.gamma(x) ** 2),
        (r"\psi(x)", sympy.polygamma(0, x)),
        (r"\operatorname{J}_{1}(x)", sympy.besselj(1, x)),
        (r"\operatorname{J}_1\left(x^{2}\right)", sympy.besselj(1, x**2)),
        (r"\operatorname{W}_{-1}(x)", sympy.LambertW(x, -1)),
        (r"\operatorname{E}_{2}(x)", sympy.expint(2, x)),
        (r"\operatorname{B}(x, 2)", sympy.beta(x, 2)),
        (r"\operatorname{Ei}(x)", sympy.Ei(x)),
        (r"\operatorname{Ai}(x)", sympy.airyai(x)),
        (r"\operatorname{besselk}(0, x)", sympy.besselk(0, x)),
        (r"\operatorname{elliptic\_k}(x)", sympy.elliptic_k(x)),
        (r"\Gamma x", symbol("Gamma") * x),  # no bracket: the variable Γ, as before
        (r"\psi \cdot (x + 1)", symbol("psi") * (x + 1)),
    ],
)
def test_latex_input(written, meant):
    assert parse(written) == meant


def test_latex_printing_is_unambiguous():
    """SymPy writes J_{1}(x), W(x), K(m), S(x), \\gamma(s, x): read back as products."""
    s = symbol("s")
    assert latex(sympy.besselj(1, x)) == r"\operatorname{J}_{1}\left(x\right)"
    assert latex(sympy.LambertW(x)) == r"\operatorname{W}\left(x\right)"
    assert latex(sympy.elliptic_k(x)) == r"\operatorname{elliptic\_k}\left(x\right)"
    assert latex(sympy.lowergamma(s, x)) == r"\operatorname{lowergamma}\left(s, x\right)"
    assert latex(sympy.beta(x, x**2)) == r"\operatorname{B}\left(x, x^{2}\right)"  # not x**2
    assert latex(sympy.gamma(x) ** 2) == r"\left(\Gamma\left(x\right)\right)^{2}"
    assert latex(sympy.polygamma(0, x)) == r"\psi\left(x\right)"


def test_special_names_not_called_stay_variables():
    beta, gamma = symbol("beta"), symbol("gamma")
    assert derivative("beta*x + gamma(x)") == beta + sympy.gamma(x) * sympy.polygamma(0, x)
    assert parse("gamma*beta(x, 2)") == gamma * sympy.beta(x, 2)
    assert derivative("softplus") == parse("exp(beta*x)/(exp(beta*x) + 1)")


def test_sympy_expressions_work_through_the_api():
    plain = sympy.Symbol("x")
    d = symcalc.derive(sympy.besseli(0, plain))
    assert d.derivative == sympy.besseli(1, x)
    assert d.steps[0].name == "Bessel rule"


# -- numeric routes: one-line refusals -----------------------------------------------


@pytest.mark.parametrize("name", sorted(CASES))
def test_kernel_is_refused(name):
    text = CASES[name][0]
    func = SPECIAL[name].name if SPECIAL[name].builder is None else SPECIAL[name].func.__name__
    message = f"no stable kernel for {func}; the derivative is symbolic only"
    for order in (0, 1):
        with pytest.raises(SymcalcError, match=message):
            symcalc.kernel(text, order=order)
    with pytest.raises(SymcalcError, match=message):
        symcalc.kernel(text, stable=False)


@pytest.mark.parametrize(
    "route",
    [
        lambda f: symcalc.gradcheck(f),
        lambda f: symcalc.check_ftc(f),
        lambda f: symcalc.to_jax(f),
        lambda f: symcalc.to_torch(f),
        lambda f: symcalc.kernel(f + " + x**2", order=2),
    ],
    ids=["gradcheck", "ftc", "jax", "torch", "kernel"],
)
def test_every_numeric_route_refuses(route):
    with pytest.raises(SymcalcError, match="no stable kernel for besselj"):
        route("besselj(0, x)")


def test_a_constant_special_value():
    """gamma(5/2) is 3·sqrt(pi)/4 to SymPy: a number; Si(2) stays Si(2): refused, as the
    stability analysis would evaluate it with NumPy (it raised NameError there)."""
    k = symcalc.kernel("x*gamma(5/2)")
    assert float(k(2.0)) == pytest.approx(2 * 3 * mpmath.sqrt(mpmath.pi) / 4, rel=1e-15)
    with pytest.raises(SymcalcError, match="no stable kernel for besselj"):
        symcalc.kernel("x*besselj(0, 1) + 1")
    with pytest.raises(SymcalcError, match="no stable kernel for Si"):
        symcalc.to_torch("x*Si(2)")


@pytest.mark.parametrize(
    "command",
    [
        ["eval", "gamma(x)", "--at", "1.5"],
        ["eval", "besselj(1, x)", "--at", "1.5", "--order", "1"],
        ["gradcheck", "Si(x)"],
        ["ftc", "x*besselj(0, x)"],
        ["plot", "gamma(x)", "-o", "unused.png"],
        ["export", "LambertW(x)", "--to", "jax"],
    ],
    ids=lambda c: c[0],
)
def test_cli_refuses_in_one_line(cli, tmp_path, command):
    r = cli(*command, cwd=tmp_path)
    assert r.returncode == 2
    assert r.stdout == ""
    (line,) = r.stderr.strip().splitlines()
    assert "no stable kernel for" in line and "symbolic only" in line
    assert "Traceback" not in r.stderr
    assert not (tmp_path / "unused.png").exists()


def test_cli_derive_and_show_still_answer(cli_subprocess):
    r = cli_subprocess("derive", "gamma(x)", "--steps")
    assert r.returncode == 0, r.stderr
    assert "d/dx f(x) = gamma(x)*polygamma(0, x)" in r.stdout
    assert "(gamma rule)" in r.stdout
    r = cli_subprocess("show", "besselj(1, x)")
    assert r.returncode == 0, r.stderr
    assert "not computed (no stable kernel for besselj" in r.stdout
    r = cli_subprocess("derive", "zeta(x)")
    assert r.returncode == 2 and "no closed-form derivative" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


def test_integrals_with_special_functions_are_verified():
    result = symcalc.antiderivative("x*besselj(0, x)")
    assert result.found and result.antiderivative == x * sympy.besselj(1, x)
    result = symcalc.antiderivative("Si(x)")
    assert result.found and sympy.simplify(sympy.diff(result.antiderivative, x) - sympy.Si(x)) == 0


# -- where they are real -------------------------------------------------------------

_oo, _e = sympy.oo, sympy.exp(-1)


@pytest.mark.parametrize(
    ("text", "domain"),
    [
        ("gamma(x)", sympy.Complement(sympy.S.Reals, sympy.Range(0, -_oo, -1))),
        ("loggamma(x)", sympy.Interval.open(0, _oo)),
        ("li(x)", sympy.Union(sympy.Interval.open(0, 1), sympy.Interval.open(1, _oo))),
        ("erfinv(x)", sympy.Interval.open(-1, 1)),
        ("erfcinv(x/3 + 1)", sympy.Interval.open(-3, 3)),
        ("LambertW(x)", sympy.Interval(-_e, _oo)),
        ("LambertW(x, -1)", sympy.Interval.Ropen(-_e, 0)),
        ("besselj(1/2, x)", sympy.Interval(0, _oo)),
        ("besselj(1, x)*x", sympy.S.Reals),
        ("bessely(0, x)", sympy.Interval.open(0, _oo)),
        ("elliptic_k(x)", sympy.Interval.open(-_oo, 1)),
        ("sqrt(x)*Ei(x)", sympy.Interval.open(0, _oo)),
        ("Si(x) + Ci(-x)", sympy.Interval.open(-_oo, 0)),
    ],
)
def test_real_domain(text, domain):
    from symcalc.symbolic.domains import real_domain

    assert real_domain(parse(text), x) == domain


@pytest.mark.parametrize("text", ["log(gamma(x))", "beta(x, 2)", "sqrt(li(x))"])
def test_real_domain_unknown_rather_than_all_reals(text):
    """SymPy's continuous_domain knows no special function: unknown, never a guess."""
    from symcalc.symbolic.domains import real_domain

    assert real_domain(parse(text), x) is None


@pytest.mark.parametrize(
    ("text", "outside"),
    [("li(x)", "-0.5"), ("loggamma(x)", "-0.5"), ("LambertW(x)", "-0.5"), ("Ci(x)", "-1")],
)
def test_outside_the_domain_the_value_is_not_real(text, outside):
    value = sympy.N(parse(text).xreplace({x: sympy.Float(outside)}), 30)
    assert not value.is_real


def test_an_unadmitted_sympy_special_function_is_refused_not_crashed():
    """Through the Python API: d/dx hankel1(0, x) reached the stability analysis, which
    evaluates with NumPy, and raised NameError; now a one-line refusal."""
    plain = sympy.Symbol("x")
    for order in (0, 1):
        with pytest.raises(SymcalcError, match="no stable kernel for hankel1"):
            symcalc.kernel(sympy.hankel1(0, plain), order=order)

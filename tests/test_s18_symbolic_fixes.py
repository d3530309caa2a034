"""Session 18: derivatives outside f's real domain, nowhere-real functions of the
max/min/Piecewise family, and one CPU budget for a whole kernel build.

1. f = elu(log1p(199x + 1)) is Piecewise((log(199x + 2), log(199x + 2) > 0), (199x + 1,
   True)): for x < -2/199 its condition is not real, yet its second branch (and its
   derivative, 199) evaluated there; `derive` said its real domain was every real
   number, and the export, `to_torch`, `eval --order 0` and `plot` gave numbers where f
   has none.  sqrt(hinge(x, 1) - 0.15)′ = 0 for x ≥ 1, where f is not real: listed as a
   kink and drawn.  The derivative as printed stays the formula (it is the derivative on
   f's real domain, which is stated); every number symcalc gives from it outside that
   domain is NaN.
2. log(Min(-1/3, sin x)) is real nowhere (its argument is at most -1/3), but its domain
   was computed as that of log(-1/3 + sin x): max/min became the sum of their arguments
   even under a log.
3. The kernel of x^x^x^x^x^x (show, gradcheck, export) ran for minutes: each step had a
   budget, the build none.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import sympy

from symcalc import derivative, derive, export_module
from symcalc.cli import main
from symcalc.errors import SymcalcError, TimeBudgetExceeded
from symcalc.symbolic import budget
from symcalc.symbolic.functions import symbol
from tests.mpmath_derivative import derivative_values

x = symbol("x")
ELU_LOG = "elu(log1p(199*x + 1))"
SQRT_HINGE = "sqrt(hinge(x, 1) - 0.15)"
#: Points of elu(log(199x + 2)): not real, the linear branch (-2/199 < x ≤ -1/199), the log.
POINTS = [-1.0, -0.05, -0.0075, 0.5]


def _truth(order: int) -> list[float]:
    """mpmath at 60 digits of each branch where it holds; NaN where f is not real."""
    linear = derivative_values(199 * x + 1, x, order, np.array([-0.0075]))[0]
    log = derivative_values(sympy.log(199 * x + 2), x, order, np.array([0.5]))[0]
    return [math.nan, math.nan, linear, log]


# -- 1. outside the real domain: the domain stated, NaN given ---------------------------------


def test_the_domain_of_a_piecewise_is_where_its_conditions_are_real():
    found = derive(ELU_LOG, steps=False)
    assert found.domain == sympy.Interval.open(sympy.Rational(-2, 199), sympy.oo)
    assert "real domain: x in Interval.open(-2/199, oo)" in found.to_text()


def test_no_kink_is_listed_where_f_is_not_real():
    found = derive(SQRT_HINGE, steps=False)
    assert found.domain == sympy.Interval(-sympy.oo, sympy.Float("0.85"))
    assert found.kinks == () and found.kinks_text() is None  # x = 1 was, with f′ = 0


@pytest.mark.parametrize("order", [0, 1, 2])
def test_eval_is_nan_where_f_is_not_real(order, capsys):
    at = ",".join(str(p) for p in POINTS)
    assert main(["eval", ELU_LOG, f"--at={at}", "--order", str(order), "--format", "json"]) == 0
    values = [math.nan if v is None else v for v in json.loads(capsys.readouterr().out)["values"]]
    np.testing.assert_allclose(values, _truth(order), rtol=1e-12)  # order 0 was -198 at -1


def test_exported_partials_are_nan_where_f_is_not_real():
    namespace: dict = {}
    exec(export_module(ELU_LOG, to="numpy", order_max=2).source, namespace)  # noqa: S102
    for order, name in enumerate(("f", "d_f_dx", "d2_f_dx2")):
        got = namespace[name](np.array(POINTS))
        np.testing.assert_allclose(got, _truth(order), rtol=1e-12)  # d_f_dx was 199 at -1


def test_the_plot_draws_no_derivative_where_f_is_not_real():
    from symcalc.present.plotting import plot_function

    figure = plot_function(SQRT_HINGE, x_range=(-2, 3), points=101)
    (curve,) = [line for line in figure.axes[1].get_lines() if line.get_gid() == "f'"]
    xs, ys = (np.asarray(v, dtype=float) for v in curve.get_data())
    assert np.isnan(ys[xs > 0.85]).all()  # it was 0 for x ≥ 1
    inside = (xs < 0.8) & ~np.isnan(xs)
    truth = derivative_values(sympy.sqrt(sympy.Float("0.85", 30) - x), x, 1, xs[inside])
    np.testing.assert_allclose(ys[inside], truth, rtol=1e-12)
    assert not [line for line in figure.axes[0].get_lines() if line.get_gid() == "kinks"]


def test_a_jump_search_skips_a_side_where_a_condition_is_not_real():
    """`show`'s sup |f′| looks for jumps of f at its kinks (x = -1/199 here); the side
    probed left of it, x = -2/199 - 1/2, makes the condition log(199x + 2) > 0 a
    comparison of a complex number: an internal TypeError of `show` (the command itself
    costs 2 s of CPU time in its dense check, so the step is tested)."""
    from symcalc.numeric.bounds import _jumps
    from symcalc.symbolic.parse import resolve

    assert list(_jumps(resolve(ELU_LOG).expr, x)) == [()]  # f is continuous at -1/199


# -- 2. nowhere real: max, min and Piecewise read by a log or a root --------------------------

NOWHERE = [
    "log(Min(-1/3, sin(x)))",  # at most -1/3
    "log(Max(-2, -x**2 - 1))",  # at most -1
    "sqrt(Min(-1, x))",
    "asin(Max(2, x))",  # at least 2
    "log(Piecewise((-1, x < 0), (-x - 1, True)))",  # -1, then at most -1
]


@pytest.mark.parametrize("text", NOWHERE)
def test_derive_refuses_a_function_real_nowhere(text, capsys):
    assert main(["derive", text]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.count("\n") == 1
    assert "is not real for any real x, so it has no derivative" in captured.err


@pytest.mark.parametrize("text", NOWHERE[:3])
def test_derivative_refuses_one_its_bounds_prove_real_nowhere(text):
    with pytest.raises(SymcalcError, match="is not real for any real x"):
        derivative(text)


@pytest.mark.parametrize(
    ("text", "domain"),
    [
        ("log(Max(1, x))", sympy.S.Reals),  # was x > -1 (log(1 + x))
        ("sqrt(Min(x, 2 - x))", sympy.Interval(0, 2)),  # was ℝ (sqrt(2))
        ("1/Max(x, 1)", sympy.S.Reals),  # was x ≠ -1
    ],
)
def test_a_max_or_min_read_by_a_log_or_a_root_has_its_own_domain(text, domain):
    from symcalc.symbolic.domains import real_domain

    assert real_domain(sympy.sympify(text, locals={"x": x}), x) == domain


# -- 3. one budget for a whole kernel build --------------------------------------------------


def _slow_step(monkeypatch):
    """Make one step of every kernel build slow, as the stable form of x^x^x^x^x^x is (its
    checks at 50 digits ran for minutes; how long depends on the derivative's tidied form,
    so on the machine): here it spins for 3 s of CPU time, then goes on as before."""
    from symcalc.numeric.kernels import api

    real = api.series_branches

    def slow(*args, **kwargs):
        start = budget.cpu_seconds()
        while budget.cpu_seconds() - start < 3:
            pass
        return real(*args, **kwargs)

    monkeypatch.setattr(api, "series_branches", slow)
    monkeypatch.setenv("SYMCALC_TIME_BUDGET", "0.1")


def test_a_kernel_build_past_its_budget_is_refused_in_one_line(monkeypatch, capsys):
    _slow_step(monkeypatch)
    assert main(["eval", "x**3 + x/7", "--at", "1", "--order", "1"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "building the kernel of derivative 1 of f(x) = x**3 + x/7" in err
    assert "did not finish within 0.3 s of CPU time (3 × SYMCALC_TIME_BUDGET)" in err


def test_show_says_why_it_has_no_bound(monkeypatch, capsys):
    _slow_step(monkeypatch)
    assert main(["show", "x**3 + x/11"]) == 0
    out = capsys.readouterr().out
    assert "LaTeX: f\\left(x\\right) = x^{3} + \\frac{x}{11}" in out
    assert "sup |f′(x)|: not computed (building the kernel of derivative 1 of f(x)" in out


def test_a_deadline_stops_python_work_where_it_stands():
    def forever():
        while True:
            pass

    with pytest.raises(TimeBudgetExceeded, match="spinning did not finish within 0.1 s"):
        with budget.deadline(0.1, "spinning"):
            forever()
    # and the timer is off again: the handler is gone, nothing fires later
    import signal

    assert signal.getitimer(signal.ITIMER_PROF) == (0.0, 0.0)


def test_a_child_inside_a_deadline_gets_only_what_is_left(monkeypatch):
    seen = []
    real_child = budget._Child

    def recording(target, args):
        seen.append(args[0])  # the child's seconds
        return real_child(target, args)

    monkeypatch.setattr(budget, "_Child", recording)
    with budget.deadline(0.3, "the whole"):
        assert budget.within(60, sum, [1, 2]) == 3
    assert 0 < seen[0] <= 0.3 + 1e-9


def test_no_timeout_is_the_default_budget_for_sup_of_the_derivative(monkeypatch):
    """`show` passes timeout=None (no --timeout): derivative_bound ran each piece's limits
    in this process with no budget at all (30 s of SymPy's limit for x^x^x^x^x^x)."""
    from symcalc.numeric import bounds

    given = []
    real = bounds.budget.best_within

    def recording(seconds, *args, **kwargs):
        given.append(seconds)
        return real(seconds, *args, **kwargs)

    monkeypatch.setattr(bounds.budget, "best_within", recording)
    monkeypatch.setenv("SYMCALC_TIME_BUDGET", "3")
    assert bounds.derivative_bound("x**2 + x/13", timeout=None).sup == math.inf
    assert given and set(given) == {3.0}


@pytest.mark.parametrize("order", [0, 1])
def test_a_branch_not_taken_does_not_make_a_kernel_nan(order):
    """log(x) in Piecewise((log(x), x > 0), (0, True)) is evaluated only for x > 0: f is 0
    for x ≤ 0, and so is f′ (its kernel was NaN there: the guard asked log(x)'s x > 0
    everywhere).  Where a branch taken is not real, NaN stays (sqrt(x) for -1 < x < 0)."""
    from symcalc import kernel

    points = np.array([-1.0, 0.0, 2.0])
    truth = [0.0, 0.0, derivative_values(sympy.log(x), x, order, np.array([2.0]))[0]]
    f = "Piecewise((log(x), x > 0), (0, True))"
    np.testing.assert_allclose(kernel(f, order=order)(points), truth, rtol=1e-12)
    g = kernel("Piecewise((sqrt(x), x > -1), (0, True))", order=order)
    with np.errstate(invalid="ignore"):
        assert np.isnan(g(np.array([-0.5]))).all() and g(np.array([-2.0]))[0] == 0


def test_an_export_has_one_budget_for_all_its_partials(monkeypatch, capsys, tmp_path):
    _slow_step(monkeypatch)  # each partial alone would stop at 0.3 s; together too
    target = tmp_path / "m.py"
    assert main(["export", "x**3 + x/17", "--to", "numpy", "-o", str(target)]) == 2
    assert not target.exists()
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "building the kernels of derivatives 0 to 2 of f(x) = x**3 + x/17" in err
    assert "did not finish within 0.3 s of CPU time" in err

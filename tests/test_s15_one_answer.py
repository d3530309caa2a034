"""One process gives one answer to one question: a kernel of f″ and an export built after
it hold the same f″ even where tidying f″ ran out of its budget.  The kernel's
`derivative(order=2)` shares one budget between orders 1 and 2; the export, asking after
it, found order 1 remembered and gave order 2 the whole budget, so it searched again and
could find another (equally right) form (x·tanh(log(1 + eˣ))″ under a 0.2 s budget)."""

from __future__ import annotations

import sympy

from symcalc import derivative, kernel
from symcalc.export.partials import Partials
from symcalc.symbolic import derivatives

TEXT = "x*tanh(log(1 + exp(x)))/7"  # a formula no other test tidies


def test_a_kernel_and_a_later_export_hold_the_same_second_derivative(monkeypatch):
    monkeypatch.setenv("SYMCALC_TIME_BUDGET", "0.5")
    monkeypatch.setattr(derivatives, "_TIDIED", {})
    monkeypatch.setattr(derivatives, "_TIDIED_PARTLY", {})
    compiled = kernel(TEXT, order=2).expr
    # (on this 2-core VM the tidying of f″ is cut short at 0.5 s; the test below holds
    # the rule itself whatever the machine's speed)
    exported = Partials(TEXT).get((0, 0)).expr
    assert exported == compiled
    assert derivative(TEXT, order=2) == compiled
    # and it is f″: the same function as SymPy's own second derivative
    x = sympy.Symbol("x", real=True)
    (v,) = compiled.free_symbols
    truth = sympy.diff(x * sympy.tanh(sympy.log(1 + sympy.exp(x))) / 7, x, 2)
    for point in ("-3/2", "1/3", "5"):
        got = compiled.subs(v, sympy.Rational(point)).evalf(30)
        want = truth.subs(x, sympy.Rational(point)).evalf(30)
        assert abs(got - want) <= sympy.Float("1e-25") * max(1, abs(want))


def test_a_search_cut_short_is_not_searched_again_within_a_call_of_the_same_budget(monkeypatch):
    """The rule itself, with the search replaced by one that finds a new form each time."""
    calls = []

    def search(seconds, forms, expr):
        calls.append(seconds)
        return sympy.Symbol(f"form{len(calls)}"), False  # cut short, another form each time

    monkeypatch.setattr(derivatives.budget, "best_within", search)
    monkeypatch.setattr(derivatives, "_TIDIED", {})
    monkeypatch.setattr(derivatives, "_TIDIED_PARTLY", {})
    x = sympy.Symbol("x")
    expr = x * sympy.exp(x) + sympy.sin(x) ** 2
    now = derivatives.budget.cpu_seconds()
    # a call of 5 s whose order 1 took 1.6 s: order 2 (the last) gets about 3.4 s
    first, finished = derivatives._tidy_shared(expr, 5.0, now - 1.6, 1)
    assert not finished and len(calls) == 1 and 3.0 < calls[0] <= 3.4 + 1e-9
    # the same call again, order 1 now remembered: the whole 5 s is left, same answer
    again, _ = derivatives._tidy_shared(expr, 5.0, derivatives.budget.cpu_seconds(), 1)
    assert again == first and len(calls) == 1
    assert derivatives.tidy(expr, 5.0) == (first, False) and len(calls) == 1
    # a larger budget searches again
    assert derivatives.tidy(expr, 8.0)[0] != first and len(calls) == 2


def test_a_derivative_left_untidied_for_lack_of_time_stays_so_within_the_same_budget(monkeypatch):
    """Where order 1 spent a call's budget, order 2 is left as it is; an export asking
    later with the same budget (order 1 now remembered, so order 2 would get it all) gets
    that same form, not a new search: the kernel and the export hold one f″."""
    calls = []

    def search(seconds, forms, expr):
        calls.append(seconds)
        return sympy.Symbol("tidied"), True

    monkeypatch.setattr(derivatives.budget, "best_within", search)
    monkeypatch.setattr(derivatives, "_TIDIED", {})
    monkeypatch.setattr(derivatives, "_TIDIED_PARTLY", {})
    x = sympy.Symbol("x")
    expr = x * sympy.exp(x) + sympy.sin(x) ** 2
    spent = derivatives.budget.cpu_seconds() - 4.99  # order 1 took 4.99 of the 5 s
    assert derivatives._tidy_shared(expr, 5.0, spent, 1) == (expr, False) and calls == []
    again = derivatives._tidy_shared(expr, 5.0, derivatives.budget.cpu_seconds(), 1)
    assert again == (expr, False) and calls == []
    assert derivatives.tidy(expr, 5.0) == (expr, False) and calls == []
    # a larger budget searches
    assert derivatives.tidy(expr, 8.0) == (sympy.Symbol("tidied"), True) and calls == [8.0]

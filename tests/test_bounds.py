"""sup |f′| (`symcalc.numeric.bounds`): the bound against mpmath, where it is reached, the check.

Independent truth: |f′| by mpmath's numeric differentiation of f at 30 digits, on a grid,
next to every kink (one-sided, so that a difference never straddles a jump of f), far out
(the limits) and at the zeros of f″ found by mpmath's own root finder; closed forms for
the textbook cases (σ′ ≤ 1/4 at 0, tanh′ ≤ 1 at 0, relu′ ≤ 1); the one-sided values of
f by mpmath for its jumps.
"""

from __future__ import annotations

import functools
import json
import math

import mpmath
import numpy as np
import pytest
import sympy

import symcalc
from symcalc.numeric import bounds
from symcalc.symbolic.catalog import catalog
from symcalc.symbolic.kinks import kink_candidates

ACTIVATIONS = [e.name for e in catalog("activation")]


def mp_slope(entry, x):
    """|f′(x)| by mpmath's numeric differentiation of f itself."""
    f = sympy.lambdify(entry.variable, entry.bind(), "mpmath")
    return abs(mpmath.diff(f, mpmath.mpf(x)))


def mp_sup(entry) -> float:
    """An independent estimate of sup|f′|: grid, kinks, far points, then f″ = 0 by findroot."""
    f = sympy.lambdify(entry.variable, entry.bind(), "mpmath")
    kinks = [float(k) for k in kink_candidates(entry.bind(), entry.variable)]
    points = [mpmath.mpf(k) / 4 for k in range(-48, 49) if k / 4 not in kinks]
    points += [mpmath.mpf(s) * 10**e for s in (-1, 1) for e in (3, 8, 20)]
    sides = [0] * len(points)  # central differences on the grid, away from the kinks
    for kink in kinks:
        points += [mpmath.mpf(kink) + d for d in (-1e-25, 1e-25)]
        sides += [-1, 1]  # next to a kink, differences on its own side only
    slopes = [abs(mpmath.diff(f, t, direction=side)) for t, side in zip(points, sides, strict=True)]
    best = max(range(len(points)), key=lambda k: slopes[k])
    value = slopes[best]
    try:
        root = mpmath.findroot(lambda t: mpmath.diff(f, t, 2), points[best])
        value = max(value, abs(mpmath.diff(f, root)))
    except (ValueError, ZeroDivisionError):
        pass  # a plateau (relu) or a limit: the grid value stands
    return float(value)


@functools.cache
def bound_of(name: str) -> bounds.DerivativeBound:
    # a budget far above the ~1 s the symbolic work takes, so a busy machine changes nothing
    return bounds.derivative_bound(name, timeout=60)


class _Found:
    def __getitem__(self, name: str) -> bounds.DerivativeBound:
        return bound_of(name)


@pytest.fixture
def found():
    """Each catalog activation's bound, computed once per test process when first asked for."""
    return _Found()


@pytest.mark.parametrize("name", ACTIVATIONS)
def test_bound_agrees_with_mpmath(found, name, mp_digits):
    mp_digits(30)
    truth = mp_sup(symcalc.get(name))
    assert found[name].sup == pytest.approx(truth, rel=1e-10)


@pytest.mark.parametrize("name", ACTIVATIONS)
def test_dense_check_holds_for_every_activation(found, name):
    check = found[name].check
    assert check.held, check.note
    assert check.points == bounds.dense_grid().size > 1_500_000
    assert check.largest <= found[name].sup * (1 + 1e-12)


def test_the_textbook_bounds_are_exact(found, mp_digits):
    mp_digits(30)
    sigmoid, tanh, relu = found["sigmoid"], found["tanh"], found["relu"]
    assert (sigmoid.exact, sigmoid.places[0].x, sigmoid.method) == (
        sympy.Rational(1, 4),
        0.0,
        "symbolic",
    )
    assert (tanh.exact, [p.text for p in tanh.places]) == (1, ["x = 0"])
    assert (relu.exact, [p.text for p in relu.places]) == (1, ["x ∈ (0, ∞)"])
    gelu = found["gelu"]  # f″ = φ(x)(2 − x²): the peak is at √2, Φ(√2) + √2 φ(√2)
    assert [p.text for p in gelu.places] == ["x = sqrt(2)"]
    phi = mpmath.npdf(mpmath.sqrt(2))
    assert float(gelu.exact.evalf(30)) == pytest.approx(
        float(mpmath.ncdf(mpmath.sqrt(2)) + mpmath.sqrt(2) * phi), rel=1e-15
    )
    gaussian = found["gaussian"]
    assert gaussian.exact == sympy.sqrt(2) * sympy.exp(-sympy.Rational(1, 2))
    assert [p.x for p in gaussian.places] == pytest.approx([-(0.5**0.5), 0.5**0.5])


def test_a_supremum_that_is_only_approached_is_a_limit(found):
    assert [p.text for p in found["softplus"].places] == ["x → ∞"]
    assert not found["softplus"].attained
    assert [p.text for p in found["log_sigmoid"].places] == ["x → −∞"]
    swish = found["hard_swish"]  # x/3 + 1/2 on (−3, 3): 3/2 at the open end only
    assert (swish.exact, [p.text for p in swish.places]) == (sympy.Rational(3, 2), ["x → 3⁻"])


def test_a_supremum_attained_on_a_set(found):
    assert [p.text for p in found["elu"].places] == ["x ∈ [0, ∞)"]  # 1 on (0, ∞) and at 0
    assert found["selu"].places[0].text == "x = 0"  # scale·alpha·eˣ at 0 beats scale
    assert [p.text for p in found["sinusoid"].places] == [
        "x = 2*pi*n (n ∈ ℤ)",
        "x = 2*pi*n + pi (n ∈ ℤ)",
    ]


@pytest.mark.parametrize(
    ("f", "sup"), [("cos(x)**2", 1), ("sin(x)*cos(x)", 1), ("sin(x)**2 + x", 2)]
)
def test_an_oscillating_limit_does_not_raise_the_bound(f, sup):
    """sup|(cos²)′| = sup|sin 2x| = 1; SymPy bounds the limit of -2·sin(x)·cos(x) at ∞
    factor by factor, by [-2, 2], and 2 was reported.  The dense check failed too: the
    kernel of -sin(2x) was NaN where 2x overflows (|x| > 9e307)."""
    b = symcalc.derivative_bound(f)
    assert b.exact == sup and b.check.held, b.to_text()
    big = np.array([-1.7976931348623157e308, 1e308, 9e307])
    with np.errstate(all="raise"):
        got = symcalc.kernel(f, order=1)(big)
    truth = sympy.lambdify(sympy.Symbol("x"), sympy.diff(sympy.sympify(f)), "mpmath")
    with mpmath.workdps(40):
        np.testing.assert_allclose(got, [float(truth(mpmath.mpf(t))) for t in big], rtol=1e-12)


def test_a_transcendental_f2_is_bracketed_and_refined(found, mp_digits):
    mp_digits(30)
    silu = found["silu"]
    assert silu.method == "numeric" and silu.exact is None
    f = sympy.lambdify(symcalc.get("silu").variable, symcalc.get("silu").bind(), "mpmath")
    root = mpmath.findroot(lambda t: mpmath.diff(f, t, 2), 2.4)
    assert silu.places[0].x == pytest.approx(float(root), rel=1e-12)
    assert silu.sup == pytest.approx(float(mpmath.diff(f, root)), rel=1e-15)


def test_when_the_budget_runs_out_the_bound_is_found_numerically(mp_digits):
    quick = bounds.derivative_bound("gelu", timeout=1e-6)
    assert quick.method == "numeric" and quick.exact is None
    assert quick.sup == pytest.approx(float(bound_of("gelu").exact), rel=1e-14)
    assert quick.places[0].x == pytest.approx(math.sqrt(2), rel=1e-12)


def test_an_unbounded_derivative_is_reported_and_its_json_has_no_infinity():
    square = bounds.derivative_bound("x**2")
    assert square.sup == math.inf and not square.bounded
    assert {p.text for p in square.places} == {"x → ∞", "x → −∞"}
    data = json.loads(json.dumps(square.to_dict(), allow_nan=False))
    assert data["sup"] is None and data["bounded"] is False
    pole = bounds.derivative_bound("1/(1 + x**2) + log(x**2)")
    assert pole.sup == math.inf and "x → 0⁺" in [p.text for p in pole.places]


def test_the_bound_and_its_check_stay_on_the_real_domain_of_f():
    """(1 - x²)^(3/2) is real on [-1, 1] alone: sup |f′| = 3/2 at ±√2/2, and the dense
    check looks there, not at points where f (and the kernel of f′) has no real value."""
    b = bounds.derivative_bound("(1 - x**2)**(3/2)")
    assert b.sup == 1.5 and b.check.held, b.check.note
    assert (b.check.low, b.check.high) == (-1.0, 1.0)
    log = bounds.derivative_bound("log(x)")
    assert [p.text for p in log.places] == ["x → 0⁺"]  # not from the left: log(x) is not real


def test_the_dense_check_catches_a_bound_that_is_too_small():
    grid = bounds.dense_grid()
    first = symcalc.kernel("sigmoid", order=1)
    magnitudes = np.abs(first(grid))
    place = bounds.Place("x = 0", "x = 0", True, 0.0)
    check = bounds._dense_check(first, 0.2, [place], grid, magnitudes)
    assert not check.held and "exceeds the bound" in check.note
    assert check.largest == 0.25 and check.at == 0.0


def test_the_dense_check_reaches_the_ends_of_the_float_range(found, mp_digits):
    """silu′ and gelu_tanh′ at ±max float: the kernels' values there are the true ones."""
    mp_digits(30)
    largest = float(np.finfo(float).max)
    for name in ("silu", "gelu_tanh", "mish", "softplus"):
        entry = symcalc.get(name)
        slope = symcalc.kernel(name, order=1)(np.array([-largest, largest]))
        f = sympy.lambdify(entry.variable, sympy.diff(entry.bind(), entry.variable), "mpmath")
        truth = [float(f(mpmath.mpf(t))) for t in (-largest, largest)]
        np.testing.assert_allclose(slope, truth, rtol=1e-12, atol=1e-300, err_msg=name)


def _one_sided_values(entry, point: float) -> tuple[float, float]:
    f = sympy.lambdify(entry.variable, entry.bind(), "mpmath")
    return tuple(float(f(mpmath.mpf(point) + d)) for d in (-1e-25, 1e-25))


@pytest.mark.parametrize("name", ACTIVATIONS)
def test_jumps_are_where_f_is_discontinuous(found, name, mp_digits):
    """A jump is reported exactly where mpmath's one-sided values of f differ."""
    mp_digits(30)
    entry = symcalc.get(name)
    truth = []
    for kink in kink_candidates(entry.bind(), entry.variable):
        left, right = _one_sided_values(entry, float(kink))
        if abs(right - left) > 1e-20:
            truth += [float(kink), left, right]
    found_jumps = [number for j in found[name].jumps for number in (j.x, j.left, j.right)]
    assert found_jumps == pytest.approx(truth, abs=1e-20)


def test_hardshrink_states_its_jumps(found):
    hard = found["hardshrink"]  # λ = 1/2: f jumps from 0 to ±1/2, f′ is 0 or 1 elsewhere
    assert (hard.exact, [j.text for j in hard.jumps]) == (1, ["x = -1/2", "x = 1/2"])
    assert "f jumps at x = -1/2 (from -0.5 to 0) and x = 1/2 (from 0 to 0.5)" in hard.to_text()
    assert "the supremum is over the points where f′ exists" in hard.to_text()
    data = json.loads(json.dumps(hard.to_dict(), allow_nan=False))
    assert [(j["x"], j["left"], j["right"]) for j in data["jumps"]] == [
        (-0.5, -0.5, 0.0),
        (0.5, 0.0, 0.5),
    ]
    assert found["softshrink"].jumps == () and "jumps" not in found["softshrink"].to_text()


def test_a_function_of_two_variables_is_refused():
    with pytest.raises(symcalc.SymcalcError, match="function of one variable"):
        bounds.derivative_bound("x*y")


def test_show_prints_the_bound_and_its_json_key(cli):
    out = cli("show", "sigmoid", "--timeout", "60").stdout
    assert "sup |f′(x)| = 1/4 ≈ 0.25, attained at x = 0" in out
    assert "checked: |f′| ≤ 0.25·(1 + 1e-12) at 1,511,361 points" in out
    data = json.loads(cli("show", "tanh", "--format", "json", "--timeout", "60").stdout)
    assert data["derivative_bound"]["sup"] == 1.0
    assert data["derivative_bound"]["where"][0]["x"] == 0.0
    assert data["derivative_bound"]["check"]["held"] is True
    assert json.loads(cli("show", "mse", "--format", "json").stdout)["derivative_bound"] is None
    unbounded = json.loads(cli("show", "--format", "json", "--", "x**3").stdout)
    assert unbounded["derivative_bound"]["sup"] is None


@pytest.mark.parametrize(
    ("f", "far", "side"),
    [
        ("x*cos(x)", [1e3, 1e6, 1e9], "x → −∞"),  # f′ = cos x − x sin x grows with x
        ("sin(2*x**2)", [1e3, 1e6, 1e9], "x → −∞"),  # f′ = 4x cos(2x²)
        ("Abs(log(x) + sin(x))", [1e-3, 1e-6, 1e-9], "x → 0⁺"),  # f′ ~ 1/x at 0⁺
    ],
)
def test_a_derivative_the_critical_points_do_not_bound_is_unbounded(f, far, side, mp_digits):
    """The numeric path (f″ = 0 has no closed form) looked for critical points in [−64, 64]
    and settled limits only, and claimed sup |f′| ≈ 61 for x·cos x, 256 for sin(2x²) and
    2.3e14 "attained at x ≈ 4e-15" for |log x + sin x|; the truth (mpmath at 30 digits):
    |f′| exceeds any bound along ``far``."""
    mp_digits(30)
    b = bounds.derivative_bound(f)
    assert b.sup == math.inf and b.method == "numeric"
    assert side in [p.text for p in b.places]
    x = sympy.Symbol("x", positive=True)  # every point of ``far`` is positive
    g = sympy.lambdify(x, sympy.diff(sympy.sympify(f, locals={"x": x}), x), "mpmath")
    sizes = []
    for point in far:
        # the largest |f′| near each point (f′ oscillates): a few samples around it
        near = [mpmath.mpf(point) * (1 + mpmath.mpf(k) / 10**7) for k in range(-50, 51)]
        sizes.append(max(abs(g(t)) for t in near))
    assert sizes[0] * 100 < sizes[1] and sizes[1] * 100 < sizes[2]


def test_an_interior_pole_of_the_derivative_is_unbounded(mp_digits):
    """asinh(1/log x): f′ = −1/(x |log x| √(log²x + 1)) → ∞ at 0⁺ and at 1."""
    b = bounds.derivative_bound("asinh(1/log(x))")
    assert b.sup == math.inf
    mp_digits(30)
    fp = lambda t: 1 / (t * abs(mpmath.log(t)) * mpmath.sqrt(mpmath.log(t) ** 2 + 1))  # noqa: E731
    assert fp(mpmath.mpf(1) + mpmath.mpf(10) ** -20) > 1e19


@pytest.mark.parametrize(
    ("text", "relation"),
    [("sigmoid", "sup|f′| = 1/4"), ("3", "sup|f′| = 0"), ("x**3", "sup|f′| = ∞")],
)
def test_repr_states_the_relation_once(text, relation):
    """The repr read ``sup|f′| = = 1/4``: the relation twice."""
    shown = repr(symcalc.derivative_bound(text))
    assert relation in shown and "= =" not in shown, shown

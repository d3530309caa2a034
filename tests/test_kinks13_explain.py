"""Integrated gradients of a network cut the path at every kink its pre-activations
reach (kinks_within), not at one period's.  Truth: completeness, f(x) − f(x′) from the
formula at 30 digits, and the path integral by mpmath.quad split at the true kinks."""

from __future__ import annotations

import mpmath
import numpy as np

from symcalc.learn.explain import Layer, ModelFunction
from symcalc.numeric.attribution import integrated_gradients
from symcalc.symbolic.parse import resolve

W, B = np.array([[1.0, 0.5]]), np.array([0.3])
AT, BASELINE = np.array([10.0, 6.0]), np.array([0.0, 0.0])


def _network(text):
    layers = (Layer(W, B, resolve(text)), Layer(np.array([[1.0]]), np.zeros(1)))
    return ModelFunction(("a", "c"), layers, "identity", 0, "y")


def test_breakpoints_hold_every_period_of_abs_sin():
    # z = 0.3 + 13 α crosses pi, 2 pi, 3 pi, 4 pi; old: the crossing of pi only
    cuts = _network("abs(sin(x))").breakpoints(AT, BASELINE)
    truth = [float((k * mpmath.pi - mpmath.mpf("0.3")) / 13) for k in range(1, 5)]
    np.testing.assert_allclose(cuts, truth, rtol=1e-13)


def test_attributions_of_an_abs_x_sin_x_minus_1_network_are_complete():
    # old: completeness error 4.6e-3 (the path crossed 5 kinks, none cut)
    f = lambda z: abs(z * mpmath.sin(z) - 1)  # noqa: E731
    ig = integrated_gradients(_network("abs(x*sin(x) - 1)"), at=AT, baseline=BASELINE, timeout=0.5)
    with mpmath.workdps(30):
        difference = f(mpmath.mpf("13.3")) - f(mpmath.mpf("0.3"))
    assert abs(ig.completeness_error) <= 1e-11 * float(difference)
    # each attribution is its share of the path length: (10, 3) of 13
    np.testing.assert_allclose(
        ig.attributions, [float(difference) * 10 / 13, float(difference) * 3 / 13], rtol=1e-11
    )

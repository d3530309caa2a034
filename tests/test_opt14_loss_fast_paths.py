"""Losses a fit evaluates in NumPy instead of through kernel calls: squared error's ℓ, ℓ', ℓ''
and the logistic loss's Σℓ and ℓ' from one exponential.  The same numbers as the catalog's
kernels, and the truth (mpmath at 50 digits) over the whole float range."""

from __future__ import annotations

import mpmath
import numpy as np

from symcalc.learn.heads import ScalarHead
from symcalc.numeric.kernels import kernel
from symcalc.symbolic.catalog import CATALOG


def _points():
    magnitudes = [0.0, 1e-300, 1e-160, 1e-8, 0.5, 3.0, 1e8, 1e150, 1e154, 1e200, 1.7e308]
    values = sorted({s * m for m in magnitudes for s in (1.0, -1.0)})
    z = np.array([a for a in values for _ in values])
    y = np.array([b for _ in values for b in values])
    return z, y


def test_squared_error_matches_its_kernels_and_the_truth():
    head = ScalarHead(CATALOG["squared_error"])
    z, y = _points()
    with np.errstate(all="ignore"):
        for order, name in ((0, "values"), (1, "derivative"), (2, "second")):
            mine = getattr(head, name)(z, y)
            theirs = kernel(CATALOG["squared_error"], order=order)(z, y)
            np.testing.assert_array_equal(mine, theirs)
        values, slopes = head.values(z, y), head.derivative(z, y)
    with mpmath.workdps(50):
        for zi, yi, value, slope in zip(z, y, values, slopes, strict=True):
            r = mpmath.mpf(float(zi)) - mpmath.mpf(float(yi))
            for got, truth in ((value, r * r), (slope, 2 * r)):
                if abs(truth) > mpmath.mpf(np.finfo(float).max):
                    assert np.isinf(got) and np.sign(got) == mpmath.sign(truth)
                elif truth == 0:
                    assert got == 0
                else:
                    assert abs(got - truth) <= 3.4e-16 * abs(truth) or abs(truth) < 1e-307  # ≤ 3u
    assert (head.second(z, y) == 2.0).all()


def test_the_logistic_loss_and_slope_from_one_exponential_match_the_truth():
    """ℓ = softplus(z) − y·z, ℓ' = σ(z) − y and ℓ'' for labels 0 and 1, from e^(−|z|) once
    (`ScalarHead.loss_and_derivative` of a logistic head), against mpmath at 50 digits and
    the catalog's kernels, from 1e-300 to 1.7e308 and through the subnormal tail of e^(−|z|)."""
    entry = CATALOG["binary_cross_entropy_with_logits"]
    head = ScalarHead(entry, ("0", "1"), np.array([0.0, 1.0]))
    magnitudes = [0.0, 1e-300, 1e-20, 1e-8, 0.3, 1.0, 5.0, 17.0, 36.0, 40.0, 700.0, 708.0]
    magnitudes += [720.0, 745.0, 746.0, 1e4, 1e300, 1.7e308]
    z = np.array([s * m for m in magnitudes for s in (1.0, -1.0)] * 2)
    y = np.repeat([0.0, 1.0], len(z) // 2)
    with np.errstate(over="ignore"):  # Σℓ passes the float range (ℓ = 1.7e308 twice)
        total, slope = head.loss_and_derivative(z, y)
    assert total == np.inf
    with np.errstate(all="ignore"):
        # the kernel rounds a subnormal slope (−e^(−720)) to −0: compare above the normal range
        np.testing.assert_allclose(slope, kernel(entry, order=1)(z, y), rtol=1e-15, atol=2.3e-308)
    finite = np.abs(z) <= 1e4
    total = head.loss_and_derivative(z[finite], y[finite])[0]
    assert abs(total - float(np.sum(kernel(entry)(z[finite], y[finite])))) <= 1e-15 * total
    with mpmath.workdps(50):
        exact_total = mpmath.mpf(0)
        for zi, yi, got in zip(z, y, slope, strict=True):
            zz = mpmath.mpf(float(zi))
            if abs(zi) <= 1e4:
                exact_total += mpmath.log1p(mpmath.exp(zz if yi == 0 else -zz))
            # σ(z) − y without cancellation: σ(z) for y = 0, −σ(−z) for y = 1
            truth = 1 / (1 + mpmath.exp(-zz)) if yi == 0 else -1 / (1 + mpmath.exp(zz))
            if abs(truth) < 2.3e-308:  # subnormal or 0: only the absolute error counts
                assert abs(got - truth) <= 5e-324
            else:
                assert abs(got - truth) <= 4.5e-16 * abs(truth)
        assert abs(total - exact_total) <= 1e-15 * exact_total
    curvature = head.second(z, y)
    with mpmath.workdps(50):
        for zi, got in zip(z, curvature, strict=True):
            zz = mpmath.mpf(float(abs(zi)))
            truth = mpmath.exp(-zz) / (1 + mpmath.exp(-zz)) ** 2
            if truth < 2.3e-308:
                assert abs(got - truth) <= 5e-324
            else:
                assert abs(got - truth) <= 6.7e-16 * truth
    # one label at a time (no sum to hide an element in)
    for zi, yi in zip(z, y, strict=True):
        part, _ = head.loss_and_derivative(np.array([zi]), np.array([yi]))
        with mpmath.workdps(50):
            zz = mpmath.mpf(float(zi))
            truth = mpmath.log1p(mpmath.exp(zz if yi == 0 else -zz))  # softplus(±z)
        if truth > mpmath.mpf(np.finfo(float).max):
            assert part == np.inf
        elif truth < 2.3e-308:
            assert abs(part - truth) <= 5e-324
        else:
            assert abs(part - truth) <= 4.5e-16 * truth

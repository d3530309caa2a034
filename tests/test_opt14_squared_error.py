"""The squared-error head computes ℓ, ℓ' and ℓ'' in NumPy (no kernel call): the same numbers
as the catalog's kernels, and the truth (mpmath at 50 digits) over the whole float range."""

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

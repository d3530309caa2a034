"""Two-class targets are encoded by comparisons, not a sort: the same labels, codes and
names as NumPy's ``unique`` (the independent truth), and the sort where there are more."""

from __future__ import annotations

import numpy as np
import pytest

from symcalc.learn.heads import _classes


@pytest.mark.parametrize(
    "y",
    [
        np.random.default_rng(0).integers(0, 2, 1000).astype(float),
        np.random.default_rng(1).integers(0, 2, 1000) * 5 - 2,
        np.array([True, False, True]),
        np.array([3, 3, 3]),
        np.array([7.5]),
        np.array([2.0, 1.0, 3.0, 1.0]),
        np.array([1.0, -1e300, 1.0, 1e-300]),
        np.array(["b", "a", "b"], dtype=object),
    ],
)
def test_classes_are_those_of_a_sort(y):
    labels, codes, names = _classes(y, "y")
    truth, inverse = np.unique(y, return_inverse=True)
    np.testing.assert_array_equal(labels, truth)
    assert labels.dtype == truth.dtype
    np.testing.assert_array_equal(codes, inverse)
    assert codes.dtype == np.intp
    assert len(names) == len(truth)

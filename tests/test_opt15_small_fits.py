"""The monitor's gradient norm by BLAS's ddot: the same numbers as before, no warnings.

`symcalc.learn.stopping.norm` read Σv² by ``np.dot`` inside ``np.errstate``, which cost
more than the product on a 31-element gradient.  Truth: ``np.dot`` (bit for bit),
``math.hypot`` for the norm, and the overflow-safe path for huge and tiny entries.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

from symcalc.learn.stopping import _dot_product, norm


@pytest.mark.parametrize("size", [1, 2, 11, 31, 42, 650, 651, 4096])
def test_the_blas_product_is_numpys_bit_for_bit(size):
    rng = np.random.default_rng(size)
    for _ in range(50):
        v = rng.standard_normal(size) * 10.0 ** rng.uniform(-100, 100)
        assert _dot_product()(v, v) == float(np.dot(v, v))


@pytest.mark.parametrize(
    "values",
    [
        [3.0, 4.0],
        [1e200, 1e200, 3.0],  # Σv² overflows: the scaled path
        [1e-170, 1e-170, 2e-170],  # Σv² underflows: the scaled path
        [1e308, -1e308],
        [5e-324, 0.0],
        [0.0, 0.0],
    ],
)
def test_the_norm_is_exact_and_warns_nothing(values):
    v = np.array(values)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        found = norm(v)
    assert found == pytest.approx(math.hypot(*values), rel=1e-15)


@pytest.mark.parametrize(
    ("values", "expected"),
    [([np.nan, 1.0], math.nan), ([np.inf, 1.0], math.inf), ([-np.inf], math.inf), ([], 0.0)],
)
def test_a_norm_of_non_finite_entries_is_not_finite_and_quiet(values, expected):
    v = np.array(values, dtype=float)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        found = norm(v)
    assert (math.isnan(found) and math.isnan(expected)) or found == expected


def test_other_layouts_and_types_take_the_numpy_path():
    v = np.arange(12.0).reshape(3, 4)
    assert norm(v.T) == pytest.approx(math.sqrt(float(np.sum(v * v))), rel=1e-15)
    assert norm(v[:, ::2]) == pytest.approx(math.sqrt(float(np.sum(v[:, ::2] ** 2))))
    assert norm(np.array([3.0, 4.0], dtype=np.float32)) == 5.0

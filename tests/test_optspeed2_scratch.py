"""The softmax Hessian's scratch scales with X: the same Hessian (against an independent
NumPy formula) whatever the budget, and tracemalloc's peak bounded by X's size."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest
from softmax_reference import numpy_hessian

from symcalc.learn import models
from symcalc.learn.descent import descend
from symcalc.learn.models import make_model


def softmax_data(rng, m, p, K):
    X = rng.standard_normal((m, p)) * rng.uniform(0.5, 5.0, p) + 3.0
    W = rng.standard_normal((p, K))
    y = np.argmax(X @ W / 5 + rng.gumbel(size=(m, K)), axis=1).astype(float)
    return X, y


@pytest.mark.parametrize("floor", [0, 1 << 12, models.PAIR_SCRATCH_FLOOR, 1 << 30])
def test_every_budget_gives_the_same_hessian(floor, rng, monkeypatch):
    """0: one pair per product in row slices of a few rows; 4 KiB: a few pairs in slices;
    the default and 1 GiB: all pairs in one product (the weighted copies of X̃: no kept
    row products)."""
    monkeypatch.setattr(models, "PAIR_SCRATCH_FLOOR", floor)
    monkeypatch.setattr(models, "ROW_PRODUCTS_BYTES", 0)
    X, y = softmax_data(rng, 300, 6, 4)
    objective = make_model("softmax").objective((X, y), l2=0.01)
    theta = rng.standard_normal(objective.n_parameters) * 0.2
    H = objective.hessian(theta)
    expected = numpy_hessian(X, y.astype(int), theta, 0.01)
    np.testing.assert_allclose(H, expected, rtol=1e-12, atol=1e-14 * np.abs(expected).max())
    np.testing.assert_array_equal(H, H.T)


def transient_bytes(call):
    """Peak bytes allocated by ``call()`` beyond what its result keeps."""
    tracemalloc.start()
    try:
        result = call()
        kept, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak - kept, result


def test_the_hessians_scratch_is_bounded_by_half_of_x(rng):
    X, y = softmax_data(rng, 2000, 40, 6)  # 21 class pairs: X in every pair would be 21·X
    objective = make_model("softmax").objective((X, y), l2=1e-3)
    theta = rng.standard_normal(objective.n_parameters) * 0.1
    objective.hessian(theta)
    objective._outputs_of = None  # not the outputs kept from the call above
    extra, H = transient_bytes(lambda: objective.hessian(theta))
    # half of X for the weighted copies, plus the softmax's P and Q (2·m·K numbers)
    assert extra <= 0.5 * X.nbytes + 2 * 8 * 2000 * 6 + 64 * 1024, extra / X.nbytes


def test_scratch_shrinks_with_the_budget_on_small_data(rng, monkeypatch):
    monkeypatch.setattr(models, "ROW_PRODUCTS_BYTES", 0)  # the weighted copies of X̃
    X, y = softmax_data(rng, 150, 4, 3)  # iris's size: 4.7 KiB
    objective = make_model("softmax").objective((X, y), l2=1e-3)
    theta = rng.standard_normal(objective.n_parameters) * 0.1
    sizes = {}
    for floor in (0, models.PAIR_SCRATCH_FLOOR):
        monkeypatch.setattr(models, "PAIR_SCRATCH_FLOOR", floor)
        objective._outputs_of = None
        sizes[floor] = transient_bytes(lambda: objective.hessian(theta))[0]
    # one pair of half of X's rows at a time against all six pairs of all rows
    assert sizes[0] <= sizes[models.PAIR_SCRATCH_FLOOR] - 5 * X.nbytes
    assert sizes[0] <= 8 * X.nbytes


def test_a_newton_cg_fit_allocates_about_the_size_of_x(rng):
    X, y = softmax_data(rng, 2000, 40, 6)
    descend("softmax", (X, y), l2=1e-3)  # warm-up: kernels built
    tracemalloc.start()
    try:
        result = descend("softmax", (X, y), l2=1e-3)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert result.optimizer_chosen == "newton-cg" and result.converged
    assert peak <= 1.3 * X.nbytes, peak / X.nbytes

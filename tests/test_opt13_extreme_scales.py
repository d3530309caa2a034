"""Features at the ends of float64's range on the paths session 12 left: the streaming
moments (CSV read in blocks, dask blocks) stay exact at 1e-170 and 1e200 as the in-memory
ones do, standardized SGD on them is the SGD of the same data at scale 1 (standardizing
removes the scale), and Newton on logistic / softmax features near 1e154 and beyond
converges in a handful of steps (the Hessian in the user's units overflowed)."""

from __future__ import annotations

import math

import dask.array as da
import mpmath
import numpy as np
import pytest
from test_opt12_extreme_scales import logistic_optimum

from symcalc.errors import SymcalcError
from symcalc.learn import streaming
from symcalc.learn.descent import descend
from symcalc.learn.models import make_model
from symcalc.learn.scaling import Moments, Preconditioned, Scaling, column_moments

M, P = 400, 3


@pytest.fixture
def data():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(M, P)) + np.array([0.0, 2.0, -1.0])
    y = X @ np.array([1.0, -2.0, 0.5]) + 0.3 + 0.1 * rng.normal(size=M)
    labels = (X[:, 0] - X[:, 1] + rng.normal(size=M) > -2).astype(int)
    return X, y, labels


def mp_moments(columns):
    """(mean, population standard deviation) of each column at 50 digits."""
    with mpmath.workdps(50):
        means, spreads = [], []
        for column in columns.T:
            values = [mpmath.mpf(float(v)) for v in column]
            mean = mpmath.fsum(values) / len(values)
            spread = mpmath.sqrt(mpmath.fsum((v - mean) ** 2 for v in values) / len(values))
            means.append(float(mean))
            spreads.append(float(spread))
    return np.array(means), np.array(spreads)


@pytest.mark.parametrize("scale", [1e-170, 1e-300, 1e155, 1e200, 1e300])
def test_streaming_moments_are_exact_at_any_scale(data, scale):
    # before: the squares under- or overflowed: spread 0 at 1e-170 (the column looked
    # constant), inf / NaN at 1e155 and above
    X = data[0] * scale
    moments = Moments(P)
    for start in range(0, M, 64):
        moments.add(X[start : start + 64])
    mean, spread = moments.result()
    true_mean, true_spread = mp_moments(X)
    np.testing.assert_allclose(spread, true_spread, rtol=1e-13, atol=0)
    np.testing.assert_allclose(mean, true_mean, rtol=1e-12, atol=1e-14 * true_spread.max())


def test_streaming_moments_of_blocks_on_different_scales():
    # the first block near 1, the next near 1e200: the factor grows between blocks
    rng = np.random.default_rng(4)
    X = np.vstack([rng.normal(size=(50, 2)), rng.normal(size=(50, 2)) * 1e200])
    X[:, 1] *= 1e-200  # and the other column from 1e-200 up to 1
    moments = Moments(2)
    for start in range(0, 100, 30):
        moments.add(X[start : start + 30])
    mean, spread = moments.result()
    true_mean, true_spread = mp_moments(X)
    np.testing.assert_allclose(spread, true_spread, rtol=1e-13, atol=0)
    assert np.all(np.abs(mean - true_mean) <= 1e-12 * np.abs(true_mean) + 1e-14 * true_spread)


def _cell(value: float) -> str:
    """A number at a fixed width whatever its exponent (so the CSV blocks split alike)."""
    mantissa, exponent = f"{value:.17e}".split("e")
    return f"{mantissa}e{int(exponent):+04d}"


def _write(path, X, y):
    body = "".join(
        ",".join(map(_cell, row)) + f",{float(t)!r}\n" for row, t in zip(X, y, strict=True)
    )
    path.write_text("a,b,c,y\n" + body)
    return path


@pytest.mark.parametrize("scale", [1e-170, 1e200])
@pytest.mark.parametrize("model", ["linear", "logistic"])
def test_standardized_sgd_on_a_chunked_csv_at_extreme_scales(
    tmp_path, monkeypatch, data, model, scale
):
    # before: "column 'a' ... is constant, so it cannot be standardized" at both scales
    monkeypatch.setattr(streaming, "CHUNK_BYTES", 3000)
    X, y_linear, labels = data
    y = y_linear if model == "linear" else labels
    scaled = _write(tmp_path / "scaled.csv", X * scale, y)
    plain = _write(tmp_path / "plain.csv", X, y)
    source = streaming.CSVSource(scaled, "y")
    summary = source.scan(classify=model == "logistic")
    assert source.n_chunks > 5
    in_memory = column_moments(X * scale)
    np.testing.assert_allclose(summary.scale, in_memory[1], rtol=1e-13, atol=0)
    np.testing.assert_allclose(summary.mean, in_memory[0], rtol=1e-12, atol=0)
    options = {"target": "y", "optimizer": "sgd", "standardize": True, "epochs": 3, "seed": 1}
    result = descend(model, scaled, **options)
    reference = descend(model, plain, **options)
    # standardized features are the same numbers (to rounding): the same SGD run
    np.testing.assert_allclose(result.theta, reference.theta, rtol=1e-9, atol=1e-12)
    assert result.loss == pytest.approx(reference.loss, rel=1e-11)


@pytest.mark.parametrize("scale", [1e-170, 1e200])
@pytest.mark.parametrize("model", ["linear", "logistic"])
def test_standardized_sgd_on_dask_at_extreme_scales(data, model, scale):
    # before: at 1e200 dask's std overflowed and SGD returned every weight 0 (linear
    # J = 5.33 where SGD at scale 1 reaches 0.012), at 1e-170 "column 'x1' is constant"
    X, y_linear, labels = data
    y = y_linear if model == "linear" else labels
    options = {"optimizer": "sgd", "standardize": True, "epochs": 3, "seed": 1}

    def fit(features):
        return descend(
            model, (da.from_array(features, chunks=(100, P)), da.from_array(y, 100)), **options
        )

    result, reference = fit(X * scale), fit(X)
    np.testing.assert_allclose(result.theta, reference.theta, rtol=1e-9, atol=1e-12)
    assert result.loss == pytest.approx(reference.loss, rel=1e-11)


@pytest.mark.parametrize("scale", [1e154, 1e160, 1e200, 1e300])
@pytest.mark.parametrize("model", ["logistic", "softmax"])
@pytest.mark.parametrize("optimizer", ["auto", "newton"])
def test_newton_on_huge_features_converges(data, model, scale, optimizer):
    # before: the Hessian in user units was inf; Newton took about 1,120 steps and stopped
    # for loss_change, not converged (J 1e-14 above J*, optimality 3e-8 > tol)
    X, _, labels = data
    result = descend(model, (X * scale, labels), optimizer=optimizer)
    truth = logistic_optimum(X, labels.astype(float))
    assert result.converged and result.stop_reason == "gradient_norm"
    assert result.iterations <= 20
    assert abs(result.loss - truth) <= 1e-12 * truth


@pytest.mark.parametrize("model", ["logistic", "softmax"])
@pytest.mark.parametrize("l2", [0.0, 2.0**-40])
def test_scaled_hessian_is_the_hessian_of_the_standardized_data(data, model, l2):
    # [1, (X − μ)/s] formed directly: the working Hessian on features at 2⁵²⁰ (≈ 3e156,
    # whose Gram products overflow) equals the one of the same data at scale 1 (where the
    # ordinary route is exact); the penalty λ·s² in user units is the same λ in working
    # units.  Powers of two: the scaled data are the same numbers.  Before: inf entries.
    X, _, labels = data
    built = make_model(model)
    theta = None
    hessians = []
    for exponent in (0, 520):
        scale = math.ldexp(1.0, exponent)
        objective = built.objective((X * scale, labels), math.ldexp(l2, 2 * exponent))
        mean, spread = column_moments(X * scale)
        scaling = Scaling(objective.n_parameters, objective.feature_blocks, mean, spread)
        if theta is None:
            theta = np.random.default_rng(5).normal(size=objective.n_parameters)
        with np.errstate(over="ignore", invalid="ignore"):
            hessians.append(Preconditioned(objective, scaling).hessian(theta))
    assert np.isfinite(hessians[1]).all()
    np.testing.assert_allclose(hessians[1], hessians[0], rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("optimizer", ["auto", "lbfgs", "trust-ncg", "gd"])
def test_a_least_squares_target_whose_squares_underflow_is_refused(data, optimizer):
    # y at 1e-170: J* = 2e-341 is below float64's range.  Before: lbfgs stopped "diverged"
    # at θ = 0 (the optimum's weights are near 1e-170, representable), trust-ncg divided
    # 0 by 0 and stopped at θ = 0 after max_iter, auto said "converged" at J = 0
    X, y, _ = data
    with pytest.raises(SymcalcError, match="target varies by only .*power of ten"):
        descend("linear", (X, y * 1e-170), optimizer=optimizer)


def test_a_small_but_safe_target_still_fits(data):
    # y at 1e-100: the squares (1e-200) are normal numbers; the fit is the scale-1 fit
    X, y, _ = data
    A = np.hstack([np.ones((M, 1)), X])
    theta = np.linalg.lstsq(A, y, rcond=None)[0]
    result = descend("linear", (X, y * 1e-100))
    assert result.converged
    np.testing.assert_allclose(result.theta * 1e100, theta, rtol=1e-10)
    truth = float(np.mean((A @ theta - y) ** 2))
    assert result.loss * 1e200 == pytest.approx(truth, rel=1e-12)


@pytest.mark.parametrize("optimizer", ["trust-ncg", "newton-cg", "lbfgs"])
@pytest.mark.parametrize("scale", [1e-140, 1e-135, 1e140])
def test_scipy_methods_reach_the_optimum_of_a_target_far_from_1(optimizer, scale):
    # before: at 1e-140 trust-ncg and newton-cg stopped at θ = 0 after max_iter (SciPy's
    # trust-region boundary solve divided 0 by 0 on a gradient of 4e-140)
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 3))
    y = X @ np.array([1.0, -2.0, 0.5]) + 0.3 + 0.5 * rng.normal(size=40)
    A = np.hstack([np.ones((40, 1)), X])
    theta = np.linalg.lstsq(A, y, rcond=None)[0]
    truth = float(np.mean((A @ theta - y) ** 2))
    result = descend("linear", (X, y * scale), optimizer=optimizer, max_iter=100)
    assert result.converged and result.stop_reason == "gradient_norm"
    np.testing.assert_allclose(result.theta / scale, theta, rtol=1e-7)
    assert result.loss / scale / scale == pytest.approx(truth, rel=1e-10)


@pytest.mark.parametrize("scale", [1e154, 1e200])
@pytest.mark.parametrize("model", ["linear", "logistic"])
def test_newton_on_huge_dask_features_converges(data, model, scale):
    # the dask Hessian is summed over in-memory blocks, each formed of [1, (X − μ)/s].
    # Before: logistic took 574 Newton steps and stopped for loss_change, not converged;
    # linear took 18 steps where one is exact
    X, y_linear, labels = data
    y = y_linear if model == "linear" else labels
    chunks = (100, P)
    result = descend(model, (da.from_array(X * scale, chunks=chunks), da.from_array(y, 100)))
    reference = descend(model, (X, y))
    assert result.optimizer_chosen == "newton"
    assert result.converged and result.stop_reason == "gradient_norm"
    assert result.iterations <= reference.iterations + 1
    assert result.loss == pytest.approx(reference.loss, rel=1e-12)
    np.testing.assert_allclose(result.theta[1:] * scale, reference.theta[1:], rtol=1e-8)

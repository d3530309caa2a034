"""Tail elements inside long arrays: the kernels' second pass reads its conditions at the
few elements concerned (``np.nonzero`` indices), not through whole-array masks.

* `again_where_lifted` marks exactly the elements of the whole-mask rule it replaced
  (written out plainly here): 0-d, chunk-sized and broadcast arguments, NaN and ±inf.
* Against mpmath at 50 digits, float32 and float64: gelu and gelu′ (exp(−x²/2) falls
  below float32's normal numbers from |x| = 13.2, 0.3 % of N(0, 4) data, in every chunk)
  through `to_torch`'s forward and backward on CPU tensors longer than a chunk, and a
  kernel whose intermediate x² overflows at finite x (`Kernel._finish`'s second pass in
  long double), with the elements scattered among ordinary ones.
"""

from __future__ import annotations

import mpmath
import numpy as np
import pytest
from lazy import lazy, torch_dtype

from symcalc import kernel, to_torch
from symcalc.numeric.kernels.runtime import CHUNK, again_where_lifted, take_lifted

torch = lazy("torch")
DTYPES = (np.dtype(np.float64), np.dtype(np.float32))
ATOL = {np.dtype(np.float64): 1e-300, np.dtype(np.float32): 1e-36}


def _whole_mask_rule(out, small, large, inputs, signed, shrink):
    """The elements `again_where_lifted` makes NaN, by the rule's whole-array masks."""
    info = np.finfo(out.dtype)
    low, lifts_zero = info.tiny / shrink, float(info.tiny) * float(info.max)
    marked = np.zeros(out.shape, bool)
    for f in small:
        magnitude = np.abs(f) if signed else f
        if not np.min(magnitude) < low:  # the rule's gate: NaN in the factor skips it too
            continue
        lifted = (np.abs(np.where(marked, np.nan, out)) >= info.tiny) | np.zeros(out.shape, bool)
        for g in large:
            lifted |= np.abs(g) > lifts_zero
        finite = np.ones(out.shape, bool)
        for a in inputs:
            finite &= np.isfinite(a)
        marked |= (magnitude < low) & lifted & finite
    return marked


def _case(rng, dtype, shape):
    info = np.finfo(dtype)
    pool = np.array(
        [0.0, info.tiny / 8, -info.tiny / 3, info.tiny, 1e-3, 0.5, 3.0, 5.0, -7.0, 1e30, np.nan]
        + [np.inf, -np.inf, float(info.smallest_subnormal)],
        dtype,
    )
    return np.array(pool[rng.integers(0, pool.size, shape)])  # 0-d: an array, as kernels pass


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.name)
def test_again_where_lifted_marks_what_the_whole_mask_rule_marks(dtype):
    rng = np.random.default_rng(16)
    for shape in [(), (1,), (7,), (CHUNK // 4,), (3, 5)]:
        for signed in (True, False):
            for shrink in (1.0, 0.25):
                for scalar_large in (False, True):
                    out = _case(rng, dtype, shape)
                    small = [_case(rng, dtype, shape) for _ in range(2)]
                    if not signed:
                        small = [np.abs(f) for f in small]
                    large = [_case(rng, dtype, () if scalar_large else shape)]
                    inputs = [_case(rng, dtype, shape), _case(rng, dtype, ())]
                    expected = _whole_mask_rule(out, small, large, inputs, signed, shrink)
                    got = out.copy()
                    take_lifted()
                    again_where_lifted(got, small, large, inputs, signed, shrink)
                    assert take_lifted() == bool(expected.any())
                    np.testing.assert_array_equal(np.isnan(got), np.isnan(out) | expected)
                    keep = ~expected
                    np.testing.assert_array_equal(got[keep], out[keep])


def _long_with_tails(dtype, n=3 * CHUNK + 123) -> np.ndarray:
    """N(0, 4) points longer than a chunk, with far points scattered through every chunk."""
    rng = np.random.default_rng(7)
    x = rng.normal(0.0, 4.0, n)
    far = [-40.0, -38.5, -16.0, -14.5, -13.3, -13.0, -12.2, 12.5, 13.7, 15.0, 27.0, 1e4]
    spots = rng.choice(n, size=len(far) * 9, replace=False)
    x[spots] = np.tile(far, 9)
    return x.astype(dtype)


def _checked_at(x: np.ndarray) -> np.ndarray:
    """Indices to hold against mpmath: every point beyond |x| = 10 and 400 others, none
    within 0.05 of gelu′'s zero at x = -0.7518 (no relative accuracy there; its mixed
    error is `test_torchfast_route`'s)."""
    far = np.flatnonzero(np.abs(x) > 10)
    rest = np.random.default_rng(3).choice(x.size, 400, replace=False)
    rest = rest[np.abs(x[rest] + 0.7518) > 0.05]
    return np.union1d(far, rest)


def _gelu_truth(a: float) -> tuple[float, float]:
    """gelu(a) = a·Φ(a) and gelu′(a) = Φ(a) + a·φ(a), at 50 digits."""
    mpmath.mp.dps = 50
    x = mpmath.mpf(a)
    cdf = mpmath.erfc(-x / mpmath.sqrt(2)) / 2
    pdf = mpmath.exp(-(x**2) / 2) / mpmath.sqrt(2 * mpmath.pi)
    return float(x * cdf), float(cdf + x * pdf)


def _promise_kept(got: float, x: float, which: int, scale: float, dtype: np.dtype) -> bool:
    """The kernel promise as `test_stability` states it: within rtol of the truth (atol
    below it), or the documented mixed error: within rtol of f(x') for |x' - x| <= rtol·|x|
    (gelu(x) at x = -12.3 in float32 rounds -x/√2 first: condition number 150)."""
    rtol = 1e-12 if dtype == np.float64 else 1e-5
    truth = scale * _gelu_truth(x)[which]
    error = abs(got - truth)
    if error <= rtol * abs(truth) or (abs(truth) < ATOL[dtype] and error <= ATOL[dtype]):
        return True
    ends = [scale * _gelu_truth(x * (1 + s * rtol))[which] for s in (-1, 1)]
    low, high = min(ends), max(ends)
    return low - rtol * abs(low) <= got <= high + rtol * abs(high)


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.name)
def test_gelu_and_its_gradient_over_long_tensors_with_tails_meet_the_promise(dtype):
    g = to_torch("gelu")
    x_np = _long_with_tails(dtype)
    x = torch.from_numpy(x_np.copy()).requires_grad_()
    value = g(x)
    (grad,) = torch.autograd.grad(value, x, torch.full_like(x, 2.0))
    assert value.dtype == grad.dtype == torch_dtype(dtype)
    values, grads = value.detach().numpy(), grad.numpy()
    bad = []
    for i in _checked_at(x_np):
        a = float(x_np[i])
        if not _promise_kept(float(values[i]), a, 0, 1.0, dtype):
            bad.append(("gelu", a, float(values[i]), _gelu_truth(a)[0]))
        if not _promise_kept(float(grads[i]), a, 1, 2.0, dtype):
            bad.append(("2·gelu′", a, float(grads[i]), 2.0 * _gelu_truth(a)[1]))
    assert not bad, bad[:4]
    # float32: the far points took the second pass (exp(-x²/2) below tiny from 13.2)
    assert dtype == np.float64 or (np.abs(x_np) > 13.2).sum() > 50


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.name)
def test_elements_overflowing_on_the_way_are_computed_again_among_ordinary_ones(dtype):
    # x²/(√(x² + 1) + 1): x² overflows from |x| = 1.3e154 (1.8e19 in float32), the
    # result (about |x|) does not; long double computes those elements again
    k = kernel("x**2/(sqrt(x**2 + 1) + 1)")
    big = 1e200 if dtype == np.float64 else 1e30
    x = np.random.default_rng(5).normal(0.0, 4.0, 2 * CHUNK + 9).astype(dtype)
    spots = np.arange(5, x.size, 997)
    x[spots] = np.resize(np.array([big, -big, 3 * big, 1e-30], dtype), spots.size)
    with np.errstate(all="raise"):
        got = k(x)
    assert got.dtype == dtype
    mpmath.mp.dps = 50
    for i in np.union1d(spots, np.arange(0, x.size, 1501)):
        a = mpmath.mpf(float(x[i]))
        truth = float(a**2 / (mpmath.sqrt(a**2 + 1) + 1))
        assert got[i] == pytest.approx(truth, rel=1e-12 if dtype == np.float64 else 1e-5), x[i]

"""``kernel(..., backend="jax")`` hands over XLA's output without a copy, and safely.

The result is XLA's buffer as a read-only NumPy array (JAX's buffers are immutable), never
memory the caller's input or another call's result shares; float64 stays float64 whether
JAX's 64-bit mode is on or off; a result whose range the kernel proves finite skips
the output check, and one that can overflow still signals it as the NumPy kernel does.
"""

from __future__ import annotations

import numpy as np
import pytest
from lazy import lazy

from symcalc import kernel
from symcalc.numeric.kernels.runtime import output_array

jax = lazy("jax")  # imported by the first test, not by collection (see tests/lazy.py)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_results_are_read_only_and_independent(dtype):
    k = kernel("sigmoid", order=1, backend="jax")
    x = np.linspace(-40.0, 40.0, 1001).astype(dtype)
    kept = x.copy()
    a, b = k(x), k(x)
    assert a.dtype == dtype and not a.flags.writeable and a.flags.c_contiguous
    assert not np.shares_memory(a, b) and not np.shares_memory(a, x)
    truth = kernel("sigmoid", order=1)(x)  # the NumPy kernel, tested against mpmath
    rtol = 1e-12 if dtype == np.float64 else 1e-5
    np.testing.assert_allclose(a, truth, rtol=rtol)
    with pytest.raises(ValueError, match="read-only"):
        a[:] = -1.0  # JAX's buffer is immutable: symcalc never hands it over writable
    np.testing.assert_array_equal(x, kept)
    np.testing.assert_allclose(b, truth, rtol=rtol)


def test_an_output_that_is_the_input_is_copied():
    x = np.arange(5.0)
    ident = kernel("x", backend="jax")
    out = ident(x)
    assert not np.shares_memory(out, x)
    x[0] = 99.0
    assert out[0] == 0.0
    # and the helper itself: a read-only view overlapping an input comes back as a copy
    view = x[:]
    view.flags.writeable = False
    copied = output_array(view, [x])
    assert copied.flags.writeable and not np.shares_memory(copied, x)


def test_float64_without_the_64_bit_mode_stays_float64():
    k = kernel("tanh", order=1, backend="jax")
    x = np.array([0.5, 20.0, -30.0])
    with jax.enable_x64(False):
        out = k(x)
    assert out.dtype == np.float64
    np.testing.assert_allclose(out, 1.0 / np.cosh(x) ** 2, rtol=1e-12)
    assert out[2] > 0  # sech² at -30 is 3.5e-26, not float32's underflow


def test_finite_range_skips_the_check_and_overflow_is_still_signalled():
    assert not kernel("sigmoid", order=1, backend="jax").checks_output
    k = kernel("exp(x)", backend="jax")
    assert k.checks_output
    with np.errstate(over="raise"), pytest.raises(FloatingPointError):
        k(np.array([0.0, 1000.0]))


def test_the_handed_over_buffer_outlives_the_jax_array():
    """The NumPy array keeps XLA's buffer alive: later calls do not reuse its memory."""
    import gc

    k = kernel("softplus", order=1, backend="jax")
    x = np.linspace(-5.0, 5.0, 4096)
    first = k(x)
    kept = first.copy()
    gc.collect()
    later = [k(x + i) for i in range(1, 20)]  # fresh buffers, any of which could reuse it
    np.testing.assert_array_equal(first, kept)
    assert not any(np.shares_memory(first, other) for other in later)

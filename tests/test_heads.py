"""Heads: softmax derived once for any K (SymPy), evaluated stably (mpmath at 50 digits),
agreeing with the catalog's K-class kernels; setup that does not grow with K."""

from __future__ import annotations

import time

import mpmath
import numpy as np
import pytest
import sympy

from symcalc.errors import SymcalcError
from symcalc.learn.heads import ScalarHead, SoftmaxHead, head_for, softmax_derivatives
from symcalc.symbolic.catalog import get


@pytest.fixture(autouse=True)
def _digits(mp_digits):
    mp_digits(50)


def mp_softmax_parts(z, label):
    """ℓ, ∂ℓ/∂z and ∂²ℓ/∂z² of softmax cross-entropy at 50 digits, straight from the definition."""
    zs = [mpmath.mpf(float(v)) for v in z]
    total = sum(mpmath.exp(v) for v in zs)
    p = [mpmath.exp(v) / total for v in zs]
    loss = mpmath.log(total) - zs[label]
    gradient = [p[c] - (1 if c == label else 0) for c in range(len(zs))]
    hessian = [
        [p[c] * ((1 if c == d else 0) - p[d]) for d in range(len(zs))] for c in range(len(zs))
    ]
    return loss, gradient, hessian


def relative(a, b):
    return abs(float(a) - float(b)) / max(abs(float(b)), 1e-300)


@pytest.mark.parametrize(
    "z, label",
    [
        ([0.3, -1.2, 2.0], 2),
        ([1000.0, 0.0, -1000.0], 0),  # confidently right: ℓ ≈ e⁻¹⁰⁰⁰, kept to full precision
        ([-800.0, 0.0, 900.0, 3.0], 0),  # confidently wrong: ℓ ≈ 1700
        ([40.0, 40.0 - 1e-9, -3.0, 5.0, 39.5], 1),
        ([1e-3, 2e-3, 0.0, -1e-3, 5e-4, 1e-4, 0.0, 0.0, 0.0, 3e-4], 7),
    ],
)
def test_softmax_head_matches_mpmath_at_extreme_logits(z, label):
    head = SoftmaxHead(tuple(str(k) for k in range(len(z))))
    Z = np.array([z])
    codes = np.array([label])
    loss, gradient, hessian = mp_softmax_parts(z, label)
    assert relative(head.values(Z, codes)[0], loss) < 1e-13 or float(loss) == 0.0
    ours = head.derivative(Z, codes)[0]
    for c, exact in enumerate(gradient):
        assert (
            abs(ours[c] - float(exact)) <= 1e-15 * max(1.0, abs(float(exact)))
            or relative(ours[c], exact) < 1e-13
        )
    P, Q = head.hessian_weights(Z)
    for c in range(len(z)):
        assert relative(P[0, c] * Q[0, c], hessian[c][c]) < 1e-12 or float(hessian[c][c]) < 1e-300
        for d in range(len(z)):
            if c != d:
                exact = hessian[c][d]
                assert relative(-P[0, c] * P[0, d], exact) < 1e-12 or abs(float(exact)) < 1e-300


def test_softmax_head_agrees_with_the_catalog_kernel_for_three_classes(rng):
    from symcalc.numeric.kernels import kernel

    entry = get("categorical_cross_entropy", K=3)
    value = kernel(entry)
    Z = rng.normal(scale=4, size=(50, 3))
    codes = rng.integers(0, 3, 50)
    Y = np.eye(3)[codes]
    head = SoftmaxHead(("a", "b", "c"))
    expected = value(*(Z[:, c] for c in range(3)), *(Y[:, c] for c in range(3)))
    np.testing.assert_allclose(head.values(Z, codes), expected, rtol=1e-12)
    for c in range(3):
        derivative = kernel(entry, order=1, wrt=f"z_{c + 1}")
        np.testing.assert_allclose(
            head.derivative(Z, codes)[:, c],
            derivative(*(Z[:, k] for k in range(3)), *(Y[:, k] for k in range(3))),
            rtol=1e-11,
            atol=1e-15,
        )


def test_hessian_vector_in_z_is_the_hessian_times_u(rng):
    head = SoftmaxHead(tuple("abcde"))
    Z = rng.normal(scale=3, size=(20, 5))
    U = rng.standard_normal((20, 5))
    P, Q = head.hessian_weights(Z)
    for i in range(20):
        H = -np.outer(P[i], P[i])
        H[np.diag_indices(5)] = P[i] * Q[i]
        np.testing.assert_allclose(head.hessian_vector(Z, None, U)[i], H @ U[i], atol=1e-15)


def test_generic_derivation_is_the_catalog_derivative_for_each_k():
    """SymPy's derivative of the K = 4 catalog loss equals the generic form with K = 4."""
    d = softmax_derivatives()
    entry = get("categorical_cross_entropy", K=4)
    zs, ys = entry.variables[:4], entry.variables[4:]
    K, c = d.K, d.c
    for position in (1, 3):
        generic = d.gradient.subs({K: 4, c: position}).doit()
        generic = generic.subs({d.z[k]: zs[k - 1] for k in range(1, 5)})
        generic = generic.subs({d.y[k]: ys[k - 1] for k in range(1, 5)})
        exact = sympy.diff(entry.bind(), zs[position - 1])
        point = {v: sympy.Rational(k + 1, 7) for k, v in enumerate(zs)} | {
            v: sympy.Rational(k, 10) for k, v in enumerate(ys)
        }
        assert abs(float((generic - exact).subs(point).evalf(30))) < 1e-25
    assert str(d.softmax_gradient) == "softmax(z)[c] - y[c]"
    assert (
        str(d.softmax_hessian) == "KroneckerDelta(c, d)*softmax(z)[c] - softmax(z)[c]*softmax(z)[d]"
    )


@pytest.mark.parametrize("classes", [3, 10, 40])
def test_softmax_setup_is_fast_for_any_number_of_classes(classes, rng):
    from symcalc.learn.models import make_model

    X = rng.standard_normal((4 * classes, 5))
    y = np.arange(4 * classes) % classes
    started = time.perf_counter()
    objective = make_model("softmax").objective((X, y))
    objective.value_and_gradient(objective.initial())
    assert time.perf_counter() - started < 1.0  # was 23 s for K = 3 and 1,001 s for K = 10
    assert objective.n_outputs == classes


def test_heads_encode_labels_and_refuse_unknown_ones():
    head, codes = head_for(None, np.array(["b", "a", "c", "a"], dtype=object), "y")
    assert codes.tolist() == [1, 0, 2, 0]
    assert head.encode(np.array(["c", "a"])).tolist() == [2, 0]
    with pytest.raises(SymcalcError, match=r"holds the label 'd', which was not among the classes"):
        head.encode(np.array(["a", "d"]))
    binary, y = head_for(get("bce_with_logits"), np.array([3.0, 7.0, 3.0]), "y")
    assert isinstance(binary, ScalarHead) and y.tolist() == [0.0, 1.0, 0.0]
    assert binary.encode(np.array([7.0, 3.0])).tolist() == [1.0, 0.0]


@pytest.mark.parametrize("name", ["binary_cross_entropy_with_logits", "mse", "huber"])
def test_scalar_head_on_checked_float64_arrays_gives_the_kernel_calls_numbers(name):
    # a fit's float64 arrays take the kernels' light path (`Kernel.evaluate`): the same
    # numbers as the checked call, bit for bit, also where they overflow; float32 and
    # other shapes keep the checked call
    head = ScalarHead(get(name))
    rng = np.random.default_rng(0)
    z = np.concatenate([rng.standard_normal(500) * 10, [0.0, 700.0, -800.0, 1e300]])
    y = (rng.random(z.size) < 0.5).astype(float)
    for order, method in ((0, head.values), (1, head.derivative), (2, head.second)):
        with np.errstate(all="ignore"):
            light, checked = method(z, y), head._kernel(order, z)(z, y)
        np.testing.assert_array_equal(light, checked)
        assert method(z[:500].astype(np.float32), y[:500].astype(np.float32)).dtype == np.float32
        assert np.shape(method(z[:1].reshape(()), y[:1].reshape(()))) == ()

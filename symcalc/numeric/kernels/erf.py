"""erf and erfc of float arrays from whole-array NumPy passes.

The rational approximations of Cephes ndtr.c (S. L. Moshier, after W. J. Cody): each is
accurate to about 1e-16 on its interval.  ``scipy.special.erf``/``erfc`` evaluate the same
formulas one element at a time (12 ns/element here); as whole-array passes they take
about 8, most of it in the 49 Horner steps (each a multiply and an add over the chunk).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .runtime import CHUNK, chunk_pool

__all__ = ["erf_array", "erfc_array"]


#: erf(x) = x·T(x²)/U(x²) for |x| < 1 (U monic, its leading 1 left out).
_ERF_T = (
    9.60497373987051638749e0,
    9.00260197203842689217e1,
    2.23200534594684319226e3,
    7.00332514112805075473e3,
    5.55923013010394962768e4,
)
_ERF_U = (
    3.35617141647503099647e1,
    5.21357949780152679795e2,
    4.59432382970980127987e3,
    2.26290000613890934246e4,
    4.92673942608635921086e4,
)
#: erfc(x) = exp(-x²)·P(x)/Q(x) for 1 <= x < 8 (Q monic).
_ERFC_P = (
    2.46196981473530512524e-10,
    5.64189564831068821977e-1,
    7.46321056442269912687e0,
    4.86371970985681366614e1,
    1.96520832956077098242e2,
    5.26445194995477358631e2,
    9.34528527171957607540e2,
    1.02755188689515710272e3,
    5.57535335369399327526e2,
)
_ERFC_Q = (
    1.32281951154744992508e1,
    8.67072140885989742329e1,
    3.54937778887819891062e2,
    9.75708501743205489753e2,
    1.82390916687909736289e3,
    2.24633760818710981792e3,
    1.65666309194161350182e3,
    5.57535340817727675546e2,
)
#: erfc(x) = exp(-x²)·R(x)/S(x) for x >= 8 (S monic).
_ERFC_R = (
    5.64189583547755073984e-1,
    1.27536670759978104416e0,
    5.01905042251180477414e0,
    6.16021097993053585195e0,
    7.40974269950448939160e0,
    2.97886665372100240670e0,
)
_ERFC_S = (
    2.26052863220117276590e0,
    9.39603524938001434673e0,
    1.20489539808096656605e1,
    1.70814450747565897222e1,
    9.60896809063285878198e0,
    3.36907645100081516050e0,
)
_ABS_BITS = np.int64(2**63 - 1)
_SIGN_BITS = np.int64(-(2**63))
_ONE_BITS = np.float64(1.0).view(np.int64)


def _polynomial(x: np.ndarray, coefficients: Sequence[float], out: np.ndarray) -> np.ndarray:
    """out = c0·x^n + c1·x^(n-1) + ... + cn by Horner's rule, in place."""
    np.multiply(x, coefficients[0], out=out)
    for c in coefficients[1:-1]:
        np.add(out, c, out=out)
        np.multiply(out, x, out=out)
    np.add(out, coefficients[-1], out=out)
    return out


def _monic(x: np.ndarray, coefficients: Sequence[float], out: np.ndarray) -> np.ndarray:
    """out = x^n + c0·x^(n-1) + ... + c(n-1) (the leading 1 not stored)."""
    np.add(x, coefficients[0], out=out)
    for c in coefficients[1:]:
        np.multiply(out, x, out=out)
        np.add(out, c, out=out)
    return out


def _blend(mask: np.ndarray, a: np.ndarray, b: np.ndarray, out: np.ndarray) -> None:
    """out = a where mask (int64, all bits set) else b: three bitwise passes, exact.

    ``out`` may be ``a`` but not ``b`` (b is read after the first write).
    """
    ai, bi, oi = a.view(np.int64), b.view(np.int64), out.view(np.int64)
    np.bitwise_xor(ai, bi, out=oi)
    np.bitwise_and(oi, mask, out=oi)
    np.bitwise_xor(oi, bi, out=oi)


def _erf_chunk(z, out, complement, a, b, c, d, m) -> None:
    """erf(z) (or erfc with ``complement``) of a contiguous float64 chunk into ``out``.

    ``a, b, c, d`` (float64) and ``m`` (int64) are scratch of the chunk's length; ``out``
    may be ``z`` itself (every read of ``z`` comes before the one write of ``out``).
    """
    zi, ai = z.view(np.int64), a.view(np.int64)
    np.bitwise_and(zi, _ABS_BITS, out=ai)  # a = |z|
    smallest, largest = a.min(), a.max()  # NaN makes both NaN: then both branches run
    near = not smallest >= 1.0  # some |z| < 1
    far = not largest < 1.0  # some |z| >= 1
    if near:  # c = erf(z) = z·T(z²)/U(z²), or its complement
        np.multiply(z, z, out=b)
        _polynomial(b, _ERF_T, c)
        _monic(b, _ERF_U, d)
        np.divide(c, d, out=c)
        np.multiply(c, z, out=c)
        if complement:
            np.subtract(1.0, c, out=c)
    if far:  # b = erfc(|z|) = exp(-z²)·P/Q (R/S from |z| = 8 on, |z| capped at 30)
        tail = None
        if not largest < 8.0:
            tail = np.flatnonzero(a >= 8.0)
            capped = np.minimum(a[tail], 30.0)  # erfc(30) = 0 already; inf stays finite
            a[tail] = capped
        _polynomial(a, _ERFC_P, b)
        _monic(a, _ERFC_Q, d)
        np.divide(b, d, out=b)
        if tail is not None and tail.size:
            b[tail] = _polynomial(capped, _ERFC_R, np.empty_like(capped)) / _monic(
                capped, _ERFC_S, np.empty_like(capped)
            )
        np.multiply(a, a, out=d)
        np.negative(d, out=d)
        np.exp(d, out=d)
        np.multiply(b, d, out=b)
        np.right_shift(zi, 63, out=m)  # all bits set where z < 0 (the sign bit)
        if complement:  # erfc(z) = 2 - erfc(|z|) for z <= -1
            np.subtract(2.0, b, out=d)
            _blend(m, d, b, d)
            b, d = d, b
        else:  # erf(z) = sign(z)·(1 - erfc(|z|))
            np.subtract(1.0, b, out=b)
            np.bitwise_and(m, _SIGN_BITS, out=m)
            np.bitwise_or(b.view(np.int64), m, out=b.view(np.int64))
    if near and far:  # out is written only here, after every read of z
        np.subtract(ai, _ONE_BITS, out=m)  # |z| < 1 as integers (|z| >= 0 orders like its bits)
        np.right_shift(m, 63, out=m)
        _blend(m, c, b, out)
    else:
        np.copyto(out, c if near else b)


def _erf_array(z: Any, out: np.ndarray | None, complement: bool) -> np.ndarray:
    z = np.asarray(z)
    if z.dtype.kind != "f":
        z = z.astype(np.float64)
    if out is None:
        out = np.empty(z.shape, z.dtype)
    elif z.shape != out.shape:
        z = np.broadcast_to(z, out.shape)
    flat_in = np.ascontiguousarray(z).reshape(-1)
    flat_out = out.reshape(-1) if out.flags.c_contiguous else np.empty(out.size, out.dtype)
    a, b, c, d, z64, y64, m = chunk_pool(np.dtype(np.float64), (6, 0, 1), owner="erf")
    with np.errstate(all="ignore"):  # discarded lanes of a branch may overflow; results do not
        for start in range(0, flat_in.size, CHUNK):
            piece = flat_in[start : start + CHUNK]
            target = flat_out[start : start + CHUNK]
            n = piece.size
            if piece.dtype != np.float64:
                np.copyto(z64[:n], piece)
                piece = z64[:n]
            result = target if target.dtype == np.float64 else y64[:n]
            _erf_chunk(piece, result, complement, a[:n], b[:n], c[:n], d[:n], m[:n])
            if result is not target:
                np.copyto(target, result, casting="same_kind")
    if not out.flags.c_contiguous:
        out[...] = flat_out.reshape(out.shape)
    return out


def erf_array(z: Any, out: np.ndarray | None = None) -> np.ndarray:
    """The error function of a float array, from whole-array NumPy passes.

    Cephes' rational approximations (erf = z·T(z²)/U(z²) for |z| < 1, 1 - erfc(|z|) with
    the sign of z beyond), evaluated in float64 chunks whatever the input dtype (float32
    results are rounded once at the end).  Tested against mpmath at 50 digits on a dense
    grid, the interval ends (±1, ±8), ±0, subnormals and |z| up to 30: relative error
    below 5e-16 (about 2 ulp; 1e-300 absolute where |erf z| < 1e-300, i.e. subnormal
    z), and in float32 below 6e-8 (the final rounding).  NaN gives NaN, ±inf ±1, -0 -0.
    About 1.4x faster than ``scipy.special.erf`` here.

    Examples
    --------
    >>> import numpy as np
    >>> erf_array(np.array([-1.0, 0.0, 0.5, 30.0]))
    array([-0.84270079,  0.        ,  0.52049988,  1.        ])
    """
    return _erf_array(z, out, complement=False)


def erfc_array(z: Any, out: np.ndarray | None = None) -> np.ndarray:
    """The complementary error function 1 - erf(z) of a float array, from NumPy passes.

    Cephes' rational approximations: 1 - z·T(z²)/U(z²) for |z| < 1, exp(-z²)·P(|z|)/Q(|z|)
    for 1 <= |z| < 8 and exp(-z²)·R(|z|)/S(|z|) beyond, 2 - erfc(|z|) for z <= -1;
    computed in float64 chunks whatever the input dtype.  Relative error against mpmath at
    50 digits: below 3e-15 for |z| <= 4, 6e-15 for |z| <= 8 and 1e-13 up to z = 26.3,
    where erfc is 1e-300; it grows like z²·2^-53 because z² is rounded before
    exp(-z²), as in Cephes and ``scipy.special.erfc``.  Beyond, the value underflows
    through the subnormals to 0 (from z = 27.23), within 1e-300 absolute.  float32:
    below 6e-8 (the final rounding).  NaN gives NaN, +inf 0 and -inf 2.

    Examples
    --------
    >>> import numpy as np
    >>> erfc_array(np.array([-1.0, 0.0, 1.0, 10.0]))
    array([1.84270079e+00, 1.00000000e+00, 1.57299207e-01, 2.08848758e-45])
    """
    return _erf_array(z, out, complement=True)

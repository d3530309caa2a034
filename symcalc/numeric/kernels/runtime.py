"""What generated NumPy kernels call at run time: scratch buffers and a few fused passes.

Kernels run with NumPy's floating-point warnings off (`Kernel` checks what it returns),
so these helpers raise none of their own.

Generated source refers to these by name (`_select`, `_negabs`, `_exp_finite`); the
namespace it runs in is `NAMESPACE`.  Scratch comes from a per-thread pool of
`CHUNK`-sized buffers, reused across calls so that no call page-faults fresh memory.
"""

from __future__ import annotations

import collections
import math
import threading
from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = [
    "CHUNK",
    "again_where_infinite",
    "INT_OF",
    "chunk_pool",
    "exp_finite",
    "hypot",
    "negabs",
    "output_array",
    "recip_capped",
    "select",
    "zero_wins",
    "again_where_log_subnormal",
]

#: Elements per chunk: long arrays are processed this many at a time (scratch stays in cache).
CHUNK = 65536

#: Constant-filled chunk buffers a thread keeps (each CHUNK elements, read-only).
CONSTANT_BUFFERS = 32

#: The integer dtype of a float's bits (views for bitwise passes).
INT_OF = {np.dtype(np.float64): np.dtype(np.int64), np.dtype(np.float32): np.dtype(np.int32)}

FLOAT_MAX = {d: np.finfo(d).max for d in (np.dtype(np.float64), np.dtype(np.float32))}
_SIGN_BIT = {np.dtype(np.float64): np.int64(-(2**63)), np.dtype(np.float32): np.int32(-(2**31))}

_LOCAL = threading.local()


def exp_finite(u, out) -> bool:
    """out = exp(u), with the largest finite number where exp overflows; True if it did.

    One exp pass and one max-reduction (0.05 ns/element) to see whether anything
    overflowed; only then a clamping pass.  NaN stays NaN.
    """
    np.exp(u, out=out)
    if out.size and not out.max() < math.inf:
        np.minimum(out, FLOAT_MAX[out.dtype], out=out)
        return True
    return False


def recip_capped(d, out, capped: bool):
    """out = 1/d, and 0 where d is the largest float (1 + E where `exp_finite` capped E)."""
    np.divide(1.0, d, out=out)
    if capped:
        np.copyto(out, 0.0, where=d >= FLOAT_MAX[out.dtype])
    return out


def again_where_log_subnormal(out, inputs):
    """NaN where a log's operand was below the normal numbers (its log below log(tiny)),
    from finite inputs: the operand may have lost most of its digits (σ(u) at u = -744 is
    one subnormal step), so the kernel computes those elements again in extended range.

    A min-reduction tells whether any element needs it.  A -inf (the operand fell to 0)
    is left as it is: where it reaches the output, the output check computes it again.
    """
    bound = _LOG_TINY[out.dtype]
    if out.size and out.min() < bound:
        lost = (out < bound) & (out > -math.inf)
        if lost.any():
            np.copyto(out, np.nan, where=lost & _all_finite(inputs))
    return out


_LOG_TINY = {d: math.log(float(np.finfo(d).tiny)) for d in FLOAT_MAX}


def again_where_infinite(out, denominators, inputs):
    """NaN where a denominator overflowed from finite inputs, so the kernel computes those
    elements again in extended range (2u/(u² + 1) at u = 1e200 is 2e-200, not 0).

    A sum-reduction (finite unless something is infinite, or huge) tells whether any
    element needs it.
    """
    for d in denominators:
        if d.size and not np.isfinite(np.add.reduce(d, axis=None)):
            np.copyto(out, np.nan, where=np.isinf(d) & _all_finite(inputs))
    return out


def again_where_lifted(out, small, large, inputs, signed=True, shrink=1.0, site=None):
    """NaN where a factor fell below the normal numbers and the product did not, or where
    it fell to 0 beside a factor large enough to lift it back (above 4), from
    finite inputs: the kernel computes those elements again in extended range.
    x⁴·exp(-x) at x = 730: exp(-x) is subnormal, 1.8e-7 off, and the product is normal.

    A min-reduction of each small factor (of its magnitude if it may be negative:
    ``signed``) tells whether any element needs it; the other conditions are then read
    at the elements below only (float32 gelu′ on N(0, 4) data has such elements in
    every chunk, 0.3 % of them: whole-chunk masks cost more than the kernel's passes).
    ``shrink`` is the product's coefficient where it is below 1 and multiplies first: a
    factor below tiny/shrink falls below the normal numbers there.  ``site`` names the
    product (its graph id).
    """
    if not out.size:
        return out
    info = np.finfo(out.dtype)
    tiny = info.tiny
    low = tiny / shrink
    # a factor's 0 may stand for up to 1/largest float (σ(-u) where exp(u) overflowed:
    # `recip_capped`), which a factor above tiny·largest = 4 lifts into the normal numbers
    lifts_zero = float(tiny) * float(info.max)
    shaped = out if out.ndim else out.reshape(1)  # a view: np.nonzero takes no 0-d array
    for f in small:
        magnitude = np.abs(f) if signed else f
        if not np.minimum.reduce(magnitude, axis=None) < low:
            continue
        under = np.nonzero(_at(magnitude < low, shaped.shape))
        lifted = np.abs(shaped[under]) >= tiny
        for g in large:
            lifted |= np.abs(_at(g, shaped.shape, under)) > lifts_zero
        for a in inputs:
            lifted &= np.isfinite(_at(a, shaped.shape, under))
        if lifted.any():
            shaped[tuple(i[lifted] for i in under)] = np.nan
            _LIFTED.value = True
    return out


def _at(a, shape: tuple[int, ...], where: tuple[np.ndarray, ...] = ()) -> np.ndarray:
    """``a`` broadcast to ``shape``, at the elements ``where`` (`np.nonzero`'s indices;
    none: all of them)."""
    a = a if np.shape(a) == shape else np.broadcast_to(a, shape)
    return a[where] if where else a


def divide_lifted(top, den, out, inputs):
    """top/den into ``out`` (which may be ``den``), NaN where den overflowed and a top
    above 4 could make the quotient a normal number (x/(1 + exp(-x)) at x = -710 is
    -3.2e-306, not -0.0), from finite inputs: those elements are computed again in
    extended range.  A max-reduction of ``den`` (at least 1) tells whether any needs it."""
    again = None
    if den.size and np.isinf(np.maximum.reduce(den, axis=None)):
        info = np.finfo(den.dtype)
        again = np.isinf(den) & (np.abs(top) > float(info.tiny) * float(info.max))
        again &= _all_finite(inputs)
    np.divide(top, den, out=out)
    if again is not None and again.any():
        np.copyto(out, np.nan, where=again)
        _LIFTED.value = True
    return out


def take_lifted() -> bool:
    """Whether `again_where_lifted` left NaN for the second pass since the last call (in
    this thread): the kernel's output is then checked even where its range says that no
    element can be inf or NaN."""
    hit = getattr(_LIFTED, "value", False)
    _LIFTED.value = False
    return hit


_LIFTED = threading.local()


def zero_wins(out, factors, inputs):
    """Where an input is infinite and a product came out NaN (inf·0), the product is its
    decaying factor's 0: the limit (x·exp(-x²) at x = inf).  From finite inputs the NaN
    stays for the second pass in extended range, where the decay need not win.

    A max-reduction (NaN propagates) tells whether any element needs it.
    """
    if out.size and np.isnan(out.max()):
        infinite = ~_all_finite(inputs)
        for factor in factors:
            np.copyto(out, 0.0, where=(factor == 0) & infinite)
    return out


def _all_finite(inputs):
    finite = np.isfinite(inputs[0])
    for a in inputs[1:]:
        finite = finite & np.isfinite(a)
    return finite


def chunk_pool(
    dtype: np.dtype, counts: tuple[int, int, int], constants: Sequence[str] = (), owner: str = ""
) -> list[np.ndarray]:
    """This thread's reusable `CHUNK`-sized scratch: float, bool, int buffers, then constants.

    Kernels never call each other, so one pool per thread is enough; reusing it spares
    every call the page faults of fresh buffers.  Constant buffers are filled once and
    read-only.  Helpers a kernel calls (`erf_array`) take theirs under their own ``owner``.
    The pool is bounded: scratch by the biggest kernel the thread has run, constant
    buffers by `CONSTANT_BUFFERS` (the least recently used go first).
    """
    pool = getattr(_LOCAL, "pool", None)
    if pool is None or pool["size"] != CHUNK:
        pool = _LOCAL.pool = {"size": CHUNK}
    out: list[np.ndarray] = []
    for kind, n in zip((dtype, np.dtype(bool), INT_OF[dtype]), counts, strict=True):
        have = pool.setdefault((owner, kind), [])
        while len(have) < n:
            have.append(np.empty(CHUNK, kind))
        out += have[:n]
    filled = pool.setdefault("constants", collections.OrderedDict())
    for value in constants:
        key = (dtype, value)
        if key in filled:
            filled.move_to_end(key)
        else:
            buffer = np.full(CHUNK, float(value), dtype)
            buffer.flags.writeable = False
            filled[key] = buffer
        out.append(filled[key])
    while len(filled) > CONSTANT_BUFFERS:
        filled.popitem(last=False)
    return out


#: Below this, a² + b² may have lost bits to underflow: `hypot` recomputes with np.hypot.
_HYPOT_SMALL = {d: float(np.sqrt(np.finfo(d).tiny)) * 2.0**30 for d in FLOAT_MAX}


def hypot(a, b, out, scratch=None):
    """out = √(a² + b²): four passes, and ``np.hypot`` (exact scaling, 50x slower) only for a
    chunk where the squares overflow or may underflow (a max- and a min-reduction tell).

    ``scratch`` holds b² when b is an array; ``out`` may not be ``a`` or ``b``.
    """
    if scratch is None:
        np.multiply(a, a, out=out)
        np.add(out, b * b, out=out)
    else:
        np.multiply(b, b, out=scratch)
        np.multiply(a, a, out=out)
        np.add(out, scratch, out=out)
    np.sqrt(out, out=out)
    if out.size and not (out.max() < math.inf and out.min() >= _HYPOT_SMALL[out.dtype]):
        np.hypot(a, b, out=out)
    return out


def mish_slope(u, out):
    """out = mish′(u) = (a·d + 4·(u·f))/d² from e = exp(-|u|) (the formula of array code's
    ``_mish_slope``; the NumPy kernels lower mish′ otherwise: this is its reference)."""
    e = np.exp(-np.abs(u))
    ee = e * e
    negative = u < 0
    a = np.where(negative, e * (e + 2), 1 + 2 * e)
    d = a + np.where(negative, 2, 2 * ee)
    f = (1 + e) * np.where(negative, e, ee)
    np.divide(a * d + 4 * (u * f), d * d, out=out)
    return out


def negabs(a, out):
    """out = -|a|: the sign bit set through integer views, one pass (abs + negative are two)."""
    ints = INT_OF[out.dtype]
    np.bitwise_or(a.view(ints), _SIGN_BIT[out.dtype], out=out.view(ints))
    return out


def select(mask, a, b, out, ints):
    """out = a where mask else b, branch-free: a bit blend through integer views."""
    kind = INT_OF[out.dtype]
    if out.ndim == 0:
        out[...] = np.where(mask, a, b)
        return out
    a = np.asarray(a, dtype=out.dtype)
    b = np.asarray(b, dtype=out.dtype)
    m = ints.view(kind)
    # all bits set where mask: -mask through int8 (4x faster in float32 than mask·-1,
    # whose bool-by-int64 loop casts every element)
    np.negative(np.asarray(mask).view(np.int8), out=m)
    ai, bi, oi = a.view(kind), b.view(kind), out.view(kind)
    if oi is bi or np.shares_memory(out, b):
        tmp = np.bitwise_xor(ai, bi)
        np.bitwise_and(tmp, m, out=tmp)
        np.bitwise_xor(tmp, bi, out=oi)
        return out
    np.bitwise_xor(ai, bi, out=oi)
    np.bitwise_and(oi, m, out=oi)
    np.bitwise_xor(oi, bi, out=oi)
    return out


def output_array(result: Any, inputs: Sequence[np.ndarray] = ()) -> np.ndarray:
    """A JAX kernel's output as a NumPy array: XLA's buffer itself, read-only, no copy.

    ``np.asarray`` of a JAX array on the CPU is a read-only view of XLA's output buffer,
    and it stays read-only: JAX treats its buffers as immutable, so symcalc never writes
    into one (``out.copy()`` gives a writable array).  A copy is made only where the
    memory may be shared with the caller's data: when the view overlaps an input (an
    output that *is* an input, forwarded by JAX), or is not one contiguous block.

    Examples
    --------
    >>> out = output_array(np.arange(3.0), [])
    >>> out.tolist()
    [0.0, 1.0, 2.0]
    """
    view = np.asarray(result)
    if (
        view.size == 0
        or not view.flags.c_contiguous
        or any(np.may_share_memory(view, a) for a in inputs)
    ):
        return view.copy()
    return view

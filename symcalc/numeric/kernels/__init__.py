"""Fast, numerically stable NumPy kernels from symbolic results.

``kernel(f, *, wrt=None, order=0, dtype=None)`` returns a `Kernel`: a function of NumPy
arrays (any shape, several arrays broadcast together) or Python scalars that evaluates
``f`` or one of its derivatives.  Building one takes four steps, each visible on the
result:

1. ``expr``: the derivative from `symcalc.symbolic.derivatives.derivative` (kink convention
   applied) with the entry's parameters bound.
2. ``lowered``: ``expr`` after the stability rewrites of `symcalc.numeric.rewrites`
   (identities such as ``exp(x)/(exp(x)+1)**2 -> σ(x)σ(-x)``; ``rewrites`` names
   the rules that fired), and where a label's weight vanishes (the y and 1 - y of a
   cross-entropy), the form with that label's value substituted
   (`symcalc.numeric.weights`).  ``branches`` lists the polynomial branches that
   replace parts of it near points where it cancels, in powers of 1/x where it cancels
   or under- or overflows on the way at large |x|, in powers of exp(-|x|) where it
   cancels while exponentials are representable, the tail forms where no series fits
   there (saturating functions split into limit and tail, a quotient divided through
   by its largest exponential), and the far branches of rational functions
   (`symcalc.numeric.cancellation`).
3. ``source``: Python source generated from ``lowered`` and its branches.  It calls NumPy
   ufuncs with ``out=`` into a few scratch buffers (one per live intermediate,
   reused as soon as a value is dead) and processes long arrays in chunks of
   `CHUNK` elements, so intermediates stay in cache and memory stays at the output
   plus a few chunk-sized buffers.  Common subexpressions are computed once.
4. caching: asking twice for the same kernel returns the same object (the 512 most
   recently used are kept; threads asking at once for a new one build it once).

Lowering counts passes over memory (an exp or log1p pass costs 0.55 ns/element here,
an add 0.1, a divide 0.25): σ(u) is ``1/(1 + exp(-u))`` with that one ``exp`` allowed
to overflow (``1/(1 + inf)`` is exactly the underflowed value 0); σ(u)σ(-u) is
``1/(2 + 2cosh u)`` (NumPy's SIMD cosh, within an ulp; inf beyond |u| = 710 gives 0)
and sech(u) ``1/cosh(u)``; where σ(u) and σ(-u) both appear they share one ``exp(u)``,
kept finite (σ(-u) = 1/(1 + e), σ(u) = e·σ(-u)); softplus(u) is
``max(u, log1p(exp(u)))`` with that exp kept finite (log1p(e^u) equals u in floating
point from u = 37 on) and log σ(v) = ``min(v, 0) - log1p(exp(-|v|))``, where ``-|v|``
is one bitwise pass; ``log1p`` is NumPy's (SIMD, within an ulp); ``erf``/``erfc`` are
`erf_array`/`erfc_array`, Cephes' rational approximations as whole-array passes
(1.4x faster than ``scipy.special``, same accuracy); logsumexp is a pairwise
``max + log1p(exp(-|a - b|))``; ``Min(hi, Max(lo, u))`` is one ``np.clip``; a max or
min against a constant reads a filled chunk buffer (4x faster than a scalar operand).
A ``Piecewise`` evaluates each branch on all elements (a masked-out ``exp(1000)`` is
discarded; this is cheaper than clamping the input, an extra pass, or masked ufuncs,
which lose SIMD), then a branch-free bit blend picks the results.  A ``Piecewise`` of
constants is one comparison: relu' is ``np.greater(x, 0, out=out)``.  Scratch buffers
come from a per-thread pool reused across calls; the last operand of the root sum or
product is computed straight into the output.

Stability promise (``stable=True``, the default), tested against mpmath for every
catalog entry and its first and second derivatives and for a corpus of 36 expressions
written as people write them (orders 0 and 1), in float64 and float32, at points over
the whole finite range (log-spaced magnitudes from the smallest subnormal to the
largest float, the places where exp, x² and x³ overflow, a grid near 0, and both ends
of a bounded domain): for finite inputs in the closure of the domain where the true
value ``f`` is finite and representable,

* float64: ``|k - f| <= 1e-12·|f|``, or ``|k - f| <= 1e-300`` where ``|f| < 1e-300``;
* float32: ``|k - f| <= 1e-5·|f|``, or ``|k - f| <= 1e-36`` where ``|f| < 1e-36``
  (every input is first rounded to float32; the truth is taken at that float32 input);
* no floating-point warning.  Kernels compute with NumPy's warnings off (an overflow
  on the way, such as x² in exp(-x²), is the kernel's business) and raise NumPy's
  overflow or invalid condition, under the caller's ``np.errstate``, only where finite
  inputs give an inf or NaN result: where the true value overflows or does not exist.
* a weight that is exactly 0 switches its term off, the x·log(x) → 0 convention of
  ``scipy.special.xlogy``: bce(p = 1, y = 1) = 0 and its derivative -1, also for a
  float32 prediction σ(z) that rounded to 1.

How, besides the identities: where a factor that decays to exactly 0 (σ(-u),
exp(-x²), sech) meets a factor that overflowed, the product is 0, not inf·0 = NaN;
a small coefficient multiplies a bounded factor first (x·clip(x + 3, 0, 6)/6 at the
largest float); σ(-u) from a capped exp(u) is 0, not 1/(largest float); and elements
where finite inputs still gave inf or NaN are computed again in ``np.longdouble``
(x86-64: exponents to 1e4932), which reaches the results that only an intermediate
overflowed on the way to (x²/(√(x² + 1) + 1) at x = 1e200).  Where ``np.longdouble`` is
``float64`` (Windows, macOS on ARM) that last step changes nothing: those few results
come out inf or NaN, with NumPy's warning.  Beyond long double's range, mpmath computes
the elements still NaN, and the inf results of a log-like function of a growing one
(`symcalc.numeric.kernels.extended`).

Documented exception, where relative error cannot be promised by any floating-point
evaluation because ``f`` itself is ill-conditioned: near a zero crossing of ``f`` that
is not at a representable input (σ'' at 0 is exact; gelu'' at ±√2, silu'' at
±2.3994, mish' at -1.1924 are not), and where ``f`` magnifies a relative change of its
input many times over (a user's ``sin(cosh(x))`` at x = 20: a change of 1e-12·x moves
cosh(x) by 5e-3), the kernel's value is within ``1e-12`` relative of a value ``f``
takes at some input within ``1e-12`` relative of the given one (mixed
forward-backward error; ``1e-5`` for both in float32).  The tests check this
statement exactly at every point that fails the plain relative bound.

Refusal: where no form of a sum holds far out (its terms cancel, and neither a series
in 1/x or exp(-|x|) nor an identity removes it), the kernel is NaN on that side beyond
the last check point where the sum met the promise against mpmath, never a wrong
number (3x·exp((1 - x)²)·erfc(1 - x)'' for x < -2).

``stable=False`` gives the plain ``sympy.lambdify`` of ``expr`` (SciPy special
functions, result cast to the dtype), so the difference can be seen.
``backend="numba"`` compiles the same ``lowered`` expression into one fused
loop per element (``pip install symcalc[fast]``).


The compiler is data, one module per concern:

``lowering``  stable primitives (σ, softplus, sech, logsumexp) into shareable pieces;
``graph``     the expression as an interned graph, built through ``BUILDERS``, a dict
              from SymPy classes to node builders;
``nodes``     one small class per node kind: its operands, its hazards and its code for
              each backend (``numpy``, ``scalar`` for numba, ``array`` for JAX) and
              its range;
``emit``      buffer allocation for NumPy, one assignment per node for the others;
``printers``  scalar syntax: a subclass of SymPy's ``PythonCodePrinter``;
``backends``  compiling the emitted source; ``runtime`` what it calls at run time;
``ranges``    the interval each node's value lies in (which products may overflow);
``erf``       `erf_array` and `erfc_array`; ``api`` `kernel`, `Kernel` and the cache.

A new kernel primitive is one class in ``nodes`` and one entry in ``graph.BUILDERS``.

Examples
--------
>>> import numpy as np
>>> k = kernel("sigmoid", order=1)
>>> k(np.array([-1000.0, 0.0, 1000.0]))
array([0.  , 0.25, 0.  ])
>>> kernel("sigmoid", order=1, stable=False)(np.array([1000.0]))
array([nan])
>>> kernel("bce_with_logits", order=1)(np.float32(2.0), 1.0).dtype
dtype('float32')
"""

from __future__ import annotations

from .api import BACKENDS, CHUNK, Kernel, StableForm, form_kernel, kernel, stable_form
from .erf import erf_array, erfc_array

__all__ = [
    "BACKENDS",
    "CHUNK",
    "Kernel",
    "StableForm",
    "erf_array",
    "erfc_array",
    "form_kernel",
    "kernel",
    "stable_form",
]

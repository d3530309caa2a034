"""Speed of symcalc's kernels against textbook NumPy, plain lambdify and one np.exp pass.

Run from the project root:

    python benchmarks/run.py            # 10^6 and 10^7 float64 elements
    python benchmarks/run.py --quick    # 10^6 only, fewer repeats

For every catalog activation, the value (order 0) and first-derivative (order 1)
kernels are timed on the same array against

(a) hand-written NumPy as a textbook writes it (``1/(1+np.exp(-x))``, ``s*(1-s)``,
    ``(x > 0)*1.0``, ...),
(b) plain ``sympy.lambdify`` of the expression / of ``sympy.diff``,
(c) one ``np.exp(x, out=y)`` pass: the floor for a function with one exponential,

and, when numba is installed, the ``backend="numba"`` kernel.  Every time is the best
of several runs, printed as ns/element, with the ratios measured in the same run.
``peak/N`` is the peak memory a call allocates, in units of the array's size
(tracemalloc), including the output array.

The textbook and lambdify formulas allocate a temporary per operation.  Under glibc's
default malloc, a freed block of this size usually goes back to the operating system,
and the next allocation page-faults it in again: that is often most of their time at
10^6.  To time them with their memory reused instead, run with

    GLIBC_TUNABLES=glibc.malloc.mmap_threshold=33554432:glibc.malloc.trim_threshold=4294967295

(the header line "malloc:" says which applies; at 10^7 every 80 MB array is mapped
fresh either way, symcalc's output included).

Two derivative rows have no room to beat textbook NumPy or lambdify: identity' is a
constant fill and sinusoid' one ``np.cos`` call, whoever writes it.  Their targets are
reported as not applicable ("n/a"), with the measurement, rather than as met or missed.
A last table times symcalc's ``erf_array``/``erfc_array`` against ``scipy.special``.
"""

from __future__ import annotations

import argparse
import importlib.util
import math
import os
import platform
import sys
import time
import tracemalloc
from collections.abc import Callable

import numpy as np
import scipy
import scipy.special as sp
import sympy

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir))

from symcalc.numeric.kernels import erf_array, erfc_array, kernel  # noqa: E402
from symcalc.symbolic.catalog import catalog  # noqa: E402

SQRT2, SQRT2PI = math.sqrt(2.0), math.sqrt(2.0 * math.pi)
SELU_SCALE, SELU_ALPHA = 1.0507009873554805, 1.6732632423543772
C_TANH = math.sqrt(2.0 / math.pi)


def _sig(x):
    return 1 / (1 + np.exp(-x))


def _gelu_tanh_d(x):
    t = np.tanh(C_TANH * (x + 0.044715 * x**3))
    return 0.5 * (1 + t) + 0.5 * x * (1 - t**2) * C_TANH * (1 + 3 * 0.044715 * x**2)


def _mish_d(x):
    t = np.tanh(np.log1p(np.exp(x)))
    return t + x * (1 - t**2) * _sig(x)


#: name -> (value, first derivative), written the way a textbook or tutorial writes them.
TEXTBOOK: dict[str, tuple[Callable, Callable]] = {
    "identity": (lambda x: x.copy(), lambda x: np.ones_like(x)),
    "sigmoid": (_sig, lambda x: _sig(x) * (1 - _sig(x))),
    "tanh": (np.tanh, lambda x: 1 - np.tanh(x) ** 2),
    "relu": (lambda x: np.maximum(x, 0), lambda x: (x > 0) * 1.0),
    "leaky_relu": (lambda x: np.where(x > 0, x, 0.01 * x), lambda x: np.where(x > 0, 1.0, 0.01)),
    "relu6": (lambda x: np.minimum(np.maximum(x, 0), 6), lambda x: ((x > 0) & (x < 6)) * 1.0),
    "elu": (lambda x: np.where(x > 0, x, np.exp(x) - 1), lambda x: np.where(x > 0, 1.0, np.exp(x))),
    "selu": (
        lambda x: SELU_SCALE * np.where(x > 0, x, SELU_ALPHA * (np.exp(x) - 1)),
        lambda x: SELU_SCALE * np.where(x > 0, 1.0, SELU_ALPHA * np.exp(x)),
    ),
    "celu": (
        lambda x: np.where(x > 0, x, np.exp(x) - 1),
        lambda x: np.where(x > 0, 1.0, np.exp(x)),
    ),
    "softplus": (lambda x: np.log(1 + np.exp(x)), _sig),
    "softsign": (lambda x: x / (1 + np.abs(x)), lambda x: 1 / (1 + np.abs(x)) ** 2),
    "silu": (lambda x: x * _sig(x), lambda x: _sig(x) * (1 + x * (1 - _sig(x)))),
    "gelu": (
        lambda x: 0.5 * x * (1 + sp.erf(x / SQRT2)),
        lambda x: 0.5 * (1 + sp.erf(x / SQRT2)) + x * np.exp(-(x**2) / 2) / SQRT2PI,
    ),
    "gelu_tanh": (lambda x: 0.5 * x * (1 + np.tanh(C_TANH * (x + 0.044715 * x**3))), _gelu_tanh_d),
    "mish": (lambda x: x * np.tanh(np.log1p(np.exp(x))), _mish_d),
    "hard_sigmoid": (lambda x: np.clip(x / 6 + 0.5, 0, 1), lambda x: ((x > -3) & (x < 3)) / 6),
    "hard_tanh": (lambda x: np.clip(x, -1, 1), lambda x: ((x > -1) & (x < 1)) * 1.0),
    "hard_swish": (
        lambda x: x * np.clip(x + 3, 0, 6) / 6,
        lambda x: np.where(x < -3, 0.0, np.where(x < 3, x / 3 + 0.5, 1.0)),
    ),
    "log_sigmoid": (lambda x: -np.log(1 + np.exp(-x)), lambda x: 1 / (1 + np.exp(x))),
    "gaussian": (lambda x: np.exp(-(x**2)), lambda x: -2 * x * np.exp(-(x**2))),
    "sinusoid": (np.sin, np.cos),
    "tanhshrink": (lambda x: x - np.tanh(x), lambda x: np.tanh(x) ** 2),
    "hardshrink": (
        lambda x: np.where(np.abs(x) > 0.5, x, 0.0),
        lambda x: (np.abs(x) > 0.5) * 1.0,
    ),
    "softshrink": (
        lambda x: np.where(x > 0.5, x - 0.5, np.where(x < -0.5, x + 0.5, 0.0)),
        lambda x: (np.abs(x) > 0.5) * 1.0,
    ),
    "squareplus": (
        lambda x: (x + np.sqrt(x * x + 4)) / 2,
        lambda x: (1 + x / np.sqrt(x * x + 4)) / 2,
    ),
    "sparse_plus": (
        lambda x: np.where(x <= -1, 0.0, np.where(x < 1, (x + 1) ** 2 / 4, x)),
        lambda x: np.clip((x + 1) / 2, 0, 1),
    ),
}

#: Activations with one exponential (target: within 3x of one np.exp pass).
ONE_EXPONENTIAL = {"sigmoid", "tanh", "softplus", "silu"}
#: Piecewise-linear activations (target: within 2x of one np.exp pass).
PIECEWISE_LINEAR = {"relu", "leaky_relu"}
#: Derivative rows whose floor is the very operation textbook NumPy and lambdify run.
SAME_FLOOR = {
    "identity": "a constant fill either way",
    "sinusoid": "one np.cos either way",
}

_MODULES = [{"erf": sp.erf, "erfc": sp.erfc}, "numpy"]


def best_time(func: Callable[[], object], repeats: int) -> float:
    """Seconds of the fastest of ``repeats`` runs (after one warm-up run)."""
    func()
    best = math.inf
    for _ in range(repeats):
        start = time.perf_counter()
        func()
        best = min(best, time.perf_counter() - start)
    return best


def peak_memory(func: Callable[[], object]) -> int:
    """Peak bytes allocated by one call (tracemalloc sees NumPy's buffers)."""
    func()
    tracemalloc.start()
    tracemalloc.reset_peak()
    func()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak


def plain_lambdify(entry, order: int) -> Callable:
    x = entry.variable
    expr = entry.bind()
    if order:
        expr = sympy.diff(expr, x)
    f = sympy.lambdify([x], expr, modules=_MODULES)
    return lambda a: f(a)


def machine() -> str:
    cpu = platform.processor() or "unknown CPU"
    try:
        with open("/proc/cpuinfo") as handle:
            for line in handle:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    numba = "absent"
    if importlib.util.find_spec("numba") is not None:
        import numba as nb

        numba = nb.__version__
    tunables = os.environ.get("GLIBC_TUNABLES")
    allocator = (
        f"GLIBC_TUNABLES={tunables}"
        if tunables
        else "glibc defaults (large freed temporaries go back to the OS)"
    )
    return (
        f"{cpu}, {os.cpu_count()} cores; Python {platform.python_version()}, "
        f"NumPy {np.__version__}, "
        f"SciPy {scipy.__version__}, SymPy {sympy.__version__}, numba {numba}\n"
        f"malloc: {allocator}"
    )


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10^6 elements only, fewer repeats")
    parser.add_argument(
        "--only", metavar="NAME", action="append", help="benchmark only these activations"
    )
    args = parser.parse_args(argv)
    sizes = [10**6] if args.quick else [10**6, 10**7]
    has_numba = importlib.util.find_spec("numba") is not None
    entries = [e for e in catalog("activation") if not args.only or e.name in args.only]
    print(f"machine: {machine()}")
    print("times: best of several runs, ns per element; ratios measured in the same run")
    print(
        "columns: ours | textbook NumPy | plain lambdify | numba | ours/textbook | lambdify/ours"
        " | ours/exp"
        " | peak/N ours, textbook"
    )
    summary = []
    for n in sizes:
        repeats = 3 if (n >= 10**7 or args.quick) else 7
        rng = np.random.default_rng(0)
        x = rng.normal(0.0, 3.0, n)
        y = np.empty_like(x)
        exp_pass = best_time(lambda: np.exp(x, out=y), repeats) / n * 1e9  # noqa: B023 - called at once
        print(f"\nN = {n:.0e}: one np.exp(x, out=y) pass = {exp_pass:.3f} ns/element")
        print(
            f"{'function':<22}{'ours':>7}{'textbk':>8}{'lambdfy':>8}{'numba':>7}"
            f"{'o/t':>7}{'l/o':>7}{'o/exp':>7}{'peak/N':>12}  targets"
        )
        for entry in entries:
            for order in (0, 1):
                ours = kernel(entry, order=order)
                textbook = TEXTBOOK[entry.name][order]
                plain = plain_lambdify(entry, order)
                with np.errstate(all="ignore"):
                    t_ours = best_time(lambda: ours(x), repeats) / n * 1e9  # noqa: B023 - called at once
                    t_text = best_time(lambda: textbook(x), repeats) / n * 1e9  # noqa: B023 - called at once
                    t_plain = best_time(lambda: plain(x), repeats) / n * 1e9  # noqa: B023 - called at once
                    t_numba = math.nan
                    if has_numba:
                        fused = kernel(entry, order=order, backend="numba")
                        t_numba = best_time(lambda: fused(x), repeats) / n * 1e9  # noqa: B023 - called at once
                    if n == sizes[0]:
                        mem_ours = peak_memory(lambda: ours(x)) / x.nbytes  # noqa: B023 - called at once
                        mem_text = peak_memory(lambda: textbook(x)) / x.nbytes  # noqa: B023 - called at once
                        memory = f"{mem_ours:5.2f},{mem_text:5.2f}"
                    else:
                        memory = ""
                label = entry.name + ("'" if order else "")
                ratio_text, speedup_plain, ratio_exp = (
                    t_ours / t_text,
                    t_plain / t_ours,
                    t_ours / exp_pass,
                )
                notes = []
                if order == 1 and entry.name in SAME_FLOOR:
                    notes.append(f"n/a ({SAME_FLOOR[entry.name]})")
                elif order == 1:
                    notes.append("ok" if ratio_text <= 1.0 else "SLOWER than textbook")
                    notes.append("ok" if speedup_plain >= 1.5 else "<1.5x vs lambdify")
                if entry.name in ONE_EXPONENTIAL:
                    notes.append("ok" if ratio_exp <= 3.0 else ">3x exp")
                if entry.name in PIECEWISE_LINEAR:
                    notes.append("ok" if ratio_exp <= 2.0 else ">2x exp")
                print(
                    f"{label:<22}{t_ours:7.2f}{t_text:8.2f}{t_plain:8.2f}{t_numba:7.2f}"
                    f"{ratio_text:7.2f}{speedup_plain:7.2f}{ratio_exp:7.2f}{memory:>12}"
                    f"  {' '.join(notes)}"
                )
                summary.append((n, entry.name, order, ratio_text, speedup_plain, ratio_exp, notes))
    missed = [
        (n, name, order, notes)
        for n, name, order, _, _, _, notes in summary
        if any(note != "ok" and not note.startswith("n/a") for note in notes)
    ]
    exempt = sum(any(note.startswith("n/a") for note in row[-1]) for row in summary)
    print(
        f"\ntargets met in {len(summary) - len(missed) - exempt} of {len(summary) - exempt} rows"
        f" ({exempt} rows where the target does not apply: the same single operation)"
    )
    for n, name, order, notes in missed:
        print(
            f"  missed at N = {n:.0e}: {name}{chr(39) if order else ''}: "
            f"{', '.join(n_ for n_ in notes if n_ != 'ok')}"
        )
    if not args.only:
        special_functions(sizes, args.quick)
    return 0


def special_functions(sizes: list[int], quick: bool) -> None:
    """erf_array/erfc_array (NumPy passes) against scipy.special.erf/erfc (scalar loops)."""
    print("\nerf/erfc of normal(0, 2) data, ns per element: symcalc's NumPy passes | scipy.special")
    for n in sizes:
        repeats = 3 if (n >= 10**7 or quick) else 7
        z = np.random.default_rng(1).normal(0.0, 2.0, n)
        y = np.empty_like(z)
        for name, ours, theirs in (("erf", erf_array, sp.erf), ("erfc", erfc_array, sp.erfc)):
            t_ours = best_time(lambda: ours(z, y), repeats) / n * 1e9  # noqa: B023 - called at once
            t_theirs = best_time(lambda: theirs(z, out=y), repeats) / n * 1e9  # noqa: B023
            print(
                f"N = {n:.0e} {name:<5}{t_ours:7.2f}{t_theirs:8.2f}"
                f"   scipy/ours = {t_theirs / t_ours:.2f}"
            )


if __name__ == "__main__":
    sys.exit(main())

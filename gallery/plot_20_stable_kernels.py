"""
Stable kernels where the formula as written fails
=================================================

Evaluated as written, many activation and loss formulas break in float64 long
before their inputs look extreme: exp(x) overflows to inf beyond x ≈ 709, 1 + e⁻ˣ
rounds to 1 and its logarithm to 0, and 0·log(0) is NaN. `symcalc.kernel` rewrites
an expression into a stable form before generating NumPy code (log(1 + eˣ) becomes
softplus, e^x/(e^x + 1)² becomes σ(x)σ(−x), ...), while ``stable=False`` gives the
plain lambdify of the formula. Both are compared here with the exact value computed
by mpmath with 600 digits (enough to resolve 1 + e⁻¹⁰⁰⁰), for x from −1000 to 1000,
as the relative error of each float64 result.
"""

# %%
# Four formulas, plain and stable
# -------------------------------
# The relative error is |kernel − exact| / |exact|, with the exact value rounded to
# float64 first; below the smallest normal number (2.2e-308, where float64 keeps
# fewer digits) the error is measured against that number instead, so 0 for e⁻¹⁰⁰⁰
# counts as exact. An error of 1 means every digit is lost; NaN and ±inf are drawn
# in the band at the top.
from pathlib import Path

import mpmath
import numpy as np
import sympy
from matplotlib import rc_context
from matplotlib.figure import Figure

import symcalc
from symcalc.present.files import save_figure
from symcalc.present.plotting import COLORS, STYLE

CASES = [  # (catalog name, derivative order, value of the second variable, title)
    ("sigmoid", 1, None, "σ′(x) = eˣ/(eˣ + 1)²"),
    ("softplus", 0, None, "softplus(x) = log(1 + eˣ)"),
    ("log_sigmoid", 0, None, "log σ(x) = −log(1 + e⁻ˣ)"),
    ("bce_with_logits", 0, 1.0, "binary cross-entropy with logits, label y = 1"),
]
# x from −1000 to 1000, evenly spaced on the symmetric log scale the figure uses
magnitudes = np.logspace(-1.0, 3.0, 1600)
x = np.concatenate([-magnitudes[::-1], np.linspace(-0.1, 0.1, 41)[1:-1], magnitudes])
BINS = 160  # the figure shows the largest error in each of BINS runs of neighbouring x
FLOOR, FAILED = 1e-18, 1e3  # where exact results and NaN/inf results are drawn
UNDERFLOW = 1e-300  # the promise is absolute below this: the true value underflows
DIGITS = 600  # 1 + e⁻¹⁰⁰⁰ needs 435 digits to differ from 1


def exact_values(kernel, second):
    """The kernel's expression at every x, by mpmath with DIGITS digits, rounded to float64."""
    expr = kernel.expr
    if second is not None:
        expr = expr.subs(kernel.variables[1], second)
    evaluate = sympy.lambdify(kernel.variables[0], expr, modules="mpmath")
    with mpmath.workdps(DIGITS):
        return np.array([float(evaluate(mpmath.mpf(float(v)))) for v in x])


def relative_errors(values, exact):
    """Relative error, as the kernels promise it: where the true value is below 1e-300
    (it underflows, or nearly), an absolute error up to 1e-300 counts as exact."""
    with np.errstate(invalid="ignore"):
        gap = np.abs(values - exact)
        error = gap / np.maximum(np.abs(exact), np.finfo(float).tiny)
    error[values == exact] = 0.0  # exact, including 0 = 0 where the true value underflows
    error[(np.abs(exact) < UNDERFLOW) & (gap <= UNDERFLOW)] = 0.0
    return error


def binned_maximum(values):
    """The largest value in each of BINS runs of neighbouring points, and their middles."""
    runs = np.array_split(np.arange(x.size), BINS)
    return (
        np.array([x[run].mean() for run in runs]),
        np.array([np.max(values[run]) for run in runs]),
    )


results = []
for name, order, second, title in CASES:
    plain = symcalc.kernel(name, order=order, stable=False)
    stable = symcalc.kernel(name, order=order)
    arguments = [x] if second is None else [x, second]
    with np.errstate(all="ignore"):
        plain_values, stable_values = plain(*arguments), stable(*arguments)
    exact = exact_values(stable, second)
    errors = relative_errors(plain_values, exact), relative_errors(stable_values, exact)
    broken = ~np.isfinite(plain_values)
    print(f"{name} (order {order}), evaluated as {sympy.sstr(stable.lowered)}:")
    print(
        f"  plain:  {broken.sum()} NaN/inf of {x.size}, "
        f"max relative error where finite {np.nanmax(errors[0][~broken]):.2g}"
    )
    print(f"  stable: 0 NaN/inf, max relative error {np.max(errors[1]):.2g}")
    assert np.all(np.isfinite(stable_values)) and np.max(errors[1]) < 1e-14
    results.append((title, errors, broken))

# %%
# The picture
# -----------
# Each curve is the largest relative error among neighbouring x (the x axis is
# logarithmic beyond ±1). The stable kernels stay within a unit in the last place
# everywhere (where the true value is below 1e-300, within 1e-300 absolute, as the
# kernels promise); the plain formulas lose every digit (error 1) where 1 + e⁻ˣ rounds
# to 1 or a square overflows, and return NaN or ±inf beyond about ±709.
with rc_context(STYLE):
    figure = Figure(figsize=(11.0, 7.0), layout="constrained")
    axes = figure.subplots(2, 2, sharex=True)
    for ax, (title, (plain_error, stable_error), broken) in zip(axes.flat, results, strict=True):
        finite = np.where(broken, 0.0, plain_error)
        middles, plain_worst = binned_maximum(np.maximum(finite, FLOOR))
        _, any_broken = binned_maximum(broken.astype(float))
        plain_worst[any_broken > 0] = np.nan  # those runs are drawn in the NaN/inf band
        _, stable_worst = binned_maximum(np.maximum(stable_error, FLOOR))
        ax.step(
            middles,
            plain_worst,
            where="mid",
            color=COLORS["derivative"],
            label="plain formula (stable=False)",
        )
        ax.plot(
            x[broken],
            np.full(broken.sum(), FAILED),
            linestyle="none",
            marker="|",
            markersize=9,
            color=COLORS["derivative"],
            label="plain formula: NaN or ±inf",
        )
        ax.step(
            middles,
            stable_worst,
            where="mid",
            color=COLORS["function"],
            label="symcalc.kernel (stable)",
        )
        ax.axhspan(1e2, 1e4, color="#f2f2f2", zorder=0)
        ax.axhline(
            np.finfo(float).eps,
            color=COLORS["reference"],
            linestyle=":",
            linewidth=1.2,
            label="machine ε = 2.2e-16",
        )
        ax.set_yscale("log")
        ax.set_xscale("symlog", linthresh=1.0)
        ax.set_ylim(FLOOR / 3, 1e4)
        ax.set_yticks([1e-18, 1e-12, 1e-6, 1e0, FAILED])
        ax.set_yticklabels(["≤ 1e-18", "1e-12", "1e-6", "1", "NaN/inf"])
        ax.minorticks_off()
        ax.set_xlim(x[0], x[-1])
        ax.set_xticks([-1000, -100, -10, -1, 0, 1, 10, 100, 1000])
        ax.set_xticklabels(["−1000", "−100", "−10", "−1", "0", "1", "10", "100", "1000"])
        ax.set_title(title)
        ax.set_ylabel("relative error")
    for ax in axes[1]:
        ax.set_xlabel("x")
    handles, labels = axes[0, 0].get_legend_handles_labels()
    figure.legend(handles, labels, loc="outside lower center", ncol=4)
    figure.suptitle(f"float64 relative error against mpmath with {DIGITS} digits")

save_figure(figure, Path(__file__).with_name("plot_20_stable_kernels.png"), force=True)

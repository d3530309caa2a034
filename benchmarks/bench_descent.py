"""Benchmark: one gradient step of logistic regression on 10^6 × 32 float64 data.

symcalc's gradient (derived symbolically, evaluated by the stable derivative kernel
of ``binary_cross_entropy_with_logits`` composed with the Jacobian by matrix
products, in cache-sized row blocks) against the hand-written NumPy line

    X.T @ (sigmoid(X @ w) - y) / m

measured in the same run on the same data.  Targets (issue 5): time ratio ≤ 1.1,
and peak memory per step no more than one extra n-vector and one p-vector beyond
X and y (measured with tracemalloc, which sees NumPy's allocations).

Run:  python benchmarks/bench_descent.py [--samples N] [--features P] [--repeat R]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import tracemalloc

import numpy as np
import scipy.special

from symcalc.learn.descent import optimize
from symcalc.learn.models import make_model

TARGET_RATIO = 1.1


def seconds(function, repeat: int) -> tuple[float, float]:
    """(median, best) wall time of ``function()`` over ``repeat`` runs after one warm-up."""
    function()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return statistics.median(times), min(times)


def peak_bytes(function) -> int:
    """Largest memory held at once during ``function()`` beyond what was held before it."""
    function()  # warm-up: caches, BLAS buffers
    tracemalloc.start()
    tracemalloc.reset_peak()
    before, _ = tracemalloc.get_traced_memory()
    function()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak - before


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=1_000_000)
    parser.add_argument("--features", type=int, default=32)
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args(argv)
    n, p = args.samples, args.features

    rng = np.random.default_rng(0)
    X = rng.standard_normal((n, p))
    w_true = rng.standard_normal(p) / np.sqrt(p)
    y = (rng.random(n) < scipy.special.expit(X @ w_true)).astype(float)
    w = 0.1 * rng.standard_normal(p)

    objective = make_model("logistic").objective((X, y))
    theta = np.concatenate([[0.0], w])  # intercept first; 0 so both compute the same thing
    gradient = np.empty(p + 1)

    def hand_expit():
        return X.T @ (scipy.special.expit(X @ w) - y) / n

    def hand_exp():
        return X.T @ (1.0 / (1.0 + np.exp(-(X @ w))) - y) / n

    def ours():
        return objective.gradient(theta, out=gradient)

    def hand_step_with_loss():
        z = X @ w
        loss = np.mean(np.logaddexp(0.0, z) - y * z)
        return loss, X.T @ (scipy.special.expit(z) - y) / n

    def ours_with_loss():
        return objective.value_and_gradient(theta, out=gradient)

    reference = hand_expit()
    ours()
    error = float(np.max(np.abs(gradient[1:] - reference)) / np.max(np.abs(reference)))

    print(
        f"logistic regression gradient, X {n} × {p} float64 ({X.nbytes / 2**20:.0f} MiB), "
        f"median of {args.repeat} runs"
    )
    rows = []
    for label, function in [
        ("hand-written, scipy expit", hand_expit),
        ("hand-written, 1/(1+exp(-z))", hand_exp),
        ("symcalc objective.gradient", ours),
        ("hand-written, loss + gradient", hand_step_with_loss),
        ("symcalc value_and_gradient", ours_with_loss),
    ]:
        median, best = seconds(function, args.repeat)
        rows.append((label, median, best, peak_bytes(function)))
    baseline = min(rows[0][1], rows[1][1])
    n_vector, p_vector = 8 * n, 8 * (p + 1)
    print(
        f"{'':32s} {'median ms':>10s} {'best ms':>9s} {'ratio':>7s} "
        f"{'peak extra MiB':>15s} {'n-vectors':>10s}"
    )
    for i, (label, median, best, peak) in enumerate(rows):
        base = baseline if i < 3 else rows[3][1]
        print(
            f"{label:32s} {1e3 * median:10.1f} {1e3 * best:9.1f} {median / base:7.2f} "
            f"{peak / 2**20:15.2f} {peak / n_vector:10.2f}"
        )
    steps = 10

    def hand_loop():
        v = np.zeros(p)
        for _ in range(steps):
            z = X @ v
            np.mean(np.logaddexp(0.0, z) - y * z)
            v -= 0.5 * (X.T @ (1.0 / (1.0 + np.exp(-z)) - y) / n)

    def ours_loop():
        optimize(objective, optimizer="gd", learning_rate=0.5, max_iter=steps, tol=0.0)

    loop_hand, _ = seconds(hand_loop, max(3, args.repeat // 5))
    loop_ours, _ = seconds(ours_loop, max(3, args.repeat // 5))
    print(f"{'hand-written gd loop, per step':32s} {1e3 * loop_hand / steps:10.1f}")
    print(
        f"{'symcalc optimize(gd), per step':32s} {1e3 * loop_ours / steps:10.1f} {'':9s} "
        f"{loop_ours / loop_hand:7.2f}"
    )
    ratio = rows[2][1] / baseline
    ratio_loss = rows[4][1] / rows[3][1]
    peak = rows[2][3]
    budget = n_vector + p_vector
    print(f"\ngradient agrees with the hand-written one to {error:.1e} (relative, max norm)")
    print(f"time ratio symcalc / best hand-written gradient: {ratio:.2f} (target ≤ {TARGET_RATIO})")
    print(f"time ratio with the loss computed too:            {ratio_loss:.2f}")
    print(
        f"time ratio of whole gd iterations (loss, gradient, update, history): "
        f"{loop_ours / loop_hand:.2f}"
    )
    print(
        f"peak extra memory per gradient step: {peak / 2**20:.2f} MiB = "
        f"{peak / n_vector:.3f} n-vectors "
        f"(budget: one n-vector + one p-vector = {budget / 2**20:.2f} MiB)"
    )
    ok = ratio <= TARGET_RATIO and peak <= budget and error < 1e-12
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

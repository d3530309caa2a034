"""Exported derivatives against the frameworks' own: JAX, PyTorch and ``backend="jax"``.

One run, from the project root (needs ``pip install -e ".[jax,torch]"``)::

    python benchmarks/bench_frameworks.py            # N = 10^6 and 10^7, float32 and float64
    python benchmarks/bench_frameworks.py --quick    # N = 10^6 only
    python benchmarks/bench_frameworks.py --only sigmoid --only gelu
    python benchmarks/bench_frameworks.py --quick --torch-threads 1 --compile-times
    python benchmarks/bench_frameworks.py --torch-only --torch-threads 1 --cpu-time

For sigmoid′, tanh′, silu′, gelu′ (erf), softplus′, elu′, mish′ and bce_with_logits′
(with respect to the logit, target 1 elementwise), three comparisons, each a ratio of
times measured in the same run, ours over theirs (below 1 is faster):

* **jax**: ``jax.jit(jax.vmap(jax.grad(symcalc.to_jax(f))))`` against
  ``jax.jit(jax.vmap(jax.grad(jax.nn.<same>)))`` on a device array (target <= 1.1);
* **torch**: the backward pass of ``symcalc.to_torch(f)`` against PyTorch autograd's
  backward of the built-in (``torch.autograd.grad(y, x, g)`` on a retained graph; the
  forward pass is not timed) (target <= 1.1); the forward + backward time is printed too;
  **compiled**: the same backward pass of ``symcalc.to_torch(f, compile=True)``
  (TorchInductor; its compile time, the first call's, is not timed, and is printed
  separately with ``--compile-times``);
* **kernel**: ``symcalc.kernel(f, order=1, backend="jax")`` on a NumPy array, result a
  NumPy array, against the jitted JAX built-in derivative called the same way (NumPy in,
  ``np.asarray`` out) (target <= 1.2).

bce_with_logits has no ``jax.nn`` function: the JAX side is optax's formula,
``-y·log_sigmoid(z) - (1 - y)·log_sigmoid(-z)``; PyTorch's is
``F.binary_cross_entropy_with_logits(z, y, reduction="none")``.  Times are the best of
several runs, ours and theirs alternating, in ns per element: wall time, or with
``--cpu-time`` this process's CPU time (``time.process_time``: steadier on a shared
machine; for the torch columns with ``--torch-threads 1``, as XLA computes on threads of
its own).  ``--torch-only`` measures the eager torch column alone (and its f+b ratio).
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import jax
import numpy as np
import torch
import torch.nn.functional as F

jax.config.update("jax_enable_x64", True)
import jax.numpy as jnp  # noqa: E402 - after the 64-bit switch

import symcalc  # noqa: E402

NAMES = ["sigmoid", "tanh", "silu", "gelu", "softplus", "elu", "mish", "bce_with_logits"]


def _optax_bce(z, y):
    return -y * jax.nn.log_sigmoid(z) - (1 - y) * jax.nn.log_sigmoid(-z)


JAX_BUILTIN = {
    "sigmoid": jax.nn.sigmoid,
    "tanh": jnp.tanh,
    "silu": jax.nn.silu,
    "gelu": lambda x: jax.nn.gelu(x, approximate=False),
    "softplus": jax.nn.softplus,
    "elu": jax.nn.elu,
    "mish": jax.nn.mish,
    "bce_with_logits": _optax_bce,
}

TORCH_BUILTIN = {
    "sigmoid": torch.sigmoid,
    "tanh": torch.tanh,
    "silu": F.silu,
    "gelu": F.gelu,
    "softplus": F.softplus,
    "elu": F.elu,
    "mish": F.mish,
    "bce_with_logits": lambda z, y: F.binary_cross_entropy_with_logits(z, y, reduction="none"),
}


#: The clock of `best_pair` (``--cpu-time``: ``time.process_time``).
CLOCK = {"clock": time.perf_counter}


def best_pair(ours, theirs, repeats: int) -> tuple[float, float]:
    """Best times of two callables, run alternately (machine noise hits both alike)."""
    clock = CLOCK["clock"]
    ours(), theirs()  # compile, allocate, warm up
    a, b = [], []
    for _ in range(repeats):
        t = clock()
        ours()
        a.append(clock() - t)
        t = clock()
        theirs()
        b.append(clock() - t)
    return min(a), min(b)


def jax_pair(name, x, y):
    ours = symcalc.to_jax(name)
    args = (x,) if y is None else (x, y)
    axes = (0,) * len(args)
    mine = jax.jit(jax.vmap(jax.grad(ours), in_axes=axes))
    builtin = jax.jit(jax.vmap(jax.grad(JAX_BUILTIN[name]), in_axes=axes))
    np.testing.assert_allclose(mine(*args)[:1000], builtin(*args)[:1000], rtol=1e-4, atol=1e-6)
    return (lambda: mine(*args).block_until_ready()), (lambda: builtin(*args).block_until_ready())


def torch_pair(name, x, y, forward: bool, compile: bool = False):
    ours, builtin = symcalc.to_torch(name, compile=compile), TORCH_BUILTIN[name]
    xs = [x.clone().requires_grad_(), x.clone().requires_grad_()]
    g = torch.ones_like(x)
    extra = () if y is None else (y,)

    def backward_only(f, leaf):
        out = f(leaf, *extra)
        return lambda: torch.autograd.grad(out, leaf, g, retain_graph=True)

    def both(f, leaf):
        return lambda: torch.autograd.grad(f(leaf, *extra), leaf, g)

    make = both if forward else backward_only
    return make(ours, xs[0]), make(builtin, xs[1])


def kernel_pair(name, x, y):
    k = symcalc.kernel(name, order=1, backend="jax")
    args = (x,) if y is None else (x, y)
    builtin = jax.jit(jax.vmap(jax.grad(JAX_BUILTIN[name]), in_axes=(0,) * len(args)))
    return (lambda: k(*args)), (lambda: np.asarray(builtin(*args)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="N = 10^6 only")
    parser.add_argument("--only", action="append", choices=NAMES, help="these functions")
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument(
        "--torch-threads", type=int, help="torch.set_num_threads (default: PyTorch's own)"
    )
    parser.add_argument(
        "--compile-times", action="store_true", help="print to_torch(compile=True)'s first call"
    )
    parser.add_argument(
        "--torch-only", action="store_true", help="the eager torch column alone (and f+b)"
    )
    parser.add_argument(
        "--cpu-time", action="store_true", help="time with time.process_time (CPU time)"
    )
    args = parser.parse_args()
    if args.cpu_time:
        CLOCK["clock"] = time.process_time
    sizes = [10**6] if args.quick else [10**6, 10**7]
    if args.torch_threads:
        torch.set_num_threads(args.torch_threads)
    names = args.only or NAMES
    print(
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores; "
        f"Python {platform.python_version()}, JAX {jax.__version__}, PyTorch {torch.__version__}"
        f", torch threads {torch.get_num_threads()}, load {os.getloadavg()[0]:.1f}"
    )
    print("times: ns per element, best of runs; ratio = ours / theirs (target: jax, torch")
    print("<= 1.1; kernel <= 1.2); torch f+b: forward + backward; compiled: the backward of")
    print("to_torch(f, compile=True) and its ratio to the built-in's")
    rng = np.random.default_rng(0)
    for n in sizes:
        for dtype in (np.float32, np.float64):
            base = rng.normal(0.0, 4.0, n).astype(dtype)
            target = np.ones(n, dtype)
            print(f"\nN = {n:.0e}, {np.dtype(dtype).name}")
            print(
                f"{'function':<18}{'jax ours':>9}{'nn':>8}{'ratio':>7}"
                f"{'torch ours':>11}{'F':>8}{'ratio':>7}{'f+b ratio':>10}"
                f"{'compiled':>9}{'ratio':>7}"
                f"{'kernel':>9}{'jit nn':>8}{'ratio':>7}"
            )
            for name in names:
                y_np = target if name == "bce_with_logits" else None
                xj = jnp.asarray(base)
                yj = None if y_np is None else jnp.asarray(y_np)
                xt = torch.from_numpy(base.copy())
                yt = None if y_np is None else torch.from_numpy(y_np.copy())
                c, d = best_pair(*torch_pair(name, xt, yt, False), args.repeats)
                e, f = best_pair(*torch_pair(name, xt, yt, True), max(3, args.repeats // 2))
                ns = 1e9 / n
                if args.torch_only:
                    print(
                        f"{name + chr(8242):<18}{'-':>9}{'-':>8}{'-':>7}"
                        f"{c * ns:>11.2f}{d * ns:>8.2f}{c / d:>7.2f}{e / f:>10.2f}",
                        flush=True,
                    )
                    continue
                a, b = best_pair(*jax_pair(name, xj, yj), args.repeats)
                start = time.perf_counter()
                compiled, builtin = torch_pair(name, xt, yt, False, compile=True)
                compiled()
                first = time.perf_counter() - start
                h, i = best_pair(compiled, builtin, args.repeats)
                k, m = best_pair(*kernel_pair(name, base, y_np), args.repeats)
                print(
                    f"{name + chr(8242):<18}{a * ns:>9.2f}{b * ns:>8.2f}{a / b:>7.2f}"
                    f"{c * ns:>11.2f}{d * ns:>8.2f}{c / d:>7.2f}{e / f:>10.2f}"
                    f"{h * ns:>9.2f}{h / i:>7.2f}"
                    f"{k * ns:>9.2f}{m * ns:>8.2f}{k / m:>7.2f}",
                    flush=True,
                )
                if args.compile_times:
                    print(f"  (to_torch(compile=True): first backward {first:.1f} s)")


if __name__ == "__main__":
    main()

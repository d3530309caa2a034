"""The few lines of framework code every export shares, as source text.

`to_jax` and `to_torch` run this code, and `symcalc export` copies it into the
modules it writes, so a function behaves the same whether it came from a call or from
a file.  Each framework has:

``_finish(value, *args)``
    the body's result as one value per element of the broadcast arguments, in their
    dtype (a constant derivative such as relu'' = 0 still gives an array);
``_differentiable(value, partials)`` (JAX, PyTorch)
    ``value`` with its derivative along argument ``i`` given by ``partials[i]()``, a
    function of the same arguments that is itself differentiable the same way:
    a ``jax.custom_jvp`` (JVP = Σ ∂f/∂aᵢ · tᵢ, symbolic zeros skipped, so a target's
    derivative is never built unless asked for; a zero tangent adds 0 even where the
    partial is ±inf, as forward mode over several arguments needs) or a
    ``torch.autograd.Function``
    (backward = grad · ∂f/∂aᵢ, summed to each argument's shape; double backward works
    because the partials are such functions too; ``fused``, optional, gives grad · ∂f/∂aᵢ
    as one compiled call for a backward pass that is not differentiated itself; a
    ``jvp`` = Σ ∂f/∂aᵢ · tᵢ for forward mode and a generated vmap rule, so the
    ``torch.func`` transforms take it too);
``_plain(value)``
    the last derivative, plainly: arguments made tensors (arrays) of one dtype; in JAX,
    NumPy arrays and lists made JAX arrays (else NumPy would run the code) and integer
    or boolean arrays the default float, as they are for ``_differentiable``;
``_widened(function, args)`` (JAX, PyTorch)
    ``function`` of float16 or bfloat16 arguments computed in float32 and rounded back
    (both wrappers above call through it), as PyTorch's own operations compute them.
"""

from __future__ import annotations

import dataclasses
from typing import Any

__all__ = ["RUNTIMES", "Runtime", "load"]


@dataclasses.dataclass(frozen=True)
class Runtime:
    """The shared code for one framework: its imports and its source."""

    framework: str
    imports: tuple[str, ...]
    source: str
    #: Whether `_differentiable` exists (the framework differentiates).
    differentiates: bool
    #: Whether the last level goes through `_plain` (else it is the body itself).
    plain: bool


_JAX = """\
def _finish(value, *args):
    # one value per element of the broadcast arguments, in their (floating) dtype; NaN
    # where an argument is NaN (a branch or a constant would give a number there)
    shape = jnp.broadcast_shapes(*(jnp.shape(a) for a in args))
    dtype = jnp.result_type(*args, float)
    nan = functools.reduce(jnp.logical_or, [jnp.isnan(a) for a in args])
    return jnp.where(nan, jnp.nan, jnp.broadcast_to(jnp.asarray(value, dtype), shape))


def _finish_kept(value, *args):
    # _finish for a body that is NaN wherever an argument is (its kernel graph shows
    # it): one value per element, in their dtype, without a NaN select
    shape = jnp.broadcast_shapes(*(jnp.shape(a) for a in args))
    dtype = jnp.result_type(*args, float)
    return jnp.broadcast_to(jnp.asarray(value, dtype), shape)


def _differentiable(value, partials, finite=None):
    # value as a jax.custom_jvp; its JVP is the sum of partials[i]()(*primals) * t_i;
    # finite[i]() (optional): the dtypes in which partial i is finite wherever the
    # inputs are, so that a plain product serves (else _times: a zero tangent must
    # add 0 where the partial overflows)
    function = jax.custom_jvp(value)

    def jvp(primals, tangents):
        total = None
        for i, (partial, tangent) in enumerate(zip(partials, tangents, strict=True)):
            if not isinstance(tangent, SymbolicZero):  # zero tangent: nothing built
                d = partial()(*primals)
                plain = finite and jnp.result_type(d).name in finite[i]()
                term = d * tangent if plain else _times(d, tangent)
                total = term if total is None else total + term
        out = function(*primals)
        return out, jnp.zeros_like(out) if total is None else total

    function.defjvp(jvp, symbolic_zeros=True)

    @functools.wraps(value)
    def call(*args):
        return _widened(function, [_as_jax(a) for a in args])

    call.__name__ = call.__qualname__ = value.__name__.lstrip("_")
    return call


@jax.custom_jvp
def _times(partial, tangent):
    # partial * tangent, but 0 where the tangent is 0 and the partial is ±inf:
    # forward mode (jacfwd, hessian) gives the other arguments and elements zero
    # tangents, and 0 * inf is NaN.  Linear in the tangent, so JAX transposes it for
    # reverse mode: the tangent is only scaled.  Where the partial is ±inf, c = ±max
    # and t * c**3 is ±inf for t != 0 and 0 for t = 0 (c = 0 elsewhere; NaN stays
    # NaN); the partial itself counts as 0 there, with its own derivative (_dual),
    # which the order above needs (the partial overflowed, its derivative need not)
    finite = jnp.isfinite(partial)
    big = jnp.finfo(jnp.result_type(partial, tangent)).max
    c = jax.lax.stop_gradient(jnp.where(finite, 0, jnp.clip(partial, -big, big)))
    scaled = jnp.where(finite, partial, _dual(partial)) * tangent
    return scaled + ((tangent * c) * c) * c


@_times.defjvp
def _times_jvp(primals, tangents):
    # the product rule, each term with the same care: d(partial) * 0 is 0
    (partial, tangent), (d_partial, d_tangent) = primals, tangents
    term = jnp.where(tangent == 0, 0, d_partial * tangent)
    return _times(partial, tangent), term + _times(partial, d_tangent)


@jax.custom_jvp
def _dual(a):
    # 0, with a's derivative: keeps a non-finite partial's derivative in _times
    return jnp.zeros_like(a)


@_dual.defjvp
def _dual_jvp(primals, tangents):
    return _dual(*primals), tangents[0]


def _plain(value):
    # value on JAX arrays: a NumPy array would run NumPy's operations instead of XLA's
    @functools.wraps(value)
    def function(*args):
        return _widened(value, [_as_jax(a) for a in args])

    function.__name__ = function.__qualname__ = value.__name__.lstrip("_")
    return function


def _widened(function, args):
    # function(*args), but float16 and bfloat16 (any float narrower than 32 bits)
    # computed in float32 and rounded back, as PyTorch's own ops compute them: the
    # stable forms' constants and intermediates leave a half's range (1e5 in
    # gelu_tanh', NaN from x = -5) and its few bits lose the rest (gelu(-5) 3 % off)
    if all(getattr(getattr(a, "dtype", None), "itemsize", 4) >= 4 for a in args):
        return function(*args)  # no half among them (integers are floats already)
    dtype = jnp.result_type(*args)
    if not jnp.issubdtype(dtype, jnp.floating) or jnp.finfo(dtype).bits >= 32:
        return function(*args)
    wide = [jnp.asarray(a, dtype).astype(jnp.float32) for a in args]
    return function(*wide).astype(dtype)


def _as_jax(a):
    # a NumPy array or a (nested) list of numbers as a JAX array, as jax.numpy reads it;
    # integers and booleans as the default float, as jnp.tanh takes them ((p - y)**2 of
    # int32 arrays would wrap around at 2**31, and JAX refuses -a of booleans)
    numpy = hasattr(a, "__array__") and not isinstance(a, jax.Array)
    if numpy or isinstance(a, (list, tuple)):
        a = jnp.asarray(a)
    dtype = getattr(a, "dtype", float)
    exact = isinstance(a, bool) or not jnp.issubdtype(dtype, jnp.inexact)
    return jnp.asarray(a, jnp.result_type(float)) if exact else a
"""

_TORCH = """\
def _tensors(*args):
    # the arguments as tensors of one floating dtype, on the first tensor's device; an
    # array (NumPy's) is a tensor of its own dtype, a Python number follows the tensors,
    # and so does np.float64 (a float) unless it is alone, as torch's operators take it
    args = [
        torch.as_tensor(a)
        if hasattr(a, "__array__") and not isinstance(a, (torch.Tensor, float, int))
        else a
        for a in args
    ]
    tensors = [a for a in args if isinstance(a, torch.Tensor)]
    if not tensors:
        args = [torch.as_tensor(a) if hasattr(a, "dtype") else a for a in args]
        tensors = [a for a in args if isinstance(a, torch.Tensor)]
    dtype = None
    for a in tensors:
        if a.is_floating_point():
            dtype = a.dtype if dtype is None else torch.promote_types(dtype, a.dtype)
    dtype = dtype or torch.get_default_dtype()
    device = tensors[0].device if tensors else None
    return [
        a.to(dtype=dtype, device=device)
        if isinstance(a, torch.Tensor)
        else torch.as_tensor(a, dtype=dtype, device=device)
        for a in args
    ]


def _finish(value, *args):
    # a fresh tensor, one value per element of the broadcast arguments, in their dtype;
    # NaN where an argument is NaN (a branch or a constant would give a number there)
    ref = args[0]
    shape = torch.broadcast_shapes(*(a.shape for a in args))
    nan = functools.reduce(torch.logical_or, [torch.isnan(a) for a in args])
    if not isinstance(value, torch.Tensor):
        value = torch.full(shape, value, dtype=ref.dtype, device=ref.device)
    value = value.to(ref.dtype).expand(shape)
    return torch.where(nan, ref.new_tensor(float("nan")), value)  # a fresh tensor


def _differentiable(value, partials, fused=None):
    # value as a torch.autograd.Function: argument i's gradient is grad * partials[i]();
    # fused[i]() (optional) gives that product in one call, used when the backward pass
    # itself is not being differentiated (no create_graph)

    def _backward(ctx, grad):
        args = ctx.saved_tensors
        needs = ctx.needs_input_grad
        direct = fused is not None and not torch.is_grad_enabled()

        def term(i):
            if direct:
                return fused[i]()(grad, *args)
            return grad * partials[i]()(*args)

        return tuple(
            term(i).sum_to_size(arg.shape) if needed else None
            for i, (arg, needed) in enumerate(zip(args, needs, strict=True))
        )

    def _jvp(ctx, *tangents):
        # forward mode (torch.func.jvp, jacfwd, forward_ad): the sum of
        # partials[i]() * t_i; a zero tangent adds 0 even where the partial is
        # infinite (torch.func gives a target zeros: bce's d/dy at p = 1 is -inf)
        args = ctx.saved_tensors
        total = None
        for i, tangent in enumerate(tangents):
            if tangent is not None:
                partial = partials[i]()(*args)
                zero = (tangent == 0) & ~torch.isfinite(partial)
                term = torch.where(zero, partial.new_zeros(()), partial * tangent)
                total = term if total is None else total + term
        return torch.zeros_like(value(*args)) if total is None else total

    class Function(torch.autograd.Function):
        # plain autograd: this style costs PyTorch less at each call
        @staticmethod
        def forward(ctx, *args):
            ctx.save_for_backward(*args)
            return value(*args)

        backward = staticmethod(_backward)

    class Transformable(torch.autograd.Function):
        # under a torch.func transform or forward-mode AD: a jvp and a vmap rule
        generate_vmap_rule = True

        @staticmethod
        def forward(*args):
            return value(*args)

        @staticmethod
        def setup_context(ctx, inputs, output):
            ctx.save_for_backward(*inputs)
            ctx.save_for_forward(*inputs)

        backward = staticmethod(_backward)
        jvp = staticmethod(_jvp)

    @functools.wraps(value)
    def function(*args):
        kind = Transformable if _transforming() else Function
        return _widened(kind.apply, _tensors(*args))

    function.__name__ = function.__qualname__ = value.__name__.lstrip("_")
    return function


def _transforming():
    # a torch.func transform (vmap, grad, jvp, ...) or forward-mode AD is on
    active = getattr(torch._C, "_are_functorch_transforms_active", lambda: True)
    return active() or getattr(torch.autograd.forward_ad, "_current_level", 0) >= 0


def _plain(value):
    # value on tensors of one dtype; PyTorch differentiates its code itself
    @functools.wraps(value)
    def function(*args):
        return _widened(value, _tensors(*args))

    function.__name__ = function.__qualname__ = value.__name__.lstrip("_")
    return function


def _widened(function, tensors):
    # function(*tensors), but float16 and bfloat16 (any float narrower than 32 bits)
    # computed in float32 and rounded back, as PyTorch's own ops compute them: the
    # stable forms' constants and intermediates leave a half's range (1e5 in
    # gelu_tanh', NaN from x = -5) and its few bits lose the rest (gelu(-5) 3 % off)
    dtype = tensors[0].dtype
    if dtype.itemsize >= 4:
        return function(*tensors)
    return function(*(t.float() for t in tensors)).to(dtype)
"""

_NUMPY = """\
def _arrays(*args):
    # the arguments as arrays of one floating dtype (Python numbers follow the arrays)
    typed = [a for a in args if hasattr(a, "dtype")]
    dtype = np.result_type(*typed, np.float32) if typed else np.dtype(np.float64)
    return [np.asarray(a, dtype=dtype) for a in args]


def _finish(value, *args):
    # a fresh array, one value per element of the broadcast arguments, in their dtype;
    # NaN where an argument is NaN (a branch or a constant would give a number there)
    shape = np.broadcast_shapes(*(np.shape(a) for a in args))
    out = np.array(np.broadcast_to(value, shape), dtype=args[0].dtype)
    out[functools.reduce(np.logical_or, [np.isnan(a) for a in args])] = np.nan
    return out[()] if out.ndim == 0 else out


def _plain(value):
    # value on arrays of one dtype; overflow in a branch not taken is discarded
    @functools.wraps(value)
    def function(*args):
        with np.errstate(all="ignore"):
            return value(*_arrays(*args))

    function.__name__ = function.__qualname__ = value.__name__.lstrip("_")
    return function
"""

#: Framework name -> its shared code.
RUNTIMES: dict[str, Runtime] = {
    "jax": Runtime(
        "jax",
        (
            "import functools",
            "import jax",
            "import jax.numpy as jnp",
            "from jax.custom_derivatives import SymbolicZero",
        ),
        _JAX,
        differentiates=True,
        plain=True,
    ),
    "torch": Runtime(
        "torch", ("import functools", "import torch"), _TORCH, differentiates=True, plain=True
    ),
    "numpy": Runtime(
        "numpy",
        ("import functools", "import numpy as np"),
        _NUMPY,
        differentiates=False,
        plain=True,
    ),
}


def load(framework: str, *, source: str = "") -> dict[str, Any]:
    """A namespace with the framework imported and its runtime (and ``source``) run in it.

    Examples
    --------
    >>> sorted(k for k in load("numpy") if not k.startswith("__"))
    ['_arrays', '_finish', '_plain', 'functools', 'np']
    """
    runtime = RUNTIMES[framework]
    namespace: dict[str, Any] = {}
    text = "\n".join(runtime.imports) + "\n\n\n" + runtime.source + "\n\n" + source
    exec(compile(text, f"<symcalc {framework} export>", "exec"), namespace)  # noqa: S102
    return namespace

"""symcalc: a symbolic calculus explorer for machine learning.

Activations and losses are SymPy expressions in a catalog; derivatives are derived
symbolically, step by step, and checked; integrals, the fundamental theorem and
Riemann sums are checked; results become stable NumPy kernels that gradient descent
runs on, and code for JAX and PyTorch whose derivatives are symcalc's.  The package
is layered (see the README's Development section)::

    cli  ->  present  ->  learn | export  ->  numeric  ->  symbolic   (errors, hooks: all)

Every public name is re-exported here and loaded on first use (PEP 562), so
``import symcalc`` is instant and ``symcalc --help`` imports neither SymPy nor NumPy.

Examples
--------
>>> import symcalc
>>> symcalc.derivative("sigmoid")
exp(x)/(exp(x) + 1)**2
>>> symcalc.derive("sigmoid").identity
(1 - sigmoid(x))*sigmoid(x)
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from . import hooks
from ._version import __version__
from .errors import ParseError, SymcalcError, TimeBudgetExceeded

#: Public name -> the module that defines it (loaded on first use).
_PUBLIC = {
    "CATALOG": "symbolic.catalog",
    "Entry": "symbolic.catalog",
    "catalog": "symbolic.catalog",
    "get": "symbolic.catalog",
    "sigmoid": "symbolic.functions",
    "parse": "symbolic.parse",
    "resolve": "symbolic.parse",
    "Derivation": "symbolic.derivatives",
    "derivative": "symbolic.derivatives",
    "derive": "symbolic.derivatives",
    "BackpropDerivation": "symbolic.backprop",
    "backprop": "symbolic.backprop",
    "Antiderivative": "symbolic.integrals",
    "antiderivative": "symbolic.integrals",
    "Kernel": "numeric.kernels",
    "kernel": "numeric.kernels",
    "accumulate": "numeric.quadrature",
    "Attribution": "numeric.attribution",
    "integrated_gradients": "numeric.attribution",
    "FTCCheck": "numeric.ftc",
    "check_ftc": "numeric.ftc",
    "RiemannStudy": "numeric.riemann",
    "RiemannSum": "numeric.riemann",
    "riemann_convergence": "numeric.riemann",
    "riemann_sum": "numeric.riemann",
    "DerivativeBound": "numeric.bounds",
    "derivative_bound": "numeric.bounds",
    "GradientCheck": "numeric.gradcheck",
    "gradcheck": "numeric.gradcheck",
    "Dataset": "learn.data",
    "load_data": "learn.data",
    "GradientDerivation": "learn.models",
    "GradientFlow": "learn.flow",
    "gradient_flow": "learn.flow",
    "ModelFunction": "learn.explain",
    "model_function": "learn.explain",
    "make_model": "learn.models",
    "DescentResult": "learn.descent",
    "descend": "learn.descent",
    "JaxFunction": "export.jax_",
    "to_jax": "export.jax_",
    "TorchFunction": "export.torch_",
    "to_torch": "export.torch_",
    "ExportedModule": "export.module",
    "export_module": "export.module",
    "build_gallery": "present.gallery",
    "plot_attribution": "present.plotting",
    "plot_descent": "present.plotting",
    "plot_descent_paths": "present.plotting",
    "plot_ftc": "present.plotting",
    "plot_function": "present.plotting",
    "plot_gradient_flow": "present.plotting",
    "plot_riemann_convergence": "present.plotting",
    "plot_riemann_sum": "present.plotting",
    "plot_step_errors": "present.plotting",
}

# Results of the lower layers draw themselves in notebooks through the presentation layer,
# which they never import: the registration lives up here, by name, and loads on demand.
for _result in (
    "numeric.ftc.FTCCheck",
    "numeric.riemann.RiemannSum",
    "numeric.riemann.RiemannStudy",
    "numeric.gradcheck.GradientCheck",
    "learn.descent.DescentResult",
    "learn.flow.GradientFlow",
    "numeric.attribution.Attribution",
):
    hooks.register_png(f"{__name__}.{_result}", f"{__name__}.present.plotting:result_png")
del _result
# A fitted model reads as f(features) for attribution (numeric) without numeric importing learn.
hooks.register_function(
    f"{__name__}.learn.descent.DescentResult", f"{__name__}.learn.explain:model_function"
)


def __getattr__(name: str):
    if name not in _PUBLIC:
        raise AttributeError(f"module 'symcalc' has no attribute '{name}'")
    value = getattr(importlib.import_module(f".{_PUBLIC[name]}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_PUBLIC))


if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs
    from .export.jax_ import JaxFunction, to_jax
    from .export.module import ExportedModule, export_module
    from .export.torch_ import TorchFunction, to_torch
    from .learn.data import Dataset, load_data
    from .learn.descent import DescentResult, descend
    from .learn.explain import ModelFunction, model_function
    from .learn.flow import GradientFlow, gradient_flow
    from .learn.models import GradientDerivation, make_model
    from .numeric.attribution import Attribution, integrated_gradients
    from .numeric.bounds import DerivativeBound, derivative_bound
    from .numeric.ftc import FTCCheck, check_ftc
    from .numeric.gradcheck import GradientCheck, gradcheck
    from .numeric.kernels import Kernel, kernel
    from .numeric.quadrature import accumulate
    from .numeric.riemann import RiemannStudy, RiemannSum, riemann_convergence, riemann_sum
    from .present.gallery import build_gallery
    from .present.plotting import (
        plot_attribution,
        plot_descent,
        plot_descent_paths,
        plot_ftc,
        plot_function,
        plot_gradient_flow,
        plot_riemann_convergence,
        plot_riemann_sum,
        plot_step_errors,
    )
    from .symbolic.backprop import BackpropDerivation, backprop
    from .symbolic.catalog import CATALOG, Entry, catalog, get
    from .symbolic.derivatives import Derivation, derivative, derive
    from .symbolic.functions import sigmoid
    from .symbolic.integrals import Antiderivative, antiderivative
    from .symbolic.parse import parse, resolve

__all__ = [
    "Antiderivative",
    "Attribution",
    "BackpropDerivation",
    "CATALOG",
    "Dataset",
    "Derivation",
    "DerivativeBound",
    "DescentResult",
    "Entry",
    "ExportedModule",
    "FTCCheck",
    "GradientCheck",
    "GradientDerivation",
    "GradientFlow",
    "JaxFunction",
    "Kernel",
    "ModelFunction",
    "ParseError",
    "RiemannStudy",
    "RiemannSum",
    "SymcalcError",
    "TimeBudgetExceeded",
    "TorchFunction",
    "__version__",
    "accumulate",
    "antiderivative",
    "backprop",
    "build_gallery",
    "catalog",
    "check_ftc",
    "derivative",
    "derivative_bound",
    "derive",
    "descend",
    "export_module",
    "get",
    "gradcheck",
    "gradient_flow",
    "integrated_gradients",
    "kernel",
    "load_data",
    "make_model",
    "model_function",
    "parse",
    "plot_attribution",
    "plot_descent",
    "plot_descent_paths",
    "plot_ftc",
    "plot_function",
    "plot_gradient_flow",
    "plot_riemann_convergence",
    "plot_riemann_sum",
    "plot_step_errors",
    "resolve",
    "riemann_convergence",
    "riemann_sum",
    "sigmoid",
    "to_jax",
    "to_torch",
]

"""symcalc: a symbolic calculus explorer for machine learning.

Activations and losses are SymPy expressions in a catalog; derivatives are derived
symbolically, step by step, and checked.

Examples
--------
>>> import symcalc
>>> symcalc.derivative("sigmoid")
exp(x)/(exp(x) + 1)**2
>>> symcalc.derive("sigmoid").identity
(1 - sigmoid(x))*sigmoid(x)
"""

__version__ = "0.1.0"

from .catalog import CATALOG, Entry, catalog, get
from .data import Dataset, load_data
from .derivatives import Derivation, derivative, derive
from .descent import DescentResult, descend
from .errors import ParseError, SymcalcError, TimeBudgetExceeded
from .ftc import (
    Antiderivative,
    FTCCheck,
    RiemannStudy,
    RiemannSum,
    accumulate,
    antiderivative,
    check_ftc,
    riemann_convergence,
    riemann_sum,
)
from .functions import sigmoid
from .gradcheck import GradientCheck, gradcheck
from .kernels import Kernel, kernel
from .models import GradientDerivation, make_model
from .parse import parse, resolve

#: Public names loaded on first use (PEP 562): ``import symcalc`` does not import matplotlib,
#: yet ``symcalc.plot_function`` works.  Name -> the submodule that defines it.
_LAZY = {
    "build_gallery": "gallery",
    "plot_descent": "plotting",
    "plot_descent_paths": "plotting",
    "plot_ftc": "plotting",
    "plot_function": "plotting",
    "plot_riemann_convergence": "plotting",
    "plot_riemann_sum": "plotting",
    "plot_step_errors": "plotting",
}


def __getattr__(name: str):
    if name not in _LAZY:
        raise AttributeError(f"module 'symcalc' has no attribute '{name}'")
    import importlib

    value = getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


__all__ = [
    "CATALOG",
    "Antiderivative",
    "Dataset",
    "Derivation",
    "DescentResult",
    "Entry",
    "FTCCheck",
    "GradientCheck",
    "GradientDerivation",
    "Kernel",
    "ParseError",
    "RiemannStudy",
    "RiemannSum",
    "SymcalcError",
    "TimeBudgetExceeded",
    "accumulate",
    "antiderivative",
    "build_gallery",
    "catalog",
    "check_ftc",
    "derivative",
    "derive",
    "descend",
    "get",
    "gradcheck",
    "kernel",
    "load_data",
    "make_model",
    "parse",
    "plot_descent",
    "plot_descent_paths",
    "plot_ftc",
    "plot_function",
    "plot_riemann_convergence",
    "plot_riemann_sum",
    "plot_step_errors",
    "resolve",
    "riemann_convergence",
    "riemann_sum",
    "sigmoid",
]

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
    "resolve",
    "riemann_convergence",
    "riemann_sum",
    "sigmoid",
]

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
from .derivatives import Derivation, derivative, derive
from .errors import ParseError, SymcalcError, TimeBudgetExceeded
from .functions import sigmoid
from .parse import parse, resolve

__all__ = [
    "CATALOG",
    "Derivation",
    "Entry",
    "ParseError",
    "SymcalcError",
    "TimeBudgetExceeded",
    "catalog",
    "derivative",
    "derive",
    "get",
    "parse",
    "resolve",
    "sigmoid",
]

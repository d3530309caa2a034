"""The one exception family symcalc raises for bad input or work it cannot finish, and the
small argument checks that raise it.  Imports nothing of symcalc: every layer may use it."""

from __future__ import annotations

import difflib
import math
from collections.abc import Iterable, Sequence
from typing import Any

__all__ = [
    "ParseError",
    "SymcalcError",
    "TimeBudgetExceeded",
    "check_number",
    "check_range",
    "did_you_mean",
]


class SymcalcError(ValueError):
    """Bad input or an impossible request; the message names the problem and the fix.

    A message names a function's parameters as Python spells them, in backticks:
    `` `learning_rate` `` or `` `force=True` ``.  The command line, which has flags
    instead, rewrites those through its table (``--learning-rate``, ``--force``).
    ``parameter`` is the name of the parameter at fault, when one is.

    Examples
    --------
    >>> str(SymcalcError("unknown function 'sigmod'; did you mean 'sigmoid'?"))
    "unknown function 'sigmod'; did you mean 'sigmoid'?"
    >>> error = SymcalcError("`tol` must be a number, got 'x'", parameter="tol")
    >>> error.parameter
    'tol'
    """

    def __init__(self, message: str = "", *, parameter: str | None = None):
        super().__init__(message)
        self.parameter = parameter


class ParseError(SymcalcError):
    """Text that is not a valid expression; ``column`` (1-based) points at the problem."""

    def __init__(self, message: str, column: int | None = None):
        super().__init__(message)
        self.column = column


class TimeBudgetExceeded(SymcalcError):
    """Symbolic work (simplify, integrate, solve) did not finish within its time budget."""

    def __init__(self, what: str, seconds: float):
        super().__init__(f"{what} did not finish within {seconds:g} s")
        self.what = what
        self.seconds = seconds

    def __reduce__(self):
        # Raised in the budget's worker process, it travels back pickled.
        return type(self), (self.what, self.seconds), self.__dict__


def did_you_mean(name: str, choices: Iterable[str]) -> str:
    """Return ``"; did you mean 'x'?"`` for the closest choice, or ``""`` if none is close.

    Examples
    --------
    >>> did_you_mean("sigmod", ["sigmoid", "tanh"])
    "; did you mean 'sigmoid'?"
    >>> did_you_mean("qqq", ["sigmoid", "tanh"])
    ''
    """
    close = difflib.get_close_matches(name, sorted(set(choices)), n=1, cutoff=0.6)
    return f"; did you mean '{close[0]}'?" if close else ""


def check_number(value: Any, what: str) -> float:
    """``value`` as a finite float, or a `SymcalcError` naming the parameter ``what``.

    Examples
    --------
    >>> check_number("2.5", "a")
    2.5
    >>> check_number("inf", "a")
    Traceback (most recent call last):
    ...
    symcalc.errors.SymcalcError: `a` must be a finite number, got 'inf'
    """
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise SymcalcError(f"`{what}` must be a number, got {value!r}", parameter=what) from None
    if not math.isfinite(number):
        raise SymcalcError(f"`{what}` must be a finite number, got {value!r}", parameter=what)
    return number


def check_range(x_range: Sequence[float], what: str = "x_range") -> tuple[float, float]:
    """``(A, B)`` as two finite floats with A < B, or a `SymcalcError` naming ``what``."""
    try:
        low, high = x_range
    except (TypeError, ValueError):
        raise SymcalcError(
            f"`{what}` must be two numbers (A, B), got {x_range!r}", parameter=what
        ) from None
    low, high = check_number(low, what), check_number(high, what)
    if not low < high:
        raise SymcalcError(f"`{what}` must have A < B, got {low:g}:{high:g}", parameter=what)
    return low, high

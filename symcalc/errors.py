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

    Examples
    --------
    >>> str(SymcalcError("unknown function 'sigmod'; did you mean 'sigmoid'?"))
    "unknown function 'sigmod'; did you mean 'sigmoid'?"
    """


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
    """``value`` as a finite float, or a `SymcalcError` naming ``what``.

    Examples
    --------
    >>> check_number("2.5", "a")
    2.5
    """
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise SymcalcError(f"{what} must be a number, got {value!r}") from None
    if not math.isfinite(number):
        raise SymcalcError(f"{what} must be a finite number, got {value!r}")
    return number


def check_range(x_range: Sequence[float], what: str = "x_range") -> tuple[float, float]:
    """``(A, B)`` as two finite floats with A < B, or a `SymcalcError` naming ``what``."""
    try:
        low, high = x_range
    except (TypeError, ValueError):
        raise SymcalcError(f"{what} must be two numbers (A, B), got {x_range!r}") from None
    low, high = check_number(low, what), check_number(high, what)
    if not low < high:
        raise SymcalcError(f"{what} must have A < B, got {low:g}:{high:g}")
    return low, high

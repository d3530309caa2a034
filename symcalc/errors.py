"""The one exception family symcalc raises for bad input or work it cannot finish."""

from __future__ import annotations

import difflib
from collections.abc import Iterable

__all__ = ["ParseError", "SymcalcError", "TimeBudgetExceeded", "did_you_mean"]


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

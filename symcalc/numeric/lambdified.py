"""``sympy.lambdify`` for the compiler's own probes: the same code, no docstring.

SymPy writes a docstring on every function it makes, with ``str(expr)`` of the formula
when it has at most 1,000 nodes.  The probes of the compiler (the cancellation judge, the
scores of the rewrites, the long double and mpmath passes) are never read by a person, and
printing each formula once more for them cost a fifth of the CPU of the kernels' lambdify
calls (``tests/test_kernels.py``: 2,667 calls, 20 of 59 profiled seconds in ``str``).
SymPy before 1.13 has no ``docstring_limit``; there the docstring stays.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import sympy

__all__ = ["lambdify"]

#: What tells ``sympy.lambdify`` to leave the formula out of the docstring (where it can).
_NO_DOCSTRING: dict[str, int] = (
    {"docstring_limit": 0}
    if "docstring_limit" in inspect.signature(sympy.lambdify).parameters
    else {}
)


def lambdify(args: Any, expr: Any, modules: Any = None, **options: Any) -> Callable[..., Any]:
    """``sympy.lambdify(args, expr, modules, **options)`` without printing ``expr`` for a
    docstring: the same generated code.

    Examples
    --------
    >>> from sympy.abc import x
    >>> lambdify([x], x**2 + 1)(3)
    10
    """
    return sympy.lambdify(args, expr, modules, **_NO_DOCSTRING, **options)

"""Named weight initializations for networks: the spread of W⁽ˡ⁾ at the start of training.

Each entry draws a fan_out × fan_in matrix from a normal distribution of mean 0 whose
standard deviation is a function of the layer's fans:

========== =========================== ==============================================
xavier     √(2 / (fan_in + fan_out))   Glorot & Bengio (2010): keeps the variance of
                                        activations and gradients about constant for
                                        tanh-like units near 0
he         √(2 / fan_in)               He et al. (2015): the same for ReLU, which
                                        zeroes half of its inputs
normal     1                           the standard normal, the naive choice
========== =========================== ==============================================

Examples
--------
>>> import numpy as np
>>> W = initial_weights((64, 64), "he", np.random.default_rng(0))
>>> round(float(W.std()), 2), round(float(np.sqrt(2 / 64)), 2)
(0.18, 0.18)
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from types import MappingProxyType

import numpy as np

from ..errors import SymcalcError, did_you_mean

__all__ = ["INITIALIZERS", "initial_weights", "weight_scale"]

#: Name -> (standard deviation as a function of fan_in, fan_out; what it is).
INITIALIZERS: Mapping[str, tuple[Callable[[int, int], float], str]] = MappingProxyType(
    {
        "xavier": (lambda fan_in, fan_out: math.sqrt(2 / (fan_in + fan_out)), "Glorot normal"),
        "he": (lambda fan_in, fan_out: math.sqrt(2 / fan_in), "He normal"),
        "normal": (lambda fan_in, fan_out: 1.0, "standard normal"),
    }
)


def weight_scale(init: str, fan_in: int, fan_out: int) -> float:
    """The standard deviation ``init`` gives a fan_out × fan_in weight matrix.

    Examples
    --------
    >>> weight_scale("xavier", 3, 5)
    0.5
    """
    if init not in INITIALIZERS:
        raise SymcalcError(
            f"unknown `init` '{init}'{did_you_mean(str(init), INITIALIZERS)} "
            f"(choose one of {', '.join(INITIALIZERS)})",
            parameter="init",
        )
    return INITIALIZERS[init][0](fan_in, fan_out)


def initial_weights(shape: tuple[int, int], init: str, rng: np.random.Generator) -> np.ndarray:
    """A (fan_out, fan_in) matrix of independent normal weights with the ``init`` spread."""
    fan_out, fan_in = shape
    return rng.standard_normal(shape) * weight_scale(init, fan_in, fan_out)

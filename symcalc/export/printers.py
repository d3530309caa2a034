"""Whole-array code for PyTorch and plain NumPy: two more spellings of the kernel nodes.

The kernel graph's nodes write their code through an `ArrayPrinter`
(`symcalc.numeric.kernels.printers`); `JaxPrinter` lives there because
``kernel(backend="jax")`` uses it.  Here are the two only exports use: `TorchPrinter`
(``torch`` and ``torch.special``, with literals made tensors where PyTorch wants one)
and `NumpyPrinter` (``numpy`` and ``scipy.special``, functional: no ``out=`` buffers, so
the code reads like the formula).  `PRINTERS` maps a framework name to its printer.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from ..numeric.kernels.printers import ArrayPrinter, JaxPrinter, is_literal

__all__ = ["PRINTERS", "NumpyPrinter", "TorchPrinter"]


class TorchPrinter(ArrayPrinter):
    """``torch`` code: ``torch.where``, ``torch.clamp``, ``torch.special.erfc``, ...

    PyTorch's binary functions want tensors where JAX takes numbers: a literal becomes
    a 0-d tensor of the reference argument's dtype and device (``x.new_tensor(0.5)``),
    so float64 stays float64 (``torch.where(c, 0.5, 0.0)`` alone would be float32).

    Examples
    --------
    >>> p = TorchPrinter("x")
    >>> p.conditional("0.5", "v1", "0.0")
    'torch.where(v1, x.new_tensor(0.5), 0.0)'
    >>> p.fold("max", ["v1", "0.0"])
    'torch.clamp(v1, min=0.0)'
    """

    MODULE = "torch"
    FUNCTIONS = {
        "erf": "torch.special.erf",
        "erfc": "torch.special.erfc",
        "erfcx": "torch.special.erfcx",
    }
    TEMPLATES = {
        "cbrt": "(torch.sign({0}) * torch.abs({0}) ** (1.0 / 3.0))",
        # torch.sign(NaN) is 0; NumPy's and JAX's sign give NaN: so does this
        "sign": "torch.where(torch.isnan({0}), {0}, torch.sign({0}))",
        # PyTorch's vectorized sinh and cosh (arrays of 8 and more float64, 16 float32)
        # are inf from |u| = log(max) on, where the value is finite up to log(2·max)
        "sinh": "_sinh_wide({0})",
        "cosh": "_cosh_wide({0})",
    }
    CLAMP_MAX = "torch.clamp(torch.exp(u), max=torch.finfo(u.dtype).max)"

    def tensor(self, code: str) -> str:
        """``code`` as a tensor: literals become 0-d tensors like the reference argument."""
        return f"{self.reference}.new_tensor({code})" if is_literal(code) else code

    def call(self, function: str, *args: str) -> str:
        if function == "hypot":
            a, b = sorted(args, key=is_literal)  # a tensor first
            return f"torch.hypot({a}, {self.tensor(b)})"
        return super().call(function, *args)

    def conditional(self, then: str, cond: str, otherwise: str) -> str:
        if is_literal(then) and is_literal(otherwise):
            then = self.tensor(then)
        return f"torch.where({cond}, {then}, {otherwise})"

    def fold(self, name: str, args: Sequence[str]) -> str:
        tensors = [a for a in args if not is_literal(a)]
        numbers = [a for a in args if is_literal(a)]
        text = tensors[0]
        for arg in tensors[1:]:
            text = f"torch.{name}imum({text}, {arg})"
        if numbers:
            bound = (max if name == "max" else min)(numbers, key=float)
            text = f"torch.clamp({text}, {'min' if name == 'max' else 'max'}={bound})"
        return text

    def clip(self, a: str, lo: str, hi: str) -> str:
        return f"torch.clamp({a}, {lo}, {hi})"

    def imports(self, source: str) -> list[str]:
        return ["import torch"] if "torch." in source else []


class NumpyPrinter(ArrayPrinter):
    """Functional ``numpy`` code (``np.where``, ``scipy.special.erfc``): a readable module.

    Examples
    --------
    >>> NumpyPrinter().call("erf", "x")
    'scipy.special.erf(x)'
    """

    MODULE = "np"
    FUNCTIONS = {
        "erf": "scipy.special.erf",
        "erfc": "scipy.special.erfc",
        "erfcx": "scipy.special.erfcx",
    }
    # scipy.special.erfc flushes to 0 where erfc is subnormal (u = 26.64 to 27.2), and a
    # square root or a log of it is a normal number there
    TEMPLATES = {"erfc": "_erfc_wide({0})"}
    CLAMP_MAX = "np.minimum(np.exp(u), np.finfo(u.dtype).max)"

    def imports(self, source: str) -> list[str]:
        lines = ["import numpy as np"] if re.search(r"\bnp\.", source) else []
        if "scipy.special." in source:
            lines.append("import scipy.special")
        return lines


#: Framework name -> its printer class.
PRINTERS: dict[str, type[ArrayPrinter]] = {
    "jax": JaxPrinter,
    "torch": TorchPrinter,
    "numpy": NumpyPrinter,
}

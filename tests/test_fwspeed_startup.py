"""``symcalc export`` builds its module without SciPy: the kernels package imports it lazily.

A fresh interpreter runs the command and reports which heavy libraries it loaded (the
style of ``tests/test_startup.py``).  erf-based functions still use SciPy where the
rewrite pass evaluates them; sigmoid-family exports need neither SciPy nor a framework.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

WATCHED = ("scipy", "matplotlib", "jax", "torch")


def _loaded_by_export(*args: str) -> tuple[int, list[str], str]:
    code = (
        "import contextlib, io, json, sys\n"
        "from symcalc.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()) as out:\n"
        f"    code = main({list(args)!r})\n"
        f"print(json.dumps([code, [m for m in {WATCHED!r} if m in sys.modules], out.getvalue()]))\n"
    )
    done = subprocess.run(
        [sys.executable, "-B", "-c", code], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return tuple(json.loads(done.stdout.strip().splitlines()[-1]))


@pytest.mark.parametrize("to", ["jax", "torch"])
def test_export_sigmoid_imports_no_scipy_and_no_framework(to):
    code, loaded, text = _loaded_by_export("export", "sigmoid", "--to", to)
    assert code == 0
    assert loaded == []
    assert f"import {to}" in text and "scipy" not in text  # the module itself is complete


def test_kernel_still_reaches_scipy_when_it_needs_it():
    """Lazy, not gone: the plain kernel (SciPy's erf) and the long double recompute work."""
    import numpy as np
    import scipy.special

    from symcalc import kernel

    plain = kernel("gelu", stable=False)
    x = np.array([-3.0, 0.5, 2.0])
    np.testing.assert_allclose(plain(x), x * 0.5 * scipy.special.erfc(-x / np.sqrt(2)), 1e-12)
    # x²/(√(x² + 1) + 1) at 1e200 overflows on the way: the long double pass gives 1e200
    wide = kernel("x**2/(sqrt(x**2 + 1) + 1)")
    assert wide(np.array([1e200]))[0] == pytest.approx(1e200, rel=1e-12)

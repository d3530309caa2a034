"""Shared test setup: a headless matplotlib backend, a seeded RNG, mpmath precision,
and two CLI runners (in-process for speed, and a real subprocess for the console script)."""

from __future__ import annotations

import contextlib
import io
import os
import subprocess
import sys

import matplotlib
import mpmath
import numpy as np
import pytest

matplotlib.use("Agg")


@pytest.fixture
def rng() -> np.random.Generator:
    """A NumPy generator with a fixed seed, so every run samples the same points."""
    return np.random.default_rng(20261125)


@pytest.fixture
def mp_digits():
    """Set mpmath's working precision for one test and restore it after: ``mp_digits(50)``.

    Tests never assign ``mpmath.mp.dps`` at import time (whichever module is collected
    last would win for all of them)."""
    saved = mpmath.mp.dps

    def set_digits(digits: int) -> None:
        mpmath.mp.dps = digits

    yield set_digits
    mpmath.mp.dps = saved


class CLIResult:
    """What one run of the command line printed and returned."""

    def __init__(self, returncode: int, stdout: str, stderr: str):
        self.returncode = returncode
        self.stdout = stdout
        self.stderr = stderr

    def __repr__(self) -> str:
        out, err = self.stdout[:200], self.stderr[:200]
        return f"<CLIResult rc={self.returncode} stdout={out!r} stderr={err!r}>"


def run_in_process(*args: str, cwd=None) -> CLIResult:
    """``symcalc ARGS`` through `symcalc.cli.main` in this process, output captured."""
    from symcalc.cli import main

    out, err = io.StringIO(), io.StringIO()
    previous = os.getcwd()
    try:
        if cwd is not None:
            os.chdir(cwd)
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = main(list(args))
            except SystemExit as exc:  # argparse: --help, --version, usage errors
                code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
    finally:
        os.chdir(previous)
    return CLIResult(code, out.getvalue(), err.getvalue())


def run_subprocess(*args: str, timeout: float = 300, cwd=None) -> CLIResult:
    """``python -m symcalc ARGS`` in a child process, the way a user runs it."""
    completed = subprocess.run(
        [sys.executable, "-m", "symcalc", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=cwd,
        env={**os.environ, "PYTHONIOENCODING": "utf-8", "MPLBACKEND": "Agg"},
    )
    return CLIResult(completed.returncode, completed.stdout, completed.stderr)


@pytest.fixture
def cli():
    """Run the command line in-process (fast); output and exit code as a user sees them."""

    def run(*args: str, timeout: float = 300, cwd=None) -> CLIResult:
        return run_in_process(*args, cwd=cwd)

    return run


@pytest.fixture
def cli_subprocess():
    """Run ``python -m symcalc`` in a real subprocess (console behaviour, exit codes)."""
    return run_subprocess

"""Shared test setup: a headless matplotlib backend, a seeded RNG, a CLI runner."""

from __future__ import annotations

import os
import subprocess
import sys

import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")


@pytest.fixture
def rng() -> np.random.Generator:
    """A NumPy generator with a fixed seed, so every run samples the same points."""
    return np.random.default_rng(20261125)


class CLIResult:
    """What one run of the command line printed and returned."""

    def __init__(self, completed: subprocess.CompletedProcess):
        self.returncode = completed.returncode
        self.stdout = completed.stdout
        self.stderr = completed.stderr

    def __repr__(self) -> str:
        out, err = self.stdout[:200], self.stderr[:200]
        return f"<CLIResult rc={self.returncode} stdout={out!r} stderr={err!r}>"


@pytest.fixture
def cli():
    """Run ``python -m symcalc ARGS`` in a subprocess, the way a user does."""

    def run(*args: str, timeout: float = 300, cwd=None) -> CLIResult:
        completed = subprocess.run(
            [sys.executable, "-m", "symcalc", *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=cwd,
            env={**os.environ, "PYTHONIOENCODING": "utf-8", "MPLBACKEND": "Agg"},
        )
        return CLIResult(completed)

    return run

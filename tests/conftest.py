"""Shared test setup: a headless matplotlib backend, a seeded RNG, mpmath precision,
two CLI runners (in-process for speed, and a real subprocess for the console script),
and the groups that ``pytest -n`` hands to one worker each (`SHARED_WORK`)."""

from __future__ import annotations

import contextlib
import io
import os
import subprocess
import sys

# One BLAS thread per test process: with ``-n`` the workers already fill the cores, and
# OpenBLAS's extra threads spin while they wait for work (a 20,000 x 20 fit took 192 ms of
# CPU with the default threads, 17 ms with one).  Set before NumPy loads; the caller's
# own setting wins.
for _threads in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_threads, "1")
# The same for TorchInductor (``to_torch(..., compile=True)``): by default it starts a pool
# of compile worker processes, each importing PyTorch, beside a test worker that already
# fills its core.  In-process compiles: `test_fwspeed_torch_compile.py` alone (``-n 0``)
# took 11.1 s of CPU and 28 s of wall with the pool, 8.7 s and 18 s without; the same
# code is compiled.
os.environ.setdefault("TORCHINDUCTOR_COMPILE_THREADS", "1")
# TorchInductor's first compile in a process probes each SIMD instruction set the CPU
# lists (AMX, AVX-512 VNNI, AVX-512, AVX2) before it picks the first that works: it
# compiles a probe library for each (kept in its cache folder, /tmp/torchinductor_USER,
# so paid again after a reboot or on a fresh machine) and loads each in a subprocess of
# its own (every run).  Trusting the CPU's own list skips both.  The first compile of
# `test_fwspeed_torch_compile.py`, own + compiler CPU: cold cache 2.3 + 7.1 s with the
# probes, 2.3 + 1.9 s without; warm cache 1.9 + 0.9-1.1 s, 1.7-2.5 + 0.2-0.3 s; the same
# kernels (byte-identical C++ and flags).  Its first test, cold: 10.8-11.6 -> 6.7-6.8 s.
# ``TORCHINDUCTOR_VEC_ISA_OK=probe`` in the environment probes again (any value but 1 or
# 0; 0 means no SIMD at all).
os.environ.setdefault("TORCHINDUCTOR_VEC_ISA_OK", "1")

import matplotlib  # noqa: E402 - after the thread settings
import mpmath  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

matplotlib.use("Agg")

from mathtext_cache import share_mathtext_layouts  # noqa: E402

# One store of parsed mathtext formulas for every figure a test draws (matplotlib keeps 50
# per renderer): `tests/test_plotting.py` 44.5 -> 34.4 s of CPU, the same bytes drawn.
share_mathtext_layouts()

#: Test modules that derive, integrate and FTC-check the same catalog entries: with
#: ``-n``, one worker runs them all, so symcalc's in-process caches (finished
#: antiderivatives, tidied derivatives) serve them all; apart, each worker pays for the
#: same SymPy work again (about 60 CPU seconds).  Every other module is a unit of its own,
#: as ``--dist loadscope`` makes it, and the integral corpus too: it shares nothing, and
#: alone it balances the two workers.
SHARED_WORK = {
    "test_gallery.py": "catalog",
    "test_ftc.py": "catalog",
    "test_derivatives.py": "catalog",
    "test_integrals.py": "catalog",
}


def pytest_xdist_make_scheduler(config, log):
    """``--dist loadscope`` with the modules of `SHARED_WORK` as one unit."""
    if config.getoption("dist") != "loadscope":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class SharedWorkScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            path, _, name = nodeid.partition("::")
            module = path.rpartition("/")[2]
            if module == "test_integrals.py" and name.startswith("test_corpus_"):
                return "integral corpus"
            return SHARED_WORK.get(module) or super()._split_scope(nodeid)

    return SharedWorkScheduling(config, log)


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

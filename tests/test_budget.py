"""The time budget (`symcalc.symbolic.budget`): CPU time of a killable child, a wall-clock cap.

The truth for "how much CPU did the child use" is the kernel's own accounting of this
process's waited-for children (``resource.getrusage(RUSAGE_CHILDREN)``); for "the
answer does not depend on how busy the machine is", a child that waits (uses no CPU)
for longer than its budget, and one that computes while other processes burn CPU.
"""

from __future__ import annotations

import os
import resource
import signal
import subprocess
import sys
import time

import pytest

from symcalc.errors import TimeBudgetExceeded
from symcalc.symbolic import budget


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _spin(seconds: float | None = None) -> float:
    """Burn CPU for ``seconds`` of this process's CPU time (forever if None)."""
    start = time.process_time()
    while seconds is None or time.process_time() - start < seconds:
        pass
    return time.process_time() - start


def _nap(seconds: float) -> str:
    time.sleep(seconds)
    return "rested"


def _improving():
    """Yields 1, 2, 3 at once, then computes forever."""
    yield from (1, 2, 3)
    _spin()
    yield 4  # pragma: no cover - never reached within a budget


def test_waiting_does_not_count_against_the_budget():
    """A child that gets no CPU for 0.8 s (as on a busy machine) still has its 0.2 s."""
    start = time.monotonic()
    assert budget.within(0.2, _nap, 0.8) == "rested"
    assert time.monotonic() - start >= 0.8  # a wall-clock budget of 0.2 s would have failed


def test_work_is_stopped_when_its_cpu_time_is_spent():
    before = _children_cpu()
    start = time.monotonic()
    with pytest.raises(TimeBudgetExceeded, match="spinning did not finish within 0.3 s"):
        budget.within(0.3, _spin, what="spinning")
    used = _children_cpu() - before
    elapsed = time.monotonic() - start
    # the kernel samples CPU time for rusage at its clock tick: a few percent either way
    assert used < 0.3 + 0.25, f"the child used {used:.3f} s of CPU"
    # stopped by its CPU time, unless the machine is so busy that the wall-clock cap came first
    assert used >= 0.9 * 0.3 or elapsed >= budget.wall_clock_cap(0.3), (used, elapsed)


def test_a_child_that_waits_forever_is_stopped_by_the_wall_clock_cap():
    start = time.monotonic()
    with pytest.raises(TimeBudgetExceeded):
        budget.within(0.05, _nap, 60)
    elapsed = time.monotonic() - start
    cap = budget.wall_clock_cap(0.05)
    assert cap == pytest.approx(budget.WALL_CLOCK_FACTOR * 0.05 + budget.WALL_CLOCK_MARGIN)
    assert cap <= elapsed < cap + 1.0


def test_best_within_keeps_the_best_answer_when_cpu_time_runs_out():
    before = _children_cpu()
    assert budget.best_within(0.2, _improving) == (3, False)
    assert _children_cpu() - before >= 0.9 * 0.2


def test_errors_in_the_child_come_back_as_they_are():
    with pytest.raises(ZeroDivisionError):
        budget.within(5, divmod, 1, 0)


def test_the_answer_does_not_depend_on_other_processes_burning_cpu():
    """0.1 s of CPU under a 0.2 s budget succeeds while every core is kept busy.

    Beside one busy process per core (and whatever else runs) the child gets at most
    part of a core, so its 0.1 s of CPU take longer on the clock, often more than the
    0.2 s a wall-clock budget would allow.
    """
    burn = [sys.executable, "-c", "while True: pass"]
    burners = [subprocess.Popen(burn) for _ in range(os.cpu_count() or 1)]
    try:
        time.sleep(0.05)
        assert budget.within(0.2, _spin, 0.1) >= 0.1
    finally:
        for burner in burners:
            burner.kill()
            burner.wait()


def test_a_budget_child_ignores_ctrl_c_and_dies_with_its_parent():
    """SIGINT is the parent's to handle; SIGTERM ends the child; on Linux, so does the
    death of the parent (prctl PR_GET_PDEATHSIG, option 2, reads back SIGKILL)."""
    assert budget.within(5, signal.getsignal, signal.SIGINT) == signal.SIG_IGN
    assert budget.within(5, signal.getsignal, signal.SIGTERM) == signal.SIG_DFL
    if sys.platform.startswith("linux"):
        assert budget.within(5, _parent_death_signal) == signal.SIGKILL


def test_stop_signals_are_held_while_a_child_starts_and_released_in_it():
    """A Ctrl-C that lands while a child starts waits until the child ignores it."""
    stop = {signal.SIGINT, signal.SIGTERM, signal.SIGHUP}
    before = signal.pthread_sigmask(signal.SIG_BLOCK, [])
    with budget.holding_stop_signals():
        assert stop <= signal.pthread_sigmask(signal.SIG_BLOCK, [])
    assert signal.pthread_sigmask(signal.SIG_BLOCK, []) == before
    assert not stop & budget.within(5, signal.pthread_sigmask, signal.SIG_BLOCK, [])


def _parent_death_signal() -> int:
    import ctypes

    value = ctypes.c_int(0)
    ctypes.CDLL(None, use_errno=True).prctl(2, ctypes.byref(value), 0, 0, 0)
    return value.value


def _depth() -> int:
    """How many Python frames stand below this one."""
    frame, depth = sys._getframe(), 0
    while frame is not None:
        frame, depth = frame.f_back, depth + 1
    return depth


def _called_deep(frames: int, func, *args):
    return _called_deep(frames - 1, func, *args) if frames else func(*args)


def test_the_child_starts_on_a_fresh_stack_however_deep_its_caller_stands():
    """A child forked 300 frames deep works at the depth of one forked from the top.

    (CPython 3.11-3.12 map and unmap a 16 KiB chunk of frames each time the depth crosses
    its edge: a child that inherited its caller's depth met those edges wherever the
    caller happened to stand, and SymPy's recursion could cross one 10⁵ times.)"""
    shallow = budget.within(10, _depth)
    deep = _called_deep(300, budget.within, 10, _depth)
    assert _called_deep(300, _depth) >= _depth() + 300  # the caller was deep
    assert deep == shallow < 40
    progressive = budget.best_within(10, _depths)
    assert _called_deep(300, budget.best_within, 10, _depths) == progressive == (shallow, True)


def _depths():
    yield _depth() - 1  # as deep as `_depth` called from the child's target


def _collector_counts() -> tuple[int, int]:
    """Objects frozen out of the collector's reach, and objects it still walks as old."""
    import gc

    return gc.get_freeze_count(), len(gc.get_objects(generation=2))


def _progressive_collector_counts():
    yield _collector_counts()


def test_a_child_never_walks_the_objects_it_inherited():
    """The child's garbage collector leaves the parent's objects alone: walking them writes
    to every page of the parent's heap, which the child must then copy (a child forked
    from a worker with SymPy, JAX and PyTorch loaded spent a quarter of its CPU on it)."""
    import gc

    inherited = len(gc.get_objects())
    assert inherited > 50_000  # SymPy alone
    for frozen, old in (
        budget.within(10, _collector_counts),
        budget.best_within(10, _progressive_collector_counts)[0],
    ):
        assert frozen >= 0.9 * inherited
        assert old < 0.01 * inherited


def _nested_steps():
    import sympy

    x = sympy.Symbol("x")
    yield budget.within(10, sympy.factor, x**2 - 1)  # a budget asked for inside a budget
    yield budget.best_within(10, iter, [x + 1])


def test_a_budget_asked_for_inside_a_budget_runs_under_the_outer_one():
    """Kinks solved under a budget inside `derivative_bound`'s budgeted child raised
    'daemonic processes are not allowed to have children'; the inner work now runs in
    the child, under the budget already armed there."""
    import sympy

    x = sympy.Symbol("x")
    value = budget.within(30, budget.within, 10, sympy.factor, x**2 - 1)
    assert value == (x - 1) * (x + 1)
    last, finished = budget.best_within(30, _nested_steps)
    assert finished and last == (x + 1, True)

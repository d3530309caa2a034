"""The time budget's paths: work that finishes, overruns, crashes or fails is reported as
itself; exceptions come back with their details; results that cannot travel say so."""

from __future__ import annotations

import multiprocessing
import os
import pickle
import threading
import time

import pytest
import sympy

from symcalc.errors import ParseError, SymcalcError, TimeBudgetExceeded
from symcalc.symbolic import budget


def _spin():
    """CPU-bound work that never ends (a budget counting CPU or wall time stops it alike)."""
    while True:
        pass


def _crash():
    os._exit(3)  # the worker dies without a word


def _fail(error):
    raise error


def _unpicklable():
    return threading.Lock()


def _squares_then_spin():
    yield 1
    yield 4
    _spin()


def _squares_then_crash():
    yield 1
    _crash()


def _squares_then_fail():
    yield 1
    raise ValueError("third square refused")


def _yields_a_lock():
    yield 1
    yield threading.Lock()


# -- within ------------------------------------------------------------------------------


def test_work_that_finishes_returns_its_value():
    x = sympy.Symbol("x")
    assert budget.within(30, sympy.factor, x**2 - 1) == (x - 1) * (x + 1)


def test_overrunning_work_is_stopped_and_reported():
    start = time.monotonic()
    with pytest.raises(TimeBudgetExceeded, match="spinning did not finish within 0.3 s") as over:
        budget.within(0.3, _spin, what="spinning")
    assert over.value.what == "spinning" and over.value.seconds == 0.3
    assert time.monotonic() - start < 10
    assert multiprocessing.active_children() == []  # the worker was killed and reaped


def test_the_report_names_the_function_when_no_what_is_given():
    with pytest.raises(TimeBudgetExceeded, match="_spin did not finish within 0.2 s"):
        budget.within(0.2, _spin)


def test_a_crashed_worker_is_an_error_not_a_hang():
    with pytest.raises(RuntimeError, match="integration crashed its worker process"):
        budget.within(30, _crash, what="integration")


@pytest.mark.parametrize(
    "error",
    [
        ValueError("bad value"),
        ZeroDivisionError("division by zero"),
        SymcalcError("`order` must be a whole number", parameter="order"),
        ParseError("unbalanced parenthesis", column=4),
        TimeBudgetExceeded("inner work", 1.5),
        NotImplementedError("no rule"),
    ],
    ids=lambda e: type(e).__name__,
)
def test_exceptions_come_back_as_themselves(error):
    with pytest.raises(type(error)) as raised:
        budget.within(30, _fail, error)
    assert str(raised.value) == str(error)
    assert vars(raised.value) == vars(error)  # parameter, column, what/seconds survive


def test_every_symcalc_error_pickles_with_its_details():
    for error in (
        SymcalcError("m", parameter="tol"),
        ParseError("m", column=2),
        TimeBudgetExceeded("w", 2.0),
    ):
        again = pickle.loads(pickle.dumps(error))
        assert type(again) is type(error) and str(again) == str(error)
        assert vars(again) == vars(error)


def test_a_result_that_cannot_be_pickled_says_so():
    with pytest.raises(RuntimeError, match="result not picklable"):
        budget.within(30, _unpicklable)


def test_no_limit_runs_in_this_process():
    pid = budget.within(None, os.getpid)
    assert pid == os.getpid() == budget.within(0, os.getpid)
    assert budget.within(30, os.getpid) != os.getpid()


# -- best_within -------------------------------------------------------------------------


def test_the_best_answer_so_far_is_kept_when_time_runs_out():
    assert budget.best_within(0.5, _squares_then_spin) == (4, False)


def test_a_generator_that_finishes_gives_its_last_value():
    assert budget.best_within(30, lambda: iter([1, 4, 9])) == (9, True)
    assert budget.best_within(None, lambda: iter([1, 4, 9])) == (9, True)


def test_nothing_in_time_is_none():
    assert budget.best_within(0.3, _spin_generator) == (None, False)


def _spin_generator():
    _spin()
    yield 1  # pragma: no cover - never reached


def test_a_crash_keeps_what_came_before():
    assert budget.best_within(30, _squares_then_crash) == (1, False)


def test_an_exception_after_some_values_comes_back():
    with pytest.raises(ValueError, match="third square refused"):
        budget.best_within(30, _squares_then_fail)


def test_an_unpicklable_value_is_an_error():
    with pytest.raises(TypeError, match="cannot pickle"):
        budget.best_within(30, _yields_a_lock)

"""Run symbolic work that may take long (simplify, integrate, solve) under a time budget.

SymPy has no timeouts of its own and a thread cannot be stopped, so the work runs in a
forked child process that is killed when the budget runs out.  The result comes back
pickled.  Where ``fork`` is unavailable (Windows), a fresh ``spawn`` process is used
instead; it is slower to start but just as stoppable.

The budget is **CPU time of the child**, not time on the clock, so an answer does not
depend on how busy the machine is: on a loaded machine the child gets less of a core
and takes longer, but the same work finds the same answer.  The kernel keeps the count:
the child arms a profiling timer (``ITIMER_PROF``, its user plus system CPU time) whose
signal, ``SIGPROF``, ends it the moment the budget is spent.  A wall-clock safety cap,
`wall_clock_cap` (`WALL_CLOCK_FACTOR` times the budget plus `WALL_CLOCK_MARGIN`), ends a
child that waits without computing (a lock held across ``fork``, a stalled pipe).
Where there is no profiling timer (Windows) the budget is wall-clock time.

The child never outlives its caller: it is killed when the budget runs out, when the
caller is interrupted (Ctrl-C reaches the caller, which stops the child; the child
itself ignores SIGINT), and on Linux also when the parent process dies however it
dies, even by SIGKILL (the parent-death signal, `bind_to_parent`).  Worker processes
elsewhere in symcalc (the gallery's ``jobs``) use `bind_to_parent` the same way.
"""

from __future__ import annotations

import contextlib
import gc
import math
import multiprocessing as mp
import os
import pickle
import signal
import sys
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from ..errors import SymcalcError, TimeBudgetExceeded
from .lean import preload, units_placeholder

__all__ = [
    "DEFAULT_SECONDS",
    "default_seconds",
    "WALL_CLOCK_FACTOR",
    "WALL_CLOCK_MARGIN",
    "best_within",
    "bind_to_parent",
    "cpu_seconds",
    "deadline",
    "holding_stop_signals",
    "wall_clock_cap",
    "within",
]

T = TypeVar("T")

#: Budget, in seconds of CPU time, for one piece of symbolic work when SYMCALC_TIME_BUDGET
#: is not set.
DEFAULT_SECONDS = 5.0
#: The wall-clock safety cap is this many times the CPU budget (plus `WALL_CLOCK_MARGIN`):
#: a child on a machine ten times oversubscribed still gets its whole budget.
WALL_CLOCK_FACTOR = 10.0
#: Seconds added to the wall-clock cap, for starting the child on a busy machine.
WALL_CLOCK_MARGIN = 1.0

#: Whether the CPU-time budget is available (a POSIX profiling timer).
_CPU_TIMER = hasattr(signal, "setitimer") and hasattr(signal, "SIGPROF")
#: Linux prctl option: the signal a process gets when its parent dies.
_PR_SET_PDEATHSIG = 1
#: Signals that stop symcalc: held while a child starts, until it has set up its handling.
_STOP_SIGNALS = frozenset(
    getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name)
)


def default_seconds() -> float:
    """The budget for one piece of symbolic work, read now: ``SYMCALC_TIME_BUDGET`` or 5 s.

    Functions take ``timeout=None`` to mean this, so setting the variable at any time
    counts (``math.inf`` means no limit).

    Examples
    --------
    >>> default_seconds() > 0
    True
    """
    text = os.environ.get("SYMCALC_TIME_BUDGET", "").strip()
    try:
        seconds = float(text) if text else DEFAULT_SECONDS
    except ValueError:
        seconds = math.nan
    if not 0 < seconds < math.inf:
        raise SymcalcError(
            f"SYMCALC_TIME_BUDGET must be a positive number of seconds, got {text!r}"
        )
    return seconds


def wall_clock_cap(seconds: float) -> float:
    """The wall-clock time after which work with a CPU budget of ``seconds`` is stopped.

    Examples
    --------
    >>> wall_clock_cap(5) if _CPU_TIMER else 51.0
    51.0
    """
    if not _CPU_TIMER:  # pragma: no cover - Windows: the budget itself is wall-clock time
        return seconds
    return WALL_CLOCK_FACTOR * seconds + WALL_CLOCK_MARGIN


@contextlib.contextmanager
def holding_stop_signals() -> Iterator[None]:
    """Hold SIGINT, SIGTERM and SIGHUP in this thread while inside; deliver them after.

    Start child processes inside it: a child inherits the hold and releases it in
    `bind_to_parent`, once it ignores Ctrl-C, so a Ctrl-C that lands while a child is
    starting never runs the parent's handler (and prints a traceback) in the child.

    Examples
    --------
    >>> with holding_stop_signals():
    ...     pass
    """
    if not hasattr(signal, "pthread_sigmask"):  # pragma: no cover - Windows
        yield
        return
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, _STOP_SIGNALS)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def _die_with_parent() -> None:
    """Ask Linux to SIGKILL this process when its parent dies (no-op elsewhere)."""
    if not sys.platform.startswith("linux"):  # pragma: no cover
        return
    import ctypes

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
    except (OSError, AttributeError):  # pragma: no cover - no prctl: rely on the caller
        pass


def bind_to_parent(parent: int) -> None:
    """In a child process: end when the parent process ``parent`` ends, and leave Ctrl-C to it.

    Ignores SIGINT (a terminal sends it to the whole process group; the parent stops
    its children itself), restores the default SIGTERM and SIGHUP (end at once), and
    on Linux arms the parent-death signal, so the child is killed even when the parent
    is killed with SIGKILL.  If the parent died before that, the child exits at once.
    Then it releases the signals `holding_stop_signals` held while it started.

    Examples
    --------
    Every child of `within` and `best_within` is bound this way:

    >>> import signal
    >>> within(10, signal.getsignal, signal.SIGINT) == signal.SIG_IGN
    True
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    for name in ("SIGTERM", "SIGHUP"):
        if hasattr(signal, name):
            signal.signal(getattr(signal, name), signal.SIG_DFL)
    _die_with_parent()
    if os.getppid() != parent:  # pragma: no cover - the parent died while we started
        os._exit(1)
    if hasattr(signal, "pthread_sigmask"):
        signal.pthread_sigmask(signal.SIG_UNBLOCK, _STOP_SIGNALS)


#: True in a budget's child process: budgeted work asked for there runs in the child
#: itself, under the budget already armed (a daemonic process may not fork children).
_IN_BUDGET = False


def _start_budget(parent: int, seconds: float | None) -> None:  # pragma: no cover - child
    """In the child: leave the parent's objects to the parent, bind to it, arm the budget.

    ``gc.freeze()`` first: the child's collector then never walks the objects it
    inherited, so it does not write to (copy) every page of the parent's heap.  Forked
    from a process with SymPy, JAX and PyTorch loaded, eight tidyings of gelu_tanh-like
    second derivatives took 7.1 s of the children's CPU and 149,000 page faults; frozen,
    5.1 s and 38,000.  It costs nothing: freezing moves a list head, not the objects.
    """
    global _IN_BUDGET
    _IN_BUDGET = True
    gc.freeze()
    bind_to_parent(parent)
    if seconds and _CPU_TIMER:
        signal.signal(signal.SIGPROF, signal.SIG_DFL)  # default action: end the process
        signal.setitimer(signal.ITIMER_PROF, seconds)


@contextlib.contextmanager
def _timer_held() -> Iterator[None]:  # pragma: no cover - runs in the child
    """Hold SIGPROF while a message is sent, so the budget never ends the child mid-message."""
    if not _CPU_TIMER:
        yield
        return
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGPROF})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGPROF})


def _send(conn, message) -> None:  # pragma: no cover - runs in the child
    data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    with _timer_held():
        conn.send_bytes(data)


def _child(conn, parent, seconds, func, args, kwargs):  # pragma: no cover - child process
    _start_budget(parent, seconds)
    try:
        with units_placeholder():
            result = ("ok", func(*args, **kwargs))
    except BaseException as exc:  # noqa: BLE001 - sent back to the parent as is
        result = ("error", exc)
    try:
        _send(conn, result)
    except Exception as exc:  # noqa: BLE001 - unpicklable results become an error
        _send(conn, ("error", RuntimeError(f"result not picklable: {exc}")))
    finally:
        conn.close()


def _child_progressive(conn, parent, seconds, func, args, kwargs):  # pragma: no cover - child
    _start_budget(parent, seconds)
    try:
        with units_placeholder():
            for value in func(*args, **kwargs):
                _send(conn, ("value", value))
        _send(conn, ("done", None))
    except BaseException as exc:  # noqa: BLE001 - sent back to the parent as is
        try:
            _send(conn, ("error", exc))
        except Exception:  # noqa: BLE001
            _send(conn, ("error", RuntimeError(str(exc))))
    finally:
        conn.close()


def _context():
    # fork is fast and needs no importable __main__; with other threads alive (dask,
    # BLAS pools) a forked child could in principle block on a lock another thread
    # held, and then the wall-clock cap ends it like any other overrun.
    if "fork" in mp.get_all_start_methods():
        return mp.get_context("fork")
    return mp.get_context("spawn")  # pragma: no cover - Windows


class _Child:
    """A child process running ``target`` with the parent's end of its pipe.

    Made before the fork and stopped in a ``finally``, so an interrupt at any moment of
    the start still ends the child.

    The child is forked by a thread of its own, `_ForkingThread`, which waits until the
    child is stopped.  A forked child goes on from the stack of the thread that forked
    it, and the caller may stand hundreds of Python frames deep (in pytest, a notebook,
    the gallery's workers).  CPython 3.11 and 3.12 keep Python frames in 16 KiB chunks
    that they map and unmap as the depth crosses a chunk's edge (CPython issue
    gh-142183), so SymPy's recursion, going back and forth across an edge, could map and
    unmap one chunk hundreds of thousands of times: a derivative's 2 s of tidying, in a
    child forked inside pytest, spent 3 s more in the kernel.  Forked from a new thread,
    the child starts near the bottom of a fresh stack (that thread is its main thread),
    so the same work meets the same edges wherever it is asked for.
    """

    def __init__(self, target, args: tuple):
        preload()  # once here, not once in every child and again here
        ctx = _context()
        self.receiver, self._sender = ctx.Pipe(duplex=False)
        self.process = ctx.Process(
            target=target, args=(self._sender, os.getpid(), *args), daemon=True
        )
        self._forker: _ForkingThread | None = None

    def start(self) -> None:
        with warnings.catch_warnings(), holding_stop_signals():
            # Python 3.12+ warns that fork() with threads alive may deadlock; see _context.
            warnings.filterwarnings("ignore", message=".*fork.*", category=DeprecationWarning)
            # JAX warns the same at every fork once imported; the child never touches JAX.
            warnings.filterwarnings("ignore", message=".*fork.*", category=RuntimeWarning)
            self._forker = _ForkingThread(self.process.start)  # inherits the held signals
            self._forker.wait_started()
        self._sender.close()

    def stop(self) -> None:
        """Close the pipe and make sure the child is gone (killed if still running)."""
        self._sender.close()
        self.receiver.close()
        if self.process.pid is not None:  # started
            if self.process.is_alive():
                self.process.kill()
            self.process.join()
        if self._forker is not None:
            self._forker.release()


class _ForkingThread:
    """A thread that calls ``start()`` (which forks a child) and lives until `release`.

    It must outlive the child: on Linux the parent-death signal (`bind_to_parent`) is
    sent when the *thread* that forked the child ends.
    """

    def __init__(self, start: Callable[[], None]):
        self._started = threading.Event()
        self._released = threading.Event()
        self._failed: list[BaseException] = []
        self._thread = threading.Thread(
            target=self._run, args=(start,), name="symcalc-budget-fork", daemon=True
        )
        self._thread.start()

    def _run(self, start: Callable[[], None]) -> None:
        try:
            start()
        except BaseException as exc:  # noqa: BLE001 - re-raised in the caller's thread
            self._failed.append(exc)
        finally:
            self._started.set()
        self._released.wait()

    def wait_started(self) -> None:
        """Wait until the child is forked; re-raise what stopped the fork, if anything."""
        self._started.wait()
        if self._failed:
            raise self._failed[0]

    def release(self) -> None:
        """Let the thread end (the child is gone) and wait for it."""
        self._released.set()
        self._thread.join()


def _spent(process) -> bool:
    """Whether a child that ended without answering was ended by its CPU budget."""
    process.join(timeout=5)
    return _CPU_TIMER and process.exitcode == -signal.SIGPROF


def cpu_seconds() -> float:
    """CPU time of this process and of its finished children (the budget's workers): the
    clock of a budget shared by several pieces of work (`symcalc.symbolic.derivatives.derive`
    gives one to all its orders).

    Examples
    --------
    >>> cpu_seconds() > 0
    True
    """
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def within(
    seconds: float | None, func: Callable[..., T], *args: Any, what: str = "", **kwargs: Any
) -> T:
    """Return ``func(*args, **kwargs)``, or raise `TimeBudgetExceeded` after ``seconds``.

    ``seconds`` is CPU time of the child process that does the work (wall-clock time
    where there is no profiling timer); a child that waits without computing is
    stopped after `wall_clock_cap` seconds.  ``seconds=None``, ``0`` or ``math.inf`` runs
    the work in this process with no limit; so does a call inside another budget's child,
    under that budget.  Exceptions raised by ``func`` are re-raised here.

    Examples
    --------
    >>> import sympy
    >>> within(10, sympy.factor, sympy.sympify("x**2 - 1"))
    (x - 1)*(x + 1)
    """
    if not seconds or seconds == math.inf or _IN_BUDGET:
        return func(*args, **kwargs)
    seconds = _left_of_deadline(seconds)
    name = what or getattr(func, "__name__", "symbolic work")
    child = _Child(_child, (seconds, func, args, kwargs))
    try:
        child.start()
        if not child.receiver.poll(wall_clock_cap(seconds)):
            raise TimeBudgetExceeded(name, seconds)
        try:
            status, value = pickle.loads(child.receiver.recv_bytes())
        except (EOFError, OSError):
            if _spent(child.process):
                raise TimeBudgetExceeded(name, seconds) from None
            raise RuntimeError(f"{what or 'symbolic work'} crashed its worker process") from None
    finally:
        with _deadline_held():
            child.stop()
        _arm_deadline()  # the child's CPU time counts against an open deadline
    if status == "error":
        raise value
    return value


def best_within(
    seconds: float | None, func: Callable[..., Iterator[T]], *args: Any, **kwargs: Any
) -> tuple[T | None, bool]:
    """The last value ``func(*args)`` yields within ``seconds``, and whether it finished.

    For work that improves an answer step by step (try a cheap simplification, then a
    costly one): when time runs out, the best answer so far is kept, not thrown away.
    Returns ``(None, False)`` if nothing was yielded in time.  ``seconds`` counts as in
    `within`: CPU time of the child, with a wall-clock safety cap.

    Examples
    --------
    >>> def squares():
    ...     yield from (k * k for k in range(4))
    >>> best_within(10, squares)
    (9, True)
    """
    if not seconds or seconds == math.inf or _IN_BUDGET:
        last = None
        for value in func(*args, **kwargs):
            last = value
        return last, True
    seconds = _left_of_deadline(seconds)
    child = _Child(_child_progressive, (seconds, func, args, kwargs))
    last: T | None = None
    finished = False
    try:
        child.start()
        deadline = time.monotonic() + wall_clock_cap(seconds)
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not child.receiver.poll(remaining):
                break
            try:
                status, value = pickle.loads(child.receiver.recv_bytes())
            except (EOFError, OSError):
                break  # the budget ended the child (or it crashed): keep the best so far
            except RecursionError:
                # a form SymPy cannot rebuild (a Piecewise whose decimal conditions it
                # flips for ever, kept unevaluated): keep the best so far
                break
            if status == "value":
                last = value
            elif status == "done":
                finished = True
                break
            else:
                raise value
    finally:
        with _deadline_held():
            child.stop()
        _arm_deadline()
    return last, finished


# -- one budget for a whole piece of work in this process ----------------------------------

#: The open `deadline` blocks of this process, outermost first: (the `cpu_seconds` at which
#: it ends, its seconds, what it bounds).
_DEADLINES: list[tuple[float, float, str]] = []
#: Sections a deadline may not interrupt (stopping a child): depth of nesting.
_HELD = 0
#: After a deadline passes, its signal comes again every this many CPU seconds until the
#: block is left, so that code catching `TimeBudgetExceeded` for a step of its own (and
#: going on without it) cannot swallow the deadline's.
_REPEAT = 0.05


@contextlib.contextmanager
def deadline(seconds: float | None, what: str) -> Iterator[None]:
    """Raise `TimeBudgetExceeded` in the block once it has spent ``seconds`` of CPU time,
    its budget children's included (each child gets at most what is left).

    For work in this process made of many steps, each bounded or cheap alone, whose
    sum is not (a kernel's stable form of x^x^x^x^x^x: its checks at 50 digits ran
    for minutes).  The profiling timer (``ITIMER_PROF``) interrupts Python code where
    it stands.  ``seconds=None``, ``0`` or ``math.inf`` is no limit, and so is a block
    outside the main thread (signals reach only the main thread), without a profiling
    timer (Windows), or inside a budget's child (the child's own budget holds).
    Blocks nest; the first to end ends its enclosing ones too.

    Examples
    --------
    >>> with deadline(10, "nothing much"):
    ...     sum(range(10))
    45
    """
    if (
        not seconds
        or seconds == math.inf
        or _IN_BUDGET
        or not _CPU_TIMER
        or threading.current_thread() is not threading.main_thread()
    ):
        yield
        return
    mark = (cpu_seconds() + seconds, seconds, what)
    outermost = not _DEADLINES
    previous = signal.signal(signal.SIGPROF, _deadline_passed) if outermost else None
    _DEADLINES.append(mark)
    try:
        _arm_deadline()
        yield
    finally:
        _DEADLINES.remove(mark)
        if outermost:
            signal.setitimer(signal.ITIMER_PROF, 0)
            signal.signal(signal.SIGPROF, previous)
        else:
            _arm_deadline()


def _arm_deadline() -> None:
    """Set the profiling timer to the nearest open deadline (nothing where none is open)."""
    if not _DEADLINES or _IN_BUDGET:
        return
    left = min(end for end, _, _ in _DEADLINES) - cpu_seconds()
    signal.setitimer(signal.ITIMER_PROF, max(left, 1e-3), _REPEAT)


def _deadline_passed(signum, frame) -> None:
    """SIGPROF in a `deadline` block: raise for the outermost deadline that has passed."""
    now = cpu_seconds()
    passed = [(seconds, what) for end, seconds, what in _DEADLINES if now >= end]
    if not passed:  # woken early: time spent in children since the timer was set
        _arm_deadline()
        return
    if _HELD:
        return  # the timer comes again in `_REPEAT` s
    seconds, what = passed[0]
    raise TimeBudgetExceeded(what, seconds)


def _left_of_deadline(seconds: float) -> float:
    """``seconds`` for a child, no more than the open deadlines leave (1 ms at least)."""
    if not _DEADLINES:
        return seconds
    left = min(end for end, _, _ in _DEADLINES) - cpu_seconds()
    return max(min(seconds, left), 1e-3)


@contextlib.contextmanager
def _deadline_held() -> Iterator[None]:
    """A section no deadline interrupts (it is raised after it)."""
    global _HELD
    _HELD += 1
    try:
        yield
    finally:
        _HELD -= 1

"""Run symbolic work that may take long (simplify, integrate, solve) under a time budget.

SymPy has no timeouts of its own and a thread cannot be stopped, so the work runs in a
forked child process that is killed when the budget runs out.  The result comes back
pickled.  Where ``fork`` is unavailable (Windows), a fresh ``spawn`` process is used
instead; it is slower to start but just as stoppable.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import pickle
import time
import warnings
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from ..errors import TimeBudgetExceeded

__all__ = ["DEFAULT_SECONDS", "best_within", "within"]

T = TypeVar("T")

#: Default budget, in seconds, for one piece of symbolic work.
DEFAULT_SECONDS = float(os.environ.get("SYMCALC_TIME_BUDGET", "5"))


def _child(conn, func, args, kwargs):  # pragma: no cover - runs in the child process
    try:
        result = ("ok", func(*args, **kwargs))
    except BaseException as exc:  # noqa: BLE001 - sent back to the parent as is
        result = ("error", exc)
    try:
        conn.send_bytes(pickle.dumps(result, protocol=pickle.HIGHEST_PROTOCOL))
    except Exception as exc:  # noqa: BLE001 - unpicklable results become an error
        conn.send_bytes(pickle.dumps(("error", RuntimeError(f"result not picklable: {exc}"))))
    finally:
        conn.close()


def _child_progressive(conn, func, args, kwargs):  # pragma: no cover - runs in the child
    try:
        for value in func(*args, **kwargs):
            conn.send_bytes(pickle.dumps(("value", value), protocol=pickle.HIGHEST_PROTOCOL))
        conn.send_bytes(pickle.dumps(("done", None)))
    except BaseException as exc:  # noqa: BLE001 - sent back to the parent as is
        try:
            conn.send_bytes(pickle.dumps(("error", exc)))
        except Exception:  # noqa: BLE001
            conn.send_bytes(pickle.dumps(("error", RuntimeError(str(exc)))))
    finally:
        conn.close()


def _context():
    # fork is fast and needs no importable __main__; with other threads alive (dask,
    # BLAS pools) a forked child could in principle block on a lock another thread
    # held, and then the budget's timeout ends it like any other overrun.
    if "fork" in mp.get_all_start_methods():
        return mp.get_context("fork")
    return mp.get_context("spawn")  # pragma: no cover - Windows


def _start(process) -> None:
    with warnings.catch_warnings():
        # Python 3.12+ warns that fork() with threads alive may deadlock; see _context.
        warnings.filterwarnings("ignore", message=".*fork.*", category=DeprecationWarning)
        # JAX warns the same at every fork once imported; the child never touches JAX.
        warnings.filterwarnings("ignore", message=".*fork.*", category=RuntimeWarning)
        process.start()


def within(
    seconds: float | None, func: Callable[..., T], *args: Any, what: str = "", **kwargs: Any
) -> T:
    """Return ``func(*args, **kwargs)``, or raise `TimeBudgetExceeded` after ``seconds``.

    ``seconds=None`` or ``0`` runs the work in this process with no limit.
    Exceptions raised by ``func`` are re-raised here.

    Examples
    --------
    >>> import sympy
    >>> within(10, sympy.factor, sympy.sympify("x**2 - 1"))
    (x - 1)*(x + 1)
    """
    if not seconds:
        return func(*args, **kwargs)
    ctx = _context()
    receiver, sender = ctx.Pipe(duplex=False)
    process = ctx.Process(target=_child, args=(sender, func, args, kwargs), daemon=True)
    _start(process)
    sender.close()
    try:
        if not receiver.poll(seconds):
            raise TimeBudgetExceeded(what or getattr(func, "__name__", "symbolic work"), seconds)
        status, value = pickle.loads(receiver.recv_bytes())
    except EOFError:
        raise RuntimeError(f"{what or 'symbolic work'} crashed its worker process") from None
    finally:
        receiver.close()
        if process.is_alive():
            process.kill()
        process.join()
    if status == "error":
        raise value
    return value


def best_within(
    seconds: float | None, func: Callable[..., Iterator[T]], *args: Any, **kwargs: Any
) -> tuple[T | None, bool]:
    """The last value ``func(*args)`` yields within ``seconds``, and whether it finished.

    For work that improves an answer step by step (try a cheap simplification, then a
    costly one): when time runs out, the best answer so far is kept, not thrown away.
    Returns ``(None, False)`` if nothing was yielded in time.

    Examples
    --------
    >>> def squares():
    ...     yield from (k * k for k in range(4))
    >>> best_within(10, squares)
    (9, True)
    """
    if not seconds:
        last = None
        for value in func(*args, **kwargs):
            last = value
        return last, True
    ctx = _context()
    receiver, sender = ctx.Pipe(duplex=False)
    process = ctx.Process(target=_child_progressive, args=(sender, func, args, kwargs), daemon=True)
    _start(process)
    sender.close()
    deadline = time.monotonic() + seconds
    last: T | None = None
    finished = False
    try:
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not receiver.poll(remaining):
                break
            try:
                status, value = pickle.loads(receiver.recv_bytes())
            except EOFError:
                break
            if status == "value":
                last = value
            elif status == "done":
                finished = True
                break
            else:
                raise value
    finally:
        receiver.close()
        if process.is_alive():
            process.kill()
        process.join()
    return last, finished

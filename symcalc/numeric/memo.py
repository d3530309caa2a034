"""`remembered`: a pure function's results kept by argument, a bounded number, built once.

A kernel build, its derivative levels and the JAX, PyTorch and NumPy module exports of
the same formula ask the compiler the same questions (pre-lower this stable form, the
interval of this branch condition).  A function wrapped by `remembered` answers a
question it has answered before with the very same object, and threads asking at once a
new question wait for the one that builds it (a lock per key, as `kernel`'s own cache
has).  The least recently used answers are dropped past ``maxsize``; a failed build
keeps nothing.  Only for functions whose answer depends on their (hashable) arguments
alone and that return values nobody mutates (SymPy expressions, tuples).
"""

from __future__ import annotations

import collections
import functools
import threading
from collections.abc import Callable, Hashable
from typing import Any, Generic, NamedTuple, TypeVar

__all__ = ["BuiltOnce", "CacheInfo", "Remembered", "remembered"]

R = TypeVar("R")


class CacheInfo(NamedTuple):
    """How often a `Remembered` function answered from memory (``hits``) or built
    (``misses``), and how many answers it holds (``size``, at most ``maxsize``)."""

    hits: int
    misses: int
    size: int
    maxsize: int


class BuiltOnce(Generic[R]):
    """Values by key, at most ``maxsize`` of them (the least recently used leave first),
    each built once however many threads ask at the same time: a thread asking for a key
    being built waits for that build (a lock per key), different keys build in parallel,
    and a failed build keeps nothing.  The one mechanism behind `remembered` and the
    kernel cache (`symcalc.numeric.kernels.api`).

    Examples
    --------
    >>> store = BuiltOnce(maxsize=2)
    >>> store.get("a", lambda: 1), store.get("a", lambda: 2), len(store)
    (1, 1, 1)
    """

    def __init__(self, maxsize: int):
        if maxsize < 1:
            raise ValueError(f"maxsize must be at least 1, got {maxsize!r}")
        self.maxsize = maxsize
        self._values: collections.OrderedDict[Hashable, R] = collections.OrderedDict()
        #: Guards the dictionaries and counts (held only for dictionary operations).
        self._lock = threading.Lock()
        #: One lock per key being built; re-entrant, so a build that asks its own
        #: question again (a recursion) builds it again instead of waiting for itself.
        self._building: dict[Hashable, threading.RLock] = {}
        self._hits = 0
        self._misses = 0

    def get(self, key: Hashable, build: Callable[[], R]) -> R:
        """The value for ``key``, from ``build()`` the first time."""
        found, value = self._lookup(key)
        if found:
            return value
        with self._lock:
            building = self._building.setdefault(key, threading.RLock())
        with building:
            found, value = self._lookup(key)  # another thread may have built it meanwhile
            if found:
                return value
            try:
                value = build()
            except BaseException:
                with self._lock:
                    self._building.pop(key, None)
                raise
            with self._lock:  # kept and no longer building in one step
                self._misses += 1
                self._values[key] = value
                self._building.pop(key, None)
                while len(self._values) > self.maxsize:
                    self._values.popitem(last=False)
        return value

    def _lookup(self, key: Hashable) -> tuple[bool, Any]:
        with self._lock:
            if key in self._values:
                self._values.move_to_end(key)
                self._hits += 1
                return True, self._values[key]
        return False, None

    @property
    def building(self) -> tuple[Hashable, ...]:
        """The keys being built now."""
        with self._lock:
            return tuple(self._building)

    def __len__(self) -> int:
        return len(self._values)

    def cache_info(self) -> CacheInfo:
        """Hits, misses and size so far (as `functools.lru_cache` reports them)."""
        with self._lock:
            return CacheInfo(self._hits, self._misses, len(self._values), self.maxsize)

    def clear(self) -> None:
        """Forget every value (and the counts)."""
        with self._lock:
            self._values.clear()
            self._hits = self._misses = 0


class Remembered(Generic[R]):
    """``function`` with its answers kept by argument (see `remembered`)."""

    def __init__(
        self,
        function: Callable[..., R],
        maxsize: int,
        key: Callable[..., Hashable] | None = None,
    ):
        functools.update_wrapper(self, function)
        self._function = function
        self._key = key
        self._store: BuiltOnce[R] = BuiltOnce(maxsize)

    def __call__(self, *args: Any, **kwargs: Any) -> R:
        if self._key is not None:
            key = self._key(*args, **kwargs)
        else:
            key = (args, tuple(sorted(kwargs.items()))) if kwargs else args
        return self._store.get(key, lambda: self._function(*args, **kwargs))

    def cache_info(self) -> CacheInfo:
        """Hits, misses and size so far (as `functools.lru_cache` reports them)."""
        return self._store.cache_info()

    def cache_clear(self) -> None:
        """Forget every answer (and the counts)."""
        self._store.clear()


def remembered(
    maxsize: int = 512, key: Callable[..., Hashable] | None = None
) -> Callable[[Callable[..., R]], Remembered[R]]:
    """A decorator: the function's answers kept by argument, at most ``maxsize`` of them,
    each built once however many threads ask at the same time.  ``key``, called with the
    function's arguments, gives the key where they are not hashable themselves, or
    where equal arguments are not equal as they are (default: the arguments).

    Examples
    --------
    >>> calls = []
    >>> @remembered(maxsize=2)
    ... def square(k):
    ...     calls.append(k)
    ...     return k * k
    >>> square(3), square(3), square(4), calls
    (9, 9, 16, [3, 4])
    >>> square.cache_info()
    CacheInfo(hits=1, misses=2, size=2, maxsize=2)
    """

    def decorate(function: Callable[..., R]) -> Remembered[R]:
        return Remembered(function, maxsize, key)

    return decorate

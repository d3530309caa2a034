"""`Memo`: values built once per key, thread-safe, for the exports' levels and kernels."""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable, Iterator
from typing import Generic, TypeVar

__all__ = ["Memo"]

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class Memo(Generic[K, V]):
    """A value per key, built by ``build(key)`` the first time it is asked for, under a
    re-entrant lock (a build may ask for other keys; owners may share one lock).

    Examples
    --------
    >>> squares = Memo()
    >>> squares.get(3, lambda k: k * k), squares.get(3, lambda k: 0), list(squares)
    (9, 9, [3])
    """

    def __init__(self, lock: threading.RLock | None = None):
        self._lock = lock or threading.RLock()
        self._values: dict[K, V] = {}

    def get(self, key: K, build: Callable[[K], V]) -> V:
        with self._lock:
            if key not in self._values:
                self._values[key] = build(key)
            return self._values[key]

    def __iter__(self) -> Iterator[K]:  # the keys built so far
        with self._lock:
            return iter(list(self._values))

    def __contains__(self, key: object) -> bool:
        return key in self._values

    def __len__(self) -> int:
        return len(self._values)

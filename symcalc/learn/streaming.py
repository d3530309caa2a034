"""Data larger than memory: CSV files and dask arrays read chunk by chunk, shuffled minibatches.

A *source* yields the data as chunks of rows, never all at once:

* `CSVSource` reads a CSV file in blocks of about ``chunk_bytes`` of text (split at line
  ends), parses each block with NumPy's C reader, and checks every cell the way
  `symcalc.learn.data.load_csv` does (a bad cell is reported with its line number and
  column, never skipped).  A first pass (`scan`) counts the rows, finds the classes,
  computes each feature's mean and spread (for preconditioning, by Chan's pairwise
  update) and remembers where each block starts, so later epochs can read the blocks
  in a shuffled order by seeking.
* `DaskSource` reads a dask array block by block; `ArraySource` slices arrays in memory.

`minibatches` shuffles rows within a buffer of a few blocks (the blocks themselves
come in a random order each epoch) and cuts it into minibatches; the order depends only
on the seed.  `MinibatchProblem` turns those minibatches into objectives for
`symcalc.learn.optimizers`' SGD, in standardized coordinates, and makes the one exact
pass at the end that reports J, ∇J and the training accuracy.

Peak memory is a few blocks and the buffer, whatever the size of the file (the
README's measurement: a 1.2 GB CSV under a 600 MB address-space limit).

Examples
--------
>>> import tempfile, pathlib
>>> path = pathlib.Path(tempfile.mkdtemp()) / "points.csv"
>>> _ = path.write_text("x,y\\n" + "".join(f"{k},{2 * k + 1}\\n" for k in range(10)))
>>> source = CSVSource(path, "y", chunk_bytes=16)
>>> summary = source.scan(classify=False)
>>> summary.n_rows, summary.mean.tolist(), source.n_chunks
(10, [4.5], 3)
>>> sum(len(X) for X, _ in source.chunks())
10
"""

from __future__ import annotations

import csv
import dataclasses
import io
import math
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import SymcalcError, did_you_mean
from .data import _cell_error, _check_delimiter, _check_header, _number, detect_delimiter
from .heads import MAX_CLASSES
from .scaling import Moments, dask_rescaled, quiet_compute

__all__ = [
    "ArraySource",
    "CSVSource",
    "DaskSource",
    "MinibatchProblem",
    "Summary",
    "csv_fits_in_memory",
    "minibatches",
]

#: Text read per CSV block.
CHUNK_BYTES = 4 << 20
#: Rows shuffled together (a few blocks).
BUFFER_ROWS = 65_536
#: Bytes of memory `load_csv` needs per cell (a str object and a list slot, then a float).
LOADER_BYTES_PER_CELL = 80


@dataclasses.dataclass(frozen=True)
class Summary:
    """What one pass over a source found: rows, feature means and spreads, the labels."""

    n_rows: int
    mean: np.ndarray
    scale: np.ndarray
    labels: np.ndarray | None


class _Labels:
    """The distinct target values seen (at most `MAX_CLASSES` for a classifier)."""

    def __init__(self, target: str):
        self.target = target
        self.seen: set = set()

    def add(self, values: np.ndarray) -> None:
        self.seen.update(np.unique(values).tolist())
        if len(self.seen) > MAX_CLASSES:
            raise SymcalcError(
                f"target '{self.target}' has more than {MAX_CLASSES} distinct values; a "
                "classifier takes at most 64 classes (for a numeric target use the linear model, "
                "or mlp with `loss=squared_error`)"
            )

    def result(self, numeric: bool) -> np.ndarray:
        values = sorted(self.seen, key=float) if numeric else sorted(self.seen)
        if numeric and values and max(abs(values[0]), abs(values[-1])) > 2**53:
            raise SymcalcError(
                f"target '{self.target}' holds labels beyond 2⁵³ (such as {values[-1]:.17g}), "
                "which float64 rounds as the file is streamed, so two labels could become one "
                "class; load the file whole (an optimizer other than sgd) or write the labels "
                "as text"
            )
        return np.array(values, dtype=float if numeric else str)


# -- CSV ----------------------------------------------------------------------------------


class CSVSource:
    """A CSV file with a header row, read in blocks of about ``chunk_bytes`` of text.

    Cells are separated by commas, one record per line; the target column may hold
    numbers or (for a classifier) text labels; every other column must hold finite
    numbers.
    """

    def __init__(
        self,
        path: str | os.PathLike,
        target: str | None,
        *,
        chunk_bytes: int | None = None,
        delimiter: str | None = None,
    ):
        self.path = Path(path)
        self.label = self.path.name
        self.chunk_bytes = int(CHUNK_BYTES if chunk_bytes is None else chunk_bytes)
        try:
            with open(self.path, "rb") as handle:
                first = handle.readline()
                while first and not first.strip():
                    first = handle.readline()
                self._data_start = handle.tell()
        except FileNotFoundError:
            raise SymcalcError(f"data file '{self.path}' not found; check the path") from None
        except IsADirectoryError:
            raise SymcalcError(f"'{self.path}' is a folder; give a CSV file") from None
        except OSError as exc:
            raise SymcalcError(f"cannot read '{self.path}': {exc.strerror}") from None
        try:
            text = first.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise SymcalcError(
                f"{self.label} is not UTF-8 text; save it as a UTF-8 CSV file"
            ) from None
        if not text.strip():
            raise SymcalcError(
                f"{self.label} is empty; a CSV file needs a header row and data rows"
            )
        self.delimiter = _check_delimiter(delimiter) or detect_delimiter(text)
        header = [
            c.strip()
            for c in next(csv.reader([text], delimiter=self.delimiter, skipinitialspace=True))
        ]
        _check_header(header, self.label)
        if target is None:
            raise SymcalcError(
                f"name the column to predict with `target`; columns of {self.label}: "
                + ", ".join(header)
            )
        if target not in header:
            raise SymcalcError(
                f"no column '{target}' in {self.label}{did_you_mean(target, header)} "
                f"(columns: {', '.join(header)})"
            )
        if len(header) < 2:
            raise SymcalcError(f"{self.label} has no feature columns besides the target '{target}'")
        self.header = header
        self.target = target
        self.t = header.index(target)
        self.features = [j for j in range(len(header)) if j != self.t]
        self.feature_names = tuple(header[j] for j in self.features)
        self.n_features = len(self.features)
        self._offsets: list[tuple[int, int, int]] = []  # (byte offset, length, first line)
        self._numeric_target: bool | None = None

    @property
    def n_chunks(self) -> int:
        return len(self._offsets)

    def size(self) -> int:
        return self.path.stat().st_size

    def _blocks(self) -> Iterator[tuple[int, bytes, int]]:
        """(offset, text, first line number) of each block, split at line ends."""
        line = 2
        with open(self.path, "rb") as handle:
            handle.seek(self._data_start)
            offset = self._data_start
            rest = b""
            while True:
                data = handle.read(self.chunk_bytes)
                if not data:
                    break
                data = rest + data
                cut = data.rfind(b"\n")
                if cut < 0:
                    rest = data
                    continue
                block, rest = data[: cut + 1], data[cut + 1 :]
                yield offset, block, line
                offset += len(block)
                line += block.count(b"\n")
            if rest.strip():
                yield offset, rest, line

    def _read(self, offset: int, length: int) -> bytes:
        with open(self.path, "rb") as handle:
            handle.seek(offset)
            return handle.read(length)

    def scan(self, *, classify: bool) -> Summary:
        """One pass: rows, feature moments, labels (for a classifier); checks every cell."""
        moments = Moments(self.n_features)
        labels = _Labels(self.target)
        numeric = True
        self._offsets = []
        rows = 0
        for offset, block, line in self._blocks():
            self._offsets.append((offset, len(block), line))
            X, y, numeric_block = self._parse(block, line, numeric_target=None)
            if not numeric_block and not classify:
                self._bad_target(block, line)
            numeric = numeric and numeric_block
            moments.add(X)
            if classify:
                labels.add(y)
            rows += len(X)
        if rows < 2:
            raise SymcalcError(
                f"{self.label} has {rows} data row{'s' if rows != 1 else ''}; at least 2 are needed"
            )
        self._numeric_target = numeric
        mean, scale = moments.result()
        found = labels.result(numeric) if classify else None
        return Summary(rows, mean, scale, found)

    def chunks(self, order: Any = None) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """(X, y) of each block, in ``order`` (block indices; default: file order)."""
        if self._numeric_target is None:
            raise SymcalcError("scan the CSV source before reading its chunks")
        indices = range(self.n_chunks) if order is None else order
        for k in indices:
            offset, length, line = self._offsets[int(k)]
            X, y, _ = self._parse(self._read(offset, length), line, self._numeric_target)
            yield X, y

    def _parse(
        self, block: bytes, line: int, numeric_target: bool | None
    ) -> tuple[np.ndarray, np.ndarray, bool]:
        """(X, y, whether y is numeric) of one block; a bad cell raises with its line."""
        try:
            text = block.decode("utf-8")
        except UnicodeDecodeError:
            raise SymcalcError(
                f"{self.label} is not UTF-8 text; save it as a UTF-8 CSV file"
            ) from None
        every = text.splitlines()
        lines = [entry for entry in every if entry.strip()]  # blank lines hold no data
        options = {"delimiter": self.delimiter, "quotechar": '"', "comments": None}
        with np.errstate(all="ignore"):
            if numeric_target is not False:
                try:
                    table = np.loadtxt(lines, dtype=float, ndmin=2, **options)
                    if table.shape[1] == len(self.header) and np.isfinite(table).all():
                        return table[:, self.features], table[:, self.t], True
                except ValueError:
                    pass
            if numeric_target is not True:  # text labels: the features alone must be numbers
                try:
                    X = np.loadtxt(lines, dtype=float, ndmin=2, usecols=self.features, **options)
                    y = np.char.strip(
                        np.loadtxt(lines, dtype=str, ndmin=1, usecols=[self.t], **options)
                    )
                    widths = {entry.count(self.delimiter) for entry in lines}
                    if (
                        widths == {len(self.header) - 1}
                        and np.isfinite(X).all()
                        and len(y) == len(X)
                        and np.all(np.char.str_len(y) > 0)
                    ):
                        return X, y, False
                except ValueError:
                    pass
        return self._parse_slowly(every, line, numeric_target)

    def _parse_slowly(
        self, lines: list[str], first: int, numeric_target: bool | None
    ) -> tuple[np.ndarray, np.ndarray, bool]:
        """Cell by cell, as `load_csv` does: the first bad cell is reported by line and column."""
        width = len(self.header)
        X, y = [], []
        reader = csv.reader(
            io.StringIO("\n".join(lines)), delimiter=self.delimiter, skipinitialspace=True
        )
        for number, cells in enumerate(reader):
            if not cells or all(not c.strip() for c in cells) and len(cells) <= 1:
                continue
            where = first + number
            if len(cells) != width:
                raise SymcalcError(
                    f"{self.label} line {where}: {len(cells)} cells, but the header has {width} "
                    "columns; fix or remove the row"
                )
            row = []
            for j in self.features:
                value = _number(cells[j])
                if value is None:
                    raise _cell_error(self.label, where, self.header[j], cells[j])
                row.append(value)
            X.append(row)
            label = cells[self.t].strip()
            if not label:
                raise _cell_error(self.label, where, self.target, cells[self.t])
            y.append(label)
        table = np.array(X, dtype=float).reshape(len(X), self.n_features)
        numbers = [_number(v) for v in y]
        numeric = all(v is not None for v in numbers)
        if numeric_target is True or (numeric_target is None and numeric):
            if not numeric:
                self._bad_target_cells(lines, first)
            return table, np.array(numbers, dtype=float), True
        return table, np.array(y, dtype=str), False

    def _bad_target(self, block: bytes, line: int) -> None:
        self._bad_target_cells(block.decode("utf-8").splitlines(), line)

    def _bad_target_cells(self, lines: list[str], first: int) -> None:
        reader = csv.reader(
            io.StringIO("\n".join(lines)), delimiter=self.delimiter, skipinitialspace=True
        )
        for number, cells in enumerate(reader):
            if len(cells) > self.t and _number(cells[self.t]) is None:
                error = _cell_error(self.label, first + number, self.target, cells[self.t])
                raise SymcalcError(
                    f"{error}; a regression target must be numeric (use a classifier for text "
                    "labels)"
                )

    def __repr__(self) -> str:
        return f"<CSVSource {self.label} -> {self.target}, {self.n_chunks} blocks>"


def _memory_budget() -> int:
    """Bytes this process may still allocate: free memory, and the address-space limit."""
    available = math.inf
    try:
        with open("/proc/meminfo") as handle:
            for entry in handle:
                if entry.startswith("MemAvailable:"):
                    available = int(entry.split()[1]) * 1024
    except OSError:
        pass
    try:
        import resource

        soft, _ = resource.getrlimit(resource.RLIMIT_AS)
        if soft != resource.RLIM_INFINITY:
            with open("/proc/self/status") as handle:
                used = next(
                    int(entry.split()[1]) * 1024 for entry in handle if entry.startswith("VmSize:")
                )
            available = min(available, soft - used)
    except (ImportError, OSError, StopIteration, ValueError):
        pass
    return int(available) if math.isfinite(available) else 1 << 62


def csv_fits_in_memory(path: str | os.PathLike, budget: int | None = None) -> tuple[bool, str]:
    """Whether loading the CSV whole is safe (half the memory budget), and the numbers.

    Examples
    --------
    >>> from symcalc.learn.data import builtin_path
    >>> csv_fits_in_memory(builtin_path("iris"))[0]
    True
    """
    path = Path(path)
    try:
        size = path.stat().st_size
        with open(path, "rb") as handle:
            sample = handle.read(1 << 16)
    except OSError:
        return True, ""  # the loader reports the problem
    cells = sample.count(b",") + sample.count(b"\n")
    per_byte = cells / max(len(sample), 1)
    need = int(size * per_byte * LOADER_BYTES_PER_CELL)
    budget = _memory_budget() if budget is None else budget
    fits = need <= budget // 2
    return fits, (
        f"{path.name} is {size / 2**20:.0f} MiB; loading it whole would take about "
        f"{need / 2**20:.0f} MiB of the {budget / 2**20:.0f} MiB available"
    )


# -- dask and in-memory arrays --------------------------------------------------------------------


class DaskSource:
    """A dask array X (chunked by rows) and its y, read block by block."""

    def __init__(self, X: Any, y: Any, feature_names: tuple[str, ...] = (), target: str = "y"):
        import dask.array as da

        if X.ndim != 2 or len(X.chunks[1]) != 1:
            raise SymcalcError(
                "a dask X must be 2-D and chunked by rows only (one chunk across the columns)"
            )
        self.X = X
        self.y = da.asarray(y).rechunk((X.chunks[0],))
        self.n_features = int(X.shape[1])
        self.feature_names = feature_names or tuple(f"x{j}" for j in range(1, self.n_features + 1))
        self.target = target
        self.label = "dask arrays"

    @property
    def n_chunks(self) -> int:
        return int(self.X.numblocks[0])

    def scan(self, *, classify: bool) -> Summary:
        import dask.array as da

        numeric = self.y.dtype.kind in "biuf"
        mean, std, finite, finite_y = quiet_compute(
            self.X.mean(axis=0),
            self.X.std(axis=0),
            da.isfinite(self.X).all(),
            da.isfinite(self.y).all() if numeric else True,
        )
        if not finite:
            raise SymcalcError(
                "the dask data hold a NaN or infinite value; remove or fill it first"
            )
        mean, std = dask_rescaled(self.X, mean, std)  # dask squares x: exact again at 1e±160
        if not finite_y:  # a NaN label was a third class, a NaN target a NaN objective
            raise SymcalcError(
                f"the dask target '{self.target}' holds a NaN or infinite value; remove or "
                "fill it first"
            )
        labels = None
        if classify:
            labels = np.unique(np.asarray(da.unique(self.y).compute()))
            if len(labels) > MAX_CLASSES:
                raise SymcalcError(f"target has {len(labels)} distinct values; at most 64 classes")
        return Summary(int(self.X.shape[0]), np.asarray(mean), np.asarray(std), labels)

    def chunks(self, order: Any = None) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        import dask

        indices = range(self.n_chunks) if order is None else order
        for k in indices:
            X, y = dask.compute(self.X.blocks[int(k)], self.y.blocks[int(k)])
            yield np.asarray(X, dtype=float), np.asarray(y)


class ArraySource:
    """Arrays in memory, read in row blocks (the same minibatch plan as for big data)."""

    def __init__(
        self,
        X: np.ndarray,
        y: np.ndarray,
        feature_names: tuple[str, ...] = (),
        target: str = "y",
        chunk_rows: int = 16_384,
    ):
        self.X, self.y = X, y
        self.n_features = int(X.shape[1])
        self.feature_names = feature_names or tuple(f"x{j}" for j in range(1, self.n_features + 1))
        self.target = target
        self.label = "arrays"
        self.chunk_rows = int(chunk_rows)

    @property
    def n_chunks(self) -> int:
        return max(1, -(-self.X.shape[0] // self.chunk_rows))

    def scan(self, *, classify: bool) -> Summary:
        from .scaling import column_moments

        mean, scale = column_moments(self.X)
        labels = np.unique(self.y) if classify else None
        return Summary(int(self.X.shape[0]), mean, scale, labels)

    def chunks(self, order: Any = None) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        indices = range(self.n_chunks) if order is None else order
        for k in indices:
            rows = slice(int(k) * self.chunk_rows, (int(k) + 1) * self.chunk_rows)
            yield np.asarray(self.X[rows], dtype=float), self.y[rows]


# -- shuffled minibatches --------------------------------------------------------------------------


def minibatches(
    source: Any,
    batch_size: int,
    rng: np.random.Generator,
    buffer_rows: int | None = None,
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Minibatches of ``batch_size`` rows: blocks in a random order, rows shuffled in a buffer.

    Every row appears exactly once per call; the order depends only on ``rng``.

    Examples
    --------
    >>> source = ArraySource(np.arange(10.0)[:, None], np.arange(10.0), chunk_rows=4)
    >>> batches = list(minibatches(source, 3, np.random.default_rng(0), buffer_rows=4))
    >>> [len(y) for _, y in batches], sorted(np.concatenate([y for _, y in batches]).tolist())
    ([3, 3, 3, 1], [0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0])
    """
    buffer_rows = max(int(BUFFER_ROWS if buffer_rows is None else buffer_rows), int(batch_size))
    held_X: list[np.ndarray] = []
    held_y: list[np.ndarray] = []
    held = 0

    def drain(final: bool):
        X = np.concatenate(held_X) if len(held_X) > 1 else held_X[0]
        y = np.concatenate(held_y) if len(held_y) > 1 else held_y[0]
        order = rng.permutation(len(X))
        X, y = X[order], y[order]
        whole = len(X) if final else (len(X) // batch_size) * batch_size
        for start in range(0, whole, batch_size):
            yield X[start : start + batch_size], y[start : start + batch_size]
        return X[whole:], y[whole:]

    for X, y in source.chunks(rng.permutation(source.n_chunks)):
        held_X.append(X)
        held_y.append(y)
        held += len(X)
        if held >= buffer_rows:
            rest_X, rest_y = yield from drain(final=False)
            held_X, held_y, held = [rest_X], [rest_y], len(rest_X)
    if held:
        yield from drain(final=True)


# -- minibatch objectives for SGD ---------------------------------------------------------------


class MinibatchProblem:
    """Minibatch objectives over a source, in standardized coordinates, and one exact pass.

    ``make_objective(X, Y, l2)`` builds the model's objective on a block (targets encoded
    by ``head``).  With ``scaling`` the objectives are wrapped by
    `symcalc.learn.scaling.Preconditioned` (the penalty stays in the user's units);
    with ``standardize`` the blocks themselves are standardized (the model is then on
    standardized features, as ``descend(..., standardize=True)`` promises).
    """

    def __init__(
        self,
        source: Any,
        summary: Summary,
        head: Any,
        make_objective: Callable[[np.ndarray, np.ndarray, float], Any],
        l2: float,
        *,
        scaling: Any = None,
        standardize: bool = False,
        batch_size: int = 256,
    ):
        self.source = source
        self.summary = summary
        self.head = head
        self.make_objective = make_objective
        self.l2 = l2
        self.scaling = scaling
        self.standardize = standardize
        self.batch_size = int(batch_size)
        self.n_rows = summary.n_rows
        self._scale = np.where(summary.scale > 0, summary.scale, 1.0)
        first_X, first_y = next(iter(source.chunks([0])))
        self.template = self._objective(first_X[:2], first_y[:2])
        self.n_parameters = self.template.n_parameters

    def _objective(
        self, X: np.ndarray, y: np.ndarray, l2: float | None = None, *, encoded: bool = False
    ) -> Any:
        from .scaling import Preconditioned

        if self.standardize:
            X = (X - self.summary.mean) / self._scale
        Y = y if encoded else self.head.encode(y, self.source.target)
        objective = self.make_objective(X, Y, self.l2 if l2 is None else l2)
        return Preconditioned(objective, self.scaling) if self.scaling is not None else objective

    def epoch(self, rng: np.random.Generator) -> Iterator[Any]:
        """One pass: an objective per shuffled minibatch (targets encoded once per block)."""
        for X, Y in minibatches(_Encoded(self.source, self.head), self.batch_size, rng):
            yield self._objective(X, Y, encoded=True)

    def lipschitz(self, theta: np.ndarray, seed: int = 0) -> float:
        """L of ∇J on the first block (the safe step 1/L of full-batch gradient descent)."""
        from .optimizers import estimate_lipschitz

        X, y = next(iter(self.source.chunks([0])))
        objective = self._objective(X, y)
        bound = objective.lipschitz if objective.bounded else None
        if bound is not None:
            return float(bound)
        return estimate_lipschitz(objective, theta, seed=seed)

    def exact(self, theta: np.ndarray) -> tuple[float, np.ndarray, float | None]:
        """(J, ∇J in the optimizer's coordinates, training accuracy): one pass over all blocks."""
        total, gradient, correct, rows = 0.0, np.zeros(self.n_parameters), 0, 0
        classify = getattr(self.head, "classes", None) is not None
        user = self.scaling.to_user(theta) if self.scaling is not None else theta
        for X, y in self.source.chunks():
            objective = self._objective(X, y, l2=0.0)
            value, g = objective.value_and_gradient(theta)
            k = len(X)
            total += value * k
            gradient += g * k
            rows += k
            if classify:
                inner = getattr(objective, "inner", objective)
                outputs = inner.outputs(user, inner.X)
                correct += int(self.head.correct(outputs, inner.Y).sum())
        loss = total / rows + self.template.penalty(theta)
        full = gradient / rows + self.template.penalty_gradient(theta)
        return float(loss), full, (correct / rows if classify else None)


class _Encoded:
    """A source whose targets come encoded for the head (one ``encode`` per block)."""

    def __init__(self, source: Any, head: Any):
        self.source, self.head = source, head
        self.n_chunks = source.n_chunks

    def chunks(self, order: Any = None) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        for X, y in self.source.chunks(order):
            yield X, self.head.encode(y, self.source.target)

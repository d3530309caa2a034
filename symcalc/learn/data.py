"""Data for gradient descent: CSV files checked cell by cell, real and synthetic sets.

`load_data` is the one entry point.  It reads

* a CSV file with a header row (``data.csv``), its cells separated by ``,``, ``;`` or
  tabs (detected from the header, or given as ``delimiter``): every cell of a feature
  column must be a finite number; a bad row, an empty cell, a word where a number
  belongs or a quote that never closes is reported with its line number and column,
  never dropped; lines of only whitespace are blank lines;
* a data set shipped with symcalc (``builtin:diabetes``, ``builtin:breast_cancer``,
  ``builtin:iris``, ``builtin:wine``, ``builtin:digits``: real tables, see
  ``symcalc/learn/datasets/README.md``);
* a seeded synthetic set (``synthetic:linear``, ``synthetic:logistic``,
  ``synthetic:blobs``, ``synthetic:moons``; see `SYNTHETIC`).

A `Dataset` holds the feature matrix ``X`` (float64, one row per sample), the
target ``y`` (float64 numbers, or text labels for a classifier), the names, and,
once standardized, the mean and scale that were removed.

Examples
--------
>>> data = load_data("synthetic:linear")
>>> data.X.shape, data.target
((200, 3), 'y')
>>> round(float(load_data("synthetic:linear", standardize=True).X.std(axis=0)[0]), 12)
1.0
"""

from __future__ import annotations

import csv
import dataclasses
import math
import os
import re
from collections.abc import Callable, Mapping, Sequence
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np

from ..errors import SymcalcError, did_you_mean

__all__ = [
    "BUILTIN",
    "DELIMITERS",
    "MIN_SAMPLES",
    "SYNTHETIC",
    "Dataset",
    "builtin",
    "check_arrays",
    "detect_delimiter",
    "load_csv",
    "load_data",
    "standardize",
    "synthetic",
]

#: Fewest data rows accepted (a mean and a spread need two).
MIN_SAMPLES = 2


@dataclasses.dataclass(frozen=True, repr=False)
class Dataset:
    """Features ``X`` (n × p float64), target ``y`` (n numbers or n text labels) and names.

    ``mean`` and ``scale`` are set when the features were standardized: the
    original features are ``X * scale + mean``.

    Examples
    --------
    >>> data = Dataset(np.array([[1.0], [2.0], [4.0]]), np.array([0.0, 1.0, 1.0]), ("x",), "y")
    >>> data
    <Dataset 3 samples × 1 feature (x) -> y, from arrays>
    >>> data.standardized().X.ravel().round(4)
    array([-1.069 , -0.2673,  1.3363])
    """

    X: np.ndarray
    y: np.ndarray
    feature_names: tuple[str, ...]
    target: str = "y"
    source: str = "arrays"
    description: str = ""
    mean: np.ndarray | None = None
    scale: np.ndarray | None = None

    @property
    def n_samples(self) -> int:
        """Number of rows (samples)."""
        return int(self.X.shape[0])

    @property
    def n_features(self) -> int:
        """Number of feature columns."""
        return int(self.X.shape[1])

    @property
    def is_standardized(self) -> bool:
        """Whether each feature has had its mean removed and been divided by its spread."""
        return self.mean is not None

    @property
    def target_is_text(self) -> bool:
        """Whether the target holds text labels rather than numbers."""
        return self.y.dtype.kind in "OUS"

    def standardized(self) -> Dataset:
        """A copy whose features have mean 0 and standard deviation 1 (target unchanged).

        Raises `SymcalcError` naming a constant column, which has no spread to divide by.
        """
        if self.is_standardized:
            return self
        X, mean, scale = standardize(self.X, self.feature_names, source=self.source)
        return dataclasses.replace(self, X=X, mean=mean, scale=scale)

    def to_text(self) -> str:
        """Two or three lines: size, names, where the data came from."""
        lines = [
            f"{self.n_samples} samples × {self.n_features} features from {self.source}",
            f"  features: {', '.join(self.feature_names)}",
            f"  target: {self.target}" + (" (text labels)" if self.target_is_text else ""),
        ]
        if self.is_standardized:
            lines.append("  features standardized (mean 0, standard deviation 1)")
        if self.description:
            lines.append(f"  {self.description}")
        return "\n".join(lines)

    def __repr__(self) -> str:
        names = ", ".join(self.feature_names[:4]) + (", ..." if self.n_features > 4 else "")
        plural = "" if self.n_features == 1 else "s"
        return (
            f"<Dataset {self.n_samples} samples × {self.n_features} feature{plural} ({names})"
            f" -> {self.target}, from {self.source}>"
        )


# -- checks -------------------------------------------------------------------------


def check_arrays(X: Any, y: Any = None, *, what: str = "X") -> tuple[np.ndarray, np.ndarray | None]:
    """``X`` as a 2-D float64 array and ``y`` as a 1-D array, with their shapes and values checked.

    A 1-D ``X`` is read as one feature.  NaN or infinite values, mismatched lengths
    and too few rows raise `SymcalcError` naming the problem.  A ``y`` of text labels
    is kept as text.

    Examples
    --------
    >>> X, y = check_arrays([1.0, 2.0, 3.0], [0, 1, 1])
    >>> X.shape, y.dtype
    ((3, 1), dtype('float64'))
    >>> check_arrays([[1.0], [float("nan")]])
    Traceback (most recent call last):
    ...
    symcalc.errors.SymcalcError: X has a NaN or infinite value at row 1, column 0; ...
    """
    if np.iscomplexobj(X):  # casting would drop the imaginary parts with only a warning
        raise SymcalcError(
            f"{what} holds complex numbers; the models fit real data (pass `X.real` if the "
            "imaginary parts are 0)"
        )
    try:
        array = np.asarray(X, dtype=float)
    except (TypeError, ValueError):
        raise SymcalcError(f"{what} must be a table of numbers (a 2-D array)") from None
    if array.ndim == 1:
        array = array[:, None]
    if array.ndim != 2:
        raise SymcalcError(f"{what} must be 2-D (samples × features), got shape {array.shape}")
    if array.shape[0] < MIN_SAMPLES:
        raise SymcalcError(f"{what} has {array.shape[0]} rows; at least {MIN_SAMPLES} are needed")
    if array.shape[1] < 1:
        raise SymcalcError(f"{what} has no feature columns")
    _check_finite(array, what)
    if y is None:
        return array, None
    target = np.asarray(y)
    if target.ndim == 2 and 1 in target.shape:
        target = target.ravel()
    if target.ndim != 1:
        raise SymcalcError(f"y must be 1-D (one target per sample), got shape {target.shape}")
    if target.shape[0] != array.shape[0]:
        raise SymcalcError(
            f"{what} has {array.shape[0]} rows but y has {target.shape[0]} values; they must match"
        )
    if target.dtype.kind == "O":
        target = _object_target(target)
    if target.dtype.kind in "iu" and _rounded_by_float(target):
        return array, target  # kept exact: class labels 2⁶⁰ and 2⁶⁰ + 1 stay two classes
    if target.dtype.kind in "biuf":
        target = target.astype(float, copy=False)
        _check_finite(target[:, None], "y")
    elif target.dtype.kind not in "OUS":
        raise SymcalcError(f"y must hold numbers or text labels, got dtype {target.dtype}")
    return array, target


def _rounded_by_float(target: np.ndarray) -> bool:
    """Whether float64 rounds some of these integers (beyond 2⁵³), which could merge two
    class labels into one."""
    if target.size == 0 or max(abs(int(target.min())), abs(int(target.max()))) <= 2**53:
        return False
    with np.errstate(invalid="ignore"):  # 2⁶⁴ − 1 rounds up, past the integer type
        return bool((target.astype(float).astype(target.dtype) != target).any())


def _object_target(target: np.ndarray) -> np.ndarray:
    """A ``y`` of Python objects as numbers (all numbers) or text labels (all text); a
    missing value (None, NaN) or a mix of numbers and text is refused, since sorting the
    labels into classes cannot compare them."""
    kinds = set(map(type, target))
    if all(issubclass(k, str) for k in kinds):
        return target
    if all(issubclass(k, (int, float, np.number)) for k in kinds):
        return target.astype(float)
    texts = np.array([isinstance(v, str) for v in target], dtype=bool)
    numbers = np.array([isinstance(v, (int, float, np.number)) for v in target], dtype=bool)
    if not (texts | numbers).all():
        row = int(np.argmin(texts | numbers))
        raise SymcalcError(
            f"y has {target[row]!r} at row {row}, neither a number nor a text label; "
            "remove or fill the missing values first"
        )
    row, other = int(np.argmax(texts)), int(np.argmax(numbers))
    raise SymcalcError(
        f"y mixes numbers and text labels ({target[other]!r} at row {other}, "
        f"{target[row]!r} at row {row}); give every label the same type"
    )


def _check_finite(array: np.ndarray, what: str) -> None:
    # One sum, no temporary: a NaN or inf makes it non-finite.  Only then (or when finite
    # values add up past the float range) are the elements looked at.
    with np.errstate(over="ignore", invalid="ignore"):
        if np.isfinite(np.add.reduce(array, axis=None)):
            return
    bad = ~np.isfinite(array)
    if bad.any():
        row, column = (int(v) for v in np.argwhere(bad)[0])
        raise SymcalcError(
            f"{what} has a NaN or infinite value at row {row}, column {column}; "
            "remove or fill the missing values first"
        )


def standardize(
    X: np.ndarray, names: Sequence[str] | None = None, *, source: str = "the data"
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Columns rescaled to mean 0 and standard deviation 1: ``(X_std, mean, scale)``.

    Raises `SymcalcError` for a constant column (nothing to divide by).

    Examples
    --------
    >>> Xs, mean, scale = standardize(np.array([[1.0, 10.0], [3.0, 30.0]]))
    >>> Xs.tolist(), mean.tolist(), scale.tolist()
    ([[-1.0, -1.0], [1.0, 1.0]], [2.0, 20.0], [1.0, 10.0])
    >>> standardize(np.array([[1e300], [-1e300]]))[0].ravel().tolist()  # no overflow
    [1.0, -1.0]
    """
    X = np.asarray(X, dtype=float)
    constant = np.flatnonzero(X.max(axis=0) == X.min(axis=0))
    if constant.size:
        j = int(constant[0])
        name = names[j] if names is not None else str(j)
        raise SymcalcError(
            f"column '{name}' of {source} is constant (every value is {X[0, j]:g}), so it cannot "
            "be standardized; drop the column or do not standardize"
        )
    # Squares of values from about 1e154 overflow: scale each column by the power of two
    # of its largest magnitude first (exact, so ordinary data give the same bits), and find
    # the mean and spread of values in (-1, 1).
    _, exponent = np.frexp(np.abs(X).max(axis=0))
    unit = np.ldexp(X, -exponent)
    mean, scale = unit.mean(axis=0), unit.std(axis=0)
    return (unit - mean) / scale, np.ldexp(mean, exponent), np.ldexp(scale, exponent)


# -- CSV ----------------------------------------------------------------------------


def _number(cell: str) -> float | None:
    """The cell as a finite float, or None."""
    try:
        value = float(cell)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _cell_error(label: str, line: int, column: str, cell: str) -> SymcalcError:
    if not cell.strip():
        return SymcalcError(
            f"{label} line {line}, column '{column}': missing value (empty cell); "
            "fill it in or remove the row"
        )
    try:
        float(cell)
    except ValueError:
        return SymcalcError(
            f"{label} line {line}, column '{column}': {cell.strip()!r} is not a number"
        )
    return SymcalcError(
        f"{label} line {line}, column '{column}': {cell.strip()!r} is not a finite number; "
        "fill in a real value or remove the row"
    )


#: Delimiters a CSV file may use, by the name ``delimiter`` accepts, and their names.
DELIMITERS: Mapping[str, str] = MappingProxyType({",": "comma", ";": "semicolon", "\t": "tab"})
_DELIMITER_ALIASES = {"tab": "\t", "\\t": "\t", "comma": ",", "semicolon": ";"}


def _check_delimiter(delimiter: str | None) -> str | None:
    """``None`` (detect it) or one of `DELIMITERS`; ``"tab"`` and ``"\\t"`` mean a tab."""
    if delimiter is None or delimiter == "auto":
        return None
    if isinstance(delimiter, str):
        delimiter = _DELIMITER_ALIASES.get(delimiter.lower(), delimiter)
    if delimiter not in DELIMITERS:
        raise SymcalcError(
            f"delimiter must be ',', ';' or tab (or None to detect it), got {delimiter!r}"
        )
    return delimiter


def _unquoted(line: str) -> str:
    """``line`` without its double-quoted parts (their delimiters do not count)."""
    return re.sub(r'"[^"]*"', '""', line)


def detect_delimiter(header_line: str) -> str:
    """The delimiter of a CSV file, from its header line: the most frequent of ``,`` ``;``
    and tab outside quotes (``,`` if none appears: a file of one column).

    Examples
    --------
    >>> detect_delimiter("x1;x2;y"), detect_delimiter("a\\tb"), detect_delimiter('"a;b",c')
    (';', '\\t', ',')
    """
    line = _unquoted(header_line)
    counts = {d: line.count(d) for d in DELIMITERS}
    best = max(DELIMITERS, key=lambda d: counts[d])  # ties: the order of DELIMITERS
    return best if counts[best] else ","


def _is_blank(cells: list[str], delimiter: str) -> bool:
    """A line that holds only whitespace is a blank line, not a row of empty cells."""
    if not all(not c.strip() for c in cells):
        return False
    return len(cells) <= 1 or delimiter.isspace()


def _open_quote(path: Path, line: int, delimiter: str) -> tuple[int, int]:
    """Column (1-based) and cell number of the quote that opens on ``line`` and never closes."""
    with open(path, newline="", encoding="utf-8-sig") as handle:
        text = next((t for number, t in enumerate(handle, 1) if number == line), "")
    inside, opened = False, 0
    for i, char in enumerate(text):
        if char == '"':
            opened = opened if inside else i
            inside = not inside
    return opened + 1, _unquoted(text[:opened]).count(delimiter) + 1


def _read_rows(
    path: Path, label: str, delimiter: str | None = None
) -> tuple[list[str], list[tuple[int, list[str]]], str]:
    """Header cells, data rows with their line numbers, and the delimiter used."""
    try:
        handle = open(path, newline="", encoding="utf-8-sig")  # noqa: SIM115 - closed below
    except FileNotFoundError:
        raise SymcalcError(f"data file '{path}' not found; check the path") from None
    except IsADirectoryError:
        raise SymcalcError(f"'{path}' is a folder; give a CSV file") from None
    except OSError as exc:
        raise SymcalcError(f"cannot read '{path}': {exc.strerror}") from None
    rows: list[tuple[int, list[str]]] = []
    header: list[str] | None = None
    try:
        with handle:
            if delimiter is None:
                first = next((ln for ln in handle if ln.strip()), "")
                delimiter = detect_delimiter(first)
                handle.seek(0)
            reader = csv.reader(handle, delimiter=delimiter, skipinitialspace=True)
            start = 1
            for cells in reader:
                line, start = start, reader.line_num + 1
                if not cells or _is_blank(cells, delimiter):  # a blank line holds no data
                    continue
                if any("\n" in c or "\r" in c for c in cells):
                    position, cell = _open_quote(path, line, delimiter)
                    name = header[cell - 1] if header and cell <= len(header) else None
                    where = f"column '{name}'" if name else f"cell {cell}"
                    raise SymcalcError(
                        f"{label} line {line}, {where}: the quote at character {position} opens "
                        "and is never closed on this line; close it or remove it"
                    )
                if header is None:
                    header = [c.strip() for c in cells]
                    continue
                rows.append((line, cells))
    except UnicodeDecodeError:
        raise SymcalcError(f"{label} is not UTF-8 text; save it as a UTF-8 CSV file") from None
    except csv.Error as exc:
        raise SymcalcError(f"{label} is not a valid CSV file: {exc}") from None
    if header is None:
        raise SymcalcError(f"{label} is empty; a CSV file needs a header row and data rows")
    return header, rows, delimiter


def _check_one_column(header: list[str], label: str, delimiter: str) -> None:
    """A header of one column holding ';' or a tab was read with the wrong delimiter."""
    if len(header) != 1:
        return
    for other in DELIMITERS:
        if other != delimiter and other in header[0]:
            raise SymcalcError(
                f"{label} line 1 has one column, '{header[0]}', which contains a "
                f"{DELIMITERS[other]}: the file looks {DELIMITERS[other]}-separated; "
                f"pass delimiter={other!r}"
            )


def _check_header(header: list[str], label: str) -> None:
    for position, name in enumerate(header, 1):
        if not name:
            raise SymcalcError(f"{label} line 1: column {position} has no name; name every column")
    seen: set[str] = set()
    for name in header:
        if name in seen:
            raise SymcalcError(
                f"{label} line 1: column name '{name}' appears twice; names must differ"
            )
        seen.add(name)
    if all(_number(name) is not None for name in header):
        raise SymcalcError(
            f"{label} line 1 holds numbers, not column names; add a header row such as "
            f"'{','.join(f'x{k}' for k in range(1, len(header)))},y'"
        )


def load_csv(
    path: str | os.PathLike,
    target: str | None,
    *,
    text_target: bool = False,
    description: str = "",
    delimiter: str | None = None,
) -> Dataset:
    """A CSV file with a header row, every cell checked; ``target`` names the column to predict.

    Every other column is a feature and must hold finite numbers.  With
    ``text_target=True`` (classifiers) the target may hold text labels, all of them: a
    target column that mixes numbers and words, or holds NaN or inf, is refused with the
    line and cell, never read as extra classes.  ``delimiter`` is ``,``, ``;`` or tab;
    ``None`` detects it from the header line.  Lines holding only whitespace are blank.

    Raises
    ------
    SymcalcError
        For a missing file, an empty file, a row with the wrong number of cells,
        an empty cell, a cell that is not a finite number (with its line number
        and column), an unknown target column (with a suggestion) or too few rows.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "data.csv"
    >>> _ = path.write_text("age,height\\n3,95.0\\n5,110.5\\n")
    >>> load_csv(path, "height").X.ravel().tolist()
    [3.0, 5.0]
    >>> _ = path.write_text("age,height\\n3,95.0\\nabc,110.5\\n")
    >>> load_csv(path, "height")
    Traceback (most recent call last):
    ...
    symcalc.errors.SymcalcError: data.csv line 3, column 'age': 'abc' is not a number
    """
    path = Path(path)
    label = path.name
    header, rows, used = _read_rows(path, label, _check_delimiter(delimiter))
    _check_one_column(header, label, used)
    _check_header(header, label)
    if target is None:
        raise SymcalcError(
            f"name the column to predict with `target`; columns of {label}: " + ", ".join(header),
            parameter="target",
        )
    if target not in header:
        raise SymcalcError(
            f"no column '{target}' in {label}{did_you_mean(target, header)} "
            f"(columns: {', '.join(header)})"
        )
    if len(header) < 2:
        raise SymcalcError(f"{label} has no feature columns besides the target '{target}'")
    width = len(header)
    for line, cells in rows:
        if len(cells) != width:
            raise SymcalcError(
                f"{label} line {line}: {len(cells)} cells, but the header has {width} columns; "
                "fix or remove the row"
            )
    if len(rows) < MIN_SAMPLES:
        raise SymcalcError(
            f"{label} has {len(rows)} data row{'s' if len(rows) != 1 else ''}; "
            f"at least {MIN_SAMPLES} are needed"
        )
    t = header.index(target)
    feature_columns = [j for j in range(width) if j != t]
    X = np.empty((len(rows), len(feature_columns)))
    for k, j in enumerate(feature_columns):
        X[:, k] = _numeric_column([cells[j] for _, cells in rows], rows, j, header[j], label)
    y = _target_column(rows, t, target, label, text_target)
    names = tuple(header[j] for j in feature_columns)
    return Dataset(X, y, names, target, source=str(path), description=description)


def _cell_kind(cell: str) -> str:
    """'number' (finite), 'missing' (empty, NaN or inf: never a label) or 'text'."""
    if not cell.strip():
        return "missing"
    if _number(cell) is not None:
        return "number"
    return "missing" if _looks_numeric(cell) else "text"


def _target_column(
    rows: list[tuple[int, list[str]]], t: int, target: str, label: str, text_target: bool
) -> np.ndarray:
    """The target as numbers, or (``text_target``) as text labels; a bad cell is named.

    Empty cells, NaN and inf are never labels.  A column of numbers with a few words (a
    typo such as '3.O'), or of words with a few numbers (a shifted row), names the first
    cell of the smaller kind, since the other kind shows what the column holds.
    """
    cells = [(line, row[t]) for line, row in rows]
    kinds = [_cell_kind(cell) for _, cell in cells]
    for (line, cell), kind in zip(cells, kinds, strict=True):
        if kind == "missing":
            raise _cell_error(label, line, target, cell)
    n_text = kinds.count("text")
    if n_text == 0:
        values = np.array([float(cell) for _, cell in cells])
        if not values.size or np.abs(values).max() <= 2**53:
            return values
        exact = _exact_integers([cell for _, cell in cells])
        return values if exact is None else exact
    if not text_target:
        line, cell = cells[kinds.index("text")]
        raise SymcalcError(
            f"{_cell_error(label, line, target, cell)}; a regression target must be numeric "
            "(use a classifier for text labels)"
        )
    if n_text == len(kinds):
        return np.array([cell.strip() for _, cell in cells], dtype=object)
    odd = "text" if n_text <= len(kinds) - n_text else "number"
    line, cell = cells[kinds.index(odd)]
    what = "is not a number" if odd == "text" else "is a number"
    rest = "numbers" if odd == "text" else "text labels"
    raise SymcalcError(
        f"{label} line {line}, column '{target}': {cell.strip()!r} {what}, while the other "
        f"values of '{target}' are {rest}; fix the cell (a target holds numbers or labels, "
        "not both)"
    )


def _exact_integers(cells: list[str]) -> np.ndarray | None:
    """The cells as int64 where they are all integers and float64 would round some (beyond
    2⁵³: labels 2⁶⁰ and 2⁶⁰ + 1 would become one class); None otherwise."""
    try:
        numbers = [int(cell) for cell in cells]
    except ValueError:
        return None
    if max(numbers) >= 2**63 or min(numbers) < -(2**63):
        return None
    values = np.array(numbers, dtype=np.int64)
    return values if _rounded_by_float(values) else None


def _looks_numeric(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def _numeric_column(
    cells: list[str], rows: list[tuple[int, list[str]]], j: int, name: str, label: str
) -> np.ndarray:
    try:
        values = np.array(cells, dtype=float)
    except ValueError:
        values = None
    if values is not None and np.isfinite(values).all():
        return values
    for line, row in rows:
        if _number(row[j]) is None:
            raise _cell_error(label, line, name, row[j])
    raise AssertionError(
        "unreachable: a bad cell was found by numpy but not by float()"
    )  # pragma: no cover


# -- shipped real data ----------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class BuiltinSet:
    """A real table shipped in ``symcalc/learn/datasets``: file name, target column, what it is."""

    file: str
    target: str
    description: str
    task: str


#: Real data sets shipped with symcalc (sources and licences: ``symcalc/learn/datasets/README.md``).
BUILTIN: Mapping[str, BuiltinSet] = MappingProxyType(
    {
        "diabetes": BuiltinSet(
            "diabetes.csv",
            "progression",
            "442 diabetes patients, 10 baseline measurements; target: disease "
            "progression after one year (Efron et al. 2004)",
            "regression",
        ),
        "breast_cancer": BuiltinSet(
            "breast_cancer.csv",
            "diagnosis",
            "569 breast tumour images, 30 cell-nucleus measurements; target: malignant or benign "
            "(Wisconsin Diagnostic, UCI)",
            "binary classification",
        ),
        "iris": BuiltinSet(
            "iris.csv",
            "species",
            "150 iris flowers, 4 measurements in cm; target: one of 3 species (Fisher 1936)",
            "3-class classification",
        ),
        "wine": BuiltinSet(
            "wine.csv",
            "cultivar",
            "178 Italian wines, 13 chemical measurements; target: one of 3 cultivars "
            "(Forina et al., UCI)",
            "3-class classification",
        ),
        "digits": BuiltinSet(
            "digits.csv",
            "digit",
            "1797 handwritten digits, 8 × 8 pixel intensities 0-16; target: the digit 0-9 "
            "(Alpaydin and Kaynak, UCI)",
            "10-class classification",
        ),
    }
)


def builtin_path(name: str) -> Path:
    """The file of a shipped data set.

    Examples
    --------
    >>> builtin_path("iris").name
    'iris.csv'
    """
    if name not in BUILTIN:
        raise SymcalcError(
            f"no shipped data set '{name}'{did_you_mean(name, BUILTIN)} "
            f"(shipped: {', '.join(BUILTIN)})"
        )
    return Path(str(resources.files("symcalc.learn") / "datasets" / BUILTIN[name].file))


def builtin(name: str, target: str | None = None) -> Dataset:
    """A real data set shipped with symcalc, by name (see `BUILTIN`).

    Examples
    --------
    >>> builtin("diabetes")  # doctest: +ELLIPSIS
    <Dataset 442 samples × 10 features (age, sex, bmi, bp, ...) -> progression, from ...>
    """
    path = builtin_path(name)
    spec = BUILTIN[name]
    data = load_csv(path, target or spec.target, text_target=True, description=spec.description)
    return dataclasses.replace(data, source=f"builtin:{name}")


# -- synthetic data -------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class SyntheticSet:
    """A seeded recipe ``make(n_samples, n_features, noise, rng) -> (X, y)`` and its defaults."""

    make: Callable[..., tuple[np.ndarray, np.ndarray]]
    target: str
    description: str
    n_samples: int
    n_features: int
    noise: float


def _linear(n: int, p: int, noise: float, rng: np.random.Generator):
    """y = 1.5 + Σⱼ wⱼ xⱼ + noise, x ~ N(0, 1), w = (2, -1, 0.5, 2, -1, 0.5, ...)."""
    X = rng.standard_normal((n, p))
    w = np.resize([2.0, -1.0, 0.5], p)
    return X, 1.5 + X @ w + noise * rng.standard_normal(n)


def _logistic(n: int, p: int, noise: float, rng: np.random.Generator):
    """Labels ~ Bernoulli(σ((0.5 + (2, -1, ...)·x) / noise)): the classes overlap."""
    X = rng.standard_normal((n, p))
    w = np.resize([2.0, -1.0], p)
    probability = 1.0 / (1.0 + np.exp(-(0.5 + X @ w) / noise))
    y = (rng.random(n) < probability).astype(float)
    y[:2] = [0.0, 1.0]  # both classes always present
    return X, y


def _blobs(n: int, p: int, noise: float, rng: np.random.Generator):
    """Three Gaussian clouds (standard deviation ``noise``) around the corners of a triangle."""
    centres = np.zeros((3, p))
    angles = np.pi / 2 + 2 * np.pi * np.arange(3) / 3
    centres[:, 0], centres[:, min(1, p - 1)] = 2 * np.cos(angles), 2 * np.sin(angles)
    labels = np.arange(n) % 3
    X = centres[labels] + noise * rng.standard_normal((n, p))
    return X, labels.astype(float)


def _moons(n: int, p: int, noise: float, rng: np.random.Generator):
    """Two interleaved half circles with Gaussian noise: not separable by a line."""
    labels = np.arange(n) % 2
    angle = rng.uniform(0, np.pi, n)
    X = np.zeros((n, p))
    X[:, 0] = np.where(labels == 0, np.cos(angle), 1 - np.cos(angle))
    X[:, min(1, p - 1)] += np.where(labels == 0, np.sin(angle), 0.5 - np.sin(angle))
    X += noise * rng.standard_normal((n, p))
    return X, labels.astype(float)


#: Seeded synthetic data sets, by the name used in ``synthetic:NAME``.
SYNTHETIC: Mapping[str, SyntheticSet] = MappingProxyType(
    {
        "linear": SyntheticSet(
            _linear,
            "y",
            "y = 1.5 + 2·x1 - x2 + 0.5·x3 + N(0, 0.5²) noise, x ~ N(0, 1)",
            200,
            3,
            0.5,
        ),
        "logistic": SyntheticSet(
            _logistic,
            "label",
            "labels ~ Bernoulli(σ(0.5 + 2·x1 - x2)), x ~ N(0, 1); overlapping classes",
            300,
            2,
            1.0,
        ),
        "blobs": SyntheticSet(
            _blobs,
            "label",
            "three Gaussian clouds (labels 0, 1, 2) around the corners of a triangle",
            300,
            2,
            1.0,
        ),
        "moons": SyntheticSet(
            _moons,
            "label",
            "two interleaved half circles (labels 0, 1) with N(0, 0.15²) noise",
            300,
            2,
            0.15,
        ),
    }
)


def _count(value: Any, name: str, smallest: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < smallest:
        raise SymcalcError(f"{name} must be a whole number of at least {smallest}, got {value!r}")
    return int(value)


def synthetic(
    name: str,
    *,
    n_samples: int | None = None,
    n_features: int | None = None,
    noise: float | None = None,
    seed: int = 0,
) -> Dataset:
    """A seeded synthetic data set (see `SYNTHETIC` for the recipes and their defaults).

    The same name, sizes and seed always give the same numbers.

    Examples
    --------
    >>> data = synthetic("blobs")
    >>> data.X.shape, sorted(set(data.y.tolist()))
    ((300, 2), [0.0, 1.0, 2.0])
    >>> synthetic("linear", n_features=1).feature_names
    ('x1',)
    """
    if name not in SYNTHETIC:
        raise SymcalcError(
            f"unknown synthetic data set '{name}'{did_you_mean(name, SYNTHETIC)}"
            f" (available: {', '.join(SYNTHETIC)})"
        )
    spec = SYNTHETIC[name]
    n = _count(spec.n_samples if n_samples is None else n_samples, "n_samples", MIN_SAMPLES)
    p = _count(spec.n_features if n_features is None else n_features, "n_features", 1)
    sigma = spec.noise if noise is None else float(noise)
    if not (math.isfinite(sigma) and sigma > 0):
        raise SymcalcError(f"noise must be a positive number, got {noise!r}")
    X, y = spec.make(n, p, sigma, np.random.default_rng(seed))
    names = tuple(f"x{j}" for j in range(1, p + 1))
    return Dataset(
        X, y, names, spec.target, source=f"synthetic:{name}", description=spec.description
    )


# -- the one entry point ------------------------------------------------------------


def load_data(
    source: str | os.PathLike | Dataset,
    target: str | None = None,
    *,
    standardize: bool = False,
    text_target: bool = True,
    delimiter: str | None = None,
) -> Dataset:
    """A `Dataset` from a CSV path, ``builtin:NAME`` or ``synthetic:NAME``.

    ``target`` names the column to predict; shipped and synthetic sets know theirs.
    ``standardize=True`` rescales every feature to mean 0 and standard deviation 1.
    ``text_target=False`` insists on a numeric target (regression).  ``delimiter`` (``,``,
    ``;`` or tab) separates the cells of a CSV file; ``None`` detects it.

    Examples
    --------
    >>> load_data("builtin:iris").target
    'species'
    >>> load_data("synthetic:lineer")
    Traceback (most recent call last):
    ...
    symcalc.errors.SymcalcError: unknown synthetic data set 'lineer'; did you mean 'linear'? ...
    """
    if isinstance(source, Dataset):
        data = source
    else:
        text = os.fspath(source)
        kind, sep, name = text.partition(":")
        if sep and kind == "synthetic":
            data = synthetic(name)
            if target not in (None, data.target):
                raise SymcalcError(
                    f"synthetic:{name} has one target column, '{data.target}'; drop `target`",
                    parameter="target",
                )
        elif sep and kind == "builtin":
            data = builtin(name, target)
        elif not text.strip():
            raise SymcalcError("no data given; pass a CSV file, builtin:NAME or synthetic:NAME")
        else:
            data = load_csv(text, target, text_target=text_target, delimiter=delimiter)
    if data.target_is_text and not text_target:
        raise SymcalcError(
            f"target '{data.target}' holds text labels; a regression target must be numeric"
        )
    return data.standardized() if standardize else data

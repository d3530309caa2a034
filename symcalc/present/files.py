"""Writing files whole and never over a user's file unasked.

Every file symcalc writes goes to a temporary file in the same folder first and is
then renamed into place, so a reader never sees half a file and an interrupted run
leaves the old file intact.  An existing file is only replaced with ``force=True``.
"""

from __future__ import annotations

import io
import os
import tempfile
from pathlib import Path
from typing import Any

from ..errors import SymcalcError

__all__ = ["FIGURE_FORMATS", "check_target", "save_figure", "write_atomic"]

#: File suffixes `save_figure` writes, with the metadata that keeps output byte-identical.
FIGURE_FORMATS: dict[str, dict[str, Any]] = {
    ".png": {"Software": None},
    ".svg": {"Date": None, "Creator": None},
    ".pdf": {"CreationDate": None, "ModDate": None, "Creator": None, "Producer": None},
}


def check_target(path: str | os.PathLike, *, force: bool = False) -> Path:
    """The path as a `Path`, after checking it may be written.

    Raises `SymcalcError` if the file exists and ``force`` is False, if it is a
    folder, or if its folder does not exist.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> check_target(folder / "new.png").name
    'new.png'
    """
    target = Path(path)
    if target.is_dir():
        raise SymcalcError(f"'{target}' is a folder; give a file name")
    if target.exists() and not force:
        raise SymcalcError(
            f"'{target}' already exists; pass `force=True` to overwrite it", parameter="force"
        )
    parent = target.parent if str(target.parent) else Path(".")
    if not parent.is_dir():
        raise SymcalcError(f"folder '{parent}' does not exist")
    return target


def write_atomic(path: str | os.PathLike, data: bytes | str, *, force: bool = False) -> Path:
    """Write ``data`` to ``path`` whole: a temporary file, then a rename.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> target = pathlib.Path(tempfile.mkdtemp()) / "note.txt"
    >>> write_atomic(target, "hello").read_text()
    'hello'
    >>> write_atomic(target, "again")
    Traceback (most recent call last):
    ...
    symcalc.errors.SymcalcError: '...note.txt' already exists; pass `force=True` to overwrite it
    """
    target = check_target(path, force=force)
    payload = data.encode("utf-8") if isinstance(data, str) else bytes(data)
    fd, temporary = tempfile.mkstemp(
        prefix=f".{target.name}.", suffix=".tmp", dir=target.parent or "."
    )
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temporary, 0o644)
        os.replace(temporary, target)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise
    return target


def save_figure(figure, path: str | os.PathLike, *, force: bool = False, dpi: int = 150) -> Path:
    """Save a matplotlib figure atomically, with no timestamps (byte-identical reruns).

    The format comes from the suffix: ``.png``, ``.svg`` or ``.pdf``.
    """
    target = Path(path)
    suffix = target.suffix.lower()
    if suffix not in FIGURE_FORMATS:
        raise SymcalcError(
            f"cannot save a figure as '{target.suffix or target.name}';"
            f" use one of {', '.join(FIGURE_FORMATS)}"
        )
    check_target(target, force=force)
    import matplotlib

    buffer = io.BytesIO()
    with matplotlib.rc_context({"svg.hashsalt": "symcalc", "pdf.compression": 6}):
        figure.savefig(buffer, format=suffix[1:], dpi=dpi, metadata=FIGURE_FORMATS[suffix])
    return write_atomic(target, buffer.getvalue(), force=force)

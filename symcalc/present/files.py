"""Writing files whole and never over a user's file unasked.

Every file symcalc writes goes to a temporary file in the same folder first and is
then renamed into place, so a reader never sees half a file and an interrupted run
(Ctrl-C, SIGTERM, an error) leaves the old file intact and no temporary file behind.
An existing file is only replaced with ``force=True``.

A new file gets the mode a plain ``open(path, "w")`` would give it (``0o666`` less the
umask, and the folder's default ACL); a replaced file keeps its mode.  A folder that
cannot be written is bad input: `check_folder` and `write_atomic` raise a one-line
`SymcalcError` naming it, before any work where the caller checks first.  Writers that
share a folder (two gallery builds) take turns with `folder_lock`.
"""

from __future__ import annotations

import contextlib
import errno
import io
import os
import secrets
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ..errors import SymcalcError

__all__ = [
    "FIGURE_FORMATS",
    "check_folder",
    "check_target",
    "folder_lock",
    "save_figure",
    "write_atomic",
]

#: File suffixes `save_figure` writes, with the metadata that keeps output byte-identical.
FIGURE_FORMATS: dict[str, dict[str, Any]] = {
    ".png": {"Software": None},
    ".svg": {"Date": None, "Creator": None},
    ".pdf": {"CreationDate": None, "ModDate": None, "Creator": None, "Producer": None},
}

#: What an `OSError` while writing says to the user, by errno: bad input, one line.
_WRITE_ERRORS = {
    errno.EACCES: "is not writable (permission denied); choose another folder or make it writable",
    errno.EPERM: "is not writable (operation not permitted); choose another folder",
    errno.EROFS: "is on a read-only file system; choose another folder",
    errno.ENOSPC: "has no space left on its device; free some space or choose another folder",
    errno.EDQUOT: "is over its disk quota; free some space or choose another folder",
}


def _folder_of(target: Path) -> Path:
    return target.parent if str(target.parent) else Path(".")


def _unwritable(folder: Path, error: OSError) -> SymcalcError | None:
    """The one-line error for ``error`` raised while writing into ``folder``, if it has one."""
    reason = _WRITE_ERRORS.get(error.errno)
    return None if reason is None else SymcalcError(f"folder '{folder}' {reason}")


def check_folder(folder: str | os.PathLike) -> Path:
    """The folder as a `Path`, after checking that this process may create files in it.

    Raises `SymcalcError` naming the folder if it does not exist, is not a folder, or
    is not writable (no write or search permission, a read-only file system).

    Examples
    --------
    >>> import tempfile
    >>> check_folder(tempfile.gettempdir()).is_dir()
    True
    >>> check_folder("/no/such/folder")
    Traceback (most recent call last):
    ...
    symcalc.errors.SymcalcError: folder '/no/such/folder' does not exist
    """
    path = Path(folder)
    if not path.is_dir():
        if path.exists():
            raise SymcalcError(f"'{path}' is not a folder")
        raise SymcalcError(f"folder '{path}' does not exist")
    effective = os.access in os.supports_effective_ids
    if not os.access(path, os.W_OK | os.X_OK, effective_ids=effective):
        code = errno.EROFS if _read_only_mount(path) else errno.EACCES
        raise _unwritable(path, OSError(code, os.strerror(code)))
    return path


def _read_only_mount(path: Path) -> bool:
    try:
        return bool(os.statvfs(path).f_flag & os.ST_RDONLY)
    except (OSError, AttributeError):  # pragma: no cover - no statvfs
        return False


def check_target(path: str | os.PathLike, *, force: bool = False) -> Path:
    """The path as a `Path`, after checking it may be written.

    Raises `SymcalcError` if the file exists and ``force`` is False, if it is a
    folder, or if its folder does not exist or is not writable.

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
    check_folder(_folder_of(target))
    return target


def _replaced_mode(target: Path) -> int | None:
    """The permission bits of the file ``target`` replaces, or None for a new file."""
    try:
        return stat.S_IMODE(os.stat(target).st_mode) & 0o777
    except OSError:
        return None


def write_atomic(path: str | os.PathLike, data: bytes | str, *, force: bool = False) -> Path:
    """Write ``data`` to ``path`` whole: a temporary file, then a rename.

    A new file's mode follows the umask; a replaced file (``force=True``) keeps its
    permission bits.  An unwritable folder raises `SymcalcError` naming it.

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
    folder = _folder_of(target)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
    temporary = None
    try:
        while True:
            # named before it exists, so an interrupt right after the open still removes it
            temporary = str(folder / f".{target.name}.{secrets.token_hex(4)}.tmp")
            try:
                # mode 0o666: the kernel applies the umask (and a default ACL) exactly as
                # for open(target, "w")
                fd = os.open(temporary, flags, 0o666)
                break
            except FileExistsError:  # pragma: no cover - 32 random bits collided
                temporary = None
        with os.fdopen(fd, "wb") as handle:
            mode = _replaced_mode(target)
            if mode is not None:
                os.fchmod(handle.fileno(), mode)
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, target)
    except BaseException as exc:
        if temporary is not None:
            with contextlib.suppress(OSError):  # never created, or already renamed
                os.unlink(temporary)
        if isinstance(exc, OSError) and (error := _unwritable(folder, exc)):
            raise error from None
        raise
    return target


@contextlib.contextmanager
def folder_lock(folder: str | os.PathLike) -> Iterator[None]:
    """Hold an exclusive lock on ``folder`` (``flock`` on the folder itself) while inside.

    Processes that update shared files in one folder (a manifest, an index) take
    turns.  No lock file is left behind.  Where ``flock`` is missing (Windows) this
    does nothing.

    Examples
    --------
    >>> import tempfile
    >>> with folder_lock(tempfile.gettempdir()):
    ...     pass
    """
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        yield
        return
    fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | os.O_CLOEXEC)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing the last descriptor releases the lock


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

"""Writing files (`symcalc.present.files`): whole or not at all, with the mode a plain
``open`` gives, and an unwritable folder is bad input for every command that writes.

The truth for modes is a file made the plain way (``open(path, "w")``) in the same
folder under the same umask.  The permission test runs as a user for whom the folder
is really read-only: when the suite runs as root, which bypasses permissions, the
subprocess gives up the capabilities that do so (``CAP_DAC_OVERRIDE``,
``CAP_DAC_READ_SEARCH``, ``CAP_FOWNER``) and is then an ordinary owner of a folder
with mode 0o555; it first shows that a plain ``open`` fails there.  (Switching to
``nobody`` is not possible here: the interpreter lives under ``/root``, mode 0o700.)
"""

from __future__ import annotations

import errno
import json
import os
import re
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from symcalc.errors import SymcalcError
from symcalc.present import files

ROOT = Path(__file__).resolve().parents[1]


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


@pytest.mark.parametrize("mask", [0o077, 0o022, 0o002, 0o027])
def test_a_new_file_gets_the_mode_a_plain_open_gives_it(tmp_path, mask):
    previous = os.umask(mask)
    try:
        files.write_atomic(tmp_path / "atomic.txt", "data")
        with open(tmp_path / "plain.txt", "w") as handle:
            handle.write("data")
    finally:
        os.umask(previous)
    assert mode(tmp_path / "atomic.txt") == mode(tmp_path / "plain.txt") == 0o666 & ~mask


@pytest.mark.parametrize("kept", [0o600, 0o640, 0o664, 0o755])
def test_replacing_a_file_with_force_keeps_its_mode(tmp_path, kept):
    target = tmp_path / "figure.png"
    target.write_bytes(b"old")
    target.chmod(kept)
    previous = os.umask(0o077)
    try:
        files.write_atomic(target, b"new", force=True)
    finally:
        os.umask(previous)
    assert target.read_bytes() == b"new"
    assert mode(target) == kept


def test_an_interrupted_write_leaves_the_old_file_and_no_temporary_file(tmp_path, monkeypatch):
    target = tmp_path / "page.md"
    target.write_text("old")

    def interrupted(fd):
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "fsync", interrupted)
    with pytest.raises(KeyboardInterrupt):
        files.write_atomic(target, "new", force=True)
    assert target.read_text() == "old"
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize(
    ("code", "says"),
    [
        (errno.EACCES, "is not writable (permission denied)"),
        (errno.EROFS, "is on a read-only file system"),
        (errno.ENOSPC, "has no space left on its device"),
    ],
)
def test_a_write_refused_by_the_system_is_one_line_naming_the_folder(
    tmp_path, monkeypatch, code, says
):
    """The folder passed the check, then the system refused (permissions changed, disk full)."""

    def refuse(source, destination):
        raise OSError(code, os.strerror(code), str(destination))

    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(SymcalcError, match="^" + re.escape(f"folder '{tmp_path}' {says}")):
        files.write_atomic(tmp_path / "out.png", b"png")
    assert leftovers(tmp_path) == []
    assert not (tmp_path / "out.png").exists()


def test_other_errors_are_not_dressed_up_as_bad_input(tmp_path, monkeypatch):
    def broken(source, destination):
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(os, "replace", broken)
    with pytest.raises(OSError, match="Input/output error"):
        files.write_atomic(tmp_path / "out.png", b"png")
    assert leftovers(tmp_path) == []


def test_check_folder_names_what_is_wrong(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(SymcalcError, match="is not a folder"):
        files.check_folder(tmp_path / "file")
    with pytest.raises(SymcalcError, match="does not exist"):
        files.check_folder(tmp_path / "missing")
    assert files.check_folder(tmp_path) == tmp_path


# -- as a normal user -------------------------------------------------------------------

#: Run as the unprivileged user: every command that writes, each into the read-only
#: folder, in one interpreter (imports once).  Prints JSON: what a plain open() said,
#: and each command's exit code and stderr.
_AS_USER = """
import contextlib, io, json, os, sys
from symcalc.cli import main
folder = sys.argv[1]
try:
    open(os.path.join(folder, "probe.txt"), "w").close()
    plain = "written"
except PermissionError:
    plain = "PermissionError"
commands = [
    ["plot", "relu", "-o", f"{folder}/relu.png"],
    ["gallery", "--out", folder, "--only", "relu"],
    ["riemann", "x**2", "--a", "0", "--b", "1", "--plot", f"{folder}/riemann.png"],
    ["ftc", "relu", "--plot", f"{folder}/ftc.png"],
    ["gradcheck", "tanh", "--plot", f"{folder}/steps.png"],
    ["descend", "linear", "--data", "synthetic:linear", "--plot", f"{folder}/descent.png"],
    ["export", "sigmoid", "--to", "numpy", "-o", f"{folder}/sigmoid.py"],
    ["gradient-flow", "--activation", "tanh", "--depth", "3", "--width", "4", "--seeds", "2",
     "--plot", f"{folder}/flow.png"],
    ["attribute", "x*y", "--at", "x=1,y=2", "--plot", f"{folder}/ig.png"],
]
results = []
for argv in commands:
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        code = main(argv)
    results.append({"command": argv[0], "code": code, "stderr": err.getvalue()})
print(json.dumps({"plain": plain, "results": results}))
"""


#: Linux capabilities that let root write where permissions say no, and prctl's option
#: that drops one from the bounding set (an exec'd program then never has it).
_BYPASSING_CAPABILITIES = {"CAP_DAC_OVERRIDE": 1, "CAP_DAC_READ_SEARCH": 2, "CAP_FOWNER": 3}
_PR_CAPBSET_DROP = 24


def _without_root_powers():
    """A preexec function that drops the capabilities root uses to bypass permissions."""
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)  # loaded here, not in the forked child

    def drop() -> None:
        for capability in _BYPASSING_CAPABILITIES.values():
            if libc.prctl(_PR_CAPBSET_DROP, capability, 0, 0, 0) != 0:
                os._exit(100 + ctypes.get_errno())

    return drop


def test_every_command_that_writes_refuses_a_read_only_folder_in_one_line(tmp_path):
    """As a user without write permission: exit 2 and one line naming the folder."""
    folder = tmp_path / "read-only"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        completed = subprocess.run(
            [sys.executable, "-c", _AS_USER, str(folder)],
            capture_output=True,
            text=True,
            timeout=120,
            cwd=tmp_path,
            env={**os.environ, "MPLCONFIGDIR": str(tmp_path / "mpl")},
            preexec_fn=_without_root_powers() if os.geteuid() == 0 else None,
        )
        assert completed.returncode == 0, completed.stderr
        report = json.loads(completed.stdout)
        assert os.listdir(folder) == []
    finally:
        folder.chmod(0o755)  # so that pytest can clean up
    assert report["plain"] == "PermissionError"  # the folder really is read-only for this user
    for result in report["results"]:
        lines = result["stderr"].splitlines()
        assert result["code"] == 2, result
        assert len(lines) == 1, result
        assert f"folder '{folder}' is not writable (permission denied)" in lines[0], result
        assert lines[0].startswith(f"symcalc {result['command']}: error: "), result

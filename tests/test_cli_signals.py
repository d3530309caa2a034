"""Ctrl-C, SIGTERM and SIGKILL on a running symcalc: it stops at once and leaves no mess.

Each test starts ``symcalc`` in its own process group, as a shell does, and signals the
whole group, as a terminal does on Ctrl-C (or only the parent, for SIGKILL).  Then:
exit within 2 s with 128 + the signal number, one line on stderr, no temporary file,
no process of the group left (zombies, which run nothing, aside), and every file in
the output folder whole: listed in the gallery's manifest with its SHA-256.

The gallery runs with stand-in pages (made in 0.1-0.3 s of CPU inside the time
budget's child, so the workers have children of their own) to keep these tests fast;
everything else is the real command.  ``integrate`` runs for real, on an integrand
SymPy works on for minutes.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

#: ``symcalc ARGS`` with the gallery's pages replaced by quick stand-ins.
_GALLERY_WITH_QUICK_PAGES = """
import sys, time
from symcalc.cli import main
from symcalc.present import gallery
from symcalc.symbolic import budget

def spin(seconds):
    start = time.process_time()
    while time.process_time() - start < seconds:
        pass
    return seconds

def quick_page(name, timeout=None, figures=True):
    budget.within(5, spin, 0.1 + 0.02 * (len(name) % 10))
    files = tuple((f, (f"{name} " * 20000).encode()) for f in gallery.entry_files(name))
    summary = {"kind": "activation", "description": name, "formula": "x", "call": "f(x)",
               "operator": "d", "derivative": "1", "identity": None, "antiderivative": True,
               "ftc": "held", "files": list(gallery.entry_files(name))}
    return gallery.EntryPage(name=name, files=files, summary=summary,
                             antiderivative_found=True, symbolic_held=True, numeric_held=True)

gallery.build_page = quick_page
sys.exit(main())  # as the program: main reads sys.argv
"""

#: An integrand SymPy works on for minutes (the budget below is far longer than a test).
_HARD_INTEGRAND = "exp(-x**2)*log(x)*sin(x)/(1+x**3)"

_ENV = {**os.environ, "PYTHONIOENCODING": "utf-8", "MPLBACKEND": "Agg"}

#: The signals a terminal sends to its foreground job.
_TERMINAL_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def _as_a_terminal_job() -> None:
    """In the child: the stop signals at their defaults, as a shell gives a foreground job.

    pytest may itself run as a background job of a script (bash sets SIGINT to ignored
    there), and an ignored signal stays ignored across exec: symcalc rightly keeps it so.
    """
    for signum in _TERMINAL_SIGNALS:
        signal.signal(signum, signal.SIG_DFL)


@pytest.fixture
def start():
    """Start a command in its own process group; whatever is left of it is killed after."""
    started: list[subprocess.Popen] = []

    def run(argv: list[str], cwd: Path) -> subprocess.Popen:
        process = subprocess.Popen(
            argv,
            cwd=cwd,
            env=_ENV,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,  # its own process group, as a shell gives a job
            preexec_fn=_as_a_terminal_job,
        )
        started.append(process)
        return process

    yield run
    for process in started:
        for pid in _group(process.pid):  # only after a failure
            os.kill(pid, signal.SIGKILL)
        if process.poll() is None:
            process.kill()
        process.communicate()


def _group(pgid: int) -> list[int]:
    """Processes of the group that are alive (not zombies), from /proc."""
    alive = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        state, _, group = stat[stat.rindex(")") + 2 :].split()[:3]
        if int(group) == pgid and state not in "ZX":
            alive.append(int(entry.name))
    return alive


def _wait_for(condition, process: subprocess.Popen, what: str, limit: float = 60) -> None:
    deadline = time.monotonic() + limit
    while not condition():
        if process.poll() is not None:
            raise AssertionError(f"symcalc ended before {what}: {process.communicate()}")
        if time.monotonic() > deadline:  # pragma: no cover - a broken build
            raise AssertionError(f"no {what} within {limit} s")
        time.sleep(0.02)


def _stop(process: subprocess.Popen, signum: int) -> tuple[float, str, str]:
    """Signal the whole group; seconds until exit, stdout, stderr."""
    start = time.monotonic()
    os.killpg(process.pid, signum)
    try:
        out, err = process.communicate(timeout=10)
    except subprocess.TimeoutExpired:  # pragma: no cover - the failure this file tests
        return math.inf, "", ""
    return time.monotonic() - start, out, err


def _no_group_left(pgid: int) -> list[int]:
    """The group's live processes, after a moment for children the kernel is ending."""
    deadline = time.monotonic() + 0.5
    while _group(pgid) and time.monotonic() < deadline:
        time.sleep(0.01)
    return _group(pgid)


def _check_folder_is_whole(folder: Path) -> dict:
    names = sorted(p.name for p in folder.iterdir())
    assert not [n for n in names if n.endswith(".tmp")], names
    manifest = json.loads((folder / ".gallery-manifest.json").read_text())
    for name in names:
        if name == ".gallery-manifest.json":
            continue
        digest = hashlib.sha256((folder / name).read_bytes()).hexdigest()
        assert manifest["files"].get(name) == digest, f"{name} is not whole"
    return manifest


#: Which signal, its exit code and the one line symcalc prints.
STOPS = [(signal.SIGINT, 130, "interrupted"), (signal.SIGTERM, 143, "terminated")]


@pytest.mark.parametrize(("signum", "code", "said"), STOPS)
def test_a_parallel_gallery_stops_at_once_and_leaves_whole_files(
    tmp_path, start, signum, code, said
):
    out = tmp_path / "gallery"
    process = start(
        [sys.executable, "-c", _GALLERY_WITH_QUICK_PAGES, "gallery", "--out", str(out)]
        + ["--jobs", "2"],
        tmp_path,
    )
    _wait_for(lambda: out.is_dir() and any(out.glob("*.png")), process, "a page")
    seconds, _, err = _stop(process, signum)
    assert process.returncode == code
    assert seconds < 2, f"took {seconds:.2f} s to stop"
    assert err.splitlines() == [f"symcalc gallery: {said}"]
    assert _no_group_left(process.pid) == []
    manifest = _check_folder_is_whole(out)
    assert 0 < len(manifest["entries"]) < 30  # stopped in the middle


@pytest.mark.parametrize(("signum", "code", "said"), STOPS)
def test_integrate_waiting_on_its_time_budget_stops_at_once(tmp_path, start, signum, code, said):
    process = start(
        [sys.executable, "-m", "symcalc", "integrate", _HARD_INTEGRAND, "--timeout", "120"],
        tmp_path,
    )
    _wait_for(lambda: len(_group(process.pid)) > 1, process, "the budget's child")
    time.sleep(0.2)
    seconds, out, err = _stop(process, signum)
    assert process.returncode == code
    assert seconds < 2, f"took {seconds:.2f} s to stop"
    assert err.splitlines() == [f"symcalc integrate: {said}"]
    assert out == ""
    assert _no_group_left(process.pid) == []
    assert list(tmp_path.iterdir()) == []


def test_killing_symcalc_ends_its_workers_and_their_children(tmp_path, start):
    """SIGKILL to symcalc alone (no cleanup possible): the kernel ends the rest."""
    out = tmp_path / "gallery"
    process = start(
        [sys.executable, "-c", _GALLERY_WITH_QUICK_PAGES, "gallery", "--out", str(out)]
        + ["--jobs", "2"],
        tmp_path,
    )
    # symcalc, two workers and at least one budget child of a worker
    _wait_for(lambda: len(_group(process.pid)) >= 4, process, "workers with children")
    process.kill()
    process.wait()  # not communicate(): workers that outlived it would hold its pipes open
    assert _no_group_left(process.pid) == []
    before = {p.name: p.stat().st_mtime_ns for p in out.iterdir()} if out.is_dir() else {}
    time.sleep(0.3)
    after = {p.name: p.stat().st_mtime_ns for p in out.iterdir()} if out.is_dir() else {}
    assert after == before  # nothing writes into the folder any more


#: A worker that has sent half of its result when the stop comes (the pipe holds the
#: length and a few bytes); the main thread is interrupted while it waits for pages.
_HALF_SENT_RESULT = """
import gc, os, signal, struct, sys, threading, time
from multiprocessing.queues import SimpleQueue
from symcalc.present import gallery

ready = sys.argv[1]

def half_sent(name, timeout):
    if name == "sigmoid":
        queue = next(o for o in gc.get_objects() if isinstance(o, SimpleQueue))
        os.write(queue._writer.fileno(), struct.pack("!i", 100000) + b"half")
        open(ready, "w").close()
    time.sleep(60)

gallery._build_page_safely = half_sent
def interrupt_once_ready():
    while not os.path.exists(ready):
        time.sleep(0.01)
    os.kill(os.getpid(), signal.SIGINT)
threading.Thread(target=interrupt_once_ready, daemon=True).start()
try:
    list(gallery._pages(["sigmoid", "tanh", "relu"], 2, 60))
except KeyboardInterrupt:
    print("stopped")
"""


def test_a_worker_killed_while_sending_its_result_does_not_hang_the_stop(tmp_path):
    """The pool's manager thread waits for the rest of a half-sent result; it must not
    wait for ever once the sender is killed (it did, now and then, on Ctrl-C)."""
    ready = tmp_path / "half-sent"
    program = [sys.executable, "-c", _HALF_SENT_RESULT, str(ready)]
    run = subprocess.run(
        program,
        env=_ENV,
        capture_output=True,
        text=True,
        timeout=30,
        preexec_fn=_as_a_terminal_job,  # SIGINT at its default, whatever pytest's is
    )
    assert ready.exists()
    assert run.stdout.split() == ["stopped"], run.stderr


# -- the same, in this process (fast) ---------------------------------------------------


def _stop_signals() -> dict:
    return {s: signal.getsignal(s) for s in _TERMINAL_SIGNALS}


@pytest.fixture
def terminal_signals():
    """This process's stop signals as an interactive program has them, restored after."""
    defaults = {signal.SIGINT: signal.default_int_handler}
    saved = _stop_signals()
    for signum in _TERMINAL_SIGNALS:
        signal.signal(signum, defaults.get(signum, signal.SIG_DFL))
    yield
    for signum, handler in saved.items():
        signal.signal(signum, handler)


@pytest.mark.parametrize(("signum", "code", "said"), [*STOPS, (signal.SIGHUP, 129, "hung up")])
def test_a_signal_during_a_command_gives_its_exit_code_and_one_line(
    cli, monkeypatch, terminal_signals, signum, code, said
):
    from symcalc.cli import list_

    def run(args):
        os.kill(os.getpid(), signum)
        time.sleep(5)  # pragma: no cover - the signal ends the sleep
        return 0

    monkeypatch.setattr(list_, "run", run)
    before = _stop_signals()
    started = time.monotonic()
    result = cli("list")
    assert time.monotonic() - started < 1
    assert result.returncode == code
    assert (result.stderr, result.stdout) == (f"symcalc list: {said}\n", "")
    assert _stop_signals() == before  # main restores the handlers it installed


def test_a_signal_ignored_when_symcalc_starts_stays_ignored(cli, monkeypatch):
    """``nohup symcalc ...`` ignores SIGHUP; a background job of a script ignores SIGINT."""
    from symcalc.cli import list_

    seen = []
    monkeypatch.setattr(
        list_, "run", lambda args: seen.append(signal.getsignal(signal.SIGHUP)) or 0
    )
    previous = signal.signal(signal.SIGHUP, signal.SIG_IGN)
    try:
        assert cli("list").returncode == 0
        assert signal.getsignal(signal.SIGHUP) == signal.SIG_IGN
    finally:
        signal.signal(signal.SIGHUP, previous)
    assert seen == [signal.SIG_IGN]


def test_a_second_signal_while_cleaning_up_exits_at_once(monkeypatch):
    from symcalc import cli as cli_module

    exits = []

    def exit_now(code):
        exits.append(code)
        raise SystemExit(code)

    monkeypatch.setattr(os, "_exit", exit_now)
    monkeypatch.setattr(cli_module, "_STOPPING", [])
    with pytest.raises(KeyboardInterrupt):
        cli_module._on_signal(signal.SIGTERM, None)
    with pytest.raises(SystemExit):
        cli_module._on_signal(signal.SIGINT, None)
    assert exits == [143]  # the code of the first signal

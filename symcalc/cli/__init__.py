"""The ``symcalc`` command: argparse subcommands that call the public API and print.

Each subcommand is a module here with two functions: ``add(sub)`` declares its
arguments and ``run(args)`` calls the library and prints; its one-line summary is in
`COMMANDS`.  Only this package knows flags (`flags.FLAGS` translates the library's
parameter names).  A run builds the parser of the one command it names (the others
are listed by summary only) and a command imports the heavy libraries (SymPy, NumPy,
matplotlib) inside ``run``, so ``symcalc --help`` starts at once and each command
imports only what it needs.  Exit codes: 0 success, 1 a check failed or an internal
error, 2 bad input (one line on stderr, no traceback).  Set ``SYMCALC_DEBUG=1`` to see
tracebacks of internal errors.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import os
import signal
import sys
import threading
from collections.abc import Iterable, Iterator, Sequence
from typing import NoReturn

from .._version import __version__
from ..errors import SymcalcError
from ..symbolic.lean import STAND_INS, stand_ins
from .common import EXIT_BAD_INPUT, EXIT_FAILED, EXIT_OK
from .flags import to_flags

__all__ = ["build_parser", "main"]

#: The subcommands, in the order ``symcalc --help`` lists them, with their summaries; each
#: is a module here (named with a trailing underscore where the command is a Python builtin).
COMMANDS: dict[str, str] = {
    "list": "the catalog of activations and losses",
    "show": "a function's formula as text and LaTeX, parameters, domain, sup|f′|",
    "derive": "symbolic derivative with step-by-step derivation",
    "integrate": "antiderivative with step-by-step integration (under a time budget)",
    "ftc": "check the fundamental theorem d/dx ∫_a^x f = f, symbolically and numerically",
    "riemann": "Riemann sum of f on [a, b], its error, and the convergence study",
    "plot": "draw f beside its derivative (and second derivative) to a PNG, SVG or PDF file",
    "descend": "fit a model by Newton, L-BFGS, Newton-CG, gradient descent or SGD on derived "
    "derivatives",
    "eval": "evaluate the stable NumPy kernel of a function or its derivative",
    "gradcheck": "compare the symbolic derivative with numeric differentiation",
    "backprop": "the backward pass of a network derived step by step in matrix calculus, verified",
    "gradient-flow": "gradient norms layer by layer on random deep networks, beside their bound",
    "attribute": "integrated gradients: f(x) − f(x′) shared between the inputs, checked",
    "export": "write a function and its derivatives as a standalone JAX, PyTorch or NumPy module",
    "gallery": "build the catalog gallery: a Markdown page with figures per entry, and an index",
}


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line that names the command, suggests the
    option or command meant (``--ordr`` -> ``--order``), and hints at leading minus signs."""

    def error(self, message: str) -> NoReturn:
        parser = _command_parser(self) if "unrecognized arguments" in message else self
        hint = _did_you_mean(parser, message)
        if not hint and ("NAME|EXPR" in message or "unrecognized arguments" in message):
            if any(a.startswith("-") and ("(" in a or "*" in a) for a in _ARGV):
                hint = (
                    "; an expression that starts with '-' goes after '--',"
                    " as in: symcalc derive -- '-log(x)'"
                )
        prog = parser.prog
        self.exit(EXIT_BAD_INPUT, f"{prog}: error: {message}{hint} (see {prog} --help)\n")


def _subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def _command_parser(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """The subcommand's parser when the top-level one reports its leftovers (argparse
    collects unknown options of a subcommand and the top level complains about them)."""
    commands = _subcommands(parser)
    for token in _ARGV:
        if token == "--":
            break
        if token in commands:
            return commands[token]
    return parser


def _did_you_mean(parser: argparse.ArgumentParser, message: str) -> str:
    """'; did you mean --order?' for each mistyped option (or command) in ``message``."""
    import difflib

    if "invalid choice" in message and "argument COMMAND" in message:
        typed = message.split("invalid choice: ", 1)[1].split("'")[1]
        close = difflib.get_close_matches(typed, list(_subcommands(parser)), n=1)
        return f"; did you mean '{close[0]}'?" if close else ""
    if "unrecognized arguments" not in message:
        return ""
    options = [o for action in parser._actions for o in action.option_strings if o.startswith("--")]
    hints = []
    for token in message.split("unrecognized arguments:", 1)[1].split():
        if not token.startswith("--") or token == "--":
            continue
        name = token.split("=", 1)[0]
        close = difflib.get_close_matches(name, options, n=1, cutoff=0.6)
        if close:
            hints.append((name, close[0]))
    if len(hints) == 1:
        return f"; did you mean {hints[0][1]}?"
    return "; did you mean " + ", ".join(f"{b} for {a}" for a, b in hints) + "?" if hints else ""


#: The arguments of the current run, for error hints.
_ARGV: list[str] = []


class _Subcommands:
    """The subparsers as a command module sees them: ``add_parser`` adds the summary."""

    def __init__(self, action: argparse._SubParsersAction):
        self._action = action

    def add_parser(self, name: str, **kwargs) -> argparse.ArgumentParser:
        kwargs.setdefault("help", COMMANDS[name])
        return self._action.add_parser(name, **kwargs)


def build_parser(commands: Iterable[str] | None = None) -> argparse.ArgumentParser:
    """The argument parser; with ``commands``, only those are built in full.

    The others are listed by name and summary (enough for ``symcalc --help`` and for
    "invalid choice") without importing their modules.
    """
    full = set(COMMANDS if commands is None else commands)
    parser = _Parser(
        prog="symcalc",
        description="A symbolic calculus explorer for machine learning.",
        epilog="Exit codes: 0 ok, 1 a check failed or internal error, 2 bad input.",
    )
    parser.add_argument("--version", action="version", version=f"symcalc {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True
    for name, summary in COMMANDS.items():
        if name in full:
            module = f"{name}_" if name in ("list", "eval") else name.replace("-", "_")
            importlib.import_module(f".{module}", __name__).add(_Subcommands(sub))
        else:
            sub.add_parser(name, help=summary)
    return parser


def _command_named(argv: Sequence[str]) -> list[str]:
    """The subcommand ``argv`` names (its first argument that is not an option), if any."""
    for token in argv:
        if token == "--" or not token.startswith("-"):
            return [token] if token in COMMANDS else []
    return []


def _value_options(parser: argparse.ArgumentParser) -> set[str]:
    """Long options of any subcommand that take a value."""
    found: set[str] = set()
    stack = [parser]
    while stack:
        current = stack.pop()
        for action in current._actions:
            if isinstance(action, argparse._SubParsersAction):
                stack.extend(action.choices.values())
            elif action.option_strings and action.nargs != 0:
                found.update(o for o in action.option_strings if o.startswith("--"))
    return found


def _glue_negative_values(argv: Sequence[str], options: set[str]) -> list[str]:
    """``--range -5:5`` -> ``--range=-5:5``: argparse would read '-5:5' as an option."""
    out: list[str] = []
    tokens = list(argv)
    i = 0
    while i < len(tokens):
        token = tokens[i]
        if token == "--":
            out.extend(tokens[i:])
            break
        following = tokens[i + 1] if i + 1 < len(tokens) else ""
        if token in options and following[:1] == "-" and following[1:2] in set("0123456789.i"):
            out.append(f"{token}={following}")
            i += 2
            continue
        out.append(token)
        i += 1
    return out


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code.

    SIGINT (Ctrl-C), SIGTERM and SIGHUP stop any command within about a second: files
    being written are left whole or not at all (no temporary file stays), child
    processes are stopped, one line goes to stderr, and the exit code is 128 + the
    signal number (130, 143, 129).  A second signal during that cleanup exits at once.
    A signal that was ignored when symcalc started (``nohup``, a background job) stays
    ignored.  Run as the program (``argv`` None), an interrupted run then exits without
    the interpreter's slow teardown; called from Python, it returns the code.
    """
    with _stop_signals():
        try:
            return _run(argv)
        except KeyboardInterrupt as exc:
            code = _stopped(exc)
    if argv is None:  # the program itself, not a call from Python: end now
        _exit_now(code)
    return code


#: Signals that stop a run cleanly, and what the one line on stderr says of each.
_STOP_SIGNALS = {"SIGINT": "interrupted", "SIGTERM": "terminated", "SIGHUP": "hung up"}
#: The signal that is stopping this run, once one arrived.
_STOPPING: list[int] = []


class _Stopped(KeyboardInterrupt):
    """A stop signal arrived; raised where the main thread is, so that cleanup runs."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum


def _on_signal(signum: int, frame) -> None:
    if _STOPPING:  # a second signal while cleaning up: go now (children die with us)
        os._exit(128 + _STOPPING[0])
    _STOPPING.append(signum)
    raise _Stopped(signum)


@contextlib.contextmanager
def _stop_signals() -> Iterator[None]:
    """Route the stop signals to `_on_signal` while inside (main thread only), then restore."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    _STOPPING.clear()
    previous = {}
    for name in _STOP_SIGNALS:
        signum = getattr(signal, name, None)
        if signum is not None and signal.getsignal(signum) is not signal.SIG_IGN:
            previous[signum] = signal.signal(signum, _on_signal)
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, signal.SIG_DFL if handler is None else handler)


def _stopped(exc: KeyboardInterrupt) -> int:
    """Say in one line which signal stopped which command; the exit code 128 + its number."""
    signum = getattr(exc, "signum", signal.SIGINT)
    command = next((token for token in _ARGV if token in COMMANDS), None)
    what = _STOP_SIGNALS.get(signal.Signals(signum).name, "stopped")
    try:
        print(f"symcalc{f' {command}' if command else ''}: {what}", file=sys.stderr)
    except (OSError, ValueError):  # the terminal is gone (SIGHUP) or stderr closed
        pass
    return 128 + signum


def _exit_now(code: int) -> NoReturn:
    """Exit without the interpreter's teardown of every module (a second or more with
    SymPy, NumPy and matplotlib loaded on a busy machine): run the exit handlers, flush
    the output, and go.  Children are already stopped; any left are killed."""
    import atexit

    multiprocessing = sys.modules.get("multiprocessing")
    if multiprocessing is not None:
        for child in multiprocessing.active_children():
            child.kill()
            child.join(1)
    with contextlib.suppress(Exception):
        getattr(atexit, "_run_exitfuncs", lambda: None)()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    os._exit(code)


def _run(argv: Sequence[str] | None) -> int:
    for stream in (sys.stdout, sys.stderr):
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="replace")
    _ARGV[:] = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(_command_named(_ARGV))
    args = parser.parse_args(_glue_negative_values(_ARGV, _value_options(parser)))
    try:
        with stand_ins(*STAND_INS):  # a short process: SymPy's isinstance-only imports spared
            return args.run(args)
    except SymcalcError as exc:
        message = to_flags(str(exc).splitlines()[0]) if str(exc) else type(exc).__name__
        print(f"symcalc {args.command}: error: {message}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except BrokenPipeError:
        return EXIT_OK
    except Exception as exc:  # noqa: BLE001 - the CLI answers with one line, not a traceback
        if os.environ.get("SYMCALC_DEBUG"):
            raise
        print(
            f"symcalc {args.command}: internal error: {type(exc).__name__}: {exc} "
            "(please report it; SYMCALC_DEBUG=1 shows the traceback)",
            file=sys.stderr,
        )
        return EXIT_FAILED


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

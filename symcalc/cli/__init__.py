"""The ``symcalc`` command: argparse subcommands that call the public API and print.

Each subcommand is a module here with two functions: ``add(sub)`` declares its
arguments and ``run(args)`` calls the library and prints.  Only this package knows
flags.  A command imports the heavy libraries (SymPy, NumPy, matplotlib) inside
``run``, so ``symcalc --help`` starts at once.  Exit codes: 0 success, 1 a check
failed or an internal error, 2 bad input (one line on stderr, no traceback).  Set
``SYMCALC_DEBUG=1`` to see tracebacks of internal errors.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence
from typing import NoReturn

from .._version import __version__
from ..errors import SymcalcError
from .common import EXIT_BAD_INPUT, EXIT_FAILED, EXIT_OK

__all__ = ["build_parser", "main"]

#: The subcommands, in the order ``symcalc --help`` lists them; each is a module here
#: (named with a trailing underscore where the command is a Python builtin).
COMMANDS = (
    "list",
    "show",
    "derive",
    "integrate",
    "ftc",
    "riemann",
    "plot",
    "descend",
    "eval",
    "gradcheck",
    "export",
    "gallery",
)


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line, with a hint for leading minus signs."""

    def error(self, message: str) -> NoReturn:
        hint = ""
        if "NAME|EXPR" in message or "unrecognized arguments" in message:
            if any(a.startswith("-") and ("(" in a or "*" in a) for a in _ARGV):
                hint = (
                    "; an expression that starts with '-' goes after '--',"
                    " as in: symcalc derive -- '-log(x)'"
                )
        self.exit(EXIT_BAD_INPUT, f"{self.prog}: error: {message}{hint} (see {self.prog} --help)\n")


#: The arguments of the current run, for error hints.
_ARGV: list[str] = []


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand."""
    parser = _Parser(
        prog="symcalc",
        description="A symbolic calculus explorer for machine learning.",
        epilog="Exit codes: 0 ok, 1 a check failed or internal error, 2 bad input.",
    )
    parser.add_argument("--version", action="version", version=f"symcalc {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True
    for name in COMMANDS:
        module = f"{name}_" if name in ("list", "eval") else name
        importlib.import_module(f".{module}", __name__).add(sub)
    return parser


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
    """Run the command line; returns the exit code."""
    for stream in (sys.stdout, sys.stderr):
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="replace")
    _ARGV[:] = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    args = parser.parse_args(_glue_negative_values(_ARGV, _value_options(parser)))
    try:
        return args.run(args)
    except SymcalcError as exc:
        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        print(f"symcalc {args.command}: error: {message}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("symcalc: interrupted", file=sys.stderr)
        return 130
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


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

"""The ``symcalc`` command: argparse subcommands that call the public API and print.

Each subcommand is two small functions: ``_add_<name>`` declares its arguments and
``_run_<name>`` calls the API and prints.  Exit codes: 0 success, 1 a check failed
or an internal error, 2 bad input (one line on stderr, no traceback).  Set
``SYMCALC_DEBUG=1`` to see tracebacks of internal errors.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Sequence
from typing import Any, NoReturn

import sympy

from . import __version__
from .errors import SymcalcError

__all__ = ["main"]

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT = 0, 1, 2


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line, with a hint for leading minus signs."""

    def error(self, message: str) -> NoReturn:
        hint = ""
        if "NAME|EXPR" in message or "unrecognized arguments" in message:
            if any(a.startswith("-") and ("(" in a or "*" in a) for a in _ARGV):
                hint = "; an expression that starts with '-' goes after '--', as in: symcalc derive -- '-log(x)'"
        self.exit(EXIT_BAD_INPUT, f"{self.prog}: error: {message}{hint} (see {self.prog} --help)\n")


#: The arguments of the current run, for error hints.
_ARGV: list[str] = []


def _print_json(data: Any) -> None:
    print(json.dumps(data, indent=2, ensure_ascii=False, allow_nan=False))


def _params(pairs: Sequence[str] | None) -> dict[str, float]:
    """``["alpha=2", "slope=0.1"]`` -> ``{"alpha": 2.0, "slope": 0.1}``."""
    out: dict[str, float] = {}
    for pair in pairs or ():
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            raise SymcalcError(f"--param takes name=value, got '{pair}'")
        try:
            number = float(value)
        except ValueError:
            raise SymcalcError(f"--param {name.strip()}: '{value}' is not a number") from None
        out[name.strip()] = int(number) if number.is_integer() and "." not in value else number
    return out


def _add_function_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "function", metavar="NAME|EXPR",
        help="a catalog name (see 'symcalc list') or an expression such as 'x*tanh(log(1+exp(x)))'",
    )
    parser.add_argument(
        "--param", action="append", metavar="NAME=VALUE",
        help="set a catalog parameter, e.g. --param alpha=2 (repeatable)",
    )


# -- list ---------------------------------------------------------------------------


def _add_list(sub) -> None:
    p = sub.add_parser("list", help="the catalog of activations and losses")
    p.add_argument("--kind", choices=["activation", "loss"], help="only this kind")
    p.add_argument("--format", choices=["text", "json"], default="text")
    p.set_defaults(run=_run_list)


def _run_list(args) -> int:
    from .catalog import catalog

    entries = catalog(args.kind)
    if args.format == "json":
        _print_json([_entry_dict(e) for e in entries])
        return EXIT_OK
    rows = [(e.name, e.kind, ", ".join(v.name for v in e.variables), sympy.sstr(e.expr)) for e in entries]
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    for name, kind, variables, formula in rows:
        formula = formula if len(formula) <= 70 else formula[:67] + "..."
        print(f"{name:<{widths[0]}}  {kind:<{widths[1]}}  {variables:<{widths[2]}}  {formula}")
    return EXIT_OK


def _entry_dict(entry) -> dict[str, Any]:
    return {
        "name": entry.name,
        "kind": entry.kind,
        "aliases": list(entry.aliases),
        "variables": [v.name for v in entry.variables],
        "expr": sympy.sstr(entry.expr),
        "expr_latex": sympy.latex(entry.expr),
        "params": {k: sympy.sstr(v) for k, v in entry.params.items()},
        "options": dict(entry.options),
        "domain": {v.name: sympy.sstr(entry.domain_of(v)) for v in entry.variables},
        "description": entry.description,
        "identity": None if entry.identity is None else sympy.sstr(entry.identity),
    }


# -- show ---------------------------------------------------------------------------


def _add_show(sub) -> None:
    p = sub.add_parser("show", help="a function's formula as text and LaTeX, parameters, domain")
    _add_function_argument(p)
    p.add_argument("--format", choices=["text", "latex", "json"], default="text")
    p.set_defaults(run=_run_show)


def _run_show(args) -> int:
    from .parse import resolve

    entry = resolve(args.function, **_params(args.param))
    if args.format == "json":
        data = _entry_dict(entry)
        data["input"] = args.function
        if entry.kind == "loss":
            data["mean_loss"] = sympy.sstr(entry.mean_loss())
            data["mean_loss_latex"] = sympy.latex(entry.mean_loss())
        _print_json(data)
    elif args.format == "latex":
        print(entry.latex())
    else:
        print(entry.to_text())
        print(f"  LaTeX: {entry.latex()}")
        if entry.kind == "loss":
            print(f"  mean over m samples: J = {sympy.sstr(entry.mean_loss())}")
        if entry.identity is not None:
            print(f"  classic derivative: d/d{entry.variable} = {sympy.sstr(entry.identity)}")
    return EXIT_OK


# -- derive -------------------------------------------------------------------------


def _add_derive(sub) -> None:
    p = sub.add_parser(
        "derive", help="symbolic derivative with step-by-step derivation",
        description="Differentiate a catalog function or an expression. "
        "An expression that starts with '-' goes after '--': symcalc derive -- '-log(x)'",
    )
    _add_function_argument(p)
    p.add_argument("--wrt", metavar="VAR", help="variable to differentiate by (default: the first)")
    p.add_argument("--order", type=int, default=1, metavar="N", help="derivative order (default 1)")
    p.add_argument("--steps", action="store_true", help="show the step-by-step derivation")
    p.add_argument("--format", choices=["text", "latex", "json"], default="text")
    p.add_argument(
        "--convention", choices=["zero", "half", "one"], default="zero",
        help="value of Heaviside(0) at kinks: zero (relu'(0)=0, PyTorch/JAX), half (SymPy), one",
    )
    p.add_argument("--timeout", type=float, default=None, metavar="S", help="simplification budget in seconds")
    p.set_defaults(run=_run_derive)


def _run_derive(args) -> int:
    from .budget import DEFAULT_SECONDS
    from .derivatives import derive

    timeout = DEFAULT_SECONDS if args.timeout is None else _positive(args.timeout, "--timeout")
    result = derive(
        args.function, wrt=args.wrt, order=args.order, params=_params(args.param),
        convention=args.convention, steps=args.steps or args.format != "text", timeout=timeout,
    )
    if args.format == "json":
        _print_json(result.to_dict())
    elif args.format == "latex":
        print(result.to_latex(steps=args.steps))
    else:
        print(result.to_text(steps=args.steps))
    return EXIT_OK


def _positive(value: float, option: str) -> float:
    if not value > 0 or value != value or value == float("inf"):
        raise SymcalcError(f"{option} must be a positive number of seconds, got {value}")
    return value


# -- main ---------------------------------------------------------------------------

_COMMANDS: list[Callable[[Any], None]] = [_add_list, _add_show, _add_derive]


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
    for add in _COMMANDS:
        add(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    for stream in (sys.stdout, sys.stderr):
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="replace")
    _ARGV[:] = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    args = parser.parse_args(argv)
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

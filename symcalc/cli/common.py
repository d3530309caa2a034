"""What every subcommand shares: reading arguments into the library's parameters, printing.

The command line is the one place flags exist: these helpers turn flag text into the
numbers and names the library takes, and print results as text, LaTeX or JSON.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from typing import Any

from ..errors import SymcalcError
from .flags import data_to_flags, to_flags

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT = 0, 1, 2


def print_json(data: Any) -> None:
    print(json.dumps(data, indent=2, ensure_ascii=False, allow_nan=False))


def emit(result: Any, fmt: str, *, wrote: str | None = None, **text_options: Any) -> None:
    """Print a result object: ``to_dict()`` as JSON, ``to_latex()`` or ``to_text()``.

    Parameters the library names in its messages are printed as flags (`to_flags`)."""
    if fmt == "json":
        print_json(data_to_flags({**result.to_dict(), **({"plot": wrote} if wrote else {})}))
        return
    if fmt == "latex":
        print(result.to_latex(**text_options))
    else:
        print(to_flags(result.to_text(**text_options)))
    if wrote:
        print(f"wrote {wrote}")


def parse_hidden(text: str | None, default: int | tuple[int, ...]) -> int | tuple[int, ...]:
    """``--hidden 16,16,8`` -> (16, 16, 8); ``16`` -> 16; None -> ``default``."""
    if text is None:
        return default
    parts = [p.strip() for p in str(text).split(",")]
    try:
        widths = tuple(int(p) for p in parts)
    except ValueError:
        raise SymcalcError(
            f"--hidden takes whole numbers separated by commas (16,16,8), got '{text}'"
        ) from None
    return widths[0] if len(widths) == 1 else widths


def add_latex_formats(parser: argparse.ArgumentParser) -> None:
    """``--format text|latex|json`` and ``--standalone``, as every command that prints a
    derivation takes them."""
    parser.add_argument(
        "--format",
        choices=["text", "latex", "json"],
        default="text",
        help="text, json, or latex: one align* environment (needs amsmath; paste it as it is, "
        "do not wrap it in \\[ ... \\])",
    )
    parser.add_argument(
        "--standalone",
        action="store_true",
        help="print a complete LaTeX document (article, amsmath) that pdflatex compiles",
    )


def standalone_format(args: argparse.Namespace) -> None:
    """``--standalone`` writes LaTeX: refuse it with ``--format json`` before any work."""
    if getattr(args, "standalone", False) and args.format == "json":
        raise SymcalcError(
            "--standalone writes a LaTeX document; use it without --format json "
            "(or with --format latex)"
        )


def parse_params(pairs: Sequence[str] | None) -> dict[str, float]:
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


def add_function_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "function",
        metavar="NAME|EXPR",
        help="a catalog name (see 'symcalc list') or an expression such as 'x*tanh(log(1+exp(x)))'",
    )
    parser.add_argument(
        "--param",
        action="append",
        metavar="NAME=VALUE",
        help="set a catalog parameter, e.g. --param alpha=2 (repeatable)",
    )


def positive(value: float, option: str) -> float:
    if not value > 0 or value != value or value == float("inf"):
        raise SymcalcError(f"{option} must be a positive number of seconds, got {value}")
    return value


def parse_range(text: str | None, option: str = "--range") -> tuple[float, float] | None:
    """``"A:B"`` -> ``(A, B)`` as floats, A < B."""
    if text is None:
        return None
    low, sep, high = text.partition(":")
    try:
        if not sep:
            raise ValueError
        values = float(low), float(high)
    except ValueError:
        raise SymcalcError(f"{option} takes A:B, as in {option}=-5:5, got '{text}'") from None
    if not all(v == v and abs(v) != float("inf") for v in values):
        raise SymcalcError(f"{option} needs finite numbers, got '{text}'")
    if not values[0] < values[1]:
        raise SymcalcError(f"{option} needs A < B, got '{text}'")
    return values


def parse_timeout(value: float | None) -> float | None:
    """``--timeout`` in seconds; None (not given) lets the library use its current default."""
    return None if value is None else positive(value, "--timeout")


def add_plot_target(parser: argparse.ArgumentParser, option: str = "--plot") -> None:
    parser.add_argument(
        option, metavar="FILE", help="also draw the figure to FILE (.png, .svg or .pdf)"
    )
    parser.add_argument("--force", action="store_true", help="overwrite FILE if it exists")


def save_plot(figure, path: str, force: bool) -> None:
    from ..present.files import save_figure

    save_figure(figure, path, force=force)


def check_plot_target(path: str | None, force: bool) -> None:
    """Refuse a bad figure path before any work is done."""
    if path is None:
        return
    from pathlib import Path

    from ..present.files import FIGURE_FORMATS, check_target

    if Path(path).suffix.lower() not in FIGURE_FORMATS:
        raise SymcalcError(
            f"cannot save a figure as '{path}'; use a name ending in {', '.join(FIGURE_FORMATS)}"
        )
    check_target(path, force=force)


def parse_numbers(text: str, option: str) -> list[float]:
    """``"0.5,1,2"`` -> ``[0.5, 1.0, 2.0]`` through float(); at least one finite number."""
    values = []
    for part in text.split(","):
        try:
            values.append(float(part))
        except ValueError:
            raise SymcalcError(
                f"{option} takes numbers separated by commas, as in {option}=0.5,1,2; "
                f"'{part.strip()}' is not a number"
            ) from None
    if not all(v == v and abs(v) != float("inf") for v in values):
        raise SymcalcError(f"{option} needs finite numbers, got '{text}'")
    return values


def parse_grid(text: str, option: str = "--range") -> list[float]:
    """``"-5:5:101"`` -> 101 evenly spaced numbers from -5 to 5."""
    import numpy as np

    parts = text.split(":")
    if len(parts) != 3:
        raise SymcalcError(f"{option} takes A:B:N, as in {option}=-5:5:101, got '{text}'")
    low, high = parse_range(f"{parts[0]}:{parts[1]}", option)
    try:
        count = int(parts[2])
    except ValueError:
        raise SymcalcError(
            f"{option}: the number of points '{parts[2]}' is not a whole number"
        ) from None
    if not 1 <= count <= 1_000_000:
        raise SymcalcError(f"{option}: the number of points must be from 1 to 1000000, got {count}")
    return np.linspace(low, high, count).tolist()


def parse_variable_values(pairs: Sequence[str] | None) -> dict[str, float]:
    """``["y=1", "z_2=0.5"]`` -> ``{"y": 1.0, "z_2": 0.5}``."""
    out = {}
    for pair in pairs or ():
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            raise SymcalcError(f"--with takes name=value, got '{pair}'")
        out[name.strip()] = parse_numbers(value, f"--with {name.strip()}")[0]
    return out

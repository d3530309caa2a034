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
from .functions import latex

__all__ = ["main"]

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT = 0, 1, 2


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


def _print_json(data: Any) -> None:
    print(json.dumps(data, indent=2, ensure_ascii=False, allow_nan=False))


def _emit(result: Any, fmt: str, *, wrote: str | None = None, **text_options: Any) -> None:
    """Print a result object: ``to_dict()`` as JSON, ``to_latex()`` or ``to_text()``."""
    if fmt == "json":
        _print_json({**result.to_dict(), **({"plot": wrote} if wrote else {})})
        return
    print(result.to_latex(**text_options) if fmt == "latex" else result.to_text(**text_options))
    if wrote:
        print(f"wrote {wrote}")


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
    rows = [
        (e.name, e.kind, ", ".join(v.name for v in e.variables), sympy.sstr(e.expr))
        for e in entries
    ]
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
        "expr_latex": latex(entry.expr),
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
            data["mean_loss_latex"] = latex(entry.mean_loss())
        _print_json(data)
    elif args.format == "latex":
        print(entry.latex())
    else:
        print(entry.to_text())
        print(f"  LaTeX: {entry.latex()}")
        if entry.kind == "loss":
            args_i = ", ".join(f"{v.name}_i" for v in entry.variables)
            print(f"  mean over m samples: J = (1/m) Σ_i {entry.name}({args_i}), i = 1..m")
        if entry.identity is not None:
            print(f"  classic derivative: d/d{entry.variable} = {sympy.sstr(entry.identity)}")
    return EXIT_OK


# -- derive -------------------------------------------------------------------------


def _add_derive(sub) -> None:
    p = sub.add_parser(
        "derive",
        help="symbolic derivative with step-by-step derivation",
        description="Differentiate a catalog function or an expression. "
        "An expression that starts with '-' goes after '--': symcalc derive -- '-log(x)'",
    )
    _add_function_argument(p)
    p.add_argument("--wrt", metavar="VAR", help="variable to differentiate by (default: the first)")
    p.add_argument("--order", type=int, default=1, metavar="N", help="derivative order (default 1)")
    p.add_argument("--steps", action="store_true", help="show the step-by-step derivation")
    p.add_argument("--format", choices=["text", "latex", "json"], default="text")
    p.add_argument(
        "--convention",
        choices=["zero", "half", "one"],
        default="zero",
        help="value of Heaviside(0) at kinks: zero (relu'(0)=0, PyTorch/JAX), half (SymPy), one",
    )
    p.add_argument(
        "--timeout", type=float, default=None, metavar="S", help="simplification budget in seconds"
    )
    p.set_defaults(run=_run_derive)


def _run_derive(args) -> int:
    from .budget import DEFAULT_SECONDS
    from .derivatives import derive

    timeout = DEFAULT_SECONDS if args.timeout is None else _positive(args.timeout, "--timeout")
    result = derive(
        args.function,
        wrt=args.wrt,
        order=args.order,
        params=_params(args.param),
        convention=args.convention,
        steps=args.steps or args.format != "text",
        timeout=timeout,
    )
    _emit(result, args.format, steps=args.steps)
    return EXIT_OK


def _positive(value: float, option: str) -> float:
    if not value > 0 or value != value or value == float("inf"):
        raise SymcalcError(f"{option} must be a positive number of seconds, got {value}")
    return value


# -- integrate, ftc, riemann, plot -------------------------------------------------


def _range(text: str | None, option: str = "--range") -> tuple[float, float] | None:
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


def _timeout(value: float | None) -> float:
    from .budget import DEFAULT_SECONDS

    return DEFAULT_SECONDS if value is None else _positive(value, "--timeout")


def _add_plot_target(parser: argparse.ArgumentParser, option: str = "--plot") -> None:
    parser.add_argument(
        option, metavar="FILE", help="also draw the figure to FILE (.png, .svg or .pdf)"
    )
    parser.add_argument("--force", action="store_true", help="overwrite FILE if it exists")


def _save_plot(figure, path: str, force: bool) -> None:
    from .files import save_figure

    save_figure(figure, path, force=force)


def _check_plot_target(path: str | None, force: bool) -> None:
    """Refuse a bad figure path before any work is done."""
    if path is None:
        return
    from pathlib import Path

    from .files import FIGURE_FORMATS, check_target

    if Path(path).suffix.lower() not in FIGURE_FORMATS:
        raise SymcalcError(
            f"cannot save a figure as '{path}'; use a name ending in {', '.join(FIGURE_FORMATS)}"
        )
    check_target(path, force=force)


def _add_integrate(sub) -> None:
    p = sub.add_parser(
        "integrate",
        help="antiderivative with step-by-step integration (under a time budget)",
        description="Integrate a catalog function or an expression symbolically. No closed form "
        "within the time budget is a normal answer.",
    )
    _add_function_argument(p)
    p.add_argument("--steps", action="store_true", help="show the step-by-step integration")
    p.add_argument("--format", choices=["text", "latex", "json"], default="text")
    p.add_argument(
        "--timeout", type=float, default=None, metavar="S", help="integration budget in seconds"
    )
    p.set_defaults(run=_run_integrate)


def _run_integrate(args) -> int:
    from .ftc import antiderivative

    result = antiderivative(
        args.function, params=_params(args.param), timeout=_timeout(args.timeout)
    )
    _emit(result, args.format, steps=args.steps)
    return EXIT_OK


def _add_ftc(sub) -> None:
    p = sub.add_parser(
        "ftc",
        help="check the fundamental theorem d/dx ∫_a^x f = f, symbolically and numerically",
        description="Check d/dx of the integral of f from a to x against f: symbolically where an "
        "antiderivative exists within the budget, numerically always. Exit 1 when a check fails.",
    )
    _add_function_argument(p)
    p.add_argument(
        "--a",
        type=float,
        default=None,
        metavar="A",
        help="lower limit a (default 0, or the middle of the range when 0 is outside the domain)",
    )
    p.add_argument(
        "--range", default=None, metavar="A:B", help="x range of the check, e.g. --range=-5:5"
    )
    p.add_argument(
        "--points", type=int, default=201, metavar="N", help="number of check points (default 201)"
    )
    p.add_argument(
        "--antiderivative",
        metavar="EXPR",
        default=None,
        help="check this claimed antiderivative F instead of integrating",
    )
    p.add_argument("--format", choices=["text", "json"], default="text")
    p.add_argument(
        "--timeout", type=float, default=None, metavar="S", help="symbolic budget in seconds"
    )
    _add_plot_target(p)
    p.set_defaults(run=_run_ftc)


def _run_ftc(args) -> int:
    from .ftc import check_ftc

    _check_plot_target(args.plot, args.force)
    check = check_ftc(
        args.function,
        args.a,
        x_range=_range(args.range),
        points=args.points,
        params=_params(args.param),
        timeout=_timeout(args.timeout),
        antiderivative=args.antiderivative,
    )
    if args.plot:
        from .plotting import plot_ftc

        _save_plot(plot_ftc(check), args.plot, args.force)
    _emit(check, args.format, wrote=args.plot)
    return EXIT_OK if check.held else EXIT_FAILED


def _add_riemann(sub) -> None:
    from .ftc import RULES

    p = sub.add_parser(
        "riemann",
        help="Riemann sum of f on [a, b], its error, and the convergence study",
        description="Left, right, midpoint or trapezoid Riemann sum with n subintervals, compared "
        "with the integral; --convergence K adds the study for n = 2 .. 2^K with observed orders.",
    )
    _add_function_argument(p)
    p.add_argument("--a", type=float, required=True, metavar="A", help="left end of the interval")
    p.add_argument("--b", type=float, required=True, metavar="B", help="right end of the interval")
    p.add_argument(
        "--n", type=int, default=10, metavar="N", help="number of subintervals (default 10)"
    )
    p.add_argument(
        "--rule", choices=RULES, default="midpoint", help="sampling rule (default midpoint)"
    )
    p.add_argument(
        "--convergence",
        type=int,
        default=None,
        metavar="K",
        help="also study n = 2, 4, ..., 2^K for every rule (the plot uses K = 10 by default)",
    )
    p.add_argument("--format", choices=["text", "json"], default="text")
    _add_plot_target(p)
    p.set_defaults(run=_run_riemann)


def _run_riemann(args) -> int:
    from .ftc import riemann_convergence, riemann_sum

    _check_plot_target(args.plot, args.force)
    params = _params(args.param)
    result = riemann_sum(args.function, args.a, args.b, args.n, rule=args.rule, params=params)
    study = None
    if args.convergence is not None or args.plot:
        power = 10 if args.convergence is None else args.convergence
        study = riemann_convergence(
            result.entry, args.a, args.b, max_power=power, exact=result.exact
        )
    if args.plot:
        from .plotting import plot_riemann_sum

        _save_plot(plot_riemann_sum(result, study), args.plot, args.force)
    if args.format == "json":
        data = result.to_dict()
        data["input"] = args.function
        data["convergence"] = study.to_dict() if args.convergence is not None else None
        data["plot"] = args.plot
        _print_json(data)
    else:
        print(result.to_text())
        if args.convergence is not None:
            print(study.to_text())
        if args.plot:
            print(f"wrote {args.plot}")
    return EXIT_OK


def _add_plot(sub) -> None:
    p = sub.add_parser(
        "plot",
        help="draw f beside its derivative (and second derivative) to a PNG, SVG or PDF file",
        description="Draw a function next to its derivative with kinks marked, zero lines and "
        "formulas as titles. Refuses to overwrite an existing file unless --force.",
    )
    _add_function_argument(p)
    p.add_argument(
        "-o",
        "--output",
        metavar="FILE",
        default=None,
        help="output file, .png, .svg or .pdf (default NAME.png)",
    )
    p.add_argument(
        "--range",
        default=None,
        metavar="A:B",
        help="x range, e.g. --range=-5:5 (default: per entry)",
    )
    p.add_argument(
        "--order", type=int, choices=[1, 2], default=1, help="highest derivative drawn (default 1)"
    )
    p.add_argument(
        "--tangent", type=float, default=None, metavar="X", help="draw the tangent line at x = X"
    )
    p.add_argument(
        "--layout",
        choices=["side", "stacked"],
        default="side",
        help="panels side by side or stacked",
    )
    p.add_argument(
        "--convention",
        choices=["zero", "half", "one"],
        default="zero",
        help="value of the derivative at kinks (see 'symcalc derive --help')",
    )
    p.add_argument("--dpi", type=int, default=150, help="resolution of PNG output (default 150)")
    p.add_argument("--force", action="store_true", help="overwrite FILE if it exists")
    p.set_defaults(run=_run_plot)


def _run_plot(args) -> int:
    from .ftc import univariate_entry

    entry = univariate_entry(args.function, **_params(args.param))
    output = args.output or (f"{entry.name}.png" if entry.kind != "expression" else "plot.png")
    _check_plot_target(output, args.force)
    if not 20 <= args.dpi <= 1200:
        raise SymcalcError(f"--dpi must be from 20 to 1200, got {args.dpi}")
    from .files import save_figure
    from .plotting import plot_function

    figure = plot_function(
        entry,
        order=args.order,
        x_range=_range(args.range),
        tangent=args.tangent,
        layout=args.layout,
        convention=args.convention,
    )
    save_figure(figure, output, force=args.force, dpi=args.dpi)
    print(f"wrote {output}")
    return EXIT_OK


# -- descend ------------------------------------------------------------------------


def _add_descend(sub) -> None:
    from .descent import DEFAULT_MAX_ITER, DEFAULT_TOL, OPTIMIZERS
    from .models import MODELS

    p = sub.add_parser(
        "descend",
        help="gradient descent on a model whose gradient is derived symbolically",
        description="Fit linear, logistic, softmax or one-hidden-layer models by gradient descent. "
        "The gradient is derived from the model's symbolic loss (see --derivation), never written "
        "by hand. Data: a CSV file with a header row, builtin:diabetes|breast_cancer|iris (real "
        "data shipped with symcalc) or synthetic:linear|logistic|blobs|moons.",
    )
    p.add_argument("model", choices=list(MODELS), help="the model to fit")
    p.add_argument(
        "--data", metavar="FILE.csv|builtin:NAME|synthetic:NAME", help="the training data"
    )
    p.add_argument(
        "--target", metavar="COLUMN", help="the CSV column to predict (shipped sets know theirs)"
    )
    p.add_argument(
        "--standardize",
        action="store_true",
        help="rescale features to mean 0, standard deviation 1",
    )
    p.add_argument(
        "--optimizer",
        choices=list(OPTIMIZERS),
        default=None,
        help="update rule (default: gd, or line-search for mlp)",
    )
    p.add_argument(
        "--learning-rate",
        type=float,
        default=None,
        metavar="A",
        help="step size α; gd then runs exactly θ ← θ − α∇J "
        "(default: 1/L from the Lipschitz bound)",
    )
    p.add_argument(
        "--l2",
        type=float,
        default=0.0,
        metavar="LAMBDA",
        help="add (λ/2)‖w‖² to the mean loss; intercepts are not penalized (default 0)",
    )
    p.add_argument(
        "--max-iter",
        type=int,
        default=DEFAULT_MAX_ITER,
        metavar="N",
        help=f"iteration limit (default {DEFAULT_MAX_ITER})",
    )
    p.add_argument(
        "--tol",
        type=float,
        default=DEFAULT_TOL,
        metavar="T",
        help=f"stop when the gradient norm is at most T (default {DEFAULT_TOL:g})",
    )
    p.add_argument(
        "--loss-tol",
        type=float,
        default=None,
        metavar="R",
        help="also stop when the relative change of the loss is at most R (default: off)",
    )
    p.add_argument(
        "--hidden", type=int, default=None, metavar="N", help="mlp: hidden units (default 8)"
    )
    p.add_argument(
        "--activation",
        default=None,
        metavar="NAME",
        help="mlp: hidden activation, any catalog activation (default tanh)",
    )
    p.add_argument(
        "--loss",
        default=None,
        metavar="NAME",
        help="linear: huber, log_cosh, absolute_error instead of MSE; "
        "mlp: squared_error "
        "for regression (default: softmax cross-entropy)",
    )
    p.add_argument(
        "--seed", type=int, default=0, help="seed of the mlp's initial weights (default 0)"
    )
    p.add_argument(
        "--derivation",
        action="store_true",
        help="print how the gradient is derived from the symbolic loss (--data optional)",
    )
    p.add_argument("--format", choices=["text", "json"], default="text")
    _add_plot_target(p)
    p.set_defaults(run=_run_descend)


def _run_descend(args) -> int:
    from .descent import ProgressBar, descend

    if args.model != "mlp" and (args.hidden is not None or args.activation is not None):
        raise SymcalcError("--hidden and --activation apply to the mlp model only")
    if args.loss is not None and args.model in ("logistic", "softmax"):
        raise SymcalcError(f"{args.model} regression has a fixed loss; drop --loss")
    if args.derivation and args.format == "json":
        raise SymcalcError("--derivation prints text; drop --format json")
    if args.data is None and not args.derivation:
        raise SymcalcError("--data is required: a CSV file, builtin:NAME or synthetic:NAME")
    _check_plot_target(args.plot, args.force)
    options = {
        "hidden": 8 if args.hidden is None else args.hidden,
        "activation": args.activation or "tanh",
        "loss": args.loss,
    }
    if args.derivation:
        from .data import load_data
        from .models import encode_classes, make_model

        model = make_model(args.model, **options)
        classes = 3 if args.model == "softmax" else 2
        if args.data is not None and args.model in ("softmax", "mlp") and args.loss is None:
            classes = len(encode_classes(load_data(args.data, args.target).y)[1])
        print(model.derivation(classes).to_text())
        if args.data is None:
            return EXIT_OK
        print()
    progress = ProgressBar(args.max_iter) if sys.stderr.isatty() else None
    try:
        result = descend(
            args.model,
            args.data,
            target=args.target,
            standardize=args.standardize,
            optimizer=args.optimizer,
            learning_rate=args.learning_rate,
            l2=args.l2,
            max_iter=args.max_iter,
            tol=args.tol,
            loss_tol=args.loss_tol,
            seed=args.seed,
            callback=progress,
            **options,
        )
    finally:
        if progress is not None:
            progress.close()
    if args.plot:
        from .plotting import plot_descent

        _save_plot(plot_descent(result), args.plot, args.force)
    _emit(result, args.format, wrote=args.plot)
    if result.stop_reason == "diverged":
        print(f"symcalc descend: {result.message}", file=sys.stderr)
        return EXIT_FAILED
    return EXIT_OK


# -- eval, gradcheck ----------------------------------------------------------------


def _numbers(text: str, option: str) -> list[float]:
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


def _grid(text: str, option: str = "--range") -> list[float]:
    """``"-5:5:101"`` -> 101 evenly spaced numbers from -5 to 5."""
    import numpy as np

    parts = text.split(":")
    if len(parts) != 3:
        raise SymcalcError(f"{option} takes A:B:N, as in {option}=-5:5:101, got '{text}'")
    low, high = _range(f"{parts[0]}:{parts[1]}", option)
    try:
        count = int(parts[2])
    except ValueError:
        raise SymcalcError(
            f"{option}: the number of points '{parts[2]}' is not a whole number"
        ) from None
    if not 1 <= count <= 1_000_000:
        raise SymcalcError(f"{option}: the number of points must be from 1 to 1000000, got {count}")
    return np.linspace(low, high, count).tolist()


def _variable_values(pairs: Sequence[str] | None) -> dict[str, float]:
    """``["y=1", "z_2=0.5"]`` -> ``{"y": 1.0, "z_2": 0.5}``."""
    out = {}
    for pair in pairs or ():
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            raise SymcalcError(f"--with takes name=value, got '{pair}'")
        out[name.strip()] = _numbers(value, f"--with {name.strip()}")[0]
    return out


def _add_eval(sub) -> None:
    p = sub.add_parser(
        "eval",
        help="evaluate the stable NumPy kernel of a function or its derivative",
        description="Print kernel values at the given points. Other variables of a loss take their "
        "catalog values unless set with --with NAME=VALUE.",
    )
    _add_function_argument(p)
    p.add_argument(
        "--at",
        required=True,
        metavar="X,X,...",
        help="points, e.g. --at 0.5,1,2 or --at=-1000,0,1000",
    )
    p.add_argument(
        "--order",
        type=int,
        choices=[0, 1, 2],
        default=0,
        help="0 the function, 1 or 2 a derivative",
    )
    p.add_argument("--wrt", metavar="VAR", help="variable of the derivative (default: the first)")
    p.add_argument("--dtype", choices=["float64", "float32"], default="float64")
    p.add_argument(
        "--with",
        dest="values",
        action="append",
        metavar="NAME=VALUE",
        help="value of another variable, e.g. --with y=1 (repeatable)",
    )
    p.add_argument(
        "--plain",
        action="store_true",
        help="evaluate the formula as written (no stability rewrites)",
    )
    p.add_argument("--format", choices=["text", "json"], default="text")
    p.set_defaults(run=_run_eval)


def _run_eval(args) -> int:
    import numpy as np

    from .kernels import kernel
    from .parse import resolve

    points = _numbers(args.at, "--at")
    entry = resolve(args.function, **_params(args.param))
    k = kernel(entry, order=args.order, wrt=args.wrt, dtype=args.dtype, stable=not args.plain)
    given = _variable_values(args.values)
    names = [v.name for v in k.variables]
    unknown = [n for n in given if n not in names[1:]]
    if unknown:
        raise SymcalcError(
            f"--with {unknown[0]}: not another variable of {entry.signature()} "
            f"(its variables: {', '.join(names)})"
        )
    others = {n: given.get(n, entry.fixed.get(n, 0.0)) for n in names[1:]}
    with np.errstate(all="ignore"):
        values = np.atleast_1d(k(np.array(points, dtype=args.dtype), *others.values()))
    rounded = np.array(points, dtype=args.dtype).tolist()
    if args.format == "json":
        _print_json(
            {
                "input": args.function,
                "order": args.order,
                "dtype": args.dtype,
                "variable": names[0],
                "wrt": None if k.wrt is None else k.wrt.name,
                "with": others,
                "x": rounded,
                "values": [v if np.isfinite(v) else None for v in values.tolist()],
                "expr": sympy.sstr(k.expr),
                "evaluated_as": sympy.sstr(k.lowered),
            }
        )
        return EXIT_OK
    print(k.to_text())
    if others:
        print("  with " + ", ".join(f"{n} = {v!r}" for n, v in others.items()))
    width = max(len(repr(x)) for x in rounded)
    for x, v in zip(rounded, values.tolist(), strict=True):
        print(f"  {names[0]} = {x!r:<{width}}  ->  {v!r}")
    return EXIT_OK


def _add_gradcheck(sub) -> None:
    p = sub.add_parser(
        "gradcheck",
        help="compare the symbolic derivative with numeric differentiation",
        description="Exit code 1 when the symbolic and numeric derivatives disagree.",
    )
    _add_function_argument(p)
    p.add_argument(
        "--wrt", metavar="VAR", help="check only this variable (default: every continuous one)"
    )
    where = p.add_mutually_exclusive_group()
    where.add_argument(
        "--at", metavar="X,X,...", help="points of the first variable, e.g. --at 0,1,2"
    )
    where.add_argument(
        "--range", metavar="A:B:N", help="N evenly spaced points, e.g. --range -5:5:101"
    )
    p.add_argument("--method", choices=["central", "richardson", "complex"], default="central")
    p.add_argument(
        "--derivative", metavar="EXPR", help="check this claimed derivative instead of symcalc's"
    )
    p.add_argument(
        "--tolerance", type=float, metavar="T", help="largest relative error that passes"
    )
    p.add_argument("--format", choices=["text", "json"], default="text")
    _add_plot_target(p)
    p.set_defaults(run=_run_gradcheck)


def _run_gradcheck(args) -> int:
    from .gradcheck import gradcheck

    _check_plot_target(args.plot, args.force)
    at = _numbers(args.at, "--at") if args.at else _grid(args.range) if args.range else None
    if args.tolerance is not None and not 0 < args.tolerance < 1:
        raise SymcalcError(f"--tolerance must be between 0 and 1, got {args.tolerance}")
    result = gradcheck(
        args.function,
        at=at,
        wrt=args.wrt,
        method=args.method,
        derivative=args.derivative,
        tolerance=args.tolerance,
        params=_params(args.param),
    )
    if args.plot:
        from . import plotting

        if not hasattr(plotting, "plot_step_errors"):
            raise SymcalcError("--plot is not available: symcalc.plotting has no plot_step_errors")
        _save_plot(plotting.plot_step_errors(result.study_steps()), args.plot, args.force)
    _emit(result, args.format, wrote=args.plot)
    return EXIT_OK if result.passed else EXIT_FAILED


# -- gallery ------------------------------------------------------------------------


def _add_gallery(sub) -> None:
    from .gallery import DEFAULT_OUT, DEFAULT_TIMEOUT

    p = sub.add_parser(
        "gallery",
        help="build the catalog gallery: a Markdown page with figures per entry, and an index",
        description="For every catalog entry (or the --only ones), write NAME.md (formula, "
        "derivative step by step, kinks, antiderivative, fundamental-theorem check), NAME.png "
        "and NAME_ftc.png, then the index README.md. Files listed in DIR/.gallery-manifest.json "
        "are replaced; any other file in the way is refused unless --force. Exit 1 when an FTC "
        "check fails.",
    )
    p.add_argument(
        "--out",
        default=DEFAULT_OUT,
        metavar="DIR",
        help=f"folder to build into, created if needed (default {DEFAULT_OUT})",
    )
    p.add_argument(
        "--only",
        default=None,
        metavar="NAMES",
        help="comma-separated catalog names or aliases, e.g. --only relu,swish "
        "(default: every entry)",
    )
    p.add_argument(
        "--force", action="store_true", help="replace files in DIR that the gallery did not write"
    )
    p.add_argument(
        "--jobs",
        type=int,
        default=1,
        metavar="N",
        help="build N entries at a time in worker processes (default 1)",
    )
    p.add_argument(
        "--timeout",
        type=float,
        default=None,
        metavar="S",
        help=f"budget for each piece of symbolic work in seconds (default {DEFAULT_TIMEOUT:g})",
    )
    p.set_defaults(run=_run_gallery)


def _run_gallery(args) -> int:
    from .gallery import DEFAULT_TIMEOUT, ProgressLine, build_gallery

    timeout = DEFAULT_TIMEOUT if args.timeout is None else _positive(args.timeout, "--timeout")
    progress = ProgressLine(sys.stderr) if sys.stderr.isatty() else None
    try:
        build = build_gallery(
            args.out,
            args.only,
            force=args.force,
            jobs=args.jobs,
            timeout=timeout,
            progress=progress,
        )
    finally:
        if progress is not None:
            progress.close()
    print(build.to_text())
    return EXIT_OK if build.held else EXIT_FAILED


# -- main ---------------------------------------------------------------------------

_COMMANDS: list[Callable[[Any], None]] = [
    _add_list,
    _add_show,
    _add_derive,
    _add_integrate,
    _add_ftc,
    _add_riemann,
    _add_plot,
    _add_descend,
    _add_eval,
    _add_gradcheck,
    _add_gallery,
]


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

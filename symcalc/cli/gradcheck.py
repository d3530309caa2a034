"""``symcalc gradcheck``."""

from __future__ import annotations

from ..errors import SymcalcError
from .common import (
    EXIT_FAILED,
    EXIT_OK,
    add_function_argument,
    add_plot_target,
    check_plot_target,
    emit,
    parse_grid,
    parse_numbers,
    parse_params,
    save_plot,
)


def add(sub) -> None:
    p = sub.add_parser(
        "gradcheck",
        description="Exit code 1 when the symbolic and numeric derivatives disagree.",
    )
    add_function_argument(p)
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
    add_plot_target(p)
    p.set_defaults(run=run)


def run(args) -> int:
    from ..numeric.gradcheck import gradcheck

    check_plot_target(args.plot, args.force)
    at = (
        parse_numbers(args.at, "--at")
        if args.at
        else parse_grid(args.range)
        if args.range
        else None
    )
    if args.tolerance is not None and not 0 < args.tolerance < 1:
        raise SymcalcError(f"--tolerance must be between 0 and 1, got {args.tolerance}")
    result = gradcheck(
        args.function,
        at=at,
        wrt=args.wrt,
        method=args.method,
        derivative=args.derivative,
        tolerance=args.tolerance,
        params=parse_params(args.param),
    )
    if args.plot:
        from ..present import plotting

        if not hasattr(plotting, "plot_step_errors"):
            raise SymcalcError(
                "--plot is not available: symcalc.present.plotting has no plot_step_errors"
            )
        save_plot(plotting.plot_step_errors(result.study_steps()), args.plot, args.force)
    emit(result, args.format, wrote=args.plot)
    return EXIT_OK if result.passed else EXIT_FAILED

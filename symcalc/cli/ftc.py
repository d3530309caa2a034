"""``symcalc ftc``."""

from __future__ import annotations

from .common import (
    EXIT_FAILED,
    EXIT_OK,
    add_function_argument,
    add_plot_target,
    check_plot_target,
    emit,
    parse_params,
    parse_range,
    parse_timeout,
    save_plot,
)


def add(sub) -> None:
    p = sub.add_parser(
        "ftc",
        description="Check d/dx of the integral of f from a to x against f: symbolically where an "
        "antiderivative exists within the budget, numerically always. Exit 1 when a check fails.",
    )
    add_function_argument(p)
    p.add_argument(
        "--a",
        type=float,
        default=None,
        metavar="A",
        help=(
            "lower limit a (default 0; the middle of the range when 0 is outside the domain, "
            "halfway to the right end where f is not finite at 0)"
        ),
    )
    p.add_argument(
        "--range",
        default=None,
        metavar="A:B",
        help="x range of the check (default: the plot range, where f is real), e.g. --range=-5:5",
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
    add_plot_target(p)
    p.set_defaults(run=run)


def run(args) -> int:
    from ..numeric.ftc import check_ftc

    check_plot_target(args.plot, args.force)
    check = check_ftc(
        args.function,
        args.a,
        x_range=parse_range(args.range),
        points=args.points,
        params=parse_params(args.param),
        timeout=parse_timeout(args.timeout),
        antiderivative=args.antiderivative,
    )
    if args.plot:
        from ..present.plotting import plot_ftc

        save_plot(plot_ftc(check), args.plot, args.force)
    emit(check, args.format, wrote=args.plot)
    return EXIT_OK if check.held else EXIT_FAILED

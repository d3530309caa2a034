"""``symcalc integrate``."""

from __future__ import annotations

from .common import (
    EXIT_OK,
    add_function_argument,
    add_latex_formats,
    emit,
    parse_params,
    parse_timeout,
    standalone_format,
)


def add(sub) -> None:
    p = sub.add_parser(
        "integrate",
        description="Integrate a catalog function or an expression symbolically: several "
        "methods race within the time budget, and every answer is verified (F' = f on each "
        "interval of the domain of f) before it is shown. No verified closed form is a normal "
        "answer.",
    )
    add_function_argument(p)
    p.add_argument("--wrt", metavar="VAR", help="variable to integrate by (default: the first)")
    p.add_argument("--steps", action="store_true", help="show the step-by-step integration")
    add_latex_formats(p)
    p.add_argument(
        "--timeout", type=float, default=None, metavar="S", help="integration budget in seconds"
    )
    p.set_defaults(run=run)


def run(args) -> int:
    from ..symbolic.integrals import antiderivative

    standalone_format(args)
    result = antiderivative(
        args.function,
        wrt=args.wrt,
        params=parse_params(args.param),
        timeout=parse_timeout(args.timeout),
    )
    if args.standalone:
        print(result.to_latex(steps=args.steps, method=True, standalone=True), end="")
        return EXIT_OK
    emit(result, args.format, steps=args.steps, method=True)
    return EXIT_OK

"""``symcalc riemann``."""

from __future__ import annotations

from .common import (
    EXIT_OK,
    add_function_argument,
    add_plot_target,
    check_plot_target,
    parse_params,
    print_json,
    save_plot,
)


def add(sub) -> None:
    from ..numeric.riemann import RULES

    p = sub.add_parser(
        "riemann",
        description="Left, right, midpoint or trapezoid Riemann sum with n subintervals, compared "
        "with the integral; --convergence K adds the study for n = 2 .. 2^K with observed orders.",
    )
    add_function_argument(p)
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
    add_plot_target(p)
    p.set_defaults(run=run)


def run(args) -> int:
    from ..numeric.riemann import riemann_convergence, riemann_sum

    check_plot_target(args.plot, args.force)
    params = parse_params(args.param)
    result = riemann_sum(args.function, args.a, args.b, args.n, rule=args.rule, params=params)
    study = None
    if args.convergence is not None or args.plot:
        power = 10 if args.convergence is None else args.convergence
        study = riemann_convergence(
            result.entry, args.a, args.b, max_power=power, exact=result.exact
        )
    if args.plot:
        from ..present.plotting import plot_riemann_sum

        save_plot(plot_riemann_sum(result, study), args.plot, args.force)
    if args.format == "json":
        data = result.to_dict()
        data["input"] = args.function
        data["convergence"] = study.to_dict() if args.convergence is not None else None
        data["plot"] = args.plot
        print_json(data)
    else:
        print(result.to_text())
        if args.convergence is not None:
            print(study.to_text())
        if args.plot:
            print(f"wrote {args.plot}")
    return EXIT_OK

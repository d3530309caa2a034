"""``symcalc plot``."""

from __future__ import annotations

from ..errors import SymcalcError
from .common import EXIT_OK, add_function_argument, check_plot_target, parse_params, parse_range


def add(sub) -> None:
    p = sub.add_parser(
        "plot",
        description="Draw a function next to its derivative with kinks marked, zero lines and "
        "formulas as titles. Refuses to overwrite an existing file unless --force.",
    )
    add_function_argument(p)
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
    p.set_defaults(run=run)


def run(args) -> int:
    from ..symbolic.catalog import univariate_entry
    from ..symbolic.parse import resolve

    entry = univariate_entry(resolve(args.function, **parse_params(args.param)))
    output = args.output or (f"{entry.name}.png" if entry.kind != "expression" else "plot.png")
    check_plot_target(output, args.force)
    if not 20 <= args.dpi <= 1200:
        raise SymcalcError(f"--dpi must be from 20 to 1200, got {args.dpi}")
    from ..present.files import save_figure
    from ..present.plotting import plot_function

    figure = plot_function(
        entry,
        order=args.order,
        x_range=parse_range(args.range),
        tangent=args.tangent,
        layout=args.layout,
        convention=args.convention,
    )
    save_figure(figure, output, force=args.force, dpi=args.dpi)
    print(f"wrote {output}")
    return EXIT_OK

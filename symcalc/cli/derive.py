"""``symcalc derive``."""

from __future__ import annotations

from .common import (
    EXIT_OK,
    add_function_argument,
    add_latex_formats,
    emit,
    parse_params,
    parse_timeout,
    print_json,
    standalone_format,
)


def add(sub) -> None:
    p = sub.add_parser(
        "derive",
        description="Differentiate a catalog function or an expression. "
        "An expression that starts with '-' goes after '--': symcalc derive -- '-log(x)'",
    )
    add_function_argument(p)
    p.add_argument("--wrt", metavar="VAR", help="variable to differentiate by (default: the first)")
    p.add_argument("--order", type=int, default=1, metavar="N", help="derivative order (default 1)")
    p.add_argument("--steps", action="store_true", help="show the step-by-step derivation")
    add_latex_formats(p)
    p.add_argument(
        "--convention",
        choices=["zero", "half", "one"],
        default="zero",
        help="value of Heaviside(0) at kinks: zero (relu'(0)=0, PyTorch/JAX), half (SymPy), one",
    )
    p.add_argument(
        "--timeout",
        type=float,
        default=None,
        metavar="S",
        help="CPU-time budget in seconds for the whole derivation (every order)",
    )
    p.set_defaults(run=run)


def run(args) -> int:
    from ..symbolic.derivatives import derive
    from ..symbolic.parse import derivative_notes

    standalone_format(args)
    result = derive(
        args.function,
        wrt=args.wrt,
        order=args.order,
        params=parse_params(args.param),
        convention=args.convention,
        steps=args.steps or args.format != "text",
        timeout=parse_timeout(args.timeout),
    )
    notes = derivative_notes(args.function)  # Leibniz notation in the input, read as asked
    if args.format == "json":
        print_json({**result.to_dict(), "notes": list(notes)})
        return EXIT_OK
    latex = args.format == "latex" or args.standalone
    for note in notes:
        print(f"{'% ' if latex else ''}note: {note}")  # a TeX comment in LaTeX
    if args.standalone:
        print(result.to_latex(steps=args.steps, standalone=True), end="")
        return EXIT_OK
    emit(result, args.format, steps=args.steps)
    return EXIT_OK

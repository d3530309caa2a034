"""``symcalc show``."""

from __future__ import annotations

from .common import EXIT_OK, add_function_argument, parse_params, print_json
from .list_ import entry_dict


def add(sub) -> None:
    p = sub.add_parser("show")
    add_function_argument(p)
    p.add_argument("--format", choices=["text", "latex", "json"], default="text")
    p.set_defaults(run=run)


def run(args) -> int:
    import sympy

    from ..symbolic.functions import latex, readable_name
    from ..symbolic.parse import resolve

    entry = resolve(args.function, **parse_params(args.param))
    if args.format == "json":
        data = entry_dict(entry)
        data["input"] = args.function
        if entry.kind == "loss":
            data["mean_loss"] = sympy.sstr(entry.mean_loss())
            data["mean_loss_latex"] = latex(entry.mean_loss())
        print_json(data)
    elif args.format == "latex":
        from ..symbolic.typeset import Equation, align

        lhs, _, rhs = entry.latex().partition(" = ")
        print(align([Equation(lhs, (rhs,))]))
    else:
        print(entry.to_text())
        print(f"  LaTeX: {entry.latex()}")
        if entry.kind == "loss":
            args_i = ", ".join(readable_name(v.name, "i") for v in entry.variables)
            print(f"  mean over m samples: J = (1/m) Σᵢ {entry.name}({args_i}), i = 1, …, m")
        if entry.identity is not None:
            d = "∂" if len(entry.variables) > 1 else "d"
            operator = f"{d}/{d}{readable_name(entry.variable.name)}"
            print(f"  classic derivative: {operator} = {sympy.sstr(entry.identity)}")
    return EXIT_OK

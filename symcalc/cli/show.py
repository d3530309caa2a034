"""``symcalc show``."""

from __future__ import annotations

from .common import EXIT_OK, add_function_argument, parse_params, parse_timeout, print_json
from .list_ import entry_dict


def add(sub) -> None:
    p = sub.add_parser("show")
    add_function_argument(p)
    p.add_argument("--format", choices=["text", "latex", "json"], default="text")
    p.add_argument(
        "--timeout",
        type=float,
        default=None,
        metavar="S",
        help="seconds for the symbolic part of sup|f′| (default 5), then numeric",
    )
    p.set_defaults(run=run)


def _no_kernel(entry) -> str | None:
    """The refusal of a numeric route for ``entry`` (a special function), or None."""
    from ..errors import SymcalcError
    from ..symbolic.special import refuse_kernel

    try:
        refuse_kernel(entry.expr)
    except SymcalcError as refusal:
        return str(refusal)
    return None


def _bound(entry, timeout: float):
    """sup |f′| for an activation or a user's function of one variable, else None; the
    reason as text where its kernels ran past their budget (x^x^x^x^x^x)."""
    if entry.kind == "loss" or len(entry.variables) != 1 or entry.options:
        return None
    if _no_kernel(entry) is not None:  # gamma, besselj, ...: symbolic only
        return None
    from ..errors import TimeBudgetExceeded
    from ..numeric.bounds import derivative_bound

    try:
        return derivative_bound(entry, timeout=timeout)
    except TimeBudgetExceeded as exc:
        return str(exc)


def _real_domain_text(entry, timeout: float) -> str | None:
    """``x ∈ [0, ∞)``: where a user's function of one variable is real, when SymPy finds a
    set smaller than the declared ℝ; else None (catalog entries declare their domain)."""
    import sympy

    from ..symbolic.domains import real_domain_within
    from ..symbolic.functions import readable_name, set_text

    if entry.kind != "expression" or len(entry.variables) != 1:
        return None
    var = entry.variable
    real = real_domain_within(entry.bind(), var, timeout)
    if real is None or real == entry.domain_of(var) or real.free_symbols:
        return None
    return f"{readable_name(var.name)} ∈ {set_text(sympy.Intersection(real, entry.domain_of(var)))}"


def run(args) -> int:
    import sympy

    from ..symbolic.functions import latex, readable_name
    from ..symbolic.parse import resolve

    entry = resolve(args.function, **parse_params(args.param))
    bound = _bound(entry, parse_timeout(args.timeout)) if args.format != "latex" else None
    if args.format == "json":
        data = entry_dict(entry)
        data["input"] = args.function
        if entry.kind == "loss":
            data["mean_loss"] = sympy.sstr(entry.mean_loss())
            data["mean_loss_latex"] = latex(entry.mean_loss())
        data["derivative_bound"] = (
            None if bound is None or isinstance(bound, str) else bound.to_dict()
        )
        print_json(data)
    elif args.format == "latex":
        from ..symbolic.typeset import Equation, align

        lhs, _, rhs = entry.latex().partition(" = ")
        print(align([Equation(lhs, (rhs,))]))
    else:
        text = entry.to_text()
        real = _real_domain_text(entry, parse_timeout(args.timeout))
        if real is not None:  # a user's sqrt(x) is not defined on all of ℝ
            declared = f"  domain: {entry.domain_text()}"
            text = text.replace(declared, f"  domain: {real} (where f is real)")
        print(text)
        print(f"  LaTeX: {entry.latex()}")
        if entry.kind == "loss":
            args_i = ", ".join(readable_name(v.name, "i") for v in entry.variables)
            print(f"  mean over m samples: J = (1/m) Σᵢ {entry.name}({args_i}), i = 1, …, m")
        if entry.identity is not None:
            d = "∂" if len(entry.variables) > 1 else "d"
            operator = f"{d}/{d}{readable_name(entry.variable.name)}"
            print(f"  classic derivative: {operator} = {sympy.sstr(entry.identity)}")
        if isinstance(bound, str):
            print(f"  sup |f′(x)|: not computed ({bound})")
        elif bound is not None:
            print("\n".join(f"  {line}" for line in bound.to_text().splitlines()))
        elif (refusal := _no_kernel(entry)) is not None:
            print(f"  sup |f′(x)|: not computed ({refusal})")
    return EXIT_OK

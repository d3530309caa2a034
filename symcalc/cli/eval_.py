"""``symcalc eval``."""

from __future__ import annotations

from ..errors import SymcalcError
from .common import (
    EXIT_OK,
    add_function_argument,
    parse_numbers,
    parse_params,
    parse_variable_values,
    print_json,
)


def add(sub) -> None:
    p = sub.add_parser(
        "eval",
        description="Print kernel values at the given points. Other variables of a loss take their "
        "catalog values unless set with --with NAME=VALUE.",
    )
    add_function_argument(p)
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
        "--backend",
        choices=["numpy", "numba", "jax"],
        default="numpy",
        help="how the kernel runs: numpy, numba (symcalc[fast]) or jax (symcalc[jax], XLA)",
    )
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
    p.set_defaults(run=run)


def run(args) -> int:
    import numpy as np
    import sympy

    from ..numeric.kernels import kernel
    from ..symbolic.parse import resolve

    points = parse_numbers(args.at, "--at")
    entry = resolve(args.function, **parse_params(args.param))
    k = kernel(
        entry,
        order=args.order,
        wrt=args.wrt,
        dtype=args.dtype,
        stable=not args.plain,
        backend=args.backend,
    )
    given = parse_variable_values(args.values)
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
        print_json(
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

"""``symcalc export``."""

from __future__ import annotations

from ..errors import SymcalcError
from .common import EXIT_OK, add_function_argument, parse_params, print_json

FRAMEWORKS = ("jax", "torch", "numpy")


def add(sub) -> None:
    p = sub.add_parser(
        "export",
        description="Write a Python module that imports only its framework (never symcalc): "
        "the function in its stable form, its derivatives up to --order-max as functions the "
        "framework differentiates with (jax.custom_jvp, torch.autograd.Function), and the "
        "derivation in its docstring. Without -o the module is printed.",
    )
    add_function_argument(p)
    p.add_argument("--to", required=True, choices=FRAMEWORKS, help="the framework")
    p.add_argument("-o", "--output", metavar="FILE", help="write the module to FILE (.py)")
    p.add_argument("--force", action="store_true", help="overwrite FILE if it exists")
    p.add_argument(
        "--order-max",
        type=int,
        default=2,
        metavar="N",
        help="highest derivative written as code (0-4, default 2)",
    )
    p.add_argument(
        "--convention",
        choices=["zero", "half", "one"],
        default="zero",
        help="derivative at a kink (default zero, as PyTorch and JAX)",
    )
    p.add_argument("--format", choices=["text", "json"], default="text")
    p.set_defaults(run=run)


def _command(args) -> str:
    """The command line quoted in the module's docstring (what reproduces it)."""
    words = ["symcalc", "export", _quoted(args.function), "--to", args.to]
    words += [f"--param {_quoted(p)}" for p in args.param or ()]
    if args.order_max != 2:
        words.append(f"--order-max {args.order_max}")
    if args.convention != "zero":
        words.append(f"--convention {args.convention}")
    return " ".join(words)


def _quoted(text: str) -> str:
    import shlex

    return shlex.quote(text)


def run(args) -> int:
    if args.output is not None:
        from pathlib import Path

        from ..present.files import check_target

        if Path(args.output).suffix != ".py":
            raise SymcalcError(f"-o {args.output}: a Python module's name ends in .py")
        check_target(args.output, force=args.force)  # before any work
    from ..export.module import export_module

    module = export_module(
        args.function,
        to=args.to,
        params=parse_params(args.param),
        order_max=args.order_max,
        convention=args.convention,
        command=_command(args),
    )
    path = None
    if args.output is not None:
        from ..present.files import write_atomic

        path = str(write_atomic(args.output, module.source, force=args.force))
    if args.format == "json":
        data = module.to_dict(path)
        if path is None:
            data["source"] = module.source
        print_json(data)
        return EXIT_OK
    if path is None:
        print(module.source, end="")
        return EXIT_OK
    names = ", ".join(f.name for f in module.functions)
    print(f"wrote {path}: {names}")
    return EXIT_OK

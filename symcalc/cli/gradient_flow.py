"""``symcalc gradient-flow``."""

from __future__ import annotations

from ..errors import SymcalcError
from .common import EXIT_OK, add_plot_target, check_plot_target, emit, save_plot


def add(sub) -> None:
    from ..learn.initializers import INITIALIZERS

    p = sub.add_parser(
        "gradient-flow",
        description="Backpropagate through random networks at initialization (J = u·a⁽ᴸ⁾, u a "
        "random unit vector) and report ‖∂J/∂a⁽ˡ⁾‖ layer by layer, median and quartiles over "
        "the networks, beside the bound Π sup|f′|·‖W⁽ˡ⁾‖₂. f and f′ are symcalc's stable "
        "kernels, so any catalog activation or expression of x works.",
    )
    p.add_argument(
        "--activation",
        default="sigmoid,tanh,relu,gelu",
        metavar="NAME|EXPR,...",
        help="activations separated by commas (default sigmoid,tanh,relu,gelu)",
    )
    p.add_argument("--depth", type=int, default=50, metavar="L", help="layers (default 50)")
    p.add_argument(
        "--width", type=int, default=64, metavar="N", help="units per layer (default 64)"
    )
    p.add_argument(
        "--init",
        choices=list(INITIALIZERS),
        default="xavier",
        help="weight initialization (default xavier)",
    )
    p.add_argument(
        "--seeds", type=int, default=20, metavar="N", help="random networks (default 20)"
    )
    p.add_argument("--seed", type=int, default=0, metavar="S", help="first seed (default 0)")
    p.add_argument("--format", choices=["text", "json"], default="text")
    add_plot_target(p)
    p.set_defaults(run=run)


def split_top_level(text: str) -> list[str]:
    """``"relu,max(0,x)"`` -> ``["relu", "max(0,x)"]``: commas inside brackets stay."""
    parts, depth, start = [], 0, 0
    for i, char in enumerate(text):
        depth += {"(": 1, "[": 1, ")": -1, "]": -1}.get(char, 0)
        if char == "," and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    parts.append(text[start:])
    parts = [p.strip() for p in parts]
    if not all(parts):
        raise SymcalcError(
            f"--activation takes names or expressions separated by commas, got '{text}'"
        )
    return parts


def run(args) -> int:
    from ..learn.flow import gradient_flow

    check_plot_target(args.plot, args.force)
    flow = gradient_flow(
        split_top_level(args.activation),
        depth=args.depth,
        width=args.width,
        init=args.init,
        seeds=args.seeds,
        seed=args.seed,
    )
    if args.plot:
        from ..present.plotting import plot_gradient_flow

        save_plot(plot_gradient_flow(flow), args.plot, args.force)
    emit(flow, args.format, wrote=args.plot)
    return EXIT_OK

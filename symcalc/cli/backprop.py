"""``symcalc backprop``."""

from __future__ import annotations

from .common import EXIT_FAILED, EXIT_OK, add_latex_formats, emit, parse_hidden


def add(sub) -> None:
    p = sub.add_parser(
        "backprop",
        description="The backward pass of a dense network derived step by step in matrix "
        "calculus, as a textbook writes it: the forward pass, f′ in its classic form, the "
        "output error δ⁽ᴸ⁾ (a − y where softmax meets cross-entropy, the cancellation shown), "
        "the recursion δ⁽ˡ⁾ = (W⁽ˡ⁺¹⁾ᵀδ⁽ˡ⁺¹⁾) ⊙ f′(z⁽ˡ⁾) and the gradients "
        "∂J/∂W⁽ˡ⁾ = δ⁽ˡ⁾a⁽ˡ⁻¹⁾ᵀ, ∂J/∂b⁽ˡ⁾ = δ⁽ˡ⁾. Every claim is checked against SymPy's "
        "derivative of the scalar loss on a small network of the same shape.",
    )
    p.add_argument(
        "--hidden",
        default=None,
        metavar="N,N,...",
        help="width of each hidden layer, e.g. 16,16,8 (default 16,8)",
    )
    p.add_argument(
        "--activation",
        default="tanh",
        metavar="NAME|EXPR",
        help="hidden activation: a catalog name or an expression in x (default tanh)",
    )
    p.add_argument(
        "--loss",
        default="categorical_cross_entropy",
        metavar="NAME",
        help="categorical_cross_entropy (softmax output, the default), binary_cross_entropy "
        "(sigmoid output), or squared_error, absolute_error, huber, log_cosh",
    )
    p.add_argument(
        "--output-activation",
        default=None,
        metavar="NAME|EXPR",
        help="g on the outputs: softmax and sigmoid go with their cross-entropies; a regression "
        "loss takes identity (the default) or any activation",
    )
    p.add_argument(
        "--classes", type=int, default=None, metavar="K", help="softmax outputs (default: K)"
    )
    p.add_argument(
        "--convention",
        choices=["zero", "half", "one"],
        default="zero",
        help="value of f′ at a kink (Heaviside(0)); default zero, as PyTorch and JAX",
    )
    add_latex_formats(p)
    p.set_defaults(run=run)


def run(args) -> int:
    from ..errors import SymcalcError
    from ..symbolic.backprop import backprop

    if args.standalone and args.format != "latex":
        raise SymcalcError("--standalone writes a LaTeX document; add --format latex")
    derivation = backprop(
        hidden=parse_hidden(args.hidden, (16, 8)),
        activation=args.activation,
        loss=args.loss,
        output_activation=args.output_activation,
        classes=args.classes,
        convention=args.convention,
    )
    if args.format == "latex":
        print(derivation.to_latex(standalone=args.standalone), end="\n" * (not args.standalone))
    else:
        emit(derivation, args.format)
    return EXIT_OK if derivation.verified else EXIT_FAILED

"""``symcalc descend``."""

from __future__ import annotations

import sys

from ..errors import SymcalcError
from .common import (
    EXIT_FAILED,
    EXIT_OK,
    add_plot_target,
    check_plot_target,
    emit,
    parse_hidden,
    save_plot,
)
from .flags import to_flags


def add(sub) -> None:
    from ..learn.descent import DEFAULT_MAX_ITER, DEFAULT_TOL, OPTIMIZER_NAMES, SCHEDULES
    from ..learn.initializers import INITIALIZERS
    from ..learn.models import MODELS

    p = sub.add_parser(
        "descend",
        description="Fit linear, logistic, softmax or network (mlp, any depth) models. The "
        "gradient and "
        "the Hessian are derived from the model's symbolic loss (see --derivation), never "
        "written by hand. --optimizer auto (the default) picks Newton's method for convex "
        "models whose Hessian is cheap (L-BFGS when it is costly and the problem well "
        "conditioned), trust-region Newton-CG above 1000 parameters, L-BFGS for networks and "
        "minibatch SGD for a CSV file too large to load, and says why. Features are "
        "standardized internally (θ, J and ∇J are reported in your units). Data: a CSV file "
        "with a header row, builtin:diabetes|breast_cancer|iris|wine|digits (real data "
        "shipped with symcalc) or synthetic:linear|logistic|blobs|moons.",
    )
    p.add_argument("model", choices=list(MODELS), help="the model to fit")
    p.add_argument(
        "--data", metavar="FILE.csv|builtin:NAME|synthetic:NAME", help="the training data"
    )
    p.add_argument(
        "--target", metavar="COLUMN", help="the CSV column to predict (shipped sets know theirs)"
    )
    p.add_argument(
        "--delimiter",
        metavar="D",
        default=None,
        help="the CSV cell delimiter: ',' ';' or tab (default: detected from the header)",
    )
    p.add_argument(
        "--standardize",
        action="store_true",
        help="rescale features to mean 0, standard deviation 1",
    )
    p.add_argument(
        "--optimizer",
        choices=list(OPTIMIZER_NAMES),
        default="auto",
        help="newton, lbfgs, newton-cg, trust-ncg, a first-order rule, or sgd (minibatches read in "
        "chunks); auto (default) chooses by problem size and data location and prints why",
    )
    p.add_argument(
        "--learning-rate",
        type=float,
        default=None,
        metavar="A",
        help="step size α; gd then runs exactly θ ← θ − α∇J "
        "(default: 1/L from the Lipschitz bound)",
    )
    p.add_argument(
        "--l2",
        type=float,
        default=0.0,
        metavar="LAMBDA",
        help="add (λ/2)‖w‖² to the mean loss; intercepts are not penalized (default 0)",
    )
    p.add_argument(
        "--max-iter",
        type=int,
        default=DEFAULT_MAX_ITER,
        metavar="N",
        help=f"iteration limit (default {DEFAULT_MAX_ITER})",
    )
    p.add_argument(
        "--tol",
        type=float,
        default=DEFAULT_TOL,
        metavar="T",
        help="converged when the gradient norm, in standardized units, has fallen to T times "
        f"its value at the start (scale-aware: the same T on every data set; default "
        f"{DEFAULT_TOL:g})",
    )
    p.add_argument(
        "--loss-tol",
        type=float,
        default=None,
        metavar="R",
        help="also stop when the relative change of the loss is at most R (default: off)",
    )
    p.add_argument(
        "--hidden",
        default=None,
        metavar="N,N,...",
        help="mlp: width of each hidden layer, e.g. 16 or 16,16,8 (default 8)",
    )
    p.add_argument(
        "--activation",
        default=None,
        metavar="NAME|EXPR",
        help="mlp: hidden activation, any catalog activation or an expression in x (default tanh)",
    )
    p.add_argument(
        "--output-activation",
        default=None,
        metavar="NAME|EXPR",
        help="mlp: g on the outputs; softmax (with cross-entropy, the default) and sigmoid "
        "(with --loss binary_cross_entropy) are evaluated on the logits; a regression loss "
        "takes identity (default) or any activation",
    )
    p.add_argument(
        "--init",
        choices=list(INITIALIZERS),
        default=None,
        help="mlp: initialization of the weights, seeded by --seed (default xavier)",
    )
    p.add_argument(
        "--loss",
        default=None,
        metavar="NAME",
        help="linear: huber, log_cosh, absolute_error instead of MSE; "
        "mlp: binary_cross_entropy (two classes), or squared_error, huber, ... "
        "for regression (default: softmax cross-entropy)",
    )
    p.add_argument(
        "--seed",
        type=int,
        default=0,
        help="seed of the mlp's initial weights and of sgd's shuffling (default 0)",
    )
    p.add_argument(
        "--batch-size",
        type=int,
        default=256,
        metavar="B",
        help="sgd: rows per minibatch (default 256)",
    )
    p.add_argument(
        "--epochs", type=int, default=5, metavar="E", help="sgd: passes over the data (default 5)"
    )
    p.add_argument(
        "--schedule",
        choices=list(SCHEDULES),
        default="cosine",
        help="sgd: learning-rate schedule (default cosine, annealed to 0)",
    )
    p.add_argument(
        "--derivation",
        action="store_true",
        help="print how the gradient and the Hessian are derived from the symbolic loss "
        "(--data optional; --format latex for LaTeX)",
    )
    p.add_argument(
        "--format",
        choices=["text", "json", "latex"],
        default="text",
        help="text or json for a fit; text or latex for --derivation",
    )
    add_plot_target(p)
    p.set_defaults(run=run)


def run(args) -> int:
    from ..learn.descent import ProgressBar, descend

    network_flags = {
        "--hidden": args.hidden,
        "--activation": args.activation,
        "--output-activation": args.output_activation,
        "--init": args.init,
    }
    used = [flag for flag, value in network_flags.items() if value is not None]
    if args.model != "mlp" and used:
        flags = "--hidden and --activation" if used[0] in ("--hidden", "--activation") else None
        raise SymcalcError(
            f"{flags or '--output-activation and --init'} apply to the mlp model only"
        )
    if args.loss is not None and args.model in ("logistic", "softmax"):
        raise SymcalcError(f"{args.model} regression has a fixed loss; drop --loss")
    if args.derivation and args.format == "json":
        raise SymcalcError("--derivation prints text or LaTeX; drop --format json")
    if args.format == "latex" and not args.derivation:
        raise SymcalcError("--format latex prints the derivation; add --derivation")
    sgd_flags = {
        "--batch-size": args.batch_size != 256,
        "--epochs": args.epochs != 5,
        "--schedule": args.schedule != "cosine",
    }
    if args.optimizer not in ("sgd", "auto") and any(sgd_flags.values()):
        used = ", ".join(flag for flag, given in sgd_flags.items() if given)
        raise SymcalcError(f"{used} apply to --optimizer sgd only")
    if args.data is None and not args.derivation:
        raise SymcalcError("--data is required: a CSV file, builtin:NAME or synthetic:NAME")
    check_plot_target(args.plot, args.force)
    options = {
        "hidden": parse_hidden(args.hidden, 8),
        "activation": args.activation or "tanh",
        "loss": args.loss,
        "output_activation": args.output_activation,
        "init": args.init or "xavier",
    }
    if args.derivation:
        from ..learn.data import load_data
        from ..learn.models import encode_classes, make_model

        model = make_model(args.model, **options)
        classes = 3 if args.model == "softmax" else (None if args.model == "mlp" else 2)
        if args.data is not None and args.model in ("softmax", "mlp") and args.loss is None:
            data = load_data(args.data, args.target, delimiter=args.delimiter)
            classes = len(encode_classes(data.y)[1])
        if args.model == "mlp":  # the backward pass derived layer by layer
            print(_network_derivation(model, classes, args.format))
        else:
            derivation = model.derivation(classes)
            print(derivation.to_latex() if args.format == "latex" else derivation.to_text())
        if args.data is None or args.format == "latex":
            return EXIT_OK
        print()
    total = args.epochs if args.optimizer == "sgd" else args.max_iter
    progress = ProgressBar(total) if sys.stderr.isatty() else None
    try:
        result = descend(
            args.model,
            args.data,
            target=args.target,
            delimiter=args.delimiter,
            standardize=args.standardize,
            optimizer=args.optimizer,
            learning_rate=args.learning_rate,
            l2=args.l2,
            max_iter=args.max_iter,
            tol=args.tol,
            loss_tol=args.loss_tol,
            seed=args.seed,
            callback=progress,
            batch_size=args.batch_size,
            epochs=args.epochs,
            schedule=args.schedule,
            **options,
        )
    finally:
        if progress is not None:
            progress.close()
    if args.plot:
        from ..present.plotting import plot_descent

        save_plot(plot_descent(result), args.plot, args.force)
    emit(result, args.format, wrote=args.plot)
    if result.stop_reason == "diverged":
        print(f"symcalc descend: {to_flags(result.message)}", file=sys.stderr)
        return EXIT_FAILED
    return EXIT_OK


def _network_derivation(model, classes: int | None, fmt: str) -> str:
    """The network's backpropagation derivation, then (text) how ∇²J·v follows from it."""
    from ..learn.network import HESSIAN_VECTOR

    derivation = model.backprop(classes)
    if fmt == "latex":
        return derivation.to_latex()
    lines = [derivation.to_text(), "", "Hessian-vector product (for newton-cg and trust-ncg):"]
    return "\n".join(lines + [f"  {line}" for line in HESSIAN_VECTOR])

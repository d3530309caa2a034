"""``symcalc descend``."""

from __future__ import annotations

import sys

from ..errors import SymcalcError
from .common import EXIT_FAILED, EXIT_OK, add_plot_target, check_plot_target, emit, save_plot
from .flags import to_flags


def add(sub) -> None:
    from ..learn.descent import DEFAULT_MAX_ITER, DEFAULT_TOL, OPTIMIZERS
    from ..learn.models import MODELS

    p = sub.add_parser(
        "descend",
        description="Fit linear, logistic, softmax or one-hidden-layer models by gradient descent. "
        "The gradient is derived from the model's symbolic loss (see --derivation), never written "
        "by hand. Data: a CSV file with a header row, builtin:diabetes|breast_cancer|iris (real "
        "data shipped with symcalc) or synthetic:linear|logistic|blobs|moons.",
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
        choices=list(OPTIMIZERS),
        default=None,
        help="update rule (default: gd, or line-search for mlp)",
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
        help=f"stop when the gradient norm is at most T (default {DEFAULT_TOL:g})",
    )
    p.add_argument(
        "--loss-tol",
        type=float,
        default=None,
        metavar="R",
        help="also stop when the relative change of the loss is at most R (default: off)",
    )
    p.add_argument(
        "--hidden", type=int, default=None, metavar="N", help="mlp: hidden units (default 8)"
    )
    p.add_argument(
        "--activation",
        default=None,
        metavar="NAME",
        help="mlp: hidden activation, any catalog activation (default tanh)",
    )
    p.add_argument(
        "--loss",
        default=None,
        metavar="NAME",
        help="linear: huber, log_cosh, absolute_error instead of MSE; "
        "mlp: squared_error "
        "for regression (default: softmax cross-entropy)",
    )
    p.add_argument(
        "--seed", type=int, default=0, help="seed of the mlp's initial weights (default 0)"
    )
    p.add_argument(
        "--derivation",
        action="store_true",
        help="print how the gradient is derived from the symbolic loss (--data optional)",
    )
    p.add_argument("--format", choices=["text", "json"], default="text")
    add_plot_target(p)
    p.set_defaults(run=run)


def run(args) -> int:
    from ..learn.descent import ProgressBar, descend

    if args.model != "mlp" and (args.hidden is not None or args.activation is not None):
        raise SymcalcError("--hidden and --activation apply to the mlp model only")
    if args.loss is not None and args.model in ("logistic", "softmax"):
        raise SymcalcError(f"{args.model} regression has a fixed loss; drop --loss")
    if args.derivation and args.format == "json":
        raise SymcalcError("--derivation prints text; drop --format json")
    if args.data is None and not args.derivation:
        raise SymcalcError("--data is required: a CSV file, builtin:NAME or synthetic:NAME")
    check_plot_target(args.plot, args.force)
    options = {
        "hidden": 8 if args.hidden is None else args.hidden,
        "activation": args.activation or "tanh",
        "loss": args.loss,
    }
    if args.delimiter is not None and args.data is not None:
        from ..learn.data import load_data

        args.data = load_data(args.data, args.target, delimiter=args.delimiter)
    if args.derivation:
        from ..learn.data import load_data
        from ..learn.models import encode_classes, make_model

        model = make_model(args.model, **options)
        classes = 3 if args.model == "softmax" else 2
        if args.data is not None and args.model in ("softmax", "mlp") and args.loss is None:
            classes = len(encode_classes(load_data(args.data, args.target).y)[1])
        print(model.derivation(classes).to_text())
        if args.data is None:
            return EXIT_OK
        print()
    progress = ProgressBar(args.max_iter) if sys.stderr.isatty() else None
    try:
        result = descend(
            args.model,
            args.data,
            target=args.target,
            standardize=args.standardize,
            optimizer=args.optimizer,
            learning_rate=args.learning_rate,
            l2=args.l2,
            max_iter=args.max_iter,
            tol=args.tol,
            loss_tol=args.loss_tol,
            seed=args.seed,
            callback=progress,
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

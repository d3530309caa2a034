"""``symcalc attribute``."""

from __future__ import annotations

import math

from ..errors import SymcalcError
from .common import (
    EXIT_OK,
    add_plot_target,
    check_plot_target,
    parse_timeout,
    print_json,
    save_plot,
)


def add(sub) -> None:
    from ..learn.descent import OPTIMIZERS
    from ..learn.models import MODELS
    from ..numeric.attribution import METHODS

    p = sub.add_parser(
        "attribute",
        description="Integrated gradients IGᵢ = (xᵢ − x′ᵢ)·∫₀¹ ∂f/∂xᵢ(x′ + α(x − x′)) dα of an "
        "expression at --at from --baseline, or of a model fitted in the same command "
        "(MODEL --data D --row K). Their sum is f(x) − f(x′) (completeness: the fundamental "
        "theorem on the path); the output gives the completeness error, the observed order of "
        "each Riemann rule and where gradient and gradient × input fail to add up.",
    )
    p.add_argument(
        "function",
        metavar="EXPR|MODEL",
        help="an expression such as 'x*y*sin(x+y)', or with --data a model: " + ", ".join(MODELS),
    )
    p.add_argument("--at", metavar="x=1,y=2", help="the input x (an expression's variables)")
    p.add_argument(
        "--baseline",
        metavar="x=0,y=0|zero|mean",
        default=None,
        help="the baseline x′ (default: zero for an expression, the data mean for a model)",
    )
    p.add_argument("--method", choices=list(METHODS), default="exact", help="default exact")
    p.add_argument(
        "--steps", type=int, default=50, metavar="N", help="steps of the rule (default 50)"
    )
    p.add_argument(
        "--timeout",
        type=float,
        default=None,
        metavar="S",
        help="seconds for the symbolic path integral (default 5), then quadrature",
    )
    model = p.add_argument_group("a model fitted in the same command")
    model.add_argument("--data", metavar="FILE.csv|builtin:NAME|synthetic:NAME")
    model.add_argument("--target", metavar="COLUMN", help="the CSV column the model predicts")
    model.add_argument(
        "--row", type=int, default=0, metavar="K", help="the row to explain (from 0)"
    )
    model.add_argument(
        "--class",
        dest="output",
        metavar="LABEL",
        help="the class whose probability is explained (default: the class predicted for the row)",
    )
    model.add_argument("--standardize", action="store_true", help="standardize the features")
    model.add_argument("--optimizer", choices=list(OPTIMIZERS), default=None)
    model.add_argument("--l2", type=float, default=0.0, metavar="LAMBDA", help="L2 penalty λ")
    model.add_argument("--hidden", type=int, default=None, metavar="N", help="mlp: hidden units")
    model.add_argument("--activation", default=None, metavar="NAME", help="mlp: activation")
    model.add_argument("--seed", type=int, default=0, help="mlp: seed of the initial weights")
    p.add_argument("--format", choices=["text", "json"], default="text")
    add_plot_target(p)
    p.set_defaults(run=run)


def parse_point(text: str | None, option: str) -> dict[str, float]:
    """``"x=1,y=2"`` -> ``{"x": 1.0, "y": 2.0}``."""
    out: dict[str, float] = {}
    for pair in (text or "").split(","):
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            raise SymcalcError(f"{option} takes name=value pairs, as in {option} x=1,y=2")
        if name.strip() in out:
            raise SymcalcError(f"{option} gives '{name.strip()}' twice")
        try:
            number = float(value)
        except ValueError:
            number = math.nan
        if not math.isfinite(number):
            raise SymcalcError(
                f"{option} gives {name.strip()} '{value.strip()}'; give a finite number, "
                f"as in {option} x=1,y=2"
            )
        out[name.strip()] = number
    return out


def _expression(args):
    from ..numeric.attribution import integrated_gradients

    if args.at is None:
        raise SymcalcError("--at is required for an expression, as in --at x=1,y=2")
    if args.baseline in ("mean",):
        raise SymcalcError("--baseline mean needs a model and --data; give x=0,y=0 or zero")
    baseline = None if args.baseline in (None, "zero") else parse_point(args.baseline, "--baseline")
    return integrated_gradients(
        args.function,
        parse_point(args.at, "--at"),
        baseline,
        method=args.method,
        steps=args.steps,
        timeout=parse_timeout(args.timeout),
    ), {}


def _model(args):
    import numpy as np

    from ..learn.data import load_data
    from ..learn.descent import descend
    from ..learn.explain import model_function
    from ..learn.models import MODELS
    from ..numeric.attribution import integrated_gradients

    if args.function not in MODELS:
        raise SymcalcError(
            f"with --data the first argument is a model ({', '.join(MODELS)}), "
            f"got '{args.function}'"
        )
    if args.at is not None:
        raise SymcalcError("a model's input is a row of the data: give --row K, not --at")
    if args.function != "mlp" and (args.hidden is not None or args.activation is not None):
        raise SymcalcError("--hidden and --activation apply to the mlp model only")
    data = load_data(args.data, args.target, standardize=args.standardize)
    if not 0 <= args.row < data.n_samples:
        raise SymcalcError(f"--row must be from 0 to {data.n_samples - 1}, got {args.row}")
    fit = descend(
        args.function,
        data,
        optimizer=args.optimizer,
        l2=args.l2,
        hidden=8 if args.hidden is None else args.hidden,
        activation=args.activation or "tanh",
        seed=args.seed,
    )
    x = data.X[args.row]
    output = args.output
    if output is None and getattr(fit.objective.head, "classes", None) is not None:
        output = str(fit.predict(x[None, :])[0])
    f = model_function(fit, feature_names=data.feature_names, output=output, target=data.target)
    if args.baseline in (None, "mean"):  # standardized features have mean 0 exactly
        baseline = np.zeros(data.n_features) if data.is_standardized else data.X.mean(axis=0)
    elif args.baseline == "zero":
        baseline = np.zeros(data.n_features)
    else:
        baseline = parse_point(args.baseline, "--baseline")
    result = integrated_gradients(
        f, x, baseline, method=args.method, steps=args.steps, timeout=parse_timeout(args.timeout)
    )
    accuracy = fit.training_accuracy
    about = {
        "model": args.function,
        "data": data.source,
        "row": args.row,
        "output": f.output,
        "standardized": data.is_standardized,
        "converged": fit.converged,
        "training_accuracy": accuracy if accuracy is None or math.isfinite(accuracy) else None,
    }
    return result, about


def run(args) -> int:
    check_plot_target(args.plot, args.force)
    if args.data is None:
        if any(v is not None for v in (args.target, args.output, args.hidden, args.activation)):
            raise SymcalcError(
                "--target, --class, --hidden and --activation need a model and --data"
            )
        result, about = _expression(args)
    else:
        result, about = _model(args)
    if args.plot:
        from ..present.plotting import plot_attribution

        save_plot(plot_attribution(result), args.plot, args.force)
    if args.format == "json":
        print_json({**result.to_dict(), **({"model": about} if about else {}), "plot": args.plot})
        return EXIT_OK
    if about:
        scale = ", standardized features" if about["standardized"] else ""
        accuracy = about["training_accuracy"]
        trained = "converged" if about["converged"] else "NOT converged"
        line = f"{about['model']} model fitted to {about['data']} ({trained}{scale}"
        line += f", training accuracy {accuracy:.4f})" if accuracy is not None else ")"
        print(line)
        print(f"explaining row {about['row']}: f = {about['output']}")
    print(result.to_text())
    if args.plot:
        print(f"wrote {args.plot}")
    return EXIT_OK

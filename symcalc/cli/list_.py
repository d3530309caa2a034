"""``symcalc list``."""

from __future__ import annotations

from typing import Any

from .common import EXIT_OK, print_json


def add(sub) -> None:
    p = sub.add_parser("list")
    p.add_argument("--kind", choices=["activation", "loss"], help="only this kind")
    p.add_argument("--format", choices=["text", "json"], default="text")
    p.set_defaults(run=run)


def run(args) -> int:
    from ..symbolic.catalog import catalog, summaries

    if args.format == "json":
        print_json([entry_dict(e) for e in catalog(args.kind)])
        return EXIT_OK
    rows = [(s.name, s.kind, ", ".join(s.variables), s.formula) for s in summaries(args.kind)]
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    for name, kind, variables, formula in rows:
        formula = formula if len(formula) <= 70 else formula[:67] + "..."
        print(f"{name:<{widths[0]}}  {kind:<{widths[1]}}  {variables:<{widths[2]}}  {formula}")
    return EXIT_OK


def entry_dict(entry) -> dict[str, Any]:
    import sympy

    from ..symbolic.functions import latex

    return {
        "name": entry.name,
        "kind": entry.kind,
        "aliases": list(entry.aliases),
        "variables": [v.name for v in entry.variables],
        "expr": sympy.sstr(entry.expr),
        "expr_latex": latex(entry.expr),
        "params": {k: sympy.sstr(v) for k, v in entry.params.items()},
        "options": dict(entry.options),
        "domain": {v.name: sympy.sstr(entry.domain_of(v)) for v in entry.variables},
        "description": entry.description,
        "identity": None if entry.identity is None else sympy.sstr(entry.identity),
    }

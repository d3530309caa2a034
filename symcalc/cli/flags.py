"""The one table from the library's parameter names to the command line's flags.

The library's messages (errors and result messages) name parameters as Python spells
them, in backticks: `` `learning_rate` ``, `` `force=True` ``.  `to_flags` rewrites every
such mention whose name is in `FLAGS` into what a command-line user types instead:
``--learning-rate``, ``--force``.  A value goes after the flag (`` `l2=0.01` `` becomes
``--l2 0.01``); ``True`` and ``...`` leave the flag alone.

Examples
--------
>>> to_flags("lower the learning rate (e.g. `learning_rate=0.01`)")
'lower the learning rate (e.g. --learning-rate 0.01)'
>>> to_flags("'a.png' already exists; pass `force=True` to overwrite it")
"'a.png' already exists; pass --force to overwrite it"
>>> to_flags("`x_range` must have A < B, got 2:1")
'--range must have A < B, got 2:1'
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

__all__ = ["FLAGS", "to_flags"]

#: Library parameter name -> the command-line flag that sets it.
FLAGS: Mapping[str, str] = MappingProxyType(
    {
        # functions, derivatives, integrals, checks
        "params": "--param",
        "wrt": "--wrt",
        "order": "--order",
        "convention": "--convention",
        "timeout": "--timeout",
        "x_range": "--range",
        "a": "--a",
        "b": "--b",
        "n": "--n",
        "rule": "--rule",
        "max_power": "--convergence",
        "points": "--points",
        "antiderivative": "--antiderivative",
        "at": "--at",
        "method": "--method",
        "derivative": "--derivative",
        "tolerance": "--tolerance",
        "dtype": "--dtype",
        "tangent": "--tangent",
        "layout": "--layout",
        # models and descent
        "data": "--data",
        "target": "--target",
        "standardize": "--standardize",
        "optimizer": "--optimizer",
        "learning_rate": "--learning-rate",
        "l2": "--l2",
        "max_iter": "--max-iter",
        "tol": "--tol",
        "loss_tol": "--loss-tol",
        "hidden": "--hidden",
        "activation": "--activation",
        "output_activation": "--output-activation",
        "classes": "--classes",
        "loss": "--loss",
        "seed": "--seed",
        "batch_size": "--batch-size",
        "epochs": "--epochs",
        "schedule": "--schedule",
        "delimiter": "--delimiter",
        # deep networks and attribution
        "depth": "--depth",
        "width": "--width",
        "init": "--init",
        "seeds": "--seeds",
        "baseline": "--baseline",
        "steps": "--steps",
        "row": "--row",
        "output": "--class",
        "activations": "--activation",
        # kernels and export
        "backend": "--backend",
        "to": "--to",
        "order_max": "--order-max",
        # files and the gallery
        "force": "--force",
        "out": "--out",
        "only": "--only",
        "jobs": "--jobs",
    }
)

#: A parameter mention: `name` or `name=value`, in backticks.
_MENTION = re.compile(r"`([A-Za-z_]\w*)(?:=([^`]*))?`")


def _flag(match: re.Match[str]) -> str:
    name, value = match.group(1), match.group(2)
    flag = FLAGS.get(name)
    if flag is None:
        return match.group(0)
    if value is None or value in ("True", "..."):
        return flag
    return f"{flag} {value.strip(chr(34) + chr(39))}"


def to_flags(text: str) -> str:
    """``text`` with every backticked parameter of `FLAGS` written as its flag."""
    return _MENTION.sub(_flag, text)


def data_to_flags(data: Any) -> Any:
    """`to_flags` applied to every string in JSON-like ``data`` (dicts and lists)."""
    if isinstance(data, str):
        return to_flags(data)
    if isinstance(data, dict):
        return {key: data_to_flags(value) for key, value in data.items()}
    if isinstance(data, list):
        return [data_to_flags(value) for value in data]
    return data

r"""Backpropagation as a derivation: the backward pass of a dense network, step by step.

`backprop` writes the derivation a textbook gives, in matrix calculus, for a network of
any depth with hidden activation f, output activation g and loss ℓ:

* the forward pass, z⁽ˡ⁾ = W⁽ˡ⁾a⁽ˡ⁻¹⁾ + b⁽ˡ⁾, a⁽ˡ⁾ = f(z⁽ˡ⁾), and J = ℓ(g(z⁽ᴸ⁾), y);
* f′, derived by symcalc and written in its classic form where the catalog has one,
  in terms of the layer's own output when it can be (σ′ = σ(1 − σ) = a(1 − a),
  tanh′ = 1 − tanh² = 1 − a²);
* the output error δ⁽ᴸ⁾ = ∂J/∂z⁽ᴸ⁾, simplified: softmax with cross-entropy and sigmoid
  with binary cross-entropy both give a⁽ᴸ⁾ − y, and the cancellation is shown;
* the recursion δ⁽ˡ⁾ = (W⁽ˡ⁺¹⁾ᵀδ⁽ˡ⁺¹⁾) ⊙ f′(z⁽ˡ⁾), from the chain rule by components;
* the gradients ∂J/∂W⁽ˡ⁾ = δ⁽ˡ⁾a⁽ˡ⁻¹⁾ᵀ and ∂J/∂b⁽ˡ⁾ = δ⁽ˡ⁾;
* the same written out for the layers of the network asked for, and over a batch.

Every claim is **verified** on an instance: a network of the same depth, activation and
loss with two units a layer, random weights and inputs, where SymPy differentiates the
scalar J in the pre-activations, weights and intercepts of each layer and the
derivation's formulas are evaluated beside it, at 30 digits (`check`).

Examples
--------
>>> d = backprop(hidden=(4,), activation="sigmoid", loss="binary_cross_entropy")
>>> d.verified, d.step("output error").sides[-1]
(True, 'a⁽ᴸ⁾ - y')
"""

from __future__ import annotations

import dataclasses
import random
import re
from collections.abc import Callable, Sequence
from typing import Any

import sympy

from ..errors import SymcalcError
from .catalog import Entry, get
from .functions import latex as sym_latex
from .parse import resolve
from .typeset import Equation, align, standalone_document

__all__ = ["BackpropDerivation", "BackpropStep", "backprop", "check"]

#: Losses on one output (regression), and the output activation they default to.
REGRESSION_LOSSES = ("squared_error", "absolute_error", "huber", "log_cosh")
#: Widest network `backprop` describes (it is text; training has its own limits).
MAX_LAYERS, MAX_UNITS = 64, 4096
#: Digits of the verification, and the largest relative difference it accepts.
DIGITS, TOLERANCE = 30, 1e-20

_SUPERSCRIPT = str.maketrans("0123456789+-=()lL", "⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻⁼⁽⁾ˡᴸ")


def _sup(label: str | int) -> str:
    """``l+1`` → ⁽ˡ⁺¹⁾, ``3`` → ⁽³⁾."""
    return f"({label})".translate(_SUPERSCRIPT)


# -- results ---------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True, repr=False)
class BackpropStep:
    """One line of the derivation: ``lhs = sides[0] = sides[1] ...`` and why.

    ``error`` is the largest relative difference the verification found between the
    step's claim and SymPy's derivative on the instance (None: a definition, nothing
    to verify).
    """

    rule: str
    lhs: str
    sides: tuple[str, ...]
    lhs_latex: str
    sides_latex: tuple[str, ...]
    why: str = ""
    error: float | None = None
    #: ``why`` for LaTeX: text with math between ``$`` signs, set as ``\tag*{...}``.
    tag: str | None = None

    @property
    def verified(self) -> bool | None:
        return None if self.error is None else self.error <= TOLERANCE

    @property
    def text(self) -> str:
        line = " = ".join((self.lhs, *self.sides))
        return f"{line}   ({self.why})" if self.why else line

    @property
    def latex(self) -> str:
        return " = ".join((self.lhs_latex, *self.sides_latex))

    def to_dict(self) -> dict[str, Any]:
        """Like a step of ``derive``: rule, expr (the left side), result, latex; and the check."""
        return {
            "rule": self.rule,
            "expr": self.lhs,
            "result": self.sides[-1] if self.sides else self.lhs,
            "latex": self.latex,
            "text": self.text,
            "why": self.why,
            "verified": self.verified,
            "max_error": self.error,
        }

    def __repr__(self) -> str:
        return f"<BackpropStep {self.rule}: {self.lhs} = {self.sides[-1] if self.sides else ''}>"


@dataclasses.dataclass(frozen=True, repr=False)
class BackpropDerivation:
    """The backward pass of a network derived step by step, each claim verified.

    ``hidden`` are the hidden widths; ``steps`` the derivation in order; ``instance``
    says on which small network the claims were checked.
    """

    hidden: tuple[int, ...]
    activation: str
    output_activation: str
    loss: str
    classes: int | None
    steps: tuple[BackpropStep, ...]
    instance: str

    @property
    def depth(self) -> int:
        """L, the layers with weights (the hidden layers and the output layer)."""
        return len(self.hidden) + 1

    @property
    def verified(self) -> bool:
        """Whether every claim held on the instance."""
        return all(s.verified is not False for s in self.steps)

    def step(self, rule: str) -> BackpropStep:
        """The first step whose rule is ``rule``."""
        for s in self.steps:
            if s.rule == rule:
                return s
        raise SymcalcError(f"no step '{rule}' (steps: {', '.join(s.rule for s in self.steps)})")

    @property
    def title(self) -> str:
        widths = " → ".join(["n", *(str(h) for h in self.hidden), self._outputs()])
        return (
            f"backpropagation through {widths} ({self.activation} hidden units, "
            f"{self.output_activation} output, {self.loss})"
        )

    def _outputs(self) -> str:
        if self.output_activation == "softmax":
            return "K" if self.classes is None else str(self.classes)
        return "1"

    def to_text(self) -> str:
        """The derivation, one step a line, then what was verified."""
        lines = [self.title, ""]
        section = None
        for s in self.steps:
            if s.rule != section:
                section = s.rule
                lines.append(f"{section}:")
            lines.append(f"  {s.text}")
        checked = [s for s in self.steps if s.error is not None]
        worst = max((s.error for s in checked), default=0.0)
        verdict = "every claim held" if self.verified else "FAILED"
        lines += [
            "",
            f"verified: {verdict} on {self.instance} "
            f"({len(checked)} claims; largest relative difference {worst:.1e})",
        ]
        return "\n".join(lines)

    def to_latex(self, standalone: bool = False) -> str:
        """One ``align*`` (amsmath), each step's reason at the right margin."""
        rows = []
        section = None
        for s in self.steps:
            rows.append(
                Equation(
                    s.lhs_latex,
                    s.sides_latex,
                    s.tag,
                    space_before=s.rule != section and section is not None,
                )
            )
            section = s.rule
        body = align(rows)
        return standalone_document(body) if standalone else body

    def to_dict(self) -> dict[str, Any]:
        return {
            "hidden": list(self.hidden),
            "layers": self.depth,
            "activation": self.activation,
            "output_activation": self.output_activation,
            "loss": self.loss,
            "classes": self.classes,
            "steps": [s.to_dict() for s in self.steps],
            "verified": self.verified,
            "instance": self.instance,
        }

    def _repr_latex_(self) -> str:
        return "$$" + self.to_latex() + "$$"

    def __repr__(self) -> str:
        verdict = "verified" if self.verified else "NOT verified"
        return f"<BackpropDerivation {len(self.steps)} steps, {verdict}: {self.title}>"


def _tex_text(name: str) -> str:
    """A name in LaTeX text: underscores escaped, anything but letters set as math."""
    if name.replace("_", "").isalnum():
        return name.replace("_", r"\_")
    return "$" + sym_latex(resolve(name).expr) + "$"


# -- the pieces: activation, output, loss ----------------------------------------------------


def _activation_entry(activation: str | Entry) -> Entry:
    entry = resolve(activation)
    if entry.kind == "loss" or len(entry.variables) != 1:
        raise SymcalcError(
            f"`activation` must be a function of one variable (a catalog activation such as "
            f"tanh), got {entry.signature()}",
            parameter="activation",
        )
    return entry


def _pair(loss: str | Entry, output_activation: str | Entry | None) -> tuple[str, Entry]:
    """(output activation name, the loss entry) after checking they go together."""
    entry = resolve(loss)
    name = (
        output_activation.name
        if isinstance(output_activation, Entry)
        else (None if output_activation is None else str(output_activation).strip())
    )
    if entry.name == "categorical_cross_entropy":
        if name not in (None, "softmax"):
            raise SymcalcError(
                "categorical_cross_entropy reads a softmax output; drop `output_activation`",
                parameter="output_activation",
            )
        return "softmax", entry
    if entry.name in ("binary_cross_entropy", "binary_cross_entropy_with_logits"):
        if name not in (None, "sigmoid"):
            raise SymcalcError(
                f"{entry.name} reads a sigmoid output; drop `output_activation`",
                parameter="output_activation",
            )
        return "sigmoid", get("binary_cross_entropy")
    if entry.name not in REGRESSION_LOSSES:
        raise SymcalcError(
            f"backprop derives losses on the network's output: categorical_cross_entropy, "
            f"binary_cross_entropy or {', '.join(REGRESSION_LOSSES)}; got '{entry.name}'",
            parameter="loss",
        )
    if name in (None, "identity", "linear"):
        return "identity", entry
    if name == "softmax":
        raise SymcalcError(
            "a softmax output goes with categorical_cross_entropy", parameter="output_activation"
        )
    return _activation_entry(output_activation).name, entry


def _named_call(entry: Entry, x: sympy.Symbol) -> sympy.Expr | None:
    """f(x) as the catalog identity writes it (``sigmoid(x)``, ``tanh(x)``), if it does."""
    if entry.identity is None:
        return None
    for call in entry.identity.atoms(sympy.Function):
        if type(call).__name__ == entry.name and call.args == (x,):
            return call
    return None


def _local_derivative(
    entry: Entry, convention: str
) -> tuple[sympy.Expr, sympy.Expr | None, sympy.Expr | None]:
    """(f′ derived by symcalc, its classic form, the classic form in a = f(x) or None)."""
    from .derivatives import derivative

    x = entry.variables[0]
    derived = entry.bind(derivative(entry, convention=convention))
    classic = None if entry.identity is None else entry.bind(entry.identity)
    if classic is None or sympy.sstr(classic) == sympy.sstr(derived):
        classic = None
    source = entry.bind(entry.identity) if entry.identity is not None else derived
    call = _named_call(entry, x)
    in_a = None
    if call is not None:
        in_a = source.subs(call, _A)
        if x in in_a.free_symbols:
            in_a = None
    return derived, classic, in_a


#: a = f(z), the layer's output, in the classic forms (a placeholder name, replaced in print).
_A = sympy.Symbol("a̲", real=True)
_Y = sympy.Symbol("y", real=True)


def _pretty(expr: sympy.Expr, a: str = "a") -> str:
    """SymPy text with the layer's output named ``a`` and ² for squares."""
    text = sympy.sstr(expr).replace("a̲", a)
    text = re.sub(r"\*\*(\d+)(?![\d.])", lambda m: m.group(1).translate(_SUPERSCRIPT), text)
    return text.replace("**", "^").replace("*", "·")


def _tex(expr: sympy.Expr, a: str = "a") -> str:
    return sym_latex(expr).replace("a̲", "{" + a + "}" if "^" in a else a)


def _factor_tex(tex: str) -> str:
    """A LaTeX factor of a product: in parentheses when it is a sum."""
    return rf"\bigl({tex}\bigr)" if (" + " in tex or " - " in tex) else tex


def _factor_text(text: str) -> str:
    """A factor of a product: parenthesized when it is a sum."""
    inner = text.replace("(", "").replace(")", "")
    return f"({text})" if (" + " in inner or " - " in inner) else text


# -- the derivation --------------------------------------------------------------------------


def backprop(
    hidden: int | Sequence[int] = (16, 8),
    activation: str | Entry = "tanh",
    loss: str | Entry = "categorical_cross_entropy",
    *,
    output_activation: str | Entry | None = None,
    classes: int | None = None,
    convention: str = "zero",
    verify: bool = True,
) -> BackpropDerivation:
    """The derivation of backpropagation for a dense network, each step verified.

    Parameters
    ----------
    hidden
        Width of each hidden layer (one int for one layer).
    activation
        The hidden activation f: a catalog name or an expression in x.
    loss
        ``categorical_cross_entropy`` (softmax output), ``binary_cross_entropy``
        (sigmoid output) or a regression loss (identity output unless
        ``output_activation`` names another activation g).
    classes
        K, the number of outputs of a softmax network (None: written K).
    convention
        The value of f′ at a kink (see `symcalc.kinks`).
    verify
        Check every claim on a small instance (`check`); False leaves ``error`` None.

    Examples
    --------
    >>> d = backprop(hidden=(16, 8), activation="tanh")
    >>> d.step("recursion").sides[-1]
    '(W⁽ˡ⁺¹⁾ᵀδ⁽ˡ⁺¹⁾) ⊙ (1 - a⁽ˡ⁾²)'
    >>> d.verified
    True
    """
    widths = _widths(hidden)
    f = _activation_entry(activation)
    g_name, ell = _pair(loss, output_activation)
    if classes is not None and (
        isinstance(classes, bool) or not isinstance(classes, int) or not 2 <= classes <= 64
    ):
        raise SymcalcError(
            f"`classes` must be a whole number from 2 to 64, got {classes!r}", parameter="classes"
        )
    g = None if g_name in ("softmax", "sigmoid", "identity") else _activation_entry(g_name)
    steps = _steps(widths, f, g_name, g, ell, classes, convention)
    instance = ""
    if verify:
        steps, instance = check(steps, widths, f, g_name, g, ell, convention)
    return BackpropDerivation(
        hidden=widths,
        activation=f.name,
        output_activation=g_name,
        loss=ell.name,
        classes=classes if g_name == "softmax" else None,
        steps=tuple(steps),
        instance=instance,
    )


def _widths(hidden: Any) -> tuple[int, ...]:
    values = (hidden,) if isinstance(hidden, int) and not isinstance(hidden, bool) else hidden
    if not isinstance(values, (tuple, list)) or not 1 <= len(values) <= MAX_LAYERS:
        raise SymcalcError(
            f"`hidden` must list from 1 to {MAX_LAYERS} layer widths, got {hidden!r}",
            parameter="hidden",
        )
    for w in values:
        if isinstance(w, bool) or not isinstance(w, int) or not 1 <= w <= MAX_UNITS:
            raise SymcalcError(
                f"`hidden` must be a whole number of units from 1 to {MAX_UNITS}, got {w!r}",
                parameter="hidden",
            )
    return tuple(values)


def _steps(
    widths: tuple[int, ...],
    f: Entry,
    g_name: str,
    g: Entry | None,
    ell: Entry,
    classes: int | None,
    convention: str,
) -> list[BackpropStep]:
    L = len(widths) + 1
    steps = _forward_steps(widths, f, g_name, ell, classes)
    steps += _activation_steps(f, convention)
    steps += _output_steps(g_name, g, ell, convention)
    steps += _recursion_steps(f, convention)
    steps += _gradient_steps()
    steps += _network_steps(widths, f, g_name, g, ell, classes, convention, L)
    steps += _batch_steps()
    return steps


def _forward_steps(widths, f, g_name, ell, classes) -> list[BackpropStep]:
    rule = "forward pass"
    out = {"softmax": "softmax", "sigmoid": "σ", "identity": ""}.get(g_name, g_name)
    output_text = f"{out}(z⁽ᴸ⁾)" if out else "z⁽ᴸ⁾"
    output_tex = {
        "softmax": r"\operatorname{softmax}\bigl(z^{(L)}\bigr)",
        "sigmoid": r"\sigma\bigl(z^{(L)}\bigr)",
        "identity": r"z^{(L)}",
    }.get(g_name, r"g\bigl(z^{(L)}\bigr)")
    loss_text, loss_tex = _loss_forms(g_name, ell)
    K = "K" if classes is None else str(classes)
    sizes = [("n", "n"), *((str(w), str(w)) for w in widths)]
    shapes = ", ".join(
        f"W{_sup(k)} {sizes[k][0]}×{sizes[k - 1][0]}" for k in range(1, len(widths) + 1)
    )
    last = K if g_name == "softmax" else "1"
    shapes += f", W{_sup(len(widths) + 1)} {last}×{sizes[-1][0]}"
    return [
        BackpropStep(
            rule,
            "z⁽ˡ⁾",
            ("W⁽ˡ⁾a⁽ˡ⁻¹⁾ + b⁽ˡ⁾",),
            "z^{(l)}",
            (r"W^{(l)} a^{(l-1)} + b^{(l)}",),
            "l = 1, …, L, with a⁽⁰⁾ = x",
            tag=r"$l = 1, \dots, L$, with $a^{(0)} = x$",
        ),
        BackpropStep(
            rule,
            "a⁽ˡ⁾",
            ("f(z⁽ˡ⁾)",),
            "a^{(l)}",
            (r"f\bigl(z^{(l)}\bigr)",),
            f"l = 1, …, L − 1; f = {f.name}, elementwise",
            tag=rf"$l = 1, \dots, L-1$; $f$ = {_tex_text(f.name)}, elementwise",
        ),
        BackpropStep(
            rule,
            "a⁽ᴸ⁾",
            (output_text,),
            "a^{(L)}",
            (output_tex,),
            f"the output layer, L = {len(widths) + 1}: {shapes}",
            tag=rf"the output layer, $L = {len(widths) + 1}$",
        ),
        BackpropStep(
            rule,
            "J",
            (loss_text,),
            "J",
            (loss_tex,),
            f"the {ell.name} loss",
            tag=f"the {_tex_text(ell.name)} loss",
        ),
    ]


def _loss_forms(g_name: str, ell: Entry) -> tuple[str, str]:
    if g_name == "softmax":
        return "-Σₖ yₖ log a⁽ᴸ⁾ₖ", r"-\sum_{k} y_{k} \log a^{(L)}_{k}"
    p = ell.variables[0]
    body = ell.bind().subs(p, _A)
    return _pretty(body, "a⁽ᴸ⁾"), _tex(body, "a^{(L)}")


def _activation_steps(f: Entry, convention: str) -> list[BackpropStep]:
    derived, classic, in_a = _local_derivative(f, convention)
    x = f.variables[0]
    z = sympy.Symbol("z", real=True)
    sides = [_pretty(derived.subs(x, z))]
    tex = [sym_latex(derived.subs(x, z))]
    why = f"symcalc.derivative of {f.name}"
    tag = f"symcalc.derivative of {_tex_text(f.name)}"
    if classic is not None:
        sides.append(_pretty(classic.subs(x, z)))
        tex.append(sym_latex(classic.subs(x, z)))
        why += "; the classic form"
        tag += "; the classic form"
    if in_a is not None:
        sides.append(_pretty(in_a))
        tex.append(_tex(in_a))
        why += ", in a = f(z)"
        tag += ", in $a = f(z)$"
    return [
        BackpropStep(
            "activation derivative", "f′(z)", tuple(sides), "f'(z)", tuple(tex), why, tag=tag
        )
    ]


@dataclasses.dataclass(frozen=True)
class _OutputError:
    """δ⁽ᴸ⁾ = ∂ℓ/∂a ⊙ g′(z) for a scalar output: the factors and their product."""

    loss_slope: sympy.Expr  # ∂ℓ/∂a in a (the placeholder) and y
    output_slope: sympy.Expr | None  # g′ in a, or in z when it cannot be written in a
    in_a: bool
    result: sympy.Expr


_Z = sympy.Symbol("𝑧", real=True)


def _scalar_output_error(g_name: str, g: Entry | None, ell: Entry, convention: str) -> _OutputError:
    from .derivatives import derivative

    p = ell.variables[0]
    slope = ell.identity if ell.identity is not None else derivative(ell, wrt=p)
    loss_slope = ell.bind(slope).subs(p, _A)
    if g_name == "identity":
        return _OutputError(loss_slope, None, True, loss_slope)
    entry = get("sigmoid") if g_name == "sigmoid" else g
    derived, classic, in_a = _local_derivative(entry, convention)
    if in_a is not None:
        result = sympy.factor(sympy.cancel(loss_slope * in_a))
        return _OutputError(loss_slope, in_a, True, result)
    form = (classic if classic is not None else derived).subs(entry.variables[0], _Z)
    return _OutputError(loss_slope, form, False, loss_slope * form)


def _output_steps(g_name: str, g: Entry | None, ell: Entry, convention: str) -> list[BackpropStep]:
    rule = "output error"
    if g_name == "softmax":
        return _softmax_steps(rule)
    error = _scalar_output_error(g_name, g, ell, convention)
    final = _pretty(error.result, "a⁽ᴸ⁾").replace("𝑧", "z⁽ᴸ⁾")
    final_tex = _tex(error.result, "a^{(L)}").replace("𝑧", "{z^{(L)}}")
    if error.output_slope is None:
        sides = ("∂ℓ/∂a⁽ᴸ⁾", final)
        sides_tex = (r"\frac{\partial \ell}{\partial a^{(L)}}", final_tex)
        why = f"the identity output: δ⁽ᴸ⁾ is ∂ℓ/∂a, symcalc.derivative of {ell.name}"
        tag = r"the identity output: $\delta^{(L)} = \partial\ell / \partial a$"
        return [BackpropStep(rule, "δ⁽ᴸ⁾", sides, r"\delta^{(L)}", sides_tex, why, 0.0, tag)]
    loss_text = _factor_text(_pretty(error.loss_slope, "a⁽ᴸ⁾"))
    g_text = _factor_text(_pretty(error.output_slope, "a⁽ᴸ⁾").replace("𝑧", "z⁽ᴸ⁾"))
    g_tex = _tex(error.output_slope, "a^{(L)}").replace("𝑧", "{z^{(L)}}")
    sides = ("∂J/∂z⁽ᴸ⁾", "∂ℓ/∂a⁽ᴸ⁾ ⊙ g′(z⁽ᴸ⁾)", f"{loss_text} ⊙ {g_text}", final)
    sides_tex = (
        r"\frac{\partial J}{\partial z^{(L)}}",
        r"\frac{\partial \ell}{\partial a^{(L)}} \odot g'\bigl(z^{(L)}\bigr)",
        rf"\Bigl({_tex(error.loss_slope, 'a^{(L)}')}\Bigr) \odot \Bigl({g_tex}\Bigr)",
        final_tex,
    )
    why = f"chain rule through g = {g_name}"
    tag = f"chain rule through $g$ = {_tex_text(g_name)}"
    # the factor cancels only against a loss whose slope divides by it (cross-entropy)
    if g_name == "sigmoid" and sympy.denom(sympy.together(error.loss_slope)).has(_A):
        why += ": the factor a⁽ᴸ⁾(1 − a⁽ᴸ⁾) cancels"
        tag += r": the factor $a^{(L)}(1 - a^{(L)})$ cancels"
    return [BackpropStep(rule, "δ⁽ᴸ⁾", sides, r"\delta^{(L)}", sides_tex, why, 0.0, tag)]


def _softmax_steps(rule: str) -> list[BackpropStep]:
    return [
        BackpropStep(
            rule,
            "δ⁽ᴸ⁾_c",
            (
                "∂J/∂z⁽ᴸ⁾_c",
                "Σₖ ∂J/∂a⁽ᴸ⁾ₖ · ∂a⁽ᴸ⁾ₖ/∂z⁽ᴸ⁾_c",
                "Σₖ (-yₖ/a⁽ᴸ⁾ₖ) · a⁽ᴸ⁾ₖ(δₖc - a⁽ᴸ⁾_c)",
                "-Σₖ yₖ(δₖc - a⁽ᴸ⁾_c)",
                "a⁽ᴸ⁾_c Σₖ yₖ - y_c",
                "a⁽ᴸ⁾_c - y_c",
            ),
            r"\delta^{(L)}_{c}",
            (
                r"\frac{\partial J}{\partial z^{(L)}_{c}}",
                r"\sum_{k} \frac{\partial J}{\partial a^{(L)}_{k}}"
                r" \frac{\partial a^{(L)}_{k}}{\partial z^{(L)}_{c}}",
                r"\sum_{k} \Bigl(-\frac{y_{k}}{a^{(L)}_{k}}\Bigr)"
                r" a^{(L)}_{k} \bigl(\delta_{kc} - a^{(L)}_{c}\bigr)",
                r"-\sum_{k} y_{k} \bigl(\delta_{kc} - a^{(L)}_{c}\bigr)",
                r"a^{(L)}_{c} \sum_{k} y_{k} - y_{c}",
                r"a^{(L)}_{c} - y_{c}",
            ),
            "chain rule through softmax, ∂aₖ/∂z_c = aₖ(δₖc − a_c): the aₖ cancels; Σₖ yₖ = 1",
            error=0.0,
            tag=r"softmax: $\partial a_k / \partial z_c = a_k(\delta_{kc} - a_c)$, "
            r"the $a_k$ cancels; $\sum_k y_k = 1$",
        ),
        BackpropStep(
            rule,
            "δ⁽ᴸ⁾",
            ("a⁽ᴸ⁾ - y",),
            r"\delta^{(L)}",
            (r"a^{(L)} - y",),
            "softmax meets cross-entropy",
            error=0.0,  # replaced by the verification
            tag="softmax meets cross-entropy",
        ),
    ]


def _classic_in_layer(f: Entry, convention: str, layer: str, tex_layer: str) -> tuple[str, str]:
    """f′(z⁽ˡ⁾) in its classic form, written with the layer's names (text, LaTeX)."""
    derived, classic, in_a = _local_derivative(f, convention)
    if in_a is not None:
        return _pretty(in_a, f"a{layer}"), _tex(in_a, f"a^{{{tex_layer}}}")
    return f"f′(z{layer})", rf"f'\bigl(z^{{{tex_layer}}}\bigr)"


def _recursion_steps(f: Entry, convention: str) -> list[BackpropStep]:
    text, tex = _classic_in_layer(f, convention, "⁽ˡ⁾", "(l)")
    sides = [
        "∂J/∂z⁽ˡ⁾",
        "Σₖ δ⁽ˡ⁺¹⁾ₖ W⁽ˡ⁺¹⁾ₖⱼ f′(z⁽ˡ⁾ⱼ)",
        "(W⁽ˡ⁺¹⁾ᵀδ⁽ˡ⁺¹⁾) ⊙ f′(z⁽ˡ⁾)",
    ]
    sides_tex = [
        r"\frac{\partial J}{\partial z^{(l)}}",
        r"\sum_{k} \delta^{(l+1)}_{k} W^{(l+1)}_{kj} f'\bigl(z^{(l)}_{j}\bigr)",
        r"\bigl(W^{(l+1)\top} \delta^{(l+1)}\bigr) \odot f'\bigl(z^{(l)}\bigr)",
    ]
    why = "chain rule by components: z⁽ˡ⁺¹⁾ₖ depends on z⁽ˡ⁾ⱼ only through a⁽ˡ⁾ⱼ = f(z⁽ˡ⁾ⱼ)"
    tag = r"chain rule: $z^{(l+1)}_k$ depends on $z^{(l)}_j$ only through $a^{(l)}_j$"
    if not text.startswith("f′"):
        sides.append(f"(W⁽ˡ⁺¹⁾ᵀδ⁽ˡ⁺¹⁾) ⊙ {_factor_text(text)}")
        sides_tex.append(rf"\bigl(W^{{(l+1)\top}} \delta^{{(l+1)}}\bigr) \odot {_factor_tex(tex)}")
        why += "; f′ in its classic form"
        tag += "; $f'$ in its classic form"
    return [
        BackpropStep(
            "recursion", "δ⁽ˡ⁾", tuple(sides), r"\delta^{(l)}", tuple(sides_tex), why, 0.0, tag
        )
    ]


def _gradient_steps() -> list[BackpropStep]:
    rule = "gradients"
    return [
        BackpropStep(
            rule,
            "∂J/∂W⁽ˡ⁾ᵢⱼ",
            ("δ⁽ˡ⁾ᵢ a⁽ˡ⁻¹⁾ⱼ",),
            r"\frac{\partial J}{\partial W^{(l)}_{ij}}",
            (r"\delta^{(l)}_{i} a^{(l-1)}_{j}",),
            "z⁽ˡ⁾ᵢ = Σⱼ W⁽ˡ⁾ᵢⱼ a⁽ˡ⁻¹⁾ⱼ + b⁽ˡ⁾ᵢ",
            tag=r"$z^{(l)}_i = \sum_j W^{(l)}_{ij} a^{(l-1)}_j + b^{(l)}_i$",
        ),
        BackpropStep(
            rule,
            "∂J/∂W⁽ˡ⁾",
            ("δ⁽ˡ⁾a⁽ˡ⁻¹⁾ᵀ",),
            r"\frac{\partial J}{\partial W^{(l)}}",
            (r"\delta^{(l)} a^{(l-1)\top}",),
            "an outer product",
            error=0.0,
            tag="an outer product",
        ),
        BackpropStep(
            rule,
            "∂J/∂b⁽ˡ⁾",
            ("δ⁽ˡ⁾",),
            r"\frac{\partial J}{\partial b^{(l)}}",
            (r"\delta^{(l)}",),
            "∂z⁽ˡ⁾/∂b⁽ˡ⁾ = I",
            error=0.0,
            tag=r"$\partial z^{(l)} / \partial b^{(l)} = I$",
        ),
    ]


def _network_steps(widths, f, g_name, g, ell, classes, convention, L) -> list[BackpropStep]:
    """The recursion and the gradients written out for each layer of this network."""
    rule = "this network"
    out = _output_steps(g_name, g, ell, convention)[-1]
    steps = [
        BackpropStep(
            rule,
            f"δ{_sup(L)}",
            (out.sides[-1].replace("⁽ᴸ⁾", _sup(L)),),
            rf"\delta^{{({L})}}",
            (out.sides_latex[-1].replace("(L)", f"({L})"),),
            f"{_outputs(g_name, classes)} outputs",
            error=0.0,
            tag=f"${_outputs(g_name, classes)}$ outputs",
        )
    ]
    for k in range(L - 1, 0, -1):
        text, tex = _classic_in_layer(f, convention, _sup(k), f"({k})")
        steps.append(
            BackpropStep(
                rule,
                f"δ{_sup(k)}",
                (f"(W{_sup(k + 1)}ᵀδ{_sup(k + 1)}) ⊙ {_factor_text(text)}",),
                rf"\delta^{{({k})}}",
                (
                    rf"\bigl(W^{{({k + 1})\top}} \delta^{{({k + 1})}}\bigr) \odot "
                    + _factor_tex(tex),
                ),
                f"{widths[k - 1]} units",
                error=0.0,
                tag=f"{widths[k - 1]} units",
            )
        )
    for k in range(L, 0, -1):
        below = "x" if k == 1 else f"a{_sup(k - 1)}"
        below_tex = "x^{\\top}" if k == 1 else f"a^{{({k - 1})\\top}}"
        rows = _outputs(g_name, classes) if k == L else str(widths[k - 1])
        columns = "n" if k == 1 else str(widths[k - 2])
        steps.append(
            BackpropStep(
                rule,
                f"∂J/∂W{_sup(k)}",
                (f"δ{_sup(k)}{below}ᵀ",),
                rf"\frac{{\partial J}}{{\partial W^{{({k})}}}}",
                (rf"\delta^{{({k})}} {below_tex}",),
                f"{rows} × {columns}; ∂J/∂b{_sup(k)} = δ{_sup(k)}",
                error=0.0,
                tag=rf"${rows} \times {columns}$; "
                rf"$\partial J / \partial b^{{({k})}} = \delta^{{({k})}}$",
            )
        )
    return steps


def _outputs(g_name: str, classes: int | None) -> str:
    if g_name == "softmax":
        return "K" if classes is None else str(classes)
    return "1"


def _batch_steps() -> list[BackpropStep]:
    return [
        BackpropStep(
            "over a batch",
            "∇_W⁽ˡ⁾ J",
            ("(1/m) Δ⁽ˡ⁾ᵀA⁽ˡ⁻¹⁾ + λW⁽ˡ⁾",),
            r"\nabla_{W^{(l)}} J",
            (r"\frac{1}{m} \Delta^{(l)\top} A^{(l-1)} + \lambda W^{(l)}",),
            "J = (1/m)Σᵢ ℓᵢ + (λ/2)Σₗ‖W⁽ˡ⁾‖²; row i of Δ⁽ˡ⁾ is sample i's δ⁽ˡ⁾ᵀ: what descend runs",
            tag=r"row $i$ of $\Delta^{(l)}$: sample $i$'s $\delta^{(l)\top}$; "
            r"$J = \frac{1}{m}\sum_i \ell_i + \frac{\lambda}{2}\sum_l \|W^{(l)}\|^2$",
        ),
        BackpropStep(
            "over a batch",
            "∇_b⁽ˡ⁾ J",
            ("(1/m) Δ⁽ˡ⁾ᵀ1",),
            r"\nabla_{b^{(l)}} J",
            (r"\frac{1}{m} \Delta^{(l)\top} \mathbf{1}",),
            "intercepts are not penalized",
            tag="intercepts are not penalized",
        ),
    ]


# -- verification on an instance ------------------------------------------------------------


def check(
    steps: Sequence[BackpropStep],
    widths: tuple[int, ...],
    f: Entry,
    g_name: str,
    g: Entry | None,
    ell: Entry,
    convention: str = "zero",
    seed: int = 0,
) -> tuple[list[BackpropStep], str]:
    """The steps with ``error`` set: each claim against SymPy on a small instance.

    The instance has the same depth, activation and loss, 2 inputs, 2 units a layer and
    3 classes (softmax) or 1 output, weights and inputs drawn from [−1, 1] by ``seed``.
    SymPy differentiates the scalar J in the pre-activations z⁽ˡ⁾, the weights W⁽ˡ⁾
    and the intercepts b⁽ˡ⁾ of every layer; the derivation's δ⁽ᴸ⁾, the recursion with f′
    in its classic form, δ⁽ˡ⁾a⁽ˡ⁻¹⁾ᵀ and δ⁽ˡ⁾ are evaluated beside them at 30 digits.
    f′ is also compared with its classic form at random points.
    """
    rng = random.Random(seed)
    L = len(widths) + 1
    K = 3 if g_name == "softmax" else 1
    sizes = [2] * L + [K]

    def number() -> sympy.Float:
        return sympy.Float(rng.uniform(-1, 1), DIGITS)

    weights = [sympy.Matrix(sizes[k + 1], sizes[k], lambda i, j: number()) for k in range(L)]
    biases = [sympy.Matrix(sizes[k + 1], 1, lambda i, j: number()) for k in range(L)]
    x = sympy.Matrix(sizes[0], 1, lambda i, j: number())
    if g_name == "softmax":
        y = sympy.Matrix(K, 1, lambda i, j: sympy.Integer(int(i == 1)))
    elif g_name == "sigmoid":
        y = sympy.Matrix([[sympy.Integer(1)]])
    else:
        y = sympy.Matrix([[number()]])
    phi = _function(f)
    phi_prime = _classic_function(f, convention)

    # the forward pass with numbers
    pre, acts = [], [x]
    for k in range(L):
        z = weights[k] * acts[-1] + biases[k]
        pre.append(z)
        acts.append(z.applyfunc(phi) if k < L - 1 else None)
    z_out = pre[L - 1]
    x_f = f.variables[0]

    def local_phi(expr: sympy.Expr, at: sympy.Expr) -> sympy.Expr:
        """f(expr), a Piecewise f taken on its branch at the point ``at`` (same derivative)."""
        return _localize(f.bind(), {x_f: at}).xreplace({x_f: expr})

    def run(start: int, value: sympy.Matrix) -> sympy.Expr:
        """J from z⁽ˢᵗᵃʳᵗ⁾ = value (layers numbered 1..L), each branch of a kink fixed."""
        z = value
        for k in range(start, L):
            a = sympy.Matrix([local_phi(e, at) for e, at in zip(z, pre[k - 1], strict=True)])
            z = weights[k] * a + biases[k]
        return _loss_of_outputs(z, y, g_name, g, ell, z_out)

    # δ⁽ᴸ⁾ as the derivation says, then the recursion
    deltas: list[sympy.Matrix | None] = [None] * L
    deltas[L - 1] = _output_error(pre[L - 1], y, g_name, g, ell, convention)
    for k in range(L - 2, -1, -1):
        slope = pre[k].applyfunc(phi_prime)
        deltas[k] = (weights[k + 1].T * deltas[k + 1]).multiply_elementwise(slope)

    worst = {"output": 0.0, "recursion": 0.0, "weights": 0.0, "biases": 0.0}
    for k in range(L):
        symbols = sympy.Matrix([sympy.Symbol(f"z{k}_{i}", real=True) for i in range(sizes[k + 1])])
        J = run(k + 1, symbols)
        point = dict(zip(symbols, pre[k], strict=True))
        truth = sympy.Matrix([sympy.diff(J, s).xreplace(point) for s in symbols])
        key = "output" if k == L - 1 else "recursion"
        worst[key] = max(worst[key], _difference(deltas[k], truth))
        below = x if k == 0 else acts[k]
        W = sympy.Matrix(*weights[k].shape, lambda i, j: sympy.Symbol(f"w{i}_{j}", real=True))
        b = sympy.Matrix(*biases[k].shape, lambda i, j: sympy.Symbol(f"b{i}", real=True))
        J_w = run(k + 1, W * below + biases[k])
        J_b = run(k + 1, weights[k] * below + b)
        at_w = dict(zip(W, weights[k], strict=True))
        at_b = dict(zip(b, biases[k], strict=True))
        dW = sympy.Matrix(*W.shape, [sympy.diff(J_w, s).xreplace(at_w) for s in W])
        db = sympy.Matrix(*b.shape, [sympy.diff(J_b, s).xreplace(at_b) for s in b])
        worst["weights"] = max(worst["weights"], _difference(deltas[k] * below.T, dW))
        worst["biases"] = max(worst["biases"], _difference(deltas[k], db))
    worst["activation"] = _activation_difference(f, convention, rng)

    def error_of(s: BackpropStep) -> float | None:
        if s.rule == "activation derivative":
            return worst["activation"]
        if s.error is None:
            return None
        if s.rule == "output error" or (s.rule == "this network" and s.lhs == f"δ{_sup(L)}"):
            return worst["output"]
        if s.rule == "recursion" or (s.rule == "this network" and s.lhs.startswith("δ")):
            return max(worst["recursion"], worst["output"])
        if "b" in s.lhs and "W" not in s.lhs:
            return worst["biases"]
        return worst["weights"]

    checked = [dataclasses.replace(s, error=error_of(s)) for s in steps]
    shape = " → ".join(str(s) for s in sizes)
    return checked, f"a {shape} network with random weights and input, at {DIGITS} digits"


def _relative(claim: sympy.Expr, truth: sympy.Expr) -> float:
    """|claim − truth| / max(1, |truth|), the difference taken at `DIGITS` digits."""
    c, t = sympy.N(claim, DIGITS), sympy.N(truth, DIGITS)
    return float(abs(complex(sympy.N(c - t, DIGITS)))) / max(1.0, abs(complex(t)))


def _difference(claim: sympy.Matrix, truth: sympy.Matrix) -> float:
    return max(_relative(c, t) for c, t in zip(claim, truth, strict=True))


def _function(entry: Entry) -> Callable[[sympy.Expr], sympy.Expr]:
    body, x = entry.bind(), entry.variables[0]
    return lambda value: body.xreplace({x: value})


def _classic_function(entry: Entry, convention: str) -> Callable[[sympy.Expr], sympy.Expr]:
    """f′ as the recursion writes it: in a = f(z) where the classic form allows, else in z."""
    derived, classic, in_a = _local_derivative(entry, convention)
    x = entry.variables[0]
    phi = _function(entry)
    if in_a is not None:
        return lambda value: in_a.xreplace({_A: phi(value)})
    form = classic if classic is not None else derived
    form = _expand_named(form)
    return lambda value: form.xreplace({x: value})


def _expand_named(expr: sympy.Expr) -> sympy.Expr:
    from .functions import expand_named

    return expand_named(expr)


def _activation_difference(entry: Entry, convention: str, rng: random.Random) -> float:
    """max |f′(x) − classic form(x)| / max(1, |f′|) at random points, by SymPy's own diff."""
    x = entry.variables[0]
    truth = sympy.diff(entry.bind(), x)
    claim = _classic_function(entry, convention)
    worst = 0.0
    for _ in range(5):
        point = sympy.Float(rng.uniform(-3, 3), DIGITS)
        worst = max(worst, _relative(claim(point), truth.xreplace({x: point})))
    return worst


def _localize(expr: sympy.Expr, values: dict) -> sympy.Expr:
    """Each Piecewise replaced by its branch that holds at ``values``.

    Away from the kinks (the instance is random), the function equals that branch in a
    neighbourhood, so SymPy's derivative of it is the derivative of the function, and
    SymPy need not simplify conditions on large expressions.
    """

    def branch(e: sympy.Expr) -> sympy.Expr:
        if isinstance(e, (sympy.Min, sympy.Max)):
            numbers = [complex(sympy.N(a.xreplace(values), DIGITS)).real for a in e.args]
            pick = min if isinstance(e, sympy.Min) else max
            return e.args[numbers.index(pick(numbers))]
        for piece in e.args:
            if bool(piece.cond.xreplace(values)):
                return piece.expr
        return e  # pragma: no cover - a Piecewise ends with a True branch

    kinds = (sympy.Piecewise, sympy.Min, sympy.Max)
    return expr.replace(lambda e: isinstance(e, kinds), branch)


def _loss_of_outputs(
    z: sympy.Matrix,
    y: sympy.Matrix,
    g_name: str,
    g: Entry | None,
    ell: Entry,
    at: sympy.Matrix,
) -> sympy.Expr:
    """ℓ(g(z), y) for the instance, written from the catalog (softmax: −Σ yₖ log softmaxₖ).

    Piecewise pieces are taken on their branch at the outputs ``at`` (see `_localize`).
    """
    if g_name == "softmax":
        total = sum(sympy.exp(v) for v in z)
        return -sum(yk * sympy.log(sympy.exp(zk) / total) for yk, zk in zip(y, z, strict=True))
    entry = {"sigmoid": get("sigmoid"), "identity": get("identity")}.get(g_name, g)
    u = entry.variables[0]
    outer = _localize(entry.bind(), {u: at[0]})
    p, yv = ell.variables[:2]
    value = {p: outer.xreplace({u: at[0]}), yv: y[0]}
    loss = _localize(ell.bind(), {k: sympy.N(v, DIGITS) for k, v in value.items()})
    return loss.xreplace({p: outer.xreplace({u: z[0]}), yv: y[0]})


def _output_error(
    z: sympy.Matrix, y: sympy.Matrix, g_name: str, g: Entry | None, ell: Entry, convention: str
) -> sympy.Matrix:
    """δ⁽ᴸ⁾ evaluated from the derivation's final form."""
    if g_name == "softmax":
        total = sum(sympy.exp(v) for v in z)
        return z.applyfunc(lambda v: sympy.exp(v) / total) - y
    error = _scalar_output_error(g_name, g, ell, convention)
    entry = {"sigmoid": get("sigmoid"), "identity": get("identity")}.get(g_name, g)
    values = {_A: _function(entry)(z[0]), _Z: z[0], ell.variables[1]: y[0]}
    return sympy.Matrix([[_expand_named(error.result).xreplace(values)]])

"""Text, LaTeX and JSON records of a derivation (symcalc.symbolic.render)."""

from __future__ import annotations

import json
import re

import pytest
import sympy

from symcalc.symbolic import steps
from symcalc.symbolic.catalog import CATALOG
from symcalc.symbolic.functions import sigmoid, symbol
from symcalc.symbolic.parse import parse
from symcalc.symbolic.render import lines, step_records, to_latex, to_text
from symcalc.symbolic.steps import (
    ConstantRule,
    RewriteRule,
    Rule,
    derivation_steps,
    walk,
    with_identity,
)

x = symbol("x")


def _sigmoid_with_identity() -> Rule:
    entry = CATALOG["sigmoid"]
    return with_identity(derivation_steps(entry.expr, x), entry.identity)


def _with_catalog_identity(name: str) -> Rule:
    entry = CATALOG[name]
    steps = derivation_steps(entry.expr, entry.variable)
    return with_identity(steps, entry.identity, entry.constraints)


def _balanced(latex: str) -> bool:
    depth = 0
    i = 0
    while i < len(latex):
        char = latex[i]
        if char == "\\":  # \{ and \} are literal braces, not groups
            i += 2
            continue
        depth += {"{": 1, "}": -1}.get(char, 0)
        if depth < 0:
            return False
        i += 1
    return depth == 0


def _tags(latex: str) -> list[str]:
    """The text of every \\tag*{...}, nested braces and all."""
    out = []
    for match in re.finditer(r"\\tag\*\{", latex):
        depth, i = 1, match.end()
        while depth:
            depth += {"{": 1, "}": -1}.get(latex[i], 0)
            i += 1
        out.append(latex[match.end() : i - 1])
    return out


def _same(a: sympy.Expr, b: sympy.Expr) -> bool:
    """Equal, allowing for SymPy re-evaluating -(1 - y)*f as (y - 1)*f when text is read back."""
    return a == b or sympy.expand(a - b) == 0


def test_sigmoid_text_ends_on_the_identity():
    text = to_text(_sigmoid_with_identity())
    last = text.splitlines()[-1]
    assert last.startswith("d/dx[1/(1 + exp(-x))] = exp(-x)/(1 + exp(-x))**2 = ")
    assert last.endswith("= σ(x)*(1 - σ(x))   (rewrite)")
    assert "chain rule" in text and "exp rule" in text


def test_sigmoid_latex_ends_on_the_identity():
    latex = to_latex(_sigmoid_with_identity())
    rows = latex.splitlines()
    assert rows[0] == r"\begin{align*}" and rows[-1] == r"\end{align*}"
    sigma = r"\sigma\left(x\right)"
    assert rows[-2].endswith(rf"= {sigma} \left(1 - {sigma}\right) \tag*{{rewrite}}")
    assert all(row.endswith(" \\\\") for row in rows[1:-2])
    assert _balanced(latex)
    assert latex.count(r"\begin{align*}") == 1  # one environment, paste it as it is


def test_product_golden_lines():
    text = to_text(derivation_steps(x**2 * sympy.sin(x), x)).splitlines()
    assert text == [
        "d/dx[x**2*sin(x)] = d/dx[x**2]*sin(x) + x**2*d/dx[sin(x)] = x**2*cos(x) + 2*x*sin(x)"
        "   (product rule)",
        "d/dx[x**2] = 2*x   (power rule)",
        "d/dx[sin(x)] = cos(x)   (trig rule)",
    ]
    latex = to_latex(derivation_steps(x**2 * sympy.sin(x), x)).splitlines()
    assert latex[1].startswith(r"\frac{d}{dx}\left[x^{2} \sin{\left(x \right)}\right] &= ")
    assert latex[1].endswith(r"\tag*{product rule} \\")
    assert latex[2] == r"\frac{d}{dx}\left[x^{2}\right] &= 2 x \tag*{power rule} \\"
    sin, cos = r"\sin{\left(x \right)}", r"\cos{\left(x \right)}"
    assert latex[3] == rf"\frac{{d}}{{dx}}\left[{sin}\right] &= {cos} \tag*{{trig rule}}"


def test_reading_order_and_folding():
    rule = derivation_steps(1 + sympy.exp(2 * x), x)
    assert [line.rule for line in lines(rule)] == [
        "sum rule",
        "chain rule",
        "exp rule",
        "constant multiple rule",
        "identity rule",
    ]
    assert "d/dx[1]" not in to_text(rule)  # the constant term is folded away
    assert to_text(derivation_steps(sympy.Integer(3), x)) == "d/dx[3] = 0   (constant rule)"


def test_chain_rule_names_its_placeholder():
    text = to_text(derivation_steps(sympy.exp(sympy.sin(x)), x)).splitlines()
    assert text[0].endswith("(chain rule, u = sin(x))")
    assert text[1] == "d/du[exp(u)] = exp(u)   (exp rule)"
    latex = to_latex(derivation_steps(sympy.exp(sympy.sin(x)), x))
    assert r"\tag*{chain rule, $u = \sin{\left(x \right)}$}" in latex


#: For every rule class, an expression whose derivation uses it: a new rule class needs an
#: example here (the test below says so), and so a look at how its line prints.
RULE_EXAMPLES = {
    steps.ConstantRule: sympy.Integer(3),
    steps.IdentityRule: x,
    steps.PowerRule: x**3,
    steps.SqrtRule: sympy.sqrt(x),
    steps.ExponentialRule: 2**x,
    steps.ExpRule: sympy.exp(x),
    steps.LogRule: sympy.log(x),
    steps.TrigRule: sympy.sin(x),
    steps.HyperbolicRule: sympy.tanh(x),
    steps.InverseTrigRule: sympy.atan(x),
    steps.ErfRule: sympy.erf(x),
    steps.SigmoidRule: sigmoid(x),
    steps.AbsRule: sympy.Abs(x),
    steps.HeavisideRule: sympy.Heaviside(x),
    steps.SignRule: sympy.sign(x),
    steps.DontKnowRule: sympy.zeta(x),
    steps.SpecialFunctionRule: sympy.gamma(x),
    steps.MultivariableChainRule: sympy.beta(x, x),
    steps.SumRule: x + sympy.sin(x),
    steps.ConstantMultipleRule: 3 * sympy.sin(x),
    steps.ProductRule: x * sympy.sin(x),
    steps.QuotientRule: sympy.sin(x) / (1 + x**2),
    steps.ChainRule: sympy.sin(x**2),
    steps.GeneralPowerRule: x**x,
    steps.MaxMinRule: sympy.Max(0, x),
    steps.PiecewiseRule: sympy.Piecewise((x, x > 0), (x**2, True)),
    steps.RewriteRule: None,  # a derivation ending on a catalog identity (sigmoid's)
}

#: What a rule's line says besides its name, for the rules whose printer adds a note.
NOTES = {
    steps.ChainRule: "chain rule, u = x**2",
    steps.DontKnowRule: "no rule known, zeta left unevaluated",
    steps.MaxMinRule: "max/min rule, convention 'zero' at ties",
    steps.HeavisideRule: "by convention, at it",
    steps.SignRule: "by convention, at it",
}


def _rule_classes() -> set[type]:
    found, todo = set(), [Rule]
    while todo:
        cls = todo.pop()
        todo.extend(cls.__subclasses__())
        if "name" in vars(cls) and cls is not Rule:  # concrete: it names itself
            found.add(cls)
    return found


def test_every_rule_class_has_an_example():
    assert _rule_classes() == set(RULE_EXAMPLES)


@pytest.mark.parametrize(
    "cls", sorted(RULE_EXAMPLES, key=lambda c: c.__name__), ids=lambda c: c.__name__
)
def test_every_rule_class_prints_its_own_line(cls):
    """The node's line names its rule, the expression differentiated and its result, in text,
    LaTeX and JSON records alike (whatever handler serves the class)."""
    expr = RULE_EXAMPLES[cls]
    tree = _sigmoid_with_identity() if expr is None else derivation_steps(expr, x)
    nodes = [node for node in walk(tree) if type(node) is cls]
    assert nodes, f"{cls.__name__} does not occur in the derivation of {expr}"
    node = nodes[0]
    index = [line.node for line in lines(tree)].index(node)
    final = node.rewritten if cls is steps.RewriteRule else node.result
    record = step_records(tree)[index]
    assert record["rule"] == node.name != "rule"
    assert record["expr"] == sympy.sstr(node.expr) and record["result"] == sympy.sstr(final)
    text = to_text(tree).splitlines()[index]
    assert text.endswith(f"   ({NOTES.get(cls, node.name)})") or (
        cls in NOTES and NOTES[cls] in text and f"({node.name}" in text
    ), text
    assert f"d/d{node.variable}[" in text
    # the node's first row (a long equation goes on over more rows: its tag on the last)
    row = next(r for r in to_latex(tree).splitlines()[1 + index :] if r"\tag*" in r)
    assert rf"\tag*{{{node.name}" in row and row.count("&=") == 1


@pytest.mark.parametrize("name", sorted(CATALOG))
def test_latex_and_text_for_the_catalog(name):
    rule = _with_catalog_identity(name)
    latex = to_latex(rule)
    assert latex.startswith("\\begin{align*}\n") and latex.endswith("\n\\end{align*}")
    assert latex.count("\\begin{align*}") == 1
    assert _balanced(latex)
    rows = latex.splitlines()[1:-1]
    tags = _tags(latex)
    text = to_text(rule).splitlines()
    assert len(text) == len(tags) == len(step_records(rule))
    for line, tag in zip(text, tags, strict=True):  # each line names its rule, at the right
        rule_name = line.rsplit("   (", 1)[1].removesuffix(")").split(",")[0]
        assert tag.split(",")[0] == rule_name
    assert all("&=" in row or row.startswith("&") for row in rows if "\\tag" in row)
    last_rule = text[-1].rsplit("   (", 1)[1]  # "rewrite", or "rewrite, where y_1 + ... = 1"
    assert last_rule.startswith("rewrite") == isinstance(rule, RewriteRule)


def test_no_step_changes_nothing_and_none_repeats():
    relu = _with_catalog_identity("relu")  # the derivative already is the classic form
    assert not isinstance(relu, RewriteRule)
    assert "rewrite" not in to_text(relu)
    text = to_text(derivation_steps(x**x, x)).splitlines()
    assert text.count("d/dx[x] = 1   (identity rule)") == 1  # not once for u and once for v
    assert len(text) == len(set(text))


@pytest.mark.parametrize("name", sorted(CATALOG))
def test_step_records_are_json_ready(name):
    rule = _with_catalog_identity(name)
    records = step_records(rule)
    assert json.loads(json.dumps(records)) == records
    for record in records:
        assert set(record) == {"rule", "variable", "expr", "result", "latex"}
        assert all(isinstance(v, str) and v for v in record.values())
        assert _balanced(record["latex"])
        assert "&=" not in record["latex"] and "&&" not in record["latex"]
    assert records[0]["rule"] == lines(rule)[0].rule
    assert (records[-1]["rule"] == "rewrite") == isinstance(rule, RewriteRule)
    tree = rule.substep if isinstance(rule, RewriteRule) else rule
    shown = {(n.expr, n.variable) for n in walk(tree) if not isinstance(n, ConstantRule)}
    shown |= {(tree.expr, tree.variable)}
    # every real rule application has a record, once (a repeated one is shown once)
    assert len(records) == len(shown) + isinstance(rule, RewriteRule)


@pytest.mark.parametrize(
    "name, var",
    [(name, str(v)) for name, entry in sorted(CATALOG.items()) for v in entry.variables],
)
def test_records_read_back_with_parse(name, var):
    rule = derivation_steps(CATALOG[name].expr, symbol(var))
    for line, record in zip(lines(rule), step_records(rule), strict=True):
        assert _same(parse(record["expr"]), line.expr), record["expr"]
        assert _same(parse(record["result"]), line.rhs[-1]), record["result"]
        assert parse(record["variable"]) == line.variable


def test_quotient_record():
    records = step_records(derivation_steps(sympy.log(x) / x, x))
    assert records[0]["rule"] == "quotient rule"
    assert parse(records[0]["result"]) == (1 - sympy.log(x)) / x**2


def test_sigmoid_function_prints_as_sigma():
    rule = derivation_steps(sigmoid(2 * x), x)
    assert "σ(2*x)" in to_text(rule)
    assert r"\sigma\left(2 x\right)" in to_latex(rule)
    assert _same(parse(step_records(rule)[0]["result"]), rule.result)


def test_partial_tree_renders():
    rule = derivation_steps(sympy.besselj(x, 1) * sympy.exp(x), x)  # in its order: no rule
    text = to_text(rule)
    assert "no rule known, besselj left unevaluated" in text
    assert _balanced(to_latex(rule))
    records = step_records(rule)
    assert records[-1]["result"] == "Derivative(besselj(x, 1), x)"

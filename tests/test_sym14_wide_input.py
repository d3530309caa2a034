"""A flat sum or product is wide, not deep: it is read in a loop (Python's tree for
a + b + c nests once per term), while really deep input is still refused in one line."""

from __future__ import annotations

import json
import sys

import pytest
import sympy

import symcalc
from symcalc import ParseError
from symcalc.symbolic.functions import symbol

x = symbol("x")


@pytest.mark.parametrize("terms", [299, 1999])
def test_a_flat_sum_of_many_terms_is_read(terms):
    # old: 299 terms refused as "nested too deeply (more than 200 levels ...)"
    text = " + ".join(f"x**{k}/{k}" for k in range(1, terms + 1))
    expr = symcalc.parse(text)
    assert expr == sympy.Add(*[x**k / k for k in range(1, terms + 1)])
    assert sys.getrecursionlimit() < 12_000  # raised for ast.parse only


def test_chains_of_minus_times_and_divide_read_as_python_reads_them():
    assert symcalc.parse("-".join(["x"] * 900)) == -898 * x
    assert symcalc.parse("*".join(["x"] * 900)) == x**900
    assert symcalc.parse("/".join(["x"] * 300)) == x**-298
    assert symcalc.parse("2/3*x - x/4/5 + 1") == sympy.Rational(37, 60) * x + 1
    assert symcalc.parse(" + ".join(f"sin({k}*x)" for k in range(1, 1500))) == sympy.Add(
        *[sympy.sin(k * x) for k in range(1, 1500)]
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("x**" * 250 + "x", "nested too deeply"),
        ("-" * 250 + "x", "nested too deeply"),
        ("-" * 20000 + "x", "nested too deeply"),
        ("(" * 300 + "x" + ")" * 300, "nested"),
        ("sin(" * 250 + "x" + ")" * 250, "nested"),
        ("exp(" * 150 + " + ".join(["x"] * 300) + ")" * 150, None),  # 150 deep: read
        ("+".join(["x"] * 12000), "too large"),
        ("x - 1/0 + 2", "division by zero"),
    ],
)
def test_deep_or_huge_input_is_still_refused_in_one_line(text, message):
    if message is None:
        assert symcalc.parse(text).has(sympy.exp)
        return
    with pytest.raises(ParseError, match=message) as caught:
        symcalc.parse(text)
    assert "\n" not in str(caught.value)


def test_the_cli_derives_a_299_term_sum(cli):
    text = " + ".join(f"x**{k}/{k}" for k in range(1, 300))
    result = cli("derive", text, "--format", "json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["derivative"].startswith("x**298 + x**297")

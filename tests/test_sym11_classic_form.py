"""A classic form that holds only on a constraint says so wherever it is shown.

softmax(z)_1 - y_1 is ∂/∂z_1 of the categorical cross-entropy only where y_1 + y_2 + y_3 = 1:
at y = (0.7, 1.54, 1.09), z = (0.65, 1.02, 1.07) the derivative is 0.143 and the classic
form -0.448.  The text, the LaTeX, the steps and the JSON name the condition.
"""

from __future__ import annotations

import json

from symcalc.symbolic.derivatives import derive
from symcalc.symbolic.functions import symbol
from symcalc.symbolic.parse import parse

Y = [symbol(f"y_{k}") for k in (1, 2, 3)]


def test_the_derivative_differs_from_the_classic_form_off_the_constraint():
    result = derive("categorical_cross_entropy")
    point = dict(zip(Y, (0.7, 1.54, 1.09), strict=True))
    point.update({symbol("z_1"): 0.65, symbol("z_2"): 1.02, symbol("z_3"): 1.07})
    derivative = float(result.derivative.evalf(30, subs=point))
    classic = float(result.identity.evalf(30, subs=point))
    assert abs(derivative - classic) > 0.5  # so the "=" between them needs its condition
    on = {**point, Y[2]: 1 - point[Y[0]] - point[Y[1]]}
    assert abs(result.derivative.evalf(30, subs=on) - result.identity.evalf(30, subs=on)) < 1e-25


def test_text_latex_steps_and_json_name_the_condition():
    result = derive("categorical_cross_entropy")
    assert "(classic form, where y_1 + y_2 + y_3 = 1)" in result.to_text()
    assert "(rewrite, where y_1 + y_2 + y_3 = 1)" in result.to_text(steps=True)
    assert r"\tag*{classic form, where $y_{1} + y_{2} + y_{3} = 1$}" in result.to_latex()
    data = json.loads(json.dumps(result.to_dict()))
    assert data["identity_conditions"] == ["Eq(y_1 + y_2 + y_3, 1)"]
    assert parse(data["identity"]) == result.identity


def test_an_unconditional_classic_form_has_no_condition():
    result = derive("sigmoid")
    assert "(classic form)" in result.to_text()
    assert result.to_dict()["identity_conditions"] == []

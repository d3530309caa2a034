"""Integrated gradients say where the kinks on the path may not all be listed (more
kinks than `kinks_within` lists): a numeric path integral that fails names that cause,
and one that converges carries it as a note (text and JSON).  Truth: the kink count
n/π·|path| of |sin(n x)| against the list's limit, and ∫ of a quadratic's gradient."""

from __future__ import annotations

import json

import numpy as np
import pytest

from symcalc import SymcalcError, integrated_gradients
from symcalc.learn.explain import Layer, ModelFunction
from symcalc.symbolic.kinks import KINK_LIMIT
from symcalc.symbolic.parse import resolve

AT, BASELINE = np.array([10.0, 6.0]), np.array([0.0, 0.0])


def _network(text: str) -> ModelFunction:
    layers = (
        Layer(np.array([[1.0, 0.5]]), np.array([0.3]), resolve(text)),
        Layer(np.array([[1.0]]), np.zeros(1)),
    )
    return ModelFunction(("a", "c"), layers, "identity", 0, "y")


def test_an_expression_with_too_many_kinks_on_the_path_is_refused_with_that_reason(monkeypatch):
    assert 1e7 / np.pi > KINK_LIMIT  # |sin(1e7 x)| on [0, 1]: 3.2 million kinks
    # SymPy's simplify spends any budget on the derivative's cos(10⁷x) (futrig); the
    # derivative is right before it, and the test needs no tidier form
    monkeypatch.setenv("SYMCALC_TIME_BUDGET", "0.5")
    with pytest.raises(SymcalcError) as refused:
        integrated_gradients("abs(sin(10000000*x))", at=[1.0], baseline=[0.0], timeout=0.5)
    message = str(refused.value)
    assert "did not converge" in message and "may not all be listed" in message
    assert "sin(10000000*α)" in message and "1,000,000" in message
    assert "\n" not in message


def test_a_network_reports_the_layer_whose_kinks_may_be_missing():
    note = _network("abs(sin(10000000*x))").breakpoints_note(AT, BASELINE)
    assert note is not None
    assert "layer 1's activation abs(sin(10000000*x))" in note
    assert "[0.3, 13.3]" in note  # z = 0.3 + 13 α on the path
    assert _network("abs(sin(x))").breakpoints_note(AT, BASELINE) is None
    assert _network("relu").breakpoints_note(AT, BASELINE) is None


def test_a_complete_list_gives_no_note():
    ig = integrated_gradients("abs(sin(3*x))*y", at=[2.0, 1.0], baseline=[0.0, 0.0])
    assert ig.notes == ()
    assert ig.to_dict()["notes"] == []
    assert "note:" not in ig.to_text()
    assert abs(ig.completeness_error) <= 1e-12 * abs(ig.difference)


class _Quadratic:
    """f = x² + 3y, whose kink list (it has none) a caller says may be incomplete."""

    names = ("x", "y")

    def value(self, points):
        return points[:, 0] ** 2 + 3 * points[:, 1]

    def gradient(self, points):
        return np.column_stack([2 * points[:, 0], np.full(len(points), 3.0)])

    def breakpoints(self, at, baseline):
        return np.empty(0)

    def breakpoints_note(self, at, baseline):
        return "the kinks of g may not all be listed"


def test_a_converged_integral_carries_the_note_in_text_and_json():
    ig = integrated_gradients(_Quadratic(), at=[2.0, 1.0], baseline=[0.0, 0.0])
    np.testing.assert_allclose(ig.attributions, [4.0, 3.0], rtol=1e-14)  # ∫ 2x dx, 3·1
    assert ig.exact_by == ("numeric quadrature", "numeric quadrature")
    assert ig.notes == ("the kinks of g may not all be listed",)
    assert "note: the kinks of g may not all be listed" in ig.to_text()
    assert json.loads(json.dumps(ig.to_dict()))["notes"] == list(ig.notes)
    # a rule takes no breakpoints, so it has no note
    assert integrated_gradients(_Quadratic(), at=[2.0, 1.0], method="midpoint").notes == ()

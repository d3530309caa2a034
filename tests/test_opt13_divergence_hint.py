"""After a diverged first-order run the message suggests a learning rate; that rate must not
diverge too (it is at most 1/L, L the Lipschitz bound of ∇J, where the objective knows L)."""

from __future__ import annotations

import re

import numpy as np
import pytest

from symcalc.learn.data import load_data
from symcalc.learn.descent import descend


@pytest.mark.parametrize("rate", [1.1, 3.0, 30.0])
@pytest.mark.parametrize("optimizer", ["gd", "nesterov"])
def test_the_suggested_learning_rate_does_not_diverge(rate, optimizer):
    # before: after learning_rate=3 the hint was 0.3 (α/10), and gradient descent at 0.3
    # diverges on standardized diabetes too (so does 0.25); 1/L is 0.124
    data = load_data("builtin:diabetes", standardize=True)
    failed = descend("linear", data, optimizer=optimizer, learning_rate=rate, max_iter=200)
    assert failed.stop_reason == "diverged"
    suggested = float(re.search(r"learning_rate=([0-9.eE+-]+)`", failed.message).group(1))
    X = np.hstack([np.ones((data.n_samples, 1)), data.X])
    bound = 2 * np.linalg.eigvalsh(X.T @ X / data.n_samples)[-1]  # L of mean squared error
    assert suggested <= 1.0001 / bound
    retry = descend("linear", data, optimizer="gd", learning_rate=suggested, max_iter=300)
    assert retry.stop_reason != "diverged"
    assert retry.loss < failed.loss

"""A network given a numeric target with many values is a classifier by default (``loss``
None); the refusal says how to fit it as a regression instead."""

from __future__ import annotations

import subprocess
import sys

import pytest

from symcalc.errors import SymcalcError
from symcalc.learn.descent import descend


def test_mlp_on_a_numeric_target_names_the_regression_loss():
    # before: "... (for a numeric target use the linear model)": no word of mlp's own loss
    with pytest.raises(SymcalcError, match=r"mlp with `loss=squared_error`"):
        descend("mlp", "builtin:diabetes", max_iter=1)
    result = descend("mlp", "builtin:diabetes", loss="squared_error", hidden=2, max_iter=3)
    assert result.model == "mlp"


def test_the_command_line_names_the_flag():
    done = subprocess.run(
        [sys.executable, "-c", "import sys; from symcalc.cli import main; sys.exit(main())"]
        + ["descend", "mlp", "--data", "builtin:diabetes", "--max-iter", "1"],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "mlp with --loss squared_error" in lines[0]

"""Write ``tests/data/mpmath_truth.npz``: the mpmath truth of the stability promise.

`test_stability`, `test_export_jax` and `test_export_torch` check kernels against mpmath
at up to thousands of digits across the whole float range; computing that truth takes
most of their time.  This script runs those tests once, computing every value, and
stores the values by formula and point (see `test_stability.truth_key`).  The tests then
read the store, recompute a random sample with mpmath at every run, and fail with a
message naming this script when a formula or point is missing or a value differs.

Run it after a change to the catalog, the derivatives, the rewrites, the points or the
truth code (the tests say when)::

    python tests/make_truth.py
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np

TESTS = Path(__file__).resolve().parent
FILES = ["test_stability.py", "test_export_jax.py", "test_export_torch.py"]


def main() -> int:
    os.environ["SYMCALC_RECORD_TRUTH"] = "1"
    import pytest

    code = pytest.main(["-q", "-p", "no:cacheprovider", *(str(TESTS / f) for f in FILES)])
    recorded = sys.modules["test_stability"].RECORDED
    keys = sorted(recorded)
    xs = [np.array(sorted(recorded[k]), dtype=np.float64) for k in keys]
    values = [
        np.array([recorded[k][x] for x in x_], dtype=np.float64)
        for k, x_ in zip(keys, xs, strict=True)
    ]
    target = TESTS / "data" / "mpmath_truth.npz"
    partial = target.with_suffix(".partial.npz")
    np.savez_compressed(
        partial,
        keys=np.array(keys),
        counts=np.array([len(x) for x in xs], dtype=np.int64),
        x=np.concatenate(xs),
        value=np.concatenate(values),
    )
    os.replace(partial, target)
    total = sum(len(x) for x in xs)
    print(f"wrote {target}: {len(keys)} formulas, {total} points")
    if code != 0:
        print("some tests failed while recording: the kernels miss the promise somewhere")
    return int(code)


if __name__ == "__main__":
    raise SystemExit(main())

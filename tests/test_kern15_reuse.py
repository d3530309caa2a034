"""The compiler's remembered answers (`symcalc.numeric.memo.remembered`): a kernel and
the exports of the same formula share one stable form and one pre-lowering, the
lifted-underflow probe one graph, the judge one erfc per point, and the answers are the
ones computed afresh.  Truth: the uncached computation, and mpmath itself."""

from __future__ import annotations

import threading

import mpmath
import numpy as np
import pytest
import sympy

from symcalc import export_module, kernel
from symcalc.export.partials import Partials
from symcalc.numeric.kernels import api, backends
from symcalc.numeric.kernels.api import domain_range
from symcalc.numeric.kernels.lowering import pre_lower
from symcalc.numeric.memo import remembered
from symcalc.numeric.rewrites import MPMATH_FUNCTIONS, MPMATH_JUDGE_FUNCTIONS, _mp_erfc

TEXT = "softplus(3 + x/3)"


def test_an_answer_is_built_once_and_kept_within_its_bound():
    built = []

    @remembered(maxsize=2)
    def square(k):
        built.append(k)
        return [k * k]  # a fresh object each build: the same one back means it was kept

    first = square(3)
    assert square(3) is first
    square(4), square(5)  # 3 is the least recently used: it leaves
    assert square(3) is not first and built == [3, 4, 5, 3]
    assert square.cache_info().size == 2


def test_a_failed_build_keeps_nothing_and_a_key_function_names_the_question():
    calls = []

    @remembered(maxsize=4, key=lambda items: tuple(items))
    def total(items):
        calls.append(list(items))
        if not items:
            raise ValueError("empty")
        return sum(items)

    with pytest.raises(ValueError, match="empty"):
        total([])
    with pytest.raises(ValueError, match="empty"):
        total([])  # asked again: built again, not an answer kept from the failure
    assert total([1, 2]) == total([1, 2]) == 3  # a list: unhashable, keyed by the tuple
    assert calls == [[], [], [1, 2]]


def test_threads_asking_at_once_wait_for_one_build():
    started, release, builds = threading.Event(), threading.Event(), []

    @remembered(maxsize=4)
    def slow(k):
        builds.append(k)
        started.set()
        release.wait(5)
        return object()

    results = []
    threads = [threading.Thread(target=lambda: results.append(slow(1))) for _ in range(4)]
    threads[0].start()
    started.wait(5)
    for t in threads[1:]:
        t.start()
    release.set()
    for t in threads:
        t.join(10)
    assert builds == [1]
    assert len(results) == 4 and all(r is results[0] for r in results)


def test_the_export_after_a_kernel_reuses_its_stable_form_and_pre_lowering():
    k = kernel(TEXT, order=2)
    partial = Partials(TEXT).get((0, 0))
    assert partial.form.lowered is k.lowered  # one stable form: the kernel's
    assert partial.lowered_for("jax") is partial.lowered_for("torch")
    export_module(TEXT, to="jax")
    misses = pre_lower.cache_info().misses
    jax_source = export_module(TEXT, to="jax").source
    export_module(TEXT, to="torch"), export_module(TEXT, to="numpy")
    assert pre_lower.cache_info().misses == misses  # nothing pre-lowered a second time
    assert export_module(TEXT, to="jax").source == jax_source


def test_a_remembered_pre_lowering_is_the_one_computed_afresh():
    form = Partials(TEXT).get((0, 0)).form
    kept = {backend: pre_lower(form.branched, backend) for backend in ("array", "numpy")}
    pre_lower.cache_clear()
    for backend, expr in kept.items():
        again = pre_lower(form.branched, backend)
        assert sympy.srepr(again) == sympy.srepr(expr)


def test_the_lifted_underflow_probe_compiles_one_graph_with_the_same_code():
    # each trial without one check is compiled from the same graph, ranges and float32
    # answer; its source is the source of a graph built afresh
    entry = Partials(TEXT).entry
    form = api.stable_form(entry, Partials(TEXT).get((0, 0)).expr)
    pre = pre_lower(form.branched, "numpy")
    domains = [domain_range(entry, v) for v in form.variables]
    full = backends.compile_numpy(pre, form.variables, "t", domains)
    sites = frozenset()
    hits = backends._analysed.cache_info().hits
    kept = backends.compile_numpy(pre, form.variables, "t", domains, lift_sites=sites)
    assert backends._analysed.cache_info().hits == hits + 1
    backends._analysed.cache_clear()
    fresh = backends.compile_numpy(pre, form.variables, "t", domains, lift_sites=sites)
    assert kept[1:] == fresh[1:]
    assert full[1:] == backends.compile_numpy(pre, form.variables, "t", domains)[1:]


@pytest.mark.parametrize("dps", [15, 50, 120, 400, 1000])
@pytest.mark.parametrize("value", ["0.3", "-7.25", "1e-30", "26.5", "-1e5", "3e4"])
def test_the_judges_erfc_is_mpmaths_to_the_last_bit(dps, value):
    with mpmath.workdps(dps):
        u = mpmath.mpf(value)
        first, again = _mp_erfc(u), _mp_erfc(u)
        assert first._mpf_ == again._mpf_ == mpmath.erfc(u)._mpf_
    with mpmath.workdps(dps + 10):  # another precision: another answer, not the kept one
        assert _mp_erfc(mpmath.mpf(value))._mpf_ == mpmath.erfc(mpmath.mpf(value))._mpf_
    assert MPMATH_FUNCTIONS["erfc"] is MPMATH_JUDGE_FUNCTIONS["erfc"] is _mp_erfc


def test_the_judges_erfc_takes_what_is_not_a_real_mpf_to_mpmath():
    z = mpmath.mpc(0.5, 0.25)
    assert _mp_erfc(z) == mpmath.erfc(z)
    assert _mp_erfc(2) == mpmath.erfc(2)
    assert np.isclose(float(_mp_erfc(0.0)), 1.0)


def _bounds(x):
    a, b, c = sympy.Float(1.5), sympy.Float("0.125", 20), sympy.Float(-32.0)
    return [
        x > a,
        (x <= a) & (x > -a),
        ~((x > -a) | (x > a)),
        (x < b) & (x > 0) & ~((x > -b) & (x < 0)),
        ~(((x > -b) & (x < 0)) | ((x < b) & (x > 0))),
        (x >= c) & (x > -2 * b) & (x < 0),
        ~((x < c) | ((x > -2 * b) & (x < 0)) | ((x < 2 * b) & (x > 0))),
        (x >= sympy.Rational(3, 2)) | (x < -2) | ((x > 0) & (x <= 512)),
        (x > 1) & (x**2 < 4),  # not bounds only: SymPy's own as_set
    ]


@pytest.mark.parametrize("index", range(9))
def test_a_branch_conditions_set_is_sympys(index):
    from symcalc.numeric.kernels.lowering import _as_set

    x = sympy.Symbol("x", real=True)
    cond = _bounds(x)[index]
    assert sympy.srepr(_as_set(cond)) == sympy.srepr(cond.as_set())

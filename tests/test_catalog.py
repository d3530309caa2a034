"""The catalog: its entries are the functions they claim to be, with true identities."""

from __future__ import annotations

import contextlib
import math
import threading
import time

import mpmath
import numpy as np
import pytest
import sympy

from symcalc import CATALOG, Entry, SymcalcError, catalog, derive, get, resolve
from symcalc.symbolic import catalog as catalog_module
from symcalc.symbolic.catalog import names
from symcalc.symbolic.derivatives import derivative
from symcalc.symbolic.functions import sigmoid, symbol
from symcalc.symbolic.kinks import kink_candidates


@pytest.fixture(autouse=True)
def _digits(mp_digits):
    """The mpmath references of this module work at 50 digits (restored after each test)."""
    mp_digits(50)


REQUIRED_ACTIVATIONS = (
    "identity sigmoid tanh relu leaky_relu relu6 elu selu celu softplus softsign silu gelu "
    "gelu_tanh mish hard_sigmoid hard_tanh hard_swish log_sigmoid gaussian sinusoid"
).split()
REQUIRED_LOSSES = (
    "squared_error absolute_error huber log_cosh binary_cross_entropy "
    "binary_cross_entropy_with_logits hinge squared_hinge categorical_cross_entropy"
).split()


def test_catalog_has_every_required_entry():
    assert {e.name for e in catalog("activation")} >= set(REQUIRED_ACTIVATIONS)
    assert {e.name for e in catalog("loss")} >= set(REQUIRED_LOSSES)
    assert len(catalog()) == len(CATALOG)


@pytest.mark.parametrize(
    ("alias", "name"),
    [
        ("swish", "silu"),
        ("SiLU", "silu"),
        ("logsigmoid", "log_sigmoid"),
        ("mse", "squared_error"),
        ("mae", "absolute_error"),
        ("bce", "binary_cross_entropy"),
        ("hardtanh", "hard_tanh"),
        ("bce_with_logits", "binary_cross_entropy_with_logits"),
        ("cross-entropy", "categorical_cross_entropy"),
    ],
)
def test_aliases_resolve_to_the_canonical_entry(alias, name):
    assert get(alias).name == name


@pytest.mark.parametrize("name", sorted(CATALOG))
def test_entry_metadata_is_consistent(name):
    entry = CATALOG[name]
    assert entry.kind in ("activation", "loss")
    assert entry.description
    if entry.kind == "activation":
        assert [v.name for v in entry.variables] == ["x"]
    else:
        assert entry.variables[0].name in ("p", "z") or entry.variables[0].name.startswith("z_")
    free = {s.name for s in entry.expr.free_symbols}
    assert free <= {v.name for v in entry.variables} | set(entry.params)
    assert all(s.is_real for s in entry.expr.free_symbols)
    low, high = entry.plot_range
    assert low < high
    assert set(entry.fixed) <= {v.name for v in entry.variables[1:]}


# Independent definitions, written with mpmath from the textbook formulas.
def _mp_sigmoid(t):
    return 1 / (1 + mpmath.exp(-t))


with mpmath.workdps(50):
    SELU_SCALE = mpmath.mpf("1.0507009873554804934193349852946")
    SELU_ALPHA = mpmath.mpf("1.6732632423543772848170429916717")
REFERENCE = {
    "identity": lambda t: t,
    "sigmoid": _mp_sigmoid,
    "tanh": mpmath.tanh,
    "relu": lambda t: max(t, 0),
    "leaky_relu": lambda t: t if t > 0 else mpmath.mpf("0.01") * t,
    "relu6": lambda t: min(max(t, 0), 6),
    "elu": lambda t: t if t > 0 else mpmath.exp(t) - 1,
    "selu": lambda t: SELU_SCALE * (t if t > 0 else SELU_ALPHA * (mpmath.exp(t) - 1)),
    "celu": lambda t: max(t, 0) + min(0, mpmath.exp(t) - 1),
    "softplus": lambda t: mpmath.log(1 + mpmath.exp(t)),
    "softsign": lambda t: t / (1 + abs(t)),
    "silu": lambda t: t * _mp_sigmoid(t),
    "gelu": lambda t: t * mpmath.ncdf(t),
    "gelu_tanh": lambda t: (
        t / 2 * (1 + mpmath.tanh(mpmath.sqrt(2 / mpmath.pi) * (t + mpmath.mpf("0.044715") * t**3)))
    ),
    "mish": lambda t: t * mpmath.tanh(mpmath.log(1 + mpmath.exp(t))),
    "hard_sigmoid": lambda t: min(max(t + 3, 0), 6) / 6,
    "hard_tanh": lambda t: min(max(t, -1), 1),
    "hard_swish": lambda t: t * min(max(t + 3, 0), 6) / 6,
    "log_sigmoid": lambda t: mpmath.log(_mp_sigmoid(t)),
    "gaussian": lambda t: mpmath.exp(-(t**2)),
    "sinusoid": mpmath.sin,
    # PyTorch's Tanhshrink, Hardshrink, Softshrink (lambd = 0.5); JAX's squareplus (b = 4)
    # and sparse_plus, as their documentation defines them.
    "tanhshrink": lambda t: t - mpmath.tanh(t),
    "hardshrink": lambda t: t if abs(t) > mpmath.mpf("0.5") else mpmath.mpf(0),
    "softshrink": lambda t: (
        t - mpmath.mpf("0.5") if t > 0.5 else t + mpmath.mpf("0.5") if t < -0.5 else mpmath.mpf(0)
    ),
    "squareplus": lambda t: (t + mpmath.sqrt(t**2 + 4)) / 2,
    "sparse_plus": lambda t: mpmath.mpf(0) if t <= -1 else (t + 1) ** 2 / 4 if t < 1 else t,
}


@pytest.mark.parametrize("name", sorted(REFERENCE))
def test_activation_values_match_textbook_definitions(name):
    entry = get(name)
    expr = entry.bind()
    for t in ["-7.5", "-3", "-1", "-0.25", "0", "0.5", "1", "2.75", "5.5", "8"]:
        value = sympy.N(expr.subs(entry.variable, sympy.Rational(t)), 40)
        expected = REFERENCE[name](mpmath.mpf(t))
        assert abs(mpmath.mpf(str(value)) - expected) <= mpmath.mpf("1e-30") * (
            1 + abs(expected)
        ), (name, t)


def test_every_activation_has_a_reference_definition():
    assert set(REFERENCE) == {e.name for e in catalog("activation")}


@pytest.mark.parametrize(
    ("name", "point", "expected"),  # expected is evaluated in the test, at 50 digits
    [
        ("squared_error", {"p": 2.5, "y": 1}, lambda: mpmath.mpf("2.25")),
        ("absolute_error", {"p": -1.5, "y": 1}, lambda: mpmath.mpf("2.5")),
        ("huber", {"p": 2, "y": 0}, lambda: mpmath.mpf("1.5")),
        ("huber", {"p": 0.5, "y": 0}, lambda: mpmath.mpf("0.125")),
        ("log_cosh", {"p": 1, "y": 0}, lambda: mpmath.log(mpmath.cosh(1))),
        ("binary_cross_entropy", {"p": 0.9, "y": 1}, lambda: -mpmath.log(mpmath.mpf("0.9"))),
        ("binary_cross_entropy", {"p": 0.25, "y": 0}, lambda: -mpmath.log(mpmath.mpf("0.75"))),
        (
            "binary_cross_entropy_with_logits",
            {"z": 2, "y": 1},
            lambda: mpmath.log(1 + mpmath.exp(-2)),
        ),
        (
            "binary_cross_entropy_with_logits",
            {"z": 2, "y": 0},
            lambda: mpmath.log(1 + mpmath.exp(2)),
        ),
        ("hinge", {"p": 0.25, "y": 1}, lambda: mpmath.mpf("0.75")),
        ("hinge", {"p": 0.25, "y": -1}, lambda: mpmath.mpf("1.25")),
        ("squared_hinge", {"p": 0.5, "y": 1}, lambda: mpmath.mpf("0.25")),
        (
            "categorical_cross_entropy",
            {"z_1": 1, "z_2": 2, "z_3": 3, "y_1": 0, "y_2": 0, "y_3": 1},
            lambda: mpmath.log(mpmath.e + mpmath.e**2 + mpmath.e**3) - 3,
        ),
    ],
)
def test_loss_values_match_textbook_definitions(name, point, expected):
    entry = get(name)
    value = entry.bind().subs({symbol(k): sympy.nsimplify(v) for k, v in point.items()})
    assert abs(mpmath.mpf(str(sympy.N(value, 40))) - expected()) < mpmath.mpf("1e-30")


def _sample(entry, var, rng, size):
    domain = entry.domain_of(var)
    if isinstance(domain, sympy.FiniteSet):
        return rng.choice([float(v) for v in domain], size=size)
    low, high = entry.plot_range if var == entry.variable else (-2.0, 2.0)
    if domain != sympy.S.Reals:
        low, high = max(low, float(domain.inf)), min(high, float(domain.sup))
        pad = 1e-3 * (high - low)
        low, high = low + pad, high - pad
    return rng.uniform(low, high, size=size)


def _points(entry, rng, size=12):
    """Points in the entry's domain, away from kinks, respecting its constraints."""
    columns = {v: _sample(entry, v, rng, size) for v in entry.variables}
    for constraint in entry.constraints:  # sum(y) = 1: rescale the y's to a probability vector
        ys = [v for v in entry.variables if constraint.has(v)]
        total = sum(columns[v] for v in ys)
        for v in ys:
            columns[v] = columns[v] / total
    rows = [{v: columns[v][i] for v in entry.variables} for i in range(size)]
    kinks = kink_candidates(entry.bind(), entry.variable)
    keep = []
    for row in rows:
        near = False
        for k in kinks:
            try:
                at = float(k.subs({v: row[v] for v in entry.variables}))
            except TypeError:
                continue
            near |= abs(at - row[entry.variable]) < 1e-3
        if not near:
            keep.append(row)
    return keep


PARAMETER_VARIANTS = {
    "alpha": 1.7,
    "slope": 0.2,
    "beta": 2.5,
    "delta": 0.6,
    "scale": 1.3,
    "lambd": 0.3,
    "b": 2.5,
}


@pytest.mark.parametrize("name", sorted(n for n in CATALOG if CATALOG[n].identity is not None))
@pytest.mark.parametrize("variant", ["defaults", "other parameters"])
def test_classic_identity_equals_the_derived_derivative(name, variant, rng):
    """The textbook closed form (σ' = σ(1 − σ), ...) is proven, not trusted."""
    entry = get(name)
    if variant == "other parameters":
        if not entry.params:
            return
        entry = entry.with_params(**{k: PARAMETER_VARIANTS[k] for k in entry.params})
    derived = entry.bind(derivative(entry))
    identity = entry.bind(entry.identity).rewrite(sympy.exp)
    assert not identity.has(sigmoid)
    for row in _points(entry, rng):
        subs = {v: sympy.Float(row[v], 30) for v in entry.variables}
        a, b = complex(derived.subs(subs).evalf(30)), complex(identity.subs(subs).evalf(30))
        assert abs(a - b) <= 1e-12 * max(1.0, abs(a)), (name, row, a, b)


def test_a_false_identity_would_be_caught(rng):
    """The identity test above can fail: σ(1 + σ) is not σ'."""
    entry = get("sigmoid")
    derived = derivative(entry)
    wrong = (sigmoid(entry.variable) * (1 + sigmoid(entry.variable))).rewrite(sympy.exp)
    x = entry.variable
    assert any(
        abs(complex((derived - wrong).subs(x, t).evalf())) > 1e-3 for t in rng.uniform(-3, 3, 5)
    )


def test_parameters_stay_symbolic_until_bound():
    entry = get("elu")
    assert entry.expr.has(symbol("alpha"))
    assert entry.params == {"alpha": 1}
    assert not entry.bind().has(symbol("alpha"))
    bound = get("elu", alpha=2)
    assert bound.params == {}
    assert bound.expr.subs(symbol("x"), -1) == 2 * (sympy.exp(-1) - 1)
    assert bound.identity.subs(symbol("x"), -1) == 2 * sympy.exp(-1)


def test_unknown_parameter_names_the_known_ones():
    with pytest.raises(
        SymcalcError, match=r"unknown parameter 'alpah' for elu; did you mean 'alpha'\?"
    ):
        get("elu", alpah=2)
    with pytest.raises(SymcalcError, match=r"unknown parameter 'alpha' for sigmoid .*none"):
        get("sigmoid", alpha=2)


@pytest.mark.parametrize("value", ["abc", float("nan"), float("inf"), None])
def test_parameter_values_must_be_finite_numbers(value):
    with pytest.raises(SymcalcError, match="parameter 'alpha' must be a"):
        get("elu", alpha=value)


def test_a_parameter_value_that_leaves_the_function_undefined_is_named():
    """softplus(βx)/β at β = 0 divides by zero: one line naming β, not SymPy's 'zoo'."""
    with pytest.raises(SymcalcError, match=r"softplus is undefined for beta = 0 \(a division"):
        get("softplus", beta=0)
    with pytest.raises(SymcalcError, match="undefined for beta = 0"):
        get("softplus").bind(beta=0)
    entry = get("softplus", beta=2)
    assert float(entry.univariate().subs(entry.variable, 0)) == pytest.approx(math.log(2) / 2)


def test_unknown_names_suggest_the_closest():
    with pytest.raises(SymcalcError, match=r"unknown function 'sigmod'; did you mean 'sigmoid'\?"):
        get("sigmod")
    with pytest.raises(SymcalcError, match=r"unknown function 'qqqq'$"):
        get("qqqq")
    with pytest.raises(SymcalcError, match="kind must be"):
        catalog("optimizer")


def test_softmax_cross_entropy_rebuilds_for_k_classes():
    entry = get("categorical_cross_entropy", K=5)
    assert [v.name for v in entry.variables] == [f"z_{k}" for k in range(1, 6)] + [
        f"y_{k}" for k in range(1, 6)
    ]
    zs = np.array([0.3, -1.2, 2.0, 0.1, 0.5])
    ys = np.array([0, 0, 1, 0, 0])
    value = entry.bind().subs(
        {
            **dict(zip(entry.variables[:5], zs, strict=False)),
            **dict(zip(entry.variables[5:], ys, strict=False)),
        }
    )
    expected = np.log(np.exp(zs).sum()) - zs[2]
    assert float(value) == pytest.approx(expected, rel=1e-14)
    with pytest.raises(SymcalcError, match="option 'K'"):
        get("categorical_cross_entropy", K=1)
    with pytest.raises(SymcalcError, match="option 'K'"):
        get("categorical_cross_entropy", K=2.5)


def test_softmax_cross_entropy_gradient_is_softmax_minus_target(rng):
    """∂/∂z_k of the cross-entropy is softmax(z)_k − y_k on probability vectors y."""
    entry = get("categorical_cross_entropy", K=4)
    zs, ys = entry.variables[:4], entry.variables[4:]
    z = rng.normal(size=4)
    y = rng.uniform(size=4)
    y /= y.sum()
    softmax = np.exp(z) / np.exp(z).sum()
    subs = {**dict(zip(zs, z, strict=False)), **dict(zip(ys, y, strict=False))}
    for k in range(4):
        grad = derivative(entry, wrt=zs[k])
        assert float(grad.subs(subs)) == pytest.approx(softmax[k] - y[k], rel=1e-12, abs=1e-15)


def test_mean_loss_is_the_average_over_samples():
    entry = get("mse")
    mean = entry.mean_loss()
    assert isinstance(mean, sympy.Mul) and mean.has(sympy.Sum)
    m = sympy.Symbol("m", integer=True, positive=True)
    concrete = mean.subs(m, 3).doit()
    p, y = sympy.IndexedBase("p", real=True), sympy.IndexedBase("y", real=True)
    expected = sum((p[i] - y[i]) ** 2 for i in range(1, 4)) / 3
    assert sympy.expand(concrete - expected) == 0
    assert sympy.expand(sympy.diff(concrete, p[2]) - sympy.Rational(2, 3) * (p[2] - y[2])) == 0


def test_univariate_view_fixes_the_other_variables():
    assert get("hinge").univariate() == sympy.Max(0, 1 - symbol("p"))
    assert get("binary_cross_entropy").univariate() == -sympy.log(symbol("p"))


def test_entries_render():
    entry = get("sigmoid")
    assert "sigmoid(x) = 1/(1 + exp(-x))" in entry.to_text()
    assert entry._repr_latex_().startswith("$\\operatorname{sigmoid}")
    assert repr(entry) == "<Entry activation sigmoid(x) = 1/(1 + exp(-x))>"
    assert "domain: p ∈ (0, 1); y ∈ [0, 1]" in get("bce").to_text()
    softmax = get("categorical_cross_entropy").to_text()
    assert "domain: z₁, z₂, z₃ ∈ ℝ; y₁, y₂, y₃ ∈ [0, 1]" in softmax


def test_bind_takes_numbers_only_never_text_to_evaluate():
    with pytest.raises(SymcalcError, match="parameter 'alpha' must be a number"):
        get("elu").bind(alpha="__import__('os').getcwd()")
    with pytest.raises(SymcalcError, match="unknown parameter 'alpah' for elu; did you mean"):
        get("elu").bind(alpah=2)
    assert get("elu").bind(alpha=2) == get("elu", alpha=2).expr


@pytest.mark.parametrize("name", sorted(CATALOG))
def test_entries_are_in_sympys_evaluated_form(name):
    """Max/Min are declared unevaluated (it saves start-up time); evaluating them changes
    nothing, so the catalog holds exactly what SymPy would have built."""
    entry = CATALOG[name]
    for expr in (entry.expr, entry.identity):
        if expr is None:
            continue
        evaluated = expr.replace(
            lambda e: isinstance(e, (sympy.Max, sympy.Min)), lambda e: e.func(*e.args)
        )
        assert sympy.srepr(evaluated) == sympy.srepr(expr)


# -- registering ----------------------------------------------------------------------------


@contextlib.contextmanager
def _restored_registry():
    """The registry as it is now, restored afterwards (register adds to it for good)."""
    registry, aliases = catalog_module._REGISTRY.snapshot(), dict(catalog_module._ALIASES)
    try:
        yield catalog_module
    finally:
        catalog_module._REGISTRY.restore(registry)
        catalog_module._ALIASES.clear()
        catalog_module._ALIASES.update(aliases)


@pytest.fixture
def scratch_catalog():
    with _restored_registry() as module:
        yield module


def _cube(name="cube", kind="activation", aliases=()):
    x = symbol("x")
    return Entry(name, kind, x**3, (x,), "x³", aliases=aliases, identity=3 * x**2)


def test_a_registered_entry_is_found_listed_and_derived(scratch_catalog):
    entry = scratch_catalog.register(_cube(aliases=("Cubic", "x-cubed")))
    assert CATALOG["cube"] is entry and get("cube") is entry
    assert get("CUBIC") is entry and get("x_cubed") is entry and get("X-Cubed") is entry
    assert catalog("activation")[-1] is entry and entry not in catalog("loss")
    assert resolve("cube") is entry
    x = symbol("x")
    assert derive("cube").derivative == 3 * x**2
    assert derive("cube").identity == 3 * x**2  # checked against the derivative
    with pytest.raises(SymcalcError, match=r"unknown function 'cubee'; did you mean 'cube'\?"):
        get("cubee")


def test_a_registered_entry_is_summarized_from_its_expression(scratch_catalog):
    scratch_catalog.register(_cube())
    assert scratch_catalog.summaries("activation")[-1] == scratch_catalog.Summary(
        "cube", "activation", ("x",), "x**3"
    )
    assert [s.name for s in scratch_catalog.summaries("loss")] == names("loss")


@pytest.mark.parametrize("name", names())
def test_each_declared_summary_is_what_the_built_entry_prints(name):
    """``symcalc list`` prints the formula declared beside each built-in entry without
    building it: the declaration must be exactly what the built expression prints."""
    declared = catalog_module._REGISTRY._summaries[name]
    assert declared == catalog_module.Summary.of(get(name))
    assert catalog_module._REGISTRY.summary(name) == declared  # built now: from the entry


@pytest.mark.parametrize(
    "entry, message",
    [
        (_cube(kind="optimizer"), r"kind must be one of activation, loss, got 'optimizer'"),
        (
            _cube(name="Cube"),
            r"catalog name 'Cube' must be a lower-case identifier, such as 'cube'",
        ),
        (_cube(name="leaky-cube"), r"must be a lower-case identifier, such as 'leaky_cube'"),
        (_cube(name="two words"), r"'two words' must be a lower-case identifier"),
        (_cube(aliases=("x cubed",)), r"alias 'x cubed' of 'cube' must be an identifier"),
        (_cube(aliases=("cubic", "Cubic")), r"the names of 'cube' repeat: cube, cubic, cubic"),
        (_cube(name="relu"), r"catalog name 'relu' is already taken"),
        (_cube(aliases=("swish",)), r"catalog name 'swish' is already taken"),  # silu's alias
        (_cube(aliases=("cubic", "SIGMOID")), r"catalog name 'SIGMOID' is already taken"),
        (_cube(aliases=("Leaky-ReLU",)), r"catalog name 'Leaky-ReLU' is already taken"),
    ],
)
def test_register_refuses_bad_or_taken_names_and_adds_nothing(scratch_catalog, entry, message):
    before = (list(scratch_catalog.CATALOG), dict(scratch_catalog._ALIASES))
    with pytest.raises(SymcalcError, match=message):
        scratch_catalog.register(entry)
    assert (list(scratch_catalog.CATALOG), dict(scratch_catalog._ALIASES)) == before
    assert scratch_catalog.canonical_name("cubic") is None


def test_registering_twice_is_refused_and_the_registry_is_restored():
    with _restored_registry() as module:
        module.register(_cube(aliases=("cubic",)))
        with pytest.raises(SymcalcError, match="catalog name 'cube' is already taken"):
            module.register(_cube())
        assert get("cubic").name == "cube"
    assert "cube" not in CATALOG and catalog_module.canonical_name("cubic") is None


def test_an_entry_looked_up_by_many_threads_at_once_is_built_once(scratch_catalog):
    """Built-in entries are built on first look-up, under a lock: one build, one object."""

    builds = []

    def build():
        builds.append(threading.get_ident())
        time.sleep(0.05)  # a slow build, so the other threads arrive while it runs
        return Entry("cube_lazy", "activation", symbol("x") ** 3, (symbol("x"),))

    summary = scratch_catalog.Summary("cube_lazy", "activation", ("x",), "x**3")
    scratch_catalog._declare(summary, (), build)
    assert "cube_lazy" in scratch_catalog.names("activation") and builds == []
    seen = []
    threads = [
        threading.Thread(target=lambda: seen.append(scratch_catalog.get("cube_lazy")))
        for _ in range(6)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(builds) == 1 and len({id(entry) for entry in seen}) == 1
    assert seen[0].expr == symbol("x") ** 3

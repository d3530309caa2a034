"""The numeric layer: symbolic results turned into numbers that can be trusted.

Holds `rewrites` (stability rewrites as data, each a proven identity), `cancellation`
(polynomial branches where a formula cancels, found from the expression and proven at
50 digits), `weights` (terms a label switches off: x·log x -> 0), `kernels` (the
compiler from lowered expressions to fast, stable NumPy code: a package of node
classes, a dispatch table and emitters), `quadrature` (adaptive
Gauss-Legendre), `ftc` (checks of the fundamental theorem), `riemann` (Riemann sums and
their convergence), `gradcheck` (symbolic against numeric derivatives), `bounds` (sup|f′|
derived and checked), `attribution` (integrated gradients: the fundamental theorem on
a path) `memo` (answers of pure functions remembered, bounded, built once per key:
kernels and exports of one formula share the compiler's work) and `lambdified`
(``sympy.lambdify`` for the compiler's probes, without a docstring).

May import: NumPy, SciPy, SymPy, `symcalc.symbolic`, `symcalc.errors`, `symcalc.hooks`.
Never matplotlib (results draw themselves through `symcalc.hooks`), nor learn, present
or cli.
"""

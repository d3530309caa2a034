"""The symbolic layer: expressions, the catalog, parsing, derivatives with their steps,
integrals with theirs, and the time budget for symbolic work.

Holds `functions` (named functions such as σ, the names an expression may use),
`special` (the table of SymPy's special functions symcalc reads, differentiates, prints
and gives a real domain, none with a kernel), `catalog` (the registry of activations
and losses), `parse` and `parse_latex` (text and LaTeX to SymPy, through a whitelist;
`diagnose` says what a syntax error is
missing, `notation` refuses what Python syntax would misread, `reals` holds the policy
for complex values), `derivatives`, `kinks` and `steps` (derivation trees), `render`
(printing them), `domains` (where a function is real, its singular points, sampling and
jump candidates), `integral_steps` (integration steps, checked), `integration` (the
integration methods raced under a CPU-time budget, each answer verified), `integrals`
(the `Antiderivative` result and its printing), `backprop` (the backward pass of a
network derived step by step in matrix calculus, each claim checked against SymPy) and
`budget` (symbolic work in a killable child process).

May import: SymPy, mpmath, the standard library, `symcalc.errors`.  Never NumPy plotting
or matplotlib, and nothing of the layers above (numeric, learn, present, cli).
"""

"""The learning layer: data, models whose gradients are derived, optimizers, descent.

Holds `data` (CSV, built-in and synthetic data sets), `models` (objectives J(θ) as
symbolic sums, with gradients derived from the loss's derivative and the model's
Jacobian), `descent` (the optimizers and the descent loop), `initializers` (named weight
initializations), `flow` (gradient norms across the depth of random networks) and
`explain` (a trained model as a function of its features, for attribution).

May import: NumPy, SciPy, SymPy, dask (optional), `symcalc.numeric`, `symcalc.symbolic`,
`symcalc.errors`, `symcalc.hooks`.  Never matplotlib, present or cli.
"""

"""The learning layer: data, models whose gradients are derived, optimizers, descent.

Holds `data` (CSV, built-in and synthetic data sets), `heads` (the loss on a model's
outputs with its first and second derivatives; softmax derived once for any number of
classes), `models` (objectives J(θ) as symbolic sums, with gradients and Hessians
derived from the loss's derivatives and the model's Jacobian), `network` (dense networks
of any depth: the layout of θ, the forward pass, backpropagation and the R-operator),
`scaling` (preconditioning by a change of variables), `streaming` (CSV files and dask
arrays read chunk by chunk, shuffled minibatches), `optimizers` (Newton, SciPy's L-BFGS,
Newton-CG and trust-region Newton-CG, the first-order rules, SGD, and ``auto``'s policy),
`stopping` (the scale-aware stopping rule, divergence, separable classes, the best
iterate), `descent` (results and the entry points `descend` and `optimize`),
`initializers` (named weight initializations), `flow` (gradient norms across the depth
of random networks) and `explain` (a trained model as a function of its features, for
attribution).

May import: NumPy, SciPy, SymPy, dask (optional), `symcalc.numeric`, `symcalc.symbolic`,
`symcalc.errors`, `symcalc.hooks`.  Never matplotlib, present or cli.
"""

"""The export layer: stable derived functions as code for JAX, PyTorch and plain files.

Holds `partials` (a function's partial derivatives, each derived symbolically and made
stable by the numeric layer's rewrites), `printers` (whole-array code for PyTorch and
NumPy; JAX's printer is the kernel compiler's), `runtime` (the few lines of framework
code every export shares), `functions` (`FrameworkFunction`: compiled levels wired into
custom derivatives), `jax_` (`to_jax`), `torch_` (`to_torch`) and `module` (standalone
modules, for ``symcalc export``).

May import: NumPy, SymPy, JAX and PyTorch (optional, imported on first use),
`symcalc.numeric`, `symcalc.symbolic`, `symcalc.errors`.  Never matplotlib, learn,
present or cli; a sibling of learn, independent of it.
"""

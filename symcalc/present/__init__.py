"""The presentation layer: figures, the gallery, and files written whole.

Holds `plotting` (every figure; functions return a matplotlib Figure and never show
it), `gallery` (a page and figures per catalog entry) and `files` (atomic writes,
deterministic figure files).

May import: matplotlib and every layer below (learn, numeric, symbolic), `symcalc.errors`.
Never the cli.
"""

"""matplotlib's mathtext layouts, shared by every renderer of a test process.

Not a test module (no ``test_`` prefix): `conftest` and the gallery scripts' zygote call
`share_mathtext_layouts`.  matplotlib remembers a parsed formula (its glyphs and boxes) in
an LRU of 50 keyed by the parser, and every renderer has a parser of its own: a figure
drawn again (each `draw_without_rendering` of the title fitting, each constrained-layout
pass, the saved PNG) parses the same titles and tick labels again.  In
``tests/test_plotting.py`` 1,282 of its 1,614 parses were repeats.  The layout depends
only on the arguments of the parse, the kind of output and the ``mathtext.*`` and
``text.*`` settings, which are all in the key here, so the figures are the same bytes.
"""

from __future__ import annotations

from typing import Any

import matplotlib
from matplotlib import mathtext

#: Entries kept before the store is emptied (a test process parses a few thousand).
MAX_LAYOUTS = 4096
#: The settings a mathtext layout reads besides its arguments.
_SETTING_PREFIXES = ("mathtext.", "text.")


def _settings() -> tuple[tuple[str, str], ...]:
    rc = matplotlib.rcParams
    return tuple((k, repr(rc[k])) for k in sorted(rc) if k.startswith(_SETTING_PREFIXES))


def share_mathtext_layouts() -> bool:
    """Put one store of parsed formulas behind every `matplotlib.mathtext.MathTextParser`
    of this process; False where matplotlib's parser is not the one this was written for
    (then nothing changes)."""
    parser = mathtext.MathTextParser
    if getattr(parser, "_shared_layouts", False):
        return True
    own = getattr(parser._parse_cached, "__wrapped__", None)
    if own is None:
        return False
    store: dict[tuple, Any] = {}

    def parse_shared(self, s, dpi, prop, antialiased, load_glyph_flags):
        key = (type(self), self._output_type, _settings(), s, dpi, prop, antialiased)
        key += (load_glyph_flags,)
        if key not in store:
            if len(store) >= MAX_LAYOUTS:
                store.clear()
            store[key] = own(self, s, dpi, prop, antialiased, load_glyph_flags)
        return store[key]

    parser._parse_cached = parse_shared
    parser._parse_unshared = own
    parser._shared_layouts = True
    return True

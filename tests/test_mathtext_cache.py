"""The store of parsed mathtext formulas that `conftest` puts behind matplotlib's parsers
(`mathtext_cache`): it answers what a fresh parse answers, settings included."""

from __future__ import annotations

import matplotlib
import pytest
from mathtext_cache import share_mathtext_layouts
from matplotlib.backends import backend_agg
from matplotlib.font_manager import FontProperties
from matplotlib.ft2font import LoadFlags
from matplotlib.mathtext import MathTextParser

FORMULAS = [r"$\frac{d}{dx}\,\sigma(x)$", r"$x^{2} e^{-x}$", r"$\mathdefault{10^{-3}}$", "$x$"]


def _fresh(output: str, formula: str, size: float):
    parser = MathTextParser(output)
    prop = FontProperties(size=size)
    flags = LoadFlags.NO_HINTING if output == "path" else backend_agg.get_hinting_flag()
    return MathTextParser._parse_unshared(parser, formula, 100, prop, True, flags)


@pytest.mark.parametrize("output", ["path", "agg"])
@pytest.mark.parametrize("formula", FORMULAS)
def test_a_shared_layout_is_what_a_fresh_parser_finds(output, formula):
    assert share_mathtext_layouts()
    for size in (8.0, 11.0):
        for _ in range(2):  # the second answer comes from the store
            got = MathTextParser(output).parse(formula, 100, FontProperties(size=size))
            expected = _fresh(output, formula, size)
            assert got.width == expected.width and got.height == expected.height
            assert got.depth == expected.depth


def test_a_setting_the_layout_reads_is_part_of_the_key():
    assert share_mathtext_layouts()
    widths = {}
    for style in ("it", "rm", "bf"):
        with matplotlib.rc_context({"mathtext.default": style}):
            parse = MathTextParser("path").parse("$xyz$", 100, FontProperties(size=11))
            assert parse.width == _fresh("path", "$xyz$", 11).width
            widths[style] = parse.width
    assert len(set(widths.values())) > 1, widths

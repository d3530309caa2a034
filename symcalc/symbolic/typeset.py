r"""Fit LaTeX equations to a page: a width estimate and line breaking, as a typesetter would.

symcalc's derivations are pasted into papers and notes, where a line wider than the
text runs off the margin.  This module measures LaTeX the way TeX lays it out
(Computer Modern glyph widths, TeX's spacing between atoms, fractions, scripts and
delimiters at their sizes) and breaks long equations where a typesetter would: at
``=`` and at the top-level ``+`` and ``−`` of a sum, continuing on the next line with
the operator in front; a sum inside parentheses (or a fraction's numerator) is broken
inside them with sized delimiters (``\Bigl(`` ... ``\Bigr)``), since ``\left``
and ``\right`` cannot span lines.

`align` lays out equations as one ``align*`` environment that fits `TEXT_WIDTH`
(6.5 in at 10 pt: the text width of a letter page with 1 in margins), each with its
justification as a ``\tag*{...}`` at the right margin (amsmath moves a tag that does
not fit onto a line of its own).  `width` is the estimate, in em (1 em = 10 pt at
10 pt), and `overfull_rows` says which rows of an ``align*`` would not fit.  The
estimate errs on the wide side; the tests check it against pdfTeX where one is
installed.

Examples
--------
>>> width(r"x + y") > width(r"x")
True
>>> print(align([Equation(r"f(x)", (r"x^{2} + 1",), "by definition")]))
\begin{align*}
f(x) &= x^{2} + 1 \tag*{by definition}
\end{align*}
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Sequence

__all__ = [
    "TEXT_WIDTH",
    "Equation",
    "align",
    "break_lines",
    "overfull_rows",
    "standalone_document",
    "width",
]

#: The text width equations must fit, in em: 6.5 in (469.75 pt) at 10 pt.
TEXT_WIDTH = 469.75 / 10.0
#: Kept free at the right of every line, in em: the estimate is close, not exact.
MARGIN = 1.0
#: Widest left-hand side before it is broken onto lines of its own, as a share of the width.
LHS_SHARE = 0.42

# -- glyph metrics (Computer Modern, in em at 10 pt) ------------------------------------

_ITALIC = dict(
    zip(
        "abcdefghijklmnopqrstuvwxyz",
        (0.53, 0.43, 0.44, 0.52, 0.47, 0.49, 0.48, 0.58, 0.35, 0.41, 0.52, 0.30, 0.88)
        + (0.60, 0.49, 0.50, 0.45, 0.45, 0.47, 0.36, 0.57, 0.49, 0.72, 0.57, 0.49, 0.47),
        strict=True,
    )
)
_ITALIC.update(
    zip(
        "ABCDEFGHIJKLMNOPQRSTUVWXYZ",
        (0.75, 0.76, 0.72, 0.83, 0.74, 0.65, 0.79, 0.83, 0.44, 0.56, 0.85, 0.68, 0.97)
        + (0.80, 0.76, 0.65, 0.79, 0.76, 0.61, 0.59, 0.68, 0.59, 0.95, 0.83, 0.59, 0.68),
        strict=True,
    )
)
#: Added to italic glyphs: TeX's italic correction, on average.
_ITALIC_CORRECTION = 0.03
_ROMAN = dict(
    zip(
        "abcdefghijklmnopqrstuvwxyz",
        (0.50, 0.56, 0.44, 0.56, 0.44, 0.31, 0.50, 0.56, 0.28, 0.31, 0.53, 0.28, 0.83)
        + (0.56, 0.50, 0.56, 0.53, 0.39, 0.39, 0.39, 0.56, 0.53, 0.72, 0.53, 0.53, 0.44),
        strict=True,
    )
)
_ROMAN.update({c: 0.72 for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZ"})
_ROMAN.update({c: 0.5 for c in "0123456789"})
_ROMAN.update({" ": 0.33, ",": 0.28, ".": 0.28, "'": 0.28, "(": 0.39, ")": 0.39, "-": 0.33})
_ROMAN.update({"/": 0.5, ":": 0.28, ";": 0.28, "=": 0.78, "+": 0.78, "’": 0.28, "_": 0.5})
_GREEK = {
    "alpha": 0.64,
    "beta": 0.57,
    "gamma": 0.52,
    "delta": 0.45,
    "epsilon": 0.41,
    "varepsilon": 0.47,
    "zeta": 0.44,
    "eta": 0.50,
    "theta": 0.47,
    "vartheta": 0.59,
    "iota": 0.36,
    "kappa": 0.58,
    "lambda": 0.59,
    "mu": 0.61,
    "nu": 0.50,
    "xi": 0.44,
    "pi": 0.58,
    "rho": 0.52,
    "sigma": 0.58,
    "tau": 0.44,
    "upsilon": 0.54,
    "phi": 0.60,
    "varphi": 0.66,
    "chi": 0.63,
    "psi": 0.66,
    "omega": 0.63,
    "Gamma": 0.63,
    "Delta": 0.84,
    "Theta": 0.78,
    "Lambda": 0.70,
    "Xi": 0.67,
    "Pi": 0.75,
    "Sigma": 0.73,
    "Phi": 0.73,
    "Psi": 0.78,
    "Omega": 0.73,
}
_OPERATORS = frozenset(
    "log ln exp sin cos tan cot sec csc sinh cosh tanh coth arcsin arccos arctan "
    "max min sup inf lim det gcd arg deg dim ker Pr".split()
)
_BINARY = {"cdot": 0.28, "times": 0.78, "pm": 0.78, "mp": 0.78, "wedge": 0.67, "vee": 0.67}
_RELATIONS = {
    "leq": 0.78,
    "geq": 0.78,
    "neq": 0.78,
    "lt": 0.78,
    "gt": 0.78,
    "in": 0.67,
    "to": 1.0,
    "approx": 0.78,
    "equiv": 0.78,
    "mapsto": 1.0,
    "ne": 0.78,
    "le": 0.78,
    "ge": 0.78,
}
_ORDINARY = {
    "infty": 1.0,
    "partial": 0.57,
    "prime": 0.28,
    "nabla": 0.83,
    "vert": 0.28,
    "ell": 0.42,
    "emptyset": 0.5,
    "neg": 0.67,
    "%": 0.83,
    "_": 0.5,
    "$": 0.5,
    "#": 0.83,
    "&": 0.78,
}
_SPACES = {
    ",": 1 / 6,
    ":": 2 / 9,
    ">": 2 / 9,
    ";": 5 / 18,
    "!": -1 / 6,
    " ": 0.33,
    "quad": 1.0,
    "qquad": 2.0,
    "enspace": 0.5,
    "thinspace": 1 / 6,
}
_FONTS = {"text", "mathrm", "operatorname", "textrm", "mathit", "mathbf", "textit", "mathsf"}
_FONTS |= {"mathbb", "mathcal", "textbf", "texttt", "mathtt", "mbox"}
#: Delimiter widths by size (normal, \big, \Big, \bigg, \Bigg) and the total heights.
_DELIMITER_WIDTHS = {
    "(": (0.39, 0.46, 0.60, 0.74, 0.79),
    ")": (0.39, 0.46, 0.60, 0.74, 0.79),
    "[": (0.28, 0.42, 0.47, 0.53, 0.58),
    "]": (0.28, 0.42, 0.47, 0.53, 0.58),
    r"\{": (0.5, 0.58, 0.67, 0.75, 0.81),
    r"\}": (0.5, 0.58, 0.67, 0.75, 0.81),
    "|": (0.28, 0.33, 0.33, 0.33, 0.33),
    r"\vert": (0.28, 0.33, 0.33, 0.33, 0.33),
    r"\lfloor": (0.44, 0.47, 0.53, 0.58, 0.64),
    r"\rfloor": (0.44, 0.47, 0.53, 0.58, 0.64),
    r"\lceil": (0.44, 0.47, 0.53, 0.58, 0.64),
    r"\rceil": (0.44, 0.47, 0.53, 0.58, 0.64),
    ".": (0.12, 0.12, 0.12, 0.12, 0.12),
}
_DELIMITER_HEIGHTS = (1.0, 1.2, 1.8, 2.4, 3.0)
_SIZE_NAMES = ("", r"\big", r"\Big", r"\bigg", r"\Bigg")
_SIZED = {
    name[1:] + side: k for k, name in enumerate(_SIZE_NAMES) if name for side in ("l", "r", "")
}
#: Size of each style: heights scale with the font size, glyph widths less (the 7 pt and
#: 5 pt fonts of scripts are drawn wider than 10 pt glyphs scaled down).
_SCALE = {"D": 1.0, "T": 1.0, "S": 0.7, "SS": 0.5}
_WIDTH_SCALE = {"D": 1.0, "T": 1.0, "S": 0.8, "SS": 0.66}
_SMALLER = {"D": "S", "T": "S", "S": "SS", "SS": "SS"}
_FRACTION_PARTS = {"D": "T", "T": "S", "S": "SS", "SS": "SS"}
_AXIS = 0.25
_CLASSES = ("ord", "op", "bin", "rel", "open", "close", "punct", "inner")
# TeX's spacing between atoms (TeXbook chapter 18): 0 none, 1 thin, 2 medium, 3 thick;
# negative: only in display and text style.
_SPACING = {
    "ord": (0, 1, -2, -3, 0, 0, 0, -1),
    "op": (1, 1, 0, -3, 0, 0, 0, -1),
    "bin": (-2, -2, 0, 0, -2, 0, 0, -2),
    "rel": (-3, -3, 0, 0, -3, 0, 0, -3),
    "open": (0, 0, 0, 0, 0, 0, 0, 0),
    "close": (0, 1, -2, -3, 0, 0, 0, -1),
    "punct": (-1, -1, 0, -1, -1, -1, -1, -1),
    "inner": (-1, 1, -2, -3, -1, 0, -1, -1),
}
_MU = {0: 0.0, 1: 3 / 18, 2: 4 / 18, 3: 5 / 18}


# -- parsing ----------------------------------------------------------------------------

_TOKEN = re.compile(r"\\[A-Za-z]+\*?|\\.|\s+|[^\\]", re.S)


@dataclasses.dataclass
class _Node:
    """One item of a math list: an atom, a group, a fraction, a script, a delimited part..."""

    kind: str
    src: str
    cls: str = "ord"
    width: float = 0.0  # for atoms: the glyph width at size 1
    height: float = 0.7
    depth: float = 0.0
    parts: tuple[list[_Node], ...] = ()
    base: _Node | None = None
    sup: list[_Node] | None = None
    sub: list[_Node] | None = None
    left: str = ""
    right: str = ""
    rows: list[list[list[_Node]]] | None = None


class _Parser:
    def __init__(self, text: str):
        self.tokens = [t for t in _TOKEN.findall(text)]
        self.i = 0

    def peek(self) -> str | None:
        while self.i < len(self.tokens) and self.tokens[self.i].isspace():
            self.i += 1
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def take(self) -> str:
        token = self.peek()
        if token is None:
            raise ValueError("unexpected end of LaTeX")
        self.i += 1
        return token

    def raw_group(self) -> str:
        """The text of a ``{...}`` argument, braces removed (for \\text, \\begin)."""
        if self.peek() != "{":
            return self.take()
        self.take()
        depth, out = 1, []
        while self.i < len(self.tokens):
            token = self.tokens[self.i]
            self.i += 1
            if token == "{":
                depth += 1
            elif token == "}":
                depth -= 1
                if depth == 0:
                    return "".join(out)
            out.append(token)
        raise ValueError("unbalanced braces")

    def argument(self) -> list[_Node]:
        if self.peek() == "{":
            self.take()
            return self.items(until="}")
        return [self.item()]

    def items(self, until: str | None = None) -> list[_Node]:
        out: list[_Node] = []
        while True:
            token = self.peek()
            if token is None:
                if until is not None:
                    raise ValueError(f"missing {until}")
                return out
            if until == r"\end" and token in (r"\end", "&", r"\\"):
                return out  # the environment reads its own separators
            if token == until:
                self.take()
                return out
            if until is None and token == "}":
                raise ValueError("unbalanced '}'")
            if token in ("^", "_"):
                self.take()
                script = self.argument()
                base = out.pop() if out else _Node("group", "{}", parts=([],), width=0)
                if base.kind != "script":
                    base = _Node("script", base.src, cls=base.cls, base=base)
                if token == "^":
                    base.sup = script
                else:
                    base.sub = script
                base.src = _script_src(base)
                out.append(base)
                continue
            out.append(self.item())

    def item(self) -> _Node:
        token = self.take()
        if token.isdigit():  # a number is one atom: 200000, 0.5
            while self.i < len(self.tokens) and (
                self.tokens[self.i].isdigit()
                or self.tokens[self.i] == "."
                and self.i + 1 < len(self.tokens)
                and self.tokens[self.i + 1].isdigit()
            ):
                token += self.tokens[self.i]
                self.i += 1
            return _Node(
                "atom",
                token,
                "ord",
                0.5 * sum(c.isdigit() for c in token) + 0.28 * token.count("."),
                0.65,
                0.0,
            )
        if token == "{":
            inner = self.items(until="}")
            return _Node("group", "{" + _src(inner) + "}", parts=(inner,))
        if token == r"\left":
            left = self._delimiter()
            inner = self.items(until=r"\right")
            right = self._delimiter()
            src = rf"\left{_spaced(left)} {_src(inner)} \right{_spaced(right)}"
            return _Node("delim", src, cls="inner", parts=(inner,), left=left, right=right)
        if token in (r"\frac", r"\dfrac", r"\tfrac"):
            top, bottom = self.argument(), self.argument()
            src = f"{token}{{{_src(top)}}}{{{_src(bottom)}}}"
            # LaTeX's \\frac is a braced \\over: an ordinary atom, not an inner one
            return _Node("frac", src, cls="ord", parts=(top, bottom), left=token)
        if token == r"\sqrt":
            index = None
            if self.peek() == "[":
                self.take()
                index = []
                while self.peek() not in ("]", None):
                    index.append(self.item())
                self.take()
            body = self.argument()
            lead = f"[{_src(index)}]" if index else ""
            return _Node("sqrt", rf"\sqrt{lead}{{{_src(body)}}}", parts=(body,))
        if token == r"\begin":
            return self._environment()
        if token in (r"\tag", r"\tag*"):
            text = self.raw_group()
            return _Node("space", f"{token}{{{text}}}", width=0.0)
        name = token[1:] if token.startswith("\\") else None
        if name in _FONTS:
            text = self.raw_group()
            return _text_node(token, text)
        if name in _SIZED:
            size = _SIZED[name]
            delimiter = self._delimiter()
            cls = {"l": "open", "r": "close"}.get(name[-1], "ord")
            widths = _DELIMITER_WIDTHS.get(delimiter, _DELIMITER_WIDTHS["("])
            half = _DELIMITER_HEIGHTS[size] / 2
            src = f"{token}{_spaced(delimiter)}"
            return _Node("atom", src, cls, widths[size], _AXIS + half, half - _AXIS)
        return _atom(token)

    def _delimiter(self) -> str:
        token = self.take()
        return token

    def _environment(self) -> _Node:
        name = self.raw_group()
        rows: list[list[list[_Node]]] = [[]]
        while True:
            cell = self.items(until=r"\end")
            rows[-1].append(cell)
            token = self.take()
            if token == "&":
                continue
            if token == r"\\":
                if self.peek() == "[":  # \\[1ex]
                    while self.take() != "]":
                        pass
                rows.append([])
                continue
            if token == r"\end":
                self.raw_group()
                break
        rows = [r for r in rows if any(cell for cell in r)]
        src = (
            rf"\begin{{{name}}}"
            + r" \\ ".join(" & ".join(_src(c) for c in row) for row in rows)
            + rf"\end{{{name}}}"
        )
        return _Node("env", src, cls="inner", left=name, rows=rows)


def _spaced(delimiter: str) -> str:
    return f" {delimiter}" if delimiter[-1:].isalpha() else delimiter


def _src(nodes: Iterable[_Node]) -> str:
    """LaTeX for nodes, spaced as SymPy spaces it (``2 x``, ``\\sqrt{2} \\left(``, ``a, b``)."""
    out = ""
    for node in nodes:
        if not node.src:
            continue
        glue = "" if not out or node.cls == "punct" and node.kind == "atom" else " "
        out += glue + node.src
    return out


def _script_src(node: _Node) -> str:
    out = node.base.src if node.base is not None else "{}"
    if node.sub is not None:
        out += f"_{{{_src(node.sub)}}}"
    if node.sup is not None:
        out += f"^{{{_src(node.sup)}}}"
    return out


def _text_node(command: str, text: str) -> _Node:
    plain = re.sub(r"\\[A-Za-z]+\s?|[{}\\]", "", text)
    if command == r"\mathbb":
        glyphs = 0.72 * len(plain)
    else:
        glyphs = sum(_ROMAN.get(c, 0.5) for c in plain)
    cls = "op" if command == r"\operatorname" else "ord"
    depth = 0.2 if any(c in "gjpqy,()" for c in plain) else 0.0
    return _Node("atom", f"{command}{{{text}}}", cls, glyphs, 0.7, depth)


def _atom(token: str) -> _Node:
    if token.startswith("\\"):
        name = token[1:]
        if name in _SPACES:
            return _Node("space", token, width=_SPACES[name])
        if name in _GREEK:
            tall = name[0].isupper() or name in ("beta", "delta", "theta", "lambda", "zeta", "xi")
            deep = name in ("beta", "gamma", "zeta", "eta", "mu", "xi", "rho", "phi", "chi", "psi")
            glyph = _GREEK[name] + _ITALIC_CORRECTION
            return _Node("atom", token, "ord", glyph, 0.7 if tall else 0.45, 0.2 * deep)
        if name in _OPERATORS:
            glyphs = sum(_ROMAN.get(c, 0.5) for c in name)
            return _Node("atom", token, "op", glyphs, 0.7, 0.2 if "g" in name else 0.0)
        if name in ("int", "sum", "prod"):
            return _Node(
                "atom", token, "op", {"int": 0.56, "sum": 1.06, "prod": 0.94}[name], 1.0, 0.5
            )
        if name in _BINARY:
            return _Node("atom", token, "bin", _BINARY[name], 0.5, 0.0)
        if name in _RELATIONS:
            return _Node("atom", token, "rel", _RELATIONS[name], 0.6, 0.1)
        if name in ("ldots", "cdots", "dots"):
            return _Node("atom", token, "inner", 1.17, 0.5, 0.0)
        if name in ("{", "lfloor", "lceil", "langle"):
            return _Node("atom", token, "open", 0.5, 0.75, 0.25)
        if name in ("}", "rfloor", "rceil", "rangle"):
            return _Node("atom", token, "close", 0.5, 0.75, 0.25)
        if name in ("\\", "&"):
            return _Node("space", token, width=0.0)
        return _Node("atom", token, "ord", _ORDINARY.get(name, 0.8), 0.7, 0.2)
    if token.isalpha() and token.isascii():
        tall = token.isupper() or token in "bdfhklt"
        glyph = _ITALIC.get(token, 0.55) + _ITALIC_CORRECTION
        return _Node("atom", token, "ord", glyph, 0.69 if tall else 0.43, 0.2 * (token in "fgjpqy"))
    if token.isdigit():
        return _Node("atom", token, "ord", 0.5, 0.65, 0.0)
    if token in "+-":
        return _Node("atom", token, "bin", 0.78, 0.58, 0.08)
    if token in "=<>":
        return _Node("atom", token, "rel", 0.78, 0.5, 0.0)
    if token == ":":
        return _Node("atom", token, "rel", 0.28, 0.43, 0.0)
    if token in ",;":
        return _Node("atom", token, "punct", 0.28, 0.1, 0.2)
    if token in "([":
        return _Node("atom", token, "open", _DELIMITER_WIDTHS[token][0], 0.75, 0.25)
    if token in ")]":
        return _Node("atom", token, "close", _DELIMITER_WIDTHS[token][0], 0.75, 0.25)
    if token == "!":
        return _Node("atom", token, "close", 0.28, 0.7, 0.0)
    if token in "|/":
        return _Node("atom", token, "ord", 0.28 if token == "|" else 0.5, 0.75, 0.25)
    if token in ".'":
        return _Node("atom", token, "ord", 0.28, 0.7 if token == "'" else 0.1, 0.0)
    return _Node("atom", token, "ord", 0.6, 0.7, 0.2)


def _parse(latex: str) -> list[_Node]:
    return _Parser(latex).items()


# -- measuring --------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class _Box:
    width: float
    height: float
    depth: float


def _classes(nodes: Sequence[_Node]) -> list[str | None]:
    """Each node's atom class, with TeX's rule that a binary operator after nothing, an
    operator, a relation, an opening or punctuation (or before a relation, closing or
    punctuation) is ordinary (a unary minus)."""
    classes: list[str | None] = [None if n.kind == "space" else n.cls for n in nodes]
    previous = None
    for i, cls in enumerate(classes):
        if cls is None:
            continue
        if cls == "bin" and previous in (None, "bin", "op", "rel", "open", "punct"):
            classes[i] = cls = "ord"
        if cls in ("rel", "close", "punct") and previous == "bin":
            for j in range(i - 1, -1, -1):
                if classes[j] is not None:
                    classes[j] = "ord"
                    break
        previous = cls
    return classes


def _measure(nodes: Sequence[_Node], style: str = "D") -> _Box:
    scale = _SCALE[style]
    total, height, depth = 0.0, 0.0, 0.0
    classes = _classes(nodes)
    previous = None
    for node, cls in zip(nodes, classes, strict=True):
        box = _measure_node(node, style)
        if cls is not None and previous is not None:
            space = _SPACING[previous][_CLASSES.index(cls)]
            if space < 0:
                space = -space if style in ("D", "T") else 0
            total += _MU[space] * scale
        if cls is not None:
            previous = cls
        total += box.width
        height, depth = max(height, box.height), max(depth, box.depth)
    return _Box(total, height, depth)


def _measure_node(node: _Node, style: str) -> _Box:
    scale = _SCALE[style]
    if node.kind == "space":
        return _Box(node.width * scale, 0.0, 0.0)
    if node.kind == "atom":
        width = node.width
        if node.cls == "op" and node.src in (r"\int", r"\sum", r"\prod") and style == "D":
            width *= 1.8
        return _Box(width * _WIDTH_SCALE[style], node.height * scale, node.depth * scale)
    if node.kind == "group":
        return _measure(node.parts[0], style)
    if node.kind == "script":
        base = _measure_node(node.base, style)
        small = _SMALLER[style]
        width, height, depth = base.width, base.height, base.depth
        extra = 0.0
        if node.sup is not None:
            sup = _measure(node.sup, small)
            shift = {"D": 0.41, "T": 0.36}.get(style, 0.29) * scale
            shift = max(shift, base.height - 0.39 * scale, sup.depth + 0.11 * scale)
            height = max(height, shift + sup.height)
            extra = sup.width
        if node.sub is not None:
            sub = _measure(node.sub, small)
            shift = (0.25 if node.sup is not None else 0.15) * scale
            depth = max(depth, shift + sub.depth)
            extra = max(extra, sub.width)
        return _Box(width + extra + 0.05 * scale, height, depth)
    if node.kind == "frac":
        part = _FRACTION_PARTS[{r"\dfrac": "D", r"\tfrac": "T"}.get(node.left, style)]
        top, bottom = _measure(node.parts[0], part), _measure(node.parts[1], part)
        display = style == "D" or node.left == r"\dfrac"
        up = max((0.68 if display else 0.39) * scale, (_AXIS + 0.14) * scale + top.depth)
        down = max((0.69 if display else 0.35) * scale, bottom.height - (_AXIS - 0.14) * scale)
        width = max(top.width, bottom.width) + 0.24 * scale
        return _Box(width, up + top.height, down + bottom.depth)
    if node.kind == "sqrt":
        body = _measure(node.parts[0], style)
        sign = 0.83 if body.height + body.depth < 1.2 * scale else 1.0
        return _Box(body.width + sign * scale, body.height + 0.12 * scale, body.depth + 0.05)
    if node.kind == "delim":
        body = _measure(node.parts[0], style)
        size = _delimiter_size(body, scale)
        width = _delimiter_width(node.left, size) + _delimiter_width(node.right, size)
        half = max(_DELIMITER_HEIGHTS[size] * scale / 2, body.height - _AXIS, body.depth + _AXIS)
        return _Box(body.width + width * scale, _AXIS + half, half - _AXIS)
    if node.kind == "env":
        return _measure_environment(node, style)
    return _Box(0.6 * scale, 0.7 * scale, 0.2 * scale)  # pragma: no cover


def _delimiter_size(body: _Box, scale: float) -> int:
    """Which size TeX's \\left picks for a body (delimiterfactor 901, shortfall 5 pt)."""
    half = max(body.height - _AXIS * scale, body.depth + _AXIS * scale)
    needed = max(2 * half * 0.901, 2 * half - 0.5 * scale) / scale
    for size, total in enumerate(_DELIMITER_HEIGHTS):
        if total >= needed:
            return size
    return len(_DELIMITER_HEIGHTS) - 1


def _delimiter_width(delimiter: str, size: int) -> float:
    return _DELIMITER_WIDTHS.get(delimiter, _DELIMITER_WIDTHS["("])[size]


def _measure_environment(node: _Node, style: str) -> _Box:
    rows = node.rows or []
    cell_style = "T" if node.left in ("cases", "matrix", "pmatrix", "array") else style
    columns: list[float] = []
    total = 0.0
    for row in rows:
        heights, depths = [0.85], [0.35]
        for k, cell in enumerate(row):
            box = _measure(cell, cell_style)
            if k >= len(columns):
                columns.append(0.0)
            columns[k] = max(columns[k], box.width)
            heights.append(box.height)
            depths.append(box.depth)
        total += max(heights) + max(depths)
    gap = 1.0 if node.left == "cases" else 0.5
    width = sum(columns) + gap * max(0, len(columns) - 1)
    half = total / 2
    if node.left == "cases":
        size = _delimiter_size(_Box(0, _AXIS + half, half - _AXIS), 1.0)
        width += _delimiter_width(r"\{", size) + 0.12 + 0.17
    elif node.left in ("pmatrix",):
        width += 2 * 0.75
    return _Box(width * _SCALE[style], _AXIS + half, half - _AXIS)


def width(latex: str, style: str = "display") -> float:
    r"""The width of ``latex`` (math, no ``&``) in em at 10 pt, as TeX would set it.

    ``style`` is ``"display"`` (the default: displayed equations) or ``"text"``.

    Examples
    --------
    >>> round(width(r"x"), 2)
    0.6
    >>> width(r"\frac{1}{2}") < width(r"12")
    True
    """
    return _measure(_parse(latex), "D" if style == "display" else "T").width


# -- breaking ---------------------------------------------------------------------------


@dataclasses.dataclass
class _Line:
    """One line of a broken expression: its nodes and its indentation (in \\quad)."""

    nodes: list[_Node]
    indent: int = 0


def _terms(nodes: list[_Node]) -> list[list[_Node]]:
    """``nodes`` split before each top-level binary + or − (a unary minus stays)."""
    classes = _classes(nodes)
    terms: list[list[_Node]] = [[]]
    for node, cls in zip(nodes, classes, strict=True):
        if cls == "bin" and node.src in ("+", "-") and terms[-1]:
            terms.append([])
        terms[-1].append(node)
    return terms


def _w(nodes: Sequence[_Node]) -> float:
    return _measure(nodes, "D").width


_QUAD = 1.0


def _line_width(line: _Line) -> float:
    lead = [_Node("group", "{}", parts=([],))] if line.nodes and line.nodes[0].cls == "bin" else []
    return line.indent * _QUAD + _w(lead + line.nodes)


_TIMES = _Node("atom", r"\times", "bin", 0.78, 0.5, 0.0)
#: What a continuation line may start with: the operator it continues with.
_CONTINUING = ("+", "-", r"\times")


def _break(nodes: list[_Node], first: float, rest: float, indent: int) -> list[_Line]:
    """Lines broken at top-level + and −: the first at most ``first`` em wide, the others
    (indented by ``indent`` quads or more) at most ``rest`` em, indentation included."""
    return _pack(_terms(nodes), first, rest, indent, joiner=None)


def _pack(
    chunks: list[list[_Node]], first: float, rest: float, indent: int, joiner: _Node | None
) -> list[_Line]:
    """Chunks (terms, or the factors of a product) onto lines, as many as fit on each.

    A continuation line starts with the chunk's own sign (terms) or with ``joiner``
    (×, between factors).  A chunk too wide for a line of its own is broken inside
    (`_split`); one that cannot be broken stays whole, and its line is too wide.
    """
    lines: list[_Line] = []
    current: list[_Node] = []

    def budget() -> float:
        return first if not lines else rest - indent * _QUAD

    for chunk in chunks:
        if current:
            if _w(current + chunk) <= budget():
                current = current + chunk
                continue
            lines.append(_Line(current, indent if lines else 0))
            current = []
        start = [joiner, *chunk] if joiner is not None and lines else chunk
        if _w(start) <= budget():
            current = start
            continue
        pieces = _split(start, budget(), rest, indent)
        if pieces is None:
            current = start
            continue
        pieces[0].indent = indent if lines else 0
        lines.extend(pieces)
    if current or not lines:
        lines.append(_Line(current, indent if lines else 0))
    return _merge(lines, first, rest)


def _merge(lines: list[_Line], first: float, rest: float) -> list[_Line]:
    """Join a continuation line onto the line before when both fit together (the line
    before closed a delimiter that was broken)."""
    out: list[_Line] = []
    for line in lines:
        if out and line.nodes and line.nodes[0].src in _CONTINUING and not _opens(out[-1]):
            # on one line a product needs no ×
            nodes = line.nodes[1:] if line.nodes[0] is _TIMES else line.nodes
            joined = _Line(out[-1].nodes + nodes, out[-1].indent)
            if _line_width(joined) <= (first if len(out) == 1 else rest):
                out[-1] = joined
                continue
        out.append(line)
    return out


def _opens(line: _Line) -> bool:
    """Whether a line leaves a sized delimiter open (its continuation must stay below)."""
    depth = 0
    for node in line.nodes:
        src = node.base.src if node.kind == "script" and node.base is not None else node.src
        if re.match(r"\\[bB]igg?l", src):
            depth += 1
        elif re.match(r"\\[bB]igg?r", src):
            depth -= 1
    return depth > 0


def _flatten(term: list[_Node]) -> list[_Node]:
    """Groups that only wrap a delimited part (SymPy's ``\\tanh{\\left(...\\right)}``)
    dissolved, so the part can be broken."""
    out = []
    for node in term:
        if node.kind == "group" and any(n.kind == "delim" for n in node.parts[0]):
            out.extend(node.parts[0])
        else:
            out.append(node)
    return out


def _binds_forward(node: _Node) -> bool:
    """Whether a node belongs with the one after it: a sign, an operator name (\\tanh and
    its argument), a derivative operator (d/dx and its bracket)."""
    base = node.base if node.kind == "script" and node.base is not None else node
    if base.cls in ("bin", "op", "open"):
        return True
    return node.kind == "frac" and re.match(r"\\frac\{(d|\\partial)", node.src) is not None


def _called(node: _Node, after: _Node | None) -> bool:
    """Whether ``after`` is the argument list of ``node``: f(a, b) is a call, not f × (a, b)."""
    return (
        after is not None
        and after.kind == "delim"
        and node.kind == "atom"
        and any(n.cls == "punct" for n in after.parts[0])
    )


def _units(term: list[_Node]) -> list[list[_Node]]:
    """The factors of a product, each with what binds to it (a sign, \\tanh, d/dx)."""
    if any(n.src in (r"\int", r"\sum", r"\prod") for n in term):
        return [term]  # ∫ f dx is read as a whole
    units: list[list[_Node]] = []
    pending: list[_Node] = []
    for k, node in enumerate(term):
        pending.append(node)
        after = term[k + 1] if k + 1 < len(term) else None
        if node.kind == "space" or _binds_forward(node) or _called(node, after):
            continue
        units.append(pending)
        pending = []
    if pending:
        if units:
            units[-1].extend(pending)
        else:
            units.append(pending)
    return units


def _as_factor(node: _Node) -> list[_Node]:
    """A wide fraction N/D as ``\\frac{1}{D}`` times N (in parentheses when N is a sum)."""
    top, bottom = node.parts
    one = _Node("frac", rf"\frac{{1}}{{{_src(bottom)}}}", parts=(_parse("1"), bottom))
    if len(_terms(top)) > 1:
        src = rf"\left( {_src(top)} \right)"
        return [one, _Node("delim", src, cls="inner", parts=(top,), left="(", right=")")]
    return [one, *top]


def _split(chunk: list[_Node], first: float, rest: float, indent: int) -> list[_Line] | None:
    """A term too wide for a line: broken between its factors (× on the continuation), or
    inside its widest delimited part, or its fraction's numerator; None if it cannot be."""
    if first <= 0 or rest - indent * _QUAD <= 0:
        return None  # no room at all: leave the chunk whole
    chunk = _flatten(chunk)
    if any(node.cls == "punct" for node in chunk):  # a list (arguments): break after a comma
        items: list[list[_Node]] = [[]]
        for node in chunk:
            items[-1].append(node)
            if node.cls == "punct":
                items.append([])
        lines = _pack([item for item in items if item], first, rest, indent, joiner=None)
        return lines if len(lines) > 1 else None
    units = _units(chunk)
    if len(units) > 1:
        lines = _pack(units, first, rest, indent, joiner=_TIMES)
        return lines if len(lines) > 1 else None
    narrowed = _narrow_cases(chunk, first)
    if narrowed is not None:
        return [_Line(narrowed)]
    candidates = []
    for i, node in enumerate(chunk):
        inner = node.base if node.kind == "script" and node.sub is None else node
        if inner is not None and inner.kind == "delim" and inner.left != ".":
            candidates.append((_measure_node(node, "D").width, i))
        elif node.kind == "frac" and not _binds_forward(node) and _w(node.parts[0]) > 0.25 * rest:
            candidates.append((_measure_node(node, "D").width, i))  # a wide numerator
    for _, i in sorted(candidates, reverse=True):
        node = chunk[i]
        if node.kind == "frac":
            expanded = chunk[:i] + _as_factor(node) + chunk[i + 1 :]
            pieces = _split(expanded, first, rest, indent)
        else:
            pieces = _split_delimited(chunk[:i], node, chunk[i + 1 :], first, rest, indent)
        if pieces is not None:
            return pieces
    return None


def _narrow_cases(chunk: list[_Node], first: float) -> list[_Node] | None:
    """The chunk with its widest ``cases`` narrowed to fit ``first`` em: a long branch
    continues on a row of its own (``\\quad {} + ...``, no condition), or None."""
    found = [
        (i, n) for i, n in enumerate(chunk) if n.kind == "env" and n.left == "cases" and n.rows
    ]
    if not found:
        return None
    i, node = max(found, key=lambda item: _measure_node(item[1], "D").width)
    others = _w(chunk[:i] + chunk[i + 1 :])
    conditions = max((_w(row[1]) for row in node.rows if len(row) > 1), default=0.0)
    room = first - others - conditions - 1.0 - 1.0  # the brace, the quad between columns
    if room < 5.0:
        return None
    rows: list[list[list[_Node]]] = []
    changed = False
    for row in node.rows:
        value, rest = row[0], row[1:]
        lines = _break(value, room, room + _QUAD, 1) if _w(value) > room else [_Line(value)]
        changed = changed or len(lines) > 1
        rows.append([lines[0].nodes, *rest])
        for line in lines[1:]:
            lead = "{} " if line.nodes and line.nodes[0].src in _CONTINUING else ""
            rows.append([_parse(rf"\quad {lead}{_src(line.nodes)}"), []])
    if not changed:
        return None
    src = (
        r"\begin{cases} "
        + r" \\ ".join(" & ".join(_src(cell) for cell in row) for row in rows)
        + r" \end{cases}"
    )
    narrowed = _Node("env", src, cls="inner", left="cases", rows=rows)
    out = [*chunk[:i], narrowed, *chunk[i + 1 :]]
    return out if _w(out) <= first else None


def _split_delimited(
    prefix: list[_Node],
    node: _Node,
    suffix: list[_Node],
    first: float,
    rest: float,
    indent: int,
) -> list[_Line] | None:
    """``prefix \\Bigl( body... \\Bigr) suffix`` over several lines (``node`` is \\left...\\right,
    perhaps with a superscript)."""
    delim = node.base if node.kind == "script" else node
    body = delim.parts[0]
    size = max(1, _delimiter_size(_measure(body, "D"), 1.0))
    name = _SIZE_NAMES[size]
    opening = _parse(f"{name}l{_spaced(delim.left)}")[0]
    closing = _parse(f"{name}r{_spaced(delim.right)}")[0]
    if node.kind == "script":
        closing = _Node("script", "", cls=closing.cls, base=closing, sup=node.sup)
        closing.src = _script_src(closing)
    inner = indent + 1
    head = _w([*prefix, opening])
    tail = _w([closing, *suffix])
    if first - head < 0.2 * rest or rest - inner * _QUAD - tail < 0.2 * rest:
        return None
    pieces = _break(body, first - head, rest - tail, inner)
    if len(pieces) == 1 and pieces[0].nodes != body:  # narrowed inside (a long cases)
        line = _Line([*prefix, opening, *pieces[0].nodes, closing, *suffix])
        return [line] if _line_width(line) <= first else None
    if len(pieces) < 2:
        return None
    pieces[0].nodes = [*prefix, opening, *pieces[0].nodes]
    pieces[0].indent = 0
    for piece in pieces[1:]:
        piece.indent = max(piece.indent, inner)
    pieces[-1].nodes = [*pieces[-1].nodes, closing, *suffix]
    return pieces


def _line_src(line: _Line, continued: bool) -> str:
    text = _src(line.nodes)
    if continued and line.nodes and line.nodes[0].src in _CONTINUING:
        text = "{} " + text
    return text


def break_lines(latex: str, first: float, rest: float | None = None) -> list[tuple[int, str]]:
    r"""``latex`` broken into lines of at most ``first`` em (then ``rest`` em).

    Each line is (indent, text): the indentation in quads and the LaTeX of the line;
    a continuation line starts with its operator (``{} + ...``).  An expression that
    fits is one line.  A term that cannot be broken (one long fraction of products,
    an exponent) stays whole, wider than asked.

    Examples
    --------
    >>> for indent, text in break_lines("a + b + c + d", first=3, rest=5):
    ...     print(indent, text)
    0 a + b
    1 {} + c + d
    """
    rest = first if rest is None else rest
    nodes = _parse(latex)
    if _w(nodes) <= first:
        return [(0, latex)]
    lines = _break(nodes, first, rest, 1)
    out = []
    for k, line in enumerate(lines):
        out.append((line.indent if k else 0, _line_src(line, continued=k > 0)))
    return out


# -- equations in an align* --------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Equation:
    r"""``lhs = sides[0] = sides[1] ...`` with an optional justification ``tag``.

    ``tag`` is text, with math between ``$`` signs (``chain rule, $u = x^{2}$``);
    it is set at the right margin as ``\tag*{...}``.  ``space_before`` leaves a
    little vertical space above the equation (between the result and its steps).
    """

    lhs: str
    sides: tuple[str, ...]
    tag: str | None = None
    space_before: bool = False


def _indent_width(level: int) -> float:
    return level * _QUAD


def _indent(level: int) -> str:
    return {0: "", 1: r"\quad ", 2: r"\qquad "}.get(level, r"\qquad " + r"\quad " * (level - 2))


def align(equations: Sequence[Equation], text_width: float = TEXT_WIDTH) -> str:
    r"""Equations as one ``align*``, aligned at ``=``, broken to fit ``text_width`` em.

    A left-hand side wider than `LHS_SHARE` of the width is broken onto lines of its
    own (right-aligned, ending at the ``=``); each right-hand side is broken at its
    top-level ``+`` and ``−``, continuing on the next line indented by a quad; a
    further right-hand side goes on the same line if it fits, else on a new line that
    starts with ``=``.  Justifications are set as ``\tag*{...}`` at the right margin.

    Examples
    --------
    >>> rows = [Equation("a", ("b", "c"), "twice"), Equation("d", ("e",), space_before=True)]
    >>> print(align(rows))
    \begin{align*}
    a &= b = c \tag*{twice} \\[1ex]
    d &= e
    \end{align*}
    >>> print(align([Equation("a", ("b + c + d", "e"))], text_width=6))
    \begin{align*}
    a &= b + c \\
    &\quad {} + d \\
    &= e
    \end{align*}
    """
    usable = text_width - MARGIN
    cap = LHS_SHARE * usable
    lhs_lines = []
    for equation in equations:
        lines = break_lines(equation.lhs, cap, cap)
        lhs_lines.append([text for _, text in lines])
    left = max((width(text) for lines in lhs_lines for text in lines), default=0.0)
    equals = width("{}={}")
    # an unbreakable left side wider than its share overflows; the right sides keep room
    room = max(usable - left - equals, (1 - LHS_SHARE) * usable - equals)
    rows: list[str] = []
    for equation, lhs in zip(equations, lhs_lines, strict=True):
        mine: list[str] = []
        mine.extend(lhs[:-1])
        used = None  # the width of the last row's right side when it may take more
        for k, side in enumerate(equation.sides):
            if used is not None and used + equals + width(side) <= room:
                mine[-1] += f" = {side}"
                used += equals + width(side)
                continue
            pieces = break_lines(side, room, room)
            start = lhs[-1] if k == 0 else ""
            mine.append(f"{start} &= {pieces[0][1]}".lstrip())
            mine.extend(f"&{_indent(max(1, indent))}{text}" for indent, text in pieces[1:])
            used = width(pieces[-1][1]) + _indent_width(pieces[-1][0]) if len(pieces) == 1 else None
        if not equation.sides:
            mine.append(lhs[-1])
        if equation.tag:
            mine[-1] += rf" \tag*{{{equation.tag}}}"
        if equation.space_before and rows:
            rows[-1] += r"[1ex]"
        rows.extend(r + r" \\" for r in mine)
    if rows:
        rows[-1] = rows[-1].removesuffix(r" \\")
    body = "\n".join(rows)
    return f"\\begin{{align*}}\n{body}\n\\end{{align*}}"


def overfull_rows(latex: str, text_width: float = TEXT_WIDTH) -> list[tuple[int, float]]:
    r"""Rows of an ``align*`` (or a single formula) wider than ``text_width`` em.

    The width of an ``align*`` is its widest left column plus its widest right column
    (tags move to a line of their own when they do not fit, so they are not counted).
    Returns (row number, estimated width) for every row that would overflow.

    Examples
    --------
    >>> overfull_rows(align([Equation("x", ("y",))]))
    []
    >>> overfull_rows(r"x" + r" + x" * 60)  # doctest: +ELLIPSIS
    [(0, ...)]
    """
    nodes = _parse(latex)
    environments = [n for n in nodes if n.kind == "env" and n.left == "align*"]
    if not environments:
        total = _w(nodes)
        return [(0, total)] if total > text_width else []
    rows = [
        [
            _w([n for n in cell if n.kind != "space" or not n.src.startswith(r"\tag")])
            for cell in row
        ]
        for row in environments[0].rows or []
    ]
    left = max((row[0] for row in rows if len(row) > 1), default=0.0)
    out = []
    for k, row in enumerate(rows):
        total = left + row[1] if len(row) > 1 else row[0]
        if total > text_width:
            out.append((k, total))
    return out


def standalone_document(body: str) -> str:
    r"""A complete LaTeX document around ``body``: article, 10 pt, amsmath, 6.5 in text width.

    ``\allowdisplaybreaks`` lets a derivation longer than a page continue on the next.

    Examples
    --------
    >>> print(standalone_document("x").splitlines()[0])
    \documentclass[10pt]{article}
    """
    return (
        "\\documentclass[10pt]{article}\n"
        "\\usepackage[letterpaper, margin=1in]{geometry}\n"
        "\\usepackage{amsmath}\n"
        "\\allowdisplaybreaks\n"
        "\\begin{document}\n"
        f"{body}\n"
        "\\end{document}\n"
    )

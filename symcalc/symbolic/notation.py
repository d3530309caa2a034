"""Text that Python syntax reads one way and a reader of the formula another.

Python's grammar accepts ``x#^2`` (a comment drops ``^2``), ``xe^x`` (one variable named
``xe``) and ``d/dx*x**2`` (the variable d divided by the variable dx).  A person who
typed these meant something else: x·e^x, a derivative.  Each check here finds such a
reading in the syntax tree, by a general rule rather than a list of cases, and refuses
it with a one-line `ParseError` that spells out what to write.  `Columns` maps offsets
in the text Python reads (``^`` written ``**``) back to columns of the text as typed,
counted from 1.

Examples
--------
>>> import ast
>>> tree = ast.parse("xe**x", mode="eval")
>>> check_juxtaposed_names(tree, Columns.of("xe^x"), "xe**x", known=set())
Traceback (most recent call last):
...
symcalc.errors.ParseError: 'xe' at column 1 would be one variable named 'xe'; ...
"""

from __future__ import annotations

import ast
import bisect
import dataclasses

from ..errors import ParseError

__all__ = ["Columns", "check_comment", "check_juxtaposed_names", "check_leibniz_division"]


def check_comment(text: str) -> None:
    """'#' would start a Python comment and silently drop the rest of the text."""
    column = text.find("#") + 1
    if column:
        raise ParseError(
            f"'#' at column {column} is not part of a formula (in Python it would start a "
            "comment and drop the rest of the text); remove it",
            column,
        )


@dataclasses.dataclass(frozen=True)
class Columns:
    """Maps offsets in the text Python reads (``^`` written ``**``) to columns of the text
    as typed; ``known=False`` for text translated from LaTeX, whose columns mean nothing
    to the user."""

    carets: tuple[int, ...] = ()
    known: bool = True

    @classmethod
    def of(cls, text: str, known: bool = True) -> Columns:
        return cls(tuple(i for i, ch in enumerate(text) if ch == "^"), known)

    def column(self, offset: int) -> int:
        """The 1-based column in the typed text of 0-based ``offset`` in the source."""
        shifted = [pos + k for k, pos in enumerate(self.carets)]
        return offset - bisect.bisect_left(shifted, offset) + 1

    def caret_at(self, offset: int) -> bool:
        """Whether the operator at source ``offset`` was typed as ``^``."""
        return any(pos + k == offset for k, pos in enumerate(self.carets))


def _plain_names(tree: ast.AST) -> list[ast.Name]:
    """Name nodes that stand for values (not the names of called functions)."""
    called = {id(n.func) for n in ast.walk(tree) if isinstance(n, ast.Call)}
    return [n for n in ast.walk(tree) if isinstance(n, ast.Name) and id(n) not in called]


def _splits_into(word: str, pieces: set[str]) -> list[str] | None:
    """``word`` as a concatenation of ``pieces``, or None (linear in ``len(word)``).

    Examples
    --------
    >>> _splits_into("xye", {"x", "y", "e"}), _splits_into("xz", {"x", "y"})
    (['x', 'y', 'e'], None)
    """
    ends: dict[int, str] = {0: ""}  # prefix length -> the piece that ends it
    for start in range(len(word)):
        if start not in ends:
            continue
        for piece in pieces:
            if piece and word.startswith(piece, start):
                ends.setdefault(start + len(piece), piece)
    if len(word) not in ends:
        return None
    split, at = [], len(word)
    while at:
        split.append(ends[at])
        at -= len(ends[at])
    return split[::-1]


def check_juxtaposed_names(tree: ast.AST, columns: Columns, source: str, known: set[str]) -> None:
    """Refuse a name that textbook notation reads as a product: ``xe^x``, ``xy + x + y``.

    Python syntax reads ``xe`` as one variable.  That reading is refused where a reader
    of the formula would see a product: the name spells other variables of the same
    expression (and the constants e, pi) side by side, or it is a letter followed by
    ``e`` and raised with ``^`` (``xe^x``: x times e^x).
    """
    names = _plain_names(tree)
    used = {n.id for n in names}
    bases = {
        id(n.left): n
        for n in ast.walk(tree)
        if isinstance(n, ast.BinOp) and isinstance(n.op, ast.Pow)
    }
    for node in names:
        word = node.id
        if len(word) < 2 or not word.isalpha() or not word.isascii() or word in known:
            continue
        others = used - {word}
        split = _splits_into(word, others | {"e", "pi"})
        juxtaposed = split is not None and any(piece in others for piece in split)
        power = bases.get(id(node))
        e_power = (
            len(word) == 2
            and word.endswith("e")
            and power is not None
            and columns.caret_at(_operator_offset(power))
        )
        if juxtaposed or e_power:
            product = "*".join(split if juxtaposed else [word[0], "e"])
            if power is not None:
                exponent = ast.get_source_segment(source, power.right) or "..."
                product += "^" + (exponent if exponent.isalnum() else f"({exponent})")
            raise ParseError(
                f"'{word}'{_where(columns, node)} would be one variable named '{word}'; "
                f"for the product write {product} (or give the variable a longer name)",
                columns.column(node.col_offset) if columns.known else None,
            )


def _operator_offset(node: ast.BinOp) -> int:
    """Source offset of a binary operator: the first non-space after the left operand."""
    return getattr(node.left, "end_col_offset", 0) or 0


def _leibniz_name(node: ast.AST) -> str | None:
    """'d' or 'dy' for a Name (or a power of one) that Leibniz notation would write."""
    while isinstance(node, ast.BinOp) and isinstance(node.op, ast.Pow):
        node = node.left
    if isinstance(node, ast.Call):  # d(x**2)/dx
        node = node.func
    if isinstance(node, ast.Name) and node.id.startswith("d") and node.id.isalnum():
        return node.id
    return None


def check_leibniz_division(tree: ast.AST, columns: Columns, source: str) -> None:
    """Refuse ``d/dx`` and ``dy/dx`` in Python syntax: they would divide two variables."""
    for node in ast.walk(tree):
        if not (isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div)):
            continue
        top, bottom = _leibniz_name(node.left), _leibniz_name(node.right)
        if top is not None and bottom is not None and len(bottom) > 1:
            shown = ast.get_source_segment(source, node) or f"{top}/{bottom}"
            raise ParseError(
                f"'{shown}'{_where(columns, node)} would divide the variable {top} by the "
                f"variable {bottom}, not differentiate; write diff(expression, {bottom[1:]}) "
                "to differentiate",
                columns.column(node.col_offset) if columns.known else None,
            )


def _where(columns: Columns, node: ast.AST) -> str:
    if not columns.known or not hasattr(node, "col_offset"):
        return ""
    return f" at column {columns.column(node.col_offset)}"

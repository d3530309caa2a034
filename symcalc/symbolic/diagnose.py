"""What a syntax error is missing: a token-level reading of text that Python refused.

Python's own messages for a broken expression are often only "invalid syntax", and
their column is 0 when the text ends too early (``x**``).  `diagnose` walks the
tokens of the text as the user typed it (``^`` included), alternating between
"an operand is expected" and "an operator is expected", and names the first place
where the text breaks that rhythm: what was expected there, after what, and what
was found instead.  Columns count from 1 in the text as typed.  It only reads tokens;
nothing is run.

Examples
--------
>>> diagnose("x**")
("expected an exponent after '**'", 4)
>>> diagnose("2 x")
("expected an operator between '2' and 'x' (write 2*x for a product)", 3)
>>> diagnose("x + * 3")
("expected an operand after '+', found '*'", 5)
"""

from __future__ import annotations

import io
import keyword
import tokenize

__all__ = ["diagnose"]

# Keywords that join two operands, as a binary operator does.
_KEYWORD_OPERATORS = frozenset(["and", "or", "if", "else", "in", "is", "for"])
# Keywords that may open an operand (a unary operator or a constant).
_KEYWORD_OPERANDS = frozenset(["True", "False", "None"])
_UNARY = frozenset(["+", "-", "~", "not"])
_BINARY = frozenset(
    "+ - * / // % ** ^ @ < > <= >= == != & | << >>".split() + list(_KEYWORD_OPERATORS)
)
_OPENERS = {"(": ")", "[": "]", "{": "}"}
_CLOSERS = frozenset(_OPENERS.values())
_QUOTES = frozenset("'\"")
# Tokens the simple reading does not model: leave the message to Python.
_UNMODELLED = frozenset([":", ":=", "...", "->", "lambda", "await", "yield"])


def _what_follows(token: str) -> str:
    if token in ("**", "^"):
        return "an exponent"
    if token == ",":
        return "another argument"
    if token in _OPENERS:
        return "an expression"
    return "an operand"


def _tokens(text: str) -> list[tuple[str, str, int]]:
    """(kind, text, 1-based column in ``text``) for each meaningful token."""
    starts = [0]
    for line in text.splitlines(keepends=True):
        starts.append(starts[-1] + len(line))
    out: list[tuple[str, str, int]] = []
    try:
        for tok in tokenize.generate_tokens(io.StringIO(text).readline):
            if tok.type in (tokenize.NEWLINE, tokenize.NL, tokenize.INDENT, tokenize.DEDENT):
                continue
            row, col = tok.start
            column = starts[min(row - 1, len(starts) - 1)] + col + 1
            if tok.type == tokenize.ENDMARKER:
                out.append(("end", "", len(text.rstrip()) + 1))
                break
            if tok.type == tokenize.ERRORTOKEN and not tok.string.strip():
                continue
            kind = tokenize.tok_name[tok.type]
            if kind == "NAME" and tok.string in _KEYWORD_OPERATORS | _UNARY:
                kind = "OP"
            out.append((kind, tok.string, column))
    except (tokenize.TokenError, SyntaxError, IndentationError):
        out.append(("end", "", len(text.rstrip()) + 1))
    return out


def diagnose(text: str) -> tuple[str, int] | None:
    """What the text is missing, and the 1-based column: ``(message, column)`` or None.

    None means the simple operand/operator reading finds nothing wrong (the caller
    then falls back to Python's own message).
    """
    tokens = _tokens(text)
    expect_operand = True
    previous: tuple[str, str, int] | None = None
    for kind, tok, column in tokens:
        if tok in _UNMODELLED:
            return None
        if kind == "ERRORTOKEN":
            if tok in _QUOTES:
                return f"the quote {tok} at column {column} is never closed", column
            return f"unexpected character {tok!r}", column
        if kind == "NAME" and keyword.iskeyword(tok) and tok not in _KEYWORD_OPERANDS:
            return f"'{tok}' is a Python keyword, not part of a formula", column
        if expect_operand:
            if kind in ("NAME", "NUMBER", "STRING"):
                expect_operand = False
            elif tok in _OPENERS or tok in _UNARY:
                pass
            elif tok in _CLOSERS and previous is not None and previous[1] in ("(", ","):
                expect_operand = False  # f() or a trailing comma: Python's grammar allows both
            else:
                return _missing_operand(previous, kind, tok, column)
        elif kind == "NUMBER" and tok.startswith(".") and previous and previous[0] == "NUMBER":
            literal = previous[1] + tok
            return f"'{literal}' is not a number (one decimal point at most)", previous[2]
        elif kind in ("NAME", "NUMBER", "STRING") and previous is not None:
            left = previous[1]
            product = f" (write {left}*{tok} for a product)" if previous[0] != "STRING" else ""
            return f"expected an operator between '{left}' and '{tok}'{product}", column
        elif tok in _BINARY or tok in (",", "."):
            expect_operand = True
        elif tok == "(" and previous and previous[0] == "NUMBER":
            return (
                f"expected an operator between '{previous[1]}' and '(' "
                f"(write {previous[1]}*(...) for a product)",
                column,
            )
        elif tok in _OPENERS:
            expect_operand = True
        elif tok in _CLOSERS or kind == "end":
            pass
        elif tok == "=":
            return "an expression has no '='; write only the formula", column
        else:
            return f"'{tok}' is not an operator symcalc reads", column
        if kind == "end":
            return None
        previous = (kind, tok, column)
    return None


def _missing_operand(
    previous: tuple[str, str, int] | None, kind: str, tok: str, column: int
) -> tuple[str, int]:
    if previous is None:
        if kind == "end":
            return "empty expression", column
        return f"expected an expression at the start, found '{tok}'", column
    wanted = f"expected {_what_follows(previous[1])} after '{previous[1]}'"
    return (wanted if kind == "end" else f"{wanted}, found '{tok}'"), column

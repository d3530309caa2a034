r"""LaTeX math -> SymPy-syntax text, by a small tokenizer and recursive-descent parser.

Users paste formulas from papers and notebooks, such as ``\frac{1}{1+e^{-x}}``.  This
module translates a fixed subset of LaTeX math into plain SymPy/Python-syntax text
(``1/(1+exp(-x))``), which `symcalc.symbolic.parse.parse` then reads with its own whitelist
parser.  Nothing here evaluates anything: there is no ``eval``, ``exec``,
``sympify``, ``parse_expr`` or ``sympy.parsing.latex``.  The text is only split into
tokens and rebuilt, one command at a time, from tables of known commands.  Whatever is
not in those tables is refused with a `ParseError` that names the problem and its
1-based column in the text passed in.  The output is then checked a second time by
``parse``.

Accepted subset
---------------
* delimiters ``$...$``, ``$$...$$``, ``\(...\)`` and ``\[...\]`` (stripped); whitespace,
  ``~``, ``\,`` ``\:`` ``\;`` ``\!`` ``\quad`` ``\qquad`` ``\thinspace`` (and the other
  named spaces) and ``\displaystyle`` are ignored;
* numbers, single-letter variables with implicit multiplication (``2x``, ``xy``,
  ``x(1+x)``; but ``f(x)``, ``g(x)``, ``h(x)`` are function notation and refused, since
  symcalc knows no such functions), ``\mathit{rate}`` for a longer name, subscripts
  (``x_1``, ``z_{12}``, ``w_{ij}`` become ``x_1``, ``z_12``, ``w_ij``), Greek letters
  (``\lambda`` becomes ``lamda``, SymPy's spelling, since ``lambda`` is a Python
  keyword), ``\pi``, ``\infty`` and ``e`` (Euler's number);
* ``+ - * /``, ``\cdot``, ``\times``, ``\div``, ``^`` (``x^2``, ``x^{-1}``,
  ``e^{u}`` is ``exp(u)``), ``\frac``, ``\dfrac``, ``\tfrac``, ``\sqrt{u}`` and
  ``\sqrt[n]{u}``;
* grouping with ``( )``, ``[ ]``, ``{ }``, ``\{ \}`` and ``\left ... \right``;
  absolute values ``|x|``, ``\lvert x \rvert``, ``\left| x \right|``;
* the functions in `FUNCTION_COMMANDS` (``\sin x``, ``\sin 2x``, ``\sin(x)``,
  ``\sin^2 x``, ``\log_2 x``, ``\max(0, x)``), any name in `symcalc.symbolic.functions.FUNCTIONS`
  or the catalog's activations through ``\operatorname{name}`` or ``\mathrm{name}``,
  and ``\sigma(x)`` for the sigmoid (a bare ``\sigma`` is the variable ``sigma``).

A function without parentheses takes the factors that follow it up to the next
operator, bracket or function: ``\sin 2x \cos x`` is ``sin(2*x)*cos(x)``.

A Piecewise as SymPy and symcalc print it reads back: ``\begin{cases} u & \text{for}\:
x > 0 \\ v & \text{otherwise} \end{cases}`` (conditions: ``< > = \leq \geq \neq``,
chained ``-3 < x < 3``, ``\vee``, ``\wedge``, ``\neg``, brackets; the first row that holds
applies, as in SymPy).  ``\mathrm{slope}``, a multi-letter name symcalc prints upright,
is a variable where it names no function (``\mathrm{foo}(x)`` is refused).

Leibniz notation is differentiation, emitted as ``Derivative(u, x, n)``:
``\frac{d}{dx} u``, ``\frac{d^n}{dx^n} u``, ``\frac{d u}{dx}``, ``\frac{d^n u}{dx^n}``
and the same with ``\partial``; ``\dfrac`` and ``\tfrac`` too.  The operator form
applies to a square bracket right after it alone (``\frac{d}{dx}\left[x\right] \tanh x``
is tanh x, as symcalc's steps write it), else to the factors after it, up to the end of
the term; if a ``+``, ``-``, ``\cdot``
or ``/`` follows, how far it reaches is unclear and it is refused unless what is
differentiated is one bracketed group (``\frac{d}{dx}\left(x^2\right) + 1``).  Refused
too, each with one line: a derivative with nothing to differentiate, orders that differ
above and below, mixed derivatives (``\partial x \partial y``), any letter applied to a
bracket inside a derivative (``\frac{d f(x)}{dx}``: an unknown function), and ``d`` used
as a variable anywhere next to a derivative.  ``\frac{dy}{dx}`` is refused by the
whitelist parser: symcalc's variables are independent, so y does not depend on x.

Examples
--------
>>> latex_to_text(r"$\frac{1}{1+e^{-x}}$")
'1/(1+exp(-x))'
>>> latex_to_text(r"\text{__import__('os')}")
Traceback (most recent call last):
...
symcalc.errors.ParseError: unknown LaTeX command '\text' at column 1 (text is not math)
"""

from __future__ import annotations

import contextlib
import dataclasses
import keyword
import re
from collections.abc import Callable, Iterator
from typing import NamedTuple

from ..errors import ParseError, did_you_mean
from .catalog import CATALOG, canonical_name
from .catalog import names as catalog_names
from .functions import FUNCTIONS
from .special import LATEX_NAMES, SPECIAL

__all__ = ["latex_to_text"]

#: Deepest nesting (groups, signs, function arguments) accepted.
MAX_DEPTH = 64

# Precedence of an emitted fragment: it is parenthesised where a tighter one is needed.
ADD, MUL, NEG, POW, ATOM = range(1, 6)


@dataclasses.dataclass(frozen=True)
class _Node:
    """A piece of emitted text and how tightly it binds."""

    text: str
    prec: int = ATOM


@dataclasses.dataclass(frozen=True)
class _Token:
    """One token: ``kind`` is num, letter, cmd, char, name (a function name) or end."""

    kind: str
    text: str
    column: int
    shown: str = ""

    @property
    def label(self) -> str:
        return self.shown or self.text


class _Fn(NamedTuple):
    """An allowed function: emitted name, arity and how it is written."""

    name: str
    low: int = 1
    high: int | None = 1
    parens: bool = False  # arguments must be in parentheses (\max, \min)
    base: bool = False  # takes a base as a subscript (\log_2 x)
    subscript: int | None = None  # a special function's argument written as a subscript (J_ν)


#: LaTeX function commands and the function each one emits.
FUNCTION_COMMANDS: dict[str, _Fn] = {
    **{f"\\{n}": _Fn(n) for n in ("sin", "cos", "tan", "sec", "csc", "cot")},
    **{f"\\{n}": _Fn(n) for n in ("sinh", "cosh", "tanh", "coth")},
    "\\arcsin": _Fn("asin"),
    "\\arccos": _Fn("acos"),
    "\\arctan": _Fn("atan"),
    "\\exp": _Fn("exp"),
    "\\ln": _Fn("log"),
    "\\log": _Fn("log", base=True),
    "\\max": _Fn("max", 2, None, parens=True),
    "\\min": _Fn("min", 2, None, parens=True),
}

_GREEK_NAMES = (
    "alpha beta gamma delta epsilon varepsilon zeta eta theta vartheta iota kappa lambda "
    "mu nu xi rho varrho sigma varsigma tau upsilon phi varphi chi psi omega "
    "Gamma Delta Theta Lambda Xi Pi Sigma Upsilon Phi Psi Omega"
).split()
#: Greek letters, read as variables (``lambda`` is a Python keyword: SymPy spells it lamda).
GREEK: dict[str, str] = {f"\\{g}": g.replace("lambda", "lamda") for g in _GREEK_NAMES}
#: Every command that stands for a single symbol.
SYMBOLS: dict[str, str] = {**GREEK, "\\pi": "pi", "\\infty": "oo"}

_MUL_OPS = {"*": "*", "/": "/", "\\cdot": "*", "\\times": "*", "\\div": "/"}
_SPACES = frozenset(
    [
        *("\\,", "\\:", "\\;", "\\!", "\\ ", "\\\n", "\\quad", "\\qquad", "\\displaystyle"),
        *("\\thinspace", "\\medspace", "\\thickspace"),
        *("\\negthinspace", "\\negmedspace", "\\negthickspace"),
    ]
)
_NAME_COMMANDS = frozenset(["\\operatorname", "\\mathrm", "\\mathit"])
_VARIABLE_NAME_RE = re.compile(r"[A-Za-z][A-Za-z0-9]*")
# opener -> closer; after \left the closer is preceded by \right
_OPENERS = {"(": ")", "[": "]", "{": "}", "\\{": "\\}", "|": "|", "\\lvert": "\\rvert"}
_OPENER_OF = {")": "(", "]": "[", "\\}": "\\{", "\\rvert": "\\lvert", "|": "|"}
_BARS = frozenset(["|", "\\lvert"])
#: Letters that name functions in textbook notation: f(x) is never the product f·x.
_FUNCTION_LETTERS = frozenset("fgh")
_CHARS = frozenset("+-*/^_()[]{}|,")
_WHITESPACE = frozenset(" \t\n~")

_TEXT = "text is not math"
_CALCULUS = "write the expression itself; symcalc does the calculus"
#: Commands users often paste that are refused on purpose, with the reason.
_UNSUPPORTED = {
    **dict.fromkeys(("\\text", "\\textrm", "\\mbox", "\\textbf"), _TEXT),
    **dict.fromkeys(("\\sum", "\\prod", "\\int", "\\lim", "\\nabla"), _CALCULUS),
}

#: Words of a ``cases`` row: ``\\text{for}`` (SymPy's), ``\\text{if}`` and ``\\text{otherwise}``.
_CASE_WORDS = frozenset(["for", "if", "otherwise"])
_TEXT_COMMANDS = frozenset(["\\text", "\\textrm", "\\mbox"])
#: Relations in a ``cases`` condition, and the Python operator each one is.
_RELATION_COMMANDS = {
    **dict.fromkeys(("\\leq", "\\le", "\\leqslant"), "<="),
    **dict.fromkeys(("\\geq", "\\ge", "\\geqslant"), ">="),
    **dict.fromkeys(("\\neq", "\\ne"), "!="),
    "\\lt": "<",
    "\\gt": ">",
}
_RELATION_CHARS = {"<": "<", ">": ">", "=": "=="}
_LOGIC_COMMANDS = {
    **dict.fromkeys(("\\vee", "\\lor"), "Or"),
    **dict.fromkeys(("\\wedge", "\\land"), "And"),
    **dict.fromkeys(("\\neg", "\\lnot"), "Not"),
}
_COMMAND_RE = re.compile(r"\\([A-Za-z]+|.)", re.DOTALL)
_NUMBER_RE = re.compile(r"[0-9]+(?:\.[0-9]+)?|\.[0-9]+")
_LETTERS_RE = re.compile(r"[A-Za-z]+")
_NAME_RE = re.compile(r"[A-Za-z0-9_]+")
_BINARY = {"+": (ADD, ADD), "-": (ADD, MUL), "*": (MUL, MUL), "/": (MUL, NEG)}


# --------------------------------------------------------------------------- emitting


def _wrap(node: _Node, minimum: int) -> str:
    return node.text if node.prec >= minimum else f"({node.text})"


def _binary(left: _Node, op: str, right: _Node) -> _Node:
    prec, right_minimum = _BINARY[op]
    return _Node(f"{_wrap(left, prec)}{op}{_wrap(right, right_minimum)}", prec)


def _neg(operand: _Node) -> _Node:
    return _Node(f"-{_wrap(operand, NEG)}", NEG)


def _pow(base: _Node, exponent: _Node) -> _Node:
    return _Node(f"{_wrap(base, ATOM)}**{_wrap(exponent, NEG)}", POW)


def _call(name: str, args: list[_Node]) -> _Node:
    return _Node(f"{name}({', '.join(a.text for a in args)})")


# --------------------------------------------------------------------------- names


def _activation_names() -> list[str]:
    return catalog_names("activation")


def _function_spec(name: str) -> _Fn | None:
    """The function ``\\operatorname{name}`` stands for, if it is an allowed one."""
    if name in LATEX_NAMES:  # \operatorname{J}_{1}(x), \operatorname{W}(x), \operatorname{B}(a, b)
        entry = SPECIAL[LATEX_NAMES[name]]
        return _Fn(entry.name, entry.low, entry.high, parens=True, subscript=entry.subscript)
    if name in FUNCTIONS:
        _, low, high = FUNCTIONS[name]
        return _Fn(name, low, high, parens=low > 1)
    canonical = canonical_name(name)
    if canonical is not None and CATALOG[canonical].kind == "activation":
        return _Fn(canonical)
    return None


def _word_hints() -> dict[str, str]:
    """Words that, typed as plain letters, were surely meant as a command."""
    hints = {w: f"\\operatorname{{{w}}}" for w in (*FUNCTIONS, *_activation_names())}
    hints.update({c[1:]: c for c in (*FUNCTION_COMMANDS, *SYMBOLS)})
    hints.update({"inf": "\\infty", "oo": "\\infty", "lamda": "\\lambda"})
    return {w: h for w, h in hints.items() if len(w) > 1}


_WORD_HINTS = _word_hints()


# --------------------------------------------------------------------------- tokens


def _strip_delimiters(text: str) -> tuple[int, int]:
    """Start and end of the math inside ``$...$``, ``$$...$$``, ``\\(...\\)`` or ``\\[...\\]``."""
    start, end = 0, len(text)
    while start < end and text[start] in _WHITESPACE:
        start += 1
    while end > start and text[end - 1] in _WHITESPACE:
        end -= 1
    for opener, closer in (("$$", "$$"), ("$", "$"), ("\\(", "\\)"), ("\\[", "\\]")):
        if text.startswith(opener, start):
            if end - start >= len(opener) + len(closer) and text.endswith(closer, start, end):
                return start + len(opener), end - len(closer)
            raise ParseError(f"'{opener}' at column {start + 1} is never closed", start + 1)
    return start, end


def _read_command(text: str, i: int, end: int) -> tuple[list[_Token], int]:
    match = _COMMAND_RE.match(text, i, end)
    if match is None:
        raise ParseError(f"lone backslash at column {i + 1}", i + 1)
    command, j = match.group(0), match.end()
    if command in _SPACES:
        return [], j
    if command in _NAME_COMMANDS:
        return _read_name(text, j, end, command, i + 1)
    if command == "\\vert":
        return [_Token("char", "|", i + 1)], j
    if command in ("\\begin", "\\end"):
        return _read_environment(text, j, end, command, i + 1)
    if command in _TEXT_COMMANDS and _text_word(text, j, end) is not None:
        word, after = _text_word(text, j, end)  # type: ignore[misc]
        return [_Token("word", word, i + 1, f"{command}{{{word}}}")], after
    if command in _RELATION_COMMANDS:
        return [_Token("rel", _RELATION_COMMANDS[command], i + 1, command)], j
    if command in _LOGIC_COMMANDS:
        return [_Token("logic", _LOGIC_COMMANDS[command], i + 1, command)], j
    if command not in _KNOWN_COMMANDS:
        raise ParseError(
            f"unknown LaTeX command '{command}' at column {i + 1}{_command_hint(command)}", i + 1
        )
    return [_Token("cmd", command, i + 1)], j


def _read_environment(
    text: str, i: int, end: int, command: str, column: int
) -> tuple[list[_Token], int]:
    """``\\begin{cases}`` or ``\\end{cases}``: one token; any other environment is refused."""
    match = re.compile(r"\s*\{([A-Za-z*]*)\}").match(text, i, end)
    if match is None:
        raise ParseError(f"{command} at column {column} needs a name in braces", column)
    name = match.group(1)
    if name != "cases":
        raise ParseError(
            f"the environment '{name}' at column {column} is not math symcalc reads "
            "(only cases, for a piecewise function)",
            column,
        )
    return [_Token("cmd", f"{command}{{cases}}", column)], match.end()


def _text_word(text: str, i: int, end: int) -> tuple[str, int] | None:
    """``\\text{for}``, ``\\text{if}``, ``\\text{otherwise}`` (the words of a cases row)."""
    match = re.compile(r"\s*\{\s*([A-Za-z]+)\s*,?\s*\}").match(text, i, end)
    if match is None or match.group(1) not in _CASE_WORDS:
        return None
    return match.group(1), match.end()


def _command_hint(command: str) -> str:
    if command in _UNSUPPORTED:
        return f" ({_UNSUPPORTED[command]})"
    word = command[1:]
    if _function_spec(word) is not None:
        return f"; write \\operatorname{{{word}}}"
    return did_you_mean(command, _KNOWN_COMMANDS)


def _read_name(text: str, i: int, end: int, command: str, column: int) -> tuple[list[_Token], int]:
    """``\\operatorname{name}``: one token naming an allowed function (or ``e``)."""
    while i < end and text[i] in _WHITESPACE:
        i += 1
    if i >= end or text[i] != "{":
        raise ParseError(
            f"{command} needs a name in braces, as in {command}{{relu}} (column {column})", column
        )
    close = text.find("}", i, end)
    if close < 0:
        raise ParseError(f"unbalanced brace: '{{' at column {i + 1} is never closed", i + 1)
    name = text[i + 1 : close].replace("\\_", "_").strip()
    shown = f"{command}{{{name}}}"
    if not name:
        raise ParseError(f"empty group at column {i + 1}", i + 1)
    if not _NAME_RE.fullmatch(name):
        raise ParseError(f"{command}{{...}} at column {column} must hold a plain name", column)
    if command == "\\mathit":  # an italic name is a variable: \mathit{rate}
        if not _VARIABLE_NAME_RE.fullmatch(name) or keyword.iskeyword(name):
            raise ParseError(
                f"{shown} at column {column} must hold a variable name (letters, then digits)",
                column,
            )
        return [_Token("letter", name, column, shown)], close + 1
    if name in ("e", "d"):  # Euler's number; the upright differential of \frac{\mathrm{d}}{...}
        return [_Token("letter", name, column, shown)], close + 1
    if _function_spec(name) is None and command == "\\mathrm" and _is_upright_variable(name):
        return [_Token("letter", name, column, shown)], close + 1  # \mathrm{slope}: as printed
    if _function_spec(name) is None:
        known = [*FUNCTIONS, *_activation_names()]
        raise ParseError(
            f"unknown function '{name}' in {shown} at column {column}{did_you_mean(name, known)}",
            column,
        )
    return [_Token("name", name, column, shown)], close + 1


def _is_upright_variable(name: str) -> bool:
    """Whether ``\\mathrm{name}`` is a variable as symcalc prints one: a multi-letter name
    (``\\mathrm{slope}``; a subscript follows outside the braces) that names no function."""
    return name.isascii() and name.isalpha() and len(name) > 1 and not keyword.iskeyword(name)


def _read_number(text: str, i: int, end: int) -> tuple[list[_Token], int]:
    match = _NUMBER_RE.match(text, i, end)
    if match is None:
        raise ParseError(f"unexpected '{text[i]}' at column {i + 1}", i + 1)
    return [_Token("num", match.group(0), i + 1)], match.end()


def _read_letters(text: str, i: int, end: int) -> tuple[list[_Token], int]:
    """Letters are single-letter variables; a word that names a command is refused."""
    run = _LETTERS_RE.match(text, i, end).group(0)  # type: ignore[union-attr]
    in_subscript = text[i - 1 : i] == "_" or text[max(i - 2, 0) : i] == "_{"
    if run in _WORD_HINTS and not in_subscript:
        raise ParseError(
            f"'{run}' at column {i + 1} would be read as the product {'*'.join(run)}; "
            f"write {_WORD_HINTS[run]}",
            i + 1,
        )
    return [_Token("letter", ch, i + 1 + k) for k, ch in enumerate(run)], i + len(run)


def _read_char(text: str, i: int, end: int) -> tuple[list[_Token], int]:
    if text[i] in _RELATION_CHARS:
        return [_Token("rel", _RELATION_CHARS[text[i]], i + 1, text[i])], i + 1
    if text[i] == "&":
        return [_Token("char", "&", i + 1)], i + 1
    if text[i] not in _CHARS:
        raise ParseError(f"unexpected '{text[i]}' at column {i + 1}", i + 1)
    return [_Token("char", text[i], i + 1)], i + 1


def _reader(char: str) -> Callable[[str, int, int], tuple[list[_Token], int]]:
    if char == "\\":
        return _read_command
    if char.isascii() and (char.isdigit() or char == "."):
        return _read_number
    if char.isascii() and char.isalpha():
        return _read_letters
    return _read_char


def _tokenize(text: str, start: int, end: int) -> list[_Token]:
    tokens: list[_Token] = []
    i = start
    while i < end:
        if text[i] in _WHITESPACE:
            i += 1
            continue
        found, i = _reader(text[i])(text, i, end)
        tokens.extend(found)
    _check_braces(tokens)
    return tokens


def _check_braces(tokens: list[_Token]) -> None:
    """Report the first unbalanced TeX brace with its column."""
    open_columns: list[int] = []
    for tok in tokens:
        if tok.kind == "char" and tok.text == "{":
            open_columns.append(tok.column)
        elif tok.kind == "char" and tok.text == "}":
            if not open_columns:
                raise ParseError(f"'}}' at column {tok.column} has no matching '{{'", tok.column)
            open_columns.pop()
    if open_columns:
        column = open_columns[-1]
        raise ParseError(f"unbalanced brace: '{{' at column {column} is never closed", column)


# --------------------------------------------------------------------------- parser


class _Parser:
    """Recursive descent over the tokens; each method returns the emitted `_Node`."""

    def __init__(self, tokens: list[_Token], end_column: int):
        self.tokens = [*tokens, _Token("end", "", end_column)]
        self.pos = 0
        self.depth = 0
        self.in_bars = False  # inside |...|, where a '|' closes rather than opens
        self.differentiating: list[str] = []  # variables of the derivatives being read
        self.derivative_column: int | None = None  # where the first derivative was written
        self.d_variables: list[int] = []  # columns of 'd' read as a variable

    # -- token access
    @property
    def peek(self) -> _Token:
        return self.tokens[self.pos]

    def ahead(self, n: int) -> _Token:
        return self.tokens[min(self.pos + n, len(self.tokens) - 1)]

    def advance(self) -> _Token:
        tok = self.tokens[self.pos]
        if tok.kind != "end":
            self.pos += 1
        return tok

    def at(self, text: str, kind: str = "char") -> bool:
        return self.peek.kind == kind and self.peek.text == text

    @contextlib.contextmanager
    def nested(self, tok: _Token) -> Iterator[None]:
        self.depth += 1
        try:
            if self.depth > MAX_DEPTH:
                raise ParseError(
                    f"expression is nested too deeply (more than {MAX_DEPTH} levels) "
                    f"at column {tok.column}",
                    tok.column,
                )
            yield
        finally:
            self.depth -= 1

    # -- classification
    def starts_factor(self, tok: _Token) -> bool:
        if tok.kind in ("num", "letter", "name"):
            return True
        if tok.kind == "char":
            return tok.text in ("(", "[", "{") or (tok.text == "|" and not self.in_bars)
        return tok.kind == "cmd" and tok.text in _COMMAND_HANDLERS

    def ends_argument(self, tok: _Token) -> bool:
        """Whether ``tok`` ends the argument of a function written without parentheses."""
        if tok.kind == "name" or tok.text in FUNCTION_COMMANDS:
            return True
        if tok.text in ("\\sigma",):
            return self.at_paren(1)
        return tok.text in _OPENERS or tok.text == "\\left"

    def at_paren(self, offset: int = 0) -> bool:
        tok = self.ahead(offset)
        return tok.text == "(" or (tok.text == "\\left" and self.ahead(offset + 1).text == "(")

    # -- errors
    def stray(self, tok: _Token) -> ParseError:
        if tok.kind == "end":
            if self.pos == 0:
                return ParseError("empty expression")
            prev = self.tokens[self.pos - 1]
            wanted = "an exponent" if prev.text == "^" else "an operand"
            return ParseError(
                f"expression ends too early: expected {wanted} after '{prev.label}' at "
                f"column {prev.column}",
                tok.column,
            )
        if tok.text == "\\right":
            delim = self.ahead(1).text
            opener = _OPENER_OF.get(delim, delim)
            return ParseError(
                f"'\\right{delim}' without '\\left{opener}' at column {tok.column}", tok.column
            )
        if tok.text in _OPENER_OF and tok.text != "|":
            return ParseError(
                f"'{tok.text}' at column {tok.column} has no matching '{_OPENER_OF[tok.text]}'",
                tok.column,
            )
        return ParseError(f"unexpected '{tok.label}' at column {tok.column}", tok.column)

    # -- grammar
    def parse(self) -> _Node:
        if self.peek.kind == "end":
            raise ParseError("empty expression")
        node = self.expr()
        if self.peek.kind != "end":
            raise self.stray(self.peek)
        if self.derivative_column is not None and self.d_variables:
            raise ParseError(
                f"'d' at column {self.d_variables[0]} would be a variable next to the derivative "
                f"at column {self.derivative_column}; give the variable another name",
                self.d_variables[0],
            )
        return node

    def expr(self) -> _Node:
        with self.nested(self.peek):
            node = self.term()
            while self.peek.kind == "char" and self.peek.text in ("+", "-"):
                op = self.advance().text
                node = _binary(node, op, self.term())
        return node

    def term(self) -> _Node:
        node = self.unary()
        while True:
            tok = self.peek
            op = _MUL_OPS.get(tok.text) if tok.kind in ("char", "cmd") else None
            if op is not None:
                self.advance()
                node = _binary(node, op, self.unary())
            elif self.starts_factor(tok):
                node = self.implicit_factor(node)
            else:
                return node

    def implicit_factor(self, left: _Node) -> _Node:
        tok, prev = self.peek, self.tokens[self.pos - 1]
        if tok.kind == "num" and prev.kind == "num":
            raise ParseError(
                f"two numbers in a row at column {tok.column}; write an operator between them",
                tok.column,
            )
        return _binary(left, "*", self.power())

    def unary(self) -> _Node:
        tok = self.peek
        if tok.kind == "char" and tok.text in ("+", "-"):
            self.advance()
            with self.nested(tok):
                operand = self.unary()
            return operand if tok.text == "+" else _neg(operand)
        return self.power()

    def power(self) -> _Node:
        base = self.primary()
        tok = self.peek
        if self.at("_"):
            raise ParseError(
                f"a subscript must follow a letter, as in x_{{1}} (column {tok.column})", tok.column
            )
        if not self.at("^"):
            return base
        self.advance()
        exponent = self.script_arg(
            "^",
            f"the exponent after '^' at column {tok.column} needs braces, as in x^{{-1}}",
            tok.column,
        )
        node = _call("exp", [exponent]) if base.text in ("e", "E") else _pow(base, exponent)
        after = self.peek
        if self.at("^"):
            raise ParseError(
                f"double superscript at column {after.column}; use braces, as in {{x^{{a}}}}^{{b}}",
                after.column,
            )
        if self.at("_"):
            raise ParseError(
                f"put the subscript before the exponent, as in x_{{1}}^{{2}} (column "
                f"{after.column})",
                after.column,
            )
        return node

    def primary(self) -> _Node:
        tok = self.peek
        if tok.kind == "cmd":
            handler = _COMMAND_HANDLERS.get(tok.text)
        elif tok.kind == "char":
            handler = _Parser.group if tok.text in _OPENERS else None
        else:
            handler = _KIND_HANDLERS.get(tok.kind)
        if handler is None:
            raise self.stray(tok)
        return handler(self)

    # -- atoms
    def number(self) -> _Node:
        text = self.advance().text
        return _Node(text if "." in text else str(int(text)))

    def letter(self) -> _Node:
        tok = self.advance()
        if tok.text == "d" and tok.shown:
            raise ParseError(
                f"{tok.shown} at column {tok.column} is the differential d, read only in a "
                "derivative, as in \\frac{\\mathrm{d}}{\\mathrm{d}x}",
                tok.column,
            )
        if tok.text == "d":
            self.d_variables.append(tok.column)
        if tok.shown.startswith("\\mathrm") and self.at("("):
            raise ParseError(
                f"'{tok.shown}(' at column {tok.column}: symcalc knows no function {tok.text}; "
                f"write {tok.shown} \\cdot (...) for a product",
                tok.column,
            )
        node = self.variable(tok.text)
        self.check_unknown_function(tok, tok.text)
        return node

    def symbol(self) -> _Node:
        tok = self.advance()
        if tok.text in GREEK:
            node = self.variable(GREEK[tok.text])
            self.check_unknown_function(tok, GREEK[tok.text])
            return node
        return _Node(SYMBOLS[tok.text])

    def check_unknown_function(self, tok: _Token, name: str) -> None:
        """Refuse ``f(x)`` where it would silently be the product f·x.

        ``x(1 + x)`` is a product; but f, g and h before a bracket are function notation,
        and so is any letter before a bracket inside a derivative (``\\frac{d}{dx} y(x)``):
        symcalc knows no such functions, so these are refused rather than multiplied.
        """
        inside = bool(self.differentiating) and name not in (self.differentiating[-1], "e")
        if not (inside or name in _FUNCTION_LETTERS):
            return
        if self.at_paren():
            raise ParseError(
                f"'{tok.label}(' at column {tok.column}: symcalc knows no function {tok.label}, "
                f"and {tok.label}(...) is not read as a product here; write the formula itself, "
                f"or {tok.label} \\cdot (...) for a product",
                tok.column,
            )

    def variable(self, name: str) -> _Node:
        if self.at("_"):
            name = f"{name}_{self.subscript()}"
        return _Node(name)

    def subscript(self) -> str:
        self.advance()  # '_'
        tok = self.peek
        if not self.at("{"):
            self.advance()
            if tok.kind == "num" and len(tok.text) > 1:
                raise ParseError(
                    f"put '{tok.text}' in braces after '_', as in x_{{{tok.text}}} "
                    f"(column {tok.column})",
                    tok.column,
                )
            return _subscript_part(tok)
        self.advance()
        parts = []
        while not self.at("}"):
            parts.append(_subscript_part(self.advance()))
        if not parts:
            raise ParseError(f"empty group at column {tok.column}", tok.column)
        self.advance()
        return "".join(parts)

    def script_arg(self, what: str, message: str, column: int) -> _Node:
        """The argument of ``^``, ``\\frac``, ``\\sqrt``, ``\\log_``: a brace group or one token."""
        tok = self.peek
        if self.at("{"):
            return self.group()
        if tok.kind == "num" and len(tok.text) > 1:
            raise ParseError(
                f"put '{tok.text}' in braces after {what}, as in "
                f"{what}{{{tok.text}}} (column {tok.column})",
                tok.column,
            )
        if tok.kind == "letter":
            return self.letter()
        if tok.kind == "num":
            self.advance()
            return _Node(tok.text)
        if tok.kind == "cmd" and tok.text in SYMBOLS:
            self.advance()
            return _Node(SYMBOLS[tok.text])
        if tok.kind == "cmd" and tok.text in _SELF_DELIMITED:  # x^\frac{1}{2}, e^\sqrt{x}
            return _SELF_DELIMITED[tok.text](self)
        if tok.kind == "end" and what == "^":
            raise ParseError(
                f"expression ends too early: expected an exponent after '^' at column {column}",
                tok.column,
            )
        raise ParseError(message, column)

    # -- groups
    def group(self) -> _Node:
        items, is_abs = self.bracketed(allow_commas=False)
        return _call("Abs", items) if is_abs else items[0]

    def bracketed(self, allow_commas: bool) -> tuple[list[_Node], bool]:
        """A bracketed expression (or comma list); returns the items and whether it is |...|."""
        opener = self.advance()
        label, closer = opener.text, (_OPENERS.get(opener.text, ""),)
        if opener.text == "\\left":
            delim = self.advance()
            if delim.text not in _OPENERS or delim.kind not in ("char", "cmd"):
                raise ParseError(
                    f"\\left at column {opener.column} must be followed by a delimiter: ( [ \\{{ |",
                    opener.column,
                )
            label, closer = f"\\left{delim.text}", ("\\right", _OPENERS[delim.text])
        saved, self.in_bars = self.in_bars, opener.text == "|"
        try:
            if self.peek.kind == "end":
                raise ParseError(
                    f"'{label}' at column {opener.column} is never closed", opener.column
                )
            if self.closes(closer) and closer != ("|",):  # '||x||' opens twice
                raise ParseError(f"empty group at column {opener.column}", opener.column)
            items = [self.expr()]
            while allow_commas and self.at(","):
                self.advance()
                items.append(self.expr())
            self.expect(closer, opener, label)
        finally:
            self.in_bars = saved
        return items, label.replace("\\left", "") in _BARS

    def closes(self, closer: tuple[str, ...]) -> bool:
        return all(
            self.ahead(k).text == c and self.ahead(k).kind in ("char", "cmd")
            for k, c in enumerate(closer)
        )

    def expect(self, closer: tuple[str, ...], opener: _Token, label: str) -> None:
        if self.closes(closer):
            for _ in closer:
                self.advance()
            return
        tok = self.peek
        if tok.kind == "end":
            raise ParseError(f"'{label}' at column {opener.column} is never closed", opener.column)
        if tok.text == "\\right" and closer[0] == "\\right":
            shown = f"\\right{self.ahead(1).text}"
            raise ParseError(
                f"'{label}' at column {opener.column} is closed by '{shown}' at "
                f"column {tok.column}",
                tok.column,
            )
        if tok.text in _OPENER_OF and tok.text != "\\right":
            hint = f"; write '\\right{closer[1]}'" if closer[0] == "\\right" else ""
            raise ParseError(
                f"'{label}' at column {opener.column} is closed by '{tok.text}' at "
                f"column {tok.column}{hint}",
                tok.column,
            )
        raise self.stray(tok)

    # -- commands
    def argument_span(self, i: int) -> tuple[int, int, int] | None:
        """The tokens of a ``\\frac`` argument at index ``i``: (first, end, next index)."""
        tok = self.tokens[i]
        if tok.kind == "char" and tok.text == "{":
            depth = 0
            for j in range(i, len(self.tokens)):
                text, kind = self.tokens[j].text, self.tokens[j].kind
                depth += (kind == "char" and text == "{") - (kind == "char" and text == "}")
                if depth == 0:
                    return i + 1, j, j + 1
            return None
        if tok.kind in ("letter", "num", "cmd"):
            return i, i + 1, i + 1
        return None

    def leibniz(self, tok: _Token) -> _Node | None:
        """``\\frac{d}{dx} u``, ``\\frac{d^n u}{dx^n}``, ``\\frac{\\partial}{\\partial x}``: a
        derivative, emitted as ``Derivative(u, x, n)``; None for an ordinary fraction."""
        top = self.argument_span(self.pos)
        bottom = self.argument_span(top[2]) if top else None
        if top is None or bottom is None:
            return None
        mark = self.tokens[top[0]]
        if not (_is_differential(mark) and top[0] < top[1]):
            return None
        below = _differential(self.tokens[bottom[0] : bottom[1]])
        if below is None:
            return None
        shown = (
            f"{tok.text}{{{_source(self.tokens[top[0] : top[1]])}}}"
            f"{{{_source(self.tokens[bottom[0] : bottom[1]])}}}"
        )
        if isinstance(below, str):
            raise ParseError(f"{shown} at column {tok.column} {below}", tok.column)
        var_mark, name, order = below
        if var_mark != mark.text:
            raise ParseError(
                f"{shown} at column {tok.column} mixes {mark.text} and {var_mark}; "
                f"write {mark.text} above and below",
                tok.column,
            )
        self.pos = top[0] + 1
        top_order = 1
        if self.at("^"):
            self.advance()
            top_order = _order(self.script_arg("^", f"{shown}: an order after ^", tok.column))
        if top_order != order:
            raise ParseError(
                f"{shown} at column {tok.column}: the orders above ({top_order}) and below "
                f"({order}) differ",
                tok.column,
            )
        label = _leibniz_label(tok.text, mark.text, name, order)
        self.derivative_column = self.derivative_column or tok.column
        self.differentiating.append(name)
        try:
            if self.pos < top[1]:  # \frac{d u}{dx}: the numerator holds what is differentiated
                with self.nested(tok):
                    operand = self.expr()
                if self.pos != top[1]:
                    raise self.stray(self.peek)
                self.pos = bottom[2]
            else:  # \frac{d}{dx} u: the rest of the term is differentiated
                self.pos = bottom[2]
                operand = self.leibniz_operand(tok, label)
        finally:
            self.differentiating.pop()
        return _call("Derivative", [operand, _Node(name), _Node(str(order))])

    def leibniz_operand(self, tok: _Token, label: str) -> _Node:
        """What ``\\frac{d}{dx}`` applies to: a square bracket right after it alone
        (``\\frac{d}{dx}\\left[x\\right] \\tanh x`` is tanh x), else the factors after it, up
        to the end of the term.

        A '+', '-' or an explicit product or quotient after them would leave the reader
        guessing how far the derivative reaches, so it is refused unless what is
        differentiated is one bracketed group.
        """
        first = self.peek
        if not (self.starts_factor(first) or (first.kind == "char" and first.text in "+-")):
            raise ParseError(
                f"{label} at column {tok.column} needs something to differentiate after it, "
                f"as in {label}\\left(x^2\\right)",
                tok.column,
            )
        if first.text == "[" or (first.text == "\\left" and self.ahead(1).text == "["):
            # d/dx[u] v: the derivative of the square bracket alone, times v, as textbooks and
            # symcalc's own steps write it (it read as d/dx(u·v))
            with self.nested(tok):
                node = self.primary()
            if self.at("^"):
                written = f"\\left({label}\\left[u\\right]\\right)^{{2}}"
                raise ParseError(
                    f"'^' at column {self.peek.column} after {label}[...] is unclear; write "
                    f"{label}\\left[u^{{2}}\\right] or {written}",
                    self.peek.column,
                )
            return node
        bracketed = first.text == "\\left" or (first.text in _OPENERS and first.text != "|")
        factors = 1
        with self.nested(tok):
            node = self.unary()
            while self.starts_factor(self.peek):
                node = self.implicit_factor(node)
                factors += 1
        after = self.peek
        operator = after.kind in ("char", "cmd") and (after.text in "+-" or after.text in _MUL_OPS)
        if operator and after.text and not (bracketed and factors == 1):
            raise ParseError(
                f"{label} at column {tok.column} is followed by '{after.text}' at column "
                f"{after.column}: it is unclear how far the derivative reaches; put what is "
                f"differentiated in brackets, as in {label}\\left(...\\right)",
                after.column,
            )
        return node

    def cases(self) -> _Node:
        r"""``\begin{cases} u & \text{for}\: x > 0 \\ v & \text{otherwise} \end{cases}``,
        as SymPy prints a Piecewise: emitted as ``Piecewise((u, x > 0), (v, True))``."""
        tok = self.advance()
        rows: list[str] = []
        with self.nested(tok):
            while True:
                value = self.expr()
                if not self.at("&"):
                    raise ParseError(
                        f"a row of \\begin{{cases}} at column {tok.column} needs '&' between "
                        f"its value and its condition (at column {self.peek.column})",
                        self.peek.column,
                    )
                self.advance()
                condition, last = self.case_condition()
                rows.append(f"({value.text}, {condition})")
                if self.at("\\\\", "cmd"):
                    self.advance()
                if self.at("\\end{cases}", "cmd"):
                    self.advance()
                    break
                if self.peek.kind == "end":
                    raise ParseError(
                        f"\\begin{{cases}} at column {tok.column} is never closed", tok.column
                    )
                if last:
                    raise ParseError(
                        f"'otherwise' at column {self.peek.column} must be the last row of "
                        f"\\begin{{cases}} at column {tok.column}",
                        self.peek.column,
                    )
                if self.tokens[self.pos - 1].text != "\\\\":
                    raise self.stray(self.peek)
        return _Node(f"Piecewise({', '.join(rows)})")

    def case_condition(self) -> tuple[str, bool]:
        """The condition of a cases row (after ``&``), and whether it is 'otherwise'."""
        if self.peek.kind == "word" and self.peek.text == "otherwise":
            self.advance()
            return "True", True
        if self.peek.kind == "word":
            self.advance()
        return self.condition(), False

    def condition(self) -> str:
        """Relations joined by \\vee and \\wedge (\\wedge binds tighter), \\neg, brackets."""
        return self.joined("Or", self.conjunction)

    def conjunction(self) -> str:
        return self.joined("And", self.negation)

    def joined(self, word: str, operand: Callable[[], str]) -> str:
        """Operands joined by the logic token ``word``: one as it is, more as word(...)."""
        parts = [operand()]
        while self.peek.kind == "logic" and self.peek.text == word:
            self.advance()
            parts.append(operand())
        return parts[0] if len(parts) == 1 else f"{word}({', '.join(parts)})"

    def negation(self) -> str:
        tok = self.peek
        if tok.kind == "logic" and tok.text == "Not":
            self.advance()
            with self.nested(tok):
                return f"Not({self.negation()})"
        if self.bracket_holds_condition():
            opener = self.advance()
            closer: tuple[str, ...] = (")",)
            if opener.text == "\\left":
                self.advance()
                closer = ("\\right", ")")
            with self.nested(opener):
                inner = self.condition()
            self.expect(closer, opener, "(" if closer == (")",) else "\\left(")
            return inner
        return self.relation()

    def bracket_holds_condition(self) -> bool:
        """Whether a bracket opens here whose inside, at its own level, relates or joins."""
        if not self.at_paren():
            return False
        depth = 0
        for j in range(self.pos, len(self.tokens)):
            tok = self.tokens[j]
            if tok.kind == "char" and tok.text in "([{":
                depth += 1
            elif tok.kind == "char" and tok.text in ")]}":
                depth -= 1
                if depth == 0:
                    return False
            elif depth == 1 and tok.kind in ("rel", "logic"):
                return True
            elif tok.kind == "end":
                return False
        return False

    def relation(self) -> str:
        """``a < b``, chained ``a < x \\leq b``, ``a = b`` (Eq), ``a \\neq b`` (Ne)."""
        operands = [self.expr()]
        ops = []
        while self.peek.kind == "rel":
            ops.append(self.advance().text)
            operands.append(self.expr())
        if not ops:
            tok = self.peek
            raise ParseError(
                f"a condition of cases needs a relation such as x > 0 (column {tok.column})",
                tok.column,
            )
        relations = []
        for op, a, b in zip(ops, operands, operands[1:], strict=False):
            if op in ("==", "!="):
                relations.append(f"{'Eq' if op == '==' else 'Ne'}({a.text}, {b.text})")
            else:
                relations.append(f"({a.text}{op}{b.text})")
        return relations[0] if len(relations) == 1 else f"And({', '.join(relations)})"

    def partial(self) -> _Node:
        tok = self.peek
        raise ParseError(
            f"\\partial at column {tok.column} is read only in a derivative, as in "
            "\\frac{\\partial}{\\partial x}",
            tok.column,
        )

    def frac(self) -> _Node:
        tok = self.advance()
        derivative = self.leibniz(tok)
        if derivative is not None:
            return derivative
        return self.fraction(tok)

    def fraction(self, tok: _Token) -> _Node:
        """The two arguments of ``\\frac`` (``tok``, already read) as a quotient."""
        message = f"{tok.text} needs two groups: {tok.text}{{a}}{{b}} (column {tok.column})"
        digits = self.peek
        if digits.kind == "num" and len(digits.text) == 2 and digits.text.isdigit():  # \frac12
            self.advance()
            return _binary(_Node(digits.text[0]), "/", _Node(digits.text[1]))
        numerator = self.script_arg(tok.text, message, tok.column)
        denominator = self.script_arg(tok.text, message, tok.column)
        return _binary(numerator, "/", denominator)

    def script_frac(self) -> _Node:
        """A ``\\frac`` standing alone after ``^`` (``x^\\frac{1}{2}``): a fraction, never a
        derivative (how far ``x^\\frac{d}{dx} u`` reaches is unclear)."""
        tok = self.advance()
        if self.leibniz(tok) is not None:
            raise ParseError(
                f"a derivative after '^' at column {tok.column} needs braces around it and "
                "what it applies to",
                tok.column,
            )
        return self.fraction(tok)

    def sqrt(self) -> _Node:
        tok = self.advance()
        index = self.bracketed(allow_commas=False)[0][0] if self.at("[") else None
        radicand = self.script_arg(
            "\\sqrt", f"\\sqrt needs a group: \\sqrt{{u}} (column {tok.column})", tok.column
        )
        if index is None:
            return _call("sqrt", [radicand])
        return _pow(radicand, _binary(_Node("1"), "/", index))

    def sigma(self) -> _Node:
        """``\\sigma(x)`` is the sigmoid; a bare ``\\sigma`` is the variable sigma."""
        if self.at_paren(1):
            return self.apply(_Fn("sigmoid"), self.advance())
        return self.symbol()

    def gamma_or_psi(self) -> _Node:
        """``\\Gamma(x)`` is Euler's gamma function and ``\\psi(x)`` the digamma function,
        as SymPy prints them; a bare ``\\Gamma`` or ``\\psi`` is a variable."""
        if self.at_paren(1):
            tok = self.advance()
            return self.apply(_Fn("gamma" if tok.text == "\\Gamma" else "digamma"), tok)
        return self.symbol()

    def function_command(self) -> _Node:
        tok = self.advance()
        return self.apply(FUNCTION_COMMANDS[tok.text], tok)

    def named_function(self) -> _Node:
        tok = self.advance()
        spec = _function_spec(tok.text)
        assert spec is not None  # checked by the tokenizer
        return self.apply(spec, tok)

    def apply(self, fn: _Fn, tok: _Token) -> _Node:
        """A function call: optional base and power, then parenthesised or bare argument."""
        base = power = None
        if self.at("_"):
            if not fn.base and fn.subscript is None:
                raise ParseError(
                    f"{tok.label} takes no subscript (column {self.peek.column})", self.peek.column
                )
            self.advance()
            what = "\\log_" if fn.base else f"{tok.label}_"
            example = "\\log_{2} x" if fn.base else f"{tok.label}_{{1}}(x)"
            base = self.script_arg(
                what, f"{what} needs a subscript, as in {example} (column {tok.column})", tok.column
            )
        if self.at("^"):
            caret = self.advance()
            power = self.script_arg(
                "^", f"the exponent after '^' at column {caret.column} needs braces", caret.column
            )
            if power.text == "-1":
                raise ParseError(
                    f"'{tok.label}^{{-1}}' at column {tok.column} is ambiguous; "
                    f"write the inverse function (such as \\arcsin) or 1/{tok.label}(x)",
                    tok.column,
                )
        if self.at_paren():
            args, _ = self.bracketed(allow_commas=True)
        elif self.braced_parenthesis():  # SymPy's \log{\left(x \right)}^{2}: log(x)**2
            brace = self.advance()
            args, _ = self.bracketed(allow_commas=True)
            self.expect(("}",), brace, "{")
        elif fn.parens:
            raise ParseError(
                f"{tok.label} needs its arguments in parentheses, as in "
                f"{tok.label}(0, x) (column {tok.column})",
                tok.column,
            )
        else:
            args = [self.bare_argument(tok)]
        if fn.subscript is not None and base is not None:  # J_ν(x) is besselj(ν, x)
            _check_arity(fn, tok, len(args) + 1)
            args.insert(min(fn.subscript, len(args)), base)
            node = _call(fn.name, args)
        else:
            _check_arity(fn, tok, len(args))
            node = _call(fn.name, [*args, base] if base is not None else args)
        return _pow(node, power) if power is not None else node

    def braced_parenthesis(self) -> bool:
        r"""Whether a brace group holding one parenthesised group comes next: ``{(u)}`` or
        ``{\left(u \right)}``, the argument as SymPy writes it.  It reads as ``(u)``, which
        it looks like: a power after it raises the function (``\log{(x)}^{2}`` is log(x)²)
        and the argument ends there (``\sin{(x)} \sqrt{y}`` is sin(x)·√y)."""
        span = self.argument_span(self.pos) if self.at("{") else None
        if span is None or span[1] <= span[0]:
            return False
        first, end, _ = span
        tokens = self.tokens
        opens = tokens[first].text == "(" or (
            tokens[first].text == "\\left" and tokens[first + 1].text == "("
        )
        depth, j = 0, first
        while opens and j < end:
            tok = tokens[j]
            if tok.kind == "cmd" and tok.text in ("\\left", "\\right"):
                depth += 1 if tok.text == "\\left" else -1
                j += 1  # the delimiter after \left or \right
            elif tok.kind == "char" and tok.text in ("(", ")"):
                depth += 1 if tok.text == "(" else -1
            if depth == 0:
                return j == end - 1
            j += 1
        return False

    def bare_argument(self, tok: _Token) -> _Node:
        """``\\sin 2x``: the factors after a function, up to an operator, bracket or function."""
        first = self.peek
        if not (self.starts_factor(first) or (first.kind == "char" and first.text in ("+", "-"))):
            raise ParseError(
                f"{tok.label} at column {tok.column} needs an argument, as in "
                f"{tok.label}(x) or {tok.label} x",
                tok.column,
            )
        with self.nested(tok):
            node = self.unary()
            while self.starts_factor(self.peek) and not self.ends_argument(self.peek):
                node = self.implicit_factor(node)
        return node


def _source(tokens: list[_Token]) -> str:
    """Tokens written back as LaTeX, for messages."""
    out = ""
    for tok in tokens:
        if out and out[-1].isalpha() and tok.text[:1].isalpha() and "\\" in out.rsplit(" ", 1)[-1]:
            out += " "
        out += tok.label
    return out


def _is_differential(tok: _Token) -> bool:
    return (tok.kind == "letter" and tok.text == "d") or tok.text == "\\partial"


def _order(node: _Node) -> int:
    if not node.text.isdigit() or int(node.text) < 1:
        raise ParseError(f"the order of a derivative must be a whole number, not '{node.text}'")
    return int(node.text)


def _differential(tokens: list[_Token]) -> tuple[str, str, int] | str | None:
    """A Leibniz denominator ``dx``, ``dx^2``, ``d\\theta``, ``\\partial x_1``:
    (mark, variable name, order); a string saying what is wrong with one that starts
    like it; None for anything else (``\\frac{d}{2}`` is an ordinary fraction)."""
    if len(tokens) < 2 or not _is_differential(tokens[0]):
        return None
    var = tokens[1]
    if not (var.kind == "letter" or (var.kind == "cmd" and var.text in GREEK)):
        return None
    name = var.text if var.kind == "letter" else GREEK[var.text]
    if name == "e":
        return "differentiates by e, which is Euler's number; use another variable"
    k = 2
    if k < len(tokens) and tokens[k].text == "_":
        parts, k = _subscript_tokens(tokens, k + 1)
        if parts is None:
            return "has a subscript symcalc cannot read; write it as x_{1}"
        name = f"{name}_{parts}"
    order = 1
    if k < len(tokens) and tokens[k].text == "^":
        digits, k = _subscript_tokens(tokens, k + 1)
        if digits is None or not digits.isdigit() or int(digits) < 1:
            return "has an order that is not a whole number"
        order = int(digits)
    if k != len(tokens):
        if any(_is_differential(t) for t in tokens[k:]):
            return (
                "asks for a mixed derivative; differentiate by one variable at a time, "
                "as in \\frac{d}{dx}"
            )
        return "has more than one variable below the line; write \\frac{d}{dx} or \\frac{d^n}{dx^n}"
    return tokens[0].text, name, order


def _subscript_tokens(tokens: list[_Token], k: int) -> tuple[str | None, int]:
    """The text of a one-token or braced script at ``k``, and the index after it."""
    if k >= len(tokens):
        return None, k
    if tokens[k].text != "{":
        try:
            return _subscript_part(tokens[k]), k + 1
        except ParseError:
            return None, k + 1
    end = next((j for j in range(k, len(tokens)) if tokens[j].text == "}"), None)
    if end is None or end == k + 1:
        return None, len(tokens)
    try:
        return "".join(_subscript_part(t) for t in tokens[k + 1 : end]), end + 1
    except ParseError:
        return None, end + 1


def _leibniz_label(command: str, mark: str, name: str, order: int) -> str:
    shown = next((g for g, n in GREEK.items() if n == name), name)
    space = " " if mark == "\\partial" or shown.startswith("\\") else ""
    if order == 1:
        return f"{command}{{{mark}}}{{{mark}{space}{shown}}}"
    return f"{command}{{{mark}^{{{order}}}}}{{{mark}{space}{shown}^{{{order}}}}}"


def _subscript_part(tok: _Token) -> str:
    if (tok.kind == "num" and tok.text.isdigit()) or tok.kind == "letter":
        return tok.text
    if tok.kind == "cmd" and tok.text in GREEK:
        return GREEK[tok.text]
    raise ParseError(
        f"a subscript may hold only letters, digits and Greek letters, not "
        f"'{tok.label}' (column {tok.column})",
        tok.column,
    )


def _check_arity(fn: _Fn, tok: _Token, count: int) -> None:
    if count >= fn.low and (fn.high is None or count <= fn.high):
        return
    if fn.high is None:
        wanted = f"at least {fn.low} arguments"
    elif fn.low == fn.high:
        wanted = f"{fn.low} argument{'s' if fn.low != 1 else ''}"
    else:
        wanted = f"{fn.low} or {fn.high} arguments"
    raise ParseError(f"{tok.label} takes {wanted}, got {count} (column {tok.column})", tok.column)


_KIND_HANDLERS: dict[str, Callable[[_Parser], _Node]] = {
    "num": _Parser.number,
    "letter": _Parser.letter,
    "name": _Parser.named_function,
}
#: Commands that start a factor, and the parser method that reads each one.
_COMMAND_HANDLERS: dict[str, Callable[[_Parser], _Node]] = {
    **dict.fromkeys(SYMBOLS, _Parser.symbol),
    **dict.fromkeys(FUNCTION_COMMANDS, _Parser.function_command),
    **dict.fromkeys(("\\frac", "\\dfrac", "\\tfrac"), _Parser.frac),
    **dict.fromkeys(("\\left", "\\{", "\\lvert"), _Parser.group),
    "\\sqrt": _Parser.sqrt,
    "\\sigma": _Parser.sigma,
    "\\Gamma": _Parser.gamma_or_psi,
    "\\psi": _Parser.gamma_or_psi,
    "\\partial": _Parser.partial,
    "\\begin{cases}": _Parser.cases,
}
#: Commands whose arguments delimit them, so they stand alone after ``^`` as one token does
#: (``x^\\frac{1}{2}`` is x^{1/2} in LaTeX, ``e^\\sqrt{x}`` is e^{\\sqrt{x}}).
_SELF_DELIMITED: dict[str, Callable[[_Parser], _Node]] = {
    **dict.fromkeys(("\\frac", "\\dfrac", "\\tfrac"), _Parser.script_frac),
    "\\sqrt": _Parser.sqrt,
}
_KNOWN_COMMANDS = frozenset(
    [
        *_COMMAND_HANDLERS,
        *(op for op in _MUL_OPS if op.startswith("\\")),
        "\\right",
        "\\rvert",
        "\\}",
        "\\\\",  # the row break of a cases environment
        "\\end{cases}",
    ]
)


def latex_to_text(text: str) -> str:
    r"""Translate a LaTeX math formula into SymPy-syntax text that `symcalc.parse` reads.

    Parameters
    ----------
    text : str
        A formula in the LaTeX subset described in the module docstring, optionally
        inside ``$...$``, ``$$...$$``, ``\(...\)`` or ``\[...\]``.

    Returns
    -------
    str
        Python/SymPy-syntax text, parenthesised where precedence needs it.

    Raises
    ------
    ParseError
        For anything outside the subset (unknown commands, unbalanced braces,
        missing arguments, nesting deeper than `MAX_DEPTH`), with a one-line
        message and the 1-based ``column`` of the problem in ``text``.

    Examples
    --------
    >>> latex_to_text(r"x\tanh\left(\ln\left(1+e^{x}\right)\right)")
    'x*tanh(log(1+exp(x)))'
    >>> latex_to_text(r"\sigma(x)(1-\sigma(x)) + \max(0, x)")
    'sigmoid(x)*(1-sigmoid(x))+max(0, x)'
    >>> latex_to_text(r"\log_2 x + \sqrt[3]{w_{12}} - \sin 2x")
    'log(x, 2)+w_12**(1/3)-sin(2*x)'
    >>> latex_to_text(r"\frac{1}{x}.real")
    Traceback (most recent call last):
    ...
    symcalc.errors.ParseError: unexpected '.' at column 12
    """
    start, end = _strip_delimiters(text)
    tokens = _tokenize(text, start, end)
    return _Parser(tokens, end + 1).parse().text

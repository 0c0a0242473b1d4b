"""The parsed form of a filter: plain, frozen dataclasses with source positions.

Contract: a Program is plain data: every node is a NamedTuple of strings,
    numbers, tuples and other nodes, so it can be cached, compared and
    printed, and costs little to define at start-up; nothing here evaluates.
    (Nodes compare as tuples: compare their types too where it matters.)
    Texts are pre-split: a Template is a tuple of literal strings and VarRef
    pieces, so the interpreter only looks variables up.
Safety: n/a (no behaviour).
Errors: n/a.
See also: parser.py (builds these), interp/interpreter.py (runs them);
    class names follow the maildropfilter(7) keywords.
"""

from __future__ import annotations

from typing import NamedTuple

# TEXT


class VarRef(NamedTuple):
    """$NAME or ${NAME} inside a text, a word or a pattern."""

    name: str


class BadRef(NamedTuple):
    """${NAME without its closing brace: kept as text, warned about when used."""

    text: str


Piece = str | VarRef | BadRef
Template = tuple[Piece, ...]


class Literal(NamedTuple):
    """'single-quoted' text: no substitution."""

    value: str


class Substituted(NamedTuple):
    """"double-quoted" or unquoted text: variables substituted when evaluated."""

    template: Template


class Backtick(NamedTuple):
    """`command`: replaced by the command's output."""

    command: str
    line: int


TextPart = Literal | Substituted | Backtick


class PatternSpec(NamedTuple):
    """/pattern/:options,weight,factor"""

    template: Template
    options: str
    weights: tuple[float, ...]
    source: str


# EXPRESSIONS


class Text(NamedTuple):
    """Adjacent literals, words and commands, concatenated."""

    parts: tuple[TextPart, ...]
    line: int
    column: int


class Search(NamedTuple):
    """/pattern/ on its own: a search of the message."""

    pattern: PatternSpec
    line: int
    column: int


class MatchText(NamedTuple):
    """expression =~ /pattern/"""

    subject: Expr
    pattern: PatternSpec
    line: int
    column: int


class BinOp(NamedTuple):
    """+ - * / | & and the comparisons: == != < <= > >= lt le gt ge eq ne."""

    op: str
    left: Expr
    right: Expr
    line: int
    column: int


class And(NamedTuple):
    """a && b: a when a is false, else b."""

    left: Expr
    right: Expr
    line: int
    column: int


class Or(NamedTuple):
    """a || b: a when a is true, else b."""

    left: Expr
    right: Expr
    line: int
    column: int


class Not(NamedTuple):
    """! expression"""

    operand: Expr
    line: int
    column: int


class BitNot(NamedTuple):
    """~ expression"""

    operand: Expr
    line: int
    column: int


class Call(NamedTuple):
    """name(arguments), name argument, or name alone (time, gdbmclose)."""

    name: str
    args: tuple[Expr, ...]
    line: int
    column: int


class SetVar(NamedTuple):
    """NAME = expression as (the whole of) an expression: sets NAME, yields the value."""

    name: str
    value: Expr
    line: int
    column: int


Expr = Text | Search | MatchText | BinOp | And | Or | Not | BitNot | Call | SetVar

# STATEMENTS


class Assign(NamedTuple):
    """NAME=expression"""

    name: str
    value: Expr
    line: int


class To(NamedTuple):
    """to expression"""

    target: Expr
    line: int


class Cc(NamedTuple):
    """cc expression"""

    target: Expr
    line: int


class Echo(NamedTuple):
    """echo expression"""

    value: Expr
    line: int


class Exit(NamedTuple):
    """exit"""

    line: int


class Log(NamedTuple):
    """log expression"""

    value: Expr
    line: int


class Logfile(NamedTuple):
    """logfile expression"""

    path: Expr
    line: int


class System(NamedTuple):
    """system expression"""

    command: Expr
    line: int


class Xfilter(NamedTuple):
    """xfilter expression"""

    command: Expr
    line: int


class Include(NamedTuple):
    """include expression"""

    path: Expr
    line: int


class Import(NamedTuple):
    """import expression"""

    name: Expr
    line: int


class Unset(NamedTuple):
    """unset expression"""

    name: Expr
    line: int


class Block(NamedTuple):
    """{ statements }"""

    body: tuple[Stmt, ...]
    line: int


class If(NamedTuple):
    """if (cond) stmt [elsif (cond) stmt]... [else stmt]"""

    branches: tuple[tuple[Expr, Stmt | None], ...]
    orelse: Stmt | None
    has_else: bool
    line: int


class While(NamedTuple):
    """while (cond) stmt"""

    cond: Expr
    body: Stmt | None
    line: int


class Foreach(NamedTuple):
    """foreach /pattern/ stmt, or foreach (expression) =~ /pattern/ stmt"""

    pattern: PatternSpec
    subject: Expr | None
    body: Stmt | None
    line: int


class Exception_(NamedTuple):
    """exception { statements }"""

    body: Block
    line: int


class Dotlock(NamedTuple):
    """dotlock expression { statements }"""

    path: Expr
    body: Block
    line: int


class Flock(NamedTuple):
    """flock expression { statements }"""

    path: Expr
    body: Block
    line: int


class ExprStmt(NamedTuple):
    """An expression on its own (a function call such as gdbmstore(...))."""

    expr: Expr
    line: int


Stmt = (Assign | To | Cc | Echo | Exit | Log | Logfile | System | Xfilter | Include | Import
        | Unset | Block | If | While | Foreach | Exception_ | Dotlock | Flock | ExprStmt)


class Program(NamedTuple):
    """A whole filter file."""

    path: str
    body: tuple[Stmt, ...]

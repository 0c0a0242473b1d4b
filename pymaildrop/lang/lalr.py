"""LALR(1) tables for the filter grammar, and the small driver that runs them.

Contract: tables() -> Tables, loaded once per process; run(tokens, tables)
    -> Tree, or Unexpected(token, expected).  Lark computes the tables from
    grammar/maildropfilter.lark (build_tables); they are kept as plain JSON:
    shipped in the wheel (hatch_build.py) or saved beside the grammar in a
    checkout, so a delivery parses without importing Lark (which costs
    ~45 ms and ~10 MiB).  Trees have Lark's shape: rules named _x spliced
    into their parent, a one-child ?rule replaced by that child unless the
    alternative has an alias, every (named) terminal kept.
Safety: JSON, never pickle, and never Lark(cache=True), which unpickles a
    file with a predictable name in /tmp (lark-parser/lark#1628).  Saved
    tables are used only when their key matches the grammar, and only from a
    file owned by root or by us that nobody else can write.
Errors: Unexpected, which parser.py turns into a FilterSyntaxError.
See also: parser.py; Lark's parsers/lalr_parser_state.py (the same loop).
"""

from __future__ import annotations

import functools
import json
import os
import zlib
from collections.abc import Sequence
from typing import Any, NamedTuple

from pymaildrop.lang.lexer import Token

FORMAT = 1
TABLES_NAME = "maildropfilter.tables.json"
_SHIFT, _REDUCE = 0, 1

_HERE = os.path.dirname(os.path.abspath(__file__))
_PACKAGE = os.path.dirname(_HERE)
_GRAMMAR_CANDIDATES = (
    os.path.join(_PACKAGE, "grammar", "maildropfilter.lark"),                   # a wheel
    os.path.join(os.path.dirname(_PACKAGE), "grammar", "maildropfilter.lark"),  # a checkout
)


class Tree:
    """A node of the parse tree: a rule name and its children."""

    __slots__ = ("data", "children")

    def __init__(self, data: str, children: list[Any]) -> None:
        self.data = data
        self.children = children

    def __repr__(self) -> str:
        return f"Tree({self.data!r}, {self.children!r})"


class Rule(NamedTuple):
    """What a reduction builds: the rule's name (or alias) and how."""

    origin: str           # the non-terminal the rule reduces to (for the goto)
    name: str             # the tree's name: the alias, else the origin
    size: int             # symbols on the right-hand side
    splice: tuple[int, ...]  # positions of _rules whose children are spliced in
    expand1: bool         # ?rule without alias: a single child replaces the node


class Tables(NamedTuple):
    """The LALR(1) automaton."""

    key: str
    start: int
    end: int
    rules: list[Rule]
    states: list[dict[str, tuple[int, int]]]


class Unexpected(Exception):
    """The parser met a token no rule expects here."""

    def __init__(self, token: Token, expected: set[str]) -> None:
        super().__init__(token)
        self.token = token
        self.expected = expected


def grammar_path() -> str:
    """Return the path of the grammar file in use."""
    for path in _GRAMMAR_CANDIDATES:
        if os.path.exists(path):
            return path
    raise FileNotFoundError("grammar/maildropfilter.lark is missing from the installation")


def tables_key(grammar: str) -> str:
    """Return the key tables must carry to be used with this grammar."""
    data = grammar.encode("utf-8")
    return f"format={FORMAT} grammar={zlib.crc32(data):08x}-{zlib.adler32(data):08x}-{len(data)}"


# RUNNING


def run(tokens: Sequence[Token], tables: Tables) -> Tree:
    """Parse tokens into a tree; raise Unexpected at the first token that cannot go on."""
    states, rules = tables.states, tables.rules
    state_stack = [tables.start]
    value_stack: list[Any] = []
    last = tokens[-1] if tokens else None
    end = Token("$END", "", last.line if last else 1, (last.column + 1) if last else 1)
    for tok in (*tokens, end):
        while True:
            actions = states[state_stack[-1]]
            step = actions.get(tok.type)
            if step is None:
                raise Unexpected(tok, {t for t in actions if t.isupper()})
            action, arg = step
            if action == _SHIFT:
                state_stack.append(arg)
                value_stack.append(tok)
                break
            rule = rules[arg]
            if rule.size:
                children = value_stack[-rule.size:]
                del state_stack[-rule.size:]
                del value_stack[-rule.size:]
            else:
                children = []
            value = _build(rule, children)
            state_stack.append(states[state_stack[-1]][rule.origin][1])
            value_stack.append(value)
            if tok is end and state_stack[-1] == tables.end:
                return value_stack[-1]  # type: ignore[no-any-return]
    raise AssertionError("the parser ended without accepting")  # pragma: no cover


def _build(rule: Rule, children: list[Any]) -> Any:
    if rule.splice:
        # A left-recursive list (_stmts: _stmts stmt) splices its first child:
        # grow that child's list in place (the child is dropped) instead of
        # copying it, or parsing n statements would take n*n steps.  Lark's
        # ChildFilterLALR does the same.
        out: list[Any]
        if 0 in rule.splice:
            out = children[0].children
            rest = enumerate(children[1:], 1)
        else:
            out = []
            rest = enumerate(children)
        for i, child in rest:
            if i in rule.splice:
                out.extend(child.children)
            else:
                out.append(child)
        children = out
    if rule.expand1 and len(children) == 1:
        return children[0]
    return Tree(rule.name, children)


# LOADING, BUILDING AND SAVING


@functools.cache
def tables() -> Tables:
    """Return the tables for the grammar in use (built with Lark if none are saved)."""
    gpath = grammar_path()
    with open(gpath, encoding="utf-8") as f:
        grammar = f.read()
    key = tables_key(grammar)
    saved = os.path.join(os.path.dirname(gpath), TABLES_NAME)
    data = _load(saved, key)
    if data is None:
        data = build_tables(grammar)
        _save_beside_grammar(data, saved)
    return _from_data(data)


def _load(path: str, key: str) -> dict[str, Any] | None:
    try:
        with open(path, encoding="utf-8") as f:
            if not _trusted(f.fileno()):
                return None
            data: dict[str, Any] = json.load(f)
    except (OSError, ValueError):
        return None
    return data if data.get("key") == key else None


def _trusted(fd: int) -> bool:
    # SECURITY: owned by root or by us, and nobody else can change it.
    st = os.fstat(fd)
    return st.st_uid in (0, os.geteuid()) and not st.st_mode & 0o022


def _from_data(data: dict[str, Any]) -> Tables:
    rules = [Rule(r[0], r[1], r[2], tuple(r[3]), bool(r[4])) for r in data["rules"]]
    states = [{t: (a[0], a[1]) for t, a in actions.items()} for actions in data["states"]]
    return Tables(data["key"], data["start"], data["end"], rules, states)


def build_tables(grammar: str) -> dict[str, Any]:
    """Let Lark compute the LALR(1) tables of grammar; return them as plain data."""
    import lark
    from lark.parsers.lalr_analysis import Shift

    parser = lark.Lark(grammar, parser="lalr", lexer=_no_lexer(), start="start")
    table = parser.parser.parser.parser.parse_table
    rule_index: dict[Any, int] = {}
    rules: list[list[Any]] = []
    for rule in parser.rules:
        rule_index[rule] = len(rules)
        rules.append([
            str(rule.origin.name), str(rule.alias or rule.origin.name), len(rule.expansion),
            [i for i, sym in enumerate(rule.expansion)
             if not sym.is_term and sym.name.startswith("_")],
            bool(rule.options.expand1 and not rule.alias),
        ])
        # COMPAT: every terminal is a declared, named one; Lark would filter
        # anonymous ones, which this grammar does not have.
        assert all(not (sym.is_term and getattr(sym, "filter_out", False))
                   for sym in rule.expansion)
    states: list[dict[str, list[int]]] = [{} for _ in range(len(table.states))]
    for state, actions in table.states.items():
        for symbol, (action, arg) in actions.items():
            step = [_SHIFT, arg] if action is Shift else [_REDUCE, rule_index[arg]]
            states[state][str(symbol)] = step
    return {"key": tables_key(grammar), "start": table.start_states["start"],
            "end": table.end_states["start"], "rules": rules, "states": states}


def write_tables(data: dict[str, Any], path: str) -> None:
    """Write tables as JSON."""
    with open(path, "w", encoding="utf-8") as f:
        json.dump(data, f, separators=(",", ":"))


def _save_beside_grammar(data: dict[str, Any], path: str) -> None:
    """In a checkout we own, keep built tables for the next process (atomically)."""
    directory = os.path.dirname(path)
    tmp = f"{path}.{os.getpid()}.tmp"
    try:
        st = os.stat(directory)
        if st.st_uid != os.geteuid() or st.st_mode & 0o022:
            return
        write_tables(data, tmp)
        os.replace(tmp, path)
    except OSError:
        try:
            os.unlink(tmp)
        except OSError:
            pass


def _no_lexer() -> Any:
    from lark.lexer import Lexer

    class NoLexer(Lexer):
        """Tables only: the tokens come from lexer.py, never from Lark."""

        def __init__(self, conf: Any) -> None:
            pass

        def lex(self, data: Any) -> Any:  # type: ignore[override]
            raise NotImplementedError

    return NoLexer

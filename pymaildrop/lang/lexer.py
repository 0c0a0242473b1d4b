"""Split a filter file into tokens the way maildrop's lexer does.

Contract: tokenize(text, path) -> list[Token]; every Token has a type named
    in grammar/maildropfilter.lark (%declare), a value and its line/column.
    The lexer is context-sensitive, as maildrop's is:
      - a newline, ';' or a carriage return is a statement separator (SEP);
        comments run to the end of the line; a backslash followed by a blank
        or a newline continues the statement on the next line, dropping the
        rest of its own line (inside quotes only blanks may follow it);
      - 'else'/'elsif' directly after one separator become one ELSE/ELSIF
        token, which is how maildrop insists that they open the line right
        after the if's statement (a blank line in between is an error);
      - '/' opens a pattern, unless a blank follows it (division) or it comes
        right after '=', 'to' or 'cc' (then it starts unquoted text);
      - '-' followed by a text character starts unquoted text ("-5", "0-5");
      - a word or quoted string at the start of a statement and followed by
        a single '=' is the name of an assignment (NAME).
Safety: pure function of its input; no I/O.
Errors: FilterSyntaxError with file, line and column.
See also: maildropfilter(7) "Lexical structure", "Literal text", "Unquoted
    text", "Patterns"; parser.py (the grammar that consumes the tokens).
"""

from __future__ import annotations

import re
from typing import NamedTuple

from pymaildrop.errors import FilterSyntaxError

# Statement keywords.  A word spelled exactly like one of these is the keyword.
KEYWORDS = {
    "cc": "CC", "dotlock": "DOTLOCK", "echo": "ECHO", "else": "ELSE_WORD",
    "elsif": "ELSIF_WORD", "exception": "EXCEPTION", "exit": "EXIT", "flock": "FLOCK",
    "foreach": "FOREACH", "if": "IF", "import": "IMPORT", "include": "INCLUDE",
    "log": "LOG", "logfile": "LOGFILE", "system": "SYSTEM", "to": "TO", "unset": "UNSET",
    "while": "WHILE", "xfilter": "XFILTER",
    "lt": "STRCMP", "le": "STRCMP", "gt": "STRCMP", "ge": "STRCMP", "eq": "STRCMP",
    "ne": "STRCMP",
}

# Functions, by how they take their arguments.
FUNCTIONS_ONE_ARG = frozenset({"escape", "getaddr", "hasaddr", "length", "tolower", "toupper"})
FUNCTIONS_NO_ARG = frozenset({"time", "gdbmclose"})
FUNCTIONS_ARG_LIST = frozenset({"lookup", "substr", "gdbmopen", "gdbmfetch", "gdbmstore"})
_FUNCTIONS = FUNCTIONS_ONE_ARG | FUNCTIONS_NO_ARG | FUNCTIONS_ARG_LIST

_WORD_START = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.:$@")
_WORD_CHARS = _WORD_START | frozenset("-/{}")
_BLANKS = " \t\f\v"
_CONTINUE = frozenset("\n\r \t\f\v")     # after a backslash: a continuation

# Operators, longest first.
_OPERATORS = [
    ("=~", "MATCHOP"), ("==", "NUMCMP"), ("!=", "NUMCMP"), ("<=", "NUMCMP"),
    (">=", "NUMCMP"), ("||", "OROR"), ("&&", "ANDAND"),
    ("<", "NUMCMP"), (">", "NUMCMP"), ("=", "ASSIGN"), ("|", "BOR"), ("&", "BAND"),
    ("+", "PLUS"), ("-", "MINUS"), ("*", "STAR"), ("!", "BANG"), ("~", "TILDE"),
    ("(", "LPAR"), (")", "RPAR"), ("{", "LBRACE"), ("}", "RBRACE"), (",", "COMMA"),
]

# After these, a leading '/' is text, not a pattern (maildropfilter(7)).
_SLASH_IS_TEXT_AFTER = frozenset({"ASSIGN", "TO", "CC"})

# What follows /pattern/: is a run of these characters, read the way
# maildrop 2.9.3 reads it: every letter anywhere is an option (unknown ones
# do nothing); the first weight is the first number, wherever it starts; a
# second follows it after letters and one comma.  A number is read as C's
# strtod reads it (hex, inf, nan; a lone sign or dot is 0); the rest is
# ignored, so /x/:b,2+1 weighs 2 -- it is not 2 plus 1.
_CONTINUATION_RE = re.compile(r"[ \t\r\f\v]*\n")
_SUFFIX_RE = re.compile(r"[A-Za-z0-9+\-.,]*")
_NUMBER_START = frozenset("0123456789+-.")
_STRTOD_RE = re.compile(
    r"[-+]?(?:0[xX](?:[0-9a-fA-F]+\.?[0-9a-fA-F]*|\.[0-9a-fA-F]+)(?:[pP][-+]?\d+)?"
    r"|(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
    r"|(?i:inf(?:inity)?|nan))")


class Token(NamedTuple):
    """One token: its grammar type, value and position (1-based)."""

    type: str
    value: object
    line: int
    column: int


class PatternToken(NamedTuple):
    """The parts of /pattern/:options,weight1,weight2."""

    text: str
    options: str
    weights: tuple[float, ...]


class _Lexer:
    def __init__(self, text: str, path: str) -> None:
        self.text = text
        self.path = path
        self.pos = 0
        self.line = 1
        self.line_start = 0
        self.tokens: list[Token] = []
        self.stmt_start = True

    # POSITIONS AND ERRORS

    def column(self, pos: int | None = None) -> int:
        return (self.pos if pos is None else pos) - self.line_start + 1

    def error(self, message: str, line: int | None = None, column: int | None = None
              ) -> FilterSyntaxError:
        line = self.line if line is None else line
        column = self.column() if column is None else column
        lines = self.text.split("\n")
        source = lines[line - 1] if 0 < line <= len(lines) else None
        return FilterSyntaxError(self.path, line, column, message, source)

    def newline_at(self, pos: int) -> None:
        self.line += 1
        self.line_start = pos + 1

    # MAIN LOOP

    def run(self) -> list[Token]:
        text = self.text
        while self.pos < len(text):
            ch = text[self.pos]
            if ch in _BLANKS:
                self.pos += 1
            elif ch == "\\" and self.peek(1) in _CONTINUE:
                # A backslash and a blank continue the statement on the next
                # line and drop the rest of this one, as in maildrop.
                end = text.find("\n", self.pos)
                if end < 0:
                    self.pos = len(text)
                else:
                    self.newline_at(end)
                    self.pos = end + 1
            elif ch == "#":
                end = text.find("\n", self.pos)
                self.pos = len(text) if end < 0 else end
            elif ch in "\n;\r":
                # A CR ends a statement as a newline does (a CRLF file has two
                # separators per line, as in maildrop), but it starts no line.
                self.emit("SEP", ch, self.pos)
                if ch == "\n":
                    self.newline_at(self.pos)
                self.pos += 1
            elif ch in "\"'`":
                self.quoted(ch)
            elif ch == "/":
                self.slash()
            elif ch in _WORD_START or (ch == "-" and self.peek(1) in _WORD_CHARS
                                        and self.peek(1) != ""):
                self.word()
            else:
                self.operator()
        return self.tokens

    def peek(self, offset: int) -> str:
        i = self.pos + offset
        return self.text[i] if i < len(self.text) else ""

    def emit(self, type_: str, value: object, start: int, line: int | None = None,
             column: int | None = None) -> None:
        line = self.line if line is None else line
        column = self.column(start) if column is None else column
        if type_ in ("ELSE_WORD", "ELSIF_WORD"):
            type_ = self.merge_else(type_)
        self.tokens.append(Token(type_, value, line, column))
        self.stmt_start = type_ in ("SEP", "LBRACE")

    def merge_else(self, type_: str) -> str:
        """Fold one separator before else/elsif into the token (see module doc)."""
        toks = self.tokens
        if toks and toks[-1].type == "SEP" and (len(toks) < 2 or toks[-2].type != "SEP"):
            toks.pop()
            return "ELSE" if type_ == "ELSE_WORD" else "ELSIF"
        return type_

    # TOKENS

    def operator(self) -> None:
        text, start = self.text, self.pos
        for op, type_ in _OPERATORS:
            if text.startswith(op, start):
                if type_ == "ASSIGN" and not self.assignment_ok():
                    raise self.error("'=' here: assignment needs a variable name before it "
                                     "(did you mean '==' to compare?)")
                self.pos += len(op)
                self.emit(type_, op, start)
                return
        raise self.error(f"unexpected character {text[start]!r}")

    def assignment_ok(self) -> bool:
        """An '=' must follow a name: at the start of a statement (NAME), or a
        word or "string" inside an expression (the grammar decides where)."""
        toks = self.tokens
        return bool(toks) and toks[-1].type in ("NAME", "WORD", "DQSTRING")

    def word(self) -> None:
        text, start = self.text, self.pos
        end = start + 1
        while end < len(text) and text[end] in _WORD_CHARS:
            end += 1
        self.pos = end
        value = text[start:end]
        kw = KEYWORDS.get(value)
        if kw is None and value not in _FUNCTIONS and self.stmt_start \
                and self.followed_by_assign():
            self.emit("NAME", value, start)
        elif kw is not None:
            self.emit(kw, value, start)
        elif value in FUNCTIONS_ONE_ARG:
            self.emit("FUNC1", value, start)
        elif value in FUNCTIONS_NO_ARG:
            self.emit("FUNC0", value, start)
        elif value in FUNCTIONS_ARG_LIST:
            self.emit("FUNCN", value, start)
        else:
            self.emit("WORD", value, start)

    def followed_by_assign(self) -> bool:
        """True when blanks and then a single '=' (not '==' or '=~') come next."""
        i = self.pos
        text = self.text
        while i < len(text) and text[i] in _BLANKS:
            i += 1
        return text.startswith("=", i) and not text.startswith(("==", "=~"), i)

    def slash(self) -> None:
        start = self.pos
        prev = self.tokens[-1].type if self.tokens else None
        if prev in _SLASH_IS_TEXT_AFTER:
            self.word()
            return
        nxt = self.peek(1)
        if nxt == "" or nxt in _BLANKS or nxt == "\n":
            self.pos += 1
            self.emit("SLASH", "/", start)
            return
        self.pattern(start)

    def pattern(self, start: int) -> None:
        text = self.text
        i = start + 1
        chars: list[str] = []
        while True:
            if i >= len(text) or text[i] in "\n\r":
                raise self.error("pattern is missing its closing '/'", column=self.column(start))
            ch = text[i]
            if ch == "\\" and i + 1 < len(text) and text[i + 1] not in "\n\r":
                chars.append(text[i:i + 2])
                i += 2
                continue
            if ch == "/":
                break
            chars.append(ch)
            i += 1
        i += 1
        options = ""
        weights: tuple[float, ...] = ()
        if text.startswith(":", i):
            m = _SUFFIX_RE.match(text, i + 1)
            assert m is not None
            options, weights = pattern_suffix(m.group())
            i = m.end()
        self.pos = i
        self.emit("PATTERN", PatternToken("".join(chars), options, weights), start)

    def quoted(self, quote: str) -> None:
        """Read '...', "..." or `...`; only backslash-backslash and backslash-quote
        lose their backslash; backslash-newline and the next line's indent vanish."""
        text, start = self.text, self.pos
        line, column = self.line, self.column()
        i = start + 1
        out: list[str] = []
        while True:
            if i >= len(text) or text[i] in "\n\r":
                cr = " (a carriage return ends it too)" if i < len(text) and text[i] == "\r" \
                    else ""
                raise self.error(f"string opened with {quote} is not closed on this line"
                                 f"{cr} (end a line with \\ to continue it)", line, column)
            ch = text[i]
            if ch == quote:
                break
            if ch == "\\":
                nxt = text[i + 1] if i + 1 < len(text) else ""
                if nxt in ("\\", quote):
                    out.append(nxt)
                    i += 2
                    continue
                end = _CONTINUATION_RE.match(text, i + 1)
                if end is not None:             # backslash, blanks, newline
                    i = end.end()
                    self.newline_at(i - 1)
                    while i < len(text) and text[i] in " \t":
                        i += 1
                    continue
            out.append(ch)
            i += 1
        self.pos = i + 1
        type_ = {"'": "SQSTRING", '"': "DQSTRING", "`": "BTSTRING"}[quote]
        if self.stmt_start and type_ == "DQSTRING" and self.followed_by_assign():
            type_ = "NAME"
        self.emit(type_, "".join(out), start, line, column)


def tokenize(text: str, path: str) -> list[Token]:
    """Split filter text into tokens; raise FilterSyntaxError on a lexical error."""
    return _Lexer(text, path).run()


def pattern_suffix(suffix: str) -> tuple[str, tuple[float, ...]]:
    """The options and weights in the text after /pattern/: (see _SUFFIX_RE)."""
    options = "".join(c for c in suffix if c.isalpha())
    i = 0
    while i < len(suffix) and suffix[i] not in _NUMBER_START:
        i += 1
    if i == len(suffix):
        return options, ()
    first, i = _strtod(suffix, i)
    while i < len(suffix) and suffix[i].isalpha():
        i += 1
    if suffix.startswith(",", i) and suffix[i + 1:i + 2] in _NUMBER_START - {""}:
        second, _ = _strtod(suffix, i + 1)
        return options, (first, second)
    return options, (first,)


def _strtod(text: str, i: int) -> tuple[float, int]:
    m = _STRTOD_RE.match(text, i)
    if m is None:
        return 0.0, i
    number = m.group()
    if "x" in number or "X" in number:
        return float.fromhex(number), m.end()
    return float(number), m.end()

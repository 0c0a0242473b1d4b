"""Hypothesis strategies for filter text: arbitrary, token soup, mutated, generated.

Four families, from least to most structured:

* arbitrary_text() -- any str at all: control characters, lone surrogates
  (bytes decoded with surrogateescape, as load_filter does), very long lines.
* token_soup() -- random sequences of the language's own tokens (keywords,
  operators, braces, quotes, patterns, separators), which reach far deeper
  into the parser than random characters do.
* mutated_filters() -- the real filters we have (samples/**/*.mailfilter and
  the conformance corpus), with a few characters, tokens or lines deleted,
  inserted, duplicated or swapped.
* generated_filters() -- valid filters built from the grammar: assignments,
  if/elsif/else with maildrop's layout rules, bounded while loops, foreach,
  exception, dotlock/flock, every operator at every precedence level,
  patterns with options and weights, function calls, deliveries.  Each comes
  with what it names (mailboxes, log file, lock files) and the exit statuses
  it may ask for, so a test can check that a run touched nothing else.

The generated filters only name files relative to the current directory
(the sandbox) and only run harmless commands (echo, printf, true, false,
cat, sed, exit N), so they can be run for real.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from hypothesis import strategies as st

ROOT = Path(__file__).resolve().parents[2]
SHARED = ROOT.parent / "shared"


# THE CORPUS OF REAL FILTERS


def corpus_paths() -> list[Path]:
    """The sample filters and the conformance filters (when ../shared is there)."""
    paths = sorted(ROOT.glob("samples/**/*.mailfilter"))
    paths += sorted((SHARED / "conformance" / "cases").glob("*/*/filter"))
    return paths


def _load_corpus() -> list[str]:
    texts = [p.read_bytes().decode("utf-8", "surrogateescape") for p in corpus_paths()]
    # A few hand-written snippets that exercise the layout rules densely.
    texts += [
        "if (1)\nif (0)\necho a\nelse\necho b",
        "A=(1 + 2 * 3 | 4 & 5 == 6 || 7 && !~8)",
        "foreach (getaddr $MATCH) =~ /.+/:b,1,2\n{\n}",
        "X=tolower $A $B\nY=substr($S, 1, 2)\nZ=time\ngdbmclose",
        'exception {\n dotlock "x" {\n  flock "y" {\n  }\n }\n}',
        "if (0)\n\nwhile (1) ; exit",
        "if (/^Subject: (.*)/:h)\n{\n  S=$MATCH1\n}\nelsif ($SIZE > 10)\n  echo big\nelse\n"
        "{\n  echo \"small \\\"x\\\"\" 'q' `echo y`\n}\n",
    ]
    return texts


CORPUS: list[str] = _load_corpus()


# 1. ARBITRARY TEXT


def _surrogate_text() -> st.SearchStrategy[str]:
    """Bytes as a filter file holds them, decoded the way load_filter decodes them."""
    return st.binary(max_size=300).map(lambda b: b.decode("utf-8", "surrogateescape"))


def _long_line_text() -> st.SearchStrategy[str]:
    """A short text with one very long run of a character in it."""
    return st.builds(
        lambda head, ch, n, tail: head + ch * n + tail,
        st.text(max_size=20), st.sampled_from(list("a(\"'`/{!-#$\\ 1")),
        st.integers(1_000, 20_000), st.text(max_size=20))


def arbitrary_text() -> st.SearchStrategy[str]:
    """Any text: unicode (control characters included), surrogates, long lines."""
    return st.one_of(
        st.text(max_size=300),
        st.text(st.characters(codec="ascii"), max_size=300),
        _surrogate_text(),
        _long_line_text(),
    )


# 2. TOKEN SOUP

KEYWORDS = ["if", "elsif", "else", "while", "foreach", "to", "cc", "echo", "exit",
            "exception", "dotlock", "flock", "log", "logfile", "system", "xfilter",
            "include", "import", "unset", "lt", "le", "gt", "ge", "eq", "ne"]
FUNCTIONS = ["escape", "getaddr", "hasaddr", "length", "lookup", "substr", "tolower",
             "toupper", "time", "gdbmopen", "gdbmfetch", "gdbmstore", "gdbmclose"]
OPERATORS = ["=~", "==", "!=", "<=", ">=", "||", "&&", "<", ">", "=", "|", "&", "+", "-",
             "*", "/", "!", "~", "(", ")", "{", "}", ","]
SOUP_EXTRAS = ["\n", "\n", ";", "\\\n", "# comment\n", " ", "\t", "\r\n", '"cr\rin"',
               "\r",
               "A", "B1", "x.y", "a/b", "0", "12", "-3", "3.5", "0-5", "$A", "${B}", "$1",
               "'lit'", '"dq $A"', '"a\\"b"', "`echo x`", "/pat/", "/^Subject: (.*)/:h",
               "/x/:b,10,0.5", "/a/:D", '"unterminated', "'", '"', "`", "${", "$", "\\",
               "#", "@", ":"]
# Characters a mutation inserts: the ones with meaning to the lexer.
SPECIAL_CHARS = list("{}()\"'`/\\;\n#=!~|&$-+*<>,:@.\t\r ") + ["\x00", "\udcff", "é"]


def token_soup() -> st.SearchStrategy[str]:
    """Random sequences of the language's tokens, with or without blanks between."""
    token = st.sampled_from(KEYWORDS + FUNCTIONS + OPERATORS + SOUP_EXTRAS)
    glue = st.sampled_from(["", " ", " ", "\n"])
    return st.lists(st.tuples(token, glue), max_size=40).map(
        lambda pairs: "".join(t + g for t, g in pairs))


# 3. MUTATED REAL FILTERS

# A "token" for mutation purposes: a word, a quoted string, a run of blanks, or
# one other character.
_TOKEN_RE = re.compile(r"""[A-Za-z0-9_.:$@{}/-]+|"[^"\n]*"|'[^'\n]*'|`[^`\n]*`|[ \t]+|.""",
                       re.DOTALL)

_INSERTIONS = SPECIAL_CHARS + KEYWORDS + FUNCTIONS + [
    "{\n", "\n}\n", "if (1)\n", "\nelse\n", "else ", "/", "//", "/x/", '"', "'", "`",
    "\\\n", "$", "${", "((", "))", "=", "==", "=~ /a/", " / ", " - ", "-", "\n\n"]


@st.composite
def _mutate_once(draw: st.DrawFn, text: str) -> str:
    """Apply one random edit to text: on characters, tokens or lines."""
    kind = draw(st.sampled_from(["delete", "insert", "duplicate", "swap", "delete_token",
                                 "duplicate_token", "swap_tokens", "delete_line",
                                 "duplicate_line", "swap_lines", "replace_token"]))
    n = len(text)
    if kind in ("delete", "insert", "duplicate", "swap"):
        i = draw(st.integers(0, n))
        if kind == "insert":
            return text[:i] + draw(st.sampled_from(_INSERTIONS)) + text[i:]
        if n == 0:
            return text
        i = min(i, n - 1)
        j = min(n, i + draw(st.integers(1, 8)))
        if kind == "delete":
            return text[:i] + text[j:]
        if kind == "duplicate":
            return text[:j] + text[i:j] + text[j:]
        return text[:i] + text[i + 1:i + 2] + text[i:i + 1] + text[i + 2:]  # swap two
    if kind.endswith("token") or kind.endswith("tokens"):
        toks = _TOKEN_RE.findall(text)
        if not toks:
            return text
        i = draw(st.integers(0, len(toks) - 1))
        if kind == "delete_token":
            del toks[i]
        elif kind == "duplicate_token":
            toks.insert(i, toks[i])
        elif kind == "replace_token":
            toks[i] = draw(st.sampled_from(_INSERTIONS))
        else:
            j = draw(st.integers(0, len(toks) - 1))
            toks[i], toks[j] = toks[j], toks[i]
        return "".join(toks)
    lines = text.split("\n")
    i = draw(st.integers(0, len(lines) - 1))
    if kind == "delete_line":
        del lines[i]
    elif kind == "duplicate_line":
        lines.insert(i, lines[i])
    else:
        j = draw(st.integers(0, len(lines) - 1))
        lines[i], lines[j] = lines[j], lines[i]
    return "\n".join(lines)


@st.composite
def mutated_filters(draw: st.DrawFn, max_mutations: int = 4) -> str:
    """A real filter with 1 to max_mutations random edits."""
    text = draw(st.sampled_from(CORPUS))
    for _ in range(draw(st.integers(1, max_mutations))):
        text = draw(_mutate_once(text))
    return text


# 4. GENERATED VALID FILTERS

# Names the generated filters use.  Variables never collide with the ones
# maildrop gives a meaning to, except EXITCODE, FLAGS and KEYWORDS, set on purpose.
VARIABLES = ["A", "B", "C", "LIST", "X_1"]
MBOXES = ["inbox.mbox", "lists.mbox", "spam.mbox"]
MAILDIRS = ["Maildir/", "Maildir/.Lists/"]     # the sandbox creates these
# Mailboxes that cannot be delivered to: no such directory, no such maildir.
BROKEN_MAILBOXES = ["nodir/inbox.mbox", "Maildir/.Missing/"]
DEFAULT_MBOX = "default.mbox"
LOGFILE = "filter.log"
DOTLOCK_FILE = "dot{}.lk"       # one name per dotlock: nested ones on one file deadlock
FLOCK_FILE = "flock.lk"
INCLUDE_FILE = "inc.mailfilter"                  # the sandbox creates it
INCLUDE_TEXT = 'INC="included"\n'
MISSING_INCLUDE = "missing.mailfilter"           # nobody creates it
LOOKUP_FILE = "lookup.txt"                       # the sandbox creates it
LOOKUP_TEXT = "# patterns\n^alice@\nexample\\.net$\n"
EXIT_CODES = [0, 1, 3, 9, 64, 99]

# Precedence levels, lowest first (maildropfilter(7) "Operators").
OR, AND, COMPARE, BIT_OR, BIT_AND, SUM, PRODUCT, MATCH, UNARY, PRIMARY = range(1, 11)
BINARY_LEVELS = {"||": OR, "&&": AND, "|": BIT_OR, "&": BIT_AND, "+": SUM, "-": SUM,
                 "*": PRODUCT, "/": PRODUCT}
COMPARISONS = ["<", "<=", ">", ">=", "==", "!=", "lt", "le", "gt", "ge", "eq", "ne"]


@dataclass
class Generated:
    """A generated filter and what running it may do."""

    text: str
    mailboxes: set[str] = field(default_factory=set)   # to/cc targets that are files
    files: set[str] = field(default_factory=set)       # other files it may create
    exit_codes: set[int] = field(default_factory=set)  # statuses it may ask for

    def __repr__(self) -> str:  # shown by hypothesis when a test fails
        return f"Generated(text={self.text!r})"


class _Ctx:
    """What the generator has emitted so far, and the switches it runs under."""

    def __init__(self, draw: st.DrawFn, runnable: bool) -> None:
        self.draw = draw
        self.runnable = runnable     # only harmless commands, only sandbox names
        self.mailboxes: set[str] = set()
        self.files: set[str] = set()
        self.exit_codes: set[int] = set()
        self.loops = 0
        self.dotlocks = 0


@dataclass
class _Expr:
    text: str
    level: int


def _wrap(e: _Expr, need: int) -> str:
    """The text of e, in parentheses when it binds less tightly than need."""
    return e.text if e.level >= need else f"({e.text})"


# Leaves of expressions.

_WORDS = ["0", "1", "2", "42", "3.5", "-7", "0x10", "abc", "foo.bar", "x@example.com",
          "a:b", "a-b", "a/b", "Lunch", "_u",
          "1e308", "1e400", "-0", "nan", "0x", "18446744073709551616"]   # strtod's edges
_VAR_REFS = ["$A", "${B}", "$C", "$LIST", "$1", "$MATCH", "$MATCH1", "$SIZE", "$FROM",
             "$LINES", "${X_1}", "$INC", "$RETURNCODE"]
_DQ_CHARS = st.sampled_from(list("abcXYZ 019.-:@,;(){}/|&!=<>#%^*+?[]") +
                            ["\\\"", "\\\\", "\\n", "$A", "${B}", "$1", "'", "`", "é"])
_SQ_CHARS = st.sampled_from(list("abcXYZ 019.-:@,;(){}/|&!=<>#%^*+?[]\"`$") + ["é"])
# The commands a generated filter runs (backticks, system), with the exit status
# and output each has for real, so a recorded run can give the same answers.
COMMANDS = {"echo x": (0, b"x\n"), "printf y": (0, b"y"), "true": (0, b""),
            "false": (1, b""), "cat >/dev/null": (0, b""), "echo one two": (0, b"one two\n"),
            "exit 2": (2, b"")}
_SAFE_COMMANDS = sorted(COMMANDS)
# xfilter commands: command -> what it makes of the message (None: it fails).
XFILTERS = {"cat": lambda m: m,
            "sed -e s/Lunch/Dinner/": lambda m: m.replace(b"Lunch", b"Dinner"),
            "false": None}


def _word(ctx: _Ctx) -> str:
    return ctx.draw(st.sampled_from(_WORDS + _VAR_REFS))


def _dq_string(ctx: _Ctx) -> str:
    return '"' + "".join(ctx.draw(st.lists(_DQ_CHARS, max_size=8))) + '"'


def _sq_string(ctx: _Ctx) -> str:
    return "'" + "".join(ctx.draw(st.lists(_SQ_CHARS, max_size=8))) + "'"


def _backtick(ctx: _Ctx) -> str:
    return "`" + ctx.draw(st.sampled_from(_SAFE_COMMANDS)) + "`"


def _text(ctx: _Ctx) -> _Expr:
    """One to three adjacent literals: "a"'b' c is the text "abc"."""
    kinds = ctx.draw(st.lists(st.sampled_from(["word", "word", "dq", "sq", "bt"]),
                              min_size=1, max_size=3))
    parts = []
    for kind in kinds:
        parts.append({"word": _word, "dq": _dq_string, "sq": _sq_string,
                      "bt": _backtick}[kind](ctx))
    out = parts[0]
    for p in parts[1:]:
        # Two words need a blank between them, or they would be one word.
        out += " " + p if ctx.draw(st.booleans()) or out[-1:].isalnum() else p
    return _Expr(out, PRIMARY)


def _regex(ctx: _Ctx) -> str:
    """A small PCRE: never empty, never starting with a blank, no '/' or newline."""
    atoms = st.sampled_from(["a", "Subject", "^From:", "^Subject: (.*)", "Lunch", ".*",
                             "[a-z]+", "\\d+", "(al|bo)", "x?", "\\.", "[[:alpha:]]",
                             "\\/", "^To:.*bob", "$A", "é", "(?i)friday", "\\s"])
    return "".join(ctx.draw(st.lists(atoms, min_size=1, max_size=3)))


def _pattern(ctx: _Ctx) -> str:
    """/regex/ with optional :options and up to two weights."""
    text = "/" + _regex(ctx) + "/"
    if ctx.draw(st.booleans()):
        text += ":" + ctx.draw(st.sampled_from(["", "h", "b", "hb", "D", "w", "hD"]))
        weights = ctx.draw(st.lists(st.sampled_from(["1", "10", "0.5", "-2", "+3", ".5"]),
                                    max_size=2))
        text += "".join("," + w for w in weights)
    return text


# A pattern with options at the end of a function argument, as in
# substr(/a/:h, 1): the ',' would be read as the start of a weight (maildrop:
# "Missing ,"), so such an argument goes in parentheses.
_ENDS_WITH_OPTIONS = re.compile(r"/:[A-Za-z]*(?:,[-+.0-9]+)*$")


def _argument(ctx: _Ctx, depth: int) -> str:
    text = _expr(ctx, depth).text
    return f"({text})" if _ENDS_WITH_OPTIONS.search(text) else text


def _call(ctx: _Ctx, depth: int) -> _Expr:
    draw = ctx.draw
    name = draw(st.sampled_from(FUNCTIONS))
    arg = lambda: _argument(ctx, depth - 1)  # noqa: E731 - a tiny local helper
    if name in ("escape", "getaddr", "hasaddr", "length", "tolower", "toupper"):
        if draw(st.booleans()):
            return _Expr(f"{name}({arg()})", PRIMARY)
        # FUNC1 takes one unary expression without parentheses: "length $A".
        return _Expr(f"{name} {_wrap(_expr(ctx, depth - 1, UNARY), UNARY)}", PRIMARY)
    if name in ("time", "gdbmclose"):
        # A runnable filter leaves the clock alone, so that two runs of it (the
        # CLI and a recorded one) take the same path.
        return _Expr("gdbmclose" if ctx.runnable else name, PRIMARY)
    if name == "substr":
        extra = f", {arg()}" if draw(st.booleans()) else ""
        return _Expr(f"substr({arg()}, {arg()}{extra})", PRIMARY)
    if name == "lookup":
        extra = ', "D"' if draw(st.booleans()) else ""
        return _Expr(f'lookup({arg()}, "{LOOKUP_FILE}"{extra})', PRIMARY)
    if name == "gdbmopen":
        # Read mode only: a runnable filter must not create a database.
        return _Expr('gdbmopen("missing.gdbm", "R")', PRIMARY)
    if name == "gdbmfetch":
        extra = draw(st.sampled_from(["", ', "D"', f', "", {arg()}']))
        return _Expr(f"gdbmfetch({arg()}{extra})", PRIMARY)
    return _Expr(f"gdbmstore({arg()}, {arg()})", PRIMARY)  # -1: no database open


def _expr(ctx: _Ctx, depth: int, need: int = 1) -> _Expr:
    """An expression; need is the lowest precedence level its context accepts."""
    draw = ctx.draw
    kinds = ["text", "text", "pattern"] if depth <= 0 else \
        ["text", "pattern", "paren", "unary", "match", "binary", "binary", "compare", "call"]
    kind = draw(st.sampled_from(kinds))
    if kind == "text":
        return _text(ctx)
    if kind == "pattern":
        return _Expr(_pattern(ctx), PRIMARY)          # a search of the message
    if kind == "paren":
        return _Expr(f"({_expr(ctx, depth - 1).text})", PRIMARY)
    if kind == "unary":
        op = draw(st.sampled_from(["!", "~"]))
        return _Expr(op + _wrap(_expr(ctx, depth - 1, UNARY), UNARY), UNARY)
    if kind == "match":
        subject = _wrap(_expr(ctx, depth - 1, UNARY), UNARY)
        return _Expr(f"{subject} =~ {_pattern(ctx)}", MATCH)
    if kind == "call":
        return _call(ctx, depth)
    if kind == "compare":
        # Comparisons do not chain: both sides bind tighter than a comparison.
        op = draw(st.sampled_from(COMPARISONS))
        left = _wrap(_expr(ctx, depth - 1, BIT_OR), BIT_OR)
        right = _wrap(_expr(ctx, depth - 1, BIT_OR), BIT_OR)
        return _Expr(f"{left} {op} {right}", COMPARE)
    op = draw(st.sampled_from(sorted(BINARY_LEVELS)))
    level = BINARY_LEVELS[op]
    # Left-associative: the left side may be at the same level, the right side
    # must bind tighter.  Blanks around every operator ("a / b" is a division,
    # "a/b" a word, "a -b" the text "a-b").
    left = _wrap(_expr(ctx, depth - 1, level), level)
    # maildrop does not take a =~ match as the right operand of * or /
    # ("1 * 2 =~ /x/" is a syntax error there), so that one goes in parentheses.
    right_level = UNARY if op in ("*", "/") else level + 1
    right = _wrap(_expr(ctx, depth - 1, right_level), right_level)
    return _Expr(f"{left} {op} {right}", level)


def _value(ctx: _Ctx, depth: int = 2) -> str:
    """An expression after '=', 'to' or 'cc', where a leading '/' would be text."""
    text = _expr(ctx, depth).text
    return f"({text})" if text.startswith("/") else text


# Statements.  Each returns its text without the final separator; nested
# bodies are indented (maildrop ignores leading blanks).

def _simple_statement(ctx: _Ctx, depth: int) -> str:
    draw = ctx.draw
    kind = draw(st.sampled_from(
        ["assign", "assign", "assign", "echo", "exitcode", "cc", "to", "log", "logfile",
         "system", "xfilter", "include", "import", "unset", "flags", "exit", "expr"]))
    if kind == "assign":
        name = draw(st.sampled_from(VARIABLES))
        eq = draw(st.sampled_from(["=", "=", " = "]))
        value = _value(ctx, depth)
        if value.startswith("~"):
            eq += " "              # "A=~1" would be the match operator =~
        return f"{name}{eq}{value}"
    if kind == "echo":
        return f"echo {_expr(ctx, depth).text}"
    if kind == "exitcode":
        code = draw(st.sampled_from(EXIT_CODES))
        ctx.exit_codes.add(code)
        return f"EXITCODE={code}"
    if kind in ("cc", "to"):
        return f"{kind} {_target(ctx)}"
    if kind == "log":
        return f"log {_expr(ctx, depth).text}"
    if kind == "logfile":
        ctx.files.add(LOGFILE)
        return f'logfile "{LOGFILE}"'
    if kind == "system":
        return f'system "{draw(st.sampled_from(_SAFE_COMMANDS))}"'
    if kind == "xfilter":
        return f'xfilter "{draw(st.sampled_from(sorted(XFILTERS)))}"'
    if kind == "include":
        return f'include "{draw(st.sampled_from([INCLUDE_FILE, INCLUDE_FILE, MISSING_INCLUDE]))}"'
    if kind in ("import", "unset"):
        return f"{kind} {draw(st.sampled_from(VARIABLES))}"
    if kind == "flags":
        return draw(st.sampled_from(['FLAGS="S"', 'FLAGS="FS"', 'KEYWORDS="work,urgent"',
                                     'MAILDIRQUOTA="1000000S"']))
    if kind == "exit":
        return "exit"
    # An expression evaluated for its effect: a search, a function call.
    form = draw(st.sampled_from(["search", "call", "paren"]))
    if form == "search":
        return _pattern(ctx)
    if form == "call":
        return draw(st.sampled_from(["gdbmclose", f"length({_word(ctx)})"]))
    return f"({_expr(ctx, depth).text})"


def _target(ctx: _Ctx) -> str:
    """A delivery target inside the sandbox: mbox, maildir, /dev/null or a pipe."""
    draw = ctx.draw
    kind = draw(st.sampled_from(["mbox", "mbox", "maildir", "devnull", "pipe", "broken"]))
    if kind == "broken":
        name = draw(st.sampled_from(BROKEN_MAILBOXES))
        ctx.mailboxes.add(name)
        return f'"{name}"'
    if kind == "mbox":
        name = draw(st.sampled_from(MBOXES))
        ctx.mailboxes.add(name)
        return draw(st.sampled_from([name, f'"{name}"', f"'{name}'"]))
    if kind == "maildir":
        name = draw(st.sampled_from(MAILDIRS))
        ctx.mailboxes.add(name)
        return f'"{name}"'
    if kind == "devnull":
        return "/dev/null"
    code = draw(st.sampled_from(EXIT_CODES))
    ctx.exit_codes.add(code)
    return draw(st.sampled_from([f'"|exit {code}"', f'"|cat >/dev/null; exit {code}"']))


def _indent(text: str) -> str:
    return "\n".join("    " + line if line else line for line in text.split("\n"))


def _block(ctx: _Ctx, depth: int) -> str:
    """{ statements } -- every statement inside ends with a separator."""
    body = _statements(ctx, depth - 1, max_size=3)
    if not body:
        return ctx.draw(st.sampled_from(["{\n}", "{ }", "{\n\n}"]))
    if ctx.draw(st.integers(0, 4)) == 0 and all("\n" not in s for s in body):
        return "{ " + "; ".join(body) + "; }"               # { a; b; }
    return "{\n" + "\n".join(_indent(s) for s in body) + "\n}"


def _body(ctx: _Ctx, depth: int) -> str:
    """What an if/elsif/else/foreach controls: a block or one simple statement.

    (A nested if without braces would raise the dangling-else question, and a
    comment line there would make the body empty: maildrop's layout rule.)
    """
    if depth <= 0 or ctx.draw(st.booleans()):
        return _block(ctx, depth)
    return _indent(_simple_statement(ctx, depth - 1))


def _statement(ctx: _Ctx, depth: int) -> str:
    draw = ctx.draw
    kinds = ["simple"] if depth <= 0 else \
        ["simple", "simple", "simple", "if", "if", "block", "foreach", "while", "exception",
         "dotlock", "flock", "comment"]
    kind = draw(st.sampled_from(kinds))
    if kind == "simple":
        return _simple_statement(ctx, depth)
    if kind == "block":
        return _block(ctx, depth)
    if kind == "comment":
        return "# " + draw(st.sampled_from(["note", "if (", "}", "\"", "/x"])) + "\n" + \
            _simple_statement(ctx, depth)
    if kind == "if":
        # maildrop's layout: the body on the line after "if (...)"; elsif and
        # else on the line right after the body.
        text = f"if ({_expr(ctx, depth).text})\n{_body(ctx, depth)}"
        for _ in range(draw(st.integers(0, 2))):
            text += f"\nelsif ({_expr(ctx, depth).text})\n{_body(ctx, depth)}"
        if draw(st.booleans()):
            text += f"\nelse\n{_body(ctx, depth)}"
        return text
    if kind == "foreach":
        if draw(st.booleans()):
            head = f"foreach {_pattern(ctx)}"
        else:
            head = f"foreach ({_expr(ctx, depth - 1).text}) =~ {_pattern(ctx)}"
        return f"{head}\n{_body(ctx, depth)}"
    if kind == "while":
        # Bounded: a counter of its own that nothing else assigns.
        ctx.loops += 1
        var = f"W{ctx.loops}"
        limit = draw(st.integers(0, 3))
        inner = _statements(ctx, depth - 1, max_size=2)
        body = "\n".join(_indent(s) for s in [f"{var}=${var} + 1", *inner])
        return f"{var}=0\nwhile (${var} < {limit})\n{{\n{body}\n}}"
    if kind == "exception":
        return f"exception {_block(ctx, depth)}"
    if kind == "dotlock":
        # A dotlock inside a dotlock of the same file waits for itself forever
        # (in maildrop too), so every dotlock statement locks a name of its own.
        ctx.dotlocks += 1
        name = DOTLOCK_FILE.format(ctx.dotlocks)
    else:
        name = FLOCK_FILE
        ctx.files.add(FLOCK_FILE)          # flock creates the file it locks
    return f'{kind} "{name}" {_block(ctx, depth)}'


def _statements(ctx: _Ctx, depth: int, max_size: int) -> list[str]:
    count = ctx.draw(st.integers(0, max_size))
    return [_statement(ctx, depth) for _ in range(count)]


@st.composite
def generated_filters(draw: st.DrawFn, runnable: bool = True, max_depth: int = 3
                      ) -> Generated:
    """A valid filter.  With runnable, it starts by setting DEFAULT in the sandbox."""
    ctx = _Ctx(draw, runnable)
    body = _statements(ctx, draw(st.integers(0, max_depth)), max_size=6)
    lines = [f'DEFAULT="{DEFAULT_MBOX}"'] if runnable else []
    text = "\n".join(lines + body)
    if draw(st.booleans()):
        text += "\n"
    mailboxes = ctx.mailboxes | ({DEFAULT_MBOX} if runnable else set())
    return Generated(text, mailboxes, ctx.files, ctx.exit_codes)


def any_filter_text() -> st.SearchStrategy[str]:
    """A mix for differential tests: generated, mutated and token soup."""
    return st.one_of(generated_filters(runnable=False).map(lambda g: g.text),
                     mutated_filters(), token_soup())

"""The lexer and the parser: one test per construct, one per syntax error.

Expected ASTs are written as the repr of the dataclasses in lang/ast.py.
Behaviour recorded from maildrop 2.9.3 is noted where it is surprising.
"""

from __future__ import annotations

import pytest

from pymaildrop.errors import FilterSyntaxError
from pymaildrop.lang import ast, parse_text
from pymaildrop.lang.lexer import pattern_suffix, tokenize


def body(text: str) -> tuple[ast.Stmt, ...]:
    return parse_text(text, "f").body


def one(text: str) -> ast.Stmt:
    stmts = body(text)
    assert len(stmts) == 1, stmts
    return stmts[0]


def expr(text: str) -> ast.Expr:
    stmt = one("X=" + text)
    assert isinstance(stmt, ast.Assign)
    return stmt.value


def value_repr(text: str) -> str:
    """A compact rendering of an expression for table-driven tests."""
    return _show(expr(text))


def _show(e: object) -> str:
    if isinstance(e, ast.Text):
        return "+".join(_part(p) for p in e.parts)
    if isinstance(e, ast.BinOp):
        return f"({_show(e.left)} {e.op} {_show(e.right)})"
    if isinstance(e, ast.And):
        return f"({_show(e.left)} && {_show(e.right)})"
    if isinstance(e, ast.Or):
        return f"({_show(e.left)} || {_show(e.right)})"
    if isinstance(e, ast.Not):
        return f"!{_show(e.operand)}"
    if isinstance(e, ast.BitNot):
        return f"~{_show(e.operand)}"
    if isinstance(e, ast.Search):
        return f"search{e.pattern.source}:{e.pattern.options}{list(e.pattern.weights) or ''}"
    if isinstance(e, ast.MatchText):
        return f"({_show(e.subject)} =~ {e.pattern.source})"
    if isinstance(e, ast.Call):
        return f"{e.name}({', '.join(_show(a) for a in e.args)})"
    raise AssertionError(e)


def _part(p: object) -> str:
    if isinstance(p, ast.Literal):
        return repr(p.value)
    if isinstance(p, ast.Backtick):
        return f"`{p.command}`"
    assert isinstance(p, ast.Substituted)
    return "<" + "".join(x if isinstance(x, str) else f"${{{x.name}}}" if isinstance(
        x, ast.VarRef) else f"!{x.text}" for x in p.template) + ">"


# LITERALS AND TEXT

TEXTS = [
    ('"plain"', "'plain'"),
    ("'single $X'", "'single $X'"),
    ('"dq $X"', "<dq ${X}>"),
    ('"\\\\"', "'\\\\'"),                       # "\\" is one backslash
    ('"a\\"b"', "'a\"b'"),
    ("'it\\'s'", '"it\'s"'),
    ('"\\$HOME"', "'\\\\$HOME'"),              # the backslash stays; no substitution
    ('"a\\qb"', "'a\\\\qb'"),                   # other backslashes stay
    ('"dou"\'ble\'"-"\'quoted\'', "'double-quoted'"),
    ("alpha beta gamma", "'alphabetagamma'"),    # adjacent words concatenate
    ("$HOME/Maildir", "<${HOME}/Maildir>"),
    ("${HOME}x", "<${HOME}x>"),
    ('"${A-B} ${A.B}"', "<${A-B} ${A.B}>"),
    ('"$1x"', "<${1x}>"),                       # $ takes letters, digits and _
    ('"cost 5$ and $-sign"', "'cost 5$ and $-sign'"),
    ('"${H"', "<!${H>"),                        # unterminated: kept, warned at run time
    ("`ls -l`", "`ls -l`"),
    ('"a `b` c"', "'a `b` c'"),                 # backticks inside quotes are text
    ("10/4", "'10/4'"),                         # a slash inside a word is text
    ("6/ 2", "'6/2'"),
    ("/var/mail", "'/var/mail'"),                # after '=' a leading slash is text
    ("-5", "'-5'"),
    ("5 -3", "'5-3'"),                          # '-' before a text character starts a word
    ("a.b:c@d{e}f", "'a.b:c@d{e}f'"),
]


@pytest.mark.parametrize("source,expected", TEXTS, ids=[t[0] for t in TEXTS])
def test_text(source: str, expected: str) -> None:
    assert value_repr(source) == expected


def test_string_continued_on_next_line() -> None:
    assert value_repr('"this text \\\n      continues"') == "'this text continues'"


def test_statement_continued_on_next_line() -> None:
    assert value_repr("1 + \\\n  2") == "('1' + '2')"


def test_word_continued_on_next_line() -> None:
    assert value_repr("x\\\ny") == "'xy'"


# EXPRESSIONS

EXPRESSIONS = [
    ("2 + 3 * 4", "('2' + ('3' * '4'))"),
    ("(2 + 3) * 4", "(('2' + '3') * '4')"),
    ("20 - 6 - 4", "(('20' - '6') - '4')"),
    ("6 / 2", "('6' / '2')"),
    ("1 || 0 && 0", "('1' || ('0' && '0'))"),
    ("1 | 2 == 3", "(('1' | '2') == '3')"),
    ("6 & 3 | 8", "(('6' & '3') | '8')"),
    ("1 + 2 | 4", "(('1' + '2') | '4')"),
    ("a lt b", "('a' lt 'b')"),
    ("!5", "!'5'"),
    ("!0 + 1", "(!'0' + '1')"),
    ("(~1 + 1)", "(~'1' + '1')"),
    ("(!\"\" =~ /0/)", "(!'' =~ /0/)"),         # ! binds tighter than =~
    ("($S =~ /x/:D)", "(<${S}> =~ /x/)"),
    ("(/Lunch/)", "search/Lunch/:"),
    ("(/x/:hb,10,0.5)", "search/x/:hb[10.0, 0.5]"),
    ("(/x/:,3)", "search/x/:[3.0]"),
    ("(/a\\/b/)", "search/a\\/b/:"),
    ("1 + (/Lunch/)", "('1' + search/Lunch/:)"),
    ("length \"ab\" + 1", "(length('ab') + '1')"),  # one-argument functions bind tightly
    ("tolower $A $B", "tolower(<${A}>+<${B}>)"),
    ("substr($S, 1, 2)", "substr(<${S}>, '1', '2')"),
    ("time", "time()"),
    ("escape('a.b')", "escape('a.b')"),
    ("lookup($X, \"f\", \"D\")", "lookup(<${X}>, 'f', 'D')"),
    ("gdbmfetch(\"k\", \"D\", \"dflt\")", "gdbmfetch('k', 'D', 'dflt')"),
]


@pytest.mark.parametrize("source,expected", EXPRESSIONS, ids=[e[0] for e in EXPRESSIONS])
def test_expression(source: str, expected: str) -> None:
    assert value_repr(source) == expected


# STATEMENTS


def test_assignment_and_spaces() -> None:
    assert body("A = 5\nB =6") == (
        ast.Assign("A", ast.Text((ast.Literal("5"),), 1, 5), 1),
        ast.Assign("B", ast.Text((ast.Literal("6"),), 2, 4), 2))


@pytest.mark.parametrize("source,name", [
    ('"A B"="x"', "A B"), ("A.B=1", "A.B"), ("A-B=1", "A-B"), ("1=5", "1"), ("$N=5", "$N"),
], ids=["quoted", "dotted", "dashed", "digit", "dollar"])
def test_assignment_names(source: str, name: str) -> None:
    stmt = one(source)
    assert isinstance(stmt, ast.Assign) and stmt.name == name


@pytest.mark.parametrize("source,cls", [
    ("to Maildir", ast.To), ("cc Maildir", ast.Cc), ("echo x", ast.Echo), ("exit", ast.Exit),
    ("log x", ast.Log), ("logfile x", ast.Logfile), ("system x", ast.System),
    ("xfilter x", ast.Xfilter), ("include x", ast.Include), ("import HOME", ast.Import),
    ("unset X", ast.Unset), ("gdbmclose", ast.ExprStmt), ('"abc"', ast.ExprStmt),
    ("1 + 2", ast.ExprStmt), ("/x/", ast.ExprStmt),
], ids=lambda v: v if isinstance(v, str) else "")
def test_simple_statements(source: str, cls: type) -> None:
    assert isinstance(one(source), cls)


def test_to_takes_a_leading_slash_as_text() -> None:
    stmt = one("to /var/mail/bob")
    assert isinstance(stmt, ast.To)
    assert stmt.target == ast.Text((ast.Literal("/var/mail/bob"),), 1, 4)


def test_semicolons_separate_statements() -> None:
    assert [type(s) for s in body("A=1; B=2; echo x; exit")] == [
        ast.Assign, ast.Assign, ast.Echo, ast.Exit]


def test_comments_and_blank_lines() -> None:
    assert [type(s) for s in body("# c\n\nA=1 # trailing\necho \"#not\"#c\n")] == [
        ast.Assign, ast.Echo]


def test_crlf_line_ends() -> None:
    # As in maildrop 2.9.3 a CR ends a statement, so CRLF is two separators:
    # the if's statement is the empty one and the block after it always runs.
    stmts = body("A=1\r\nif (0)\r\n{\r\necho x\r\n}\r\n")
    assert [type(s) for s in stmts] == [ast.Assign, ast.If, ast.Block]
    assert stmts[1].branches[0][1] is None


def test_a_carriage_return_ends_a_string() -> None:
    with pytest.raises(FilterSyntaxError) as info:
        parse_text('A="a\rb"\n', "f")
    assert "carriage return" in str(info.value)


def test_a_backslash_and_a_blank_continue_the_line_and_drop_its_rest() -> None:
    stmt = one("A=1 + \\ ignored\n 2\n")
    assert isinstance(stmt, ast.Assign) and isinstance(stmt.value, ast.BinOp)
    assert stmt.value.right == ast.Text((ast.Literal("2"),), 2, 2)
    stmt = one('A="a\\  \n  b"\n')
    assert isinstance(stmt, ast.Assign) and stmt.value == ast.Text((ast.Literal("ab"),), 1, 3)


@pytest.mark.parametrize("text", ["if (1)\n", "if (1)\n  ", "if (1)\n#c", "if (1);",
                                  "while (0)\n", "foreach /x/\n", "foreach (A) =~ /x/\n",
                                  "if (0)\n{\n}\nelse\n", "if (0)\n{\n}\nelsif (1)\n"])
def test_a_header_ending_the_file_is_an_error(text: str) -> None:
    with pytest.raises(FilterSyntaxError) as info:
        parse_text(text, "f")
    assert "file ends right after" in str(info.value)


@pytest.mark.parametrize("text", ["if (1)\n\n", "if (1)\n#c\n", "if (1)\n;", "A=(1)\n",
                                  "if (1)\nA=(2)\n"])
def test_a_header_followed_by_a_separator_is_not(text: str) -> None:
    parse_text(text, "f")


def test_assignment_inside_an_expression() -> None:
    stmt = one("if (A = 1 + 2)\n  echo x\n")
    assert isinstance(stmt, ast.If)
    cond = stmt.branches[0][0]
    assert isinstance(cond, ast.SetVar) and cond.name == "A" and isinstance(cond.value, ast.BinOp)
    echo = one("echo a=b\n")
    assert isinstance(echo, ast.Echo) and isinstance(echo.value, ast.SetVar)


@pytest.mark.parametrize("text", ["A = B = 3\n", "C = 1 + A = 2\n", "if (!A = 3)\n x\n",
                                  "if (A = 3 && B = 4)\n x\n", "if ('A' = 5)\n x\n",
                                  "if (A\"B\" = 5)\n x\n", "'A'=1\n"])
def test_assignment_inside_an_expression_is_whole_and_to_one_name(text: str) -> None:
    with pytest.raises(FilterSyntaxError):
        parse_text(text, "f")


def test_matches_chain_and_bind_only_the_left_of_a_product() -> None:
    chained = one("A = 2 =~ /2/ =~ /1/\n")
    assert isinstance(chained, ast.Assign) and isinstance(chained.value, ast.MatchText)
    assert isinstance(chained.value.subject, ast.MatchText)
    with pytest.raises(FilterSyntaxError) as info:
        parse_text("A = 2 * 3 =~ /x/\n", "f")
    assert "parentheses" in str(info.value)


def test_if_else() -> None:
    stmt = one('if (1)\n{\n  echo "a"\n}\nelse\n{\n  echo "b"\n}')
    assert isinstance(stmt, ast.If) and stmt.has_else
    assert isinstance(stmt.branches[0][1], ast.Block)
    assert isinstance(stmt.orelse, ast.Block)


def test_if_single_statement_bodies() -> None:
    stmt = one("if (0)\n    echo a\nelse\n    echo b")
    assert isinstance(stmt, ast.If)
    assert isinstance(stmt.branches[0][1], ast.Echo) and isinstance(stmt.orelse, ast.Echo)


def test_elsif_chain() -> None:
    stmt = one("if (0)\n echo a\nelsif (1)\n echo b\nelsif (2)\n{\n}\nelse\n echo c")
    assert isinstance(stmt, ast.If) and len(stmt.branches) == 3


def test_comment_after_brace_before_else() -> None:
    stmt = one("if (1)\n{\n} # comment\nelse\n{\n}")
    assert isinstance(stmt, ast.If) and stmt.has_else


def test_blank_line_after_if_makes_an_empty_body() -> None:
    # COMPAT: maildrop takes exactly one separator after "if (...)"; the blank
    # line is the (empty) statement it controls, and the echo always runs.
    stmts = body('if (0)\n\necho "always"')
    assert isinstance(stmts[0], ast.If) and stmts[0].branches[0][1] is None
    assert isinstance(stmts[1], ast.Echo)


def test_semicolon_after_if_condition() -> None:
    stmt = one('if (1) ; echo "semi"')
    assert isinstance(stmt, ast.If) and isinstance(stmt.branches[0][1], ast.Echo)


def test_dangling_else_binds_to_the_nearest_if() -> None:
    outer = one("if (1)\nif (0)\necho a\nelse\necho b")
    assert isinstance(outer, ast.If) and not outer.has_else
    inner = outer.branches[0][1]
    assert isinstance(inner, ast.If) and inner.has_else


def test_while() -> None:
    stmt = one("while ($I < 5)\n{\n  I=$I + 1\n}")
    assert isinstance(stmt, ast.While) and isinstance(stmt.body, ast.Block)


def test_foreach_message_and_expression() -> None:
    a = one("foreach /^To: .*/\n{\n}")
    b = one("foreach (getaddr $MATCH) =~ /.+/\n{\n}")
    assert isinstance(a, ast.Foreach) and a.subject is None
    assert isinstance(b, ast.Foreach) and isinstance(b.subject, ast.Call)


@pytest.mark.parametrize("source,cls", [
    ("exception {\n echo x\n}", ast.Exception_),
    ('dotlock "f.lock" {\n echo x\n}', ast.Dotlock),
    ('flock "f" {\n echo x\n}', ast.Flock),
    ("{\n echo x\n}", ast.Block),
    ("exception { echo x\n}", ast.Exception_),
], ids=["exception", "dotlock", "flock", "bare-block", "stmt-on-brace-line"])
def test_blocks(source: str, cls: type) -> None:
    assert isinstance(one(source), cls)


@pytest.mark.parametrize("source", ["if (0)\n{}", "if (0)\n{ }", "if (0)\n{ ; }",
                                    "if (0)\n{ echo a; }"])
def test_block_forms(source: str) -> None:
    assert isinstance(one(source), ast.If)


def test_filter_without_final_newline() -> None:
    assert [type(s) for s in body('echo "x"\nexit')] == [ast.Echo, ast.Exit]


def test_empty_filter() -> None:
    assert body("") == ()
    assert body("\n\n# only a comment\n") == ()


def test_positions() -> None:
    stmts = body("A=1\n\n  if (/x/)\n    to Maildir")
    assert stmts[1].line == 3
    s = stmts[1]
    assert isinstance(s, ast.If)
    cond = s.branches[0][0]
    assert isinstance(cond, ast.Search) and (cond.line, cond.column) == (3, 7)


# SYNTAX ERRORS: each names the file, line and column and says what to do.

ERRORS = [
    ("if (/^Subject:/\n{\n}", 1, "missing ')'"),
    ("if (1)\n{\n    echo \"x\"", 3, "missing '}'"),
    ("if (1)\n{\n  echo a\n} else {\n  echo b\n}", 4, "'else' must start the line after '}'"),
    ("if (1)\n{\n}\n\nelse\n{\n}", 5, "no blank or comment line"),
    ("if (1)\n{\n}\n# c\nelse\n{\n}", 5, "no blank or comment line"),
    ("if (1) {\n echo x\n}", 1, "'{' must start a new line"),
    ("if (1) echo x", 1, "must start a new line"),
    ("X=frobnicate(\"x\")", 1, "unknown function 'frobnicate'"),
    ("if (1 < 2 < 3)\n echo x", 1, "comparisons do not chain"),
    ("exit 3", 1, "'exit' takes no argument"),
    ("foreach (\"abc\")\n{\n}", 1, "foreach takes"),
    ("A=1\nB=2\n\nD=(1 +)\nexit", 4, "expected a value"),
    ("A=\"unterminated\nexit", 1, "is not closed"),
    ("A=(\"a b\" =~ / b/)", 1, "unexpected"),
    ("A=(6 /2", 1, "pattern is missing its closing '/'"),
    ("exception\n{\n}", 1, "'exception' takes its '{' on the same line"),
    ('dotlock "x"\n{\n}', 1, "dotlock and flock"),
    ("if (1)\n{ echo \"x\" }", 2, "'}' must be on a line of its own"),
    ("to=5", 1, "assignment needs a variable name"),
    ("A=to", 1, "unexpected"),
    ("A=a,b", 1, "unexpected"),
    ("A=café", 1, "unexpected character"),
    ("A=a\\b", 1, "unexpected character"),
    ("echo", 1, "incomplete"),
    ("A=length(\"ab\", \"c\")", 1, "missing ')'"),
    ("A=substr \"abc\", 1", 1, "arguments in parentheses"),
    ("A=substr(\"abc\")", 1, "substr() takes 2 to 3 arguments"),
    ("A=(/b/:,$W)", 1, "unexpected word '$W'"),     # weights are literal numbers
    ("X=time()", 1, "unexpected"),
]


@pytest.mark.parametrize("source,line,fragment", ERRORS, ids=[f"{e[2][:30]}-{i}"
                                                               for i, e in enumerate(ERRORS)])
def test_syntax_error(source: str, line: int, fragment: str) -> None:
    with pytest.raises(FilterSyntaxError) as info:
        parse_text(source, "./filter")
    err = info.value
    assert err.path == "./filter"
    assert err.line == line, err.message
    assert err.column >= 1
    assert fragment in err.message, err.message
    assert err.message.startswith(f"./filter:{line}:{err.column}: ")


def test_syntax_error_renders_the_line_and_a_caret() -> None:
    with pytest.raises(FilterSyntaxError) as info:
        parse_text("A=1\nif (1) {\n echo x\n}\n", "f")
    text = info.value.render()
    assert text.splitlines() == [
        "f:2:8: '{' must start a new line (maildrop's layout rule: the '{' goes on "
        "the line after 'if (...)', 'while (...)' and 'else')",
        "    if (1) {",
        "           ^",
    ]


def test_tokens_fold_one_separator_into_else() -> None:
    types = [t.type for t in tokenize("if (1)\n{\n}\nelse\n{\n}", "f")]
    assert types == ["IF", "LPAR", "WORD", "RPAR", "SEP", "LBRACE", "SEP", "RBRACE", "ELSE",
                     "SEP", "LBRACE", "SEP", "RBRACE"]


def test_tokens_slash_rules() -> None:
    kinds = [t.type for t in tokenize("A=6/2 / 3 + (/x/)", "f")]
    assert kinds == ["NAME", "ASSIGN", "WORD", "SLASH", "WORD", "PLUS", "LPAR", "PATTERN",
                     "RPAR"]


# What follows /pattern/:, each verdict checked against maildrop 2.9.3 (on a
# body of three lines "x": the score is w1 + w1*w2 + w1*w2*w2).
@pytest.mark.parametrize("suffix,options,weights", [
    ("b", "b", ()),
    ("b,1,2", "b", (1.0, 2.0)),
    ("b1,2", "b", (1.0, 2.0)),          # the first number is the first weight
    ("b,,2,3", "b", (2.0, 3.0)),        # wherever it starts
    ("b,a,2", "ba", (2.0,)),
    ("b,2,,3", "b", (2.0,)),            # a second needs exactly one comma
    ("b,1b,2", "bb", (1.0, 2.0)),       # letters may come between
    ("b,1,b2", "bb", (1.0,)),           # but not after the comma
    ("b,1,2,3", "b", (1.0, 2.0)),       # more are ignored
    ("b,2+1", "b", (2.0,)),             # and so is what follows a number
    ("b,1.5.5", "b", (1.5,)),
    ("b,0x10", "bx", (16.0,)),          # strtod: hex
    ("b,1,0xD", "bxD", (1.0, 13.0)),    # and the D is still an option
    ("b,1e1", "be", (10.0,)),
    ("b+", "b", (0.0,)),                # a lone sign is 0
    ("b,inf", "binf", ()),              # a number starts with a digit, sign or dot
    ("b,-inf", "binf", (float("-inf"),)),
    ("", "", ()),
])
def test_pattern_suffix(suffix: str, options: str, weights: tuple[float, ...]) -> None:
    assert pattern_suffix(suffix) == (options, weights)


def test_a_pattern_suffix_ends_at_a_character_outside_its_set() -> None:
    program = parse_text("A=(/x/:b,2*3)\n", "f")
    assert "BinOp" in repr(program.body[0])

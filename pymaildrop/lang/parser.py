"""Parse filter text into a Program: lexer tokens -> LALR(1) -> AST.

Contract: parse(text, path) -> ast.Program, or FilterSyntaxError naming the
    file, line and column with a message a user can act on.  The tokens come
    from lexer.py, the LALR(1) automaton from the Lark grammar (lalr.py),
    and _Builder turns the parse tree into ast nodes.
Safety: pure: reads nothing but the grammar tables (see lalr.py).
Errors: FilterSyntaxError.
See also: lexer.py, lalr.py, ast.py, grammar/maildropfilter.lark.
"""

from __future__ import annotations

from typing import Any

from pymaildrop.errors import FilterSyntaxError
from pymaildrop.lang import ast, lalr
from pymaildrop.lang.lexer import PatternToken, Token, tokenize
from pymaildrop.lang.templates import parse_template


def parse(text: str, path: str) -> ast.Program:
    """Parse a whole filter file; raise FilterSyntaxError on any error."""
    tokens = tokenize(text, path)
    try:
        tree = lalr.run(tokens, lalr.tables())
    except lalr.Unexpected as exc:
        raise _syntax_error(exc, tokens, text, path) from None
    header = _header_at_end(tokens)
    if header is not None:
        lines = text.split("\n")
        raise FilterSyntaxError(
            path, header.line, header.column,
            f"the file ends right after this '{str(header.value)}' line: its statement is "
            f"missing (maildrop needs a statement or a blank line after it)",
            lines[header.line - 1] if 0 < header.line <= len(lines) else None)
    try:
        return ast.Program(path, _Builder(path, text).statements(tree.children))
    except RecursionError:
        raise FilterSyntaxError(path, 1, 1, "the filter nests too deeply (blocks, ifs or "
                                "operators thousands of levels deep)") from None


# FRIENDLY SYNTAX ERRORS


def _syntax_error(exc: Any, tokens: list[Token], text: str, path: str) -> FilterSyntaxError:
    lines = text.split("\n")
    tok = getattr(exc, "token", None)
    if tok is None or tok.type == "$END":
        line, column = _end_position(lines)
        message = _message_at_end(tokens)
        prev = tokens[-1] if tokens else None
    else:
        line, column = tok.line, tok.column
        idx = _token_index(tokens, tok)
        prev = tokens[idx - 1] if idx > 0 else None
        message = _message_for(tok.type, str(tok.value), prev, tokens[:idx])
    if "\r" in text:
        message += (" (the file has carriage returns, as from Windows; a carriage return "
                    "ends a statement like a newline: convert the file with dos2unix)")
    source = lines[line - 1] if 0 < line <= len(lines) else None
    return FilterSyntaxError(path, line, column, message, source)


def _header_at_end(tokens: list[Token]) -> Token | None:
    """The if/elsif/else/while/foreach starting a header that only the file's
    last separator follows, if any: maildrop rejects such a file (a header's
    statement may be empty only if another separator follows)."""
    if len(tokens) < 2 or tokens[-1].type != "SEP":
        return None
    last = len(tokens) - 2
    if tokens[last].type in ("ELSE", "ELSE_WORD"):
        return tokens[last]
    if tokens[last].type == "PATTERN":              # foreach /x/, (expr) =~ /x/
        last -= 1
        if last >= 0 and tokens[last].type == "FOREACH":
            return tokens[last]
        if last < 1 or tokens[last].type != "MATCHOP" or tokens[last - 1].type != "RPAR":
            return None
        last -= 1
    elif tokens[last].type != "RPAR":
        return None
    depth = 0
    for i in range(last, -1, -1):                    # back to the matching '('
        depth += {"RPAR": 1, "LPAR": -1}.get(tokens[i].type, 0)
        if depth == 0:
            before = tokens[i - 1] if i > 0 else None
            if before is not None and before.type in ("IF", "ELSIF", "WHILE", "FOREACH"):
                return before
            return None
    return None


def _end_position(lines: list[str]) -> tuple[int, int]:
    while len(lines) > 1 and lines[-1].strip() == "":
        lines = lines[:-1]
    return len(lines), len(lines[-1]) + 1 if lines else 1


def _token_index(tokens: list[Token], tok: Any) -> int:
    for i, t in enumerate(tokens):
        if t.line == tok.line and t.column == tok.column and t.type == tok.type:
            return i
    return len(tokens)


def _open_brace_line(tokens: list[Token]) -> int | None:
    stack: list[int] = []
    for t in tokens:
        if t.type == "LBRACE":
            stack.append(t.line)
        elif t.type == "RBRACE" and stack:
            stack.pop()
    return stack[-1] if stack else None


def _open_paren(tokens: list[Token]) -> bool:
    depth = 0
    for t in tokens:
        if t.type == "LPAR":
            depth += 1
        elif t.type == "RPAR":
            depth -= 1
        elif t.type == "SEP":
            depth = 0
    return depth > 0


def _message_at_end(tokens: list[Token]) -> str:
    brace = _open_brace_line(tokens)
    if brace is not None:
        return f"missing '}}' to close the '{{' opened on line {brace}"
    if _open_paren(tokens):
        return "missing ')'"
    if tokens and tokens[-1].type != "SEP":
        return f"the statement is incomplete after {str(tokens[-1].value)!r}"
    return "unexpected end of file"


_LAYOUT = ("maildrop's layout rule: the '{' goes on the line after 'if (...)', "
           "'while (...)' and 'else'")


_OPERATORS = frozenset({"PLUS", "MINUS", "STAR", "SLASH", "BOR", "BAND", "OROR", "ANDAND",
                        "NUMCMP", "STRCMP", "BANG", "TILDE", "MATCHOP", "ASSIGN"})


def _message_for(type_: str, value: str, prev: Token | None, before: list[Token]) -> str:
    prev_type = prev.type if prev else None
    if type_ == "LPAR" and prev is not None and prev_type == "WORD":
        known = "escape getaddr hasaddr length lookup substr tolower toupper time gdbm*"
        return f"unknown function '{prev.value}' (the functions are: {known})"
    if prev is not None and prev_type in _OPERATORS and type_ in ("RPAR", "SEP", "COMMA"):
        return f"expected a value after '{prev.value}'"
    if type_ == "LBRACE" and prev_type in ("RPAR", "ELSE", "PATTERN"):
        return f"'{{' must start a new line ({_LAYOUT})"
    if type_ in ("ELSE_WORD", "ELSIF_WORD"):
        if prev_type == "RBRACE":
            return f"'{value}' must start the line after '}}' (\"}} {value}\" on one line " \
                   f"is not allowed)"
        return (f"'{value}' must come on the line right after the if's statement or '}}', "
                f"with no blank or comment line in between")
    if type_ == "RBRACE":
        return "'}' must be on a line of its own (or follow ';')"
    if type_ == "MATCHOP" and any(t.type in ("STAR", "SLASH") for t in before[-3:]):
        return "'=~' cannot match the right side of '*' or '/': put the product in " \
               "parentheses, as in (a * b) =~ /x/"
    if type_ == "ASSIGN":
        return ("'=' here: inside an expression only a whole expression in parentheses "
                "may be NAME = value (did you mean '==' to compare?)")
    if type_ == "SEP" and prev_type == "EXCEPTION":
        return "'exception' takes its '{' on the same line"
    if type_ == "SEP" and prev_type in ("DOTLOCK", "FLOCK") or (
            type_ == "SEP" and any(t.type in ("DOTLOCK", "FLOCK") for t in before[-3:])):
        return "dotlock and flock take a file name and then '{' on the same line"
    if type_ in ("SEP", "COMMA") and _open_paren(before):
        return "missing ')'" + (" before ','" if type_ == "COMMA" else "")
    if prev is not None and prev_type == "RPAR" and not _open_paren(before + [prev]) \
            and type_ != "SEP":
        if any(t.type in ("IF", "WHILE", "ELSIF") for t in before[-8:]):
            return f"the statement after 'if (...)' or 'while (...)' must start a new line " \
                   f"({_LAYOUT})"
    if type_ == "NUMCMP" or type_ == "STRCMP":
        return f"comparisons do not chain: write '(a {value} b)' with parentheses"
    if type_ == "FUNCN" or (prev_type == "FUNCN"):
        return "this function needs its arguments in parentheses: name(arg, ...)"
    if prev_type == "EXIT":
        return "'exit' takes no argument: set EXITCODE first"
    if prev_type == "FOREACH" or (type_ == "SEP" and any(t.type == "FOREACH"
                                                          for t in before[-6:])):
        return "foreach takes /pattern/ or (expression) =~ /pattern/"
    if type_ == "SEP":
        return "unexpected end of line: the statement is incomplete"
    shown = value if len(value) <= 30 else value[:27] + "..."
    return f"unexpected {_describe(type_)} {shown!r}"


def _describe(type_: str) -> str:
    return {
        "WORD": "word", "DQSTRING": "string", "SQSTRING": "string", "BTSTRING": "command",
        "PATTERN": "pattern", "NAME": "name", "ASSIGN": "'='",
    }.get(type_, "keyword" if type_.isupper() and len(type_) > 3 else "symbol")


# TREE -> AST


class _Builder:
    """Turn Lark's tree into ast nodes (one method per grammar rule)."""

    def __init__(self, path: str, text: str) -> None:
        self.path = path
        self.text = text

    def statements(self, children: list[Any]) -> tuple[ast.Stmt, ...]:
        return tuple(self.stmt(c) for c in children if not _is_token(c))

    def stmt(self, tree: Any) -> ast.Stmt:
        rule = str(tree.data)
        method = _STATEMENT_RULES[rule]
        node: ast.Stmt = method(self, tree.children)
        return node

    def opt_stmt(self, children: list[Any]) -> ast.Stmt | None:
        trees = [c for c in children if not _is_token(c)]
        return self.stmt(trees[0]) if trees else None

    # statements

    def assign(self, ch: list[Any]) -> ast.Stmt:
        return ast.Assign(str(ch[0].value), self.expr(ch[2]), ch[0].line)

    def block(self, ch: list[Any]) -> ast.Block:
        return ast.Block(self.statements(ch), ch[0].line)

    def if_(self, ch: list[Any]) -> ast.Stmt:
        cond = self.expr(ch[2])
        rest = ch[5:]
        body_trees = [c for c in rest if not _is_token(c) and str(c.data) not in ("elsif", "else_")]
        branches = [(cond, self.stmt(body_trees[0]) if body_trees else None)]
        orelse: ast.Stmt | None = None
        has_else = False
        for c in rest:
            if _is_token(c):
                continue
            if str(c.data) == "elsif":
                branches.append((self.expr(c.children[2]), self.opt_stmt(c.children[5:])))
            elif str(c.data) == "else_":
                has_else = True
                orelse = self.opt_stmt(c.children[2:])
        return ast.If(tuple(branches), orelse, has_else, ch[0].line)

    def while_(self, ch: list[Any]) -> ast.Stmt:
        return ast.While(self.expr(ch[2]), self.opt_stmt(ch[5:]), ch[0].line)

    def foreach(self, ch: list[Any]) -> ast.Stmt:
        if ch[1].type == "PATTERN":
            return ast.Foreach(self.pattern(ch[1]), None, self.opt_stmt(ch[3:]), ch[0].line)
        return ast.Foreach(self.pattern(ch[5]), self.expr(ch[2]), self.opt_stmt(ch[7:]),
                           ch[0].line)

    def exception_(self, ch: list[Any]) -> ast.Stmt:
        return ast.Exception_(self.block(ch[1].children), ch[0].line)

    def dotlock(self, ch: list[Any]) -> ast.Stmt:
        return ast.Dotlock(self.expr(ch[1]), self.block(ch[2].children), ch[0].line)

    def flock(self, ch: list[Any]) -> ast.Stmt:
        return ast.Flock(self.expr(ch[1]), self.block(ch[2].children), ch[0].line)

    def exit(self, ch: list[Any]) -> ast.Stmt:
        return ast.Exit(ch[0].line)

    def expr_stmt(self, ch: list[Any]) -> ast.Stmt:
        e = self.expr(ch[0])
        return ast.ExprStmt(e, e.line)

    def _unary_stmt(cls: Any) -> Any:  # noqa: N805 - a factory used at class creation
        def build(self: _Builder, ch: list[Any]) -> ast.Stmt:
            node: ast.Stmt = cls(self.expr(ch[1]), ch[0].line)
            return node
        return build

    to = _unary_stmt(ast.To)
    cc = _unary_stmt(ast.Cc)
    echo = _unary_stmt(ast.Echo)
    log = _unary_stmt(ast.Log)
    logfile = _unary_stmt(ast.Logfile)
    system = _unary_stmt(ast.System)
    xfilter = _unary_stmt(ast.Xfilter)
    include = _unary_stmt(ast.Include)
    import_ = _unary_stmt(ast.Import)
    unset = _unary_stmt(ast.Unset)

    # expressions

    def expr(self, node: Any) -> ast.Expr:
        rule = str(node.data)
        ch = node.children
        if rule == "paren":
            return self.expr(ch[1])
        if rule == "text":
            return self.text_node(ch)
        if rule == "call":
            return self.call(ch)
        if rule == "search":
            return ast.Search(self.pattern(ch[0]), ch[0].line, ch[0].column)
        if rule == "match_text":
            return ast.MatchText(self.expr(ch[0]), self.pattern(ch[2]), ch[1].line, ch[1].column)
        if rule == "set_var":
            return ast.SetVar(str(ch[0].value), self.expr(ch[2]), ch[0].line, ch[0].column)
        if rule in ("not_", "bit_not"):
            unary = ast.Not if rule == "not_" else ast.BitNot
            return unary(self.expr(ch[1]), ch[0].line, ch[0].column)
        op = ch[1]
        left, right = self.expr(ch[0]), self.expr(ch[2])
        if rule == "or_":
            return ast.Or(left, right, op.line, op.column)
        if rule == "and_":
            return ast.And(left, right, op.line, op.column)
        return ast.BinOp(str(op.value), left, right, op.line, op.column)

    def call(self, ch: list[Any]) -> ast.Expr:
        name_tok = ch[0]
        args = tuple(self.expr(c) for c in ch[1:] if not _is_token(c))
        name = str(name_tok.value)
        _check_arity(name, len(args), self.path, name_tok, self.text)
        return ast.Call(name, args, name_tok.line, name_tok.column)

    def text_node(self, ch: list[Any]) -> ast.Text:
        parts: list[ast.TextPart] = []
        for tok in ch:
            value = str(tok.value)
            if tok.type == "SQSTRING":
                parts.append(ast.Literal(value))
            elif tok.type == "BTSTRING":
                parts.append(ast.Backtick(value, tok.line))
            else:
                parts.append(ast.Substituted(parse_template(value, tok.type == "DQSTRING")))
        return ast.Text(_merge_literals(parts), ch[0].line, ch[0].column)

    def pattern(self, tok: Any) -> ast.PatternSpec:
        value: PatternToken = tok.value
        source = "/" + value.text + "/"
        return ast.PatternSpec(parse_template(value.text, True), value.options, value.weights,
                               source)


_STATEMENT_RULES = {
    name: getattr(_Builder, name)
    for name in ("assign", "to", "cc", "echo", "exit", "log", "logfile", "system", "xfilter",
                 "include", "import_", "unset", "block", "if_", "while_", "foreach",
                 "exception_", "dotlock", "flock", "expr_stmt")
}

# name -> (fewest, most) arguments
_ARITY = {
    "escape": (1, 1), "getaddr": (1, 1), "hasaddr": (1, 1), "length": (1, 1),
    "tolower": (1, 1), "toupper": (1, 1), "time": (0, 0), "gdbmclose": (0, 0),
    "lookup": (2, 3), "substr": (2, 3), "gdbmopen": (1, 2), "gdbmfetch": (1, 3),
    "gdbmstore": (2, 2),
}


def _check_arity(name: str, count: int, path: str, tok: Any, text: str) -> None:
    low, high = _ARITY[name]
    if low <= count <= high:
        return
    want = str(low) if low == high else f"{low} to {high}"
    lines = text.split("\n")
    raise FilterSyntaxError(path, tok.line, tok.column,
                            f"{name}() takes {want} argument{'s' if high != 1 else ''}, "
                            f"not {count}", lines[tok.line - 1])


def _merge_literals(parts: list[ast.TextPart]) -> tuple[ast.TextPart, ...]:
    out: list[ast.TextPart] = []
    for p in parts:
        if isinstance(p, ast.Substituted) and all(isinstance(x, str) for x in p.template):
            p = ast.Literal("".join(str(x) for x in p.template))
        if out and isinstance(p, ast.Literal) and isinstance(out[-1], ast.Literal):
            out[-1] = ast.Literal(out[-1].value + p.value)
        else:
            out.append(p)
    return tuple(out)


def _is_token(node: Any) -> bool:
    return hasattr(node, "type") and not hasattr(node, "data")

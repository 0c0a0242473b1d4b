"""Run a parsed filter against one message.

Contract: Interpreter(state, effects).run(program) executes statements until
    the program ends (returns None: the caller goes on to the next filter or
    to the default mailbox) or stops (returns the exit status: `exit`, or a
    completed `to`).  deliver_default() is the final delivery to $DEFAULT.
    All per-delivery state lives in the Interpreter (no globals), so an LMTP
    server can run many at once; every effect goes through `effects`.
Safety: no I/O of its own; embedded mode (-m) refuses deliveries, commands
    and writes at parse time (see restrictions.py) and skips the default.
Errors: MaildropError subclasses propagate with the line that raised them;
    `exception { }` traps the trappable ones.
See also: maildropfilter(7); effects.py; values.py; patterns.py.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager
from typing import Any

from pymaildrop import limits
from pymaildrop.deliver import MailboxOptions
from pymaildrop.errors import (
    DeliveryError,
    FilterRuntimeError,
    MaildropError,
    QuotaExceeded,
    TempFail,
)
from pymaildrop.interp import builtins, gdbm, values
from pymaildrop.interp.effects import CommandContext, Effects, sendmail_argv
from pymaildrop.interp.patterns import Hit, PatternError, compile_pattern, search_lines, search_text
from pymaildrop.lang import ast
from pymaildrop.log import delivery_record
from pymaildrop.message import Message


class _Stop(Exception):
    """`exit` or a completed `to`: stop filtering with this status."""

    def __init__(self, code: int) -> None:
        super().__init__(code)
        self.code = code


class FilterState:
    """What one delivery's filters share: variables, the message, the mode."""

    def __init__(self, variables: dict[str, str], message: Message, *,
                 environ: Mapping[str, str] | None = None,
                 envelope_sender: str = "MAILER-DAEMON", embedded: bool = False,
                 delivery_mode: bool = False, cwd: str | None = None,
                 command_timeout: float = limits.COMMAND_TIMEOUT,
                 parse: Callable[[str, str], ast.Program] | None = None,
                 quota_warn_percent: int = 0, quota_warn_file: str = "",
                 pattern_guard: Callable[[str], AbstractContextManager[Any]] | None = None
                 ) -> None:
        self.variables = variables
        self.message = message
        self.environ: Mapping[str, str] = environ if environ is not None else {}
        self.envelope_sender = envelope_sender
        self.embedded = embedded
        self.delivery_mode = delivery_mode
        self.cwd = cwd
        self.command_timeout = command_timeout
        self.parse = parse
        self.quota_warn_percent = quota_warn_percent
        self.quota_warn_file = quota_warn_file
        self.pattern_guard = pattern_guard


class Interpreter:
    """Executes statements; one instance per delivery."""

    def __init__(self, state: FilterState, effects: Effects) -> None:
        self.state = state
        self.vars = state.variables
        self.effects = effects
        self.embedded = state.embedded
        self._files: list[str] = []
        self._dbs: list[gdbm.Db | None] = []
        self._line = 0
        self._retired: list[Message] = []
        self._trusted = 0              # depth inside files from /etc/maildroprcs/
        self._initial = {k: self.vars[k] for k in _RESET_FOR_MAILDROPRCS if k in self.vars}

    # FunctionContext for builtins

    @property
    def message(self) -> Message:
        return self.state.message

    @property
    def db(self) -> gdbm.Db | None:
        return self._dbs[-1] if self._dbs else None

    @db.setter
    def db(self, value: gdbm.Db | None) -> None:
        if self._dbs:
            self._dbs[-1] = value

    # RUNNING

    def run(self, program: ast.Program) -> int | None:
        """Run a whole filter file; return the exit status if it stopped."""
        try:
            self._run_file(program)
        except _Stop as stop:
            return stop.code
        except RecursionError:
            raise TempFail(f"{program.path}: the filter nests too deeply to run") from None
        return None

    def _run_file(self, program: ast.Program) -> None:
        self._files.append(program.path)
        self._dbs.append(None)
        if self.verbose >= 2 and len(self._files) == 1:
            self._trace(f"maildrop: Attempting {program.path}")
        try:
            self.exec_body(program.body)
        finally:
            db = self._dbs.pop()
            if db is not None:
                db.close()
            self._files.pop()

    def deliver_default(self) -> int:
        """Deliver to $DEFAULT after the filters did not; return the exit status."""
        if self.embedded:
            return self.exit_code()
        self._line = 0
        self.deliver(self.vars.get("DEFAULT", ""), final=True)
        return self.exit_code()

    def exit_code(self) -> int:
        """maildrop's exit status: EXITCODE as a number (0 when not numeric)."""
        number = values.to_number(self.vars.get("EXITCODE", ""))
        if number != number or abs(number) == float("inf"):
            return 0
        return int(number) & 0xFF

    def close(self) -> None:
        """Release the message (and any an xfilter replaced)."""
        for msg in (*self._retired, self.state.message):
            msg.close()
        self._retired.clear()

    @property
    def verbose(self) -> int:
        if self.state.delivery_mode:
            return 0
        return _int_var(self.vars.get("VERBOSE"), 0)

    @property
    def where(self) -> str:
        path = self._files[-1] if self._files else "?"
        return f"{path}({self._line})"

    def _trace(self, text: str) -> None:
        self.effects.warn(text)

    # STATEMENTS

    def exec_body(self, body: tuple[ast.Stmt, ...]) -> None:
        for stmt in body:
            self.exec_stmt(stmt)

    def exec_stmt(self, stmt: ast.Stmt | None) -> None:
        if stmt is None:
            return
        self._line = stmt.line
        try:
            _STATEMENTS[type(stmt)](self, stmt)
        except MaildropError as exc:
            if getattr(exc, "where", None) is None:
                exc.where = f"{self._files[-1] if self._files else '?'}({stmt.line})"  # type: ignore[attr-defined]
            raise

    def exec_assign(self, s: ast.Assign) -> None:
        """NAME=expression -- set a variable."""
        self.set_var(s.name, self.eval(s.value))

    def set_var(self, name: str, value: str) -> None:
        self.vars[name] = value
        if self.verbose >= 4:
            self._trace(f'{self.where}: {name}="{value}"')

    def exec_to(self, s: ast.To) -> None:
        """to expression -- deliver and stop (maildropfilter(7) "to")."""
        self.deliver(self.eval(s.target), final=True)
        raise _Stop(self.exit_code())

    def exec_cc(self, s: ast.Cc) -> None:
        """cc expression -- deliver a copy and go on."""
        self.deliver(self.eval(s.target), final=False)

    def exec_echo(self, s: ast.Echo) -> None:
        """echo expression -- print it (a trailing \\c suppresses the newline)."""
        self.effects.echo(echo_bytes(self.eval(s.value)))

    def exec_log(self, s: ast.Log) -> None:
        """log expression -- write it to the log file."""
        self.effects.write_log(echo_bytes(self.eval(s.value)))

    def exec_logfile(self, s: ast.Logfile) -> None:
        """logfile expression -- start logging deliveries to this file."""
        self.effects.open_log(self.eval(s.path))

    def exec_exit(self, s: ast.Exit) -> None:
        """exit -- stop with EXITCODE."""
        raise _Stop(self.exit_code())

    def exec_system(self, s: ast.System) -> None:
        """system expression -- run a command; RETURNCODE is its status."""
        result = self.effects.system(self.eval(s.command), self.command_context())
        self.vars["RETURNCODE"] = str(result.code)

    def exec_xfilter(self, s: ast.Xfilter) -> None:
        """xfilter expression -- replace the message with the command's output."""
        command = self.eval(s.command)
        if self.verbose >= 1:
            self._trace(f"maildrop: Filtering through xfilter {command}")
        result, new = self.effects.filter_message(command, self.message, self.command_context())
        self.vars["RETURNCODE"] = str(result.code)
        if new is None or result.status != 0:
            how = (f"exited with status {result.status}" if result.status is not None
                   else f"was killed by signal {result.signal}")
            raise TempFail(f"xfilter command {how}: {command}")
        self.set_message(new)

    def set_message(self, message: Message) -> None:
        """Make message the one being delivered (after xfilter)."""
        old, self.state.message = self.state.message, message
        if old is not message:
            self._retired.append(old)    # a foreach may still be reading it
        self.vars["SIZE"] = str(message.size)
        self.vars["LINES"] = str(message.lines)

    def exec_include(self, s: ast.Include) -> None:
        """include expression -- run another filter file here."""
        path = self.eval(s.path)
        if len(self._files) > limits.MAX_INCLUDE_DEPTH:
            raise FilterRuntimeError("too many nested include statements "
                                     f"(more than {limits.MAX_INCLUDE_DEPTH})")
        try:
            text = values.from_bytes(self.effects.read_file(path))
        except OSError as exc:
            raise TempFail(f"cannot open include file {path}: {exc.strerror or exc}") from exc
        if self.state.parse is not None:
            program = self.state.parse(text, path)
        else:
            from pymaildrop.lang import parse_text

            program = parse_text(text, path)
        trusted = self._trusted > 0 or _trusted_include(path)
        if self.embedded and not trusted:
            # SECURITY: an included file obeys embedded mode like the filter itself.
            from pymaildrop.lang.restrictions import check_embedded

            check_embedded(program, text)
        if not trusted:
            self._run_file(program)
            return
        if self._trusted == 0:
            # COMPAT: maildrop(1) resets these before running a /etc/maildroprcs file.
            self.vars.update(self._initial)
        self._trusted += 1
        try:
            self._run_file(program)
        finally:
            self._trusted -= 1

    def exec_import(self, s: ast.Import) -> None:
        """import expression -- restore a variable from the original environment."""
        name = self.eval(s.name)
        if name in self.state.environ:
            self.vars[name] = self.state.environ[name]
        else:
            self.vars.pop(name, None)

    def exec_unset(self, s: ast.Unset) -> None:
        """unset expression -- remove a variable."""
        self.vars.pop(self.eval(s.name), None)

    def exec_block(self, s: ast.Block) -> None:
        """{ statements }"""
        self.exec_body(s.body)

    def exec_if(self, s: ast.If) -> None:
        """if (expression) statement [elsif ...] [else statement]"""
        for cond, body in s.branches:
            if self.verbose >= 4:
                self._trace(f"{self.where}: Evaluating IF condition.")
            result = self.eval(cond)
            if self.verbose >= 4:
                self._trace(f"{self.where}: IF evaluated, result={result}")
            if values.is_true(result):
                self.exec_stmt(body)
                return
        self.exec_stmt(s.orelse)

    def exec_while(self, s: ast.While) -> None:
        """while (expression) statement"""
        while values.is_true(self.eval(s.cond)):
            self.exec_stmt(s.body)

    def exec_foreach(self, s: ast.Foreach) -> None:
        """foreach /pattern/ or (expression) =~ /pattern/ -- once per match."""
        regex = self.compile(s.pattern)
        if regex is None:
            return
        if s.subject is not None:
            subject = self.eval(s.subject)
            with self.guard(s.pattern.source):
                matches: Iterator[Any] = iter([m for m in regex.finditer(subject)
                                               if m.end() > m.start()])
        else:
            matches = self._line_matches(regex, s.pattern)
        for m in matches:
            self.publish_match(m)
            self.exec_stmt(s.body)

    def _line_matches(self, regex: Any, pattern: ast.PatternSpec) -> Iterator[Any]:
        """Each message line's first match, one at a time (a 20 MB body stays on disk)."""
        for line in self.search_lines_for(pattern.options):
            with self.guard(pattern.source):
                m = regex.search(line)
            if m is not None:
                yield m

    def exec_exception(self, s: ast.Exception_) -> None:
        """exception { statements } -- trap errors raised inside."""
        try:
            self.exec_body(s.body.body)
        except MaildropError as exc:
            if not exc.trappable:
                raise
            if isinstance(exc, QuotaExceeded):
                self.effects.error(exc.message)

    def exec_dotlock(self, s: ast.Dotlock) -> None:
        """dotlock expression { statements } -- hold a dot-lock file meanwhile."""
        with self.effects.dotlock(self.eval(s.path), self.mailbox_options()):
            self.exec_body(s.body.body)

    def exec_flock(self, s: ast.Flock) -> None:
        """flock expression { statements } -- hold a kernel lock on the file meanwhile."""
        with self.effects.flock(self.eval(s.path), self.mailbox_options()):
            self.exec_body(s.body.body)

    def exec_expr_stmt(self, s: ast.ExprStmt) -> None:
        """An expression evaluated for its effect (gdbmstore(...), a pattern)."""
        self.eval(s.expr)

    # DELIVERY

    def deliver(self, target: str, final: bool) -> None:
        """Deliver the message to a mailbox, |command or !addresses."""
        message = self.message
        if message.is_empty:
            return  # COMPAT: maildrop delivers nothing for an empty message
        if target.startswith("|"):
            self._deliver_command(target, target[1:], message, forward=False)
        elif target.startswith("!"):
            self._deliver_command(target, target[1:], message, forward=True)
        else:
            self._deliver_mailbox(target, message)

    def _deliver_command(self, target: str, command: str, message: Message,
                         forward: bool) -> None:
        ctx = self.command_context()
        if forward:
            argv = sendmail_argv(self.vars.get("SENDMAIL", limits.SENDMAIL), command)
            shown = "|" + " ".join(argv)
        else:
            shown = target
        if self.verbose >= 1:
            self._trace(f"maildrop: Delivering to {shown}")
        if forward:
            result = self.effects.forward(argv, message, ctx)
        else:
            result = self.effects.deliver_pipe(command, message, ctx)
        if result.status is None:
            self._log_delivery(target, ok=False)
            raise DeliveryError(f"{'forward' if forward else 'command'} {command!r} was killed "
                                f"by signal {result.signal}; delivery deferred", mailbox=target)
        self.vars["EXITCODE"] = str(result.status)
        self._log_delivery(target, ok=result.status == 0)

    def _deliver_mailbox(self, path: str, message: Message) -> None:
        if not path:
            raise DeliveryError("cannot deliver: the mailbox name is empty", mailbox=path)
        opts = self.mailbox_options()
        if self.verbose >= 1:
            self._trace(f"maildrop: Delivering to {path}")
        if path != "/dev/null":
            self.effects.deliver_mailbox(path, message, opts)
        self._log_delivery(path, ok=True)

    def _log_delivery(self, target: str, ok: bool) -> None:
        msg = self.message
        self.effects.write_log(delivery_record(
            target, msg.size, msg.header_first_line("From"), msg.header_first_line("Subject"),
            ok, self.effects.now()))

    def mailbox_options(self) -> MailboxOptions:
        """Return the mailbox settings the variables describe now."""
        v = self.vars
        keywords = tuple(k.strip() for k in v.get("KEYWORDS", "").split(",") if k.strip())
        return MailboxOptions(
            umask=_octal(v.get("UMASK", limits.UMASK), 0o077),
            flags=v.get("FLAGS", ""),
            keywords=keywords,
            quota=v.get("MAILDIRQUOTA", ""),
            envelope_sender=self.state.envelope_sender,
            lockext=v.get("LOCKEXT", limits.LOCKEXT),
            locksleep=_int_var(v.get("LOCKSLEEP"), limits.LOCKSLEEP),
            locktimeout=_int_var(v.get("LOCKTIMEOUT"), limits.LOCKTIMEOUT),
            lockrefresh=_int_var(v.get("LOCKREFRESH"), limits.LOCKREFRESH),
            hostname=v.get("HOSTNAME", "") or os.uname().nodename,
            warn_percent=self.state.quota_warn_percent,
            warn_file=self.state.quota_warn_file,
        )

    def command_context(self) -> CommandContext:
        """Return what a command started now gets: the exported variables."""
        from pymaildrop.proc import build_env

        return CommandContext(env=build_env(self.vars), shell=self.vars.get("SHELL", "/bin/sh"),
                              timeout=self.state.command_timeout, cwd=self.state.cwd)

    # EXPRESSIONS

    def eval(self, e: ast.Expr) -> str:
        result: str = _EXPRESSIONS[type(e)](self, e)
        return result

    def eval_set_var(self, e: ast.SetVar) -> str:
        """NAME = expression inside an expression: set it and yield the value."""
        value = self.eval(e.value)
        self.set_var(e.name, value)
        return value

    def eval_text(self, e: ast.Text) -> str:
        out = []
        for part in e.parts:
            if type(part) is ast.Literal:
                out.append(part.value)
            elif type(part) is ast.Substituted:
                out.append(self.substitute(part.template))
            else:
                out.append(self.backtick(part))  # type: ignore[arg-type]
        return "".join(out)

    def substitute(self, template: ast.Template) -> str:
        """Fill in a template's variables."""
        get = self.vars.get
        out = []
        for piece in template:
            if type(piece) is str:
                out.append(piece)
            elif type(piece) is ast.VarRef:
                out.append(get(piece.name, ""))
            else:
                self.effects.error(f"{self.where}: '}}' is missing after '{piece.text}' "  # type: ignore[union-attr]
                                   "(the text is used as it is)")
                out.append(piece.text)  # type: ignore[union-attr]
        return "".join(out)

    def backtick(self, part: ast.Backtick) -> str:
        """`command` -- its output, newlines made spaces, trimmed; "" if it failed."""
        if self.verbose >= 1:
            self._trace(f"maildrop: Filtering through `{part.command}`")
        result = self.effects.backtick(part.command, self.message, self.command_context())
        self.vars["RETURNCODE"] = str(result.code)
        if result.status != 0:
            return ""
        return values.from_bytes(result.output).replace("\n", " ").strip(" ")

    def eval_search(self, e: ast.Search) -> str:
        regex = self.compile(e.pattern)
        if regex is None:
            return "0"
        lines = self.search_lines_for(e.pattern.options)
        if self.verbose >= 3:
            lines = self._traced(lines, e.pattern)
        with self.guard(e.pattern.source):
            hit = search_lines(regex, lines, e.pattern.weights)
        result = self.publish_hit(hit, e.pattern, message_search=True)
        if self.verbose >= 4:
            self._trace(f"{self.where}: Search of {e.pattern.source[1:-1]} = {result}")
        return result

    def _traced(self, lines: Iterator[str], pattern: ast.PatternSpec) -> Iterator[str]:
        for line in lines:
            self._trace(f"Matching {pattern.source} against {line}")
            yield line

    def search_lines_for(self, options: str) -> Iterator[str]:
        """Return the message lines a pattern with these options searches."""
        from pymaildrop import mime

        header, body = "h" in options, "b" in options
        if not header and not body:
            header = True
            body = "w" in options
        return mime.iter_search_lines(self.message, header, body)

    def eval_match_text(self, e: ast.MatchText) -> str:
        subject = self.eval(e.subject)
        regex = self.compile(e.pattern)
        if regex is None:
            return "0"
        with self.guard(e.pattern.source):
            hit = search_text(regex, subject, e.pattern.weights)
        return self.publish_hit(hit, e.pattern, message_search=False)

    def publish_hit(self, hit: Hit, pattern: ast.PatternSpec, message_search: bool) -> str:
        """Set MATCH... from an unweighted hit; return the search's value."""
        if pattern.weights:
            return values.format_number(hit.score)
        if hit.match is None:
            return "0"
        self.publish_match(hit.match)
        # COMPAT: maildrop 2.9 gives 2, not 1, for a successful search of the message.
        return "2" if message_search else "1"

    def publish_match(self, m: Any) -> None:
        """MATCH is the matched text, MATCH1... the groups (higher ones are left alone)."""
        self.vars["MATCH"] = m.group(0)
        for i, g in enumerate(m.groups(), 1):
            self.vars[f"MATCH{i}"] = g if g is not None else ""

    def compile(self, pattern: ast.PatternSpec) -> Any:
        """Compile a pattern with its variables filled in; warn and give None if invalid."""
        text = self.substitute(pattern.template)
        try:
            return compile_pattern(text, "D" in pattern.options)
        except PatternError as exc:
            self.pattern_warning(str(exc))
            return None

    def guard(self, label: str) -> AbstractContextManager[Any]:
        """The time budget a search runs under (the delivery watchdog's)."""
        if self.state.pattern_guard is None:
            return contextlib.nullcontext()
        return self.state.pattern_guard(label)

    def pattern_warning(self, text: str) -> None:
        """Report a bad pattern; like maildrop, the search then just fails."""
        self.effects.error(f"{self.where}: {text} (the pattern does not match anything)")

    def eval_bin_op(self, e: ast.BinOp) -> str:
        op = e.op
        left, right = self.eval(e.left), self.eval(e.right)
        if op in _STRING_COMPARE:
            return values.from_bool(_STRING_COMPARE[op](left, right))
        a, b = values.to_number(left), values.to_number(right)
        if op in _NUMBER_COMPARE:
            return values.from_bool(_NUMBER_COMPARE[op](a, b))
        return values.format_number(_ARITHMETIC[op](a, b))

    def eval_and(self, e: ast.And) -> str:
        left = self.eval(e.left)
        return self.eval(e.right) if values.is_true(left) else left

    def eval_or(self, e: ast.Or) -> str:
        left = self.eval(e.left)
        return left if values.is_true(left) else self.eval(e.right)

    def eval_not(self, e: ast.Not) -> str:
        return values.from_bool(not values.is_true(self.eval(e.operand)))

    def eval_bit_not(self, e: ast.BitNot) -> str:
        return values.format_number(values.bit_not(values.to_number(self.eval(e.operand))))

    def eval_call(self, e: ast.Call) -> str:
        args = [_lazy(self, a) for a in e.args]
        return builtins.FUNCTIONS[e.name](self, args)


_RESET_FOR_MAILDROPRCS = ("DEFAULT", "HOME", "LOCKEXT", "LOCKSLEEP", "LOCKTIMEOUT",
                          "LOCKREFRESH", "LOGNAME", "PATH", "SENDMAIL", "SHELL")


def _trusted_include(path: str) -> bool:
    """maildrop(1): a file in /etc/maildroprcs/ (no periods in its name) may do
    what embedded mode otherwise forbids -- the administrator's own commands."""
    prefix = "/etc/maildroprcs/"
    return path.startswith(prefix) and "." not in path[len(prefix):]


def _lazy(interp: Interpreter, e: ast.Expr) -> Callable[[], str]:
    return lambda: interp.eval(e)


def _octal(text: str, default: int) -> int:
    try:
        return int(text.strip(), 8) & 0o777
    except ValueError:
        return default


def _int_var(text: str | None, default: int) -> int:
    if text is None or not text.strip():
        return default
    number = values.to_number(text)
    return int(number) if number == number and abs(number) != float("inf") else default


def echo_bytes(text: str) -> bytes:
    """Apply echo's backslash escapes; a final \\c means no newline."""
    newline = True
    if text.endswith("\\c") and not text.endswith("\\\\c"):
        text = text[:-2]
        newline = False
    out: list[str] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch != "\\" or i + 1 >= n:
            out.append(ch)
            i += 1
            continue
        nxt = text[i + 1]
        if nxt in _ECHO_ESCAPES:
            out.append(_ECHO_ESCAPES[nxt])
            i += 2
        elif nxt in "01234567":
            j = i + 1
            limit = j + (4 if nxt == "0" else 3)
            while j < n and j < limit and text[j] in "01234567":
                j += 1
            out.append(chr(int(text[i + 1:j], 8) & 0xFF))
            i = j
        else:
            out.append(nxt)
            i += 2
    data = values.to_bytes("".join(out))
    return data + b"\n" if newline else data


_ECHO_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "f": "\f", "v": "\v"}

_STRING_COMPARE: dict[str, Callable[[str, str], bool]] = {
    "lt": lambda a, b: values.to_bytes(a) < values.to_bytes(b),
    "le": lambda a, b: values.to_bytes(a) <= values.to_bytes(b),
    "gt": lambda a, b: values.to_bytes(a) > values.to_bytes(b),
    "ge": lambda a, b: values.to_bytes(a) >= values.to_bytes(b),
    "eq": lambda a, b: a == b,
    "ne": lambda a, b: a != b,
}
_NUMBER_COMPARE: dict[str, Callable[[float, float], bool]] = {
    "<": lambda a, b: a < b, "<=": lambda a, b: a <= b, ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b, "==": lambda a, b: a == b, "!=": lambda a, b: a != b,
}
_ARITHMETIC: dict[str, Callable[[float, float], float]] = {
    "+": lambda a, b: a + b, "-": lambda a, b: a - b, "*": lambda a, b: a * b,
    "/": values.divide, "|": values.bit_or, "&": values.bit_and,
}

_STATEMENTS: dict[type, Callable[[Interpreter, Any], None]] = {
    ast.Assign: Interpreter.exec_assign, ast.To: Interpreter.exec_to, ast.Cc: Interpreter.exec_cc,
    ast.Echo: Interpreter.exec_echo, ast.Exit: Interpreter.exec_exit,
    ast.Log: Interpreter.exec_log, ast.Logfile: Interpreter.exec_logfile,
    ast.System: Interpreter.exec_system, ast.Xfilter: Interpreter.exec_xfilter,
    ast.Include: Interpreter.exec_include, ast.Import: Interpreter.exec_import,
    ast.Unset: Interpreter.exec_unset, ast.Block: Interpreter.exec_block,
    ast.If: Interpreter.exec_if, ast.While: Interpreter.exec_while,
    ast.Foreach: Interpreter.exec_foreach, ast.Exception_: Interpreter.exec_exception,
    ast.Dotlock: Interpreter.exec_dotlock, ast.Flock: Interpreter.exec_flock,
    ast.ExprStmt: Interpreter.exec_expr_stmt,
}
_EXPRESSIONS: dict[type, Callable[[Interpreter, Any], str]] = {
    ast.Text: Interpreter.eval_text, ast.Search: Interpreter.eval_search,
    ast.MatchText: Interpreter.eval_match_text, ast.BinOp: Interpreter.eval_bin_op,
    ast.And: Interpreter.eval_and, ast.Or: Interpreter.eval_or, ast.Not: Interpreter.eval_not,
    ast.BitNot: Interpreter.eval_bit_not, ast.Call: Interpreter.eval_call,
    ast.SetVar: Interpreter.eval_set_var,
}

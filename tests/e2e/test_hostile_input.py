"""Hostile messages are stored byte for byte as Courier maildrop stores them.

Contract: every hostile message (NUL bytes, no header/body separator, a
    1 MB line, 8-bit bytes, CRLF, bare CR, no final newline, a leading
    From_ line, 10,000 header lines, a 5 MB message that pymaildrop spools,
    ...) is run through the same filter by the real maildrop
    (/usr/bin/maildrop) and by the pymaildrop installed beside this Python,
    once per delivery target: maildir, maildir with FLAGS, mbox, pipe,
    forward (a stub SENDMAIL that records argv and stdin), xfilter then
    mbox, cc then the default mailbox.  Every filter also echoes $SIZE and
    $LINES and the outcome of a few pattern searches (header, body, 8-bit),
    so matching and the message variables are compared too.
Comparison: through the shared conformance harness
    (../shared/conformance/harness.py: private mount + UTS namespaces, the
    same environment, the same normalization), exactly on exit code, stdout
    and the snapshot of changed files (names, modes, bytes); on stderr only
    "empty or not", as run.py's loose mode (pymaildrop's error texts differ
    from maildrop's on purpose).
Known differences: the rows of the README's "Known differences from
    maildrop" table are not counted; see KNOWN_DIFFERENCES below for how
    each one is (or need not be) excluded.
Memory: test_peak_memory_does_not_grow runs pymaildrop alone on 8 MB
    hostile shapes (one long header line, one long body line, many header
    lines, many short lines) with the benchmark filters and holds it to the
    issue's target, a peak within 2x of the 5 KB peak, measured as
    benchmarks/peak_memory.py does -- except one huge line, which must be
    held to be searched (as maildrop holds it): there the bound grows with
    the line (LINE_FACTOR).
Bugs: a difference found here is a strict xfail in BUGS until it is fixed
    (none is open).
Speed: the outcomes of all selected cases are computed once, in parallel,
    by a module fixture; each test only compares.  About 80 s for the
    comparisons and 20 s for the memory tests on 2 cores.  Needs root
    (namespaces) and /usr/bin/maildrop; skips otherwise.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.e2e

HERE = Path(__file__).resolve().parent
CHECKOUT = HERE.parents[1]
CONFORMANCE = CHECKOUT.parent / "shared" / "conformance"
MAILDROP = "/usr/bin/maildrop"
PYMAILDROP = Path(sys.executable).parent / "pymaildrop"
JOBS = max(2, (os.cpu_count() or 1) * 2)
TIMEOUT = 120


# ------------------------------------------------------------- the messages

HDR = (b"Return-Path: <alice@example.com>\n"
       b"From: Alice Example <alice@example.com>\n"
       b"To: Bob Builder <bob@example.net>\n"
       b"Subject: x marks the spot\n"
       b"Date: Tue, 5 Mar 2024 09:15:00 +0000\n"
       b"Message-ID: <hostile@example.com>\n")
BODY = b"Hi Bob,\n\nsee you on Friday.\n\nAlice\n"
PLAIN = HDR + b"\n" + BODY
FROM_LINE = b"From someone@x Mon Jan  1 00:00:00 2024\n"
MIB = 1024 * 1024


def _crlf(data: bytes) -> bytes:
    return data.replace(b"\n", b"\r\n")


def _big(total: int) -> bytes:
    line = b"The quick brown fox jumps over the lazy dog; 0123456789 abcdefghijklmnop\n"
    body = line * (total // len(line) + 1)
    return HDR + b"\n" + body[:total - len(HDR) - 1 - 4] + b"end\n"


def _mime(parts: list[bytes], boundary: bytes = b"b0undary", close: bool = True) -> bytes:
    out = [HDR, b"MIME-Version: 1.0\n",
           b'Content-Type: multipart/mixed; boundary="' + boundary + b'"\n\npreamble\n']
    for part in parts:
        out.append(b"--" + boundary + b"\n" + part)
    if close:
        out.append(b"--" + boundary + b"--\nepilogue\n")
    return b"".join(out)


def _nested(depth: int) -> bytes:
    inner = b"Content-Type: text/plain\n\ncaf\xc3\xa9 at the bottom\n"
    for level in range(depth):
        b = b"n%d" % level
        inner = (b'Content-Type: multipart/mixed; boundary="' + b + b'"\n\n--' + b + b"\n"
                 + inner + b"--" + b + b"--\n")
    return HDR + b"MIME-Version: 1.0\n" + inner


B64_UTF8 = base64.encodebytes("Ã and café, 8-bit inside base64\n".encode())
B64_NUL = base64.encodebytes(b"nul \0 inside\ncaf\xe9\n")

MESSAGES: dict[str, Callable[[], bytes]] = {
    # NUL bytes
    "nul-header": lambda: HDR + b"X-Nul: a\0b\0\n" + b"\n" + BODY,
    "nul-body": lambda: HDR + b"\n" + b"line with a \0 in it\n\0\n\0\0\0end\n",
    "nul-only": lambda: b"\0\0\0\n",
    # structure
    "no-separator": lambda: HDR + b"This line is not a header\nneither is this\n",
    "header-only": lambda: HDR,
    "header-only-no-newline": lambda: HDR.rstrip(b"\n"),
    "leading-blank-line": lambda: b"\n" + PLAIN,
    "continuation-first": lambda: b"\tcontinued\n" + PLAIN,
    "bogus-line-in-header": lambda: (b"From: alice@example.com\nnot a header line\n"
                                     b"Subject: x hidden\n\nbody\n"),
    "space-before-colon": lambda: b"Subject : x spaced\nFrom: alice@example.com\n\nbody\n",
    "from-line-in-header": lambda: (b"From: alice@example.com\n" + FROM_LINE
                                    + b"Subject: x after\n\nbody\n"),
    "folded-crlf": lambda: _crlf(b"Subject: x folded\n\tcontinued\n  again\n"
                                 b"From: alice@example.com\n\nbody\n"),
    "header-name-8bit": lambda: b"X-Caf\xe9: yes\n" + PLAIN,
    "return-path-8bit": lambda: (b"Return-Path: <caf\xe9@ex\xc3\x83mple.com>\n"
                                 + PLAIN.split(b"\n", 1)[1]),
    "return-path-empty": lambda: b"Return-Path: <>\n" + PLAIN.split(b"\n", 1)[1],
    "return-path-nul": lambda: b"Return-Path: <a\0b@example.com>\n" + PLAIN.split(b"\n", 1)[1],
    # long lines
    "long-body-line-1mb": lambda: HDR + b"\nbefore\n" + b"a" * MIB + b"\nafter\n",
    # Not quite 1 MiB: past 1 MiB, which tail of an unterminated last line
    # maildrop fails to search depends on where its read buffer ends (the
    # README's known differences); below it, it searches the whole line.
    "long-body-line-1mb-no-newline": lambda: HDR + b"\n" + b"b" * (MIB - 4096),
    "long-header-line-100kb": lambda: b"X-Long: " + b"h" * (100 * 1024) + b"\n" + PLAIN,
    "long-subject-100kb": lambda: (HDR.replace(b"Subject: x marks the spot",
                                               b"Subject: x " + b"s" * (100 * 1024))
                                   + b"\n" + BODY),
    # 8-bit
    "latin1": lambda: (HDR.replace(b"x marks the spot", b"x caf\xe9 \xc3")
                       + b"\nGr\xfc\xdfe, \xc3 \xe9t\xe9\n"),
    "invalid-utf8": lambda: (HDR + b"X-Bad: \xff\xfe\xc3\x28\x80\n"
                             + b"\n\xff\xfe\xc3\x28 \x80\xc0\xaf\xed\xa0\x80\n"),
    "valid-utf8": lambda: (HDR.replace(b"x marks the spot", "x café Ã 日本".encode())
                           + b"\n" + "Ã ü 日本語 😀\n".encode()),
    # line ends
    "crlf": lambda: _crlf(PLAIN),
    "crlf-leading-from": lambda: _crlf(FROM_LINE + PLAIN),
    "mixed-crlf-lf": lambda: (b"Return-Path: <alice@example.com>\r\nFrom: alice@example.com\n"
                              b"Subject: x mixed\r\nTo: bob@example.net\n\r\n"
                              b"crlf line\r\nlf line\nFrom the body\r\n"),
    "bare-cr": lambda: (b"From: alice@example.com\rX-Glued: yes\nSubject: x cr\r\n"
                        b"\nbody\rwith bare\rCRs\r"),
    "no-final-newline": lambda: PLAIN.rstrip(b"\n"),
    "crlf-no-final-newline": lambda: _crlf(PLAIN).rstrip(b"\r\n"),
    "final-cr-only": lambda: PLAIN.rstrip(b"\n") + b"\r",
    # From_ lines
    "leading-from": lambda: FROM_LINE + PLAIN,
    "leading-from-only": lambda: FROM_LINE,
    "leading-from-nul": lambda: b"From some\0one@x Mon Jan  1 00:00:00 2024\n" + PLAIN,
    "leading-gt-from": lambda: b">" + FROM_LINE + PLAIN,
    "gt-from-body": lambda: HDR + b"\n>From me\n>>From you\n> From not quoted\nend\n",
    "from-body": lambda: HDR + b"\nFrom here on\nFrom: not a header\nFrom\nFromage\n",
    "from-body-crlf": lambda: _crlf(HDR + b"\nFrom here on\r\n>From there\n"),
    # degenerate
    "empty": lambda: b"",
    "only-newline": lambda: b"\n",
    "only-newlines": lambda: b"\n\n\n",
    "only-crlf": lambda: b"\r\n",
    "no-newline-at-all": lambda: b"just some text",
    # size
    "many-headers-10000": lambda: (b"".join(b"X-H-%d: value %d\n" % (i, i) for i in range(10000))
                                   + PLAIN),
    "many-headers-100000": lambda: (b"".join(b"X-H-%d: value %d\n" % (i, i)
                                             for i in range(100000)) + PLAIN),
    "long-header-line-2mb": lambda: b"X-Long: " + b"h" * (2 * MIB) + b"\n" + PLAIN,
    "big-5mb": lambda: _big(5 * MIB),
    "big-5mb-crlf-no-final-newline": lambda: _crlf(_big(5 * MIB)).rstrip(b"\r\n"),
    # MIME: the searches look at decoded, transcoded text
    "mime-base64-utf8": lambda: _mime([
        b"Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: base64\n\n"
        + B64_UTF8]),
    "mime-base64-nul-latin1": lambda: _mime([
        b"Content-Type: text/plain; charset=iso-8859-1\nContent-Transfer-Encoding: base64\n\n"
        + B64_NUL]),
    "mime-qp-latin1": lambda: _mime([
        b"Content-Type: text/plain; charset=iso-8859-1\n"
        b"Content-Transfer-Encoding: quoted-printable\n\n"
        b"caf=E9 =C3 soft=\nbreak =00 nul =ZZ bad\n"]),
    "mime-8bit-bad-charset": lambda: _mime([
        b"Content-Type: text/plain; charset=x-no-such\nContent-Transfer-Encoding: 8bit\n\n"
        b"caf\xe9 \xc3\x83\n"]),
    "mime-bad-base64": lambda: _mime([
        b"Content-Type: text/plain\nContent-Transfer-Encoding: base64\n\n"
        b"!!!not base64 at all===\n\0\xff\n"]),
    "mime-unclosed": lambda: _mime([b"Content-Type: text/plain\n\nend\n"], close=False),
    "mime-crlf": lambda: _crlf(_mime([
        b"Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: base64\n\n"
        + B64_UTF8, b"Content-Type: text/plain\n\nFrom the second part\nend\n"])),
    "mime-many-parts-2000": lambda: _mime([b"Content-Type: text/plain\n\npart %d\n" % i
                                           for i in range(2000)] + [
        b"Content-Type: text/plain\n\ncaf\xc3\xa9 end\n"]),
    "mime-nested-300": lambda: _nested(300),
    "mime-empty-boundary": lambda: _mime([b"\nend\n"], boundary=b""),
}


# ------------------------------------------------------------- the filters

# Run before every delivery: the message variables and a few searches.  The
# braces stand on their own lines (a blank line after "if (...)" would be
# the body); every search prints a distinct word.
PROBES = """\
echo "size=$SIZE lines=$LINES from=$FROM"
if (/^Subject: x/)
{
    echo "subject-x"
}
if (/^Subject: *(.*)$/)
{
    echo "subject=<$MATCH1>"
}
if (/Ã/:b)
{
    echo "body-A-tilde"
}
if (/é|\\xe9/:h)
{
    echo "header-e-acute"
}
if (/^From /:b)
{
    echo "body-From_"
}
if (/^>From /:b)
{
    echo "body-gt-From"
}
if (/end$/:b)
{
    echo "body-end"
}
if (/^X-Nul:/)
{
    echo "x-nul"
}
if (/^Message-ID:/)
{
    echo "message-id"
}
if (/^X-Nul: *(.*)$/)
{
    echo "x-nul=<$MATCH1>"
}
if (/^X-Bad: *(.*)$/)
{
    echo "x-bad=<$MATCH1>"
}
if (/^X-Long: *(h+)$/)
{
    L=length($MATCH1)
    echo "x-long=$L"
}
if (/^(a+|b+)$/:b)
{
    L=length($MATCH1)
    echo "ab-run=$L"
}
if (/^Fromage$/:b)
{
    echo "fromage"
}
if (/^X-H-9999: *(.*)$/)
{
    echo "x-h-9999=<$MATCH1>"
}
if (/^Content-Type:.*multipart/)
{
    echo "multipart"
}
if (/caf[ée]/:b)
{
    echo "body-cafe"
}
# A megabyte-long MATCH would be exported to the commands below and make
# execve fail (E2BIG) in both programs, hiding the storage comparison.
MATCH=""
MATCH1=""
"""

MAILDIR_SETUP = "mkdir -p Maildir/new Maildir/cur Maildir/tmp\n"

# As in ../shared/conformance/cases/forward/001-forward-single/setup.sh.
SENDMAIL_SETUP = """\
cat > fake-sendmail <<'STUB'
#!/bin/sh
i=0
for a in "$@"; do
  i=$((i+1))
  printf 'argv[%d]=<%s>\\n' "$i" "$a"
done > forward.argv
cat > forward.msg
exit 0
STUB
chmod 755 fake-sendmail
"""


@dataclass(frozen=True)
class Target:
    filter: str
    setup: str = ""
    args: tuple[str, ...] = ()


TARGETS: dict[str, Target] = {
    "maildir": Target('to "Maildir"\n', MAILDIR_SETUP),
    "maildir-flags": Target('FLAGS="SF"\nto "Maildir"\n', MAILDIR_SETUP),
    "mbox": Target('to "inbox.mbox"\n'),
    "pipe": Target('to "|cat > piped.txt"\n'),
    "forward": Target('SENDMAIL="./fake-sendmail"\nto "!bob@example.net"\n', SENDMAIL_SETUP),
    "xfilter": Target('xfilter "cat"\nto "inbox.mbox"\n'),
    "cc-default": Target('cc "copy.mbox"\n'),
    # the envelope sender in the From_ line, and a header added in front
    "mbox-f-A": Target('to "inbox.mbox"\n',
                       args=("-f", "sender@example.com", "-A", "X-Added: yes", "./filter")),
}


# -------------------------------------------------- the known differences

# The README's "Known differences from maildrop" table, row by row, and how
# each is kept out of the comparison:
#   * error message texts differ         -> stderr is compared as empty or not
#   * SENDMAIL is split into words and run without a shell
#                                        -> nothing to exclude: for the plain
#                                           "./fake-sendmail" and one plain
#                                           address the stub sees the same argv
#   * a |command killed by a signal: maildrop 255, pymaildrop 75
#                                        -> no command here is killed; were one,
#                                           known_difference() would excuse it
#   * an internal error: maildrop any status, pymaildrop 75
#                                        -> known_difference(): maildrop killed
#                                           by a signal (negative status) or
#                                           exiting 255, pymaildrop exiting 75
#   * substr() with a negative length, symlinked or hard-linked mbox, a FIFO
#     at the mbox name, -M, GDBM files   -> not used by any case here
# The README's "quirks kept on purpose" (an empty message is not delivered,
# ",S=" is the size as received, -f '' to SENDMAIL, ...) are maildrop's own
# behaviour, so they are compared like everything else.
KNOWN_DIFFERENCES = (
    "maildrop crashes or exits 255 (internal error, or a |command killed by a "
    "signal); pymaildrop exits 75",
)


def known_difference(maildrop: dict[str, Any], ours: dict[str, Any]) -> str | None:
    """Return the README row that explains a difference in exit status, or None."""
    code = maildrop["exit_code"]
    if isinstance(code, int) and (code < 0 or code == 255) and ours["exit_code"] == 75:
        return KNOWN_DIFFERENCES[0]
    return None


# ------------------------------------------ differences found (bugs, unfixed)

# Each is a strict xfail: the test fails once pymaildrop is fixed, so that
# the entry is removed.  Aspect "stored" = exit code, stderr (empty or not),
# files; "output" = standard output (echoed variables and search results).

# None at present.  Fixed: an unterminated last line over 1024 bytes (maildrop
# searches it), a header block over 1 MiB (pymaildrop cut it), a NUL in
# Return-Path (maildrop's FROM stops there).
BUGS: dict[tuple[str, str, str], str] = {}


# ------------------------------------------------------------- running

CASES = [(m, t) for m in MESSAGES for t in TARGETS]


def _case_id(message: str, target: str) -> str:
    return f"{message}-{target}"


def _harness() -> Any:
    if str(CONFORMANCE) not in sys.path:
        sys.path.insert(0, str(CONFORMANCE))
    import harness  # type: ignore[import-not-found]
    return harness


def write_case(root: Path, message: str, target: str) -> Path:
    """Write the case folder (filter, message, setup.sh, args) the harness runs."""
    case = root / _case_id(message, target)
    case.mkdir()
    spec = TARGETS[target]
    (case / "filter").write_text(PROBES + spec.filter, encoding="utf-8")
    (case / "message").write_bytes(MESSAGES[message]())
    if spec.setup:
        (case / "setup.sh").write_text(spec.setup)
    if spec.args:
        (case / "args").write_text("".join(a + "\n" for a in spec.args))
    return case


@pytest.fixture(scope="module")
def outcomes(request: pytest.FixtureRequest) -> Iterator[dict[tuple[str, str], Any]]:
    """Run every selected case with both programs, in parallel; map case -> outcomes."""
    if not CONFORMANCE.joinpath("harness.py").exists():
        pytest.skip(f"{CONFORMANCE} is not there (the shared folder sits beside the checkout)")
    if os.geteuid() != 0:
        pytest.skip("the harness needs root for its namespaces")
    if not os.access(MAILDROP, os.X_OK):
        pytest.skip(f"{MAILDROP} (Courier maildrop) is not installed")
    assert PYMAILDROP.exists(), f"{PYMAILDROP} is not installed"
    harness = _harness()
    why = harness.isolation_probe()
    if why:
        pytest.skip(why)
    selected = {(item.callspec.params["message"], item.callspec.params["target"])
                for item in request.session.items
                if getattr(item, "module", None) is request.module
                and hasattr(item, "callspec") and "message" in item.callspec.params}
    commands = {"maildrop": harness.resolve_command(MAILDROP),
                "pymaildrop": harness.resolve_command(str(PYMAILDROP))}
    root = Path(tempfile.mkdtemp(prefix="pmd-hostile-"))
    try:
        dirs = {case: write_case(root, *case) for case in sorted(selected)}

        def one(job: tuple[tuple[str, str], str]) -> tuple[tuple[str, str], str, Any]:
            case, prog = job
            try:
                return case, prog, harness.run_case(dirs[case], commands[prog],
                                                    timeout=TIMEOUT)
            except harness.HarnessError as e:
                return case, prog, e

        # the big messages first, so that none of them ends the run alone
        jobs = sorted(((case, prog) for case in dirs for prog in commands),
                      key=lambda j: -(dirs[j[0]] / "message").stat().st_size)
        results: dict[tuple[str, str], Any] = {}
        with ThreadPoolExecutor(JOBS) as pool:
            for case, prog, outcome in pool.map(one, jobs):
                results.setdefault(case, {})[prog] = outcome
        yield results
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _short(value: Any, limit: int = 300) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + f"... ({len(text)} chars)"


def stored_differences(maildrop: dict[str, Any], ours: dict[str, Any]) -> list[str]:
    """Exit code, files (names, modes, bytes), and stderr as run.py's loose mode."""
    out = []
    if maildrop["exit_code"] != ours["exit_code"]:
        out.append(f"exit code: maildrop {maildrop['exit_code']}, pymaildrop {ours['exit_code']}")
    if bool(maildrop["stderr"]) != bool(ours["stderr"]):
        out.append(f"stderr: maildrop {_short(maildrop['stderr'])}, "
                   f"pymaildrop {_short(ours['stderr'])}")
    for key in sorted(set(maildrop["files"]) | set(ours["files"])):
        a, b = maildrop["files"].get(key), ours["files"].get(key)
        if a != b:
            out.append(f"file {key}: maildrop {_short(a)}, pymaildrop {_short(b)}")
    return out


def output_differences(maildrop: dict[str, Any], ours: dict[str, Any]) -> list[str]:
    if maildrop["stdout"] == ours["stdout"]:
        return []
    return [f"stdout: maildrop {_short(maildrop['stdout'], 600)}, "
            f"pymaildrop {_short(ours['stdout'], 600)}"]


def _params(aspect: str) -> list[Any]:
    out = []
    for message, target in CASES:
        reason = BUGS.get((message, target, aspect))
        marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
        out.append(pytest.param(message, target, id=_case_id(message, target), marks=marks))
    return out


def _outcome(outcomes: dict[tuple[str, str], Any], message: str,
             target: str) -> tuple[dict[str, Any], dict[str, Any]]:
    got = outcomes[(message, target)]
    for prog in ("maildrop", "pymaildrop"):
        if isinstance(got[prog], Exception):
            pytest.fail(f"the harness could not run {prog}: {got[prog]}")
    return got["maildrop"], got["pymaildrop"]


@pytest.mark.parametrize(("message", "target"), _params("stored"))
def test_stored_like_maildrop(outcomes: dict[tuple[str, str], Any],
                              message: str, target: str) -> None:
    maildrop, ours = _outcome(outcomes, message, target)
    diff = stored_differences(maildrop, ours)
    if diff and known_difference(maildrop, ours):
        # Not a failure, and not a skip either (PYMAILDROP_REQUIRE_E2E=1 turns
        # skipped e2e tests into failures): the README documents it.
        return
    assert not diff, "\n".join(diff)


@pytest.mark.parametrize(("message", "target"), _params("output"))
def test_output_like_maildrop(outcomes: dict[tuple[str, str], Any],
                              message: str, target: str) -> None:
    maildrop, ours = _outcome(outcomes, message, target)
    diff = output_differences(maildrop, ours)
    assert not diff, "\n".join(diff)


def test_bug_table_names_real_cases() -> None:
    assert {(m, t) for m, t, _ in BUGS} <= set(CASES)
    assert {a for _, _, a in BUGS} <= {"stored", "output"}


# ------------------------------------------------ memory on hostile shapes

# The memory target (benchmarks/peak_memory.py: a 20 MB message
# peaks within 2x of a 5 KB one) checked on hostile shapes of 8 MB, with the
# benchmark's filters: pymaildrop alone, delivering into a Maildir.  The
# peak RSS is measured as the benchmark does it (run_measured there), in a
# helper process, because it makes itself a child subreaper.
MEMORY_SIZE = 8 * MIB
MEMORY_RATIO = 2.0
BENCHMARKS = CHECKOUT / "benchmarks"

MEMORY_SHAPES: dict[str, Callable[[int], bytes]] = {
    "one-header-line": lambda n: b"X-Long: " + b"h" * n + b"\n" + PLAIN,
    "one-body-line": lambda n: HDR + b"\n" + b"a" * n + b"\n",
    "header-lines": lambda n: (b"".join(b"X-H-%07d: v\n" % i for i in range(n // 16))
                               + PLAIN),
    "short-lines": lambda n: HDR + b"\n" + b"line of text\n" * (n // 13),
    "short-crlf-lines": lambda n: _crlf(HDR + b"\n" + b"line of text\n" * (n // 14)),
}

# One line of 8 MB cannot be searched without holding it: memory grows with
# the longest line, as maildrop's does.  Measured on an 8 MB line, peak RSS
# and time, filter-1 / filter-40: a header line, maildrop 28 / 70 MiB and
# 31 s, pymaildrop 30 / 69 MiB and 0.1 / 0.9 s; a body line, maildrop 28 / 29
# MiB and 26 s, pymaildrop 14 / 38 MiB and 0.1 / 0.5 s.  maildrop's growth,
# 8x the line at worst, is the bound for those shapes: the baseline plus
# LINE_FACTOR times the line.
LONG_LINE_SHAPES = {"one-header-line", "one-body-line"}
LINE_FACTOR = 8.0

_MEASURE = """\
import json, os, sys
sys.path.insert(0, sys.argv[1])
import peak_memory
peak_memory.become_subreaper()
print(json.dumps(peak_memory.run_measured(sys.argv[5:], sys.argv[2], sys.argv[3], sys.argv[4],
                                          dict(os.environ))))
"""


def measure_peak(filt: str, message: bytes, tmp: Path) -> float:
    """Deliver message with benchmarks/data/<filt>.mailfilter; return pymaildrop's peak MiB."""
    work = Path(tempfile.mkdtemp(prefix="mem-", dir=tmp))
    for sub in ("new", "cur", "tmp"):
        (work / "Maildir" / sub).mkdir(parents=True)
    name = filt + ".mailfilter"
    shutil.copy(BENCHMARKS / "data" / name, work / name)
    os.chmod(work / name, 0o600)
    (tmp / "message").write_bytes(message)
    env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": str(work), "TZ": "UTC"}
    proc = subprocess.run([sys.executable, "-c", _MEASURE, str(BENCHMARKS), str(work),
                           str(tmp / "message"), str(work / "stderr"), str(PYMAILDROP),
                           "./" + name], capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr
    code, peak, _ = json.loads(proc.stdout)
    delivered = list((work / "Maildir" / "new").iterdir())
    assert code == 0 and len(delivered) == 1, (work / "stderr").read_text()
    assert delivered[0].stat().st_size == len(message)
    shutil.rmtree(work)
    return float(peak)


@pytest.fixture(scope="module")
def small_peaks(tmp_path_factory: pytest.TempPathFactory) -> dict[str, float]:
    """pymaildrop's peak for a 5 KB plain message, per filter (the baseline)."""
    tmp = tmp_path_factory.mktemp("mem-base")
    small = HDR + b"\n" + b"line of text\n" * 390
    return {f: measure_peak(f, small, tmp) for f in ("filter-1", "filter-40")}


def _memory_params() -> list[Any]:
    out = []
    for shape in MEMORY_SHAPES:
        for filt in ("filter-1", "filter-40"):
            out.append(pytest.param(shape, filt, id=f"{shape}-{filt}"))
    return out


@pytest.mark.parametrize(("shape", "filt"), _memory_params())
def test_peak_memory_does_not_grow(small_peaks: dict[str, float], tmp_path: Path,
                                   shape: str, filt: str) -> None:
    if not PYMAILDROP.exists():
        pytest.fail(f"{PYMAILDROP} is not installed")
    peak = measure_peak(filt, MEMORY_SHAPES[shape](MEMORY_SIZE), tmp_path)
    base = small_peaks[filt]
    if shape in LONG_LINE_SHAPES:
        bound = base + LINE_FACTOR * MEMORY_SIZE / MIB
    else:
        bound = MEMORY_RATIO * base
    assert peak < bound, (
        f"{shape} ({MEMORY_SIZE // MIB} MB) with {filt}: peak {peak:.1f} MiB, "
        f"{peak / base:.2f}x the 5 KB peak of {base:.1f} MiB (bound {bound:.1f} MiB)")

"""The interpreter, checked against a recording of the effects it asks for.

Each test runs a filter on a message with RecordingEffects (conftest.py) and
asserts on the transcript of deliveries and commands, the echo output and the
exit status -- the way Pigeonhole's tests assert on a script's actions.
"""

from __future__ import annotations

import pytest

from pymaildrop.deliver import MailboxOptions
from pymaildrop.errors import DeliveryError, FilterRuntimeError, QuotaExceeded, TempFail
from pymaildrop.interp.env import Account, initial_variables
from pymaildrop.interp.interpreter import FilterState, Interpreter, echo_bytes
from pymaildrop.lang import parse_text
from pymaildrop.message import Message
from pymaildrop.proc import Result
from tests.conftest import SAMPLE, RecordingEffects


def run(text: str, effects: RecordingEffects, message: bytes = SAMPLE,
        args: tuple[str, ...] = (), environ: dict[str, str] | None = None,
        embedded: bool = False) -> tuple[int, Interpreter]:
    msg = Message.from_bytes(message)
    account = Account(name="tester", home="/home/tester")
    variables = initial_variables(
        environ=environ or {"USER": "tester"}, import_environment=True, account=account,
        sender="alice@example.com", size=msg.size, lines=msg.lines, hostname="mailhost.test",
        filter_name="./filter", args=list(args))
    state = FilterState(variables=variables, message=msg, environ=environ or {},
                        envelope_sender="alice@example.com", embedded=embedded)
    interp = Interpreter(state, effects)
    status = interp.run(parse_text(text, "./filter"))
    if status is None:
        status = interp.deliver_default()
    return status, interp


def out(effects: RecordingEffects) -> str:
    return effects.stdout.decode()


# DELIVERY STATEMENTS


def test_to_delivers_and_stops(effects: RecordingEffects) -> None:
    status, _ = run('to "Maildir/"\necho "never"', effects)
    assert effects.transcript == [("mailbox", "Maildir/")]
    assert status == 0 and out(effects) == ""


def test_cc_continues_and_default_follows(effects: RecordingEffects) -> None:
    status, _ = run("cc copy.mbox\ncc Maildir/.lists/", effects)
    assert effects.transcript == [("mailbox", "copy.mbox"), ("mailbox", "Maildir/.lists/"),
                                  ("mailbox", "/var/mail/tester")]
    assert status == 0


def test_exit_delivers_nothing(effects: RecordingEffects) -> None:
    status, _ = run("EXITCODE=9\nexit\nto x", effects)
    assert effects.transcript == [] and status == 9


def test_to_uses_exitcode(effects: RecordingEffects) -> None:
    assert run("EXITCODE=3\nto inbox.mbox", effects)[0] == 3


def test_non_numeric_exitcode_is_zero(effects: RecordingEffects) -> None:
    assert run('EXITCODE="abc"\nexit', effects)[0] == 0


def test_pipe_delivery_sets_exitcode(effects: RecordingEffects) -> None:
    effects.results["cat > /dev/null; exit 4"] = Result(4, None)
    status, interp = run('cc "|cat > /dev/null; exit 4"\necho "E=$EXITCODE"\nEXITCODE=0\nexit',
                         effects)
    assert effects.transcript == [("pipe", "cat > /dev/null; exit 4")]
    assert out(effects) == "E=4\n" and status == 0


def test_to_pipe_exits_with_its_status(effects: RecordingEffects) -> None:
    effects.results["false"] = Result(127, None)
    assert run('to "|false"', effects)[0] == 127


def test_pipe_killed_by_a_signal_defers(effects: RecordingEffects) -> None:
    effects.results["kill"] = Result(None, 9)
    with pytest.raises(DeliveryError, match="killed by signal 9"):
        run('to "|kill"', effects)


def test_forward_splits_sendmail_and_addresses(effects: RecordingEffects) -> None:
    run('SENDMAIL="/usr/sbin/sendmail -oi -oem"\nto "!bob@example.net  carol@x"', effects)
    assert effects.transcript == [("forward", ("/usr/sbin/sendmail", "-oi", "-oem", "-f", "",
                                               "bob@example.net", "carol@x"))]


def test_forward_status_is_the_exit_code(effects: RecordingEffects) -> None:
    effects.results["/x -f  b@c"] = Result(3, None)
    assert run('SENDMAIL=/x\nto "!b@c"', effects)[0] == 3


def test_dev_null_is_delivered_by_writing_nothing(effects: RecordingEffects) -> None:
    status, _ = run("logfile l\nto /dev/null", effects)
    assert effects.transcript == [] and status == 0
    assert b"File: /dev/null" in effects.log


def test_empty_message_is_not_delivered(effects: RecordingEffects) -> None:
    status, _ = run('to "|cat"', effects, message=b"")
    assert effects.transcript == [] and status == 0


def test_mailbox_options_come_from_variables(effects: RecordingEffects) -> None:
    _, interp = run('UMASK="022"\nFLAGS="SF"\nKEYWORDS="a, b"\nMAILDIRQUOTA="10S"\n'
                    "LOCKEXT=.lck\nLOCKSLEEP=1\nLOCKTIMEOUT=2\nexit", effects)
    opts = interp.mailbox_options()
    assert opts == MailboxOptions(umask=0o022, flags="SF", keywords=("a", "b"), quota="10S",
                                  envelope_sender="alice@example.com", lockext=".lck",
                                  locksleep=1, locktimeout=2, lockrefresh=15,
                                  hostname="mailhost.test")


# VARIABLES, TEXT AND EXPRESSIONS

CASES = [
    ('A=10 + 5\nB=10 - 15\necho "$A $B"', "15 -5\n"),
    ("A=10/4\necho $A", "10/4\n"),
    ('A=2 + 3 * 4\nB=(2 + 3) * 4\nC=20 - 6 - 4\necho "$A $B $C"', "14 20 10\n"),
    ('A=(3 < 5)\nB=(5 < 3)\nC=(7 == 7.0)\nD=(7 != 7)\necho "$A $B $C $D"', "1 0 1 0\n"),
    ('if ("10" lt "9")\n echo "string"\nif ("1.0" == "1")\n echo "number"', "string\nnumber\n"),
    ('A=0-5 / 2\nB=0 - 5 / 2\necho "$A $B"', "0 -2.5\n"),
    ('A=(4 || 2)\nB=(0 || 7)\nC=(5 && 3)\nD=(0 && 3)\nE=("" || "x")\necho "$A$B$C$D$E"',
     "4730x\n"),
    ('A=!5\nB=!0\nC=!""\nE=!!7\necho "$A $B $C $E"', "0 1 1 1\n"),
    ('A=5 / 0\nB=0 - 5 / 0\necho "$A $B"', "inf -inf\n"),
    ('A=(2 > 1) + (3 > 1) + (1 > 3)\necho "$A"', "2\n"),
    ("NAME=world\necho 'hello $NAME'", "hello $NAME\n"),
    ("echo 'it\\'s fine'", "it's fine\n"),
    ('V="\\$HOME"\necho "$V"', "$HOME\n"),
    ('X="dou"\'ble\'"-"\'quoted\'\necho $X', "double-quoted\n"),
    ('echo "no newline\\c"\necho " <- joined"', "no newline <- joined\n"),
    ("echo alpha beta gamma", "alphabetagamma\n"),
    ('echo "<$NEVER_SET>"', "<>\n"),
    ('color=lower\nCOLOR=upper\necho "$color $COLOR"', "lower upper\n"),
    ('echo "[$1x] [$2]"', "[] []\n"),
    ('echo "cost: 5$ and $-sign and $ alone"', "cost: 5$ and $-sign and $ alone\n"),
    ("A='$B'\nB=\"bee\"\necho \"$A\"", "$B\n"),
    ('TEMP="t"\nunset TEMP\necho "[$TEMP]"', "[]\n"),
    ('"A B"="spaced"\n"C.D"=dotted\necho "[${C.D}]"', "[dotted]\n"),
    ('S="abc"\nwhile (length($S) > 0)\n{\n echo substr($S, 0, 1)\n S=substr($S, 1)\n}',
     "a\nb\nc\n"),
    ('I=0\nwhile (1)\n{\n I=$I + 1\n if ($I == 3)\n  exit\n echo "i=$I"\n}', "i=1\ni=2\n"),
    ('N=9\nif ($N == 1)\n echo one\nelsif ($N == 2)\n echo two\nelse\n echo many', "many\n"),
    ('if (1)\nif (0)\necho a\nelse\necho inner', "inner\n"),
    ('if (0)\n\necho "empty body, so this always runs"', "empty body, so this always runs\n"),
    ('E=escape(\'a.b*c+d?(e)[f]{g}|h^i$j\\k\')\necho "$E"',
     "a.b*c+d?(e)[f]{g}|h^i$j\\k\n"),        # echo turns \x into x
    ('A=length("hello")\nB=length("")\necho "$A $B"', "5 0\n"),
    ('S="abcdefgh"\necho substr($S, 3)\nA=substr($S, 20)\necho "[$A]"', "defgh\n[]\n"),
    ('S="Mixed Case 123"\necho tolower($S)\necho toupper($S)', "mixed case 123\nMIXED CASE 123\n"),
    ('T=time\nif ($T > 1500000000)\n echo ok', "ok\n"),
    ('S="order number 4711 shipped"\nif ($S =~ /number [0-9]+/)\n echo "m: $MATCH"',
     "m: number 4711\n"),
    ('S="MiXeD"\nA=($S =~ /mixed/)\nB=($S =~ /mixed/:D)\necho "$A $B"', "1 0\n"),
    ('foreach ("id=7 id=42 id=300") =~ /[0-9]+/\n{\n echo "n $MATCH"\n}',
     "n 7\nn 42\nn 300\n"),
    ('X=("set" =~ /(s)et/)\nY=("abab" =~ /b/:,1)\necho "[$MATCH] [$MATCH1] $Y"',
     "[set] [s] 2\n"),                       # weighted matches do not set MATCH
    ('X=("abcabc" =~ /(a)|(z)/)\necho "[$MATCH1] [$MATCH2]"', "[a] []\n"),
    ('E=("abcb" =~ /b/:,2,3)\necho $E', "8\n"),
    ("S=getaddr(\"a@x, b@y\")\nX=($S =~ /^b/)\nY=($S =~ /y$/)\necho \"$X $Y\"", "0 1\n"),
]


@pytest.mark.parametrize("text,expected", CASES, ids=[c[0][:40] for c in CASES])
def test_language(text: str, expected: str, effects: RecordingEffects) -> None:
    status, _ = run(text + "\nexit", effects)
    assert out(effects) == expected
    assert status == 0


def test_positional_arguments(effects: RecordingEffects) -> None:
    run('echo "1=$1 2=$2 3=[$3]"\nexit', effects, args=("alpha", "beta"))
    assert out(effects) == "1=alpha 2=beta 3=[]\n"


def test_import_restores_environment(effects: RecordingEffects) -> None:
    run('HOME="x"\nimport HOME\nimport NOT_SET\nW="COLOR"\nCOLOR=c\nimport $W\n'
        'echo "$HOME [$NOT_SET] $COLOR"\nexit', effects,
        environ={"HOME": "/nowhere", "COLOR": "orig"})
    assert out(effects) == "/nowhere [] orig\n"


def test_unterminated_brace_is_kept_and_reported(effects: RecordingEffects) -> None:
    run('H=hh\nV4="${H}x$H-y${H"\necho "$V4"\nexit', effects)
    assert out(effects) == "hhxhh-y${H\n"
    assert any("'}' is missing" in e and "./filter(2)" in e for e in effects.stderr)


@pytest.mark.parametrize("text,expected", [
    ("q\\a|\\b|\\f|\\r|\\v|\\0101|\\101|\\x41|\\z|\\$|\\\\|end",
     b"qa|b|\x0c|\r|\x0b|A|A|x41|z|$|\\|end\n"),
    ("[c-mid\\cX]", b"[c-midcX]\n"),
    ("tab\\there\\c", b"tab\there"),
])
def test_echo_escapes(text: str, expected: bytes) -> None:
    assert echo_bytes(text) == expected


# COMMANDS


def test_backtick_output_is_joined_and_trimmed(effects: RecordingEffects) -> None:
    effects.outputs["printf x"] = b"  first line\nsecond   line\n\n"
    run('OUT=`printf x`\necho "[$OUT] $RETURNCODE"\nexit', effects)
    assert out(effects) == "[first line second   line] 0\n"
    assert effects.transcript == [("backtick", "printf x")]


def test_failing_backtick_gives_nothing(effects: RecordingEffects) -> None:
    effects.results["f"] = Result(3, None, b"partial output")
    run('OUT=`f`\necho "[$OUT] RETURNCODE=$RETURNCODE"\nexit', effects)
    assert out(effects) == "[] RETURNCODE=3\n"


def test_system_sets_returncode(effects: RecordingEffects) -> None:
    effects.results["exit 6"] = Result(6, None)
    run('system "exit 6"\necho "RC=$RETURNCODE"\nexit', effects)
    assert out(effects) == "RC=6\n"


def test_xfilter_replaces_message_and_updates_size(effects: RecordingEffects) -> None:
    effects.outputs["head -3"] = b"A: 1\nB: 2\n\n"
    run('xfilter "head -3"\necho "$SIZE $LINES"\nto box', effects)
    assert out(effects) == "11 3\n"
    assert effects.delivered == [("box", b"A: 1\nB: 2\n\n")]


def test_xfilter_failure_defers_and_is_trappable(effects: RecordingEffects) -> None:
    effects.results["bad"] = Result(5, None)
    with pytest.raises(TempFail, match="xfilter command exited with status 5"):
        run('xfilter "bad"', effects)
    effects2 = RecordingEffects(results={"bad": Result(5, None)})
    run('exception {\n xfilter "bad"\n}\necho "RC=$RETURNCODE"\nexit', effects2)
    assert out(effects2) == "RC=5\n"


# ERRORS AND EXCEPTION


def test_exception_traps_delivery_errors(effects: RecordingEffects) -> None:
    effects.fail_mailbox["no-such-dir/mailbox"] = DeliveryError("nope")
    status, _ = run('exception {\n to "no-such-dir/mailbox"\n}\necho "trapped"\nexit', effects)
    assert out(effects) == "trapped\n" and status == 0
    assert effects.stderr == []


def test_exception_reports_quota_errors(effects: RecordingEffects) -> None:
    effects.fail_mailbox["Maildir"] = QuotaExceeded("Maildir is over quota")
    run("exception {\n to Maildir\n}\nto fallback.mbox", effects)
    assert effects.stderr == ["Maildir is over quota"]
    assert effects.transcript[-1] == ("mailbox", "fallback.mbox")


def test_exception_does_not_trap_exit(effects: RecordingEffects) -> None:
    assert run('EXITCODE=9\nexception {\n exit\n}\necho "not reached"', effects)[0] == 9
    assert out(effects) == ""


def test_nested_exception(effects: RecordingEffects) -> None:
    run('exception {\n exception {\n  include "missing"\n }\n echo inner\n'
        ' include "missing"\n echo "not reached"\n}\necho outer\nexit', effects)
    assert out(effects) == "inner\nouter\n"


def test_uncaught_error_carries_its_line(effects: RecordingEffects) -> None:
    effects.fail_mailbox["x"] = DeliveryError("cannot deliver to x")
    with pytest.raises(DeliveryError) as info:
        run("A=1\n\nto x", effects)
    assert info.value.where == "./filter(3)"  # type: ignore[attr-defined]


def test_include_runs_in_the_same_variables(effects: RecordingEffects) -> None:
    effects.files["rules.mf"] = b'echo "in $WHO"\nEXITCODE=4\nexit\n'
    status, _ = run('WHO=me\ninclude "rules.mf"\necho "not reached"', effects)
    assert out(effects) == "in me\n" and status == 4


def test_include_missing_file_defers(effects: RecordingEffects) -> None:
    with pytest.raises(TempFail, match="cannot open include file nope"):
        run('include "nope"', effects)


def test_include_depth_limit(effects: RecordingEffects) -> None:
    effects.files["loop.mf"] = b'DEPTH=$DEPTH + 1\ninclude "loop.mf"\n'
    with pytest.raises(FilterRuntimeError, match="too many nested include") as info:
        run('include "loop.mf"', effects)
    assert info.value.where == "loop.mf(2)"  # type: ignore[attr-defined]


def test_lookup(effects: RecordingEffects) -> None:
    effects.files["blocked.dat"] = b"# comment\n\n   spammer@bad\\.example\n^[^@]*$\n@junk\\.x$\n"
    run('A=lookup("no-at", "blocked.dat")\nB=lookup("x@junk.x", "blocked.dat")\n'
        'C=lookup("x@junk.x.org", "blocked.dat")\nD=lookup("friend@good", "blocked.dat")\n'
        'echo "$A $B $C $D"\nexit', effects)
    assert out(effects) == "1 1 0 0\n"


def test_lookup_missing_file_defers(effects: RecordingEffects) -> None:
    with pytest.raises(TempFail, match="no-such-list.dat"):
        run('if (lookup("x", "no-such-list.dat"))\n echo hit', effects)


def test_gdbm_functions(effects: RecordingEffects) -> None:
    run('R=gdbmopen("absent.dat")\nif (gdbmopen("db", "C") == 0)\n{\n'
        ' gdbmstore("alice@example.com", "friend")\n V=gdbmfetch("alice@example.com")\n'
        ' D=gdbmfetch("bob@example.com", "D", "fallback")\n gdbmstore("example.com", "dom")\n'
        ' E=gdbmfetch("bob@example.com", "D")\n gdbmclose\n}\necho "$R $V $D $E"\nexit',
        effects)
    assert out(effects) == "-1 friend fallback dom\n"


def test_logfile_records_each_delivery(effects: RecordingEffects) -> None:
    effects.results["exit 3"] = Result(3, None)
    run('logfile "maildrop.log"\nlog "custom"\ncc "|exit 3"\nto inbox.mbox', effects)
    text = effects.log.decode()
    assert text.startswith("custom\nDate: ")
    assert "From: Alice Example <alice@example.com>\nSubj: Lunch on Friday\n" in text
    assert "!Err: |exit 3" + " " * 59 + " (260)\n" in text
    assert "File: inbox.mbox" + " " * 56 + " (260)\n\n" in text


def test_dotlock_and_flock_blocks(effects: RecordingEffects) -> None:
    run('dotlock "work.lock" {\n echo in\n}\nflock "f" {\n echo in2\n}\nexit', effects)
    assert effects.transcript == [("dotlock", "work.lock"), ("flock", "f")]
    assert out(effects) == "in\nin2\n"


def test_embedded_mode_skips_the_default_delivery(effects: RecordingEffects) -> None:
    status, _ = run('echo "in embedded mode"\nEXITCODE=3', effects, embedded=True)
    assert effects.transcript == [] and status == 3


def test_verbose_traces_assignments_and_ifs(effects: RecordingEffects) -> None:
    run('VERBOSE=4\nX="a"\nif (1)\n Y=1\nVERBOSE=0\nexit', effects)
    assert './filter(2): X="a"' in effects.stderr
    assert "./filter(3): IF evaluated, result=1" in effects.stderr


def test_foreach_over_the_message_with_xfilter_inside(effects: RecordingEffects) -> None:
    # the body replaces the message; the loop goes on over the lines it started with
    effects.outputs["rewrite"] = b"Subject: new\n\nbody\n"
    run('foreach /^(To|From):.*/\n{\n xfilter "rewrite"\n echo "$MATCH"\n}\nexit', effects)
    assert out(effects) == ("From: Alice Example <alice@example.com>\n"
                            "To: Bob Builder <bob@example.net>\n")


@pytest.mark.parametrize("value", ["inf", "nan", "-inf", "1e999", "x"])
def test_verbose_that_is_not_a_number(effects: RecordingEffects, value: str) -> None:
    assert run(f'VERBOSE="{value}"\necho ok\nexit', effects)[0] == 0
    assert out(effects) == "ok\n"


def test_embedded_mode_applies_to_included_files(effects: RecordingEffects) -> None:
    from pymaildrop.errors import FilterSyntaxError

    effects.files["inc.mf"] = b'system "echo from-include"\n'
    with pytest.raises(FilterSyntaxError, match="system is not allowed in embedded mode"):
        run('include "inc.mf"\nexit', effects, embedded=True)
    assert effects.transcript == []
    effects.files["ok.mf"] = b"X=1\n"
    run('include "ok.mf"\necho "X=$X"\nexit', effects, embedded=True)
    assert out(effects) == "X=1\n"


def test_embedded_mode_trusts_etc_maildroprcs(effects: RecordingEffects) -> None:
    effects.files["/etc/maildroprcs/spam"] = b'system "spamcheck"\n'
    effects.files["/etc/maildroprcs/../../tmp/x"] = b'system "evil"\n'
    run('include "/etc/maildroprcs/spam"\nexit', effects, embedded=True)
    assert effects.transcript == [("system", "spamcheck")]
    from pymaildrop.errors import FilterSyntaxError

    with pytest.raises(FilterSyntaxError):
        run('include "/etc/maildroprcs/../../tmp/x"\nexit', effects, embedded=True)


def test_maildroprcs_files_run_with_reset_variables_and_trust_what_they_include(
        effects: RecordingEffects) -> None:
    effects.files["/etc/maildroprcs/site"] = b'echo "$SENDMAIL $X"\ninclude "helper.mf"\n'
    effects.files["helper.mf"] = b'system "allowed from a trusted file"\n'
    run('SENDMAIL="evil"\nX=kept\ninclude "/etc/maildroprcs/site"\nexit', effects,
        embedded=True)
    assert out(effects) == "/usr/sbin/sendmail -oi kept\n"
    assert effects.transcript == [("system", "allowed from a trusted file")]


def test_assignment_inside_an_expression_sets_and_yields(effects: RecordingEffects) -> None:
    run('if (A = 5)\n  echo "yes $A"\nif (B = 0)\n  echo "no"\n'
        'echo a=b\nC = (D = 2) + 1\necho "$a $B $C $D"\nexit\n', effects)
    assert out(effects) == "yes 5\nb\nb 0 3 2\n"


def test_a_chained_match_matches_the_first_result(effects: RecordingEffects) -> None:
    run('A = 2 =~ /2/ =~ /1/\nB = 2 =~ /2/ * 3\necho "$A $B"\nexit\n', effects)
    assert out(effects) == "1 3\n"

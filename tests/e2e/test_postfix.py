"""End-to-end scenarios: a real Postfix hands real mail to the agent, configured as operators do.

Contract: every test injects mail over SMTP into the private Postfix of
    conftest.py and asserts on what the agent stored (exact header lines,
    the body), on the queue (`postqueue -j`) and on the maillog (relay,
    status, dsn), for the four ways Postfix's MAILDROP_README plugs maildrop
    in: pipe(8) with -d ${recipient}, pipe(8) with the extension form,
    mailbox_command / mailbox_command_maps, and a .forward pipe; plus the
    Courier authdaemond user database.  The same scenarios run against
    Courier maildrop with PYMAILDROP_E2E_AGENT=/usr/bin/maildrop.
Safety: see conftest.py (private instance, loopback, error: transports).
Errors: a wait that runs out, or a delivery with the wrong outcome, fails
    with the maillog's tail.
See also: samples/postfix/ (the configuration under test);
    /work/shared/research/postfix-notes.md (what Postfix passes to the
    agent and how it treats exit codes).
"""

from __future__ import annotations

import os
import re

import pytest
from postfix_harness import compose

pytestmark = pytest.mark.e2e

SENDER = "pmd_sender@local.test"

# What cleanup(8) puts in front of a message received from the test client.
RECEIVED = re.compile(
    rb"Received: from client\.e2e\.test \(unknown \[127\.0\.0\.1\]\)\n"
    rb"\tby mx\.e2e\.test \(Postfix\) with ESMTP id [0-9A-F]+\n"
    rb"\tfor <[^>]+>; [^\n]+\n")

# The mbox From_ line local(8) puts in front of what it gives a command.
FROM_LINE = re.compile(
    rb"From pmd_sender@local\.test  \w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d \d{4}\n")


def _split_headers(stored: bytes, count: int) -> tuple[list[bytes], bytes]:
    """Return the first `count` lines of stored and the rest."""
    parts = stored.split(b"\n", count)
    return parts[:count], parts[count]


# ------------------------------------------------------- 1. pipe, ${recipient}


def test_pipe_recipient_form_stores_return_path_and_delivered_to(mta, vhosts):
    """master.cf: flags=DRhu argv=pymaildrop -d ${recipient}: the Maildir file gets R and D."""
    alice = vhosts["alice@example.com"]
    msg = compose(SENDER, "alice@example.com", "pipe delivery")

    stored, attempt = mta.deliver_into(msg, alice.maildir)

    first, rest = _split_headers(stored, 2)
    assert first == [b"Return-Path: <pmd_sender@local.test>",
                     b"Delivered-To: alice@example.com"]
    received = RECEIVED.match(rest)
    assert received, rest
    assert rest[received.end():] == msg.raw
    assert (attempt.relay, attempt.dsn, attempt.to) == ("pymaildrop", "2.0.0",
                                                       "alice@example.com")
    [path] = alice.maildir.paths_with_id(msg)
    assert path.parent.name == "new"
    st = path.stat()
    assert (st.st_uid, st.st_mode & 0o777) == (mta.vmail_uid, 0o600)


def test_pipe_delivers_one_recipient_at_a_time(mta, vhosts):
    """pymaildrop_destination_recipient_limit = 1: two recipients, two runs, two Delivered-To."""
    msg = compose(SENDER, "alice@example.com", "two recipients")
    mta.instance.send(msg, ["alice@example.com", "carol@example.com"])
    qid = mta.instance.queue_id(msg)

    attempts = [mta.instance.attempt(qid, n) for n in (1, 2)]

    assert sorted((a.to, a.status) for a in attempts) == [("alice@example.com", "sent"),
                                                          ("carol@example.com", "sent")]
    for address in ("alice@example.com", "carol@example.com"):
        [stored] = vhosts[address].maildir.with_id(msg)
        first, _ = _split_headers(stored, 2)
        assert first[1] == f"Delivered-To: {address}".encode()
        assert stored.endswith(msg.raw)


# --------------------------------------------------- 2. pipe, extension form


@pytest.mark.parametrize(
    ("recipient", "folder"),
    [("Dave+Lists@example.net", "lists"), ("dave@example.net", "")],
    ids=["extension-to-folder", "no-extension-to-inbox"])
def test_pipe_extension_form_passes_the_extension_as_dollar_1(mta, vhosts, recipient, folder):
    """argv=... -d ${user}@${nexthop} ${extension} ...: the .mailfilter files by $1."""
    dave = vhosts["dave@example.net"]
    target = dave.folder(folder) if folder else dave.maildir
    elsewhere = dave.maildir if folder else dave.folder("lists")
    msg = compose(SENDER, recipient, f"extension {folder or 'none'}")

    stored, attempt = mta.deliver_into(msg, target)

    # Delivered-To keeps the case as sent; argv was lowercased (flags h, u).
    first, _ = _split_headers(stored, 2)
    assert first == [b"Return-Path: <pmd_sender@local.test>",
                     f"Delivered-To: {recipient}".encode()]
    assert stored.endswith(msg.raw)
    assert attempt.relay == "pymaildrop-ext"
    assert elsewhere.with_id(msg) == []


# ------------------------------------------------ 3. unknown at RCPT time


def test_unknown_recipient_is_rejected_at_rcpt_to(mta):
    """virtual_mailbox_maps lists the valid addresses: RCPT TO for others gets 550 5.1.1."""
    code, text = mta.instance.rcpt_reply(SENDER, "nobody@example.com")

    assert (code, text) == (550, "5.1.1 <nobody@example.com>: Recipient address rejected: "
                                 "User unknown in virtual mailbox table")
    assert mta.instance.rcpt_reply(SENDER, "alice@example.com")[0] == 250


# -------------------------------- 4. temporary failure, flush, exactly once


def _world_writable_filter(user, vmail, write_user_file):
    path = user.home / ".mailfilter"
    write_user_file(path, "# nothing to do: the default mailbox\n", vmail)
    path.chmod(0o666)
    return lambda: path.chmod(0o600)


def _read_only_maildir_tmp(user, vmail, write_user_file):
    tmp = user.home / "Maildir" / "tmp"
    tmp.chmod(0o500)
    return lambda: tmp.chmod(0o700)


@pytest.mark.parametrize(
    ("address", "break_it"),
    [("bob@example.com", _world_writable_filter),
     ("frank@example.com", _read_only_maildir_tmp)],
    ids=["mailfilter-world-writable", "maildir-tmp-read-only"])
def test_temporary_failure_defers_then_a_flush_delivers_exactly_once(
        mta, vhosts, accounts, make_user_file, address, break_it):
    """Exit 75 leaves the message deferred; fixed and flushed, it is stored once."""
    user = vhosts[address]
    fix = break_it(user, accounts["vmail"], make_user_file)
    msg = compose(SENDER, address, "deferred, then flushed")

    first = mta.deliver(msg)

    assert (first.status, first.dsn) == ("deferred", "4.3.0"), first.line
    assert first.text.startswith("temporary failure"), first.line
    entry = mta.instance.queued(first.qid)
    assert entry is not None and entry["queue_name"] == "deferred", entry
    assert user.maildir.with_id(msg) == []

    fix()
    mta.instance.flush()
    second = mta.instance.attempt(first.qid, 2)

    assert (second.status, second.dsn) == ("sent", "2.0.0"), second.line
    mta.instance.wait_gone(first.qid)
    assert len(user.maildir.with_id(msg)) == 1
    assert [d.status for d in mta.instance.deliveries(first.qid)] == ["deferred", "sent"]


# ---------------------------------------------- 5. unknown user -> bounce


def test_user_unknown_to_the_agent_bounces_to_the_sender(mta, sender_mailbox):
    """In Postfix's table but not in the agent's database: exit 67, bounced with 5.1.1."""
    msg = compose(SENDER, "ghost@example.com", "to a removed mailbox")

    attempt = mta.deliver(msg)

    assert (attempt.status, attempt.dsn, attempt.relay) == ("bounced", "5.1.1", "pymaildrop"), \
        attempt.line
    assert attempt.text.startswith("user unknown"), attempt.line
    mta.instance.wait_gone(attempt.qid)
    # The notice goes back to the sender, whose .forward files it in an mbox.
    notice = mta.instance.attempt(mta.instance.bounce_of(attempt.qid))
    assert (notice.to, notice.status) == (SENDER, "sent"), notice.line
    data = sender_mailbox.read_bytes()
    assert msg.msgid.encode() in data
    assert b"\nSubject: Undelivered Mail Returned to Sender\n" in data
    assert b"\nFinal-Recipient: rfc822; ghost@example.com\n" in data
    assert b"\nStatus: 5.1.1\n" in data


# ----------------------------------------------------- 6. sticky home


def test_sticky_home_defers_and_the_message_stays_queued(mta, vhosts):
    """maildrop's rule: a home directory with the sticky bit set is a temporary error."""
    carol = vhosts["carol@example.com"]
    msg = compose(SENDER, "carol@example.com", "sticky home")
    carol.home.chmod(0o1700)
    try:
        attempt = mta.deliver(msg)
        entry = mta.instance.queued(attempt.qid)
    finally:
        carol.home.chmod(0o700)

    assert (attempt.status, attempt.dsn) == ("deferred", "4.3.0"), attempt.line
    assert entry is not None and entry["queue_name"] == "deferred", entry
    assert [r["address"] for r in entry["recipients"]] == ["carol@example.com"]
    assert carol.maildir.with_id(msg) == []
    # The sticky bit, and nothing else, held it: cleared, the next try delivers.
    mta.instance.flush()
    assert mta.instance.attempt(attempt.qid, 2).status == "sent"
    assert len(carol.maildir.with_id(msg)) == 1


# ------------------------------------------- 7. mailbox_command (local)


def test_mailbox_command_delivers_as_the_local_user(mta, accounts):
    """main.cf: mailbox_command = pymaildrop -d ${USER}; local(8) runs it as the user."""
    mta.use_profile("mailbox_command")
    user = accounts["pmd_local1"]
    msg = compose(SENDER, "pmd_local1@local.test", "mailbox_command")

    stored, attempt = mta.deliver_into(msg, user.maildir)

    # local(8) prepends an mbox From_ line, and maildrop stores it as line 1;
    # then come local(8)'s Return-Path, X-Original-To, Delivered-To and
    # cleanup(8)'s Received.
    from_line = FROM_LINE.match(stored)
    assert from_line, stored[:100]
    first, rest = _split_headers(stored[from_line.end():], 3)
    assert first == [b"Return-Path: <pmd_sender@local.test>",
                     b"X-Original-To: pmd_local1@local.test",
                     b"Delivered-To: pmd_local1@local.test"]
    received = RECEIVED.match(rest)
    assert received, rest
    assert rest[received.end():] == msg.raw
    [path] = user.maildir.paths_with_id(msg)
    st = path.stat()
    assert (st.st_uid, st.st_gid) == (user.uid, user.gid)
    assert (attempt.relay, attempt.status) == ("local", "sent")
    assert attempt.text.startswith("delivered to command: "), attempt.line


# --------------------------------------- 8. mailbox_command_maps (local)


def test_mailbox_command_maps_applies_to_the_listed_user_only(mta, accounts, private_paths):
    """mailbox_command_maps = hash:mailbox_commands: pmd_local2 via the agent, others not."""
    mta.use_profile("mailbox_command_maps")
    mapped, unmapped = accounts["pmd_local2"], accounts["pmd_local1"]
    to_mapped = compose(SENDER, "pmd_local2@local.test", "mapped user")
    to_unmapped = compose(SENDER, "pmd_local1@local.test", "unmapped user")

    stored, attempt = mta.deliver_into(to_mapped, mapped.maildir)

    assert stored.endswith(to_mapped.raw)
    assert attempt.text.startswith("delivered to command: "), attempt.line

    attempt = mta.deliver(to_unmapped)

    assert (attempt.status, attempt.text) == ("sent", "delivered to mailbox"), attempt.line
    assert to_unmapped.msgid.encode() in (private_paths.var_mail / "pmd_local1").read_bytes()
    assert unmapped.maildir.with_id(to_unmapped) == []


# ---------------------------------------------------- 9. .forward pipe


def test_dot_forward_pipe_runs_the_agent_and_the_shell_expands_user(
        mta, accounts, make_user_file):
    """~/.forward: "|pymaildrop -d ${USER}"; local(8) leaves ${USER} alone, /bin/sh expands it."""
    mta.use_profile("mailbox_command_maps")  # pmd_local3 is not in the map
    user = accounts["pmd_local3"]
    make_user_file(user.home / ".forward", mta.render_local("dot-forward"), user)
    msg = compose(SENDER, "pmd_local3@local.test", "dot forward")
    mta.instance.sendmail(msg)  # local mail, submitted with sendmail -C CONFDIR

    attempt = mta.instance.attempt(mta.instance.queue_id(msg))

    assert attempt.status == "sent", attempt.line
    [stored] = user.maildir.with_id(msg)

    assert FROM_LINE.match(stored), stored[:100]
    assert b"\nDelivered-To: pmd_local3@local.test\n" in stored
    assert stored.endswith(msg.raw)
    assert attempt.text.startswith("delivered to command: "), attempt.line
    assert attempt.text.endswith(" -d ${USER}"), attempt.line  # as written, unexpanded


# --------------------------------------------- 10. Courier authdaemond


def test_authdaemon_user_database_served_by_courier_authdaemond(mta, vhosts, authdaemon):
    """pymaildrop.cf: user_databases = authdaemon:SOCKET; the user is in a Courier userdb."""
    erin = vhosts["erin@example.org"]
    msg = compose(SENDER, "erin@example.org", "authdaemon user")

    stored, attempt = mta.deliver_into(msg, erin.maildir)

    first, _ = _split_headers(stored, 2)
    assert first == [b"Return-Path: <pmd_sender@local.test>",
                     b"Delivered-To: erin@example.org"]
    assert stored.endswith(msg.raw)
    assert attempt.relay == "pymaildrop-auth"
    assert os.stat(authdaemon.socket.parent).st_mode & 0o777 == 0o755



def test_unreachable_authdaemond_defers_instead_of_bouncing(mta, vhosts, authdaemon, agent):
    """A user database that cannot be asked is a temporary error: mail waits, never bounces.

    The socket's directory as the package makes it (courier:courier 0750)
    keeps the pipe user out.  pymaildrop exits 75; maildrop exits 67 and
    the mail bounces (postfix-notes.md), which this test pins down too.
    """
    erin = vhosts["erin@example.org"]
    msg = compose(SENDER, "erin@example.org", "authdaemond out of reach")
    authdaemon.socket.parent.chmod(0o750)
    try:
        attempt = mta.deliver(msg)
    finally:
        authdaemon.socket.parent.chmod(0o755)

    if not agent.is_pymaildrop:
        assert (attempt.status, attempt.dsn) == ("bounced", "5.1.1"), attempt.line
        assert "s_connect() failed: Permission denied" in attempt.text
        return
    assert (attempt.status, attempt.dsn) == ("deferred", "4.3.0"), attempt.line
    assert erin.maildir.with_id(msg) == []
    mta.instance.flush()
    assert mta.instance.attempt(attempt.qid, 2).status == "sent"
    assert len(erin.maildir.with_id(msg)) == 1

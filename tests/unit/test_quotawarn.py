"""Quota warnings (-w PERCENT, -W FILE): when, where, how often, never fatal."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from pymaildrop.deliver import MailboxOptions, maildir, quotawarn
from pymaildrop.message import Message
from tests.conftest import SAMPLE

TEMPLATE = (b"From: Mail Delivery <postmaster@example.com>\n"
            b"Subject: Mailbox nearly full\n\nPlease.\n")


@pytest.fixture
def box(tmp_path: Path) -> Path:
    for sub in ("new", "cur", "tmp"):
        (tmp_path / "Maildir" / sub).mkdir(parents=True)
    (tmp_path / "warn.txt").write_bytes(TEMPLATE)
    return tmp_path / "Maildir"


def opts(box: Path, quota: str, percent: int = 50) -> MailboxOptions:
    return MailboxOptions(quota=quota, warn_percent=percent,
                          warn_file=str(box.parent / "warn.txt"), hostname="mailhost.test")


def messages(box: Path) -> list[bytes]:
    return sorted(p.read_bytes() for p in (box / "new").iterdir())


def test_no_warning_below_the_threshold(box: Path) -> None:
    maildir.deliver(Message.from_bytes(SAMPLE), str(box), opts(box, "10000S"))
    assert messages(box) == [SAMPLE]
    assert not (box / "quotawarn").exists()


def test_warning_when_full_enough(box: Path) -> None:
    maildir.deliver(Message.from_bytes(SAMPLE), str(box), opts(box, "400S"))   # 260/400 = 65%
    warning = [m for m in messages(box) if m != SAMPLE]
    assert len(warning) == 1
    head, _, rest = warning[0].partition(b"From: Mail Delivery")
    assert head.startswith(b"Date: ") and b"\nMessage-Id: <" in head
    assert head.rstrip().endswith(b".overquota@mailhost.test>")
    assert b"From: Mail Delivery" + rest == TEMPLATE
    assert (box / "quotawarn").exists()
    # the warning is not counted against the quota
    assert (box / "maildirsize").read_text().splitlines()[-1].split() == ["260", "1"]


def test_message_count_counts_too(box: Path) -> None:
    maildir.deliver(Message.from_bytes(SAMPLE), str(box), opts(box, "1000000S,2C"))
    assert len(messages(box)) == 2                                   # 1 of 2 messages: 50%


def test_at_most_once_a_day(box: Path) -> None:
    for _ in range(3):      # 22%, 43%, 65% of 1200 bytes: the third one warns
        maildir.deliver(Message.from_bytes(SAMPLE), str(box), opts(box, "1200S"))
    assert len(messages(box)) == 4
    maildir.deliver(Message.from_bytes(SAMPLE), str(box), opts(box, "1200S"))
    assert len(messages(box)) == 5                                   # 87%, but warned today
    old = time.time() - 25 * 3600
    os.utime(box / "quotawarn", (old, old))
    maildir.deliver(Message.from_bytes(SAMPLE), str(box), opts(box, "1600S"))
    assert len(messages(box)) == 7                                   # a day later: again


def test_no_template_no_warning(box: Path) -> None:
    o = opts(box, "400S")._replace(warn_file=str(box.parent / "missing"))
    maildir.deliver(Message.from_bytes(SAMPLE), str(box), o)
    assert messages(box) == [SAMPLE]


def test_a_folder_warns_in_its_root(box: Path) -> None:
    folder = box / ".Lists"
    for sub in ("new", "cur", "tmp"):
        (folder / sub).mkdir(parents=True)
    (folder / "maildirfolder").write_bytes(b"")
    maildir.deliver(Message.from_bytes(SAMPLE), str(folder), opts(box, "400S"))
    assert len(messages(box)) == 1 and (box / "quotawarn").exists()


def test_a_failing_warning_never_fails_the_delivery(box: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: object, **kwargs: object) -> float:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(quotawarn, "fullness", broken)
    path = maildir.deliver(Message.from_bytes(SAMPLE), str(box), opts(box, "400S"))
    assert Path(path).read_bytes() == SAMPLE


def test_fullness(box: Path) -> None:
    (box / "maildirsize").write_text("1000S,10C\n         300            5\n")
    assert quotawarn.fullness(str(box), "") == 50.0
    assert quotawarn.fullness(str(box), "100S") == 300.0
    assert quotawarn.fullness(str(box), "0S") == 0.0    # MAILDIRQUOTA="0S" means no quota

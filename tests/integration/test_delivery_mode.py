"""Delivery mode (-d USER) through the real command line, as root.

Each test writes a pymaildrop configuration with Postfix virtual(8)-style
tables whose users are the system account `nobody`, runs `pymaildrop -d`
(as root, which must drop to nobody, or as nobody itself) and checks the
exit status, standard error and the files delivered.
"""

from __future__ import annotations

import os
import pwd
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT, SAMPLE
from tests.integration.sites import Site

pytestmark = pytest.mark.e2e

NOBODY = pwd.getpwnam("nobody")


def test_delivers_to_the_default_maildir_as_the_user(site: Site) -> None:
    proc = site.run("-d", "user1@example.com")
    assert proc.returncode == 0, proc.stderr
    maildir = site.home()
    assert site.delivered(maildir) == [SAMPLE]
    msg = next((maildir / "new").iterdir())
    assert msg.stat().st_uid == NOBODY.pw_uid            # written as the user
    assert stat.S_IMODE(maildir.stat().st_mode) == 0o700  # created private


def test_extension_arguments_become_dollar_one(site: Site) -> None:
    # $1 is maildrop's, so it is put in a variable for the shell to see
    site.user_filter('if ($1 ne "")\n{\n  F="$HOME/.$1"\n'
                     '  `mkdir -p "$F/new" "$F/cur" "$F/tmp"`\n'
                     '  to "$F/"\n}\n')
    proc = site.run("-d", "user1@example.com", "lists", "user1+lists@example.com")
    assert proc.returncode == 0, proc.stderr
    assert site.delivered(site.home() / ".lists") == [SAMPLE]
    proc = site.run("-d", "user1@example.com", "", "user1@example.com")
    assert proc.returncode == 0, proc.stderr
    assert site.delivered(site.home()) == [SAMPLE]


def test_filter_runs_with_the_users_ids(site: Site) -> None:
    site.user_filter('ID=`id -u`\nlog "$ID"\nEXITCODE=0\nlogfile "$HOME/log"\nlog "$ID"\n')
    proc = site.run("-d", "user1@example.com")
    assert proc.returncode == 0, proc.stderr
    assert (site.home() / "log").read_text().startswith(f"{NOBODY.pw_uid}\nDate: ")


def test_catch_all(site: Site) -> None:
    proc = site.run("-d", "anyone@catchall.example")
    assert proc.returncode == 0, proc.stderr
    assert site.delivered(site.base / "catchall") == [SAMPLE]


def test_unknown_user_is_67(site: Site) -> None:
    proc = site.run("-d", "nobody-here@example.com")
    assert proc.returncode == 67
    assert b"unknown user nobody-here@example.com" in proc.stderr


def test_unreachable_user_database_defers(site: Site) -> None:
    site.write_config(user_databases=f"authdaemon:{site.top}/no-such-socket")
    proc = site.run("-d", "user1@example.com")
    assert proc.returncode == 75, proc.stderr
    assert list(site.base.iterdir()) == []


@pytest.mark.parametrize("bits,what", [(stat.S_ISVTX, b"sticky"), (0o002, b"world-writable")],
                         ids=["sticky", "world-writable"])
def test_unsafe_home_defers(site: Site, bits: int, what: bytes) -> None:
    home = site.make_home()
    os.chmod(home, 0o755 | bits)
    proc = site.run("-d", "user1@example.com")
    assert proc.returncode == 75 and what in proc.stderr
    assert site.delivered(home) == []


@pytest.mark.parametrize("mode,owner,what", [
    (0o640, None, b"group or world permissions"),
    (0o604, None, b"group or world permissions"),
    (0o644, 0, b"owned by uid 0"),
], ids=["group-readable", "world-readable", "owned-by-root"])
def test_unsafe_user_filter_defers(site: Site, mode: int, owner: int | None, what: bytes) -> None:
    site.user_filter("to /dev/null\n", mode=mode, owner=owner)
    proc = site.run("-d", "user1@example.com")
    assert proc.returncode == 75 and what in proc.stderr, proc.stderr
    assert site.delivered(site.home()) == []


def test_symlinked_user_filter_defers(site: Site) -> None:
    home = site.make_home()
    real = site.top / "elsewhere"
    real.write_text("to /dev/null\n")
    (home / ".mailfilter").symlink_to(real)
    proc = site.run("-d", "user1@example.com")
    assert proc.returncode == 75 and b"symbolic link" in proc.stderr


def test_syntax_error_defers_with_nothing_delivered(site: Site) -> None:
    site.maildroprc.write_text('cc "$HOME/copy.mbox"\n')
    site.user_filter("if (1) {\n  to x\n}\n")
    proc = site.run("-d", "user1@example.com")
    assert proc.returncode == 75
    assert b".mailfilter:1:8: '{' must start a new line" in proc.stderr
    assert not (site.home() / "copy.mbox").exists()     # the system filter did not run either
    assert site.delivered(site.home()) == []


def test_system_filter_runs_first_and_shares_variables(site: Site) -> None:
    site.maildroprc.write_text('FROM_RC="set by maildroprc"\n')
    site.user_filter('logfile "$HOME/log"\nlog "$FROM_RC [$MYENV] [$LANG]"\n')
    proc = site.run("-d", "user1@example.com", env={"MYENV": "imported?"})
    assert proc.returncode == 0, proc.stderr
    # only the locale comes from the environment in delivery mode
    log = (site.home() / "log").read_text()
    assert log.startswith("set by maildroprc [] [C.UTF-8]\nDate: ")


def test_unsafe_system_filter_defers(site: Site) -> None:
    site.maildroprc.write_text("exit\n")
    os.chmod(site.maildroprc, 0o666)
    proc = site.run("-d", "user1@example.com")
    assert proc.returncode == 75 and b"system filter" in proc.stderr


def test_not_root_and_not_the_user_defers(site: Site) -> None:
    site.write_config(virtual_uid_maps="static:4242")
    proc = site.run("-d", "user1@example.com", as_nobody=True)
    assert proc.returncode == 75
    assert b"is uid 4242 but pymaildrop runs as uid" in proc.stderr


def test_running_as_the_user_itself(site: Site) -> None:
    site.make_home()
    proc = site.run("-d", "user1@example.com", as_nobody=True)
    assert proc.returncode == 0, proc.stderr
    assert site.delivered(site.home()) == [SAMPLE]


def test_uid_below_minimum_defers(site: Site) -> None:
    site.write_config(virtual_uid_maps="static:50")
    proc = site.run("-d", "user1@example.com")
    assert proc.returncode == 75 and b"below the minimum uid" in proc.stderr


def test_root_is_never_a_delivery_identity(site: Site) -> None:
    proc = site.run("--userdb", "passwd", "-d", "root")
    assert proc.returncode == 75 and b"refusing to deliver as root" in proc.stderr


def test_mailbox_outside_the_base_is_refused(site: Site) -> None:
    site.write_tables({"user1@example.com": "../../etc/evil/"})
    proc = site.run("-d", "user1@example.com")
    assert proc.returncode == 75, proc.stderr
    assert not Path("/etc/evil").exists()


def test_lookup_tool(site: Site) -> None:
    proc = subprocess.run([str(Path(sys.executable).parent / "pymaildrop"), "lookup",
                           "--config", str(site.config), "user1+x@example.com"],
                          capture_output=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert f"mailbox:  {site.base}/example.com/user1/".encode() in proc.stdout


def test_root_dir_is_root_checkout() -> None:
    assert (ROOT / "pymaildrop").is_dir()


def test_over_quota_defers_with_4_2_2(site: Site) -> None:
    site.user_filter('MAILDIRQUOTA="100S"\n')
    proc = site.run("-d", "user1@example.com")
    assert proc.returncode == 75
    assert proc.stderr.startswith(b"4.2.2 ")          # Postfix shows this status
    assert site.delivered(site.home()) == []


def test_over_quota_bounces_with_5_2_2_when_configured(site: Site) -> None:
    site.write_config(quota_overflow="bounce")
    site.user_filter('MAILDIRQUOTA="100S"\n')
    proc = site.run("-d", "user1@example.com")
    assert proc.returncode == 73
    assert proc.stderr.startswith(b"5.2.2 ")          # overrides the status for Postfix
    assert site.delivered(site.home()) == []


def test_quota_from_the_user_database(site: Site) -> None:
    site.write_config(user_databases=f"userdb:{site.top}/userdb")
    home = site.make_home()
    (site.top / "userdb").write_text(
        f"user1@example.com\tuid={NOBODY.pw_uid}|gid={NOBODY.pw_gid}|home={home}"
        f"|mail={home}/|quota=100S\n")
    os.chmod(site.top / "userdb", 0o600)
    proc = site.run("-d", "user1@example.com")
    assert proc.returncode == 75 and proc.stderr.startswith(b"4.2.2 "), proc.stderr


def test_bad_quota_policy_defers(site: Site) -> None:
    site.write_config(quota_overflow="sometimes")
    proc = site.run("-d", "user1@example.com")
    assert proc.returncode == 75 and b"quota_overflow" in proc.stderr


def test_quota_warning_options(site: Site) -> None:
    warn = site.top / "warnmsg"
    warn.write_text("Subject: your mailbox is nearly full\n\nPlease.\n")
    site.user_filter('MAILDIRQUOTA="400S"\n')
    proc = site.run("-w", "50", "-W", str(warn), "-d", "user1@example.com")
    assert proc.returncode == 0, proc.stderr
    got = site.delivered(site.home())
    assert SAMPLE in got and len(got) == 2
    assert any(m.startswith(b"Date: ") and m.endswith(b"\nPlease.\n") for m in got)


def test_symlinked_mailbox_leaving_the_base_is_refused(site: Site) -> None:
    outside = site.top / "outside"
    outside.mkdir()
    os.chown(outside, NOBODY.pw_uid, NOBODY.pw_gid)
    domain = site.base / "example.com"
    domain.mkdir()
    os.chown(domain, NOBODY.pw_uid, NOBODY.pw_gid)
    (domain / "user1").symlink_to(outside)
    proc = site.run("-d", "user1@example.com")
    assert proc.returncode == 75 and b"is a symbolic link" in proc.stderr, proc.stderr
    assert list(outside.iterdir()) == []


def test_intermediate_symlink_leaving_the_base_is_refused(site: Site) -> None:
    outside = site.top / "outside"
    (outside / "user1").mkdir(parents=True)
    os.chown(outside, NOBODY.pw_uid, NOBODY.pw_gid)
    os.chown(outside / "user1", NOBODY.pw_uid, NOBODY.pw_gid)
    (site.base / "example.com").symlink_to(outside)
    proc = site.run("-d", "user1@example.com")
    assert proc.returncode == 75 and b"outside" in proc.stderr, proc.stderr
    assert list((outside / "user1").iterdir()) == []

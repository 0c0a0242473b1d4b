"""Whose rights a delivery runs with, and the ownership checks before it.

Contract: drop_to(user) leaves the process running as the user for good
    (or checks that it already is); check_home(), check_user_filter() and
    check_system_filter() apply maildrop's checks before a filter is read.
    open_user_filter() opens $HOME/.mailfilter safely and returns its text,
    or None when there is none.
Safety: started as root, drop_to() calls setgroups, setgid and setuid in that
    order, then verifies that real and effective ids are the user's and that
    root cannot be regained.  Not root, it refuses to act for another uid:
    one user's filter never runs with another user's rights.  uid 0 is never
    a delivery identity.  Every refusal is EX_TEMPFAIL (SecurityError), so a
    fixable permission problem defers mail instead of losing it.
Errors: SecurityError with the path, owner, mode and what to fix.
See also: maildrop(1) "SECURITY"; courier-libs maildrop main.C pattern.
"""

from __future__ import annotations

import errno
import os
import stat

from pymaildrop.errors import SecurityError
from pymaildrop.userdb import User


def drop_to(user: User) -> None:
    """Become the user for good, or check that we already are."""
    # SECURITY: a filter runs commands; never as root, never as someone else.
    if user.uid == 0:
        raise SecurityError(f"refusing to deliver as root for {user.name}: alias root's mail "
                            "to an ordinary user")
    if os.geteuid() == 0:
        try:
            os.setgroups([user.gid])
            os.setgid(user.gid)
            os.setuid(user.uid)
        except OSError as exc:
            raise SecurityError(f"cannot change to uid {user.uid} gid {user.gid} for "
                                f"{user.name}: {exc.strerror or exc}") from exc
        _verify(user)
        return
    if os.getuid() != user.uid or os.geteuid() != user.uid:
        raise SecurityError(
            f"{user.name} is uid {user.uid} but pymaildrop runs as uid {os.geteuid()}: "
            "run it as root, or as that user (pipe(8) user=, or local(8))")


def _verify(user: User) -> None:
    ids = (os.getuid(), os.geteuid(), os.getgid(), os.getegid())
    if ids != (user.uid, user.uid, user.gid, user.gid) or os.getgroups() not in ([], [user.gid]):
        raise SecurityError(f"dropping privileges to {user.uid}:{user.gid} did not take "
                            f"(now uid {ids[0]}/{ids[1]} gid {ids[2]}/{ids[3]})")
    try:
        os.setuid(0)
    except PermissionError:
        return
    raise SecurityError("root privileges could be regained after dropping them")


def check_mailbox_path(path: str, base: str) -> None:
    """Refuse a mailbox that leaves its base through a symbolic link.

    The user database already refused '..' and absolute escapes as text;
    here, as the delivering user, the file system is asked: the mailbox may
    not be a symbolic link, and its real path must lie inside the real base.
    """
    if not base:
        return
    target = path.rstrip("/") or "/"
    # SECURITY: a link at the final component could point delivery anywhere.
    if os.path.islink(target):
        raise SecurityError(f"mailbox {target} is a symbolic link; refusing to follow it "
                            f"out of {base}")
    real_base = os.path.realpath(base)
    real = os.path.realpath(target)
    if os.path.commonpath([real_base, real]) != real_base:
        raise SecurityError(f"mailbox {target} leads to {real}, outside {base}")


def check_home(path: str) -> os.stat_result:
    """Refuse a home that is missing, sticky (mail on hold) or world-writable."""
    try:
        st = os.stat(path)
    except OSError as exc:
        raise SecurityError(f"home directory {path}: {exc.strerror or exc}") from exc
    if not stat.S_ISDIR(st.st_mode):
        raise SecurityError(f"home directory {path} is not a directory")
    # SECURITY: maildrop(1): the sticky bit holds all mail; world-writable is unsafe.
    if st.st_mode & stat.S_ISVTX:
        raise SecurityError(f"home directory {path} has the sticky bit set: mail is held "
                            "until it is cleared (chmod -t)")
    if st.st_mode & stat.S_IWOTH:
        raise SecurityError(f"home directory {path} is world-writable "
                            f"(mode {stat.S_IMODE(st.st_mode):04o}); fix with chmod o-w")
    return st


def open_user_filter(path: str, uid: int) -> str | None:
    """Return the text of the user's filter file, or None when it does not exist."""
    try:
        # SECURITY: O_NOFOLLOW: a symlink could point the filter at another file.
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK)
    except FileNotFoundError:
        return None
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise SecurityError(f"filter file {path} is a symbolic link") from exc
        raise SecurityError(f"cannot open filter file {path}: {exc.strerror or exc}") from exc
    with os.fdopen(fd, "rb") as f:
        check_user_filter(path, os.fstat(f.fileno()), uid)
        return f.read().decode("utf-8", "surrogateescape")


def check_user_filter(path: str, st: os.stat_result, uid: int) -> None:
    """Refuse a filter that is not a regular file, not the user's, or not private."""
    if not stat.S_ISREG(st.st_mode):
        raise SecurityError(f"filter file {path} is not a regular file")
    # SECURITY: maildrop(1): owned by the user, no group or world permissions at all.
    if st.st_uid != uid:
        raise SecurityError(f"filter file {path} is owned by uid {st.st_uid}, not by the "
                            f"user (uid {uid})")
    if st.st_mode & 0o077:
        raise SecurityError(f"filter file {path} has group or world permissions "
                            f"(mode {stat.S_IMODE(st.st_mode):04o}); fix with chmod 600")


def check_system_filter(path: str, st: os.stat_result) -> None:
    """Refuse a system filter that someone other than root could have changed."""
    if not stat.S_ISREG(st.st_mode):
        raise SecurityError(f"system filter {path} is not a regular file")
    # SECURITY: it runs for every user; only root may be able to write it.
    if st.st_uid not in (0, os.geteuid()) or st.st_mode & 0o022:
        raise SecurityError(f"system filter {path} must be owned by root and not writable "
                            f"by group or others (uid {st.st_uid}, mode "
                            f"{stat.S_IMODE(st.st_mode):04o})")


def open_system_filter(path: str) -> str | None:
    """Return the text of the system filter, or None when there is none."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC | os.O_NONBLOCK)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise SecurityError(f"cannot open system filter {path}: {exc.strerror or exc}") from exc
    with os.fdopen(fd, "rb") as f:
        check_system_filter(path, os.fstat(f.fileno()))
        return f.read().decode("utf-8", "surrogateescape")

"""virtual[:FILE]: Postfix virtual(8)-style tables, and the table reader."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from pymaildrop.config import Config
from pymaildrop.errors import ConfigError, TempFail
from pymaildrop.userdb import open_source
from pymaildrop.userdb import tables as tables_module
from pymaildrop.userdb.tables import open_table, parse, split_specs
from pymaildrop.userdb.virtual import VirtualSource, search_keys, strip_extension

DATA = Path(__file__).resolve().parent.parent / "data" / "userdb" / "virtual"
BASE = "/var/mail/vhosts"


@pytest.fixture
def tdir(tmp_path: Path) -> Path:
    """A private copy of the fixture tables (owned by us, as the safety checks want)."""
    tables_module.clear_cache()
    return Path(shutil.copytree(DATA, tmp_path / "virtual"))


def make(tdir: Path, **overrides: str) -> VirtualSource:
    values = {
        "virtual_mailbox_base": BASE,
        "virtual_mailbox_maps": f"hash:{tdir}/vmailbox",
        "virtual_uid_maps": f"texthash:{tdir}/vuid",
        "virtual_gid_maps": f"btree:{tdir}/vgid",
        "virtual_home_maps": f"lmdb:{tdir}/vhome",
    }
    values.update(overrides)
    return VirtualSource.from_config(None, Config("/etc/pymaildrop/pymaildrop.cf", values))


@pytest.mark.parametrize("address,name,uid,gid,mailbox,home,key", [
    ("user1@example.com", "user1@example.com", 5001, 5000,
     f"{BASE}/example.com/user1/", f"{BASE}/example.com/user1/", "user1@example.com"),
    ("user1+lists@example.com", "user1@example.com", 5001, 5000,
     f"{BASE}/example.com/user1/", f"{BASE}/example.com/user1/", "user1@example.com"),
    ("USER1@Example.COM", "user1@example.com", 5001, 5000,
     f"{BASE}/example.com/user1/", f"{BASE}/example.com/user1/", "user1@example.com"),
    ("user2@example.com", "user2@example.com", 5000, 5000,
     f"{BASE}/example.com/user2", f"{BASE}/example.com", "user2@example.com"),
    ("user3+lists@example.com", "user3@example.com", 5000, 5000,
     f"{BASE}/example.com/user3-lists/", f"{BASE}/example.com/user3-lists/",
     "user3+lists@example.com"),
    ("user3+other@example.com", "user3@example.com", 5000, 5000,
     f"{BASE}/example.com/user3/", f"{BASE}/example.com/user3/", "user3@example.com"),
    ("anyone+x@example.net", "anyone@example.net", 5010, 5010,
     f"{BASE}/example.net/catchall/", f"{BASE}/example.net/catchall/", "@example.net"),
    ("test1", "test1", 5020, 5020, f"{BASE}/test1/", f"{BASE}/test1/", "test1"),
    ("test1+ext", "test1", 5020, 5020, f"{BASE}/test1/", f"{BASE}/test1/", "test1"),
    ("dup@example.com", "dup@example.com", 5000, 5000,
     f"{BASE}/example.com/dup-first/", f"{BASE}/example.com/dup-first/", "dup@example.com"),
    ("absolute@example.com", "absolute@example.com", 5000, 5000,
     f"{BASE}/etc/evil/", f"{BASE}/etc/evil/", "absolute@example.com"),
    ("home@example.com", "home@example.com", 5000, 5000,
     f"{BASE}/example.com/home/Maildir/", f"{BASE}/example.com/home", "home@example.com"),
], ids=["maildir", "extension-stripped", "case-insensitive", "mbox-home-is-directory",
        "extension-entry-wins", "other-extension", "catch-all", "bare-name",
        "bare-name-extension", "duplicate-first-wins", "absolute-stays-in-base", "home-map"])
def test_found(tdir: Path, address: str, name: str, uid: int, gid: int, mailbox: str,
               home: str, key: str) -> None:
    user = make(tdir).lookup(address)
    assert user is not None
    assert (user.name, user.uid, user.gid, user.mailbox, user.home) == (name, uid, gid,
                                                                        mailbox, home)
    assert user.source == "virtual:/etc/pymaildrop/pymaildrop.cf"
    assert user.detail == f"hash:{tdir}/vmailbox, key {key}"


@pytest.mark.parametrize("address", [
    "nobody@example.com", "user1@example.org", "keyonly@example.com", "test2", "",
    "user1@example.com\0",
], ids=["unknown", "other-domain", "key-without-value", "unknown-bare", "empty", "nul"])
def test_not_found(tdir: Path, address: str) -> None:
    assert make(tdir).lookup(address) is None


@pytest.mark.parametrize("address,message", [
    ("nouid@example.org", "no entry in virtual_uid_maps"),
    ("nogid@example.org", "no entry in virtual_gid_maps"),
    ("baduid@example.com", "'fifty' is not a user or group number"),
    ("dotdot@example.com", "contains '..'"),
], ids=["no-uid", "no-gid", "bad-uid", "dotdot"])
def test_misconfiguration_defers(tdir: Path, address: str, message: str) -> None:
    with pytest.raises(TempFail, match=message):
        make(tdir).lookup(address)


def test_uid_below_minimum_is_returned_with_a_note(tdir: Path) -> None:
    source = make(tdir)
    user = source.lookup("lowuid@example.com")
    assert user is not None and user.uid == 50
    assert source.minimum_uid == 100
    assert "uid 50 is below virtual_minimum_uid 100" in user.detail


@pytest.mark.parametrize("configured,effective", [("0", 1), ("1000", 1000), ("100", 100)],
                         ids=["zero-clamped-to-1", "raised", "default"])
def test_minimum_uid(tdir: Path, configured: str, effective: int) -> None:
    assert make(tdir, virtual_minimum_uid=configured).minimum_uid == effective


@pytest.mark.parametrize("value,message", [
    ("a/../../etc/", "contains '..'"),
    ("..", "contains '..'"),
    ("a/..", "contains '..'"),
    ("mail\0box/", "NUL"),
], ids=["dotdot-middle", "dotdot-alone", "dotdot-end", "nul"])
def test_paths_never_leave_the_base(tdir: Path, value: str, message: str) -> None:
    with pytest.raises(TempFail, match=message):
        make(tdir).inside_base(value, "test")


@pytest.mark.parametrize("base,value,expected", [
    ("/var/mail/vhosts", "d/u/", "/var/mail/vhosts/d/u/"),
    ("/var/mail/vhosts/", "d/u", "/var/mail/vhosts/d/u"),
    ("/var/mail/vhosts", "/etc/passwd", "/var/mail/vhosts/etc/passwd"),
    ("/var/mail/vhosts", "...", "/var/mail/vhosts/..."),
    ("/", "srv/mail/u/", "/srv/mail/u/"),
    ("", "/srv/mail/u/", "/srv/mail/u/"),
], ids=["plain", "base-slash", "absolute-prefixed", "three-dots", "root-base",
        "no-base-absolute"])
def test_inside_base(tdir: Path, base: str, value: str, expected: str) -> None:
    assert make(tdir, virtual_mailbox_base=base).inside_base(value, "test") == expected


def test_nul_in_table_file_is_refused(tdir: Path) -> None:
    (tdir / "vmailbox").write_bytes(b"nul@example.com  a\0b/\n")
    with pytest.raises(TempFail, match="NUL"):
        make(tdir).lookup("nul@example.com")


def test_relative_mailbox_needs_a_base(tdir: Path) -> None:
    with pytest.raises(TempFail, match="virtual_mailbox_base is empty"):
        make(tdir, virtual_mailbox_base="").lookup("user1@example.com")


def test_home_map_is_confined_too(tdir: Path) -> None:
    (tdir / "vhome").write_text("user1@example.com  ../../root\n")
    with pytest.raises(TempFail, match="contains '..'"):
        make(tdir).lookup("user1@example.com")


@pytest.mark.parametrize("overrides,message", [
    ({"virtual_mailbox_maps": ""}, "virtual_mailbox_maps is empty"),
    ({"virtual_uid_maps": ""}, "virtual_uid_maps is empty"),
    ({"virtual_gid_maps": ""}, "virtual_gid_maps is empty"),
    ({"virtual_mailbox_base": "var/mail"}, "is not absolute"),
    ({"virtual_minimum_uid": "many"}, "not a whole number"),
    ({"virtual_uid_maps": "mysql:/etc/postfix/uids.cf"}, "only static:"),
    ({"virtual_uid_maps": "hash:"}, "only static:"),
], ids=["no-mailbox-maps", "no-uid-maps", "no-gid-maps", "relative-base", "bad-minimum",
        "unsupported-type", "no-file"])
def test_bad_configuration(tdir: Path, overrides: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        make(tdir, **overrides)


def test_missing_table_file_defers(tdir: Path) -> None:
    source = make(tdir, virtual_mailbox_maps=f"hash:{tdir}/missing")
    with pytest.raises(TempFail, match="cannot read .*missing"):
        source.lookup("user1@example.com")


@pytest.mark.parametrize("uid", ["-1", "+5", "5_000", "٥", "5000 5001"],
                         ids=["negative", "plus-sign", "underscore", "arabic-digit", "two"])
def test_uid_must_be_plain_digits(tdir: Path, uid: str) -> None:
    with pytest.raises(TempFail, match="is not a user or group number"):
        make(tdir, virtual_uid_maps=f"static:{{{uid}}}").lookup("user1@example.com")


@pytest.mark.parametrize("value,expected", [
    ("hash:/a, hash:/b", ["hash:/a", "hash:/b"]),
    ("static:{ 5 0 }  ,hash:/b\n\ttexthash:/c", ["static:{ 5 0 }", "hash:/b", "texthash:/c"]),
    ("", []),
], ids=["commas", "braces-and-whitespace", "empty"])
def test_split_specs(value: str, expected: list[str]) -> None:
    assert split_specs(value) == expected


def test_static_maps_and_several_tables(tdir: Path) -> None:
    (tdir / "extra").write_text("new@example.com  example.com/new/\n")
    source = make(tdir, virtual_mailbox_maps=f"hash:{tdir}/vmailbox, texthash:{tdir}/extra",
                  virtual_uid_maps="static:7000", virtual_gid_maps="static:{ 7001 }")
    user = source.lookup("new+x@example.com")
    assert user is not None
    assert (user.uid, user.gid, user.mailbox) == (7000, 7001, f"{BASE}/example.com/new/")
    assert user.detail == f"texthash:{tdir}/extra, key new@example.com"


def test_one_key_is_tried_in_every_table_before_the_next_key(tdir: Path) -> None:
    (tdir / "first").write_text("joe@example.com  example.com/joe/\n")
    (tdir / "second").write_text("joe+list@example.com  example.com/joe-list/\n")
    source = make(tdir, virtual_mailbox_maps=f"hash:{tdir}/first hash:{tdir}/second",
                  virtual_uid_maps="static:5000", virtual_gid_maps="static:5000")
    user = source.lookup("joe+list@example.com")
    assert user is not None and user.mailbox == f"{BASE}/example.com/joe-list/"


def test_from_main_cf_file(tdir: Path) -> None:
    main_cf = tdir / "main.cf"
    main_cf.write_text(f"virtual_mailbox_base = /srv/vmail\n"
                       f"virtual_mailbox_maps = hash:{tdir}/vmailbox\n"
                       "virtual_uid_maps = static:$vuid\nvuid = 6000\n"
                       "virtual_gid_maps = static:6000\n"
                       "recipient_delimiter = -\n")
    main_cf.chmod(0o644)
    source = open_source(f"virtual:{main_cf}", Config(None, {}))
    user = source.lookup("user1-x@example.com")
    assert user is not None
    assert (user.uid, user.gid, user.mailbox) == (6000, 6000, "/srv/vmail/example.com/user1/")
    assert source.spec == f"virtual:{main_cf}"


def test_main_cf_file_must_exist(tdir: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        VirtualSource.from_config(str(tdir / "nope.cf"), Config(None, {}))


@pytest.mark.parametrize("key,delimiters,expected", [
    ("user+ext@example.com", "+", ["user+ext@example.com", "user@example.com", "@example.com"]),
    ("User@Example.COM", "+", ["user@example.com", "@example.com"]),
    ("user-ext@example.com", "+-", ["user-ext@example.com", "user@example.com",
                                    "@example.com"]),
    ("user+ext@example.com", "", ["user+ext@example.com", "@example.com"]),
    ("name+ext", "+", ["name+ext", "name"]),
    ("+ext@example.com", "+", ["+ext@example.com", "@example.com"]),
    ("user@", "+", ["user@"]),
], ids=["address", "lower-cased", "several-delimiters", "no-delimiter", "bare-name",
        "leading-delimiter", "empty-domain"])
def test_search_keys(key: str, delimiters: str, expected: list[str]) -> None:
    assert search_keys(key, delimiters) == expected


@pytest.mark.parametrize("local,expected", [
    ("joe-ext", "joe"), ("mailer-daemon", "mailer-daemon"), ("double-bounce", "double-bounce"),
    ("owner-list", "owner-list"), ("list-request", "list-request"), ("a+b-c", "a"),
], ids=["split", "mailer-daemon", "double-bounce", "owner-", "-request", "first-delimiter"])
def test_strip_extension_reserved_names(local: str, expected: str) -> None:
    assert strip_extension(local, "-+") == expected


@pytest.mark.parametrize("text,expected", [
    ("a  b\n", {"a": "b"}),
    ("Key\tValue with  spaces \n", {"key": "Value with  spaces"}),
    ("# comment\n\n   # indented comment\nk v\n", {"k": "v"}),
    ("k first\n  second\n\tthird\n", {"k": "first second third"}),
    ("k\n  v\n", {"k": "v"}),
    ("k one\nk two\n", {"k": "one"}),
    ("lonely\nk v\n", {"k": "v"}),
], ids=["simple", "case-and-inner-space", "comments", "continuation",
        "value-on-continuation", "duplicate-first-wins", "key-without-value"])
def test_table_parse(text: str, expected: dict[str, str]) -> None:
    assert parse(text) == expected


@pytest.mark.parametrize("spec,kind,name", [
    ("static:5000", "static", "5000"),
    ("static:{ a b }", "static", "a b"),
    ("proxy:hash:/etc/postfix/x", "hash", "/etc/postfix/x"),
    ("CDB:/etc/postfix/x", "cdb", "/etc/postfix/x"),
], ids=["static", "static-braces", "proxy", "type-case"])
def test_open_table(spec: str, kind: str, name: str) -> None:
    table = open_table(spec)
    assert (table.kind, table.name) == (kind, name)


def test_table_cache_follows_file_changes(tdir: Path) -> None:
    path = tdir / "t"
    path.write_text("a 1\n")
    table = open_table(f"hash:{path}")
    assert table.get("a") == "1"
    first = tables_module._cache[str(path)]
    assert table.get("A") == "1" and tables_module._cache[str(path)] is first
    path.write_text("a 22\n")
    os.utime(path, ns=(1, 1))
    assert table.get("a") == "22"


@pytest.mark.parametrize("mode", [0o666, 0o664], ids=["world-writable", "group-writable"])
def test_writable_table_is_refused(tdir: Path, mode: int) -> None:
    (tdir / "vuid").chmod(mode)
    with pytest.raises(TempFail, match="writable by group or others"):
        make(tdir).lookup("user1@example.com")


def test_table_that_is_not_a_file_is_refused(tdir: Path) -> None:
    (tdir / "dir").mkdir()
    with pytest.raises(TempFail, match="not a regular file"):
        open_table(f"hash:{tdir}/dir").get("x")


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to give the file away")
def test_table_owned_by_someone_else_is_refused(tdir: Path) -> None:
    os.chown(tdir / "vgid", 12345, 12345)
    with pytest.raises(TempFail, match="owned by uid 12345"):
        make(tdir).lookup("user1@example.com")

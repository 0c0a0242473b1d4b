"""The GDBM functions' database: modes, fetch fallbacks, GDBM files."""

from __future__ import annotations

from pathlib import Path

import pytest

from pymaildrop.interp import gdbm


@pytest.mark.parametrize("key,options,keys", [
    ("user@sub.example.com", "D", ["user@sub.example.com", "user@", "sub.example.com",
                                   "example.com", "com"]),
    ("a.b.c", "D", ["a.b.c", "b.c", "c"]),
    ("192.0.2.10", "I", ["192.0.2.10", "192.0.2", "192.0", "192"]),
    ("plain", "", ["plain"]),
], ids=["address", "domain", "ip", "none"])
def test_lookup_keys(key: str, options: str, keys: list[str]) -> None:
    assert gdbm.lookup_keys(key, options) == keys


def test_modes(tmp_path: Path) -> None:
    path = str(tmp_path / "db.dat")
    with pytest.raises(Exception):  # noqa: B017 - dbm's error type depends on the backend
        gdbm.open_db(path, "R")
    db = gdbm.open_db(path, "C")
    assert db.store("k", "v") and db.fetch("k") == "v" and db.fetch("x") is None
    db.close()
    ro = gdbm.open_db(path, "R")
    assert ro.fetch("k") == "v" and not ro.store("k", "w")
    ro.close()
    new = gdbm.open_db(path, "N")
    assert new.fetch("k") is None
    new.close()
    with pytest.raises(ValueError, match="unknown gdbmopen mode"):
        gdbm.open_db(path, "Q")


def test_the_file_is_gdbm_when_available(tmp_path: Path) -> None:
    pytest.importorskip("dbm.gnu")
    db = gdbm.open_db(str(tmp_path / "db.dat"), "C")
    db.store("k", "v")
    db.close()
    assert (tmp_path / "db.dat").exists()            # one file, as maildrop's GDBM files
    import dbm

    assert dbm.whichdb(str(tmp_path / "db.dat")) == "dbm.gnu"

"""Embedded mode (-m): what a filter may not do, refused before it runs."""

from __future__ import annotations

import pytest

from pymaildrop.errors import FilterSyntaxError
from pymaildrop.lang import parse_text
from pymaildrop.lang.restrictions import check_embedded


@pytest.mark.parametrize("text,what", [
    ("to Maildir", "to"), ("cc Maildir", "cc"), ('xfilter "cat"', "xfilter"),
    ('system "ls"', "system"), ('log "x"', "log"), ('logfile "f"', "logfile"),
    ('dotlock "f" {\n}', "dotlock"), ('flock "f" {\n}', "flock"), ("X=`echo hi`", "`command`"),
    ("if (1)\n{\n  exception {\n    to x\n  }\n}", "to"),
], ids=["to", "cc", "xfilter", "system", "log", "logfile", "dotlock", "flock", "backtick",
        "nested"])
def test_refused(text: str, what: str) -> None:
    with pytest.raises(FilterSyntaxError, match=f"{what} is not allowed in embedded mode"):
        check_embedded(parse_text(text, "f"), text)


def test_allowed() -> None:
    text = 'echo "x"\nEXITCODE=3\nif (/^Subject: x/)\n  exit\nX=gdbmopen("db")\ninclude "f"'
    check_embedded(parse_text(text, "f"), text)

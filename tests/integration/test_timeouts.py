"""Timeouts end a delivery in 75 with nothing delivered (as root, delivery mode)."""

from __future__ import annotations

import time

import pytest

from tests.integration.sites import Site

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize("filter_text,what", [
    ('xfilter "sleep 60"\n', b"timed out after 2 s"),
    ('X=`sleep 60`\n', b"timed out after 2 s"),
    ('system "sleep 60"\n', b"timed out after 2 s"),
    ('to "|sleep 60"\n', b"timed out after 2 s"),
], ids=["xfilter", "backtick", "system", "pipe"])
def test_command_timeout(site: Site, filter_text: str, what: bytes) -> None:
    site.write_config(command_timeout="2")
    site.user_filter(filter_text)
    start = time.monotonic()
    proc = site.run("-d", "user1@example.com")
    assert proc.returncode == 75 and what in proc.stderr, proc.stderr
    assert time.monotonic() - start < 20
    assert site.delivered(site.home()) == []


def test_delivery_timeout_stops_a_runaway_filter(site: Site) -> None:
    site.write_config(delivery_timeout="2")
    site.user_filter("while (1)\n{\n  X=$X + 1\n}\n")
    start = time.monotonic()
    proc = site.run("-d", "user1@example.com")
    assert proc.returncode == 75 and b"(delivery_timeout)" in proc.stderr, proc.stderr
    assert time.monotonic() - start < 20
    assert site.delivered(site.home()) == []


def test_pathological_pattern_ends_in_75(site: Site) -> None:
    site.write_config(pattern_timeout="2")
    site.user_filter('if (/^(a+)+$/:b)\n{\n  to "$HOME/wrong-folder"\n}\n')
    start = time.monotonic()
    proc = site.run("-d", "user1@example.com", stdin=b"Subject: x\n\n" + b"a" * 40 + b"b\n")
    assert proc.returncode == 75
    assert b"pattern /^(a+)+$/ ran longer than 2 s" in proc.stderr
    assert time.monotonic() - start < 20
    assert site.delivered(site.home()) == []
    assert not (site.home() / "wrong-folder").exists()

"""Our LALR driver builds exactly the trees Lark's own parser builds.

The tables come from Lark; the driver (lang/lalr.py) replaces Lark at run
time so deliveries need not import it.  These tests parse every filter we
have with both and compare the trees, and check the saved-tables logic.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from pymaildrop.lang import lalr
from pymaildrop.lang.lexer import tokenize
from tests.conftest import ROOT, SHARED

FILTERS = sorted(ROOT.glob("samples/**/*.mailfilter")) + \
    sorted((SHARED / "conformance" / "cases").glob("*/*/filter"))
SNIPPETS = [
    "if (1)\nif (0)\necho a\nelse\necho b",
    "A=(1 + 2 * 3 | 4 & 5 == 6 || 7 && !~8)",
    "foreach (getaddr $MATCH) =~ /.+/:b,1,2\n{\n}",
    "X=tolower $A $B\nY=substr($S, 1, 2)\nZ=time\ngdbmclose",
    "exception {\n dotlock \"x\" {\n  flock \"y\" {\n  }\n }\n}",
    "if (0)\n\nwhile (1) ; exit",
]


def _lark_parser() -> Any:
    import lark
    from lark.lexer import Lexer

    class Feed(Lexer):
        def __init__(self, conf: Any) -> None:
            pass

        def lex(self, data: Any) -> Any:  # type: ignore[override]
            for t in tokenize(data, "f"):
                yield lark.Token(t.type, t.value, line=t.line, column=t.column)

    return lark.Lark(Path(lalr.grammar_path()).read_text(), parser="lalr", lexer=Feed)


def _shape(node: Any) -> Any:
    if hasattr(node, "data"):
        return (str(node.data), [_shape(c) for c in node.children])
    return (node.type, str(node.value), node.line, node.column)


@pytest.fixture(scope="module")
def reference() -> Any:
    return _lark_parser()


@pytest.mark.parametrize("text", [p.read_text(errors="surrogateescape") for p in FILTERS]
                         + SNIPPETS, ids=[str(p.relative_to(p.parents[2])) for p in FILTERS]
                         + [f"snippet{i}" for i in range(len(SNIPPETS))])
def test_same_tree_as_lark(text: str, reference: Any) -> None:
    try:
        expected = _shape(reference.parse(text))
    except Exception:  # noqa: BLE001 - a filter Lark rejects must be rejected by us too
        with pytest.raises(lalr.Unexpected):
            lalr.run(tokenize(text, "f"), lalr.tables())
        return
    assert _shape(lalr.run(tokenize(text, "f"), lalr.tables())) == expected


def test_there_are_many_filters() -> None:
    assert len(FILTERS) > 150


def test_unexpected_token_and_what_was_expected() -> None:
    with pytest.raises(lalr.Unexpected) as info:
        lalr.run(tokenize("if (1) {", "f"), lalr.tables())
    assert info.value.token.type == "LBRACE"
    assert info.value.expected == {"SEP"}


def test_tables_round_trip_through_json(tmp_path: Path) -> None:
    data = lalr.build_tables(Path(lalr.grammar_path()).read_text())
    path = tmp_path / "t.json"
    lalr.write_tables(data, str(path))
    assert json.loads(path.read_text()) == data
    assert data["key"] == lalr.tables_key(Path(lalr.grammar_path()).read_text())


def test_stale_or_untrusted_tables_are_ignored(tmp_path: Path) -> None:
    path = tmp_path / "t.json"
    path.write_text(json.dumps({"key": "format=0 grammar=old"}))
    assert lalr._load(str(path), "format=1 grammar=new") is None  # noqa: SLF001
    path.write_text(json.dumps({"key": "k"}))
    path.chmod(0o666)
    assert lalr._load(str(path), "k") is None                      # noqa: SLF001
    path.chmod(0o644)
    assert lalr._load(str(path), "k") == {"key": "k"}              # noqa: SLF001


def test_a_delivery_does_not_import_lark() -> None:
    lalr.tables()    # make sure the tables are saved beside the grammar
    code = ("import sys\nfrom pymaildrop.lang import parse_text\n"
            "parse_text('if (/x/)\\n  to Maildir\\n', 'f')\nprint('lark' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=ROOT, check=True)
    assert out.stdout.strip() == "False"

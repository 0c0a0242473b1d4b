"""Hatchling build hook: ship pre-built LALR tables inside the wheel.

Building the tables from grammar/maildropfilter.lark takes about 100 ms, a
cost every delivery would otherwise pay.  The hook builds them once at build
time and adds them to the wheel as pymaildrop/grammar/maildropfilter.tables,
keyed to the grammar text and the Lark version (lang/parser.py checks the key
and rebuilds in memory when it does not match).
"""

import os
import sys
import tempfile

from hatchling.builders.hooks.plugin.interface import BuildHookInterface


class TablesBuildHook(BuildHookInterface):
    PLUGIN_NAME = "custom"

    def initialize(self, version, build_data):
        if self.target_name != "wheel":
            return
        sys.path.insert(0, self.root)
        try:
            from pymaildrop.lang import parser
        finally:
            sys.path.pop(0)
        with open(os.path.join(self.root, "grammar", "maildropfilter.lark"), encoding="utf-8") as f:
            grammar = f.read()
        out_dir = tempfile.mkdtemp(prefix="pymaildrop-build-")
        out = os.path.join(out_dir, parser.TABLES_NAME)
        with open(out, "wb") as f:
            parser.save_tables(parser.build_parser(grammar), grammar, f)
        build_data["force_include"][out] = "pymaildrop/grammar/" + parser.TABLES_NAME

"""Hatchling build hook: ship the grammar's LALR(1) tables inside the wheel.

Lark takes about 100 ms to compute the tables from grammar/maildropfilter.lark,
and importing Lark costs another ~45 ms and ~10 MiB: a price every delivery
would pay.  The hook lets Lark compute them once, at build time, and adds them
to the wheel as pymaildrop/grammar/maildropfilter.tables.json, plain JSON keyed
to the grammar (pymaildrop/lang/lalr.py checks the key and, when it does not
match, has Lark build the tables in memory).
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
            from pymaildrop.lang import lalr
        finally:
            sys.path.pop(0)
        path = os.path.join(self.root, "grammar", "maildropfilter.lark")
        with open(path, encoding="utf-8") as f:
            grammar = f.read()
        out = os.path.join(tempfile.mkdtemp(prefix="pymaildrop-build-"), lalr.TABLES_NAME)
        lalr.write_tables(lalr.build_tables(grammar), out)
        build_data["force_include"][out] = "pymaildrop/grammar/" + lalr.TABLES_NAME

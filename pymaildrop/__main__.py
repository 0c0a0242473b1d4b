"""`python -m pymaildrop`: the same as the `pymaildrop` command."""

import sys

from pymaildrop.cli import entry

entry(["pymaildrop", *sys.argv[1:]])

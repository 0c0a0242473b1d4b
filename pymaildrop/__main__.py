"""`python -m pymaildrop`: the same as the `pymaildrop` command."""

import sys

from pymaildrop.cli import main

raise SystemExit(main(["pymaildrop", *sys.argv[1:]]))

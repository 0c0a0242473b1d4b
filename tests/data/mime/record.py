#!/usr/bin/env python3
"""Record what the real Courier tools make of the messages here (run by hand).

For each NAME.eml this writes NAME.reformime, the output of `reformime -u`, and
adds to maildrop.json what real maildrop searches: for each of the pattern
options h, b and hb, the number of lines (a weighted /^/ search) and, for each
line pymaildrop proposes (up to 2000 characters), how many lines maildrop has
exactly like it (a weighted /^line$/:D search).  test_mime.py compares
pymaildrop with both, so the tests need neither tool.

Usage: python3 tests/data/mime/record.py   (needs maildrop and reformime on PATH)
"""

import collections
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[2]))

from pymaildrop import mime  # noqa: E402
from pymaildrop.message import Message  # noqa: E402

MODES = {"h": (True, False), "b": (False, True), "hb": (True, True)}
LONGEST = 2000


def pattern_text(line: str) -> str:
    """line as a PCRE pattern that matches only itself."""
    out = []
    for ch in line:
        if ch.isascii() and ch.isalnum():
            out.append(ch)
        elif ch in "\t\r":
            out.append("\\t" if ch == "\t" else "\\r")
        elif ord(ch) < 32 or ord(ch) == 127:
            out.append(f"\\x{ord(ch):02x}")
        elif ch.isascii():
            out.append("\\" + ch)
        else:
            out.append(ch)
    return "".join(out)


def ask_maildrop(data: bytes, questions: list[str]) -> list[float]:
    """Run each weighted search in questions over the message; return the scores."""
    lines = []
    for k, question in enumerate(questions):
        lines.append(f"N{k}=({question})")
        lines.append(f'echo "R{k} $N{k}"')
    lines.append("exit")
    with tempfile.TemporaryDirectory() as tmp:
        filt = Path(tmp, "filter")
        filt.write_text("\n".join(lines) + "\n")
        os.chmod(filt, 0o600)
        run = subprocess.run(["maildrop", "./filter"], input=data, cwd=tmp,
                             capture_output=True, check=True)
    answers = {}
    for line in run.stdout.decode().splitlines():
        if line.startswith("R"):
            key, value = line[1:].split(" ", 1)
            answers[int(key)] = float(value)
    return [answers[k] for k in range(len(questions))]


def record(path: Path) -> dict:
    data = path.read_bytes()
    reformime = subprocess.run(["reformime", "-u"], input=data, capture_output=True).stdout
    path.with_suffix(".reformime").write_bytes(reformime)
    entry = {}
    for mode, (header, body) in MODES.items():
        mine = collections.Counter(mime.iter_search_lines(Message.from_bytes(data), header, body))
        lines = sorted(line for line in mine if len(line) <= LONGEST)
        questions = [f"/^/:{mode},1,1"] + [f"/^{pattern_text(x)}$/:{mode}D,1,1" for x in lines]
        scores = ask_maildrop(data, questions)
        entry[mode] = {"total": int(scores[0]),
                       "lines": [[x, int(s)] for x, s in zip(lines, scores[1:], strict=True)]}
    return entry


def main() -> None:
    results = {}
    for path in sorted(HERE.glob("*.eml")):
        results[path.stem] = record(path)
        print(path.name)
    with open(HERE / "maildrop.json", "w", encoding="utf-8") as out:
        rows = [f"{json.dumps(name)}: {json.dumps(entry, ensure_ascii=False, sort_keys=True)}"
                for name, entry in sorted(results.items())]
        out.write("{\n" + ",\n".join(rows) + "\n}\n")


if __name__ == "__main__":
    main()

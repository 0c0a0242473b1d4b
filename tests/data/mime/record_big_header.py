#!/usr/bin/env python3
"""A message with a header of a few thousand lines, and what real maildrop finds in it.

message() builds the message (the same bytes every time): about 4,000 header
lines of Received headers folded over several lines, X- headers (some folded),
address headers folded and holding encoded words, an encoded Subject, the
Mime-Version and the multipart Content-Type only at the end of the block
(after an early Content-Type whose charset they inherit), and parts with
headers of their own.  PATTERNS hit lines early, late, in continuation lines
and in the parts.

Run by hand, this asks real maildrop 2.9.3, for each pattern, how many lines
it matches (a /pattern/:opts,1,1 weighted search) and what MATCH holds after
an unweighted one, and writes big-header.json.  test_mime.py runs the same
patterns over pymaildrop's search lines and compares, without maildrop.

Usage: python3 tests/data/mime/record_big_header.py   (needs maildrop on PATH)
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "big-header.json"

# (pattern as written between the slashes, options)
PATTERNS = [
    ("^", "h"),
    ("^", "b"),
    ("^", "hb"),
    ("^Return-Path: <bounce@example\\.org>$", "h"),
    ("^Received: from mx1\\.example\\.org", "h"),
    ("\\[192\\.0\\.2\\.\\d+\\]\\)\\s+by mx2\\.example\\.org with ESMTP id 0001 ", "h"),
    ("for <carol@example\\.net>; Mon, 1 Jan 2024 00:00:0\\d", "h"),
    ("id 0399 for", "h"),
    ("^X-H-0001: value 1 ", "h"),
    ("^X-H-1999: value 1999 zeta-1999$", "h"),
    ("^x-h-0500:", "h"),
    ("^x-h-0500:", "hD"),
    ("zeta-1[0-9][0-9][0-9]\\b", "h"),
    ("^X-H-\\d+: value \\d+ zeta-\\d+ folded tail \\d+$", "h"),
    ("folded tail 1950$", "h"),
    ("^From: (.*)$", "h"),
    ("^To: (.*)$", "h"),
    ("carol@example\\.net", "h"),
    ("^Cc: (.*)$", "h"),
    ("^Subject: (.*)$", "h"),
    ("number 12", "h"),
    ("^Content-Type: (.*)$", "h"),
    ("^Content-Type: multipart\\/mixed; boundary=\"=_big_boundary\"$", "h"),
    ("^X-Late-Marker: yes$", "h"),
    ("^X-Part-Header: (.*)$", "h"),
    ("^X-P-\\d+: part value", "h"),
    ("^X-P-0299: part value 299$", "h"),
    ("^Content-Disposition: (.*)$", "h"),
    ("body marker caf\u00e9", "b"),
    ("\u041f\u0440\u0438\u0432\u0435\u0442", "b"),
    ("second part last line", "hb"),
    ("^X-Late-Marker: yesContent-Type", "hb"),
    ("^X-Nope:", "hb"),
    ("^\\s", "h"),
    ("^[^:]*$", "h"),
]


def message() -> bytes:
    """The test message."""
    out = [b"Return-Path: <bounce@example.org>\n",
           b"Content-Type: text/plain; charset=koi8-r\n"]
    for i in range(400):
        out.append(b"Received: from mx1.example.org (mx1.example.org [192.0.2.%d])\n"
                   b"\tby mx2.example.org with ESMTP id %04d\n"
                   b"\tfor <carol@example.net>; Mon, 1 Jan 2024 00:00:%02d +0000\n"
                   % (i % 256, i, i % 60))
    out.append(b"From: hans@example.de (=?ISO-8859-1?Q?Hans_M=FCller?=)\n"
               b"To: Alice <alice@example.com>,\n"
               b" \"Bob Smith\" <bob@example.com>,\n"
               b"\tcarol@example.net (Carol =?UTF-8?B?SsO2cmc=?=)\n"
               b"Cc: =?UTF-8?Q?M=C3=BCller=2C_Hans?= <hans@example.de>,\n"
               b"    undisclosed-recipients:;\n"
               b"Subject: =?UTF-8?Q?Gr=C3=BC=C3=9Fe?= aus\n"
               b" =?ISO-8859-1?B?S/ZsbiA=?= number 12\n")
    for i in range(2000):
        out.append(b"X-H-%04d: value %d zeta-%d\n" % (i, i, i))
        if i % 50 == 0:
            out.append(b"  folded tail %d\n" % i)
    out.append(b"Mime-Version: 1.0\n"
               b"Content-Type: multipart/mixed;\n"
               b" boundary=\"=_big_boundary\"\n"
               b"X-Late-Marker: yes\n"
               b"\n"
               b"preamble\n"
               b"--=_big_boundary\n"
               b"Content-Type: text/plain; charset=iso-8859-1\n"
               b"Content-Transfer-Encoding: quoted-printable\n"
               b"X-Part-Header: deep =?UTF-8?Q?caf=C3=A9?=\n"
               b" continued part header\n")
    for i in range(300):
        out.append(b"X-P-%04d: part value %d\n" % (i, i))
    out.append(b"\n"
               b"body marker caf=E9\n"
               b"--=_big_boundary\n"
               b"Content-Disposition: attachment;\n"
               b"\tfilename=\"=?UTF-8?Q?r=C3=A9sum=C3=A9.txt?=\"\n"
               b"\n"
               b"\xf0\xd2\xc9\xd7\xc5\xd4\n"
               b"second part last line\n"
               b"--=_big_boundary--\n")
    return b"".join(out)


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def ask_maildrop(data: bytes) -> list[dict[str, object]]:
    """For each pattern: the weighted count of matching lines and MATCH."""
    lines = []
    for k, (pattern, options) in enumerate(PATTERNS):
        lines += [f"N{k}=(/{pattern}/:{options},1,1)",
                  f'echo "N{k} $N{k}"',
                  f'M{k}="-"',
                  f"if (/{pattern}/:{options})",
                  "{",
                  f"  M{k}=$MATCH",
                  "}",
                  f'echo "M{k} $M{k}"']
    lines.append("exit")
    with tempfile.TemporaryDirectory() as tmp:
        filt = Path(tmp, "filter")
        filt.write_text("\n".join(lines) + "\n", encoding="utf-8")
        os.chmod(filt, 0o600)
        run = subprocess.run(["maildrop", "./filter"], input=data, cwd=tmp,
                             capture_output=True, check=True)
    answers: dict[str, str] = {}
    for line in run.stdout.decode("utf-8").splitlines():
        key, _, value = line.partition(" ")
        answers[key] = value
    results = []
    for k, (pattern, options) in enumerate(PATTERNS):
        match = answers[f"M{k}"]
        results.append({"pattern": pattern, "options": options,
                        "count": int(float(answers[f"N{k}"])),
                        "match": None if match == "-" else match})
    return results


def main() -> None:
    data = message()
    results = ask_maildrop(data)
    with open(RESULTS, "w", encoding="utf-8") as out:
        json.dump({"sha256": digest(data), "bytes": len(data), "results": results},
                  out, ensure_ascii=False, indent=1)
        out.write("\n")
    for r in results:
        print(r)


if __name__ == "__main__":
    main()

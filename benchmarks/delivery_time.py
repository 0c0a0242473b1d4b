#!/usr/bin/env python3
"""Delivery time per message: pymaildrop against Courier maildrop, same run.

    python3 benchmarks/delivery_time.py [--runs N] [--pymaildrop PATH]

Times whole processes (spawn to reap, start-up included), as an MTA pays
them: `sh -c 'exec CMD FILTER < msg-5k.eml'`, alternating the commands pair
by pair and taking medians, with a 1-rule and a 40-rule filter (the filters
and message generator of ../shared/research/perf-baseline, copied to
benchmarks/data/).  Every delivery is fsync'ed into a fresh Maildir.
Prints the medians and the ratios pymaildrop/maildrop and
pymaildrop/`python -c pass` (the floor of any Python program).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
DATA = HERE / "data"


def timed(argv: list[str], cwd: Path, stdin_path: Path) -> float:
    with open(stdin_path, "rb") as stdin:
        start = time.perf_counter()
        proc = subprocess.run(argv, stdin=stdin, stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, cwd=cwd)
        elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"{argv} failed ({proc.returncode}): {proc.stderr.decode()}")
    return elapsed


def workdir(base: Path, name: str) -> Path:
    d = base / name
    for sub in ("new", "cur", "tmp"):
        (d / "Maildir" / sub).mkdir(parents=True, exist_ok=True)
    for f in ("filter-1.mailfilter", "filter-40.mailfilter"):
        shutil.copy(DATA / f, d / f)
        os.chmod(d / f, 0o600)
    return d


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--pymaildrop", default=str(HERE.parent / ".venv" / "bin" / "pymaildrop"))
    ap.add_argument("--maildrop", default=shutil.which("maildrop") or "/usr/bin/maildrop")
    args = ap.parse_args()
    python = str(Path(args.pymaildrop).parent / "python")
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        subprocess.run([sys.executable, str(DATA / "mkmsg.py")], cwd=base, check=True,
                       stdout=subprocess.DEVNULL)
        msg = base / "msg-5k.eml"
        cases = {
            "python -c pass": (lambda d, f: [python, "-c", "pass"]),
            "maildrop": (lambda d, f: [args.maildrop, f]),
            "pymaildrop": (lambda d, f: [args.pymaildrop, f]),
        }
        results: dict[tuple[str, str], list[float]] = {}
        dirs = {name: workdir(base, name.replace(" ", "_")) for name in cases}
        for filt in ("filter-1.mailfilter", "filter-40.mailfilter"):
            for name, make in cases.items():      # warm-up
                timed(make(dirs[name], filt), dirs[name], msg)
            for _ in range(args.runs):
                for name, make in cases.items():
                    results.setdefault((name, filt), []).append(
                        timed(make(dirs[name], filt), dirs[name], msg))
        print(f"median wall time per delivery of a 5 KB message, {args.runs} runs each")
        for filt in ("filter-1.mailfilter", "filter-40.mailfilter"):
            med = {name: statistics.median(results[(name, filt)]) for name in cases}
            print(f"\n{filt}:")
            for name in cases:
                print(f"  {name:16s} {med[name] * 1000:7.1f} ms")
            ours, floor = med["pymaildrop"], med["python -c pass"]
            print(f"  ratio pymaildrop/maildrop       {ours / med['maildrop']:5.2f}")
            print(f"  ratio pymaildrop/python -c pass {ours / floor:5.2f}")


if __name__ == "__main__":
    main()

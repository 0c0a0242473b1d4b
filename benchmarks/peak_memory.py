#!/usr/bin/env python3
"""Peak memory per delivery: pymaildrop against Courier maildrop, same run.

    python3 benchmarks/peak_memory.py [--runs N] [--pymaildrop PATH] [--check]

Delivers the 5 KB, 1 MB and 20 MB messages of data/mkmsg.py through
data/filter-1.mailfilter and data/filter-40.mailfilter into a fresh Maildir
(a new temporary directory per run, holding the filter with mode 0600; it is
the program's working directory), alternating the two programs run by run.
The peak RSS of the whole process comes from os.wait4()'s ru_maxrss (KiB on
Linux; the largest of the process and the children it reaped), not from
/usr/bin/time; see run_measured() for how the benchmark's own RSS is kept
out of it.  Prints the medians of
N runs (MiB and wall ms), pymaildrop's 20 MB / 5 KB ratio, and PASS/FAIL for
the targets: at 20 MB, within 2x of the 5 KB figure and under 16 MiB.

Exit status 0 (it is a report), unless --check is given: then 1 when a
target is missed.  2 when a delivery fails.
"""

from __future__ import annotations

import argparse
import ctypes
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
DATA = HERE / "data"
MESSAGES = (("5 KB", "msg-5k.eml"), ("1 MB", "msg-1m.eml"), ("20 MB", "msg-20m.eml"))
FILTERS = ("filter-1.mailfilter", "filter-40.mailfilter")
TARGET_RATIO = 2.0          # 20 MB peak within 2x of the 5 KB peak
TARGET_MIB = 16.0           # 20 MB peak under 16 MiB
MIB = 1024 * 1024


# How a delivery is started.  ru_maxrss is not reset by execve(): a child
# forked (or vforked) from this Python process starts with Python's peak RSS
# (10 MiB and more), which would hide maildrop's 4 MiB.  So the program is
# started by a small /bin/sh (OUTER) in the background; that child (INNER,
# another sh) stops itself, OUTER exits, the stopped child is re-parented to
# us (a child subreaper), and only then is it let go to exec the program.
# Its ru_maxrss starts from sh's ~1.6 MiB, below any program measured here,
# and the wall time runs from SIGCONT to the reaping (exec + delivery).
INNER = 'kill -STOP $$; exec "$@"'
OUTER = 'm=$1; e=$2; shift 2; /bin/sh -c "$0" sh "$@" <"$m" >/dev/null 2>"$e" & echo $!'
PR_SET_CHILD_SUBREAPER = 36


def become_subreaper() -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        raise SystemExit(f"prctl(PR_SET_CHILD_SUBREAPER): {os.strerror(ctypes.get_errno())}")


def run_measured(argv: list[str], cwd: Path, stdin: Path, stderr: Path,
                 env: dict[str, str]) -> tuple[int, float, float]:
    """Run argv; return (exit status, peak RSS in MiB, wall seconds)."""
    outer = subprocess.run(["/bin/sh", "-c", OUTER, INNER, str(stdin), str(stderr), *argv],
                           cwd=cwd, env=env, stdout=subprocess.PIPE, check=True)
    pid = int(outer.stdout)
    _, status = os.waitpid(pid, os.WUNTRACED)     # ours now; wait until it has stopped
    if not os.WIFSTOPPED(status):
        raise SystemExit(f"{argv[0]}: the launcher ended early ({status:#x})")
    start = time.perf_counter()
    os.kill(pid, signal.SIGCONT)
    _, status, usage = os.wait4(pid, 0)
    elapsed = time.perf_counter() - start
    return os.waitstatus_to_exitcode(status), usage.ru_maxrss / 1024, elapsed


def deliver(program: str, filt: str, message: Path, base: Path) -> tuple[float, float]:
    """One delivery in a fresh directory; return (peak RSS in MiB, wall seconds)."""
    work = Path(tempfile.mkdtemp(prefix="run-", dir=base))
    try:
        for sub in ("new", "cur", "tmp"):
            (work / "Maildir" / sub).mkdir(parents=True)
        shutil.copy(DATA / filt, work / filt)
        os.chmod(work / filt, 0o600)
        env = dict(os.environ, HOME=str(work))
        code, peak, elapsed = run_measured([program, "./" + filt], work, message,
                                           work / "stderr", env)
        delivered = list((work / "Maildir" / "new").iterdir())
        size = message.stat().st_size
        if code != 0 or len(delivered) != 1 or delivered[0].stat().st_size != size:
            sys.stderr.write(f"{program} ./{filt} < {message.name}: exit {code}, "
                             f"{len(delivered)} message(s) in Maildir/new\n"
                             + (work / "stderr").read_text(errors="replace"))
            raise SystemExit(2)
        return peak, elapsed
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=10, help="runs per program, filter and message")
    ap.add_argument("--pymaildrop", default=str(HERE.parent / ".venv" / "bin" / "pymaildrop"))
    ap.add_argument("--maildrop", default=shutil.which("maildrop") or "/usr/bin/maildrop")
    ap.add_argument("--check", action="store_true",
                    help="exit 1 when pymaildrop misses a target")
    args = ap.parse_args()
    programs = {"maildrop": args.maildrop, "pymaildrop": args.pymaildrop}
    for name, path in programs.items():
        if not os.access(path, os.X_OK):
            ap.error(f"{name} not found: {path}")

    become_subreaper()
    rss: dict[tuple[str, str, str], list[float]] = {}
    wall: dict[tuple[str, str, str], list[float]] = {}
    with tempfile.TemporaryDirectory(prefix="peak-memory-") as tmp:
        base = Path(tmp)
        subprocess.run([sys.executable, str(DATA / "mkmsg.py")], cwd=base, check=True,
                       stdout=subprocess.DEVNULL)
        sizes = {label: (base / name).stat().st_size for label, name in MESSAGES}
        for filt in FILTERS:
            for label, name in MESSAGES:
                for path in programs.values():               # warm-up (page cache)
                    deliver(path, filt, base / name, base)
                for _ in range(args.runs):
                    for prog, path in programs.items():      # alternate A B A B
                        peak, secs = deliver(path, filt, base / name, base)
                        rss.setdefault((prog, filt, label), []).append(peak)
                        wall.setdefault((prog, filt, label), []).append(secs)

    def med(table: dict[tuple[str, str, str], list[float]], *key: str) -> float:
        return statistics.median(table[key])  # type: ignore[index]

    print(f"peak RSS (MiB, ru_maxrss of the whole process) and wall time (ms): "
          f"median of {args.runs} runs each")
    print(f"maildrop:   {args.maildrop}\npymaildrop: {args.pymaildrop}")
    missed = []
    for filt in FILTERS:
        print(f"\n{filt}:")
        print(f"  {'message':>8} {'bytes':>10} | {'maildrop MiB':>12} {'pymaildrop MiB':>14} "
              f"{'py/5KB':>6} | {'maildrop ms':>11} {'pymaildrop ms':>13}")
        base_py = med(rss, "pymaildrop", filt, "5 KB")
        for label, _ in MESSAGES:
            py = med(rss, "pymaildrop", filt, label)
            print(f"  {label:>8} {sizes[label]:>10} | {med(rss, 'maildrop', filt, label):12.1f} "
                  f"{py:14.1f} {py / base_py:6.2f} | "
                  f"{med(wall, 'maildrop', filt, label) * 1000:11.1f} "
                  f"{med(wall, 'pymaildrop', filt, label) * 1000:13.1f}")
        big = med(rss, "pymaildrop", filt, "20 MB")
        ratio = big / base_py
        for ok, text in ((ratio < TARGET_RATIO,
                          f"pymaildrop 20 MB / 5 KB = {ratio:.2f} (target < {TARGET_RATIO:g})"),
                         (big < TARGET_MIB,
                          f"pymaildrop 20 MB = {big:.1f} MiB (target < {TARGET_MIB:g} MiB)")):
            print(f"  {'PASS' if ok else 'FAIL'}: {text}")
            if not ok:
                missed.append(f"{filt}: {text}")
    if args.check and missed:
        print("\ntargets missed:\n  " + "\n  ".join(missed))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

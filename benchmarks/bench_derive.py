"""Benchmark: ``dvcload derive`` on a 10-million-line access log, against a line count.

Target (issue #16): derive a generated 10-million-line combined log in under 60 s on
this machine, with memory flat in the log's length. Measured in one run:

- the baseline: a plain count of the file's lines in Python (reading it in 1 MB
  blocks and counting newlines, the least any reader must do), and the ratio of
  derive's time to it;
- ``dvcload derive`` as a user runs it (a subprocess, worker processes included):
  wall time, lines per second, and the peak resident memory of the whole process
  tree, sampled every 50 ms with psutil;
- the same on a log a tenth as long (the same traffic over a tenth of the day): the
  peak memory ratio (10M / 1M) is flatness;
- exactness on the way: ``arrivals.csv`` must equal the generator's truth.

The log is made by :mod:`benchmarks.make_access_log` (a deadline day of the reference
portal, known by construction) in a temporary folder, and removed after.

Run: ``.venv/bin/python -m benchmarks derive`` (or ``make bench``). ``BENCH_DERIVE_LINES``
in the environment makes it smaller, for a quick look only: below a million lines the
start-up (imports, worker processes, the plot) dominates and the targets do not apply.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import psutil

from benchmarks.make_access_log import LogSpec, write_log

LINES = int(os.environ.get("BENCH_DERIVE_LINES", "10000000"))
TARGET_S = 60.0 * LINES / 10_000_000
TARGET_MEMORY_RATIO = 1.5  # peak memory at 10x the lines, at most this many times
SAMPLE_S = 0.05


@dataclass
class Measured:
    lines: int
    seconds: float
    peak_bytes: int


def count_lines(path: Path) -> tuple[int, float]:
    """Newlines in ``path`` and the seconds counting took (the baseline)."""
    started = time.perf_counter()
    n = 0
    with path.open("rb") as handle:
        while block := handle.read(1 << 20):
            n += block.count(b"\n")
    return n, time.perf_counter() - started


def run_derive(log: Path, out: Path) -> Measured:
    """``dvcload derive LOG --out OUT`` in a subprocess: wall time, peak tree RSS."""
    command = [sys.executable, "-m", "dvcload", "derive", str(log), "--out", str(out)]
    started = time.perf_counter()
    process = psutil.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    peak = 0
    try:
        while process.poll() is None:
            peak = max(peak, _tree_rss(process))
            time.sleep(SAMPLE_S)
        seconds = time.perf_counter() - started
        stdout, stderr = process.communicate(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
    if process.returncode != 0:
        raise RuntimeError(f"derive failed ({process.returncode}): {stderr.decode()[-300:]}")
    lines = int(stdout.split()[1].replace(b",", b""))  # "derived N requests ..."
    return Measured(lines, seconds, peak)


def _same_arrivals(derived: str, truth: str) -> bool:
    """Equal, but for derive's rows of 0 after the last session start (it writes rows up
    to the last request; the truth, up to the last start)."""
    rows, expected = derived.splitlines(), truth.splitlines()
    tail = rows[len(expected) :]
    return rows[: len(expected)] == expected and all(r.endswith(",0") for r in tail)


def _tree_rss(process: psutil.Process) -> int:
    total = 0
    with contextlib.suppress(psutil.NoSuchProcess):
        for p in [process, *process.children(recursive=True)]:
            with contextlib.suppress(psutil.NoSuchProcess):
                total += p.memory_info().rss
    return total


def main() -> bool:
    with tempfile.TemporaryDirectory(prefix="bench-derive-") as tmp:
        folder = Path(tmp)
        measured: dict[int, Measured] = {}
        baseline_s = 0.0
        for lines in (LINES // 10, LINES):
            log = folder / f"access-{lines}.log"
            started = time.perf_counter()
            hours = 24.0 * lines / LINES  # the same traffic, for longer: only the length grows
            truth = write_log(log, LogSpec(lines=lines, hours=hours, seed=16))
            made_s = time.perf_counter() - started
            size_mb = log.stat().st_size / 1e6
            print(f"log of {lines:,} lines ({size_mb:,.0f} MB) made in {made_s:.1f} s")
            counted, baseline_s = count_lines(log)
            assert counted == lines, (counted, lines)
            out = folder / f"derived-{lines}"
            measured[lines] = run_derive(log, out)
            exact = _same_arrivals((out / "arrivals.csv").read_text(), truth.arrivals_csv())
            m = measured[lines]
            print(
                f"  line count (baseline): {baseline_s:6.2f} s  "
                f"({lines / baseline_s:,.0f} lines/s)\n"
                f"  dvcload derive:        {m.seconds:6.2f} s  ({lines / m.seconds:,.0f} lines/s, "
                f"{m.seconds / baseline_s:.1f}x the line count), peak memory "
                f"{m.peak_bytes / 1e6:,.0f} MB (all processes); arrivals.csv exact: {exact}"
            )
            if not exact:
                print("  MISSED: arrivals.csv differs from the generator's truth")
                return False
            log.unlink()
    big, small = measured[LINES], measured[LINES // 10]
    memory_ratio = big.peak_bytes / small.peak_bytes
    print(
        f"\n{LINES:,} lines: {big.seconds:.1f} s (target < {TARGET_S:.0f} s), "
        f"{LINES / big.seconds:,.0f} lines/s; peak memory {big.peak_bytes / 1e6:,.0f} MB at "
        f"{LINES:,} lines against {small.peak_bytes / 1e6:,.0f} MB at {LINES // 10:,} "
        f"(ratio {memory_ratio:.2f}, target <= {TARGET_MEMORY_RATIO})"
    )
    return big.seconds < TARGET_S and memory_ratio <= TARGET_MEMORY_RATIO


if __name__ == "__main__":
    raise SystemExit(0 if main() else 1)

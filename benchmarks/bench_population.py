"""Benchmark: the vectorised citizen generator against Faker calls in a loop, in one process.

Targets (issue #3): 1,000,000 citizens generated and exported to CSV in under 10 s, and
at least 50x faster per citizen than building the same fields with Faker calls. Also
reported: the JSON Lines export, the one-off reading of the official ward list (once
per process, before the timed runs), the population's own memory, the peak traced
memory (tracemalloc, in a second pass so its overhead does not touch the timings) and
the process's RSS growth.

Run: ``.venv/bin/python -m benchmarks.bench_population`` (or ``make bench``).
"""

from __future__ import annotations

import gc
import resource
import tempfile
import time
import tracemalloc
from pathlib import Path

import psutil
from faker import Faker

from loadgen.addresses import official_wards
from loadgen.export import write_population
from loadgen.faker_provider import VietnameseCitizenProvider
from loadgen.population import generate_population

SIZE = 1_000_000
FAKER_SIZE = 2_000
SEED = 20250701
TARGET_TOTAL_S = 10.0
TARGET_SPEEDUP = 50.0


def _faker_us_per_citizen(n: int) -> float:
    fake = Faker("vi_VN")
    fake.add_provider(VietnameseCitizenProvider)
    fake.seed_instance(SEED)
    for _ in range(20):  # warm caches (word lists, weight tables)
        fake.vn_citizen()
    started = time.perf_counter()
    for _ in range(n):
        fake.vn_citizen()
    return (time.perf_counter() - started) / n * 1e6


def _ward_list_ms() -> float:
    started = time.perf_counter()
    official_wards.__wrapped__()  # uncached: what the first population of a process pays
    return (time.perf_counter() - started) * 1e3


def _vectorised(folder: Path) -> dict[str, float]:
    generate_population(1_000, seed=SEED)  # warm caches (word lists, ward list)
    gc.collect()
    process = psutil.Process()
    rss_before = process.memory_info().rss
    started = time.perf_counter()
    population = generate_population(SIZE, seed=SEED)
    generated = time.perf_counter()
    rss_population = process.memory_info().rss
    write_population(population, folder / "population.csv")
    written_csv = time.perf_counter()
    write_population(population, folder / "population.jsonl")
    written_jsonl = time.perf_counter()
    return {
        "generate_s": generated - started,
        "csv_s": written_csv - generated,
        "jsonl_s": written_jsonl - written_csv,
        "population_mb": population.nbytes / 1e6,
        "rss_growth_mb": (rss_population - rss_before) / 1e6,
        "csv_mb": (folder / "population.csv").stat().st_size / 1e6,
    }


def _traced_peak_mb(folder: Path) -> float:
    gc.collect()
    tracemalloc.start()
    try:
        write_population(generate_population(SIZE, seed=SEED), folder / "traced.csv")
        return tracemalloc.get_traced_memory()[1] / 1e6
    finally:
        tracemalloc.stop()


def main() -> bool:
    """Run the benchmark, print a table and return True when both targets are met."""
    faker_us = _faker_us_per_citizen(FAKER_SIZE)
    ward_list_ms = _ward_list_ms()
    with tempfile.TemporaryDirectory(prefix="dvcload-bench-") as tmp:
        folder = Path(tmp)
        v = _vectorised(folder)
        peak_mb = _traced_peak_mb(folder)
    total_s = v["generate_s"] + v["csv_s"]
    generate_us = v["generate_s"] / SIZE * 1e6
    total_us = total_s / SIZE * 1e6
    speedup = faker_us / total_us
    max_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e3  # Linux: KiB
    rows = [
        (f"Faker provider, loop of {FAKER_SIZE:,}", f"{faker_us:,.1f} µs/citizen", ""),
        (
            f"vectorised generate, {SIZE:,}",
            f"{generate_us:.2f} µs/citizen",
            f"{v['generate_s']:.2f} s",
        ),
        (f"vectorised generate + CSV, {SIZE:,}", f"{total_us:.2f} µs/citizen", f"{total_s:.2f} s"),
        ("  CSV export alone", f"{v['csv_s']:.2f} s", f"{v['csv_mb']:.0f} MB file"),
        ("  JSON Lines export alone", f"{v['jsonl_s']:.2f} s", ""),
        ("official ward list, read once", f"{ward_list_ms:.0f} ms", "per process, untimed above"),
        ("speedup (Faker / generate + CSV)", f"{speedup:.0f}x", f"target >= {TARGET_SPEEDUP:.0f}x"),
        ("speedup (Faker / generate)", f"{faker_us / generate_us:.0f}x", ""),
        ("total for 1M incl. CSV export", f"{total_s:.2f} s", f"target < {TARGET_TOTAL_S:.0f} s"),
        (
            "population arrays (nbytes)",
            f"{v['population_mb']:.1f} MB",
            f"{v['population_mb'] * 1e6 / SIZE:.0f} B/citizen",
        ),
        ("RSS growth after generating", f"{v['rss_growth_mb']:.1f} MB", "psutil"),
        ("peak traced, generate + CSV", f"{peak_mb:.1f} MB", "tracemalloc"),
        ("process max RSS", f"{max_rss_mb:.0f} MB", "getrusage"),
    ]
    width = max(len(r[0]) for r in rows)
    print(f"{'measure':<{width}}  {'value':>18}  note")
    for label, value, note in rows:
        print(f"{label:<{width}}  {value:>18}  {note}")
    ok = total_s < TARGET_TOTAL_S and speedup >= TARGET_SPEEDUP
    print("targets met" if ok else "TARGETS MISSED")
    return ok


if __name__ == "__main__":
    raise SystemExit(0 if main() else 1)

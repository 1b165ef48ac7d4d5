"""Run the benchmarks: ``python -m benchmarks`` (all) or ``python -m benchmarks models``."""

from __future__ import annotations

import importlib
import pkgutil
import sys
import time
from pathlib import Path


def discover() -> list[str]:
    folder = Path(__file__).parent
    return sorted(
        m.name for m in pkgutil.iter_modules([str(folder)]) if m.name.startswith("bench_")
    )


def main(argv: list[str]) -> int:
    available = discover()
    wanted = [f"bench_{a.removeprefix('bench_')}" for a in argv] or available
    unknown = [w for w in wanted if w not in available]
    if unknown:
        print(
            f"unknown benchmark {unknown[0]!r}; options are "
            f"{', '.join(a.removeprefix('bench_') for a in available)}",
            file=sys.stderr,
        )
        return 2
    results: dict[str, bool] = {}
    for name in wanted:
        print(f"\n=== {name} ===", flush=True)
        started = time.perf_counter()
        module = importlib.import_module(f"benchmarks.{name}")
        results[name] = bool(module.main())
        print(
            f"--- {name}: {'met' if results[name] else 'MISSED'} "
            f"({time.perf_counter() - started:.1f} s)",
            flush=True,
        )
    print(
        "\nbenchmarks:", ", ".join(f"{n} {'met' if ok else 'MISSED'}" for n, ok in results.items())
    )
    return 0 if all(results.values()) else 1


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))

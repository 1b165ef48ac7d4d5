"""Performance benchmarks, run by ``make bench`` (``python -m benchmarks [NAME ...]``).

Each ``bench_*.py`` module defines ``main() -> bool``: it prints its measurements and
returns whether its targets were met. Targets are ratios against a baseline measured
in the same process, or absolute figures the issues state for this 2-core machine.
"""

"""``dvcload population``: generate synthetic citizens and write them to CSV or JSON Lines."""

from __future__ import annotations

import argparse
import re
import sys
import time
from pathlib import Path

from dvcschema.errors import ConfigError, shown

NAME = "population"
HELP = "Generate a synthetic Vietnamese citizen population and write it to a .csv or .jsonl file."
MAX_SIZE = 50_000_000
_PARTITION = re.compile(r"([0-9]{1,9})/([0-9]{1,9})")


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--size",
        required=True,
        type="population_size",
        metavar="N",
        help=f"citizens in the whole population, 1 to {MAX_SIZE:,} (with --partition: "
        "all partitions together)",
    )
    parser.add_argument(
        "--seed",
        required=True,
        type="seed",
        metavar="S",
        help="non-negative seed; the same seed and size give the same citizens, byte for byte",
    )
    parser.add_argument(
        "--partition",
        type="partition",
        default="0/1",
        metavar="K/N",
        help="write only partition K of N, K counted from 0 (0/4, 1/4, 2/4, 3/4): citizens "
        "[size*K//N, size*(K+1)//N) of the population. Partitions never share an ID number "
        "and together are the whole population (default 0/1: everything)",
    )
    parser.add_argument(
        "--out",
        required=True,
        type="file_to_write",
        metavar="FILE",
        help="output file; the format follows the extension: .csv or .jsonl (JSON Lines)",
    )


def parse_partition(text: str) -> tuple[int, int]:
    """``"K/N"`` with 0 <= K < N to ``(K, N)``; ConfigError otherwise."""
    match = _PARTITION.fullmatch(text.strip())
    if match is None or not 0 <= int(match[1]) < int(match[2]):
        raise ConfigError(
            "must be K/N with K counted from 0 and 0 <= K < N (e.g. 0/4 .. 3/4),"
            f" got {shown(text)}",
            field="--partition",
        )
    return int(match[1]), int(match[2])


def _check_arguments(args: argparse.Namespace) -> tuple[int, int]:
    if not 1 <= args.size <= MAX_SIZE:
        raise ConfigError(f"must be from 1 to {MAX_SIZE:,}, got {shown(args.size)}", field="--size")
    if args.seed < 0:
        raise ConfigError(f"must be a non-negative integer, got {shown(args.seed)}", field="--seed")
    k, n = parse_partition(args.partition)
    if n > args.size:
        raise ConfigError(
            f"{n} partitions of {args.size} citizens would leave some empty", field="--partition"
        )
    from loadgen.export import format_of

    format_of(args.out)
    folder = Path(args.out).parent
    if not folder.is_dir():
        raise ConfigError(f"folder {shown(str(folder))} does not exist", field="--out")
    return k, n


def run(args: argparse.Namespace) -> int:
    k, n = _check_arguments(args)
    from loadgen.export import write_population
    from loadgen.population import generate_population

    started = time.perf_counter()
    population = generate_population(args.size, seed=args.seed, partition=(k, n))
    write_population(population, args.out)
    elapsed_s = time.perf_counter() - started
    print(
        f"wrote {len(population):,} citizens (partition {k}/{n} of {args.size:,}, "
        f"seed {args.seed}) "
        f"to {args.out} in {elapsed_s:.1f} s",
        file=sys.stdout,
    )
    return 0

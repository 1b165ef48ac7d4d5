"""``dvcload worker``: run users for a master (``dvcload run --master`` or
``--processes N``), drawing citizens from this worker's partition of the population."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

from dvcload.run_setup import prepare_run, resolve_scenario
from dvcschema.errors import ConfigError
from dvcschema.scenario import Scenario, load_scenario, scenario_from_data
from dvcschema.settings import Overrides
from dvcschema.yamlio import read_yaml_file

NAME = "worker"
HELP = "Run users for a dvcload master (see 'dvcload run --master' and '--processes')."
_PARTITION = re.compile(r"(\d+)/(\d+)")


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "scenario", type="path", help="the scenario file (or a run's scenario.json)"
    )
    parser.add_argument(
        "--master-host", type="host", default="127.0.0.1", help="the master's address"
    )
    parser.add_argument("--master-port", type="port", default=5557, help="the master's port")
    parser.add_argument(
        "--partition", type="partition", required=True, metavar="K/N",
        help="this worker's slice of the population, K counted from 0 (e.g. 0/2)",
    )  # fmt: skip
    parser.add_argument(
        "--target", type="url", help="the target URL (the master's portal for --processes)"
    )
    parser.add_argument(
        "--allow-target", action="append", type="host_text", default=[], metavar="HOST",
        help="allow load to a host outside the loopback range (repeatable)",
    )  # fmt: skip


def run(args: argparse.Namespace) -> int:
    partition = parse_partition(args.partition)
    scenario = _scenario(Path(args.scenario), args)
    if scenario.target.url is None:
        raise ConfigError(
            "a worker needs --target URL (the portal the master started)", field="--target"
        )
    from loadgen.histograms import SECTIONS, LatencyRecorder
    from loadgen.runner import run_worker

    assert scenario.load is not None  # require_load refused a scenario without one
    workload = prepare_run(scenario, partition=partition).workload
    workload.recorder = LatencyRecorder(interval_sections=SECTIONS)
    run_worker(
        workload,
        scenario.load,
        host=scenario.target.url,
        master_host=args.master_host,
        master_port=args.master_port,
        partition=partition,
        duration_s=scenario.duration_s,
    )
    return 0


def parse_partition(text: str) -> tuple[int, int]:
    match = _PARTITION.fullmatch(text.strip())
    if not match or not 0 <= int(match.group(1)) < int(match.group(2)):
        raise ConfigError(f"{text!r} is not K/N with 0 <= K < N (e.g. 0/2)", field="--partition")
    return int(match.group(1)), int(match.group(2))


def _scenario(path: Path, args: argparse.Namespace) -> Scenario:
    data = read_yaml_file(path)
    if isinstance(data, dict) and "source" in data:  # a run's resolved scenario.json
        source = str(data.pop("source"))
        scenario = scenario_from_data(data, source=source)
    else:
        scenario = load_scenario(path)
    overrides = Overrides(target=args.target, allow_targets=tuple(args.allow_target))
    return resolve_scenario(scenario, overrides, field="--target")

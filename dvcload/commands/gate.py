"""``dvcload gate RUN [--baseline RUN] [--budgets FILE] [--allow-unreliable]``: pass or
fail a run on its budgets.

The budgets are the scenario's (from the run's manifest) with a ``--budgets`` file
merged over them, key by key. Writes ``gate.json``, ``junit.xml`` and ``gate.md`` into
the run folder and the verdict into its ``summary.json``. Exit code 0 when every
budget holds, 1 when one fails or the run is untrustworthy (its load generator was
saturated; ``--allow-unreliable`` gates it on its budgets anyway), 2 for bad input (no
such folder, a malformed budgets file, no budgets at all).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from dvcschema.budgets import BudgetSet, load_budgets_file
from dvcschema.errors import ConfigError

NAME = "gate"
HELP = "Check a run against its latency budgets (exit 0 pass, 1 fail), optionally vs a baseline."


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run_folder", metavar="RUN", type="path", help="a results folder")
    parser.add_argument(
        "--baseline", metavar="RUN", type="path", help="a results folder to compare with"
    )
    parser.add_argument(
        "--budgets",
        metavar="FILE",
        type="path",
        help="a budgets YAML file; its keys override the scenario's budgets",
    )
    parser.add_argument(
        "--allow-unreliable",
        action="store_true",
        help="gate a run whose load generator was saturated on its budgets alone "
        "(the generator check is listed as allowed)",
    )
    parser.add_argument("--quiet", action="store_true", help="print only the verdict line")


def run(args: argparse.Namespace) -> int:
    from analysis.gate import run_gate
    from analysis.runfolder import RunFolder
    from dvcschema.results import GATE_MD

    folder = RunFolder.open(args.run_folder)
    budgets = _budgets(folder.scenario_budgets(), args.budgets, audited="audit" in folder.summary)
    result = run_gate(
        folder.path, budgets, baseline=args.baseline, allow_unreliable=args.allow_unreliable
    )
    if not args.quiet:
        print((folder.path / GATE_MD).read_text(encoding="utf-8"))
    print(f"dvcload gate: {result.headline}", file=sys.stderr)
    return 0 if result.passed else 1


def _budgets(scenario: BudgetSet, path: Path | None, *, audited: bool) -> BudgetSet:
    """The budgets to check; none at all is bad input unless the run has an audit."""
    budgets = scenario if path is None else load_budgets_file(path).merged_over(scenario)
    if budgets.is_empty and not audited:
        raise ConfigError(
            "no budgets to check: the run's scenario has no 'budgets:' section and no "
            "--budgets FILE was given"
        )
    return budgets

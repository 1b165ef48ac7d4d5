"""``dvcload report RUN [--baseline RUN]``: write the run's self-contained ``report.html``."""

from __future__ import annotations

import argparse

NAME = "report"
HELP = "Write a run's self-contained HTML report (optionally compared with a baseline run)."


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run_folder", metavar="RUN", type="path", help="a results folder")
    parser.add_argument(
        "--baseline", metavar="RUN", type="path", help="a results folder to compare with"
    )


def run(args: argparse.Namespace) -> int:
    from analysis.report import write_report

    print(write_report(args.run_folder, baseline=args.baseline))
    return 0

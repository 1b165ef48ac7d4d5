"""``dvcload portal``: run the reference portal (see :mod:`portal.cli`)."""

from __future__ import annotations

import argparse

NAME = "portal"
HELP = "run the reference portal: a queueing system with known tiers, on 127.0.0.1"


def configure(parser: argparse.ArgumentParser) -> None:
    from portal.cli import add_arguments

    add_arguments(parser)


def run(args: argparse.Namespace) -> int:
    from portal.cli import run as run_portal

    return run_portal(args)

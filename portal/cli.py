"""The portal's command line, shared by ``python -m portal`` and ``dvcload portal``.

``add_arguments`` declares the options; ``run`` serves until SIGTERM/SIGINT and
raises :class:`~dvcschema.errors.DvcloadError` on bad input; ``main`` is the
stand-alone entry point that turns those errors into one line and an exit code (2 bad
input, 3 the portal could not run). Once the portal accepts connections, exactly one
line goes to stdout: ``dvcload portal listening on http://127.0.0.1:PORT``.
"""

from __future__ import annotations

import argparse
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path

from dvcschema.argtypes import ArgumentParser, register
from dvcschema.errors import ConfigError, DvcloadError, one_line

READY_PREFIX = "dvcload portal listening on "
EXIT_OK = 0
EXIT_BAD_INPUT = 2
EXIT_RUN_BROKE = 3


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the portal's options on ``parser``."""
    register(parser)
    parser.add_argument(
        "--config", type="path", metavar="FILE", help="portal YAML (default: configs/default.yaml)"
    )
    parser.add_argument(
        "--host", type="host_text", default="127.0.0.1", help="loopback address to listen on"
    )
    parser.add_argument(
        "--port", type="port_or_0", default=0, metavar="P", help="TCP port (0: ephemeral)"
    )
    parser.add_argument("--servers", type="servers", metavar="N", help="servers of the web tier")
    parser.add_argument(
        "--service-time-ms",
        type="service_time_ms",
        metavar="M",
        help="mean web service time of every endpoint, in ms (keeps each distribution family)",
    )
    parser.add_argument(
        "--access-log", type="file_to_write", metavar="FILE", help="write one JSON line per request"
    )
    parser.add_argument(
        "--database",
        type="file_to_write",
        metavar="FILE",
        help="SQLite file (default: a temporary file removed at exit)",
    )
    parser.add_argument(
        "--population",
        type="path",
        metavar="FILE",
        help="citizens (CSV or JSON Lines with cccd, full_name, vneid_level) allowed to log in",
    )
    parser.add_argument("--seed", type="seed", metavar="S", help="service-time sampling seed")
    parser.add_argument("--stop-on-stdin-close", action="store_true", help=argparse.SUPPRESS)


def run(args: argparse.Namespace) -> int:
    """Serve until stopped; return 0. Raises DvcloadError on bad input."""
    from portal.server import PortalOptions, serve

    options = PortalOptions(
        config=_text(args.config),
        host=args.host,
        port=args.port,
        servers=args.servers,
        service_time_ms=args.service_time_ms,
        access_log=_text(args.access_log),
        database=_text(args.database),
        population=_text(args.population),
        seed=args.seed,
        stop_on_stdin_close=args.stop_on_stdin_close,
    )
    serve(options, on_ready=_announce)
    return EXIT_OK


def _text(path: Path | None) -> str | None:
    return None if path is None else str(path)


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m portal``: serve, or print one error line and return 2 or 3."""
    parser = ArgumentParser(
        prog="python -m portal",
        description="The dvcload reference portal.",
        error_prefix="dvcload portal: error",
    )
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    add_arguments(parser)
    args = parser.parse_args(argv)
    try:
        return run(args)
    except KeyboardInterrupt:
        return EXIT_OK
    except DvcloadError as exc:
        if args.debug:
            traceback.print_exc()
        kind = "error" if isinstance(exc, ConfigError) else "run failed"
        print(one_line(f"dvcload portal: {kind}: {exc}"), file=sys.stderr)
        return EXIT_BAD_INPUT if isinstance(exc, ConfigError) else EXIT_RUN_BROKE


def _announce(url: str) -> None:
    print(f"{READY_PREFIX}{url}", flush=True)

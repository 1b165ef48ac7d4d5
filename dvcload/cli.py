"""The ``dvcload`` command: parse arguments, dispatch, map errors to exit codes.

Exit codes: 0 ok, 1 a budget or gate failed, 2 bad input, 3 the run itself broke.
Errors are one line of at most 300 characters on stderr (values in messages are
quoted by :func:`dvcschema.errors.shown`; :func:`~dvcschema.errors.one_line` is the
last guard); ``--debug`` shows the traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import traceback
from collections.abc import Sequence
from types import ModuleType

from dvcload import __version__
from dvcload.commands import COMMAND_MODULES
from dvcschema.argtypes import ArgumentParser
from dvcschema.errors import DvcloadError, RunError, one_line

EXIT_OK = 0
EXIT_GATE_FAILED = 1
EXIT_BAD_INPUT = 2
EXIT_RUN_BROKE = 3


def _load_commands(only: str | None = None) -> list[ModuleType]:
    """The command modules; just ``only`` when the command line names one (each module
    may import SciPy, Matplotlib or Locust: a command should pay only for its own)."""
    modules = []
    for name in [only] if only in COMMAND_MODULES else COMMAND_MODULES:
        try:
            modules.append(importlib.import_module(f"dvcload.commands.{name}"))
        except ModuleNotFoundError as exc:
            if exc.name != f"dvcload.commands.{name}":
                raise
    return modules


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    parser = ArgumentParser(
        prog="dvcload",
        description="Load testing and capacity planning for e-government portals.",
    )
    parser.add_argument("--version", action="version", version=f"dvcload {__version__}")
    parser.add_argument(
        "--debug", dest="debug_all", action="store_true", help="show tracebacks on errors"
    )
    subparsers = parser.add_subparsers(
        dest="command", metavar="COMMAND", parser_class=ArgumentParser
    )
    for module in _load_commands(only):
        sub = subparsers.add_parser(module.NAME, help=module.HELP, description=module.HELP)
        sub.add_argument("--debug", action="store_true", help="show tracebacks on errors")
        module.configure(sub)
        sub.set_defaults(_command=module)
    return parser


# Commands that run Locust: gevent must monkey-patch the process before anything else
# imports ssl, threading or subprocess (Locust itself does this at import).
GEVENT_COMMANDS = frozenset({"run", "worker", "check"})


def _command_name(argv: Sequence[str]) -> str | None:
    return next((a for a in argv if not a.startswith("-")), None)


def _patch_for_locust(argv: Sequence[str]) -> None:
    if _command_name(argv) in GEVENT_COMMANDS:
        from gevent import monkey

        monkey.patch_all()


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    _patch_for_locust(argv)
    parser = build_parser(_command_name(argv))
    args = parser.parse_args(argv)
    module = getattr(args, "_command", None)
    if module is None:
        parser.print_help(sys.stderr)
        return EXIT_BAD_INPUT
    try:
        return int(module.run(args))
    except KeyboardInterrupt:
        print("dvcload: interrupted", file=sys.stderr)
        return 130
    except RunError as exc:
        return _report(args, f"dvcload {args.command}: run failed: {exc}", EXIT_RUN_BROKE)
    except DvcloadError as exc:
        return _report(args, f"dvcload {args.command}: error: {exc}", EXIT_BAD_INPUT)
    except ValueError as exc:
        # models.ModelError derives from ValueError (models imports nothing of ours).
        from models.errors import ModelError

        if isinstance(exc, ModelError):
            return _report(args, f"dvcload {args.command}: error: {exc}", EXIT_BAD_INPUT)
        return _internal_error(args, exc)
    except Exception as exc:  # a bug: one line (the traceback with --debug), exit 3
        return _internal_error(args, exc)


def _internal_error(args: argparse.Namespace, exc: BaseException) -> int:
    # only a run has a run folder (the hint misled after 'gate' or 'plan' broke)
    measured = "; results measured so far are in the run folder" if args.command == "run" else ""
    return _report(
        args,
        f"dvcload {args.command}: internal error: {type(exc).__name__}: {str(exc)[:150]} "
        f"(rerun with --debug for the traceback{measured})",
        EXIT_RUN_BROKE,
    )


def _report(args: argparse.Namespace, line: str, code: int) -> int:
    if getattr(args, "debug", False) or getattr(args, "debug_all", False):
        traceback.print_exc()
    print(one_line(line), file=sys.stderr)
    return code

"""Running a command line in this process, as a process would see it.

Most commands need no gevent and no load: calling their ``main`` here saves the 1-2 s
start-up of ``python -m dvcload`` per case. What a separate process would show is kept:
the exit code (argparse's refusals exit by ``SystemExit``), stdout and stderr, the
working folder. What a separate process would not show is checked: a command that
leaves a logging handler, a signal handler, a working folder or an environment
variable behind in the process gets a line on stderr saying so, which fails the
callers' "one line, no traceback" checks. The real command line is still tested, once
per command, in subprocesses (``dvcload_cmd`` in ``tests/conftest.py``).
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import signal
import subprocess
from collections.abc import Callable, Sequence
from pathlib import Path

LEFT_BEHIND = "the command left state behind in the process"


def process_state() -> tuple[object, ...]:
    """What a command could leave behind in this process."""
    root = logging.getLogger()
    return (root.handlers[:], root.level, signal.getsignal(signal.SIGINT),
            signal.getsignal(signal.SIGTERM), os.getcwd(), dict(os.environ))  # fmt: skip


def run_main(
    argv: Sequence[str | Path],
    *,
    cwd: str | Path | None = None,
    main: Callable[[list[str]], int] | None = None,
) -> subprocess.CompletedProcess[str]:
    """``dvcload ARGV`` (or another ``main``) in this process, in ``cwd``: exit code,
    stdout and stderr."""
    if main is None:
        from dvcload.cli import main
    args = [str(a) for a in argv]
    before = process_state()
    out, err = io.StringIO(), io.StringIO()
    with contextlib.ExitStack() as stack:
        if cwd is not None:
            stack.enter_context(contextlib.chdir(cwd))
        stack.enter_context(contextlib.redirect_stdout(out))
        stack.enter_context(contextlib.redirect_stderr(err))
        try:
            code = main(args)
        except SystemExit as exc:  # argparse's refusals
            code = exc.code if isinstance(exc.code, int) else int(exc.code is not None)
    stderr = err.getvalue()
    if process_state() != before:
        stderr += LEFT_BEHIND + "\n"
    return subprocess.CompletedProcess(args, code, out.getvalue(), stderr)

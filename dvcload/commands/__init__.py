"""One module per subcommand.

Each module defines ``NAME``, ``HELP``, ``configure(parser)`` and ``run(args) -> int``.
``run`` returns an exit code (0 ok, 1 a budget or gate failed, 3 the run broke) and
raises :class:`dvcschema.DvcloadError` (or ``models.ModelError``) for bad input, which
the command line turns into one line and exit code 2. Heavy imports (Locust, which
monkey-patches the process with gevent) happen inside ``run``, never at import time.
"""

from __future__ import annotations

COMMAND_MODULES = (
    "run",
    "check",
    "worker",
    "portal",
    "population",
    "plan",
    "gate",
    "report",
    "calibrate",
    "validate",
    "derive",
)

"""The exception root of dvcload and its few subclasses.

Messages follow one shape: where (file, line, field), the value quoted with ``!r``,
and what is allowed. The command line prints ``str(error)`` on one line and exits 2.
"""

from __future__ import annotations


class DvcloadError(Exception):
    """Root of every error dvcload raises on purpose."""


class ConfigError(DvcloadError):
    """A configuration file or option is wrong (exit code 2)."""

    def __init__(
        self,
        message: str,
        *,
        source: str | None = None,
        line: int | None = None,
        field: str | None = None,
    ) -> None:
        self.message = message
        self.source = source
        self.line = line
        self.field = field
        super().__init__(self._render())

    def _render(self) -> str:
        where = ""
        if self.source is not None:
            where = self.source if self.line is None else f"{self.source}:{self.line}"
        parts = [p for p in (where, self.field) if p]
        prefix = ": ".join(parts)
        return f"{prefix}: {self.message}" if prefix else self.message


class ScenarioError(ConfigError):
    """A scenario file is wrong."""


class TargetError(ConfigError):
    """A target is not allowed (not HTTP, or not loopback without --allow-target)."""


class RunError(DvcloadError):
    """The run itself broke (exit code 3): the portal did not start, Locust failed."""

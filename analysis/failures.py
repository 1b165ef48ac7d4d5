"""Failures grouped by kind, from Locust's ``locust_failures.csv``.

Locust writes one row per (method, name, error text) with its occurrences. Error
texts differ by detail (a dossier code, a port), so the report groups them by kind:
``HTTP 503``, ``timeout``, ``connection error``, ``content check``, or the exception's
class, with the request names affected and one example text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from analysis.timeseries import csv_rows

_WRAPPED = re.compile(
    r"^(?P<cls>[A-Za-z_][\w.]*)\((?P<quote>['\"])(?P<inner>.*)(?P=quote)\)$", re.S
)
_HTTP = re.compile(r"\bHTTP\s*([1-5][0-9][0-9])\b|\b([1-5][0-9][0-9])\s+(?:Server|Client)\s+Error")
_PREFIXES = ("timeout", "connection error", "content check")


@dataclass(frozen=True)
class FailureKind:
    """All failures of one kind."""

    kind: str
    occurrences: int
    requests: tuple[str, ...]
    example: str


def failure_kind(error: str) -> str:
    """The kind of a Locust error text.

    >>> failure_kind("CatchResponseError('HTTP 503')")
    'HTTP 503'
    >>> failure_kind("CatchResponseError('timeout: ReadTimeout')")
    'timeout'
    >>> failure_kind("ConnectionRefusedError(111, 'Connection refused')")
    'ConnectionRefusedError'
    """
    text = error.strip()
    wrapped = _WRAPPED.match(text)
    inner = wrapped["inner"] if wrapped else text
    lowered = inner.lower()
    for prefix in _PREFIXES:
        if lowered.startswith(prefix):
            return prefix
    status = _HTTP.search(inner)
    if status:
        return f"HTTP {status[1] or status[2]}"
    head = re.match(r"[A-Za-z_][\w.]*(?=\()", text)
    if head:
        return head.group(0).rsplit(".", 1)[-1]
    return inner.split(":", 1)[0][:60] or "unknown"


def read_failures(path: Path) -> list[FailureKind]:
    """Failures grouped by kind, most frequent first (empty when there is no file)."""
    groups: dict[str, tuple[int, dict[str, None], str]] = {}
    for row in csv_rows(path):
        error = row.get("Error") or ""
        try:
            occurrences = int(row.get("Occurrences") or 0)
        except (TypeError, ValueError):
            occurrences = 0
        kind = failure_kind(error)
        total, names, example = groups.get(kind, (0, {}, error))
        names[f"{row.get('Method', '')} {row.get('Name', '')}".strip()] = None
        groups[kind] = (total + occurrences, names, example)
    kinds = [
        FailureKind(kind, total, tuple(names), example)
        for kind, (total, names, example) in groups.items()
    ]
    return sorted(kinds, key=lambda k: (-k.occurrences, k.kind))

"""Reading one results folder: its summary, manifest and histograms, checked on the way.

A results folder is what ``dvcload run`` writes (DESIGN.md). Reading it here, once,
means that the gate, the comparison and the report see the same numbers, and that a
folder that is missing or not a results folder is one clear :class:`ConfigError`
(exit code 2 at the command line), never a traceback. So is a damaged folder: every
file is a regular file read up to a size limit (:mod:`dvcschema.files`), parsed
strictly and checked against its shape (:mod:`analysis.runschema`), and a histogram
that does not decode names its file and key.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from analysis import runschema
from analysis.distribution import LatencyDistribution
from dvcschema import files
from dvcschema.budgets import BudgetSet, parse_budgets
from dvcschema.errors import ConfigError
from dvcschema.fields import Fields

SECTIONS = ("endpoints", "journeys", "services", "provinces")
MAX_JSON_BYTES = 256 * 1024 * 1024  # summary, manifest, histograms: a few MB in practice


@dataclass(frozen=True)
class RunFolder:
    """One run's results, read lazily from its folder."""

    path: Path
    summary: Mapping[str, Any]
    manifest: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def open(cls, path: str | Path) -> RunFolder:
        """Open a results folder; raises :class:`ConfigError` when it is not one."""
        folder = Path(path)
        if not folder.is_dir():
            raise ConfigError("no such results folder", source=str(folder))
        summary = read_json(folder / "summary.json", required=True, shape=runschema.SUMMARY)
        manifest = read_json(folder / "manifest.json", required=False, shape=runschema.MANIFEST)
        return cls(folder, summary, manifest)

    # -- figures -------------------------------------------------------------------
    @property
    def duration_s(self) -> float:
        return float(self.summary.get("duration_s") or 0.0)

    @property
    def partial(self) -> bool:
        return bool(self.summary.get("partial"))

    @property
    def name(self) -> str:
        return str(self.summary.get("scenario", self.path.name))

    @property
    def tags(self) -> dict[str, list[str]]:
        return {str(k): list(v) for k, v in (self.summary.get("tags") or {}).items()}

    @cached_property
    def histograms(self) -> Mapping[str, Any]:
        return read_json(self.path / "histograms.json", required=True, shape=runschema.HISTOGRAMS)

    def section(self, name: str) -> dict[str, LatencyDistribution]:
        """The decoded distributions of one section of ``histograms.json``."""
        entries = self.histograms.get(name) or {}
        source = str(self.path / "histograms.json")
        return {
            key: decoded(entry, source, runschema.joined(name, key))
            for key, entry in entries.items()
        }

    @cached_property
    def endpoints(self) -> dict[str, LatencyDistribution]:
        return self.section("endpoints")

    @cached_property
    def journeys(self) -> dict[str, LatencyDistribution]:
        return self.section("journeys")

    # -- budgets ---------------------------------------------------------------------
    def scenario_budgets(self) -> BudgetSet:
        """The budgets of the scenario as run (from the manifest), possibly empty."""
        scenario = self.manifest.get("scenario") or {}
        raw = scenario.get("budgets") if isinstance(scenario, Mapping) else None
        if not raw:
            return BudgetSet()
        source = str(self.path / "manifest.json")
        fields = Fields({"budgets": raw}, source=source)
        section = fields.section("budgets")
        assert section is not None
        return parse_budgets(section)


def read_json(
    path: Path, *, required: bool, shape: runschema.Shape | None = None
) -> dict[str, Any]:
    """A JSON object from a file, checked against ``shape``; a clear :class:`ConfigError`
    when missing (if ``required``), unreadable, not strict JSON or not of that shape."""
    if not files.exists(path):
        if not required:
            return {}
        raise ConfigError("missing: not a dvcload results folder", source=str(path))
    text = files.read_text(path, limit=MAX_JSON_BYTES)
    data = runschema.loads(text, source=str(path))
    runschema.check(data, shape or runschema.AnyObject(), source=str(path))
    return data  # check() made sure it is an object


def decoded(entry: Mapping[str, Any], source: str, where: str) -> LatencyDistribution:
    """One ``{"histogram": ..., "failures": n}`` entry (already of that shape), decoded."""
    try:
        return LatencyDistribution.from_encoded(entry["histogram"], int(entry.get("failures", 0)))
    except ValueError as exc:
        raise ConfigError(str(exc), source=source, field=where) from None


def write_json(path: Path, data: Any) -> None:
    """Write JSON atomically (UTF-8, indented), as the load generator does."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def write_text(path: Path, text: str) -> None:
    """Write text atomically."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)

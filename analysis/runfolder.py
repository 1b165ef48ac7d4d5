"""Reading one results folder: its summary, manifest and histograms, checked on the way.

A results folder is what ``dvcload run`` writes (DESIGN.md). Reading it here, once,
means that the gate, the comparison and the report see the same numbers, and that a
folder that is missing or not a results folder is one clear :class:`ConfigError`
(exit code 2 at the command line), never a traceback. So is a damaged folder: every
file is a regular file read up to a size limit (:mod:`dvcschema.files`), parsed
strictly and checked against its shape (:mod:`dvcschema.runschema`), and a histogram
that does not decode names its file and key.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from analysis.distribution import LatencyDistribution
from dvcschema import results, runschema
from dvcschema.budgets import BudgetSet, parse_budgets
from dvcschema.errors import ConfigError
from dvcschema.fields import Fields

SECTIONS = ("endpoints", "journeys", "services", "provinces")


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
        files = results.RunFiles(folder)
        return cls(folder, files.read_summary(), files.read_manifest())

    @classmethod
    def concluding(cls, path: str | Path, summary: results.Summary) -> RunFolder:
        """A folder whose run is being concluded: its summary is in hand, not yet on
        disk (a run shorter than one flush has none there yet)."""
        folder = Path(path)
        if not folder.is_dir():
            raise ConfigError("no such results folder", source=str(folder))
        return cls(folder, summary.as_dict(), results.RunFiles(folder).read_manifest())

    @cached_property
    def record(self) -> results.Summary:
        """The summary as its typed record."""
        return results.Summary.from_dict(self.summary)

    @property
    def files(self) -> results.RunFiles:
        return results.RunFiles(self.path)

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
        return self.files.read_json(results.HISTOGRAMS, required=True, shape=runschema.HISTOGRAMS)

    def section(self, name: str) -> dict[str, LatencyDistribution]:
        """The decoded distributions of one section of ``histograms.json``."""
        entries = self.histograms.get(name) or {}
        source = str(self.path / results.HISTOGRAMS)
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
        source = str(self.path / results.MANIFEST)
        fields = Fields({"budgets": raw}, source=source)
        section = fields.section("budgets")
        assert section is not None
        return parse_budgets(section)


def decoded(entry: Mapping[str, Any], source: str, where: str) -> LatencyDistribution:
    """One ``{"histogram": ..., "failures": n}`` entry (already of that shape), decoded."""
    try:
        return LatencyDistribution.from_encoded(entry["histogram"], int(entry.get("failures", 0)))
    except ValueError as exc:
        raise ConfigError(str(exc), source=source, field=where) from None

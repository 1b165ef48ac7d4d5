"""Synthetic results folders: the files ``dvcload run`` writes, from a latency model.

For tests, examples and the analysis benchmark. Each request name gets log-normal
latencies (a median and a shape), a failure share and a rate; values are drawn per
reporting interval and recorded with :func:`dvcschema.histograms.record_values`
(vectorised: no Python loop per value), so ten million requests take seconds. The
folder has the same files and formats as a real run: ``histograms.json``,
``histograms_intervals.jsonl``, ``summary.json``, ``manifest.json``,
``locust_stats_history.csv`` and ``locust_failures.csv``, named and written by
:mod:`dvcschema.results` from the same records a run writes (:class:`Summary`,
:class:`Manifest`, :class:`GeneratorHealth`). ``generator_cpu_percent`` sets the load
generator's CPU use; above 90% the summary marks it unreliable, as a run's does.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from hdrh.histogram import HdrHistogram

from analysis.summary import build_summary, section_figures
from dvcschema import results
from dvcschema.histograms import EndpointHistogram, encode, new_histogram, record_values
from dvcschema.results import GeneratorHealth, Manifest, RunFiles, Summary
from models._rng import RngLike, as_generator

T0_UNIX = 1_795_000_000.0


@dataclass(frozen=True)
class EndpointModel:
    """Log-normal latency (``median_ms``, ``sigma``), a failure share and a rate."""

    median_ms: float
    sigma: float = 0.6
    failure_ratio: float = 0.0
    rate_per_s: float = 10.0
    tags: tuple[str, ...] = ()


@dataclass(frozen=True)
class RunModel:
    """A whole synthetic run."""

    endpoints: Mapping[str, EndpointModel]
    journeys: Mapping[str, EndpointModel] = field(default_factory=dict)
    services: Mapping[str, EndpointModel] = field(default_factory=dict)
    provinces: Mapping[str, EndpointModel] = field(default_factory=dict)
    duration_s: float = 60.0
    interval_s: float = 5.0
    users: int = 20
    scenario: str = "synthetic"
    partial: bool = False
    slowdown: float = 1.0  # multiplies every latency (a slower portal)
    generator_cpu_percent: float = 10.0  # of one core; above 90 the generator was saturated
    extra: Mapping[str, Any] = field(default_factory=dict)


class _Section:
    """Cumulative histograms and failure counts of one section."""

    def __init__(self) -> None:
        self.histograms: dict[str, HdrHistogram] = {}
        self.failures: dict[str, int] = {}

    def add(self, key: str, interval: HdrHistogram, failures: int) -> None:
        total = self.histograms.setdefault(key, new_histogram())
        total.add(interval)
        self.failures[key] = self.failures.get(key, 0) + failures

    def entries(self) -> dict[str, EndpointHistogram]:
        return {
            k: EndpointHistogram(h, self.failures[k]) for k, h in sorted(self.histograms.items())
        }


def write_synthetic_run(folder: Path, model: RunModel, *, rng: RngLike = None) -> Path:
    """Write a results folder for ``model`` into ``folder`` (created); returns it."""
    generator = as_generator(rng)
    folder.mkdir(parents=True, exist_ok=True)
    sections = {name: _Section() for name in ("endpoints", "journeys", "services", "provinces")}
    n_intervals = max(math.ceil(model.duration_s / model.interval_s), 1)
    rows = (_interval(model, sections, i, generator) for i in range(n_intervals))
    results.write_jsonl(folder / results.INTERVALS, rows)
    _write_histograms(folder, sections)
    files = RunFiles(folder)
    files.write_summary(_summary(model, sections))
    files.write_manifest(_manifest(model))
    _write_users(folder / results.LOCUST_STATS_HISTORY, model)
    _write_failures(folder / results.LOCUST_FAILURES, sections["endpoints"])
    return folder


def _interval(
    model: RunModel, sections: dict[str, _Section], index: int, rng: np.random.Generator
) -> dict[str, Any]:
    t_start = T0_UNIX + index * model.interval_s
    width_s = min(model.interval_s, model.duration_s - index * model.interval_s)
    row: dict[str, Any] = {"t_start": t_start, "t_end": t_start + width_s}
    for name, models in (
        ("endpoints", model.endpoints),
        ("journeys", model.journeys),
        ("services", model.services),
        ("provinces", model.provinces),
    ):
        recorded = {}
        for key, spec in models.items():
            hist, failures = _draw(spec, width_s, model.slowdown, rng)
            if hist.get_total_count() == 0:
                continue
            sections[name].add(key, hist, failures)
            if name in ("endpoints", "journeys"):
                recorded[key] = {
                    "count": hist.get_total_count(),
                    "failures": failures,
                    "histogram": encode(hist),
                }
        if name in ("endpoints", "journeys"):
            row[name] = recorded
    return row


def _draw(
    spec: EndpointModel, width_s: float, slowdown: float, rng: np.random.Generator
) -> tuple[HdrHistogram, int]:
    count = int(rng.poisson(spec.rate_per_s * width_s))
    hist = new_histogram()
    if count == 0:
        return hist, 0
    values_ms = rng.lognormal(math.log(spec.median_ms * slowdown), spec.sigma, count)
    record_values(hist, values_ms * 1000.0)
    failures = int(rng.binomial(count, spec.failure_ratio)) if spec.failure_ratio else 0
    return hist, failures


def _write_histograms(folder: Path, sections: dict[str, _Section]) -> None:
    data: dict[str, Any] = {"unit": "microseconds", "significant_digits": 3}
    for name, section in sections.items():
        data[name] = {
            key: {
                "count": entry.count,
                "failures": entry.failures,
                "clamped": 0,
                "histogram": encode(entry.histogram),
            }
            for key, entry in section.entries().items()
        }
    results.write_json(folder / results.HISTOGRAMS, data)


def _summary(model: RunModel, sections: dict[str, _Section]) -> Summary:
    duration_s = model.duration_s
    tags: dict[str, list[str]] = {}
    for key, spec in model.endpoints.items():
        for tag in spec.tags:
            tags.setdefault(tag, []).append(key)
    extra: dict[str, Any] = {
        "journeys": section_figures(sections["journeys"].entries(), duration_s),
        "tags": tags,
        "breakdown": {
            "services": section_figures(sections["services"].entries(), duration_s),
            "provinces": section_figures(sections["provinces"].entries(), duration_s),
        },
        "partial": model.partial,
        "users": {"max": model.users},
        "generator": generator_summary(model.generator_cpu_percent, duration_s),
        **model.extra,
    }
    return build_summary(
        scenario=model.scenario,
        started_at=T0_UNIX,
        ended_at=T0_UNIX + duration_s,
        target="synthetic",
        endpoints=sections["endpoints"].entries(),
        extra=extra,
    )


def generator_summary(cpu_percent: float, duration_s: float) -> GeneratorHealth:
    """``summary.json``'s ``generator`` for a CPU use, as a run measures it."""
    return GeneratorHealth.measure(cpu_percent * duration_s / 100.0, duration_s)


def _manifest(model: RunModel) -> Manifest:
    return Manifest(
        scenario={"name": model.scenario, "source": "<synthetic>", "load": {"model": "closed"}},
        seed=0,
        target="synthetic",
        versions={"dvcload": "synthetic"},
        host={"hostname": "synthetic", "cpu_count": 1},
    )


def _write_users(path: Path, model: RunModel) -> None:
    seconds = np.arange(0, int(model.duration_s) + 1)
    ramp_s = max(model.duration_s / 10.0, 1.0)
    users = np.minimum(model.users, np.ceil(model.users * (seconds + 1) / ramp_s))
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["Timestamp", "User Count", "Type", "Name", "Requests/s", "Failures/s"])
        for t, u in zip(seconds, users, strict=True):
            writer.writerow([int(T0_UNIX + t), int(u), "", "Aggregated", "0", "0"])


def _write_failures(path: Path, endpoints: _Section) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["Method", "Name", "Error", "Occurrences"])
        for key, failures in sorted(endpoints.failures.items()):
            if failures:
                method, _, name = key.partition(" ")
                writer.writerow([method, name, "CatchResponseError('HTTP 503')", failures])

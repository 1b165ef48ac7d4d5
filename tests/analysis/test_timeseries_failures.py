"""Interval series, users over time and failure kinds read from a results folder."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from analysis.failures import failure_kind, read_failures
from analysis.runfolder import RunFolder
from analysis.timeseries import read_intervals, read_users


def test_interval_series_add_up_to_the_run(recorded_run: Path) -> None:
    run = RunFolder.open(recorded_run)
    series = read_intervals(recorded_run / "histograms_intervals.jsonl")
    assert len(series) == 6  # 30 s in 5 s intervals
    assert int(series.total.count.sum()) == run.summary["requests"]
    assert int(series.total.failures.sum()) == run.summary["failures"]
    for key, key_series in series.endpoints.items():
        assert int(key_series.count.sum()) == run.summary["endpoints"][key]["count"]
    assert np.all(series.p50_ms <= series.p95_ms) and np.all(series.p95_ms <= series.p99_ms)
    np.testing.assert_allclose(series.t_s, np.arange(1, 7) * 5.0)
    assert series.rps.mean() == pytest.approx(run.summary["rps"], rel=1e-9)


def test_missing_interval_file_gives_empty_series(tmp_path: Path) -> None:
    series = read_intervals(tmp_path / "absent.jsonl")
    assert len(series) == 0 and series.endpoints == {}


def test_users_come_from_the_aggregated_rows(recorded_run: Path) -> None:
    series = read_intervals(recorded_run / "histograms_intervals.jsonl")
    users = read_users(recorded_run / "locust_stats_history.csv", series.t0_unix)
    assert users.t_s[0] == 0.0 and users.users.max() == 20


@pytest.mark.parametrize(
    ("error", "kind"),
    [
        ("CatchResponseError('HTTP 503')", "HTTP 503"),
        ("CatchResponseError('timeout: ReadTimeout')", "timeout"),
        ("CatchResponseError('connection error: ConnectionError: refused')", "connection error"),
        ("CatchResponseError('content check: body lacks dossier_code')", "content check"),
        ("HTTPError('500 Server Error: Internal Server Error for url: /dossiers')", "HTTP 500"),
        ("ConnectionRefusedError(111, 'Connection refused')", "ConnectionRefusedError"),
    ],
)
def test_failure_kinds(error: str, kind: str) -> None:
    assert failure_kind(error) == kind


def test_failures_are_grouped_by_kind(tmp_path: Path) -> None:
    path = tmp_path / "locust_failures.csv"
    path.write_text(
        "Method,Name,Error,Occurrences\n"
        "POST,/dossiers,CatchResponseError('HTTP 503'),5\n"
        "GET,/services,CatchResponseError('HTTP 503'),2\n"
        "GET,/services,CatchResponseError('timeout: ReadTimeout'),9\n",
        encoding="utf-8",
    )
    kinds = read_failures(path)
    assert [(k.kind, k.occurrences) for k in kinds] == [("timeout", 9), ("HTTP 503", 7)]
    assert kinds[1].requests == ("POST /dossiers", "GET /services")

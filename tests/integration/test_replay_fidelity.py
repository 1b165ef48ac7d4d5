"""Replay fidelity, checked from the target's own access log, not from dvcload's counters.

A recorded half hour (generated here, deterministic: known GETs per minute, POSTs and
OPTIONS among them, 12-digit ID numbers in paths and query strings) is replayed at
``speed: 60`` (a recorded minute per run second) and ``scale: 2`` against the embedded
reference portal. The portal must see, in each run second, twice the recorded minute's
GETs; the other methods are skipped and counted; and no ID number of the recorded log
may reach the portal or any file of the results folder.
"""

from __future__ import annotations

import datetime as dt
import json
import random
import re
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from loadgen.population import generate_population

pytestmark = pytest.mark.integration
SEED, POPULATION = 5, 3000
SPEED, SCALE = 60, 2
MINUTES = 30  # recorded, so a 30 s run
HOUR_START = dt.datetime(2025, 3, 31, 8, 0, 0)
DIGIT_RUNS = re.compile(rb"[0-9]{12,}")
TWELVE = re.compile(r"(?<![0-9])[0-9]{12}(?![0-9])")

SCENARIO = """\
name: replay-fidelity
seed: {seed}
target: embedded
portal: {{config: CONFIGS/fast.yaml}}
population: {{size: {population}}}
load:
  model: replay
  log: {log}
  speed: {speed}
  scale: {scale}
  max_concurrency: 100
budgets:
  "GET /services": [p95 < 2s]
"""


def gets_in_minute(m: int) -> int:
    """The recorded GETs of minute ``m``: 20 to 50, varying from minute to minute."""
    return 20 + (m * 17) % 31


def recorded_log(path: Path) -> dict[str, Any]:
    """Write the recorded half hour as a combined log; what it holds, by construction."""
    rng = random.Random(2025)
    people = [f"999{rng.randrange(10**9):09d}" for _ in range(400)]  # never a real code: 999
    clients = [(f"203.0.113.{i % 200}", f"Mozilla/5.0 (client {i % 3})") for i in range(600)]
    gets, others = [0] * MINUTES, Counter[str]()
    rows: list[tuple[int, str, str, tuple[str, str]]] = []
    for m in range(MINUTES):
        for k in range(gets_in_minute(m)):
            second = 0 if (m, k) == (0, 0) else rng.randrange(60)  # the log starts at 08:00:00
            rows.append((m * 60 + second, "GET", _get_path(rng, people), rng.choice(clients)))
            gets[m] += 1
        for method, target in [("POST", "/auth/login"), ("POST", "/dossiers")] * (1 + m % 3):
            rows.append((m * 60 + rng.randrange(60), method, target, rng.choice(clients)))
            others[method] += 1
        if m % 10 == 5:
            rows.append((m * 60 + 30, "OPTIONS", "/services", rng.choice(clients)))
            others["OPTIONS"] += 1
    rows.sort(key=lambda r: r[0])
    lines = [_line(*row) for row in rows]
    lines.insert(100, f"garbage: the portal was slow for {people[0]}\n")  # unparsed, masked
    lines.insert(1000, "\x00\x01 binary noise\n")
    path.write_text("".join(lines), encoding="utf-8")
    ids_in_gets = {n for r in rows if r[1] == "GET" for n in TWELVE.findall(r[2])}
    return {"gets": gets, "others": dict(others), "people": set(people), "ids": ids_in_gets}


def _get_path(rng: random.Random, people: list[str]) -> str:
    person, other = rng.choice(people), rng.choice(people)
    day = f"250331-{rng.randrange(10000):04d}"
    return rng.choice(
        [
            "/services",
            f"/services/{rng.choice(['passport', 'tax-settlement', 'birth-registration-bundle'])}"
            "/form",
            f"/dossiers/000.00.15.H01-{day}?cccd={person}",
            f"/dossiers/{person}?cccd={other}&page=1",
        ]
    )


def _line(second: int, method: str, path: str, client: tuple[str, str]) -> str:
    t = HOUR_START + dt.timedelta(seconds=second)
    ip, agent = client
    return (
        f'{ip} - - [{t:%d/%b/%Y:%H:%M:%S} +0700] "{method} {path} HTTP/1.1" 200 512 '
        f'"https://dichvucong.example/" "{agent}" 0.0{second % 90 + 10}\n'
    )


def test_a_recorded_half_hour_replays_at_speed_60_and_scale_2_as_the_portal_sees_it(
    tmp_path: Path, run_scenario: Callable[..., Any]
) -> None:
    log = tmp_path / "access.log"
    truth = recorded_log(log)
    run = run_scenario(
        SCENARIO.format(seed=SEED, population=POPULATION, log=log, speed=SPEED, scale=SCALE),
        timeout_s=300,
    )
    summary, replay, arrivals = run.summary, run.summary["replay"], run.summary["arrivals"]
    recorded_gets = sum(truth["gets"])

    # -- dvcload's own account: what it read, skipped and scheduled
    assert replay["recorded"] == recorded_gets + sum(truth["others"].values())
    assert replay["skipped_by_method"] == truth["others"]  # POST and OPTIONS, by method
    assert replay["scheduled"] == SCALE * recorded_gets and replay["cut_at_end"] == 0
    assert replay["unparsed"] == 2 and replay["sessions_by_copy"][0] == replay["sessions"]
    assert arrivals["model"] == "replay" and arrivals["dropped"] == 0
    assert arrivals["started"] == arrivals["offered"] == replay["scheduled"]
    assert arrivals["late"] <= 0.05 * arrivals["started"]  # reported, and few

    # -- the portal's own account: every second, twice the recorded minute
    started_at = dt.datetime.fromisoformat(summary["started_at"]).timestamp()
    seen = [r for r in run.access_log() if r["method"] == "GET" and r["endpoint"] != "/health"]
    assert len(seen) == SCALE * recorded_gets  # every request sent, none twice
    # Recorded second s of minute m is sent at run time m + s/60; the bins' edges sit
    # half a recorded second before each run second, as far as possible from any send
    # time, so that only the copies' jitter (uniform under one recorded second) and
    # dispatch and network delays move a request into a neighbouring second.
    t = np.array([r["t_arrival"] for r in seen]) - started_at
    second = np.clip(np.floor(t + 0.5 / SPEED), 0, MINUTES - 1).astype(int)
    observed = np.bincount(second, minlength=MINUTES)
    expected = SCALE * np.array(truth["gets"])
    # Standard error of each count: Poisson's, sqrt(expected). That is conservative
    # here: with a whole scale every session is copied exactly once, so a count's only
    # variation is the requests the jitter and the delays carry across its edges.
    se = np.sqrt(expected)
    z = (observed - expected) / se
    print(
        f"\nreplay fidelity: {len(seen)} GETs at the portal, {SCALE * recorded_gets} expected; "
        f"per second {observed.min()}-{observed.max()} (expected {expected.min()}-"
        f"{expected.max()}); max |deviation| {np.abs(z).max():.2f} SE at second "
        f"{int(np.abs(z).argmax())}; mean |deviation| {np.abs(z).mean():.2f} SE; "
        f"late {arrivals['late']}, dropped {arrivals['dropped']}"
    )
    assert np.all(np.abs(z) < 3), list(zip(observed.tolist(), expected.tolist(), strict=True))

    # -- ID numbers: synthetic citizens' reached the portal, consistently, real ones never
    targets = [r["target"] for r in seen]
    synthetic = {n for target in targets for n in TWELVE.findall(target)}
    citizens = set(generate_population(POPULATION, seed=SEED).column("cccd"))
    assert synthetic <= citizens
    assert len(synthetic) == SCALE * len(truth["ids"])  # one per real number and copy
    real = truth["people"]
    leaks = {
        file.name
        for file in run.folder.rglob("*")
        if file.is_file() and _holds_any(file.read_bytes(), real)
    }
    assert not leaks, f"real ID numbers written to {sorted(leaks)}"
    assert not any(_holds_any(t.encode(), real) for t in targets)

    # -- results, gate and report as for any run
    assert set(summary["endpoints"]) == {
        "GET /services",
        "GET /services/passport/form",
        "GET /services/tax-settlement/form",
        "GET /services/birth-registration-bundle/form",
        "GET /dossiers/[code]",
        "GET /dossiers/[cccd]",
    }
    assert summary["gate"]["passed"] is True
    for name in ("gate.json", "gate.md", "junit.xml", "report.html", "histograms.json"):
        assert (run.folder / name).is_file(), name
    report = (run.folder / "report.html").read_text(encoding="utf-8")
    assert "replayed requests" in report and "POST" in report
    gate = json.loads((run.folder / "gate.json").read_text(encoding="utf-8"))
    assert gate["passed"] is True


def _holds_any(data: bytes, numbers: set[str]) -> bool:
    """Whether any of ``numbers`` occurs in ``data``, inside longer digit runs too."""
    for match in DIGIT_RUNS.finditer(data):
        run = match.group().decode("ascii")
        if any(run[i : i + 12] in numbers for i in range(len(run) - 11)):
            return True
    return False

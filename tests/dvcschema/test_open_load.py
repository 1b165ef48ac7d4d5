"""The open model in scenario files, and its overrides."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from dvcschema.errors import ConfigError, ScenarioError
from dvcschema.load import ClosedLoad, OpenLoad
from dvcschema.scenario import load_scenario, scenario_from_data
from dvcschema.settings import Overrides, apply_settings

OPEN = """\
name: open
load:
  model: open
  max_concurrency: 50
  rate:
    stages: [{duration: 10s, rate: 20}, {duration: 5s, rate: 100, step: true}]
  think_time: {high: 1s, medium: {min: 1s, max: 2s}, low: 5s}
  patience: 10s
  retries: {max: 2, backoff: 200ms}
"""


def _load(text: str, tmp_path: Path) -> object:
    path = tmp_path / "s.yaml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return load_scenario(path)


def test_open_scenario_takes_its_duration_from_the_profile(tmp_path: Path) -> None:
    s = _load(OPEN, tmp_path)
    assert isinstance(s.load, OpenLoad)
    assert s.duration_s == 15.0
    assert s.load.max_concurrency == 50
    assert s.load.behaviour.think_time["low"].min_s == 5.0
    assert s.load.behaviour.think_time["medium"].max_s == 2.0
    assert s.load.behaviour.patience_s == {"high": 10.0, "medium": 10.0, "low": 10.0}
    assert s.load.behaviour.retries.max_retries == 2


def test_open_scenario_round_trips(tmp_path: Path) -> None:
    s = _load(OPEN, tmp_path)
    data = s.as_dict()
    source = data.pop("source")
    again = scenario_from_data(data, source=source)
    assert again.as_dict() == {**data, "source": source}


def test_shipped_deadline_surge_is_valid(repo: Path) -> None:
    s = load_scenario(repo / "scenarios" / "deadline-surge.yaml")
    assert isinstance(s.load, OpenLoad)
    assert s.duration_s == pytest.approx(10 * 3600 / 300)


@pytest.mark.parametrize(
    ("rate", "fragment"),
    [
        ("{constant: 5, stages: [{duration: 1s, rate: 1}]}", "exactly one of"),
        ("{}", "exactly one of"),
        ("{constant: 0}", "rate is 0"),
        ("{constant: -3}", "out of range"),
        ("{constant: 5, speed: 0}", "out of range"),
        ("{csv: {file: nope.csv}}", "no such file"),
        ("{diurnal: {peak: 1, trough: 5}}", "above peak"),
        ("{stages: [{duration: 5, rate: 1}]}", "with a unit"),
    ],
)
def test_bad_rate_sections_are_one_line(tmp_path: Path, rate: str, fragment: str) -> None:
    text = f"name: x\nduration: 10s\nload: {{model: open, max_concurrency: 5, rate: {rate}}}\n"
    with pytest.raises(ConfigError, match=fragment) as info:
        _load(text, tmp_path)
    assert "\n" not in str(info.value)


def test_missing_max_concurrency_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="max_concurrency"):
        _load("name: x\nduration: 5s\nload: {model: open, rate: {constant: 5}}\n", tmp_path)


def test_arrival_rate_override_replaces_the_profile(tmp_path: Path) -> None:
    s = _load(OPEN, tmp_path)
    out = apply_settings(s, Overrides(arrival_rate="75", duration="12s"), {})
    assert isinstance(out.load, OpenLoad)
    assert out.load.profile.rate_at(5.0) == 75.0 and out.duration_s == 12.0


def test_overrides_refuse_the_wrong_model(tmp_path: Path) -> None:
    s = _load(OPEN, tmp_path)
    with pytest.raises(ScenarioError, match="closed model"):
        apply_settings(s, Overrides(users="5"), {})
    closed = _load("name: c\nduration: 5s\nload: {users: 2}\n", tmp_path)
    assert isinstance(closed.load, ClosedLoad)
    with pytest.raises(ScenarioError, match="open model"):
        apply_settings(closed, Overrides(arrival_rate="5"), {})

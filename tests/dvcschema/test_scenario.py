"""The scenario schema: valid files load; every kind of mistake is one located error."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from dvcschema.errors import ConfigError, ScenarioError
from dvcschema.load import Stage
from dvcschema.scenario import load_scenario, scenario_from_data
from dvcschema.yamlio import parse_yaml

VALID = """\
name: demo
seed: 7
target: embedded
duration: 30s
population: {size: 100}
load:
  users: 5
  spawn_rate: 5
  think_time: {min: 1s, max: 2s}
mix:
  journeys: {filing: 2, payment: 1, status: 1}
  services: {passport: 1, tax-settlement: 3}
"""


def _load(text: str, tmp_path: Path) -> object:
    path = tmp_path / "s.yaml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return load_scenario(path)


def test_valid_scenario_loads_with_units_converted(tmp_path: Path) -> None:
    s = _load(VALID, tmp_path)
    assert s.name == "demo"
    assert s.duration_s == 30.0
    assert s.load.users == 5
    assert s.load.think_time.min_s == 1.0 and s.load.think_time.max_s == 2.0
    assert s.mix.journeys == {"filing": 2, "payment": 1, "status": 1}
    assert s.target.embedded


@pytest.mark.parametrize("name", ["smoke.yaml", "tax-deadline-closed.yaml"])
def test_shipped_scenarios_are_valid(repo: Path, name: str) -> None:
    s = load_scenario(repo / "scenarios" / name)
    assert s.duration_s > 0
    assert sum(s.mix.journeys.values()) > 0


def test_smoke_scenario_is_at_most_45_seconds(repo: Path) -> None:
    assert load_scenario(repo / "scenarios" / "smoke.yaml").duration_s <= 45


def test_stage_durations_are_lengths_not_end_times(tmp_path: Path) -> None:
    s = _load(
        """\
        name: staged
        load:
          stages:
            - {duration: 10s, target: 5}
            - {duration: 20s, target: 10}
        """,
        tmp_path,
    )
    assert s.duration_s == 30.0
    assert s.load.users == 10
    assert s.load.schedule(s.duration_s) == (Stage(10.0, 5), Stage(20.0, 10))


def test_closed_load_without_stages_ramps_then_holds() -> None:
    s = scenario_from_data(
        parse_yaml("name: x\nduration: 60s\nload: {users: 20, spawn_rate: 2}\n", "m"), source="m"
    )
    assert s.load.schedule(60.0) == (Stage(10.0, 20), Stage(50.0, 20))


# Each case: (what is wrong, the YAML, a fragment the one-line message must contain, line).
MALFORMED = [
    ("unknown key", VALID + "colour: blue\n", "unknown key 'colour'", 13),
    ("duplicate key", VALID + "seed: 8\n", "duplicate key 'seed'", 13),
    ("missing unit", VALID.replace("duration: 30s", "duration: 30"), "with a unit", 4),
    ("bad unit", VALID.replace("duration: 30s", "duration: 30 parsecs"), "with a unit", 4),
    ("negative users", VALID.replace("users: 5", "users: -5"), "out of range", 7),
    ("wrong type", VALID.replace("users: 5", "users: five"), "not a whole number", 7),
    ("float users", VALID.replace("users: 5", "users: 5.5"), "not a whole number", 7),
    (
        "non-HTTP target",
        VALID.replace("target: embedded", "target: ftp://127.0.0.1/"),
        "not an HTTP target",
        3,
    ),
    (
        "python tag",
        VALID.replace("seed: 7", "seed: !!python/object/apply:os.system [ls]"),
        "not allowed",
        2,
    ),
    (
        "unknown journey",
        VALID.replace("status: 1}", "status: 1, shopping: 2}"),
        "unknown journey 'shopping'",
        11,
    ),
    (
        "zero weights",
        VALID.replace("{filing: 2, payment: 1, status: 1}", "{filing: 0, payment: 0}"),
        "add up to 0",
        11,
    ),
    ("think max < min", VALID.replace("{min: 1s, max: 2s}", "{min: 3s, max: 2s}"), "below min", 9),
    ("bad name", VALID.replace("name: demo", "name: Demo Scenario!"), "does not match", 1),
    ("not a mapping", "- just\n- a list\n", "expected a mapping", 1),
    ("invalid YAML", VALID + "load: [unclosed\n", "invalid YAML", 14),
    (
        "duration longer than stages",
        VALID.replace("  users: 5\n", "  stages: [{duration: 20s, target: 5}]\n"),
        "stages last 20s",
        4,
    ),
    ("negative population", VALID.replace("size: 100", "size: 0"), "out of range", 5),
    ("bad service code", VALID.replace("passport: 1", "Pass Port: 1"), "service code", 12),
    ("boolean seed", VALID.replace("seed: 7", "seed: true"), "not a whole number", 2),
    (
        "portal section with URL target",
        VALID.replace("target: embedded", "target: http://127.0.0.1:9") + "portal: {servers: 2}\n",
        "only applies to target: embedded",
        13,
    ),
]


@pytest.mark.parametrize(
    ("case", "text", "fragment", "line"), MALFORMED, ids=[c[0] for c in MALFORMED]
)
def test_malformed_scenario_is_one_located_line(
    tmp_path: Path, case: str, text: str, fragment: str, line: int
) -> None:
    with pytest.raises(ConfigError) as info:
        _load(text, tmp_path)
    message = str(info.value)
    assert "\n" not in message, case
    assert fragment in message, message
    assert message.startswith(f"{tmp_path / 's.yaml'}:{line}:"), message


def test_scenario_errors_are_scenario_errors(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError):
        _load(VALID.replace("users: 5", "users: 0"), tmp_path)


def test_missing_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such file"):
        load_scenario(tmp_path / "nope.yaml")


def test_empty_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="empty"):
        _load("", tmp_path)


def test_binary_file_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(ConfigError, match="UTF-8"):
        load_scenario(path)


def test_as_dict_round_trips_through_the_schema(tmp_path: Path) -> None:
    s = _load(VALID, tmp_path)
    data = s.as_dict()
    data.pop("source")
    again = scenario_from_data(data, source="roundtrip")
    assert again.as_dict() | {"source": s.source} == s.as_dict()

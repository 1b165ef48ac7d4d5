"""Portal configuration: shipped files, precedence of overrides, and one-line errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from dvcschema.errors import ConfigError
from portal.config import (
    DEFAULT_CONFIG_PATH,
    DEFAULT_ENDPOINT,
    ServiceTime,
    load_config,
    resolve_config,
)
from portal.endpoints import ENDPOINTS

MM4 = DEFAULT_CONFIG_PATH.parent / "mm4.yaml"


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "portal.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_default_config_configures_every_endpoint_with_web_first() -> None:
    config = resolve_config()
    assert config.source == str(DEFAULT_CONFIG_PATH)
    assert set(config.tiers) == {"web", "db", "payment"}
    assert config.tiers["db"].servers == 1
    assert set(config.endpoints) == set(ENDPOINTS)
    for profile in config.endpoints.values():
        assert profile.tiers[0] == "web"
    confirm = config.profile_for("POST /paygov/confirm")
    assert confirm.tiers == ("web", "payment", "db")
    assert dict(confirm.visits)["payment"] == ServiceTime("lognormal", 40.0, 0.5)


def test_mm4_config_is_one_tier_of_four_exponential_50ms_servers() -> None:
    config = load_config(MM4)
    assert list(config.tiers) == ["web"]
    assert config.tiers["web"].servers == 4
    for key in ENDPOINTS:
        assert config.profile_for(key).visits == (("web", ServiceTime("exponential", 50.0)),)
    distribution = config.default_endpoint.visits[0][1].distribution_s()
    assert distribution.mean == pytest.approx(0.05)
    assert distribution.cv == 1.0


def test_command_line_overrides_file_which_overrides_defaults(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "seed: 3\n"
        "tiers:\n  web: {servers: 2, queue_limit: 10}\n"
        "endpoints:\n"
        '  "GET /services": {web: {dist: lognormal, mean_ms: 10, cv: 0.5}}\n',
    )
    from_file = resolve_config(path)
    assert (from_file.seed, from_file.tiers["web"].servers) == (3, 2)
    assert from_file.retry_after_s == 1  # built-in default
    assert from_file.profile_for("POST /dossiers") == DEFAULT_ENDPOINT
    overridden = resolve_config(path, servers=6, service_time_ms=25, seed=9)
    assert (overridden.seed, overridden.tiers["web"].servers) == (9, 6)
    assert overridden.tiers["web"].queue_limit == 10
    web = dict(overridden.profile_for("GET /services").visits)["web"]
    assert web == ServiceTime("lognormal", 25.0, 0.5)  # family and cv kept
    assert dict(overridden.default_endpoint.visits)["web"] == ServiceTime("exponential", 25.0)


def test_service_time_override_leaves_other_tiers_alone() -> None:
    config = resolve_config(service_time_ms=7)
    confirm = dict(config.profile_for("POST /paygov/confirm").visits)
    assert confirm["web"].mean_ms == 7
    assert confirm["payment"].mean_ms == 40


@pytest.mark.parametrize(
    ("text", "line", "needle"),
    [
        ("seed: 1\nbogus: 2\n", 2, "unknown key 'bogus'"),
        ("seed: 1\nseed: 2\n", 2, "duplicate key 'seed'"),
        ("tiers:\n  web: {servers: 0, queue_limit: 1}\n", 2, "out of range"),
        ("tiers:\n  web: {servers: true, queue_limit: 1}\n", 2, "not a whole number"),
        ("tiers:\n  web: {servers: 2, queue_limit: -1}\n", 2, "out of range"),
        ("tiers:\n  web: {servers: 2}\n", 2, "'tiers.web.queue_limit' is missing"),
        ("tiers:\n  cache: {servers: 2, queue_limit: 1}\n", 2, "unknown tier 'cache'"),
        ("tiers:\n  db: {servers: 2, queue_limit: 1}\n", 2, "'web' tier is required"),
        ("retry_after_s: 0\n", 1, "out of range"),
        (
            'endpoints:\n  "GET /nowhere": {web: {dist: exponential, mean_ms: 1}}\n',
            2,
            "unknown endpoint 'GET /nowhere'",
        ),
        (
            'endpoints:\n  "GET /services":\n    web: {dist: gamma, mean_ms: 1}\n',
            3,
            "options are exponential, lognormal, deterministic",
        ),
        (
            'endpoints:\n  "GET /services":\n    web: {dist: lognormal, mean_ms: 5}\n',
            3,
            "lognormal needs a cv",
        ),
        (
            'endpoints:\n  "GET /services":\n    web: {dist: exponential, mean_ms: 5, cv: 2}\n',
            3,
            "exponential has cv 1",
        ),
        (
            'endpoints:\n  "GET /services":\n    web: {dist: exponential, mean_ms: 0}\n',
            3,
            "mean must be a finite number > 0",
        ),
        (
            'endpoints:\n  "GET /services":\n    web: {dist: exponential, mean_ms: "5ms"}\n',
            3,
            "not a number",
        ),
        (
            'endpoints:\n  "POST /dossiers":\n    db: {dist: deterministic, mean_ms: 1}\n'
            "    web: {dist: exponential, mean_ms: 1}\n",
            3,
            "comes before 'web'",
        ),
        (
            "tiers:\n  web: {servers: 1, queue_limit: 1}\n"
            'endpoints:\n  "POST /dossiers":\n    web: {dist: exponential, mean_ms: 1}\n'
            "    db: {dist: deterministic, mean_ms: 1}\n",
            6,
            "tier 'db' is not defined",
        ),
        ("default_endpoint: {}\n", 1, "at least 'web' is required"),
        ("seed: [1\n", 2, "invalid YAML"),
        ("- 1\n- 2\n", 1, "expected a mapping"),
        ("seed: !!python/object:os.system 1\n", 1, "not allowed"),
    ],
)
def test_config_errors_are_one_located_line(
    tmp_path: Path, text: str, line: int, needle: str
) -> None:
    path = _write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(f"{path}:{line}:"), message
    assert needle in message


@pytest.mark.parametrize(
    ("overrides", "needle"),
    [
        ({"servers": 0}, "--servers: 0 is out of range"),
        ({"service_time_ms": -1}, "--service-time-ms: -1 is out of range"),
        ({"service_time_ms": 0}, "--service-time-ms: mean must be a finite number > 0"),
        ({"seed": -5}, "--seed: -5 is out of range"),
    ],
)
def test_bad_command_line_overrides_are_config_errors(overrides: dict, needle: str) -> None:
    with pytest.raises(ConfigError, match="^" + needle.replace("+", r"\+")):
        resolve_config(**overrides)


def test_missing_config_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such file"):
        resolve_config(tmp_path / "absent.yaml")

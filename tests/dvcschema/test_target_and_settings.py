"""Targets (loopback rule) and the precedence of settings."""

from __future__ import annotations

import pytest

from dvcschema.errors import ScenarioError
from dvcschema.scenario import scenario_from_data
from dvcschema.settings import Overrides, apply_settings
from dvcschema.target import Target, is_loopback_host, parse_target, refusal_reason
from dvcschema.yamlio import parse_yaml

BASE = parse_yaml(
    "name: t\nseed: 1\nduration: 30s\n"
    "load: {stages: [{duration: 20s, target: 4}, {duration: 10s, target: 8}]}\n",
    "t.yaml",
)


def _scenario() -> object:
    return scenario_from_data(BASE, source="t.yaml")


@pytest.mark.parametrize(
    "host", ["127.0.0.1", "127.1.2.3", "localhost", "LOCALHOST", "::1", "[::1]"]
)
def test_loopback_hosts_are_recognised(host: str) -> None:
    assert is_loopback_host(host)


@pytest.mark.parametrize(
    "host",
    [
        "10.0.0.1",
        "192.168.1.10",
        "172.16.0.1",
        "8.8.8.8",
        "dichvucong.gov.vn",
        "localhost.evil.com",
        "127.0.0.1.nip.io",
        "0.0.0.0",
        "::",
        "localhost.",  # a resolver answers for it, not its text
        "127.0.0.1.",
        "ip6-localhost",
        "localhost.localdomain",
    ],
)
def test_other_hosts_are_not_loopback(host: str) -> None:
    assert not is_loopback_host(host)


def test_non_loopback_target_is_refused_unless_allowed() -> None:
    target = parse_target("https://dichvucong.gov.vn")
    assert "loopback" in (refusal_reason(target, frozenset()) or "")
    assert refusal_reason(target, frozenset({"dichvucong.gov.vn"})) is None
    assert refusal_reason(Target(url=None), frozenset()) is None


@pytest.mark.parametrize(
    "value",
    [
        "ftp://127.0.0.1",
        "127.0.0.1:8080",
        "http://",
        "http://127.0.0.1:99999",
        "http://user:pw@127.0.0.1",
        8080,
        None,
    ],
)
def test_bad_targets_are_refused(value: object) -> None:
    with pytest.raises(ValueError):
        parse_target(value)


def test_command_line_beats_environment_beats_file() -> None:
    s = _scenario()
    env = {"DVCLOAD_SEED": "5", "DVCLOAD_USERS": "3"}
    out = apply_settings(s, Overrides(seed="9"), env)
    assert out.seed == 9  # command line wins over environment
    assert out.load.users == 3 and out.load.stages == ()  # environment wins over file
    assert apply_settings(s, Overrides(), {}).seed == 1  # file wins over defaults


def test_duration_override_cuts_the_stages() -> None:
    out = apply_settings(_scenario(), Overrides(duration="25s"), {})
    assert out.duration_s == 25.0
    assert [st.duration_s for st in out.load.stages] == [20.0, 5.0]


def test_bad_override_names_its_origin() -> None:
    with pytest.raises(ScenarioError, match="DVCLOAD_USERS"):
        apply_settings(_scenario(), Overrides(), {"DVCLOAD_USERS": "many"})
    with pytest.raises(ScenarioError, match="--duration"):
        apply_settings(_scenario(), Overrides(duration="soon"), {})


def test_allow_targets_from_command_line_and_environment_add_up() -> None:
    out = apply_settings(
        _scenario(),
        Overrides(allow_targets=("Staging.Local",)),
        {"DVCLOAD_ALLOW_TARGETS": "a.test,b.test"},
    )
    assert out.allow_targets == frozenset({"staging.local", "a.test", "b.test"})

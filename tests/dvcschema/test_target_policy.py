"""The target policy: loopback judged by text, names refused unless allowed, allowed
names resolved once and pinned, host syntax checked before anything else."""

from __future__ import annotations

import pytest

from dvcschema.errors import ScenarioError, TargetError
from dvcschema.scenario import scenario_from_data, target_policy
from dvcschema.settings import Overrides, apply_settings
from dvcschema.target import (
    LOCALHOST_PINS,
    TargetPolicy,
    describe_pins,
    parse_host,
    parse_target,
    pin_hosts,
    refusal_reason,
)
from dvcschema.yamlio import parse_yaml

# Names a resolver could map anywhere: each passed the old text check.
RESOLVED_NAMES = ["127.0.0.1.", "localhost.", "ip6-localhost", "localhost.localdomain"]


@pytest.mark.parametrize("name", RESOLVED_NAMES)
def test_names_that_a_resolver_would_answer_are_refused_unless_allowed(name: str) -> None:
    target = parse_target(f"http://{name}:8080") if name[-1] != "." else None
    policy = TargetPolicy()
    if target is None:  # a trailing dot is not even a valid target
        with pytest.raises(ValueError, match="not a valid host name"):
            parse_target(f"http://{name}:8080")
        assert policy.refusal("http", name, 8080) is not None
        return
    assert "loopback" in (refusal_reason(target, frozenset()) or "")
    assert "loopback" in (policy.refusal("http", name, 8080) or "")


@pytest.mark.parametrize(
    "url",
    ["http://LOCALHOST..:9", "http://a..b:1", "http://-x.vn", "http://xn--.vn", "http://é.vn"],
)
def test_invalid_host_names_are_not_targets_and_say_so_in_one_line(url: str) -> None:
    with pytest.raises(ValueError) as info:
        parse_target(url)
    assert "\n" not in str(info.value) and len(str(info.value)) < 300


@pytest.mark.parametrize("url", ["http://127.0.0.1:0", "http://localhost:0/x"])
def test_port_zero_is_not_a_port(url: str) -> None:
    with pytest.raises(ValueError, match="1-65535"):
        parse_target(url)


@pytest.mark.parametrize(
    ("scheme", "host", "port"),
    [("http", "127.0.0.1", 80), ("https", "127.9.9.9", 443), ("http", "::1", 8080),
     ("http", "[::1]", 1), ("http", "LocalHost", 8089)],
)  # fmt: skip
def test_loopback_literals_and_localhost_pass_without_any_pin(
    scheme: str, host: str, port: int
) -> None:
    assert TargetPolicy().refusal(scheme, host, port) is None


@pytest.mark.parametrize(
    ("scheme", "host", "port"),
    [("http", "203.0.113.7", 80), ("http", "0.0.0.0", 80), ("ftp", "127.0.0.1", 21),
     ("http", "127.0.0.1", 0), ("http", "2130706433", 80), ("http", "::ffff:203.0.113.7", 80)],
)  # fmt: skip
def test_other_hosts_schemes_and_ports_are_refused(scheme: str, host: str, port: int) -> None:
    assert TargetPolicy().refusal(scheme, host, port) is not None


def test_an_allowed_name_is_resolved_once_and_pinned_and_printed() -> None:
    asked: list[str] = []

    def resolve(host: str) -> list[str]:
        asked.append(host)
        return ["203.0.113.5", "203.0.113.5", "2001:db8::1"]

    policy = pin_hosts(["Staging.Example.vn", "203.0.113.9", "localhost"], resolve=resolve)
    assert asked == ["staging.example.vn"]  # literals and localhost are never resolved
    assert policy.pins["staging.example.vn"] == ("203.0.113.5", "2001:db8::1")
    assert policy.pins["localhost"] == LOCALHOST_PINS
    assert policy.refusal("https", "staging.example.vn", 443) is None
    assert policy.refusal("http", "203.0.113.9", 80) is None
    assert policy.refusal("http", "203.0.113.10", 80) is not None
    assert describe_pins(policy) == [
        "allowed host staging.example.vn pinned to 203.0.113.5, 2001:db8::1"
    ]


def test_an_allowed_name_that_does_not_resolve_is_an_error_before_any_load() -> None:
    with pytest.raises(ValueError, match="did not resolve"):
        pin_hosts(["nowhere.example.vn"], resolve=lambda _h: [])


def test_an_allowed_but_unpinned_name_is_still_refused_on_the_wire() -> None:
    policy = TargetPolicy(allowed=frozenset({"staging.example.vn"}))
    assert "pinned" in (policy.refusal("http", "staging.example.vn", 80) or "")


def test_a_refusal_is_noted_once() -> None:
    policy = TargetPolicy()
    assert policy.note_refusal("x") and not policy.note_refusal("x")


def test_verdict_cache_is_bounded_under_hostile_hosts() -> None:
    policy = TargetPolicy()
    for k in range(3000):
        assert policy.refusal("http", f"h{k}.example", 80) is not None
    assert len(policy._verdicts) <= 1024


@pytest.mark.parametrize("value", ["", "a..b", "LOCALHOST..", "x" * 300, 5, None])
def test_allow_target_values_are_checked(value: object) -> None:
    with pytest.raises(ValueError):
        parse_host(value)
    assert parse_host("[::1]") == "::1" and parse_host("Portal.VN") == "portal.vn"


def _scenario(extra: str = "") -> object:
    text = f"name: t\nduration: 5s\nload: {{users: 1}}\n{extra}"
    return scenario_from_data(parse_yaml(text, "t.yaml"), source="t.yaml")


def test_a_bad_allow_target_on_the_command_line_names_its_flag() -> None:
    with pytest.raises(ScenarioError, match="--allow-target"):
        apply_settings(_scenario(), Overrides(allow_targets=("a..b",)), {})  # type: ignore[arg-type]
    with pytest.raises(ScenarioError, match="DVCLOAD_ALLOW_TARGETS"):
        apply_settings(_scenario(), Overrides(), {"DVCLOAD_ALLOW_TARGETS": "ok.vn,a..b"})  # type: ignore[arg-type]


def test_http_follow_redirects_is_read_and_false_by_default() -> None:
    assert _scenario().http.follow_redirects is False  # type: ignore[attr-defined]
    scenario = _scenario("http: {follow_redirects: true}\n")
    assert scenario.http.follow_redirects is True  # type: ignore[attr-defined]
    assert scenario.as_dict()["http"] == {"follow_redirects": True}  # type: ignore[attr-defined]
    assert target_policy(scenario).max_redirects > 0  # type: ignore[arg-type]
    assert target_policy(_scenario()).max_redirects == 0  # type: ignore[arg-type]
    with pytest.raises(ScenarioError, match="true or false"):
        _scenario("http: {follow_redirects: 'yes'}\n")
    with pytest.raises(ScenarioError, match="redirects"):
        _scenario("http: {redirects: true}\n")


def test_an_unresolvable_allowed_host_is_a_target_error_naming_the_field() -> None:
    scenario = _scenario("allow_targets: [nowhere.invalid]\n")
    with pytest.raises(TargetError, match="allow_targets"):
        target_policy(scenario)  # type: ignore[arg-type]


@pytest.mark.parametrize("value", ["١٠", "１０", "1" * 100, "nan", "1e999"])
@pytest.mark.parametrize("key", ["DVCLOAD_USERS", "DVCLOAD_SEED"])
def test_environment_numbers_take_ascii_digits_only(key: str, value: str) -> None:
    with pytest.raises(ScenarioError, match=key) as info:
        apply_settings(_scenario(), Overrides(), {key: value})  # type: ignore[arg-type]
    assert len(str(info.value)) < 300

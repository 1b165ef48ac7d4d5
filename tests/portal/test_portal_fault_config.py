"""The ``faults:`` section: validation with one-line located errors, and the injector's
decisions (rates, precedence, determinism, outage windows) without HTTP."""

from __future__ import annotations

from pathlib import Path

import pytest

from dvcschema.errors import ConfigError
from portal.config import CONFIG_DIR, DEFAULT_CONFIG_PATH, load_config
from portal.faults import (
    DEFAULT_GATEWAY_HANG_S,
    ErrorFault,
    FaultConfig,
    Outage,
    faults_from_data,
)
from portal.injector import RESET_AFTER_COMMIT, RESET_BEFORE, FaultInjector

FAULTS_YAML = CONFIG_DIR / "faults.yaml"


def _config(tmp_path: Path, faults: str) -> Path:
    path = tmp_path / "portal.yaml"
    base = DEFAULT_CONFIG_PATH.read_text(encoding="utf-8")
    path.write_text(base + "\nfaults:\n" + faults, encoding="utf-8")
    return path


def test_shipped_faults_config_has_every_kind_of_fault() -> None:
    faults = load_config(FAULTS_YAML).faults
    assert faults.error_for("GET /services") == ErrorFault(rate=0.05, status=500)
    assert faults.error_for("POST /paygov/confirm") == ErrorFault(rate=0.02, status=502)
    assert faults.spike_for("POST /dossiers") is not None
    assert faults.gateway_timeouts is not None and faults.gateway_timeouts.hang_s == 35.0
    payments = faults.reset_for("POST /dossiers/{code}/payments")
    assert payments is not None and payments.after_commit
    assert faults.reset_for("GET /services") is None
    assert faults.outages == (Outage(start_s=40.0, duration_s=20.0),)
    assert faults.slow_database is not None and faults.slow_database.extra_s == 0.02


def test_default_config_has_no_faults() -> None:
    assert load_config(DEFAULT_CONFIG_PATH).faults.empty


def test_fault_set_round_trips_through_its_dict() -> None:
    faults = load_config(FAULTS_YAML).faults
    again = faults_from_data(faults.as_dict(), source="test")
    assert again == faults
    assert faults_from_data({}, source="test") == FaultConfig()


def test_gateway_hang_defaults_beyond_the_client_timeout(tmp_path: Path) -> None:
    faults = load_config(_config(tmp_path, "  gateway_timeouts: {rate: 1%}\n")).faults
    assert faults.gateway_timeouts is not None
    assert faults.gateway_timeouts.hang_s == DEFAULT_GATEWAY_HANG_S > 30.0


BAD_FAULTS = [
    ("unknown kind", "  floods: {rate: 1%}\n", "unknown key 'floods'"),
    ("unknown endpoint", '  errors: {"GET /nope": {rate: 1%}}\n', "unknown endpoint 'GET /nope'"),
    ("rate over 100%", '  errors: {"*": {rate: 150%}}\n', "not a percentage"),
    ("rate as text", '  errors: {"*": {rate: often}}\n', "not a percentage"),
    ("status 200", '  errors: {"*": {rate: 1%, status: 200}}\n', "out of range"),
    ("status float", '  errors: {"*": {rate: 1%, status: 500.5}}\n', "not a whole number"),
    ("no rate", '  errors: {"*": {status: 500}}\n', "required field"),
    ("spike without unit", '  latency_spikes: {"*": {rate: 1%, extra: 2}}\n', "with a unit"),
    ("spike too long", '  latency_spikes: {"*": {rate: 1%, extra: 2h}}\n', "out of range"),
    ("hang of zero", "  gateway_timeouts: {rate: 1%, hang: 0s}\n", "out of range"),
    (
        "after_commit 1",
        '  connection_resets: {"*": {rate: 1%, after_commit: 1}}\n',
        "true or false",
    ),
    ("outage not a list", "  outages: {start: 1s}\n", "expected a list"),
    ("outage no duration", "  outages: [{start: 1s}]\n", "required field"),
    ("outage of zero", "  outages: [{start: 1s, duration: 0s}]\n", "out of range"),
    ("outage extra key", "  outages: [{start: 1s, duration: 2s, why: x}]\n", "unknown key"),
    ("slow db no extra", "  slow_database: {rate: 5%}\n", "required field"),
    ("seed negative", "  seed: -1\n", "out of range"),
    ("section a list", "  - 1\n", "expected a mapping"),
]


@pytest.mark.parametrize(("case", "text", "fragment"), BAD_FAULTS, ids=[c[0] for c in BAD_FAULTS])
def test_bad_fault_sections_are_one_located_line(
    tmp_path: Path, case: str, text: str, fragment: str
) -> None:
    path = _config(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(f"{path}:"), message
    assert "faults" in message, message
    assert fragment in message, message


def test_admin_body_errors_name_the_endpoint_and_field() -> None:
    with pytest.raises(ConfigError) as caught:
        faults_from_data({"errors": {"*": {"rate": "x"}}}, source="POST /admin/faults")
    assert str(caught.value).startswith("POST /admin/faults: faults.errors.*.rate:")
    with pytest.raises(ConfigError, match="expected a mapping"):
        faults_from_data([1, 2], source="POST /admin/faults")
    with pytest.raises(ConfigError, match="JSON object"):
        faults_from_data(None, source="POST /admin/faults")


# -- the injector ------------------------------------------------------------------------
def _injector(data: dict[str, object], seed: int | None = 3) -> FaultInjector:
    return FaultInjector(faults_from_data(data, source="test"), seed)


def test_no_faults_plans_nothing() -> None:
    plan = _injector({}).plan("POST /dossiers", uses_database=True)
    assert (plan.retry_after_s, plan.error_status, plan.reset) == (None, None, None)
    assert plan.spike_s == plan.gateway_hang_s == plan.slow_db_s == 0.0


def test_rates_are_met_within_binomial_bounds() -> None:
    injector = _injector(
        {"errors": {"*": {"rate": "5%"}}, "latency_spikes": {"*": {"rate": 0.2, "extra": "1s"}}}
    )
    n = 20_000
    plans = [injector.plan("GET /services", uses_database=False) for _ in range(n)]
    errors = sum(p.error_status == 500 for p in plans)
    spikes = sum(p.spike_s == 1.0 for p in plans)
    assert abs(errors - 0.05 * n) < 5 * (n * 0.05 * 0.95) ** 0.5
    assert abs(spikes - 0.2 * n) < 5 * (n * 0.2 * 0.8) ** 0.5


def test_same_seed_same_faults_and_endpoint_entry_replaces_star() -> None:
    data = {"errors": {"*": {"rate": 0.5}, "GET /services": {"rate": 0.0}}}
    a, b = _injector(data), _injector(data)
    keys = ["POST /dossiers", "GET /services/{code}/form"] * 200
    drawn = [a.plan(k, True).error_status for k in keys]
    assert drawn == [b.plan(k, True).error_status for k in keys]
    assert 100 < drawn.count(500) < 300  # rate 0.5 from "*"
    assert drawn != [_injector(data, seed=4).plan(k, True).error_status for k in keys]
    assert all(a.plan("GET /services", False).error_status is None for _ in range(300))


def test_gateway_only_on_confirmation_and_slow_db_only_with_sql() -> None:
    injector = _injector(
        {
            "gateway_timeouts": {"rate": 1.0, "hang": "2s"},
            "slow_database": {"extra": "50ms"},
            "connection_resets": {
                "POST /dossiers": {"rate": 1.0},
                "POST /paygov/confirm": {"rate": 1.0, "after_commit": True},
            },
        }
    )
    confirm = injector.plan("POST /paygov/confirm", uses_database=True)
    assert (confirm.gateway_hang_s, confirm.slow_db_s, confirm.reset) == (
        2.0,
        0.05,
        RESET_AFTER_COMMIT,
    )
    filing = injector.plan("POST /dossiers", uses_database=True)
    assert (filing.gateway_hang_s, filing.reset) == (0.0, RESET_BEFORE)
    assert injector.plan("GET /services", uses_database=False).slow_db_s == 0.0


def test_outage_window_counts_from_start_and_tells_the_seconds_left() -> None:
    now = [100.0]
    config = faults_from_data({"outages": [{"start": "10s", "duration": "20s"}]}, source="t")
    injector = FaultInjector(config, 1, clock=lambda: now[0])
    expected = {5.0: None, 10.0: 20, 25.5: 5, 29.9: 1, 30.0: None, 60.0: None}
    for since_s, retry_after_s in expected.items():
        now[0] = 100.0 + since_s
        assert injector.plan("GET /services", False).retry_after_s == retry_after_s, since_s
    now[0] = 200.0
    injector.replace(config)  # a new fault set: its outage counts from now
    now[0] = 215.0
    assert injector.plan("GET /services", False).retry_after_s == 15


def test_applied_faults_are_marked_and_counted() -> None:
    injector = _injector({})
    plan = injector.plan("GET /services", False)
    plan.applied("spike")
    plan.applied("slow_db")
    assert plan.marks == ["spike", "slow_db"]
    assert injector.counts["spike"] == injector.counts["slow_db"] == 1

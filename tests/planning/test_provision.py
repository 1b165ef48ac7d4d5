"""What a plan buys, checked against a small scenario worked by hand.

The scenario: 2 sessions/s all day but 10 sessions/s in 09:00-10:00 (PSA, hourly rows),
one budget ``utilization < 0.8`` so each tier needs ceil(load / 0.8) servers.

db (M/M/1 at the peak): 10 x 6 = 60 requests/s x 10 ms = 0.6 erlangs -> 1 server; its
mean wait rho S / (1 - rho) = 0.6 x 10 ms / 0.4 = 15 ms (the day's longest).

web holds its worker through 1.5 db calls: H = 100 ms + 1.5 x (10 + 15) ms = 137.5 ms;
Var H = (1 x 100 ms)^2 + 1.5 x ((10 ms)^2 + (25 ms)^2) = 0.0110875 s^2, cv 0.76578.
Peak: 10 x 4 = 40/s x 137.5 ms = 5.5 E -> ceil(6.875) = 7 servers; other hours 8/s x
137.5 ms = 1.1 E -> 2 servers. 2 vCPU x 2 workers = 4 servers per instance: 2 and 1
instances; over 2 zones (N+1: 2 x ceil(n / 1)) 4 and 2; the floor (100% of the day's
largest from 09:00) keeps 4 from 09:00 to 24:00. Lead time 30 min: 08:00-09:00 bills
2 x 0.5 h + 4 x 0.5 h = 3 instance-hours, so the day is 8 x 2 + 3 + 15 x 4 = 79
instance-hours, x 0.5 USD = 39.50 USD scaled; static 4 x 24 = 96 h = 48.00 USD.
vCPU 4 x 2 = 8, memory 4 x 4 GiB = 16 GiB at the most.

db instances: 1 server / 50 per instance = 1, x 2 zones = 2 (= min_instances 2);
connections: web 4 x pool 10 = 40 opened against 2 x 100 = 200, 1 needed.
payment, a dependency with rate_limit 5/s: 10 x 0.2 = 2/s (40%); web 4 x pool 1 = 4
connections against its contract's 3: over.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import numpy as np
import pytest
from numpy.testing import assert_allclose

from dvcschema.errors import ConfigError
from dvcschema.scenario import load_scenario
from planning import plan_scenario
from planning.provision import provision, zone_instances
from planning.provision_text import lines, to_json

HOURLY = [2.0] * 24
HOURLY[9] = 10.0

SMALL = f"""
name: small-buy
capacity:
  method: psa
  arrivals: {{hourly: {HOURLY}}}
  budgets: ["utilization < 0.8"]
  currency: USD
  tiers:
    web: {{service_time: 100ms, cv: 1, visits: 4, calls: {{db: 1.5}}}}
    db: {{service_time: 10ms, cv: 1, visits: 6}}
    payment: {{service_time: 500ms, cv: 1, visits: 0.2, rate_limit: 5/s}}
  resources:
    web:
      instance: {{vcpu: 2, memory: 4GiB}}
      servers_per_vcpu: 2
      memory_per_server: 512MiB
      price_per_hour: 0.5
      pools: {{db: 10, payment: 1}}
    db: {{servers_per_instance: 50, max_connections: 100, min_instances: 2}}
    payment: {{max_connections: 3}}
  policy:
    provision: central
    zones: 2
    floor: {{from: "09:00", share: 100%}}
    lead_time: 30m
"""


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    path = tmp_path_factory.mktemp("prov") / "small.yaml"
    path.write_text(SMALL, encoding="utf-8")
    return plan_scenario(load_scenario(path), samples=10, seed=1)


def test_web_holds_its_worker_through_its_db_calls(run) -> None:  # type: ignore[no-untyped-def]
    held = run.held["web"]
    assert_allclose(held.calls[0].response_s, 0.025, rtol=1e-9)
    assert_allclose(held.mean_s, 0.1375, rtol=1e-9)
    assert_allclose(held.cv, np.sqrt(0.0110875) / 0.1375, rtol=1e-9)
    assert run.spec.tier("web").service_time_s == pytest.approx(0.1375)
    assert run.declared.tier("web").service_time_s == pytest.approx(0.1)
    servers = {t.name: t.servers for t in run.plan.tiers}
    assert servers["web"][9] == 7 and set(np.delete(servers["web"], 9)) == {2}
    assert set(servers["db"]) == {1}


def test_instances_vcpu_memory_and_cost_match_the_hand_count(run) -> None:  # type: ignore[no-untyped-def]
    web = provision(run).tier("web")
    assert web.resources.servers_per_instance == 4
    assert list(web.instances) == [2] * 9 + [4] * 15
    assert web.vcpu().max() == 8 and web.memory_bytes().max() == 16 * 1024**3
    assert_allclose(np.sum(web.instance_hours), 79.0)
    assert_allclose(web.instance_hours[8], 3.0)
    total = provision(run).cost_total()
    assert total is not None
    assert_allclose(total, (39.5, 48.0))


def test_connections_and_rate_limits_are_set_against_their_limits(run) -> None:  # type: ignore[no-untyped-def]
    prov = provision(run)
    assert list(prov.tier("db").instances) == [2] * 24
    db = next(c for c in prov.connections if c.tier == "db")
    assert (db.opened, db.limit, db.needed, db.over_limit, db.pool_short) == (
        40,
        200,
        1,
        False,
        False,
    )
    pay = next(c for c in prov.connections if c.tier == "payment")
    assert (pay.opened, pay.limit, pay.over_limit) == (4, 3, True)
    (rate,) = prov.rates
    assert_allclose(rate.central_per_s, 2.0)
    assert not rate.over_limit and not prov.tier("payment").bought


def test_a_surge_puts_the_dependency_over_its_limit(tmp_path: Path) -> None:
    path = tmp_path / "small.yaml"
    path.write_text(SMALL, encoding="utf-8")
    run = plan_scenario(load_scenario(path), surge=3.0, samples=10, seed=1)
    (rate,) = provision(run).rates
    assert_allclose(rate.central_per_s, 6.0)
    assert rate.over_limit
    assert any("OVER THE LIMIT" in line for line in lines(provision(run)))


def test_the_text_and_json_say_what_to_buy_and_why(run) -> None:  # type: ignore[no-untyped-def]
    text = "\n".join(lines(provision(run)))
    assert "over 2 zones, surviving the loss of one (N+1)" in text
    assert "4 instances = 8 vCPU, 16 GiB memory at the most" in text
    assert "39.50 USD scaled" in text and "48.00 static" in text
    assert "from 09:00 at least 4" in text
    assert "08:30" in text  # the 09:00 scale-up is asked for 30 min before
    doc = json.loads(json.dumps(to_json(provision(run))))
    assert doc["tiers"]["web"]["peak_instances"] == 4
    assert doc["tiers"]["payment"]["bought"] is False
    assert doc["cost"] == {"scaled": pytest.approx(39.5), "static": pytest.approx(48.0)}


@pytest.mark.parametrize(
    ("instances", "zones", "expected"), [(2, 1, 2), (2, 2, 4), (5, 3, 9), (6, 3, 9), (1, 3, 3)]
)
def test_zone_instances_survive_the_loss_of_one_zone(
    instances: int, zones: int, expected: int
) -> None:
    n = zone_instances(instances, zones)
    assert n == expected
    if zones > 1:
        assert n - n // zones >= instances  # one zone down, the rest still carry the need


@pytest.mark.parametrize(
    ("snippet", "message"),
    [
        ("resources: {cache: {servers_per_instance: 4}}", "'cache' is not a tier"),
        ("resources: {web: {servers_per_vcpu: 2}}", "needs instance: {vcpu: N}"),
        ("resources: {payment: {servers_per_instance: 4}}", "a dependency, not bought"),
        ("resources: {web: {servers_per_instance: 4, pools: {web: 2}}}", "not another tier"),
        ("policy: {provision: P95}", "P95"),
        ("policy: {floor: {from: '25:00'}}", "time of day"),
        ("policy: {lead_time: 7h}", "out of range"),
        ("policy: {zones: 0}", "out of range"),
    ],
)
def test_bad_resources_and_policies_are_one_line_errors(
    tmp_path: Path, snippet: str, message: str
) -> None:
    text = (
        textwrap.dedent("""
        name: bad
        capacity:
          arrivals: {constant: 5}
          budgets: ["utilization < 0.8"]
          tiers:
            web: {service_time: 50ms}
            payment: {service_time: 300ms, visits: 0.1, rate_limit: 10/s}
        """)
        + "  "
        + snippet
        + "\n"
    )
    path = tmp_path / "bad.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_scenario(path)
    assert message in str(info.value) and "\n" not in str(info.value)


@pytest.mark.parametrize(
    ("tiers", "message"),
    [
        ("{web: {service_time: 50ms, calls: {cache: 1}}}", "not another tier"),
        (
            "{web: {service_time: 50ms, calls: {db: 1}}, db: {service_time: 5ms, calls: {web: 1}}}",
            "calls may not loop",
        ),
        ("{web: {service_time: 50ms, rate_limit: fast}}", "not a rate"),
    ],
)
def test_bad_calls_and_rate_limits_are_one_line_errors(
    tmp_path: Path, tiers: str, message: str
) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(
        "name: bad\ncapacity:\n  arrivals: {constant: 5}\n  budgets: ['utilization < 0.8']\n"
        f"  tiers: {tiers}\n",
        encoding="utf-8",
    )
    with pytest.raises(ConfigError) as info:
        load_scenario(path)
    assert message in str(info.value)


def test_the_schedule_figure_draws_the_provisioned_servers(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from planning import write_plots

    schedule, latency = write_plots(run, tmp_path / "plan.png")
    for path in (schedule, latency):
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_size > 10_000


def test_the_must_run_floor_is_printed_per_tier(run) -> None:  # type: ignore[no-untyped-def]
    prov = provision(run)
    web = prov.tier("web")
    assert (web.floor, web.floor_from_s) == (4, 9 * 3600.0)
    text = "\n".join(lines(prov))
    assert "must run: 4 instances from 09:00 (the floor), never fewer than 2 before" in text
    assert to_json(prov)["tiers"]["web"]["must_run"]["floor"] == 4


def test_a_spike_with_a_lead_time_prints_and_draws_its_backlog(tmp_path: Path) -> None:
    from planning import parse_spike, plan_json, report, write_plots

    path = tmp_path / "small.yaml"
    path.write_text(SMALL + "  abandonment: {patience: 1m, retry: 50%, retry_after: 30s}\n")
    run = plan_scenario(load_scenario(path), spikes=(parse_spike("3x@09:00+30m"),), samples=10)
    assert run.scale_up is not None and run.scale_up.lead_time_s == 1800.0
    web = run.scale_up.spikes[0].tiers[0]
    # until 09:30 the 7 web servers of the plan without the spike, each held for the
    # spiked plan's holding time (its db has 3 servers then: a shorter db wait), serve
    # 7 / H per second against 3 x 40/s arriving: the backlog grows for 30 minutes
    held_s = run.spec.tier("web").service_time_s
    assert (web.servers_before, web.requests_per_s, web.service_time_s) == (7, 120.0, held_s)
    assert_allclose(web.plain.max_backlog, (120 - 7 / held_s) * 1800, rtol=1e-3)
    assert web.abandoning is not None and web.abandoning.max_backlog < web.plain.max_backlog
    assert web.retrying is not None and web.retrying.max_backlog > web.abandoning.max_backlog
    assert "Autoscaling lead time 30m" in report(run)
    assert plan_json(run)["scale_up"]["lead_time_s"] == 1800.0
    written = write_plots(run, tmp_path / "plan.png")
    assert tmp_path / "plan-backlog.png" in written
    assert (tmp_path / "plan-backlog.png").stat().st_size > 10_000
    no_spike = plan_scenario(load_scenario(path), samples=10)
    assert no_spike.scale_up is None


@pytest.mark.parametrize(
    ("snippet", "message"),
    [
        ("abandonment: {retry: 50%}", "required field 'capacity.abandonment.patience'"),
        ("abandonment: {patience: 1m, retry: 50%}", "needs retry_after"),
        ("abandonment: {patience: 1m, retry: 100%, retry_after: 1s}", "retry forever"),
    ],
)
def test_bad_abandonment_is_a_one_line_error(tmp_path: Path, snippet: str, message: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(SMALL + "  " + snippet + "\n", encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_scenario(path)
    assert message in str(info.value)


def test_plan_and_its_json_print_what_to_buy(tmp_path: Path) -> None:
    from inprocess import run_main

    path = tmp_path / "small.yaml"
    path.write_text(SMALL, encoding="utf-8")
    text = run_main(["plan", path], cwd=tmp_path)
    assert text.returncode == 0, text.stderr
    assert "Provisioning: the central plan's servers; over 2 zones" in text.stdout
    assert "must run: 4 instances from 09:00" in text.stdout
    doc = json.loads(run_main(["plan", path, "--json"], cwd=tmp_path).stdout)
    web = doc["provision"]["tiers"]["web"]
    assert (web["peak_instances"], max(web["vcpu"]), max(web["memory_bytes"])) == (4, 8, 16 * 2**30)
    assert web["cost_scaled"] == pytest.approx(39.5) and web["must_run"]["floor"] == 4
    db = next(c for c in doc["provision"]["connections"] if c["tier"] == "db")
    assert (db["opened"], db["limit"], db["needed"]) == (40, 200, 1)
    assert doc["provision"]["policy"]["zones"] == 2
    assert doc["held"]["web"]["mean_s"] == pytest.approx(0.1375)
    lead = run_main(["plan", path, "--lead-time", "10m", "--provision", "P90"], cwd=tmp_path)
    assert "autoscaling lead time 10m" in lead.stdout
    assert "nothing in the scenario is a range" in lead.stdout

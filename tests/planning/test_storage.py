"""Upload bandwidth and storage (``planning.storage``) against figures worked by hand."""

from __future__ import annotations

import json
import math
import textwrap
from pathlib import Path

import numpy as np
import pytest
from numpy.testing import assert_allclose

from dvcschema.capacity_storage import StorageSpec, parse_storage
from dvcschema.errors import ConfigError, ScenarioError
from dvcschema.fields import Fields
from dvcschema.scenario import load_scenario
from dvcschema.yamlio import parse_yaml
from planning import make_plan
from planning.plan import PlanRun
from planning.storage import lines, storage_plan, to_json

# By hand: lognormal means, median x exp(sigma^2 / 2) (the 8 KiB floor changes neither)
SCAN_MEAN_BYTES = 320_000 * math.exp(0.6**2 / 2)  # 383,109.56
PHOTO_MEAN_BYTES = 110_000 * math.exp(0.35**2 / 2)  # 116,948.11
CONSTANT = """\
name: flat
capacity:
  method: psa
  arrivals: {constant: 10}
  budgets: ["utilization < 0.8"]
  tiers:
    web: {service_time: 10ms}
"""
DERIVED = """\
name: derived
capacity:
  method: psa
  arrivals: {constant: 1}
  derivation:
    peak: peak_per_s
    figures:
      dossiers_per_day: {low: 40k, high: 80k, source: "guess"}
      sessions_per_dossier: {low: 10, high: 30, source: "guess"}
      dossier_share: {formula: "1 / sessions_per_dossier"}
      peak_per_s: {formula: "dossiers_per_day * sessions_per_dossier / 86400"}
      shaky: {low: 0.5, high: 3, source: "guess"}
      shaky_share: {formula: "(shaky - 1) / 100"}
  budgets: ["utilization < 0.8"]
  tiers:
    web: {service_time: 10ms}
"""


def _run(tmp_path: Path, text: str, samples: int = 400) -> PlanRun:
    path = tmp_path / "s.yaml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    scenario = load_scenario(path)
    assert scenario.capacity is not None
    return make_plan(scenario.capacity, samples=samples, seed=7)


def _storage(text: str, run: PlanRun) -> StorageSpec:
    fields = Fields(parse_yaml(text, "x.yaml"), source="x.yaml", path="capacity")
    spec = parse_storage(fields, run.spec.derivation)
    fields.close()
    assert spec is not None
    return spec


def test_one_scan_and_one_photo_at_ten_dossiers_per_s_by_hand(tmp_path: Path) -> None:
    run = _run(tmp_path, CONSTANT)
    spec = _storage(
        "storage: {dossiers_per_session: 1, attachments: {scan: 1, photo: 1}, record_bytes: 0}",
        run,
    )
    plan = storage_plan(run, spec)
    per_dossier = SCAN_MEAN_BYTES + PHOTO_MEAN_BYTES  # 500,057.67 B
    assert_allclose(plan.attachment_bytes, per_dossier, rtol=1e-9)
    assert_allclose(plan.peak_dossiers_per_s.central, 10.0)
    # 10 dossiers/s x 500,057.67 B x 8 bit = 40.0046 Mbit/s
    assert_allclose(plan.upload_mbit_per_s.central, 10 * per_dossier * 8 / 1e6, rtol=1e-9)
    assert_allclose(plan.upload_mbit_per_s.central, 40.0046, rtol=1e-5)
    # 24 h x 3,600 s x 10/s = 864,000 dossiers; x 500,057.67 B = 432.05 GB
    assert_allclose(plan.day_sessions.central, 864_000, rtol=1e-12)
    assert_allclose(plan.day_bytes.central, 864_000 * per_dossier, rtol=1e-9)
    # no dossiers_per_day: every working day like this one, 250 of them: 108.0 TB
    assert_allclose(plan.year_bytes.central, 250 * 864_000 * per_dossier, rtol=1e-9)
    assert_allclose(plan.year_bytes.central, 108.01e12, rtol=1e-4)
    assert plan.samples is None and plan.upload_mbit_per_s.p50 is None
    assert "every working day like the planned day" in plan.year_from


def test_defaults_count_the_portals_attachments_and_the_record(tmp_path: Path) -> None:
    run = _run(tmp_path, CONSTANT)
    plan = storage_plan(run, _storage("storage: {dossiers_per_session: 2%}", run))
    attachments = 0.5 * SCAN_MEAN_BYTES + PHOTO_MEAN_BYTES / 6  # 211,046 B
    assert_allclose(plan.attachment_bytes, attachments, rtol=1e-9)
    assert_allclose(plan.bytes_per_dossier, attachments + 20_000, rtol=1e-9)
    assert_allclose(plan.peak_dossiers_per_s.central, 0.2)
    assert_allclose(plan.day_dossiers.central, 17_280)
    assert_allclose(plan.year_bytes.central, 250 * 17_280 * (attachments + 20_000), rtol=1e-9)


def test_dossiers_per_day_alone_gives_the_share_of_the_day(tmp_path: Path) -> None:
    run = _run(tmp_path, CONSTANT)
    spec = _storage("storage: {dossiers_per_day: 86400, days_per_year: 200}", run)
    plan = storage_plan(run, spec)
    assert_allclose(plan.dossiers_per_session.central, 0.1)  # 86,400 / 864,000 sessions
    assert_allclose(plan.peak_dossiers_per_s.central, 1.0)
    assert_allclose(plan.normal_day_dossiers.central, 86_400)
    assert_allclose(plan.year_bytes.central, 200 * 86_400 * plan.bytes_per_dossier, rtol=1e-12)
    assert "planned day is a normal working day" in plan.share_from


def test_a_range_of_its_own_gives_p50_and_p90_without_a_monte_carlo(tmp_path: Path) -> None:
    run = _run(tmp_path, CONSTANT)
    assert run.mc is None
    spec = _storage("storage: {dossiers_per_session: {low: 2%, high: 4%}}", run)
    plan = storage_plan(run, spec, samples=2000, seed=3)
    assert plan.samples == 2000
    share = plan.dossiers_per_session
    assert share.central == pytest.approx(0.03)
    assert share.p50 == pytest.approx(0.03, abs=0.001)
    assert share.p90 == pytest.approx(0.038, abs=0.001)  # uniform: low + 0.9 (high - low)
    assert plan.peak_dossiers_per_s.p90 == pytest.approx(10 * share.p90)  # the peak is fixed
    assert plan.peak_sessions_per_s.p50 is None  # nothing varies there
    assert storage_plan(run, spec, samples=2000, seed=3) == plan  # seeded


def test_figures_of_the_derivation_vary_with_the_plans_samples(tmp_path: Path) -> None:
    run = _run(tmp_path, DERIVED)
    assert run.mc is not None
    spec = _storage(
        "storage: {dossiers_per_session: dossier_share, dossiers_per_day: dossiers_per_day}", run
    )
    plan = storage_plan(run, spec)
    figures = run.mc.figures
    central = run.spec.derivation.central() if run.spec.derivation else {}
    # the share x the sessions: the derived dossiers, central and per sample
    assert_allclose(plan.day_dossiers.central, central["dossiers_per_day"], rtol=1e-9)
    per_sample = figures["dossiers_per_day"] * np.ones(run.mc.samples)
    p50, p90 = np.quantile(per_sample, (0.5, 0.9), method="inverted_cdf")
    assert_allclose((plan.day_dossiers.p50, plan.day_dossiers.p90), (p50, p90), rtol=1e-9)
    assert_allclose(
        (plan.normal_day_dossiers.p50, plan.normal_day_dossiers.p90), (p50, p90), rtol=1e-12
    )
    peaks = np.quantile(figures["peak_per_s"], (0.5, 0.9), method="inverted_cdf")
    assert_allclose((plan.peak_sessions_per_s.p50, plan.peak_sessions_per_s.p90), peaks)
    assert plan.samples == run.mc.samples


def test_a_figure_below_zero_in_some_samples_is_one_line(tmp_path: Path) -> None:
    run = _run(tmp_path, DERIVED)
    spec = _storage("storage: {dossiers_per_session: shaky_share}", run)
    with pytest.raises(ConfigError) as info:
        storage_plan(run, spec)
    message = str(info.value)
    assert "\n" not in message
    assert "capacity.storage.dossiers_per_session: the figure 'shaky_share' is not a number" in (
        message
    )
    assert "of 400 samples" in message


def test_a_figure_needs_a_derivation(tmp_path: Path) -> None:
    run = _run(tmp_path, CONSTANT)
    with pytest.raises(ScenarioError, match="names a figure, but the capacity section has no"):
        fields = Fields(
            parse_yaml("storage: {dossiers_per_session: share}", "x.yaml"),
            source="x.yaml",
            error_type=ScenarioError,
        )
        parse_storage(fields, run.spec.derivation)
    with pytest.raises(ConfigError, match="'share' is not a figure of the derivation"):
        storage_plan(run, StorageSpec(dossiers_per_session="share"))


def test_more_attachments_never_need_less(tmp_path: Path) -> None:
    run = _run(tmp_path, CONSTANT)
    previous = 0.0
    for scans in (0, 0.5, 1, 3):
        spec = _storage(
            f"storage: {{dossiers_per_session: 5%, attachments: {{scan: {scans}}}}}", run
        )
        plan = storage_plan(run, spec)
        assert plan.upload_mbit_per_s.central >= previous
        previous = plan.upload_mbit_per_s.central
    assert previous > 0


def test_text_and_json_carry_the_figures(tmp_path: Path) -> None:
    run = _run(tmp_path, DERIVED)
    spec = _storage(
        "storage: {dossiers_per_session: {low: 3%, high: 5%, source: 'guess: x'},"
        " dossiers_per_day: dossiers_per_day}",
        run,
    )
    plan = storage_plan(run, spec)
    text = "\n".join(lines(plan))
    words = " ".join(text.split())  # as read, whatever the wrapping
    for fragment in (
        "before replication",
        "P50, P90 over 400 samples",
        "3%-5% (uniform); guess: x",
        "the figure dossiers_per_day of the derivation",
        "upload at the peak (attachments)",
        "storage per year (250 working days)",
        "Mbit/s",
    ):
        assert fragment in words, fragment
    assert all(len(line) <= 100 for line in text.splitlines())
    data = json.loads(json.dumps(to_json(plan)))
    assert data["before_replication"] is True
    assert data["upload_mbit_per_s"]["central"] == pytest.approx(plan.upload_mbit_per_s.central)
    assert data["attachments"][0]["kind"] == "scan"
    assert data["year_bytes"]["p90"] >= data["year_bytes"]["p50"]

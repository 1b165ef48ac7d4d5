"""``dvcload validate``: its inputs, its predictions, and one quick run end to end.

Bad options are refused before any load, so they call :func:`dvcload.cli.main`
in-process (no 1-2 s start-up each); the quick run goes through the real command line.
"""

from __future__ import annotations

import contextlib
import json
import math
import subprocess
from pathlib import Path

import pytest

from analysis.calibrate import CalibratedModel, TierCalibration
from analysis.validate import SERVICE_MS, SETUPS, TWO_TIER, Options, predict_point
from analysis.validate_runs import Measurement, batch_means_se, portal_config_text, scenario_text
from dvcload.cli import main
from dvcschema.errors import ConfigError
from dvcschema.scenario import load_scenario
from models import DemandEstimate, Exponential, Lognormal, QueueStation, tandem_response_quantile
from portal.config import load_config

POINT_KEYS = {
    "tier_setup", "service_distribution", "utilization", "predicted_mean_ms",
    "measured_mean_ms", "predicted_p95_ms", "measured_p95_ms",
}  # fmt: skip


def _validate(
    dvcload_cmd: list[str], repo: Path, *args: str, timeout_s: float = 60
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*dvcload_cmd, "validate", *args], capture_output=True, text=True, timeout=timeout_s,
        cwd=repo, check=False, stdin=subprocess.DEVNULL,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("args", "message"),
    [(["--points", "0.5"], "--points"), (["--points", "0.3,1.2"], "--points"),
     (["--duration", "5s"], "too short"), (["--duration", "soon"], "--duration"),
     (["--seed", "-1"], "--seed")],
)  # fmt: skip
def test_bad_options_are_one_line_and_exit_2_before_any_load(
    capsys: pytest.CaptureFixture[str], repo: Path, tmp_path: Path, args: list[str], message: str
) -> None:
    with contextlib.chdir(repo):
        try:
            code = main(["validate", "--out", str(tmp_path / "v"), *args])
        except SystemExit as exc:  # argparse's refusals
            code = int(exc.code or 0)
    stderr = capsys.readouterr().err
    assert code == 2, stderr
    assert stderr.count("\n") == 1 and message in stderr
    assert not (tmp_path / "v").exists()


def test_high_points_run_longer_and_the_calibration_point_covers_their_draws(
    tmp_path: Path,
) -> None:
    options = Options(out=tmp_path, points=(0.3, 0.5, 0.7, 0.85, 0.95), duration_s=27.0)
    durations = [options.point_duration_s(u) for u in (0.5, 0.7, 0.85, 0.95)]
    assert durations == pytest.approx([27.0, 27.0 / 0.6, 81.0, 81.0])  # (1-.5)/(1-u), <= 3x
    assert options.calibration_duration_s == pytest.approx(4 * 27.0)  # capped at 4x
    assert options.point_duration_s(0.3) == options.calibration_duration_s
    quick = Options(out=tmp_path, points=(0.3, 0.7), duration_s=12.0)
    # the 0.7 point's draws (0.7 x 20 s) are a prefix of the calibration's (0.3 x 46.7 s)
    assert 0.3 * quick.calibration_duration_s == pytest.approx(0.7 * quick.point_duration_s(0.7))
    with pytest.raises(ConfigError):
        Options(out=tmp_path, points=(0.3, 0.3))


def test_the_portal_configs_are_valid_and_load_each_tier_as_designed(tmp_path: Path) -> None:
    for setup in SETUPS:
        path = tmp_path / f"{setup.slug}.yaml"
        path.write_text(portal_config_text(setup.tiers, seed=5), encoding="utf-8")
        config = load_config(path)
        assert list(config.tiers) == [t.name for t in setup.tiers]
        for (name, service), design in zip(
            config.default_endpoint.visits, setup.tiers, strict=True
        ):
            assert (name, service.dist, service.mean_ms) == (design.name, design.dist, SERVICE_MS)
        # The busiest tier is at the target utilisation: 3 requests per session.
        rate = setup.sessions_per_s(0.85)
        assert rate * 3 * SERVICE_MS / 1000 / 16 == pytest.approx(0.85)


def test_the_scenario_is_an_open_loop_browse_load_on_the_embedded_portal(tmp_path: Path) -> None:
    config = tmp_path / "portal.yaml"
    config.write_text(portal_config_text(SETUPS[0].tiers, seed=1), encoding="utf-8")
    path = tmp_path / "s.yaml"
    path.write_text(scenario_text("validate-x", config, 28.3333, 27.0, 3), encoding="utf-8")
    scenario = load_scenario(path)
    assert scenario.target.embedded and scenario.load is not None
    assert scenario.load.model == "open" and scenario.load.rate_spec == {"constant": 28.3333}
    assert dict(scenario.mix.journeys) == {"browse": 1.0}
    assert scenario.duration_s == 27.0 and scenario.seed == 3


def _measurement(rate: float, mean_ms: float, p95_ms: float, server_mean_ms: float) -> Measurement:
    return Measurement(
        folder=Path("run"), window_s=20.0, requests=1000, mean_ms=mean_ms, p95_ms=p95_ms,
        server_mean_ms=server_mean_ms, server_p95_ms=p95_ms - 3, server_mean_se_ms=1.0,
        arrival_rate_per_s={"web": rate, "payment": rate}, service_mean_ms={"web": 160.0},
        utilization={"web": 0.5}, generator_cpu_percent=10.0, start_delay_p99_ms=2.0,
        failures=0,
    )  # fmt: skip


def _model() -> CalibratedModel:
    web = DemandEstimate(0.16, 1.0, 2000, 0.003, "samples", "exponential", 1.0)
    pay = DemandEstimate(0.16, 0.5, 2000, 0.002, "samples", "lognormal", 0.5)
    tiers = (TierCalibration("web", web, 3.0, "access_log", "test", 16),
             TierCalibration("payment", pay, 3.0, "access_log", "test", 16))  # fmt: skip
    return CalibratedModel(tiers, ("run",), 700)


def test_two_tier_predictions_are_the_tandem_plus_the_calibrated_overhead() -> None:
    model = _model()
    calibration = predict_point(
        TWO_TIER, model, None, _measurement(30.0, 330.0, 700.0, 326.0),
        utilization=0.3, duration_s=76.5,
    )  # fmt: skip
    assert calibration.calibration_point and calibration.overhead_ms == pytest.approx(4.0)
    point = predict_point(
        TWO_TIER, model, calibration, _measurement(85.0, 370.0, 760.0, 360.0),
        utilization=0.85, duration_s=27.0,
    )  # fmt: skip
    stations = [
        QueueStation(85.0, Exponential(0.16), 16),
        QueueStation(85.0, Lognormal(0.16, 0.5), 16),
    ]
    assert point.overhead_ms == pytest.approx(4.0)  # the calibration point's, not its own
    expected_p95 = tandem_response_quantile(0.95, stations) * 1000 + 4.0
    assert point.predicted_p95_ms == pytest.approx(expected_p95)
    assert point.mean_error == pytest.approx(point.predicted_mean_ms / 370.0 - 1)
    assert point.achieved_utilization == pytest.approx(85.0 * 0.16 / 16)
    assert not point.claimed  # two tiers: reported, not part of the claim
    assert set(point.as_dict()) >= POINT_KEYS


def test_an_overloaded_point_is_reported_as_unstable_not_predicted() -> None:
    point = predict_point(
        TWO_TIER, _model(), None, _measurement(101.0, 900.0, 2000.0, 890.0),
        utilization=0.95, duration_s=27.0,
    )  # fmt: skip
    assert math.isinf(point.predicted_mean_ms) and point.as_dict()["predicted_mean_ms"] is None


def test_batch_means_see_autocorrelation_that_the_naive_error_misses() -> None:
    import numpy as np

    rng = np.random.default_rng(1)
    walk = np.cumsum(rng.normal(0, 1, 5000))  # strongly autocorrelated
    naive = walk.std(ddof=1) / math.sqrt(walk.size)
    assert batch_means_se(walk) > 5 * naive
    assert math.isnan(batch_means_se(np.ones(5)))


@pytest.mark.integration
@pytest.mark.timeout(480)
def test_quick_validation_end_to_end_meets_the_accuracy_claim(
    dvcload_cmd: list[str], repo: Path, tmp_path: Path
) -> None:
    """Real portal, real Locust: one tier, exponential, at 0.3 (the calibration
    point) and 0.7; about 1.5 minutes on 2 cores."""
    out = tmp_path / "validate"
    proc = _validate(dvcload_cmd, repo, "--quick", "--json", "--out", str(out), timeout_s=460)
    assert proc.returncode in (0, 1), proc.stderr[-3000:]
    points = json.loads(proc.stdout)["points"]
    assert {p["service_distribution"] for p in points} == {"exponential"}
    assert [p["utilization"] for p in points] == [0.3, 0.7]
    for p in points:
        assert set(p) >= POINT_KEYS, p
        assert p["tier_setup"] == "one-tier" and p["calibration_point"] == (p["utilization"] == 0.3)
        assert p["mean_error"] == pytest.approx(
            p["predicted_mean_ms"] / p["measured_mean_ms"] - 1, abs=1e-3
        )
        assert p["failures"] == 0 and p["requests"] > 500
        assert abs(p["mean_error"]) <= 0.10, p
        assert abs(p["p95_error"]) <= 0.15, p
    assert proc.returncode == 0
    assert (out / "validate.png").stat().st_size > 10_000
    assert json.loads((out / "validate.json").read_text())["points"] == points
    assert (out / "one-tier-exponential" / "calibrated.yaml").is_file()

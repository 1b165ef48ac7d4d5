"""M/M/c: exact metrics, quantiles, vectorisation and validation."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from models import MMc, ModelError


def test_mm1_closed_forms() -> None:
    q = MMc(arrival_rate=1.0, service_rate=2.0, servers=1)
    assert q.mean_response == pytest.approx(1.0)
    assert q.wait_quantile(0.9) == pytest.approx(math.log(0.5 / 0.1) / 1.0)
    assert q.response_quantile(0.9) == pytest.approx(math.log(10))
    assert q.response_survival(1.0) == pytest.approx(math.exp(-1.0))


def test_response_quantile_inverts_response_survival() -> None:
    q = MMc(
        arrival_rate=np.array([5.0, 90.0, 4900.0]),
        service_rate=1.0,
        servers=np.array([6, 100, 5000]),
    )
    p = np.array([[0.5], [0.95], [0.999]])
    t = q.response_quantile(p)
    assert t.shape == (3, 3)
    np.testing.assert_allclose(q.response_survival(t), np.broadcast_to(1 - p, (3, 3)), rtol=1e-9)


def test_theta_equal_mu_has_no_singularity() -> None:
    # c mu - lambda == mu: the hypoexponential form's removable singularity.
    q = MMc(arrival_rate=1.0, service_rate=1.0, servers=2)
    t = 2.0
    cw = q.prob_wait
    expected = math.exp(-t) * (1 + cw * t)  # (1 + C mu t) e^{-mu t}
    assert q.response_survival(t) == pytest.approx(expected, rel=1e-12)


def test_wait_quantile_is_zero_below_probability_of_no_wait() -> None:
    q = MMc(arrival_rate=2.0, service_rate=1.0, servers=4)
    assert q.wait_quantile(1 - q.prob_wait - 0.01) == 0.0
    assert q.wait_quantile(0.0) == 0.0
    assert q.response_quantile(0.0) == 0.0


def test_unstable_queue_is_a_clear_error() -> None:
    with pytest.raises(ModelError, match=r"unstable.*rho.*1\.2.*ErlangA"):
        MMc(arrival_rate=12.0, service_rate=1.0, servers=10)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"arrival_rate": -1.0, "service_rate": 1.0, "servers": 1}, "arrival_rate"),
        ({"arrival_rate": 1.0, "service_rate": 0.0, "servers": 2}, "service_rate"),
        ({"arrival_rate": 1.0, "service_rate": 1.0, "servers": 1.5}, "servers"),
    ],
)
def test_invalid_parameters(kwargs: dict[str, float], match: str) -> None:
    with pytest.raises(ModelError, match=match):
        MMc(**kwargs)  # type: ignore[arg-type]


def test_repr_shows_parameters() -> None:
    assert repr(MMc(arrival_rate=4.4, service_rate=1.0, servers=5)) == (
        "MMc(arrival_rate=4.4, service_rate=1.0, servers=5)"
    )


@settings(deadline=None, max_examples=50)
@given(
    c=st.integers(min_value=1, max_value=2000),
    rho=st.floats(min_value=0.01, max_value=0.99),
    mu=st.floats(min_value=0.01, max_value=100.0),
)
def test_littles_law_and_moments(c: int, rho: float, mu: float) -> None:
    q = MMc(arrival_rate=rho * c * mu, service_rate=mu, servers=c)
    assert q.mean_in_system == pytest.approx(q.mean_queue_length + q.offered_load, rel=1e-9)
    assert q.mean_response == pytest.approx(q.mean_wait + 1 / mu, rel=1e-12)
    # Quantiles are ordered and the median response is at least the service median.
    t50, t95 = q.response_quantile([0.5, 0.95])
    assert math.log(2) / mu <= t50 <= t95
    assert q.wait_quantile(0.95) <= t95

"""Erlang-A: exact against the birth-death chain, limits, and rho >= 1."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.special import logsumexp

from models import ErlangA, MMc, ModelError


def ctmc(lam: float, mu: float, c: int, theta: float, states: int = 3000) -> tuple[float, float]:
    """P(W > 0) and P(Ab) from the truncated birth-death chain (derived reference)."""
    k = np.arange(1, states + 1)
    deaths = np.minimum(k, c) * mu + np.maximum(k - c, 0) * theta
    log_p = np.concatenate([[0.0], np.cumsum(np.log(lam) - np.log(deaths))])
    p = np.exp(log_p - logsumexp(log_p))
    n = np.arange(states + 1)
    return float(p[c:].sum()), float(theta * (np.maximum(n - c, 0) @ p) / lam)


@pytest.mark.parametrize(
    ("lam", "mu", "c", "theta"),
    [
        (10, 1, 10, 0.5),
        (12, 1, 10, 1.0),
        (5, 1, 10, 0.1),
        (30, 1, 10, 2.0),
        (95, 1, 100, 0.01),
        (200, 1, 100, 0.5),
        (0.5, 2.0, 1, 3.0),
    ],
)
def test_matches_birth_death_chain(lam: float, mu: float, c: int, theta: float) -> None:
    q = ErlangA(arrival_rate=lam, service_rate=mu, servers=c, abandon_rate=theta)
    p_wait, p_ab = ctmc(lam, mu, c, theta)
    assert q.prob_wait == pytest.approx(p_wait, rel=1e-10)
    assert q.prob_abandon == pytest.approx(p_ab, rel=1e-9)
    assert q.mean_wait == pytest.approx(p_ab / theta, rel=1e-9)


def test_overloaded_queue_is_valid() -> None:
    q = ErlangA(arrival_rate=200.0, service_rate=1.0, servers=100, abandon_rate=0.5)
    assert q.prob_abandon == pytest.approx(0.5, rel=1e-9)  # half the load cannot be served
    assert q.utilization == pytest.approx(1.0, rel=1e-6)
    assert 0 < q.service_level(1.0) < 1


def test_wait_quantile_inverts_wait_survival() -> None:
    q = ErlangA(arrival_rate=12.0, service_rate=1.0, servers=10, abandon_rate=1.0)
    t = q.wait_quantile([0.5, 0.9, 0.99])
    np.testing.assert_allclose(q.prob_wait_exceeds(t), [0.5, 0.1, 0.01], rtol=1e-8)
    assert q.prob_wait_exceeds(0.0) == pytest.approx(q.prob_wait, rel=1e-12)


def test_zero_abandonment_is_rejected_with_a_pointer_to_mmc() -> None:
    with pytest.raises(ModelError, match="use MMc"):
        ErlangA(arrival_rate=1.0, service_rate=1.0, servers=2, abandon_rate=0.0)


def test_large_scale_deep_tail_is_finite() -> None:
    q = ErlangA(arrival_rate=90_000.0, service_rate=10.0, servers=10_000, abandon_rate=1 / 60)
    assert 0 < q.prob_wait < 1e-3
    assert q.prob_abandon < q.prob_wait


@settings(deadline=None, max_examples=40)
@given(
    c=st.integers(min_value=1, max_value=500),
    rho=st.floats(min_value=0.05, max_value=0.95),
)
def test_tends_to_erlang_c_as_patience_grows(c: int, rho: float) -> None:
    m = MMc(arrival_rate=rho * c, service_rate=1.0, servers=c)
    for theta in (1e-7, 1e-9):
        q = ErlangA(arrival_rate=rho * c, service_rate=1.0, servers=c, abandon_rate=theta)
        # The gap shrinks linearly in theta: bounded by a generous multiple of it.
        bound = 1e-12 + theta * 1e3 * (1 + m.mean_wait) ** 3
        assert abs(q.prob_wait - m.prob_wait) <= bound
        assert abs(q.mean_wait - m.mean_wait) <= bound * (1 + m.mean_wait)

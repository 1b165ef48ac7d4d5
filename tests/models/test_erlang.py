"""Erlang B and C: reference values, agreement of the two algorithms, invariants."""

from __future__ import annotations

import mpmath
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from models import ModelError, erlang_b, erlang_b_recursion, erlang_c, log_erlang_b

mpmath.mp.dps = 40


def mp_erlang_b(c: int, a: float) -> float:
    """Reference (derived here, not published): B = p(c; a) / P(c; a) in 40 digits."""
    cc, aa = mpmath.mpf(c), mpmath.mpf(a)
    pmf = mpmath.exp(cc * mpmath.log(aa) - aa - mpmath.loggamma(cc + 1))
    return float(pmf / mpmath.gammainc(cc + 1, aa, mpmath.inf, regularized=True))


def mp_erlang_c(c: int, a: float) -> float:
    b = mpmath.mpf(mp_erlang_b(c, a))
    return float(c * b / (c - mpmath.mpf(a) + mpmath.mpf(a) * b))


@pytest.mark.parametrize(
    ("c", "a"),
    [
        (10, 5.0),
        (3, 10.0),
        (1, 0.3),
        (50, 45.0),
        (1000, 950.0),
        (5100, 5000.0),
        (100_000, 99_000.0),
        (100_000, 99_900.0),
        (100_000, 120_000.0),
        (20, 200.0),
    ],
)
def test_erlang_b_matches_high_precision_reference(c: int, a: float) -> None:
    assert erlang_b(c, a) == pytest.approx(mp_erlang_b(c, a), rel=1e-11)


@pytest.mark.parametrize(("c", "a"), [(5100, 5000.0), (100_000, 99_000.0), (100_000, 99_990.0)])
def test_erlang_c_relative_error_below_1e9_at_national_scale(c: int, a: float) -> None:
    assert erlang_c(c, a) == pytest.approx(mp_erlang_c(c, a), rel=1e-9)


def test_erlang_b_small_values_by_hand() -> None:
    assert erlang_b(0, 3.0) == 1.0
    assert erlang_b(1, 1.0) == pytest.approx(0.5)
    assert erlang_b(2, 1.0) == pytest.approx(0.2)
    assert erlang_b(5, 0.0) == 0.0
    assert erlang_c(2, 1.0) == pytest.approx(1 / 3)


def test_erlang_c_is_one_when_load_reaches_servers() -> None:
    assert erlang_c(10, 10.0) == 1.0
    assert erlang_c(10, 12.0) == 1.0


def test_log_erlang_b_is_finite_where_b_underflows() -> None:
    lb = log_erlang_b(100_000, 10.0)
    assert np.isfinite(lb) and lb < -700
    assert erlang_b(100_000, 10.0) == 0.0


def test_vectorised_broadcasting_shapes() -> None:
    out = erlang_c(np.array([[10], [20]]), np.array([5.0, 8.0, 9.0]))
    assert isinstance(out, np.ndarray) and out.shape == (2, 3)
    assert isinstance(erlang_b(10, 5.0), float)


@pytest.mark.parametrize(
    ("servers", "load", "match"),
    [
        (-1, 1.0, "servers"),
        (2.5, 1.0, "servers"),
        (3, -1.0, "offered load"),
        (3, float("nan"), "offered load"),
        (0, 1.0, "servers >= 1"),
    ],
)
def test_invalid_inputs_raise_model_error(servers: float, load: float, match: str) -> None:
    fn = erlang_c if servers == 0 else erlang_b
    with pytest.raises(ModelError, match=match):
        fn(servers, load)


def test_unknown_method_names_the_options() -> None:
    with pytest.raises(ModelError, match="logspace, recursion"):
        erlang_b(3, 1.0, method="magic")


@settings(deadline=None, max_examples=60)
@given(
    c=st.integers(min_value=0, max_value=400),
    ratio=st.floats(min_value=0.0, max_value=3.0, allow_nan=False),
)
def test_recursion_equals_logspace_form(c: int, ratio: float) -> None:
    a = ratio * max(c, 1)
    rec = erlang_b_recursion(c, a)
    log = erlang_b(c, a)
    assert log == pytest.approx(rec, rel=1e-11, abs=1e-300)


@settings(deadline=None, max_examples=60)
@given(
    c=st.integers(min_value=1, max_value=5000),
    rho=st.floats(min_value=0.01, max_value=0.999),
)
def test_erlang_c_decreases_in_servers_and_increases_in_load(c: int, rho: float) -> None:
    a = rho * c
    assert erlang_c(c + 1, a) <= erlang_c(c, a)
    assert erlang_c(c, a * 1.0001) >= erlang_c(c, a)
    assert 0.0 <= erlang_c(c, a) <= 1.0
    assert erlang_b(c, a) <= erlang_c(c, a)

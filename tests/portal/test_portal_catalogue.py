"""Catalogue, provinces, dossier codes, identification levels and service sampling."""

from __future__ import annotations

import json
import unicodedata
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest

from models.distributions import Exponential, Lognormal
from portal.auth import TokenStore, derived_level
from portal.catalogue import COMMON_FIELDS, SERVICES, find_service
from portal.dossiers import dossier_code
from portal.provinces import PROVINCE_CODES, lookup_province
from portal.sampling import ServiceSampler, spawn_generators

REPO = Path(__file__).resolve().parents[2]


def test_provinces_agree_with_the_load_generators_data() -> None:
    data = json.loads((REPO / "loadgen" / "data" / "provinces.json").read_text("utf-8"))
    expected = {unit["name"]: unit["admin_code"] for unit in data["new_34"]}
    assert expected == PROVINCE_CODES
    assert len(PROVINCE_CODES) == 34


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Hà Nội", ("Hà Nội", "01")),
        ("  hồ   chí minh ", ("Hồ Chí Minh", "79")),
        ("Thanh Hoá", ("Thanh Hóa", "38")),
        ("Khánh Hoà", ("Khánh Hòa", "56")),
        (unicodedata.normalize("NFD", "Đắk Lắk"), ("Đắk Lắk", "66")),
        ("Hà Tây", None),
        ("", None),
    ],
)
def test_province_lookup_tolerates_spelling_variants(
    name: str, expected: tuple[str, str] | None
) -> None:
    assert lookup_province(name) == expected


def test_catalogue_has_the_required_services_and_fees() -> None:
    fees = {s.code: s.fee_vnd for s in SERVICES}
    assert fees == {
        "driving-licence-renewal": 135_000,
        "passport": 200_000,
        "vehicle-registration": 150_000,
        "promotion-notification": 0,
        "tax-settlement": 0,
        "birth-registration-bundle": 0,
    }
    for service in SERVICES:
        assert service.fields[: len(COMMON_FIELDS)] == COMMON_FIELDS
        names = [f.name for f in service.fields]
        assert len(names) == len(set(names))
        assert all(f.options for f in service.fields if f.type == "select")
        assert find_service(service.code) is service
    assert find_service("nope") is None


def test_dossier_code_has_the_decree_61_shape() -> None:
    assert dossier_code("15", "01", datetime(2025, 11, 23), 42) == "000.00.15.H01-251123-0042"
    assert dossier_code("30", "79", datetime(2026, 1, 2), 12345) == "000.00.30.H79-260102-12345"


def test_derived_level_is_deterministic_and_about_70_percent_level_2() -> None:
    levels = [derived_level(f"{n:012d}") for n in range(4000)]
    assert levels == [derived_level(f"{n:012d}") for n in range(4000)]
    assert set(levels) == {1, 2}
    assert 0.66 < levels.count(2) / len(levels) < 0.74


def test_token_store_accepts_only_live_bearer_tokens() -> None:
    store = TokenStore()
    token = store.issue("001203012345", 2, None)
    session = store.session(f"Bearer {token}")
    assert session is not None and session.cccd == "001203012345"
    assert store.session(f"bearer {token}") is not None
    assert store.session(token) is None
    assert store.session("Bearer nope") is None
    assert store.session(None) is None
    expired = TokenStore(lifetime_s=-1)
    assert expired.session(f"Bearer {expired.issue('001203012345', 1, None)}") is None


def test_sampler_gives_the_same_stream_as_one_big_draw() -> None:
    distribution = Lognormal(mean=0.04, cv=0.5)
    sampler = ServiceSampler(distribution, rng=np.random.default_rng(5), block=7)
    one_by_one = [sampler.next_s() for _ in range(30)]
    expected: list[float] = []
    rng = np.random.default_rng(5)
    while len(expected) < 30:
        expected.extend(distribution.sample(7, rng=rng).tolist())
    assert one_by_one == expected[:30]


def test_sampler_mean_matches_the_distribution() -> None:
    sampler = ServiceSampler(Exponential(mean=0.05), rng=1)
    samples = np.array([sampler.next_s() for _ in range(40_000)])
    assert samples.mean() == pytest.approx(0.05, rel=0.02)
    assert samples.std() / samples.mean() == pytest.approx(1.0, rel=0.03)


def test_spawned_generators_are_reproducible_and_independent() -> None:
    first = [g.random() for g in spawn_generators(11, 3)]
    again = [g.random() for g in spawn_generators(11, 3)]
    assert first == again
    assert len(set(first)) == 3

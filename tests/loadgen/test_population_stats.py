"""Frequencies in a generated population against their target weights.

With 100,000 citizens the standard error of a share p is sqrt(p(1-p)/1e5) <= 0.16
percentage points, so the 1-point tolerance is more than six standard errors: these
tests fail on a wrong weight, not on bad luck.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter

import numpy as np
import pytest

from loadgen import ages, emails, names, phones, segments
from loadgen.citizen import FIELD_NAMES
from loadgen.geography import expected_birth_weights, geography, residence_weights
from loadgen.population import FEMALE_SHARE, generate_population

N = 100_000
ONE_POINT = 0.01


@pytest.fixture(scope="module")
def cols() -> dict[str, list[str]]:
    people = generate_population(N, seed=314159)
    return {name: people.column(name) for name in FIELD_NAMES}


def shares(values: list[str]) -> dict[str, float]:
    return {k: v / len(values) for k, v in Counter(values).items()}


def test_family_names_within_one_point_of_their_weights(cols: dict[str, list[str]]) -> None:
    southern_to_northern = {s: n for n, s, _ in names.FAMILY_NAME_SHARES_PCT if s}
    groups = [southern_to_northern.get(f, f) for f in cols["family_name"]]
    observed = shares(groups)
    target = names.family_name_weights()
    assert set(observed) == set(target)
    for name, weight in target.items():
        assert observed[name] == pytest.approx(weight, abs=ONE_POINT), name


def test_southern_spellings_follow_birth_region(cols: dict[str, list[str]]) -> None:
    south = {
        c for c, s in zip(geography().birth_codes, geography().birth_is_southern, strict=True) if s
    }
    pairs = [
        (b in south, f)
        for b, f in zip(cols["birth_province_code"], cols["family_name"], strict=True)
        if f in ("Hoàng", "Huỳnh", "Vũ", "Võ")
    ]
    for born_south, expected in (
        (True, names.SOUTHERN_SPELLING_SHARE),
        (False, names.NORTHERN_SOUTHERN_SPELLING_SHARE),
    ):
        spellings = [f in ("Huỳnh", "Võ") for s, f in pairs if s is born_south]
        assert np.mean(spellings) == pytest.approx(expected, abs=0.03)


def test_residence_provinces_within_one_point_of_population_weights(
    cols: dict[str, list[str]],
) -> None:
    observed = shares(cols["residence_province"])
    for name, weight in residence_weights().items():
        assert observed.get(name, 0.0) == pytest.approx(weight, abs=ONE_POINT), name


def test_birth_provinces_within_one_point_of_expected(cols: dict[str, list[str]]) -> None:
    observed = shares(cols["birth_province_code"])
    for code, weight in expected_birth_weights().items():
        assert observed.get(code, 0.0) == pytest.approx(weight, abs=ONE_POINT), code


def test_most_live_where_born_and_migrants_go_to_big_cities(cols: dict[str, list[str]]) -> None:
    geo = geography()
    home = {code: geo.residence_names[geo.home_unit[i]] for i, code in enumerate(geo.birth_codes)}
    moved = np.array(
        [
            home[b] != r
            for b, r in zip(cols["birth_province_code"], cols["residence_province"], strict=True)
        ]
    )
    residence = np.array(cols["residence_province"])
    expected_overall = float(geo.residence_weights @ geo.in_migrant_share)
    # migrants are born outside their unit by construction, so the moved share is the migrant share
    assert moved.mean() == pytest.approx(expected_overall, abs=ONE_POINT)
    assert moved[residence == "Hồ Chí Minh"].mean() == pytest.approx(0.30, abs=0.02)
    assert moved[residence == "Hà Nội"].mean() > 3 * moved[residence == "Nghệ An"].mean()


def test_ages_follow_the_census_pyramid(cols: dict[str, list[str]]) -> None:
    age = np.array([ages.age_on(dt.date.fromisoformat(d)) for d in cols["date_of_birth"]])
    weights = ages.age_weights()
    for first, last, _ in ages.AGE_GROUPS_2019_THOUSANDS:
        low, high = max(first, ages.MIN_AGE), last
        target = weights[low - ages.MIN_AGE : high - ages.MIN_AGE + 1].sum()
        assert np.mean((age >= low) & (age <= high)) == pytest.approx(target, abs=ONE_POINT), (
            first,
            last,
        )
    assert 38 <= np.median(age) <= 44


def test_gender_share_matches_the_census(cols: dict[str, list[str]]) -> None:
    assert shares(cols["gender"])["female"] == pytest.approx(FEMALE_SHARE, abs=ONE_POINT)


def test_traditional_middle_names_decline_with_birth_year(cols: dict[str, list[str]]) -> None:
    born = np.array([int(d[:4]) for d in cols["date_of_birth"]])
    middle = np.array(cols["middle_name"])
    male = np.array(cols["gender"]) == "male"
    old, young = born < 1960, born >= 1995
    assert np.mean(middle[male & old] == "Văn") == pytest.approx(0.60, abs=0.03)
    assert np.mean(middle[male & young] == "Văn") == pytest.approx(0.20, abs=0.03)
    assert np.mean(middle[~male & old] == "Thị") > np.mean(middle[~male & young] == "Thị") + 0.3


def test_carriers_within_one_point_of_their_shares(cols: dict[str, list[str]]) -> None:
    observed = shares([phones.carrier_of(p) or "?" for p in cols["phone"]])
    for carrier, share in phones.carrier_shares().items():
        assert observed.get(carrier, 0.0) == pytest.approx(share, abs=ONE_POINT), carrier


def test_literacy_is_lower_for_older_and_rural_citizens(cols: dict[str, list[str]]) -> None:
    age = np.array([ages.age_on(dt.date.fromisoformat(d)) for d in cols["date_of_birth"]])
    urban = np.array([c.startswith("Phường") for c in cols["commune"]])
    low = np.array(cols["literacy"]) == "low"
    band = np.searchsorted(segments.AGE_BANDS, age, side="right")
    for town in (True, False):
        rates = [low[(band == b) & (urban == town)].mean() for b in range(4)]
        assert rates == sorted(rates), rates
    assert low[~urban].mean() > low[urban].mean() + 0.05
    expected_low = np.mean(
        [
            segments.expected_literacy_shares(int(a), bool(u))["low"]
            for a, u in zip(age[:20_000], urban[:20_000], strict=True)
        ]
    )
    assert low[:20_000].mean() == pytest.approx(expected_low, abs=ONE_POINT * 1.5)


def test_vneid_level_and_payment_channel_follow_literacy(cols: dict[str, list[str]]) -> None:
    literacy = np.array(cols["literacy"])
    level2 = np.array(cols["vneid_level"]) == "2"
    for level, share in segments.VNEID_LEVEL2_SHARE.items():
        assert level2[literacy == level].mean() == pytest.approx(share, abs=0.02), level
    assert set(cols["vneid_level"]) == {"1", "2"}
    channel = np.array(cols["payment_channel"])
    assert set(channel) == set(segments.PAYMENT_CHANNELS)
    for level, row in segments.PAYMENT_CHANNEL_SHARES.items():
        observed = shares(channel[literacy == level].tolist())
        for name, share in zip(segments.PAYMENT_CHANNELS, row, strict=True):
            assert observed[name] == pytest.approx(share, abs=0.02), (level, name)


def test_email_domains_within_one_point(cols: dict[str, list[str]]) -> None:
    observed = shares([e.split("@")[1] for e in cols["email"]])
    for domain, share in emails.EMAIL_DOMAINS:
        assert observed[domain] == pytest.approx(share, abs=ONE_POINT), domain

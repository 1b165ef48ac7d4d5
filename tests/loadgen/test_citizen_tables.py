"""Tables behind citizens: Faker word lists, weights, age pyramid, sampling, Faker provider."""

from __future__ import annotations

import numpy as np
import pytest
from faker import Faker
from hypothesis import given
from hypothesis import strategies as st
from numpy.testing import assert_allclose

from loadgen import ages, names, phones, segments
from loadgen.citizen import citizen_errors
from loadgen.faker_provider import VietnameseCitizenProvider
from loadgen.geography import expected_birth_weights, geography, residence_weights
from loadgen.sampling import Categorical
from loadgen.vntext import is_name_word


def test_faker_vi_first_names_are_western_and_are_filtered_out() -> None:
    fake = Faker("vi_VN")
    fake.seed_instance(0)
    assert {"John", "Jane"} & {fake.first_name() for _ in range(50)}  # the defect being fixed
    tables = names.name_tables()
    for word in (*tables.family, *tables.middle, *tables.given):
        assert is_name_word(word), word
    assert not {"John", "Jane"} & set(tables.given)


def test_name_lists_come_from_faker() -> None:
    from faker.providers.person.vi_VN import Provider

    tables = names.name_tables()
    assert set(Provider.last_names) <= set(tables.family)
    assert set(Provider.first_names_female) <= set(names.given_names_for("female"))
    assert set(Provider.first_names_male) <= set(names.given_names_for("male"))
    assert "Mai Bảo" not in tables.middle


def test_middle_name_lists_follow_gender() -> None:
    male, female = names.middle_names_for("male"), names.middle_names_for("female")
    assert male[0] == "Văn" and "Thị" not in male
    assert female[0] == "Thị" and "Văn" not in female


def test_family_name_weights_match_the_published_shares() -> None:
    weights = names.family_name_weights()
    assert sum(weights.values()) == pytest.approx(1.0)
    assert weights["Nguyễn"] == pytest.approx(0.38)
    assert weights["Hoàng"] == pytest.approx(0.05)  # Hoàng/Huỳnh together
    assert weights["Lý"] == pytest.approx(0.005)
    assert min(weights.values()) > 0


def test_age_weights_reproduce_the_census_figures() -> None:
    w = ages.age_weights()
    assert w.size == ages.MAX_AGE - ages.MIN_AGE + 1
    assert w.sum() == pytest.approx(1.0)
    by_age = dict(zip(range(ages.MIN_AGE, ages.MAX_AGE + 1), w, strict=True))
    # 25-29 and 30-34 are published counts: their ratio is kept.
    ratio = sum(by_age[a] for a in range(25, 30)) / sum(by_age[a] for a in range(30, 35))
    assert ratio == pytest.approx(8_447_997 / 8_393_810, rel=1e-3)
    # 65+ is 7.7% of everyone in 2019 and under-15s 24.3%; 15-17 are 3/5 of 15-19 (6.45 M).
    adults = 1 - 0.243 - 0.6 * 6.452 / 96.209
    assert sum(by_age[a] for a in range(65, 101)) == pytest.approx(0.077 / adults, abs=0.005)


def test_birth_days_give_exactly_the_sampled_age() -> None:
    rng = np.random.default_rng(5)
    age = ages.sample_ages(20_000, rng)
    days = ages.sample_birth_days(age, rng)
    born = days.astype("datetime64[D]").astype(object)
    assert all(ages.age_on(d) == a for d, a in zip(born, age.tolist(), strict=True))
    assert days.min() >= (ages.EARLIEST_BIRTH_DATE - ages._EPOCH).days


def test_residence_and_birth_weights_are_distributions() -> None:
    r = residence_weights()
    b = expected_birth_weights()
    assert len(r) == 34 and len(b) == 63
    assert sum(r.values()) == pytest.approx(1.0) and sum(b.values()) == pytest.approx(1.0)
    geo = geography()
    assert_allclose(geo.birth_given_residence.sum(axis=1), 1.0)
    native = geo.birth_given_residence[np.arange(34)[:, None] == geo.home_unit[None, :]]
    assert native.sum() / 34 > 0.85  # most people live where they were born


def test_carrier_and_segment_tables_are_distributions() -> None:
    assert sum(phones.carrier_shares().values()) == pytest.approx(1.0)
    for rows in segments.LITERACY_SHARES.values():
        for row in rows:
            assert sum(row) == pytest.approx(1.0)
    for shares in segments.PAYMENT_CHANNEL_SHARES.values():
        assert sum(shares) == pytest.approx(1.0)


@given(
    weights=st.lists(st.floats(0, 100, allow_nan=False), min_size=1, max_size=60).filter(
        lambda w: sum(w) > 0
    ),
    u=st.lists(st.floats(0, 1, exclude_max=True), min_size=1, max_size=50),
)
def test_categorical_guide_table_equals_searchsorted(weights: list[float], u: list[float]) -> None:
    distribution = Categorical(np.array(weights))
    expected = np.minimum(np.searchsorted(distribution.cdf, u, side="right"), len(weights) - 1)
    assert distribution.index(u).tolist() == expected.tolist()


def test_categorical_frequencies_and_validation() -> None:
    distribution = Categorical(np.array([1.0, 0.0, 3.0]))
    counts = np.bincount(distribution.sample(200_000, 3), minlength=3) / 200_000
    assert_allclose(counts, [0.25, 0.0, 0.75], atol=0.005)
    assert repr(distribution) == "Categorical(n=3)"
    with pytest.raises(ValueError, match="non-negative"):
        Categorical(np.array([0.0, -1.0]))


def test_faker_provider_builds_valid_citizens() -> None:
    fake = Faker("vi_VN")
    fake.add_provider(VietnameseCitizenProvider)
    fake.seed_instance(11)
    people = [fake.vn_citizen() for _ in range(300)]
    assert [citizen_errors(c) for c in people] == [[]] * 300
    fake.seed_instance(11)
    assert fake.vn_citizen() == people[0]

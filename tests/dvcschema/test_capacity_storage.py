"""``capacity.storage``: valid sections load, defaults come from the portal, mistakes are one line.

Also the attachment profiles' home (:mod:`dvcschema.attachments`): their exact mean, and
the default counts per dossier derived from the reference portal's catalogue.
"""

from __future__ import annotations

import math

import pytest
from numpy.testing import assert_allclose
from scipy import integrate, stats

import dvcschema.attachments as neutral
import loadgen.attachments
from dvcschema.attachments import DEFAULT_PER_DOSSIER, PHOTO, SCAN, AttachmentProfile
from dvcschema.capacity_inputs import Derivation, Quantity, parse_derivation
from dvcschema.capacity_storage import (
    DEFAULT_DAYS_PER_YEAR,
    DEFAULT_RECORD_BYTES,
    StorageSpec,
    parse_storage,
)
from dvcschema.errors import ConfigError, ScenarioError
from dvcschema.fields import Fields
from dvcschema.yamlio import parse_yaml
from portal.catalogue import SERVICES

SOURCE = "s.yaml"
DERIVATION = """\
peak: peak_per_s
figures:
  share: {low: 2%, high: 4%, source: "guess"}
  dossiers: {value: 60000, source: "guess"}
  nothing: {value: 0, source: "guess"}
  peak_per_s: {formula: "dossiers / share / 36000"}
"""


def _fields(text: str) -> Fields:
    return Fields(
        parse_yaml(text, SOURCE), source=SOURCE, path="capacity", error_type=ScenarioError
    )


def _derivation() -> Derivation:
    return parse_derivation(_fields(DERIVATION), {})


def _parse(text: str, derivation: Derivation | None = None) -> StorageSpec | None:
    fields = _fields(text)
    spec = parse_storage(fields, derivation)
    fields.close()
    return spec


# -- the attachment profiles ---------------------------------------------------------------------
def test_the_load_generator_uses_the_neutral_profiles() -> None:
    assert loadgen.attachments.SCAN is neutral.SCAN
    assert loadgen.attachments.PHOTO is neutral.PHOTO
    assert loadgen.attachments.AttachmentProfile is neutral.AttachmentProfile
    assert loadgen.attachments.profile_for("portrait-photo") is PHOTO
    assert loadgen.attachments.profile_for("invoice") is SCAN


@pytest.mark.parametrize(
    ("profile", "by_hand"),
    [
        (SCAN, 320_000 * 1.1972173631218102),  # exp(0.6^2 / 2) = exp(0.18)
        (PHOTO, 110_000 * 1.0631646721341013),  # exp(0.35^2 / 2) = exp(0.06125)
    ],
)
def test_mean_of_a_builtin_profile_is_the_lognormal_mean(
    profile: AttachmentProfile, by_hand: float
) -> None:
    assert_allclose(math.exp(profile.sigma**2 / 2) * profile.median_bytes, by_hand, rtol=1e-15)
    assert_allclose(profile.mean_bytes, by_hand, rtol=1e-9)  # the 8 KiB floor: < 1e-9


@pytest.mark.parametrize(("median", "sigma"), [(10_000, 1.0), (8_192, 0.5), (4_000, 2.0)])
def test_mean_with_the_floor_matters_matches_numerical_integration(
    median: int, sigma: float
) -> None:
    profile = AttachmentProfile("application/pdf", median_bytes=median, sigma=sigma)
    floor = profile.min_bytes
    z_floor = math.log(floor / median) / sigma  # size = median exp(sigma z), z standard normal
    tail, _ = integrate.quad(
        lambda z: median * math.exp(sigma * z) * stats.norm.pdf(z), z_floor, sigma + 12.0
    )
    exact = floor * stats.norm.cdf(z_floor) + tail
    assert_allclose(profile.mean_bytes, exact, rtol=1e-7)
    assert profile.mean_bytes > median * math.exp(sigma**2 / 2)  # the floor raises the mean


def test_a_profile_without_spread_has_its_median_as_mean() -> None:
    assert AttachmentProfile("image/jpeg", median_bytes=50_000, sigma=0.0).mean_bytes == 50_000
    assert AttachmentProfile("image/jpeg", median_bytes=5_000, sigma=0.0).mean_bytes == 8192


def test_default_counts_are_the_portal_catalogues_required_attachments() -> None:
    """Services weighted alike (the portal's choice without mix.services), required only."""
    scans = photos = 0
    for service in SERVICES:
        for spec in service.attachments:
            if spec.required:
                if loadgen.attachments.profile_for(spec.kind) is PHOTO:
                    photos += 1
                else:
                    scans += 1
    by_hand = {"scan": scans / len(SERVICES), "photo": photos / len(SERVICES)}
    assert by_hand == DEFAULT_PER_DOSSIER == {"scan": 0.5, "photo": 1 / 6}
    assert_allclose(
        0.5 * SCAN.mean_bytes + PHOTO.mean_bytes / 6, 211_046.13, rtol=1e-8
    )  # the 211 kB of the docstring


# -- valid sections ------------------------------------------------------------------------------
def test_no_storage_section_is_none() -> None:
    assert parse_storage(_fields("method: psa\n")) is None


def test_a_share_alone_takes_the_defaults() -> None:
    spec = _parse("storage: {dossiers_per_session: 3%}\n")
    assert spec == StorageSpec(dossiers_per_session=Quantity(0.03, 0.03))
    assert spec.attachments == (("scan", 0.5), ("photo", 1 / 6))
    assert (spec.record_bytes, spec.days_per_year) == (DEFAULT_RECORD_BYTES, DEFAULT_DAYS_PER_YEAR)
    assert (spec.record_bytes, spec.days_per_year) == (20_000, 250)
    assert not (spec.attachments_given or spec.record_bytes_given or spec.days_per_year_given)


def test_every_key_given() -> None:
    spec = _parse(
        "storage:\n"
        "  dossiers_per_session: {low: 2.5%, high: 4%, source: 'guess: x'}\n"
        "  dossiers_per_day: 60k\n"
        "  attachments: {scan: 2}\n"
        "  record_bytes: 16KiB\n"
        "  days_per_year: 247\n"
    )
    assert spec is not None
    assert spec.dossiers_per_session == Quantity(0.025, 0.04, "uniform", "guess: x")
    assert spec.dossiers_per_day == Quantity(60_000.0, 60_000.0)
    assert spec.attachments == (("scan", 2.0), ("photo", 0.0))  # a kind left out counts 0
    assert (spec.record_bytes, spec.days_per_year) == (16_384, 247)
    assert spec.attachments_given and spec.record_bytes_given and spec.days_per_year_given


def test_figure_names_are_checked_against_the_derivation() -> None:
    spec = _parse(
        "storage: {dossiers_per_session: share, dossiers_per_day: dossiers}\n", _derivation()
    )
    assert spec is not None
    assert (spec.dossiers_per_session, spec.dossiers_per_day) == ("share", "dossiers")


def test_a_loguniform_range_per_day() -> None:
    spec = _parse("storage: {dossiers_per_day: {low: 10k, high: 40k, dist: loguniform}}\n")
    assert spec is not None and spec.dossiers_per_session is None
    assert isinstance(spec.dossiers_per_day, Quantity)
    assert spec.dossiers_per_day.central == pytest.approx(20_000)


def test_as_dict_reads_back_to_the_same_spec() -> None:
    text = (
        "storage:\n"
        "  dossiers_per_session: {low: 2.5%, high: 4%, source: 'guess'}\n"
        "  dossiers_per_day: dossiers\n"
        "  attachments: {scan: 1.5, photo: 0.25}\n"
        "  record_bytes: 30000\n"
    )
    spec = _parse(text, _derivation())
    assert spec is not None
    fields = Fields({"storage": spec.as_dict()}, source=SOURCE, path="capacity")
    assert parse_storage(fields, _derivation()) == spec


# -- mistakes ------------------------------------------------------------------------------------
MALFORMED = [
    ("not a mapping", "storage: 3", "expected a mapping", 1),
    ("neither input", "storage: {record_bytes: 20KB}", "gives neither dossiers_per_session", 1),
    ("empty share", "storage:\n  dossiers_per_session:\n", "is empty", 2),
    ("zero share", "storage: {dossiers_per_session: 0}", "out of range", 1),
    ("share above 10", "storage: {dossiers_per_session: 11}", "out of range", 1),
    ("boolean share", "storage: {dossiers_per_session: true}", "is not a number", 1),
    ("a list", "storage: {dossiers_per_session: [1%, 2%]}", "is a list", 1),
    (
        "range upside down",
        "storage:\n  dossiers_per_session: {low: 4%, high: 2%}\n",
        "high must be above low",
        2,
    ),
    ("half a range", "storage:\n  dossiers_per_session: {low: 4%}\n", ".high' is missing", 2),
    ("range and value", "storage:\n  dossiers_per_session: {value: 3%, low: 2%}\n", "either", 2),
    ("bad dist", "storage:\n  dossiers_per_session: {low: 1%, high: 2%, dist: normal}\n",
     "options are uniform, loguniform", 2),
    ("negative per day", "storage: {dossiers_per_day: -5}", "out of range", 1),
    ("per day text", "storage: {dossiers_per_day: 'lots!'}", "is not a number", 1),
    ("per day too many", "storage: {dossiers_per_day: 2bn}", "out of range", 1),
    ("figure without derivation", "storage: {dossiers_per_session: share}", "no derivation", 1),
    ("unknown attachment kind", "storage:\n  dossiers_per_day: 5\n  attachments: {pdf: 1}\n",
     "unknown key 'pdf'; allowed here: photo, scan", 3),
    ("empty attachments", "storage:\n  dossiers_per_day: 5\n  attachments: {}\n", "empty mapping",
     3),
    ("attachments a list", "storage:\n  dossiers_per_day: 5\n  attachments: [1, 2]\n",
     "expected a mapping", 3),
    ("negative count", "storage:\n  dossiers_per_day: 5\n  attachments:\n    scan: -1\n",
     "out of range", 4),
    ("count as a range", "storage:\n  dossiers_per_day: 5\n  attachments:\n    scan: {low: 1}\n",
     "give one average count", 4),
    ("count as text", "storage:\n  dossiers_per_day: 5\n  attachments:\n    photo: two\n",
     "is not a number", 4),
    ("record without unit", "storage:\n  dossiers_per_day: 5\n  record_bytes: 20 kilobytes\n",
     "is not a size", 3),
    ("record too big", "storage:\n  dossiers_per_day: 5\n  record_bytes: 200MB\n", "out of range",
     3),
    ("record a range", "storage:\n  dossiers_per_day: 5\n  record_bytes: {low: 1, high: 2}\n",
     "give one size", 3),
    ("no days", "storage:\n  dossiers_per_day: 5\n  days_per_year: 0\n", "out of range", 3),
    ("too many days", "storage:\n  dossiers_per_day: 5\n  days_per_year: 400\n", "out of range",
     3),
    ("half a day", "storage:\n  dossiers_per_day: 5\n  days_per_year: 250.5\n",
     "not a whole number", 3),
    ("unknown key", "storage:\n  dossiers_per_day: 5\n  replicas: 3\n", "unknown key 'replicas'",
     3),
]  # fmt: skip


@pytest.mark.parametrize(
    ("case", "text", "fragment", "line"), MALFORMED, ids=[c[0] for c in MALFORMED]
)
def test_malformed_storage_is_one_located_line(
    case: str, text: str, fragment: str, line: int
) -> None:
    with pytest.raises(ConfigError) as info:
        _parse(text + "\n")
    message = str(info.value)
    assert "\n" not in message, case
    assert fragment in message, message
    assert message.startswith(f"{SOURCE}:{line}: capacity.storage"), message


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("storage: {dossiers_per_session: shares}", "'shares' is not a figure of the derivation;"
         " figures: share, dossiers, nothing, peak_per_s"),
        ("storage: {dossiers_per_day: nothing}", "the figure 'nothing' is not above 0"),
    ],
)  # fmt: skip
def test_a_wrong_figure_is_one_located_line(text: str, fragment: str) -> None:
    with pytest.raises(ScenarioError) as info:
        _parse(text, _derivation())
    message = str(info.value)
    assert "\n" not in message and fragment in message, message
    assert message.startswith(f"{SOURCE}:1: capacity.storage.dossiers_per"), message

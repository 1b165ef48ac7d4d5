"""The sizes of citizens' attachments, and how many a dossier carries.

Citizens attach scanned documents (PDF) and portrait photos (JPEG). Sizes are
lognormal around a median per kind; the medians are estimates (a phone-scanned A4
page at 150-200 dpi is a few hundred KB; a 4x6 cm portrait photo is ~100 KB), not
measurements from the portal. The load generator draws its upload bodies from these
profiles (:mod:`loadgen.attachments`) and ``dvcload plan`` sizes upload bandwidth and
storage from them (:mod:`planning.storage`); this neutral module is where both read them.

Attachments per dossier
-----------------------
:data:`DEFAULT_PER_DOSSIER` is derived from the reference portal's catalogue
(``portal/catalogue.py``): its journeys upload a dossier's *required* attachments only
(``portal/journeys.py``), and a filing picks a service with equal weights when a scenario
gives no ``mix.services``. Of the six services, three require one scan
(``health-certificate``, ``invoice``, ``medical-birth-certificate``), one requires one
photo (``portrait-photo``) and two require nothing (promotion notification, tax
settlement): 3/6 = 0.5 scans and 1/6 = 0.167 photos per dossier, 211 kB on average.
Other weightings of the same catalogue: ``scenarios/smoke.yaml``'s mix gives 0.55 scans
and 0.15 photos; the tax-deadline mix of ``scenarios/deadline-surge.yaml`` 0.25 and 0.05;
counting the optional attachments too, 7/6 scans. The catalogue asks for one document
per procedure, where real procedures often ask for several: treat the default as a low
estimate and give ``capacity.storage.attachments`` where better counts are known.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class AttachmentProfile:
    """Lognormal size of one kind of attachment (median and spread in bytes).

    A size is ``median_bytes * exp(sigma * Z)`` with ``Z`` standard normal, raised to
    ``min_bytes`` when below it.

    Examples
    --------
    >>> round(AttachmentProfile("application/pdf", median_bytes=320_000, sigma=0.6).mean_bytes)
    383110
    """

    content_type: str
    median_bytes: int
    sigma: float = 0.5
    min_bytes: int = 8 * 1024

    @property
    def mean_bytes(self) -> float:
        """Mean size (bytes) of ``max(min_bytes, X)``, ``X`` lognormal: exact.

        ``E[max(a, X)] = a Phi(z) + m exp(sigma^2 / 2) (1 - Phi(z - sigma))`` with
        ``z = ln(a / m) / sigma`` and ``m`` the median ([1]_, ch. 14, the partial
        expectation of a lognormal). For both built-in profiles ``z < -6``: the floor
        changes the lognormal's mean ``m exp(sigma^2 / 2)`` by less than 1e-8. The load
        generator also caps a body at the form's ``max_bytes`` and its 4 MiB buffer
        and truncates to whole bytes; for :data:`SCAN` the cap removes ~6 bytes (2e-5).

        References
        ----------
        .. [1] Johnson, N. L., Kotz, S. & Balakrishnan, N. (1994). *Continuous
           Univariate Distributions*, vol. 1, 2nd ed. Wiley, ch. 14.
        """
        m, s, a = float(self.median_bytes), self.sigma, float(self.min_bytes)
        if s == 0:
            return max(a, m)
        z = math.log(a / m) / s
        return a * _normal_cdf(z) + m * math.exp(s * s / 2) * _normal_cdf(s - z)


PHOTO = AttachmentProfile("image/jpeg", median_bytes=110_000, sigma=0.35)
SCAN = AttachmentProfile("application/pdf", median_bytes=320_000, sigma=0.6)
PROFILES: dict[str, AttachmentProfile] = {"scan": SCAN, "photo": PHOTO}
# Average attachments per dossier of each kind, from the reference portal's catalogue
# (required attachments, services weighted alike); see the module docstring.
DEFAULT_PER_DOSSIER: dict[str, float] = {"scan": 3 / 6, "photo": 1 / 6}


def _normal_cdf(z: float) -> float:
    return 0.5 * math.erfc(-z / math.sqrt(2.0))

"""Attachment bodies of realistic sizes, made once and sliced per upload.

Citizens attach scanned documents (PDF) and portrait photos (JPEG), sized by the
lognormal profiles of :mod:`dvcschema.attachments` (where the medians come from is
said there; ``dvcload plan`` sizes storage from the same profiles). Bytes come from
one random buffer made at start, so an upload costs a slice, not random generation in
the request loop.
"""

from __future__ import annotations

import math
import random

import numpy as np

from dvcschema.attachments import PHOTO, SCAN, AttachmentProfile
from models._rng import RngLike, as_generator

__all__ = [
    "BUFFER_BYTES",
    "JPEG_MAGIC",
    "PDF_MAGIC",
    "PHOTO",
    "PNG_MAGIC",
    "SCAN",
    "AttachmentFactory",
    "AttachmentProfile",
    "profile_for",
]

PDF_MAGIC = b"%PDF-1.7\n"
JPEG_MAGIC = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
BUFFER_BYTES = 4 * 1024 * 1024

_PHOTO_WORDS = ("photo", "portrait", "anh", "image")


def profile_for(kind: str) -> AttachmentProfile:
    """Photos for photo-like kinds, scanned PDFs for everything else."""
    lowered = kind.lower()
    return PHOTO if any(word in lowered for word in _PHOTO_WORDS) else SCAN


class AttachmentFactory:
    """Produce upload bodies; one per process, shared by all users.

    Parameters
    ----------
    rng
        Seed or generator for the shared random buffer.
    """

    def __init__(self, rng: RngLike = None) -> None:
        generator = as_generator(rng)
        self._buffer = generator.integers(0, 256, BUFFER_BYTES, dtype=np.uint8).tobytes()

    def body(self, kind: str, max_bytes: int, rng: random.Random) -> tuple[bytes, str]:
        """A body and its content type, sized by the kind's profile, capped at ``max_bytes``."""
        profile = profile_for(kind)
        size = int(profile.median_bytes * math.exp(rng.gauss(0.0, profile.sigma)))
        size = max(profile.min_bytes, min(size, max_bytes, BUFFER_BYTES))
        magic = JPEG_MAGIC if profile.content_type == "image/jpeg" else PDF_MAGIC
        start = rng.randrange(0, BUFFER_BYTES - size + 1)
        return magic + self._buffer[start : start + size - len(magic)], profile.content_type

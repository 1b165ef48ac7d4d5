"""VNeID-style login: identification levels and bearer tokens kept in memory.

Since 1 July 2024 VNeID is the only login to the portal (domain.md). Level 1 means
the citizen's data matched the population database; level 2 also verified by photo
or fingerprint, and is needed to pay. Without a population file the level is a
deterministic function of the CCCD, so that about 70% of citizens are level 2 and a
given citizen always gets the same level.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import threading
import time
from dataclasses import dataclass

TOKEN_LIFETIME_S = 3600
LEVEL_2_PERCENT = 70
# ASCII digits only: a Unicode pattern's digit class also matches '٠٠١...' (Arabic-Indic)
CCCD_PATTERN = re.compile(r"[0-9]{12}")
PASSCODE_PATTERN = re.compile(r"[0-9]{6}")
_BEARER = re.compile(r"Bearer\s+(\S+)\s*", re.IGNORECASE)
_PRUNE_EVERY = 4096


def derived_level(cccd: str) -> int:
    """The identification level (1 or 2) of a CCCD when no population is loaded.

    Level 2 when ``int(sha256(cccd).hexdigest()[:8], 16) % 100 < 70``.

    >>> derived_level("001203012345") in (1, 2)
    True
    """
    bucket = int(hashlib.sha256(cccd.encode("ascii")).hexdigest()[:8], 16) % 100
    return 2 if bucket < LEVEL_2_PERCENT else 1


@dataclass(frozen=True)
class Session:
    """Who a bearer token belongs to."""

    cccd: str
    level: int
    full_name: str | None
    expires_at: float


class TokenStore:
    """Bearer tokens (``secrets.token_urlsafe``) mapped to sessions, in memory.

    Thread-safe: login runs in a database worker thread, look-ups on the event loop.
    Expired tokens are refused and pruned now and then.
    """

    def __init__(self, lifetime_s: float = TOKEN_LIFETIME_S) -> None:
        self.lifetime_s = lifetime_s
        self._sessions: dict[str, Session] = {}
        self._lock = threading.Lock()
        self._issued = 0

    def __len__(self) -> int:
        return len(self._sessions)

    def issue(self, cccd: str, level: int, full_name: str | None) -> str:
        """A new token for this citizen."""
        token = secrets.token_urlsafe(32)
        session = Session(cccd, level, full_name, time.monotonic() + self.lifetime_s)
        with self._lock:
            self._sessions[token] = session
            self._issued += 1
            if self._issued % _PRUNE_EVERY == 0:
                self._prune()
        return token

    def session(self, authorization: str | None) -> Session | None:
        """The live session of an ``Authorization: Bearer <token>`` header, if any."""
        if not authorization:
            return None
        match = _BEARER.fullmatch(authorization)
        if match is None:
            return None
        with self._lock:
            session = self._sessions.get(match.group(1))
        if session is None or session.expires_at <= time.monotonic():
            return None
        return session

    def _prune(self) -> None:
        now = time.monotonic()
        for token in [t for t, s in self._sessions.items() if s.expires_at <= now]:
            del self._sessions[token]

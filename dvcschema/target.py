"""Targets: the embedded portal or an HTTP URL, and the loopback-only rule.

dvcload sends load only to the loopback range (127.0.0.0/8, ``localhost``, ``::1``)
unless a host is explicitly allowed (``allow_targets`` in the scenario or
``--allow-target HOST``). Host names other than ``localhost`` are not resolved: a
name is judged by its text, so the check needs no network and cannot be fooled by
DNS.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from urllib.parse import urlsplit

EMBEDDED = "embedded"
_LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost"})


@dataclass(frozen=True)
class Target:
    """Where the load goes: ``embedded`` (start the reference portal) or a base URL."""

    url: str | None  # None for embedded until the portal has started

    @property
    def embedded(self) -> bool:
        return self.url is None

    def describe(self) -> str:
        return EMBEDDED if self.url is None else self.url


def parse_target(value: object) -> Target:
    """Parse ``embedded`` or an ``http(s)://host[:port][/path]`` URL."""
    if value == EMBEDDED:
        return Target(url=None)
    if not isinstance(value, str):
        raise ValueError(f"{value!r} is not a target; use 'embedded' or an http(s):// URL")
    parts = urlsplit(value.strip())
    if parts.scheme not in ("http", "https"):
        raise ValueError(
            f"{value!r} is not an HTTP target; use 'embedded' or an http:// or https:// URL"
        )
    if not parts.hostname:
        raise ValueError(f"{value!r} has no host; use e.g. 'http://127.0.0.1:8080'")
    try:
        _ = parts.port
    except ValueError:
        raise ValueError(f"{value!r} has an invalid port; allowed: 1-65535") from None
    if parts.query or parts.fragment or parts.username or parts.password:
        raise ValueError(f"{value!r}: a target is a base URL without credentials, query or #")
    return Target(url=value.strip().rstrip("/"))


def is_loopback_host(host: str) -> bool:
    """True for ``localhost``, 127.0.0.0/8 and ``::1`` (judged by text, no DNS)."""
    name = host.strip("[]").lower().rstrip(".")
    if name in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def target_host(url: str) -> str:
    return (urlsplit(url).hostname or "").lower()


def refusal_reason(target: Target, allowed_hosts: frozenset[str]) -> str | None:
    """Why ``target`` may not be loaded, or ``None`` when it may."""
    if target.url is None:
        return None
    host = target_host(target.url)
    if is_loopback_host(host) or host in allowed_hosts:
        return None
    return (
        f"target {target.url!r} is not on the loopback range (127.0.0.0/8, localhost, ::1); "
        f"allow it explicitly with --allow-target {host} or 'allow_targets: [{host}]'"
    )

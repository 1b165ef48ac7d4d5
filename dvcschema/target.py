"""Targets: the embedded portal or an HTTP URL, and the one target policy.

dvcload sends load only to the loopback range unless a host is explicitly allowed
(``allow_targets`` in the scenario, ``--allow-target HOST`` or
``DVCLOAD_ALLOW_TARGETS``). The rule, judged on the text of the URL with no DNS:

- loopback is an IP literal in 127.0.0.0/8 or ``::1``, or the name ``localhost``
  (any case), which is *pinned* to 127.0.0.1 and ::1 and never resolved;
- any other name (``localhost.``, ``127.0.0.1.``, ``ip6-localhost``,
  ``localhost.localdomain``, ``example.vn``) and any other address is refused unless
  allowed; an allowed name is resolved once, before any load, and pinned to the
  addresses found (:func:`pin_hosts`);
- a name that is not a valid host name (``LOCALHOST..``) is not a target at all.

:class:`TargetPolicy` carries the rule into the process that makes the requests;
``loadgen.wire`` applies it to every request on the wire (redirect hops included),
so every entry point passes through it.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any
from urllib.parse import urlsplit

from dvcschema.errors import MAX_SHOWN_CHARS, shown

EMBEDDED = "embedded"
LOCALHOST = "localhost"
LOCALHOST_PINS = ("127.0.0.1", "::1")  # localhost, never resolved: IPv4 first
MAX_REDIRECTS = 10  # hops followed when a scenario opts in (http.follow_redirects)
_LABEL = re.compile(r"(?!-)[a-z0-9-]{1,63}(?<!-)", re.ASCII)
_SCHEMES = ("http", "https")


@dataclass(frozen=True)
class TlsOptions:
    """``http.tls``: ``verify`` certificates (default), against ``ca_file`` if given."""

    verify: bool = True
    ca_file: str | None = None

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {} if self.verify else {"verify": False}
        return out | ({"ca_file": self.ca_file} if self.ca_file else {})


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
        raise ValueError(f"{_shown(value)} is not a target; use 'embedded' or an http(s):// URL")
    url = value.strip()
    parts = urlsplit(url)
    if parts.scheme not in _SCHEMES:
        raise ValueError(
            f"{_shown(value)} is not an HTTP target; use 'embedded' or an http:// or https:// URL"
        )
    if not parts.hostname:
        raise ValueError(f"{_shown(value)} has no host; use e.g. 'http://127.0.0.1:8080'")
    if parts.query or parts.fragment or parts.username or parts.password:
        raise ValueError(f"{_shown(value)}: a target is a base URL without credentials, query or #")
    problem = _host_problem(parts.hostname) or _port_problem(parts)
    if problem:
        raise ValueError(f"{_shown(value)}: {problem}")
    return Target(url=url.rstrip("/"))


def parse_host(value: object) -> str:
    """An allowed host as written in ``allow_targets`` / ``--allow-target``: a valid
    host name or IP literal (``[::1]`` brackets optional), in lower case."""
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{_shown(value)} is not a host name, e.g. staging.example.vn")
    host = value.strip().lower()
    host = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    problem = _host_problem(host)
    if problem:
        raise ValueError(problem)
    return _normal_ip(host) or host


def is_loopback_host(host: str) -> bool:
    """True for ``localhost`` and IP literals in 127.0.0.0/8 or ``::1`` (text only, no DNS).

    ``localhost.`` and other names that a resolver might map to loopback are *not*
    loopback: the answer would come from DNS or ``/etc/hosts``, not from the text.
    """
    name = host.lower()
    if name == LOCALHOST:
        return True
    address = _ip(name)
    return address is not None and address.is_loopback


@dataclass(frozen=True)
class TargetPolicy:
    """Which hosts a process may send requests to, and where names connect.

    Parameters
    ----------
    allowed
        Hosts allowed beyond loopback (lower-case names or normalised IP literals).
    pins
        Name → IP literals it connects to. ``localhost`` is always pinned to
        :data:`LOCALHOST_PINS`; an allowed name is pinned by :func:`pin_hosts`.
    follow_redirects
        Follow 3xx responses (to allowed hosts only, each hop paced and counted).
    """

    allowed: frozenset[str] = frozenset()
    pins: Mapping[str, tuple[str, ...]] = field(
        default_factory=lambda: MappingProxyType({LOCALHOST: LOCALHOST_PINS})
    )
    follow_redirects: bool = False
    _verdicts: dict[tuple[str, str, int | None], str | None] = field(
        default_factory=dict, repr=False, compare=False
    )
    _noted: set[str] = field(default_factory=set, repr=False, compare=False)

    @property
    def max_redirects(self) -> int:
        return MAX_REDIRECTS if self.follow_redirects else 0

    def refusal(self, scheme: str, host: str, port: int | None = None) -> str | None:
        """Why a request to ``scheme://host:port`` may not be sent, or ``None``.

        Verdicts are cached per (scheme, host, port): the check costs a dictionary
        look-up per request once a host has been seen.
        """
        key = (scheme, host, port)
        try:
            return self._verdicts[key]
        except KeyError:
            verdict = self._judge(scheme, host.lower().strip("[]"), port)
            if len(self._verdicts) < 1024:  # hostile redirects must not grow it for ever
                self._verdicts[key] = verdict
            return verdict

    def note_refusal(self, reason: str) -> bool:
        """True the first time ``reason`` is noted (so that each is said once)."""
        if reason in self._noted or len(self._noted) >= 64:
            return False
        self._noted.add(reason)
        return True

    def url_refusal(self, url: str) -> str | None:
        """:meth:`refusal` for a whole URL (unparsable URLs are refused)."""
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError:
            return f"{_shown(url)} is not a valid URL"
        return self.refusal(parts.scheme, parts.hostname or "", port)

    def _judge(self, scheme: str, host: str, port: int | None) -> str | None:
        if scheme not in _SCHEMES:
            return f"{scheme!r} is not http or https"
        problem = _host_problem(host) or (None if port != 0 else "port 0 is not a port")
        if problem:
            return problem
        normal = _normal_ip(host) or host
        if is_loopback_host(normal) or normal in self.allowed:
            if _ip(normal) is None and normal not in self.pins:
                return f"{host!r} is allowed but was not resolved and pinned before the load"
            return None
        return (
            f"{_shown(host)} is not on the loopback range (127.0.0.0/8, localhost, ::1); "
            f"allow it explicitly with --allow-target {_shown(host, quote=False)} "
            f"or 'allow_targets: [{_shown(host, quote=False)}]'"
        )


def refusal_reason(target: Target, allowed_hosts: Iterable[str]) -> str | None:
    """Why ``target`` may not be loaded, or ``None`` when it may (checked by text only)."""
    if target.url is None:
        return None
    policy = TargetPolicy(allowed=frozenset(allowed_hosts))
    parts = urlsplit(target.url)
    host = parts.hostname or ""
    if _ip(host) is None and host != LOCALHOST and host in policy.allowed:
        return None  # an allowed name: pinned by pin_hosts before the load
    reason = policy.refusal(parts.scheme, host, parts.port)
    return None if reason is None else f"target {_shown(target.url)}: {reason}"


Resolve = Callable[[str], list[str]]


def pin_hosts(
    allowed: Iterable[str],
    *,
    follow_redirects: bool = False,
    resolve: Resolve | None = None,
) -> TargetPolicy:
    """The policy for a run: resolve each allowed *name* once, before any load, and pin it.

    IP literals need no resolution; ``localhost`` is pinned to :data:`LOCALHOST_PINS`
    without asking any resolver. Raises ``ValueError`` naming a host that does not
    resolve.
    """
    resolve = resolve or _system_resolve
    allowed = frozenset(parse_host(h) for h in allowed)
    pins: dict[str, tuple[str, ...]] = {LOCALHOST: LOCALHOST_PINS}
    for host in sorted(allowed):
        if _ip(host) is not None or host == LOCALHOST:
            continue
        addresses = tuple(dict.fromkeys(_normal_ip(a) or a for a in resolve(host)))
        if not addresses or any(_ip(a) is None for a in addresses):
            raise ValueError(f"allowed host {host!r} did not resolve to an IP address")
        pins[host] = addresses
    return TargetPolicy(allowed, MappingProxyType(pins), follow_redirects)


def describe_pins(policy: TargetPolicy) -> list[str]:
    """One line per allowed name and the addresses it is pinned to (for the operator)."""
    return [
        f"allowed host {host} pinned to {', '.join(addresses)}"
        for host, addresses in sorted(policy.pins.items())
        if host != LOCALHOST
    ]


def _system_resolve(host: str) -> list[str]:
    try:
        infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise ValueError(f"allowed host {host!r} does not resolve: {exc}") from None
    return [str(info[4][0]) for info in infos]


def _host_problem(host: str) -> str | None:
    """Why ``host`` (without brackets) is not a valid host name or IP literal, or None."""
    if _ip(host) is not None:
        return None
    if not host.isascii():
        return f"host {_shown(host)} is not ASCII; write its IDNA form (xn--...)"
    labels = host.lower().split(".")
    if len(host) > 253 or not all(_LABEL.fullmatch(label) for label in labels):
        return (
            f"host {_shown(host)} is not a valid host name (labels of letters, digits and "
            "hyphens separated by single dots, no trailing dot)"
        )
    return None


def _port_problem(parts: object) -> str | None:
    try:
        port = parts.port  # type: ignore[attr-defined]
    except ValueError:
        return "invalid port; allowed: 1-65535"
    return "port 0 is not a port; allowed: 1-65535" if port == 0 else None


def _ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text.strip("[]"))
    except ValueError:
        return None


def _normal_ip(text: str) -> str | None:
    address = _ip(text)
    return None if address is None else str(address)


def _shown(value: object, *, quote: bool = True) -> str:
    """A value for a message (:func:`dvcschema.errors.shown`; unquoted for a host)."""
    if quote or not isinstance(value, str):
        return shown(value)
    return value if len(value) <= MAX_SHOWN_CHARS else value[: MAX_SHOWN_CHARS - 3] + "..."

"""Access logs whose sessions, per-minute starts and routes are known by construction.

Every session has its own (ip, user agent) pair, except one visitor who comes back
after more than the session gap (two sessions, one key). Request times inside a
session are at least one second apart and at most ten minutes, so the 30-minute rule
splits exactly the sessions made here. Paths carry dossier codes, numbers, UUIDs and
12-digit ID numbers that the route names must collapse.
"""

from __future__ import annotations

import calendar
import gzip
import json
import random
import re
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

T0 = calendar.timegm((2025, 3, 31, 1, 0, 0))  # 08:00 in Vietnam (+07:00)
OFFSET_S = 7 * 3600
# (method, route name, path maker)
ROUTES = (
    ("GET", "GET /dossiers/[code]", lambda r: f"/dossiers/H{r.randrange(10, 99)}-{_n(r, 4)}"),
    ("GET", "GET /citizens/[cccd]/dossiers", lambda r: f"/citizens/{_cccd(r)}/dossiers?p=1"),
    ("GET", "GET /services", lambda r: f"/services?cccd={_cccd(r)}"),
    ("GET", "GET /payments/[id]", lambda r: f"/payments/{r.randrange(1, 10**7)}"),
    ("POST", "POST /dossiers", lambda r: "/dossiers"),
    ("GET", "GET /files/[uuid]", lambda r: f"/files/{uuid.UUID(int=r.getrandbits(128))}"),
    ("HEAD", "HEAD /", lambda r: "/"),
)  # fmt: skip


def _n(r: random.Random, digits: int) -> str:
    return f"250331-{r.randrange(10**digits):0{digits}d}"


def _cccd(r: random.Random) -> str:
    return f"{r.randrange(1, 96):03d}{r.randrange(2):01d}{r.randrange(10**8):08d}"


@dataclass
class Truth:
    starts_per_minute: Counter[int] = field(default_factory=Counter)  # minute from T0
    routes: Counter[str] = field(default_factory=Counter)
    sizes: Counter[int] = field(default_factory=Counter)  # sessions by request count
    sessions: int = 0
    ids: set[str] = field(default_factory=set)  # the 12-digit numbers written
    requests: list[tuple[float, str, str, str, str, float]] = field(default_factory=list)


def make_truth(minutes: int = 30, seed: int = 7, per_minute: tuple[int, int] = (2, 9)) -> Truth:
    r = random.Random(seed)
    truth = Truth()
    for minute in range(minutes):
        for s in range(r.randrange(*per_minute)):
            start = T0 + minute * 60 + r.uniform(0, 59.9)
            ip, ua = f"10.{minute}.{s}.{r.randrange(1, 250)}", f"Mozilla/5.0 (dvc {minute}-{s})"
            _session(r, truth, start, (ip, ua))
    # One visitor returns after 45 minutes: two sessions under one key.
    _session(r, truth, T0 + 1.0, ("10.250.0.1", "Returning/1.0"), max_gap_s=60.0)
    _session(r, truth, T0 + 46 * 60 + 5.0, ("10.250.0.1", "Returning/1.0"), max_gap_s=60.0)
    truth.requests.sort(key=lambda q: q[0])
    return truth


def _session(
    r: random.Random, truth: Truth, start: float, who: tuple[str, str], max_gap_s: float = 600.0
) -> None:
    ip, ua = who
    n = r.randrange(1, 8)
    t = start
    for i in range(n):
        method, name, make = r.choice(ROUTES)
        path = make(r)
        truth.ids.update(p for p in _numbers(path) if len(p) == 12)
        truth.routes[name] += 1
        truth.requests.append((t, ip, ua, method, path, r.uniform(0.005, 0.4)))
        if i < n - 1:
            t += r.uniform(1.0, max_gap_s)
    truth.starts_per_minute[int((start - T0) // 60)] += 1
    truth.sizes[n] += 1
    truth.sessions += 1


def _numbers(text: str) -> list[str]:
    return re.findall(r"[0-9]+", text)


def combined_lines(truth: Truth) -> list[str]:
    out = []
    for t, ip, ua, method, path, rt in truth.requests:
        stamp = time.strftime("%d/%b/%Y:%H:%M:%S", time.gmtime(int(t) + OFFSET_S))
        out.append(
            f'{ip} - - [{stamp} +0700] "{method} {path} HTTP/1.1" 200 512 "-" "{ua}" {rt:.3f}\n'
        )
    return out


def jsonl_lines(truth: Truth) -> list[str]:
    return [
        json.dumps({"ts": t, "remote_addr": ip, "http_user_agent": ua, "request_method": m,
                    "request_uri": p, "status": 200, "request_time": rt})
        + "\n"
        for t, ip, ua, m, p, rt in truth.requests
    ]  # fmt: skip


def write(path: Path, lines: list[str], *, gz: bool = False) -> Path:
    data = "".join(lines).encode()
    path.write_bytes(gzip.compress(data) if gz else data)
    return path

"""Non-loopback targets are refused before any request, checked without network access.

Each run of the real command line happens (a) in a new network namespace with no
usable interface (``unshare -n``, or ``unshare -rn`` when not root; skipped where
neither works) and (b) under a ``sitecustomize`` guard that records every
``connect``, ``connect_ex`` and ``getaddrinfo`` of the process (gevent's sockets
included: they are built on the same ``_socket.socket``) and blocks any that is not
loopback, so that even a broken refusal sends nothing anywhere. A refused run must
exit 2 with one line, attempt nothing and create no results folder; with
``--allow-target`` the refusal goes away and the guard sees the run try the host.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
GUARD = """
import ipaddress, os, _socket

_LOG = os.environ["DVCLOAD_NET_GUARD_LOG"]


def _note(what):
    with open(_LOG, "a", encoding="utf-8") as log:
        log.write(what + "\\n")


def _loopback(address):
    if isinstance(address, (str, bytes)):  # a Unix socket path
        return True
    host = address[0].decode() if isinstance(address[0], bytes) else str(address[0])
    if host in ("localhost", "ip6-localhost"):
        return True
    try:
        return ipaddress.ip_address(host.split("%")[0]).is_loopback
    except ValueError:
        return False


_getaddrinfo = _socket.getaddrinfo


def getaddrinfo(host, *args, **kwargs):
    _note(f"getaddrinfo {host!r}")
    if host is not None and not _loopback((host, 0)):
        raise _socket.gaierror(-2, "blocked by the test's network guard")
    return _getaddrinfo(host, *args, **kwargs)


class GuardedSocket(_socket.socket):
    __slots__ = ()  # socket.socket and gevent's socket add __weakref__ themselves

    def connect(self, address):
        _note(f"connect {address!r}")
        if not _loopback(address):
            raise OSError(101, "blocked by the test's network guard")
        return super().connect(address)

    def connect_ex(self, address):
        _note(f"connect_ex {address!r}")
        if not _loopback(address):
            return 101
        return super().connect_ex(address)


_socket.socket = GuardedSocket
_socket.getaddrinfo = getaddrinfo
_note("loaded" if "socket" not in __import__("sys").modules else "loaded too late")
"""
SCENARIO = """\
name: refusal
target: {target}
duration: 5s
population: {{size: 50}}
load: {{users: 1, spawn_rate: 1}}
"""
REFUSED_TARGETS = ["http://10.255.255.1:8080", "https://dichvucong.gov.vn"]


@functools.cache
def namespace_prefix() -> list[str] | None:
    """The ``unshare`` command that gives a child an empty network namespace, if any."""
    if shutil.which("unshare") is None:
        return None
    for prefix in (["unshare", "-n"], ["unshare", "-rn"]):
        probe = subprocess.run([*prefix, "true"], capture_output=True, timeout=10, check=False)
        if probe.returncode == 0:
            return prefix
    return None


def _dvcload(
    dvcload_cmd: list[str], tmp_path: Path, args: list[str], *, isolated: bool
) -> tuple[subprocess.CompletedProcess[str], list[str]]:
    """Run ``dvcload ARGS`` under the guard (and in an empty namespace if ``isolated``)."""
    guard_dir = tmp_path / "guard"
    guard_dir.mkdir(exist_ok=True)
    (guard_dir / "sitecustomize.py").write_text(GUARD, encoding="utf-8")
    log = tmp_path / "attempts.log"
    log.unlink(missing_ok=True)
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(guard_dir), str(REPO)]),
        "DVCLOAD_NET_GUARD_LOG": str(log),
    }
    env.pop("DVCLOAD_ALLOW_TARGETS", None)
    prefix: list[str] = []
    if isolated:
        found = namespace_prefix()
        if found is None:
            pytest.skip("no way to make an empty network namespace here (unshare -n / -rn)")
        prefix = found
    proc = subprocess.run(
        [*prefix, *dvcload_cmd, *args],
        capture_output=True, text=True, timeout=120, cwd=tmp_path, env=env, check=False,
        stdin=subprocess.DEVNULL,
    )  # fmt: skip
    attempts = log.read_text(encoding="utf-8").splitlines() if log.exists() else []
    return proc, attempts


def _scenario(tmp_path: Path, target: str) -> Path:
    path = tmp_path / "scenario.yaml"
    path.write_text(SCENARIO.format(target=target), encoding="utf-8")
    return path


def _assert_refused(
    proc: subprocess.CompletedProcess[str], attempts: list[str], out: Path, host: str
) -> None:
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert proc.returncode == 2, proc.stderr
    assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert "loopback" in lines[0] and f"--allow-target {host}" in lines[0], lines[0]
    assert attempts == ["loaded"], attempts  # the guard ran, and saw no attempt at all
    assert not out.exists(), sorted(out.rglob("*"))


@pytest.mark.parametrize("isolated", [True, False], ids=["empty-namespace", "guard-only"])
@pytest.mark.parametrize("target", REFUSED_TARGETS)
def test_a_non_loopback_target_in_the_scenario_is_refused_before_any_request(
    dvcload_cmd: list[str], tmp_path: Path, target: str, isolated: bool
) -> None:
    out = tmp_path / "results"
    scenario = _scenario(tmp_path, target)
    proc, attempts = _dvcload(
        dvcload_cmd, tmp_path, ["run", str(scenario), "--out", str(out)], isolated=isolated
    )
    host = target.split("//")[1].split(":", maxsplit=1)[0]
    _assert_refused(proc, attempts, out, host)


@pytest.mark.parametrize("target", REFUSED_TARGETS)
def test_a_non_loopback_target_on_the_command_line_is_refused_before_any_request(
    dvcload_cmd: list[str], tmp_path: Path, target: str
) -> None:
    out = tmp_path / "results"
    scenario = _scenario(tmp_path, "embedded")
    proc, attempts = _dvcload(
        dvcload_cmd,
        tmp_path,
        ["run", str(scenario), "--target", target, "--out", str(out)],
        isolated=True,
    )
    host = target.split("//")[1].split(":", maxsplit=1)[0]
    _assert_refused(proc, attempts, out, host)


def test_allow_target_lifts_the_refusal_and_the_guard_sees_the_attempt(
    dvcload_cmd: list[str], tmp_path: Path
) -> None:
    """The control: the same run, allowed, does try the host (so the checks above can fail)."""
    out = tmp_path / "results"
    scenario = _scenario(tmp_path, REFUSED_TARGETS[0])
    args = ["run", str(scenario), "--allow-target", "10.255.255.1", "--duration", "2s",
            "--out", str(out), "--quiet"]  # fmt: skip
    proc, attempts = _dvcload(dvcload_cmd, tmp_path, args, isolated=True)
    assert "loopback" not in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr, proc.stderr[-2000:]
    assert proc.returncode != 2, proc.stderr
    assert attempts[0] == "loaded"
    assert any("10.255.255.1" in line for line in attempts[1:]), attempts
    assert out.exists()

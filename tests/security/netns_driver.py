"""Run one escape-path case inside the network namespace the test made for it.

Usage (from ``conftest.py``, inside ``unshare -n -m ...`` with ``lo`` up and
203.0.113.7 added to it)::

    python netns_driver.py SPEC_JSON

The driver starts the capture server on 203.0.113.7 (ports 80, 443, 8080), the
loopback server the case needs, optionally bind-mounts a hosts file over /etc/hosts
(only when it is in a mount namespace of its own), runs the case's flow with a hard
timeout on every command, stops everything it started by PID, and prints one JSON
object on stdout. Every token ``@PYTHON@``, ``@URL@``, ``@PORT@``, ``@WORK@`` and
``@REPO@`` in the spec's commands, environment and files is replaced first.
"""

from __future__ import annotations

import json
import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
import traceback
import urllib.error
import urllib.parse
import urllib.request
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from escape_servers import (
    OUTSIDE_HOST,
    CaptureServer,
    RecordingServer,
    ServerGroup,
    free_port,
    ok_responder,
    redirect_responder,
    refuses_connection,
)

REPO = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
TAIL_CHARS = 3000
STOP_GRACE_S = 8.0
POLL_S = 0.1
READY_PREFIX = "dvcload portal listening on "
_NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class Child:
    """A process started by the driver, output in files, stopped by its own PID."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str], work: Path) -> None:
        self.name = name
        self.out_path, self.err_path = work / f"{name}.out", work / f"{name}.err"
        with self.out_path.open("wb") as out, self.err_path.open("wb") as err:
            self.started = time.monotonic()
            self.proc = subprocess.Popen(
                argv, cwd=REPO, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=err
            )
        self.ended: float | None = None
        self.timed_out = False

    def __enter__(self) -> Child:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def wait(self, timeout_s: float) -> bool:
        """Wait up to ``timeout_s`` for the process to exit by itself; True if it did."""
        try:
            self.proc.wait(timeout=max(timeout_s, 0.0))
        except subprocess.TimeoutExpired:
            return False
        self.ended = self.ended or time.monotonic()
        return True

    def stop(self) -> None:
        """SIGTERM by PID, then SIGKILL by PID if it is still there after the grace."""
        if self.proc.poll() is not None:
            self.ended = self.ended or time.monotonic()
            return
        self.proc.send_signal(signal.SIGTERM)
        if not self.wait(STOP_GRACE_S):
            self.proc.kill()
            self.proc.wait(timeout=10)
        self.ended = self.ended or time.monotonic()

    def result(self) -> dict[str, Any]:
        stdout = self.out_path.read_text(encoding="utf-8", errors="replace")
        stderr = self.err_path.read_text(encoding="utf-8", errors="replace")
        return {
            "returncode": self.proc.returncode,
            "timed_out": self.timed_out,
            "elapsed_s": round((self.ended or time.monotonic()) - self.started, 3),
            "stdout_tail": stdout[-TAIL_CHARS:],
            "stderr_tail": stderr[-TAIL_CHARS:],
            "stderr_lines": len([line for line in stderr.splitlines() if line.strip()]),
            "summary": _summary(stdout),
        }


def run_bounded(child: Child, timeout_s: float) -> dict[str, Any]:
    """Wait for ``child`` up to ``timeout_s``, stop it if it is still running."""
    if not child.wait(timeout_s):
        child.timed_out = True
    child.stop()
    return child.result()


def _summary(stdout: str) -> dict[str, Any] | None:
    """``requests`` and ``failures`` of the results folder named on stdout's last line."""
    lines = stdout.strip().splitlines()
    if not lines:
        return None
    path = Path(lines[-1].strip()) / "summary.json"
    if not path.is_file():
        return None
    summary = json.loads(path.read_text(encoding="utf-8"))
    return {"requests": summary.get("requests"), "failures": summary.get("failures")}


def substitute(value: Any, tokens: dict[str, str]) -> Any:
    if isinstance(value, str):
        for token, text in tokens.items():
            value = value.replace(token, text)
        return value
    if isinstance(value, list):
        return [substitute(v, tokens) for v in value]
    if isinstance(value, dict):
        return {k: substitute(v, tokens) for k, v in value.items()}
    return value


def base_env(extra: dict[str, str]) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DVCLOAD_", "LOCUST_")) and "proxy" not in k.lower()
    }
    env.update({"PYTHONUNBUFFERED": "1", "DVCLOAD_PASSCODE": "654321"}, **extra)
    return env


def mount_hosts(lines: list[str], outer_mnt_ns: str, work: Path) -> dict[str, Any]:
    """Bind-mount a hosts file over /etc/hosts, only inside a mount namespace of our own."""
    names = sorted({n for line in lines for n in line.split()[1:]})
    report: dict[str, Any] = {"mounted": False}
    if os.readlink("/proc/self/ns/mnt") == outer_mnt_ns:
        report["reason"] = "not in a mount namespace of its own; /etc/hosts left alone"
        return report
    hosts = work / "hosts"
    hosts.write_text("\n".join(lines) + "\n", encoding="utf-8")
    proc = subprocess.run(
        ["mount", "--bind", str(hosts), "/etc/hosts"],
        capture_output=True, text=True, timeout=10, check=False,
    )  # fmt: skip
    report["mounted"] = proc.returncode == 0
    report["reason"] = proc.stderr.strip()
    report["resolves"] = {name: _resolve(name) for name in names}
    return report


def _resolve(name: str) -> list[str]:
    try:
        return sorted({str(info[4][0]) for info in socket.getaddrinfo(name, 80)})
    except OSError as exc:
        return [f"error: {exc}"]


class Portal:
    """``dvcload portal`` on 127.0.0.1 with an access log; ready when it says so."""

    def __init__(self, work: Path, env: dict[str, str], timeout_s: float = 30.0) -> None:
        self.log = work / "portal_access.jsonl"
        argv = [sys.executable, "-m", "dvcload", "portal", "--port", "0",
                "--access-log", str(self.log)]  # fmt: skip
        self.proc = subprocess.Popen(
            argv, cwd=REPO, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=(work / "portal.err").open("wb"), text=True,
        )  # fmt: skip
        lines: queue.Queue[str] = queue.Queue()
        assert self.proc.stdout is not None
        stdout = self.proc.stdout
        threading.Thread(target=lambda: [lines.put(x) for x in stdout], daemon=True).start()
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline and self.proc.poll() is None:
            try:
                line = lines.get(timeout=POLL_S)
            except queue.Empty:
                continue
            if line.startswith(READY_PREFIX):
                self.url = line[len(READY_PREFIX) :].strip()
                return
        self.stop()
        raise RuntimeError(f"the portal did not report ready within {timeout_s:g} s")

    @property
    def port(self) -> int:
        return int(urllib.parse.urlsplit(self.url).port or 0)

    def report(self) -> dict[str, Any]:
        times = []
        if self.log.exists():
            for line in self.log.read_text(encoding="utf-8").splitlines():
                if line.strip():
                    times.append(float(json.loads(line)["t_arrival"]))
        return {"requests": len(times), "times": sorted(times), "first": []}

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=STOP_GRACE_S)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)


def start_loopback(stack: ExitStack, spec: dict[str, Any], env: dict[str, str], work: Path) -> Any:
    """The case's server on 127.0.0.1: ``ok``, ``redirect``, ``loop``, ``portal`` or
    ``none``."""
    kind = spec.get("kind", "none")
    port = int(spec.get("port", 0))
    if kind == "ok":
        server = stack.enter_context(RecordingServer(ok_responder, port=port))
        if not spec.get("ipv6"):
            return server
        server6 = stack.enter_context(RecordingServer(ok_responder, host="::1", port=server.port))
        return ServerGroup([server, server6])
    if kind in ("redirect", "loop"):
        location = spec["location"] if kind == "redirect" else "/loop"
        responder = redirect_responder(int(spec.get("status", 302)), location)
        return stack.enter_context(RecordingServer(responder, port=port))
    if kind == "portal":
        portal = Portal(work, env)
        stack.callback(portal.stop)
        return portal
    return None


def flow_commands(spec: dict[str, Any], ctx: dict[str, Any]) -> dict[str, Any]:
    """Run the spec's commands one after the other, each with its timeout."""
    steps = []
    for k, step in enumerate(spec["steps"]):
        env = base_env(step.get("env", {}))
        child = ctx["stack"].enter_context(Child(f"step{k}", step["argv"], env, ctx["work"]))
        result = run_bounded(child, float(step["timeout_s"]))
        result["capture_connections_after"] = ctx["capture"].connections
        server = ctx["server"]
        result["server_requests_after"] = server.report()["requests"] if server else None
        steps.append(result)
    return {"steps": steps}


def flow_with_background(spec: dict[str, Any], ctx: dict[str, Any]) -> dict[str, Any]:
    """Start the spec's ``background`` commands (e.g. workers), run its steps, then stop
    the background ones by their PIDs and report them too."""
    port = str(free_port())
    background = []
    for k, step in enumerate(substitute(spec["background"], {"@FREE_PORT@": port})):
        child = Child(f"background{k}", step["argv"], base_env(step.get("env", {})), ctx["work"])
        background.append(ctx["stack"].enter_context(child))
    out = flow_commands(substitute(spec, {"@FREE_PORT@": port}), ctx)
    for child in background:
        child.wait(float(spec.get("background_grace_s", 10)))
        child.stop()
    out["background"] = [child.result() for child in background]
    return out


def flow_web_ui(spec: dict[str, Any], ctx: dict[str, Any]) -> dict[str, Any]:
    """Locust's web UI: where it listens, and what a /swarm with an outside host does."""
    web_port = free_port()
    argv = [*spec["argv"], "--web-port", str(web_port)]
    child = ctx["stack"].enter_context(Child("locust-ui", argv, base_env({}), ctx["work"]))
    out: dict[str, Any] = {"web_port": web_port}
    ready_s = _poll_http(f"http://127.0.0.1:{web_port}/", child, float(spec["ready_timeout_s"]))
    out["loopback_answered"] = ready_s is not None
    out["ready_s"] = ready_s
    if ready_s is not None:
        out["outside_refused"] = refuses_connection(OUTSIDE_HOST, web_port)
        out["swarm"] = _post_form(f"http://127.0.0.1:{web_port}/swarm", spec["swarm_form"])
        out["capture_wait_s"] = _wait_capture(ctx["capture"], float(spec["watch_s"]))
    child.stop()
    out["locust"] = child.result()
    return out


def flow_evil_master(spec: dict[str, Any], ctx: dict[str, Any]) -> dict[str, Any]:
    """A master that sends an outside host to a ``dvcload worker``."""
    master_port = free_port()
    stack, work = ctx["stack"], ctx["work"]
    master_argv = [
        sys.executable,
        str(HERE / "evil_master.py"),
        str(master_port),
        spec["master_host"],
        str(spec["load_s"]),
        str(spec["connect_timeout_s"]),
    ]
    master = stack.enter_context(Child("master", master_argv, base_env({}), work))
    worker_argv = substitute(spec["worker_argv"], {"@MASTER_PORT@": str(master_port)})
    worker = stack.enter_context(Child("worker", worker_argv, base_env({}), work))
    master_result = run_bounded(master, float(spec["master_timeout_s"]))
    worker_result = run_bounded(worker, float(spec["worker_timeout_s"]))
    lines = master_result["stdout_tail"].strip().splitlines()
    told = json.loads(lines[-1]) if lines and lines[-1].startswith("{") else None
    return {"master": master_result, "master_said": told, "worker": worker_result}


def _poll_http(url: str, child: Child, timeout_s: float) -> float | None:
    """Seconds until ``url`` answered (any HTTP status), None if it never did."""
    started = time.monotonic()
    while time.monotonic() - started < timeout_s and child.proc.poll() is None:
        try:
            with _NO_PROXY.open(url, timeout=1.0):
                return round(time.monotonic() - started, 3)
        except urllib.error.HTTPError:
            return round(time.monotonic() - started, 3)
        except OSError:
            time.sleep(POLL_S)
    return None


def _post_form(url: str, form: dict[str, str]) -> dict[str, Any]:
    data = urllib.parse.urlencode(form).encode()
    try:
        with _NO_PROXY.open(urllib.request.Request(url, data=data), timeout=10) as resp:
            return {"status": resp.status, "body": resp.read(2000).decode(errors="replace")}
    except urllib.error.HTTPError as exc:
        return {"status": exc.code, "body": exc.read(2000).decode(errors="replace")}
    except OSError as exc:
        return {"status": None, "body": f"{type(exc).__name__}: {exc}"}


def _wait_capture(capture: CaptureServer, watch_s: float) -> float | None:
    """Watch the capture for ``watch_s``; the seconds until its first connection, if any."""
    started = time.monotonic()
    while time.monotonic() - started < watch_s:
        if capture.connections:
            return round(time.monotonic() - started, 3)
        time.sleep(POLL_S)
    return None


FLOWS = {
    "commands": flow_commands,
    "with_background": flow_with_background,
    "web_ui": flow_web_ui,
    "evil_master": flow_evil_master,
}


def run_case(spec: dict[str, Any]) -> dict[str, Any]:
    work = Path(spec["work"])
    work.mkdir(parents=True, exist_ok=True)
    out: dict[str, Any] = {"pid": os.getpid(), "net_ns": os.readlink("/proc/self/ns/net")}
    if spec.get("hosts"):
        out["hosts"] = mount_hosts(spec["hosts"], spec["outer_mnt_ns"], work)
    with ExitStack() as stack, CaptureServer() as capture:
        server = start_loopback(stack, spec.get("loopback", {}), base_env({}), work)
        url = getattr(server, "url", "")
        tokens = {"@PYTHON@": sys.executable, "@URL@": url, "@WORK@": str(work),
                  "@REPO@": str(REPO), "@PORT@": str(getattr(server, "port", ""))}  # fmt: skip
        spec = substitute(spec, tokens)
        for name, text in spec.get("files", {}).items():
            (work / name).write_text(text, encoding="utf-8")
        ctx = {"stack": stack, "capture": capture, "server": server, "work": work}
        out.update(FLOWS[spec.get("flow", "commands")](spec, ctx))
        stack.close()  # stop the case's processes and servers before the final count
        out["server"] = server.report() if server is not None else None
        out["capture"] = capture.report(spec.get("needles", []))
    return out


def main(argv: list[str]) -> int:
    spec = json.loads(argv[1])
    Path(spec["work"]).mkdir(parents=True, exist_ok=True)
    try:
        out = run_case(spec)
    except Exception:
        out = {"driver_error": traceback.format_exc()}
    text = json.dumps(out)
    (Path(spec["work"]) / "report.json").write_text(text, encoding="utf-8")  # for a post-mortem
    print(text, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

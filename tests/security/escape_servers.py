"""The servers of the escape-path cases, run by ``netns_driver.py`` inside the case's
own network namespace.

- :class:`CaptureServer` listens on the namespace's "outside" address (203.0.113.7, a
  TEST-NET-3 address put on the namespace's ``lo``) on ports 80, 443 and 8080, records
  every connection and the bytes it receives, and answers each request head with a
  minimal HTTP 200, so that a client that reached it would go on sending.
- :class:`RecordingServer` is an HTTP server on loopback that answers every request as
  its responder says (200, or a redirect) and records when each request arrived.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

OUTSIDE_HOST = "203.0.113.7"
CAPTURE_PORTS = (80, 443, 8080)
KEPT_BYTES = 1 << 20  # bytes kept for searching (the first MiB of all connections)
HEAD_CHARS = 600  # bytes of the first connection shown in a report
_POLL_S = 0.2
_OK_REPLY = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"

Responder = Callable[[str, str], tuple[int, dict[str, str], bytes]]


class CaptureServer:
    """Records every TCP connection to ``host`` on ``ports`` (threads, no gevent)."""

    def __init__(self, host: str = OUTSIDE_HOST, ports: tuple[int, ...] = CAPTURE_PORTS) -> None:
        self._listeners = [socket.create_server((host, port), backlog=256) for port in ports]
        for listener in self._listeners:
            listener.settimeout(_POLL_S)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self.connections_by_port: dict[int, int] = dict.fromkeys(ports, 0)
        self.bytes_received = 0
        self._kept = bytearray()

    def __enter__(self) -> CaptureServer:
        for listener in self._listeners:
            self._spawn(self._accept, listener)
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for thread in list(self._threads):
            thread.join(timeout=2 * _POLL_S + 1)
        for listener in self._listeners:
            listener.close()

    @property
    def connections(self) -> int:
        with self._lock:
            return sum(self.connections_by_port.values())

    def report(self, needles: list[str]) -> dict[str, Any]:
        with self._lock:
            kept = bytes(self._kept)
            return {
                "connections": sum(self.connections_by_port.values()),
                "by_port": {str(p): n for p, n in self.connections_by_port.items()},
                "bytes": self.bytes_received,
                "head": kept[:HEAD_CHARS].decode("latin-1"),
                "contains": {n: n.encode() in kept for n in needles},
            }

    def _spawn(self, target: Callable[..., None], *args: Any) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True)
        self._threads.append(thread)
        thread.start()

    def _accept(self, listener: socket.socket) -> None:
        port = listener.getsockname()[1]
        while not self._stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with self._lock:
                self.connections_by_port[port] += 1
            self._spawn(self._serve, conn)

    def _serve(self, conn: socket.socket) -> None:
        conn.settimeout(_POLL_S)
        pending = b""
        with conn:
            while not self._stop.is_set():
                try:
                    data = conn.recv(65536)
                except TimeoutError:
                    continue
                except OSError:
                    return
                if not data:
                    return
                self._keep(data)
                window = pending + data  # 3 carried bytes: a head end split across reads
                heads = window.count(b"\r\n\r\n")  # one reply per request head seen
                pending = window[-3:]
                try:
                    conn.sendall(_OK_REPLY * heads)
                except OSError:
                    return

    def _keep(self, data: bytes) -> None:
        with self._lock:
            self.bytes_received += len(data)
            room = KEPT_BYTES - len(self._kept)
            if room > 0:
                self._kept += data[:room]


def ok_responder(_method: str, _path: str) -> tuple[int, dict[str, str], bytes]:
    return 200, {"Content-Type": "application/json"}, b"{}"


def redirect_responder(status: int, location: str) -> Responder:
    def respond(_method: str, _path: str) -> tuple[int, dict[str, str], bytes]:
        return status, {"Location": location}, b""

    return respond


@dataclass(frozen=True)
class Arrival:
    t: float  # Unix time the request head was read
    method: str
    path: str


class RecordingServer:
    """An HTTP/1.1 server on ``host:port`` (0: ephemeral) that records every request."""

    def __init__(self, responder: Responder, host: str = "127.0.0.1", port: int = 0) -> None:
        self.arrivals: list[Arrival] = []
        lock = threading.Lock()
        arrivals = self.arrivals

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _any(self) -> None:
                with lock:
                    arrivals.append(Arrival(time.time(), self.command, self.path))
                length = int(self.headers.get("Content-Length") or 0)
                if length:
                    self.rfile.read(length)
                status, headers, body = responder(self.command, self.path)
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:
                self._any()

            def do_POST(self) -> None:
                self._any()

            def do_PUT(self) -> None:
                self._any()

            def do_DELETE(self) -> None:
                self._any()

            def log_message(self, *_args: Any) -> None:
                pass

        server_class = _ThreadingHTTPServer6 if ":" in host else ThreadingHTTPServer
        self._server = server_class((host, port), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": _POLL_S}, daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://[{host}]:{port}" if ":" in str(host) else f"http://{host}:{port}"

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def __enter__(self) -> RecordingServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def report(self) -> dict[str, Any]:
        arrivals = list(self.arrivals)
        return {
            "requests": len(arrivals),
            "times": [a.t for a in arrivals],
            "first": [f"{a.method} {a.path}" for a in arrivals[:5]],
        }


class _ThreadingHTTPServer6(ThreadingHTTPServer):
    address_family = socket.AF_INET6


class ServerGroup:
    """Several recording servers (e.g. 127.0.0.1 and ::1 on one port) counted as one."""

    def __init__(self, servers: list[RecordingServer]) -> None:
        self.servers = servers
        self.url, self.port = servers[0].url, servers[0].port

    def report(self) -> dict[str, Any]:
        reports = [s.report() for s in self.servers]
        return {
            "requests": sum(r["requests"] for r in reports),
            "times": sorted(t for r in reports for t in r["times"]),
            "first": [line for r in reports for line in r["first"]][:5],
            "by_server": {s.url: r["requests"] for s, r in zip(self.servers, reports, strict=True)},
        }


def free_port(host: str = "127.0.0.1") -> int:
    """A port nobody listens on at the moment (bound, read, released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def refuses_connection(host: str, port: int, timeout_s: float = 2.0) -> bool | None:
    """True when ``host:port`` refuses a TCP connection, False when it accepts it,
    None when neither happened within ``timeout_s``."""
    try:
        with socket.create_connection((host, port), timeout=timeout_s):
            return False
    except ConnectionRefusedError:
        return True
    except OSError:
        return None

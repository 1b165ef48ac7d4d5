"""Serving the portal: build its state, bind a loopback socket, run uvicorn.

The socket is bound here (so ``--port 0`` gives an ephemeral port whose number is
known before serving), then handed to ``uvicorn.Server``. uvloop and httptools are
used when installed (uvicorn's ``auto``). The ready callback runs once uvicorn
accepts connections. SIGTERM and SIGINT stop the server gracefully: in-flight
requests get up to :data:`GRACEFUL_SHUTDOWN_S`, then the access log is flushed and
the database closed (the application's lifespan).
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import ipaddress
import os
import signal
import socket
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from types import FrameType

import uvicorn

from dvcschema.errors import ConfigError
from portal.access_log import AccessLogWriter
from portal.app import create_app
from portal.auth import TokenStore
from portal.config import resolve_config
from portal.injector import FaultInjector
from portal.jobs import PortalState
from portal.network import TierNetwork
from portal.population import load_population
from portal.protocol import stamping_protocol
from portal.storage import Database

GRACEFUL_SHUTDOWN_S = 5
DB_EXTRA_WORKERS = 4
ADMIN_TOKEN_ENV = "DVCLOAD_PORTAL_ADMIN_TOKEN"


@dataclass(frozen=True)
class PortalOptions:
    """The portal's command-line options (``None``: not given)."""

    config: str | None = None
    host: str = "127.0.0.1"
    port: int = 0
    servers: int | None = None
    service_time_ms: float | None = None
    access_log: str | None = None
    database: str | None = None
    population: str | None = None
    seed: int | None = None
    stop_on_stdin_close: bool = False


def check_loopback(host: str) -> str:
    """The host as an IP literal if it is a loopback address; else ConfigError."""
    if host == "localhost":
        return "127.0.0.1"
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        address = None
    if address is None or not address.is_loopback:
        raise ConfigError(
            f"{host!r} is not a loopback address; this portal listens on 127.0.0.1 or ::1 only",
            field="--host",
        )
    return str(address)


def url_of(host: str, port: int) -> str:
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def bind_socket(host: str, port: int) -> socket.socket:
    """A listening TCP socket on a loopback address (``port`` 0: ephemeral)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(2048)
    except OSError as exc:
        sock.close()
        reason = "address already in use" if exc.errno == errno.EADDRINUSE else exc.strerror
        raise ConfigError(
            f"cannot listen on {url_of(host, port)}: {reason}", field="--port"
        ) from None
    sock.setblocking(False)
    return sock


def build_state(options: PortalOptions) -> PortalState:
    """Validate the configuration and open the database and access log."""
    config = resolve_config(
        options.config,
        servers=options.servers,
        service_time_ms=options.service_time_ms,
        seed=options.seed,
    )
    db_servers = config.tiers["db"].servers if "db" in config.tiers else 1
    database = Database(options.database, workers=db_servers + DB_EXTRA_WORKERS)
    try:
        population_size = 0
        if options.population is not None:
            population_size = database.call(load_population, options.population)
        access_log = AccessLogWriter(options.access_log)
    except BaseException:
        database.close()
        raise
    return PortalState(
        config=config,
        network=TierNetwork(config),
        database=database,
        tokens=TokenStore(),
        access_log=access_log,
        population_loaded=options.population is not None,
        population_size=population_size,
        faults=FaultInjector(config.faults, config.seed),
        admin_token=os.environ.get(ADMIN_TOKEN_ENV) or None,
    )


def serve(options: PortalOptions, on_ready: Callable[[str], None]) -> None:
    """Run the portal until SIGTERM/SIGINT; ``on_ready(url)`` once it accepts connections."""
    host = check_loopback(options.host)
    if not 0 <= options.port <= 65535:
        raise ConfigError(f"{options.port!r} is out of range; allowed: 0-65535", field="--port")
    state = build_state(options)
    try:
        sock = bind_socket(host, options.port)
    except BaseException:
        state.access_log.close()
        state.database.close()
        raise
    url = url_of(host, sock.getsockname()[1])
    config = uvicorn.Config(
        create_app(state),
        lifespan="on",
        access_log=False,
        log_level="warning",
        loop="auto",
        http=stamping_protocol(),
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_S,
    )
    server = _Server(config, lambda: on_ready(url), options.stop_on_stdin_close)
    with _quiet_signals():
        try:
            server.run(sockets=[sock])
        finally:
            sock.close()
            state.access_log.close()
            state.database.close()


class _Server(uvicorn.Server):
    """uvicorn's server, calling back once started and optionally watching stdin."""

    def __init__(
        self, config: uvicorn.Config, on_started: Callable[[], None], watch_stdin: bool
    ) -> None:
        super().__init__(config)
        self._on_started = on_started
        self._watch_stdin = watch_stdin

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=sockets)
        if self.started:
            if self._watch_stdin:
                _watch_stdin(self)
            self._on_started()


def _watch_stdin(server: uvicorn.Server) -> None:
    """Stop the server when stdin reaches end of file (the launcher went away)."""
    loop = asyncio.get_running_loop()
    fd = sys.stdin.fileno()

    def readable() -> None:
        try:
            data = os.read(fd, 4096)
        except OSError:
            data = b""
        if not data:
            loop.remove_reader(fd)
            server.should_exit = True

    loop.add_reader(fd, readable)


@contextlib.contextmanager
def _quiet_signals() -> Iterator[None]:
    """Let uvicorn handle SIGTERM/SIGINT; afterwards its re-raised signal is a no-op."""
    previous = {sig: signal.signal(sig, _ignore) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _ignore(sig: int, frame: FrameType | None) -> None:
    """uvicorn re-raises the signal that stopped it; the graceful stop is already done."""

"""Arrival stamps taken when the request's bytes are read, not when the app starts.

The access log's ``t_arrival`` is the ground truth the harness's arrival process is
checked against. An ASGI app only starts once the event loop reaches its task, after
every other callback that became ready in the same loop iteration, so stamping in the
app compresses the gaps between requests that arrive while the loop is busy. This
protocol (uvicorn's httptools protocol) stamps the time in ``on_message_begin``,
which httptools calls from ``data_received`` as it parses the request's first bytes.

The protocol also puts the connection's transport in the scope, so that an injected
connection reset (:mod:`portal.fault_replies`) can close the TCP connection without
a response.
"""

from __future__ import annotations

import time
from typing import Any

RECEIVED_SCOPE_KEY = "dvcload.t_received"
TRANSPORT_SCOPE_KEY = "dvcload.transport"


def stamping_protocol() -> Any:
    """The protocol class for ``uvicorn.Config(http=...)``, or ``"auto"`` without httptools."""
    try:
        from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
    except ImportError:  # httptools missing: uvicorn's h11 protocol, app-start stamps
        return "auto"

    class StampingHttpToolsProtocol(HttpToolsProtocol):
        def on_message_begin(self) -> None:
            super().on_message_begin()
            self.scope[RECEIVED_SCOPE_KEY] = time.time()  # type: ignore[literal-required]
            self.scope[TRANSPORT_SCOPE_KEY] = self.transport  # type: ignore[literal-required]

    return StampingHttpToolsProtocol

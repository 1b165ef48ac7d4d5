"""The dvcload reference portal: a physical queueing system with known parameters.

An ASGI application (Starlette on uvicorn) with the API of a national public service
portal (login, catalogue, forms, attachments, dossiers, payments), SQLite storage in
WAL mode, and FIFO stations ("tiers": web, db, payment) with a fixed number of
servers and configured service-time distributions. Run it with ``dvcload portal`` or
``python -m portal``; embed it with :class:`portal.launcher.EmbeddedPortal`.
"""

from __future__ import annotations

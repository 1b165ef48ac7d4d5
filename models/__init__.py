"""Queueing models for capacity planning (imports nothing else of dvcload).

Exact, vectorised and numerically stable at national scale: Erlang B/C/A, M/M/c
with exact waiting- and response-time quantiles, M/G/c and G/G/c approximations
(with measured errors), open Jackson networks, exact and approximate MVA with
bounds, operational laws, time-varying offered loads with PSA/MOL staffing,
sizing, capacity plans, and Ciw simulation cross-checks (:mod:`models.simulation`,
imported on demand because it loads Ciw).

The names below load lazily (PEP 562, ``lazy_loader``): importing ``models._rng`` or
``models.distributions`` costs milliseconds, not the 1.2 s of SciPy that the planning
models need; ``from models import erlang_c`` works as before. The names and their
modules are listed once, in ``models/__init__.pyi``.
"""

import lazy_loader as lazy

__getattr__, __dir__, __all__ = lazy.attach_stub(__name__, __file__)

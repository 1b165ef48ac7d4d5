"""dvcload's command line: wires scenarios, load generation, models and analysis."""

from __future__ import annotations

__version__ = "0.1.0"

"""The models' own error: ``models`` imports nothing else of ours, so it cannot
derive from ``dvcschema.DvcloadError``; the command line treats both alike (exit 2)."""

from __future__ import annotations


class ModelError(ValueError):
    """Parameters outside a model's domain (negative rates, c < 1, unknown method)."""

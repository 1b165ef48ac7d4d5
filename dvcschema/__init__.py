"""The one place that reads configuration files: scenarios, budgets, portal configs.

Every package may import this one (it imports nothing of ours; only the standard
library and PyYAML), so that a scenario means the same thing to the load generator,
the portal, the analysis and the command line.
"""

from __future__ import annotations

from dvcschema.errors import ConfigError, DvcloadError, RunError, ScenarioError, TargetError

__all__ = ["ConfigError", "DvcloadError", "RunError", "ScenarioError", "TargetError"]

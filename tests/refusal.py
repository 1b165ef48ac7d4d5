"""What does not run a scenario (``dvcload check``, ``locust -f locustfile.py``) refuses
it in one line, naming ``dvcload run``: the check shared by the schema tests."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ENTRIES = ["dvcload check", "locust -f locustfile.py"]
_LOCUST_LOG = re.compile(r"\[\d{4}-\d\d-\d\d [\d:,]+\] ")  # Locust's own start-up line


def assert_refused_in_one_line(
    entry: str, scenario: Path, dvcload_cmd: list[str], repo: Path
) -> None:
    """Run ``entry`` on ``scenario``: exit 2 and one line that says to use ``dvcload run``."""
    command = (
        [*dvcload_cmd, "check", str(scenario)]
        if entry == "dvcload check"
        else [sys.executable, "-m", "locust", "-f", str(repo / "locustfile.py"), "--headless",
              "--scenario", str(scenario), "-t", "2s"]
    )  # fmt: skip
    proc = subprocess.run(
        command, capture_output=True, text=True, timeout=60, check=False,
        stdin=subprocess.DEVNULL, cwd=repo,
    )  # fmt: skip
    assert proc.returncode == 2, proc.stderr
    lines = [
        line for line in proc.stderr.splitlines() if line.strip() and not _LOCUST_LOG.match(line)
    ]
    assert len(lines) == 1 and "dvcload run" in lines[0] and "Traceback" not in proc.stderr

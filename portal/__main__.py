"""``python -m portal``: run the reference portal."""

from __future__ import annotations

from portal.cli import main

raise SystemExit(main())

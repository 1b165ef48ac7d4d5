from __future__ import annotations

from dvcload.cli import main

raise SystemExit(main())

"""``python -m bench.load``: the load test's command line (bench.load.run.main)."""
from __future__ import annotations

from bench.load.run import main

raise SystemExit(main())

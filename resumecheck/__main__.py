from __future__ import annotations

from resumecheck.cli import main

raise SystemExit(main())

from __future__ import annotations

from resumecheck.cli import entry

entry()

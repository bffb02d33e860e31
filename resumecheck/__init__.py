"""resumecheck: prove that a training job resumes from its checkpoints bit for bit.

Importing this package is cheap (no torch): the harness loads torch and Lightning when a
check runs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from resumecheck.errors import ConfigError, JobError, ResumecheckError, ResumeDivergence
from resumecheck.jobs import LightningJob, TorchJob
from resumecheck.report import Divergence, Kind, Report

if TYPE_CHECKING:
    from resumecheck.harness import assert_resumes, check
    from resumecheck.run import Run

__version__ = "0.1.0"

__all__ = [
    "ConfigError",
    "Divergence",
    "JobError",
    "Kind",
    "LightningJob",
    "Report",
    "ResumeDivergence",
    "ResumecheckError",
    "Run",
    "TorchJob",
    "__version__",
    "assert_resumes",
    "check",
]

_LAZY = {
    "check": "resumecheck.harness",
    "assert_resumes": "resumecheck.harness",
    "Run": "resumecheck.run",
}


def __getattr__(name: str) -> Any:
    # The harness imports torch; load it only when it is used.
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'resumecheck' has no attribute {name!r}")

"""resumecheck: prove that a training job resumes from its checkpoints bit for bit.

Importing this package is cheap (no torch): the harness loads torch and Lightning when a
check runs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from resumecheck.engine.report import Divergence, Kind, Report
from resumecheck.errors import (
    ConfigError,
    JobError,
    JobHung,
    ResumecheckError,
    ResumeDivergence,
)
from resumecheck.jobs import LightningJob, ScriptJob, TorchJob

if TYPE_CHECKING:
    from resumecheck.adapters.torch_loop import Run
    from resumecheck.engine.harness import assert_resumes, check

__version__ = "0.1.0"

__all__ = [
    "ConfigError",
    "Divergence",
    "JobError",
    "JobHung",
    "Kind",
    "LightningJob",
    "Report",
    "ResumeDivergence",
    "ResumecheckError",
    "Run",
    "ScriptJob",
    "TorchJob",
    "__version__",
    "assert_resumes",
    "check",
]

_LAZY = {
    "check": "resumecheck.engine.harness",
    "assert_resumes": "resumecheck.engine.harness",
    "Run": "resumecheck.adapters.torch_loop",
}


def __getattr__(name: str) -> Any:
    # The harness imports torch; load it only when it is used.
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'resumecheck' has no attribute {name!r}")

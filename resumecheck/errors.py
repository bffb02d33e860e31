"""Exceptions raised by resumecheck.

The tree::

    ResumecheckError            base of every error resumecheck raises on purpose
    ├── ConfigError             a bad option or argument (names its source and the fix)
    └── JobError                the job itself is broken: it failed before any kill, or
        │                       cannot be built; a resume check cannot even start
        └── JobHung             a run of the job passed the timeout (any kill mode): the
                                check failed, naming the timeout, the step and the stack
    ResumeDivergence            (an AssertionError) raised by ``assert_resumes``; carries the report
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from resumecheck.engine.report import Report


class ResumecheckError(Exception):
    """Base class of the errors resumecheck raises on purpose."""


class ConfigError(ResumecheckError, ValueError):
    """An option or argument has a bad value."""


class JobError(ResumecheckError):
    """The job is broken independently of any resume (e.g. the uninterrupted run crashes)."""


class JobHung(JobError):
    """A run of the job did not finish within the timeout; never a verdict."""


class ResumeDivergence(AssertionError):
    """A resumed run differs from the uninterrupted one; ``.report`` holds the evidence."""

    def __init__(self, report: Report) -> None:
        super().__init__(str(report))
        self.report = report

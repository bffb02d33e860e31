"""The fix kit's Lightning callbacks for the ``pytorch_lightning`` package name.

``from resumecheck.fixkit.pytorch_lightning import ExactResumeCallback`` (or
``RngStateCallback``) subclasses ``pytorch_lightning.Callback``; the same names in
``resumecheck.fixkit`` subclass ``lightning.pytorch.Callback``. Importing this module imports
``pytorch_lightning``.
"""

from __future__ import annotations

from resumecheck.fixkit.callback import rng_callback_class
from resumecheck.fixkit.exact import exact_callback_class

__all__ = ["ExactResumeCallback", "RngStateCallback"]

RngStateCallback = rng_callback_class("pytorch_lightning")
ExactResumeCallback = exact_callback_class("pytorch_lightning")

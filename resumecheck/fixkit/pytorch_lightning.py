"""The fix kit's Lightning callback for the ``pytorch_lightning`` package name.

``from resumecheck.fixkit.pytorch_lightning import RngStateCallback`` subclasses
``pytorch_lightning.Callback``; ``resumecheck.fixkit.RngStateCallback`` subclasses
``lightning.pytorch.Callback``. Importing this module imports ``pytorch_lightning``.
"""

from __future__ import annotations

from resumecheck.fixkit.callback import rng_callback_class

__all__ = ["RngStateCallback"]

RngStateCallback = rng_callback_class("pytorch_lightning")

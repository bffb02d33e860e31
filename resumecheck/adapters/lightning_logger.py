"""What a Lightning job logged, step by step, and the loggers its runs get.

``METRICS`` means a logged value differs, so the harness records what the job logged, never
``trainer.callback_metrics`` (which Lightning does not checkpoint: after a resume it lacks every
entry not logged again yet). Two sources, both per harness step:

- every ``self.log`` / ``self.log_dict`` call of the module (callbacks logging through
  ``pl_module.log`` included): key ``name``;
- every ``log_metrics`` call a logger receives (epoch aggregates, ``LearningRateMonitor``,
  computed torchmetrics): key ``name (logger)``, recorded by a logger the harness adds.

A value belongs to the step that is open when it is logged: from the step's first batch to the
next step's first batch, so epoch-end and validation values belong to the epoch's last step.
Values logged before a run's first step (the sanity check, a validation a resumed run repeats
before its first step) belong to no step and are not compared.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

from resumecheck.engine import snapshot as snap

if TYPE_CHECKING:
    from resumecheck.engine.recorder import Recorder

LOGGER_SUFFIX = " (logger)"
_LOGGER_CLASSES: dict[str, type] = {}


def record_logged(recorder: Recorder, name: str, value: Any) -> None:
    """Add one logged value to the open step (a repeated name gets ``#2``, ``#3``...)."""
    record = recorder.open_step
    if record is None:
        return
    entry = _entry(value)
    if entry is None:
        return
    key, n = name, 1
    while key in record.metrics:
        n += 1
        key = f"{name} #{n}"
    record.metrics[key] = entry


def _entry(value: Any) -> snap.Entry | None:
    import torch

    if isinstance(value, torch.Tensor):
        return snap.tensor_entry(value, True)
    if isinstance(value, int | float | bool):
        return snap.object_entry(value)
    # A torchmetrics Metric object: its computed value reaches the logger, recorded there.
    return None


def watch_self_log(module: Any, recorder: Recorder) -> None:
    """Record every ``module.log`` call (``log_dict`` goes through it) with the value passed."""
    real_log = module.log
    if getattr(real_log, "_resumecheck_recorder", None) is recorder:
        return

    def log(name: str, value: Any, *args: Any, **kwargs: Any) -> Any:
        record_logged(recorder, name, value)
        return real_log(name, value, *args, **kwargs)

    log._resumecheck_recorder = recorder  # type: ignore[attr-defined]
    # An instance attribute: nothing of the class (nor of any other module) changes.
    object.__setattr__(module, "log", log)


def recording_logger_class(pl: ModuleType) -> type:
    """A logger (of the job's own Lightning package) recording what loggers receive."""
    if pl.__name__ in _LOGGER_CLASSES:
        return _LOGGER_CLASSES[pl.__name__]
    from lightning_utilities.core.rank_zero import rank_zero_only

    class ResumecheckLogger(pl.loggers.Logger):  # type: ignore[misc,name-defined]
        def __init__(self, recorder: Recorder, root: Path) -> None:
            super().__init__()
            self.recorder = recorder
            self._root = root

        @property
        def name(self) -> str:
            return "resumecheck"

        @property
        def version(self) -> int:
            return 0

        @property
        def root_dir(self) -> str:
            return str(self._root)

        @property
        def save_dir(self) -> str:
            return str(self._root)

        @rank_zero_only  # type: ignore[misc]
        def log_metrics(self, metrics: Mapping[str, Any], step: int | None = None) -> None:
            for name, value in sorted(metrics.items()):
                record_logged(self.recorder, name + LOGGER_SUFFIX, value)

        def log_hyperparams(self, params: Any, *args: Any, **kwargs: Any) -> None:
            pass

    _LOGGER_CLASSES[pl.__name__] = ResumecheckLogger
    return ResumecheckLogger


def run_loggers(user: Any, pl: ModuleType, run_dir: Path, recorder: Recorder) -> list[Any]:
    """The run's loggers: its own copy of the job's loggers (written inside the run's
    directory, so runs never share or append to a log), then the recording logger.

    ``True``/``None`` (Lightning's default) and loggers of other kinds become a CSVLogger; a
    TensorBoardLogger stays one (jobs use ``self.logger.experiment.add_*``) when tensorboard
    is installed. ``False`` keeps only the recording logger, which still lets
    ``LearningRateMonitor`` and ``self.logger`` work.
    """
    wanted = [] if user is False else [user] if not isinstance(user, list | tuple) else list(user)
    loggers: list[Any] = []
    save_dir = str(run_dir / "logs")
    used: set[str] = set()
    for i, logger in enumerate(wanted):
        name = getattr(logger, "name", None) or "lightning_logs"
        name = name if isinstance(name, str) and name not in used else f"logger{i}"
        used.add(name)
        tb = getattr(pl.loggers, "TensorBoardLogger", None)
        if tb is not None and isinstance(logger, tb):
            try:
                loggers.append(tb(save_dir=save_dir, name=name, version=0))
                continue
            except ModuleNotFoundError:  # neither tensorboard nor tensorboardX
                pass
        loggers.append(pl.loggers.CSVLogger(save_dir=save_dir, name=name, version=0))
    loggers.append(recording_logger_class(pl)(recorder, run_dir))
    return loggers

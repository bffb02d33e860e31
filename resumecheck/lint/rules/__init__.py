"""The rule catalogue: one rule per module, named after the problem it catches."""

from __future__ import annotations

from resumecheck.lint.rule import Rule
from resumecheck.lint.rules.callback_state_not_saved import CallbackStateNotSaved
from resumecheck.lint.rules.checkpoint_without_rng import CheckpointWithoutRng
from resumecheck.lint.rules.ckpt_path_last_without_save_last import CkptPathLastWithoutSaveLast
from resumecheck.lint.rules.incomplete_checkpoint import IncompleteCheckpoint
from resumecheck.lint.rules.load_from_checkpoint_then_fit import LoadFromCheckpointThenFit
from resumecheck.lint.rules.manual_step_outside_training_step import (
    ManualStepOutsideTrainingStep,
)
from resumecheck.lint.rules.mid_epoch_checkpoint_with_shuffle import (
    MidEpochCheckpointWithShuffle,
)
from resumecheck.lint.rules.non_atomic_save import NonAtomicSave
from resumecheck.lint.rules.numpy_in_checkpoint import NumpyInCheckpoint
from resumecheck.lint.rules.removed_argparse_helpers import RemovedArgparseHelpers
from resumecheck.lint.rules.removed_checkpoint_callback_argument import (
    RemovedCheckpointCallbackArgument,
)
from resumecheck.lint.rules.removed_checkpoint_filepath import RemovedCheckpointFilepath
from resumecheck.lint.rules.removed_checkpoint_hooks import RemovedCheckpointHooks
from resumecheck.lint.rules.removed_checkpoint_period import RemovedCheckpointPeriod
from resumecheck.lint.rules.removed_every_n_val_epochs import RemovedEveryNValEpochs
from resumecheck.lint.rules.removed_optimizer_idx import RemovedOptimizerIdx
from resumecheck.lint.rules.removed_resume_from_checkpoint import RemovedResumeFromCheckpoint
from resumecheck.lint.rules.removed_trainer_arguments import RemovedTrainerArguments
from resumecheck.lint.rules.removed_weights_save_path import RemovedWeightsSavePath
from resumecheck.lint.rules.scheduler_not_returned import SchedulerNotReturned
from resumecheck.lint.rules.torch_load_without_weights_only import TorchLoadWithoutWeightsOnly

ALL_RULES: tuple[type[Rule], ...] = (
    RemovedResumeFromCheckpoint,
    RemovedCheckpointCallbackArgument,
    RemovedCheckpointPeriod,
    RemovedEveryNValEpochs,
    RemovedCheckpointFilepath,
    RemovedWeightsSavePath,
    RemovedArgparseHelpers,
    RemovedOptimizerIdx,
    RemovedCheckpointHooks,
    RemovedTrainerArguments,
    LoadFromCheckpointThenFit,
    ManualStepOutsideTrainingStep,
    CkptPathLastWithoutSaveLast,
    SchedulerNotReturned,
    MidEpochCheckpointWithShuffle,
    CallbackStateNotSaved,
    TorchLoadWithoutWeightsOnly,
    IncompleteCheckpoint,
    CheckpointWithoutRng,
    NumpyInCheckpoint,
    NonAtomicSave,
)

RULES_BY_CODE: dict[str, type[Rule]] = {rule.code: rule for rule in ALL_RULES}

__all__ = ["ALL_RULES", "RULES_BY_CODE"]

"""torchdata's ``StatefulDataLoader`` resumed from a checkpoint at the last batch of an epoch.

What users do: switch to ``torchdata.stateful_dataloader.StatefulDataLoader`` so Lightning
saves the loader position, as Lightning's docs suggest for mid-epoch resumes.
Why it breaks (torchdata 0.11, Lightning 2.6): Lightning never fetches past the last batch of
a sized loader, so the saved state reads "8 of 8 batches yielded, iterator not finished".
``StatefulDataLoader`` resumes that as an empty epoch; Lightning then ends the epoch at once
and the resumed run skips a whole epoch. Mid-epoch kills resume correctly.
Fix: ``resumecheck.fixkit.torchdata.StatefulDataLoader`` (``fixed_stateful_dataloader``), or
``ResumableDataLoader``.
"""

from __future__ import annotations

from typing import Any

from torchdata.stateful_dataloader import StatefulDataLoader

import resumecheck as rc
from resumecheck.fixkit import RngStateCallback
from scenarios import _common

EXPECTED = rc.Kind.PROGRESS
KILLS = [_common.LAST_BATCH_OF_EPOCH]


def loader() -> Any:
    return StatefulDataLoader(_common.dataset(), batch_size=8, shuffle=True)


def job() -> rc.LightningJob:
    return _common.lightning_job(data=loader, callbacks=[RngStateCallback()])

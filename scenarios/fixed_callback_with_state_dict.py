"""The twin of ``broken_callback_without_state_dict``: the EMA callback saves its average."""

from __future__ import annotations

from typing import Any

import resumecheck as rc
from resumecheck.fixkit import RngStateCallback
from scenarios import _common
from scenarios.broken_callback_without_state_dict import EMA

EXPECTED = None
KILLS = [_common.LAST_BATCH_OF_EPOCH]


class StatefulEMA(EMA):
    def state_dict(self) -> dict[str, Any]:
        return {"average": dict(self.average)}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.average = dict(state_dict["average"])


def job() -> rc.LightningJob:
    return _common.lightning_job(callbacks=[StatefulEMA(), RngStateCallback()])

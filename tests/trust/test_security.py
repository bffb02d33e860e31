"""The harness process never runs code from a checkpoint or from a file a child wrote."""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import pytest
import torch

import resumecheck as rc
from resumecheck.engine.process import _load
from resumecheck.engine.runner import RunSpec, execute
from resumecheck.engine.safeload import load_records
from tests.trust import trust_jobs as tj


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["exception", "sigkill"])
def test_hostile_checkpoint_never_runs_in_the_harness(
    mode: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Before: claimed_step's torch.load(weights_only=False) ran it in the harness process,
    # although Lightning's own resume refused the file.
    marker = tmp_path / "marker"
    monkeypatch.setenv(tj.MARKER_ENV, str(marker))
    report = rc.check(
        tj.logging_job(tj.HostileCheckpointNet), kills=[5], mode=mode, artifacts_dir=tmp_path
    )
    assert report.kinds == [rc.Kind.UNLOADABLE_CHECKPOINT]
    ran_in = marker.read_text().split() if marker.exists() else []
    assert str(os.getpid()) not in ran_in
    assert ran_in == []


def test_hostile_trajectory_file_is_refused_without_running(tmp_path: Path) -> None:
    marker = tmp_path / "marker"
    path = tmp_path / "trajectory.pkl"
    path.write_bytes(pickle.dumps((tj.Hostile(str(marker)), {}, 0)))
    assert _load(path) is None
    assert not marker.exists()
    # The classic payload: a builtin that runs a command.
    path.write_bytes(b"cos\nsystem\n(S'touch " + str(marker).encode() + b"'\ntR.")
    assert load_records(path) is None
    assert not marker.exists()


def test_real_trajectory_with_tensors_loads_back(tmp_path: Path) -> None:
    trajectory = execute(
        tj.logging_job(), RunSpec(tmp_path / "run", tmp_path / "ckpt", 0, kill_at=9)
    )
    path = tmp_path / "trajectory.pkl"
    path.write_bytes(pickle.dumps((trajectory, {tmp_path: (1, 2, 3, "x")}, 9)))
    loaded, files, completed = load_records(path)
    assert completed == 9
    assert files == {tmp_path: (1, 2, 3, "x")}
    assert len(loaded.steps) == 9
    assert loaded.checkpoints == trajectory.checkpoints
    value = loaded.steps[3].metrics["train_loss"].value
    assert isinstance(value, torch.Tensor)
    assert torch.equal(value, trajectory.steps[3].metrics["train_loss"].value)

"""Hints that fit the job: name the fix kit where it fixes the cause, otherwise say what was
seen. The generic hint of each kind (``Kind.hint``) is the fallback when nothing is known.

Torch-free: works on the facts an adapter recorded in the reference trajectory.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from resumecheck.engine.report import Divergence, Kind

FIXED_LOADER = (
    "resumecheck.fixkit.torchdata.StatefulDataLoader (a drop-in for torchdata's) or "
    "resumecheck.fixkit.ResumableDataLoader"
)


def refine(divergence: Divergence, facts: Mapping[str, Any]) -> Divergence:
    """The divergence with the hint that fits what was seen of this job (if any is better)."""
    hint = hint_for(divergence.kind, facts)
    return dataclasses.replace(divergence, hint=hint) if hint else divergence


def hint_for(kind: Kind, facts: Mapping[str, Any]) -> str | None:
    """A hint for this job, or ``None`` when nothing was seen that a better one could use."""
    if not facts:
        return None
    lightning = facts.get("framework") == "lightning"
    if kind is Kind.SCHEDULER:
        return (
            _scheduler(facts)
            if lightning
            else (
                "save and restore scheduler.state_dict() with the optimizer "
                "(resumecheck.fixkit.save_training_state takes schedulers=)"
            )
        )
    if kind in (Kind.DATA_ORDER, Kind.PROGRESS) and facts.get("loader") == "torchdata":
        return (
            "the job already uses torchdata's StatefulDataLoader, and Lightning still resumes "
            "it wrongly after a checkpoint at an epoch's last batch (it resumes an exhausted "
            f"iterator as an empty epoch): use {FIXED_LOADER}"
        )
    if kind is Kind.DATA_ORDER and lightning:
        if facts.get("loader") == "fixkit":
            return (
                "the job uses the fix kit's loader, yet a different batch is fed: check that "
                "the loader is the one Lightning iterates (not re-created per epoch) and that "
                "nothing else draws from its sampler"
            )
        return (
            "Lightning restarts a plain DataLoader's epoch after a mid-epoch resume: use "
            f"{FIXED_LOADER}, which Lightning checkpoints and resumes exactly"
        )
    if kind is Kind.RNG and lightning:
        if facts.get("rng_callback"):
            return (
                "RngStateCallback is in use, yet the RNG state after restore differs: "
                "something draws random numbers between the checkpoint and the next step "
                "(a callback or a hook) that the checkpoint does not capture"
            )
        return "add resumecheck.fixkit.RngStateCallback() to the Trainer's callbacks"
    if kind is Kind.RNG:
        return (
            "save resumecheck.fixkit.capture_rng_state() in the checkpoint and call "
            "restore_rng_state() on resume (save_training_state/load_training_state do both)"
        )
    if kind is Kind.METRICS and lightning:
        return (
            "a value the job logs differs after the resume: keep what it is computed from in "
            "the checkpoint (a module attribute or a callback's state: state_dict/"
            "load_state_dict; torchmetrics states); note that self.log(on_epoch=True) "
            "aggregates in training_step restart at a mid-epoch resume"
        )
    return None


def _scheduler(facts: Mapping[str, Any]) -> str:
    returned = facts.get("returned_schedulers") or []
    held = facts.get("held_schedulers") or []
    callbacks = facts.get("user_callbacks") or []
    if held:
        return (
            f"{', '.join(held)} is a scheduler Lightning was not given, so it is not in the "
            "checkpoint: return it from configure_optimizers and let Lightning step it"
        )
    if callbacks:
        where = ", ".join(callbacks)
        restored = (
            f"the scheduler returned from configure_optimizers ({', '.join(returned)}) is "
            "restored by Lightning, so "
            if returned
            else ""
        )
        return (
            f"{restored}the learning rate is changed elsewhere, e.g. by a callback ({where}): "
            "whatever sets it must save its state (a callback: state_dict/load_state_dict)"
        )
    if returned:
        return (
            f"the scheduler returned from configure_optimizers ({', '.join(returned)}) is "
            "restored by Lightning, so the learning rate is set elsewhere (by hand in a hook?): "
            "keep that state in the checkpoint"
        )
    return Kind.SCHEDULER.hint

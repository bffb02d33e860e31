"""RC303 (off by default): a checkpoint with model and optimizer but no RNG state."""

from __future__ import annotations

from collections.abc import Iterator

from resumecheck.lint.facts import FileFacts
from resumecheck.lint.rule import Finding, Rule
from resumecheck.lint.rules._checkpoint import has_model_state, might_save, saved_dicts

RNG_WORDS = ("rng", "random", "seed", "generator", "get_state")


class CheckpointWithoutRng(Rule):
    """Flag a resume checkpoint that does not save any RNG state."""

    code = "RC303"
    name = "checkpoint-without-rng"
    message = (
        "checkpoint saves model and optimizer but no RNG state: dropout masks and "
        "augmentation differ after a resume; save torch.get_rng_state() (and cuda, numpy, "
        "random)"
    )
    explanation = (
        "A resumed run draws different random numbers than the uninterrupted one unless the "
        "RNG states are saved and restored: torch.get_rng_state(), "
        "torch.cuda.get_rng_state_all(), numpy's and Python's random state. Off by default: "
        "many jobs accept a different random stream after a resume."
    )
    versions = "all torch versions"
    default = False
    lightning = False
    triggers = ("torch",)
    VALID = (
        "import torch\n"
        "torch.save({'model': model.state_dict(), 'optimizer': opt.state_dict(),\n"
        "            'rng': torch.get_rng_state()}, 'ckpt.pt')\n",
    )
    INVALID = (
        "import torch\n"
        "torch.save({'model': model.state_dict(), 'optimizer': opt.state_dict()}, 'ckpt.pt')\n",
    )

    def might_match(self, source: str) -> bool:
        return might_save(source)

    def check(self, facts: FileFacts) -> Iterator[Finding]:
        for saved in saved_dicts(facts):
            if (
                has_model_state(saved)
                and saved.mentions("optim")
                and not saved.mentions(*RNG_WORDS)
            ):
                yield self.finding(saved.call.node)

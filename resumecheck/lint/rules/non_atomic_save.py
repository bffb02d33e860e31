"""RC305 (off by default): ``torch.save`` straight to the final path inside a loop."""

from __future__ import annotations

from collections.abc import Iterator

from resumecheck.lint.facts import FileFacts
from resumecheck.lint.rule import Finding, Rule
from resumecheck.lint.rules._checkpoint import TORCH_SAVE, might_save

RENAMES = frozenset({"os.replace", "os.rename", "shutil.move", "pathlib.Path.replace"})


class NonAtomicSave(Rule):
    """Flag ``torch.save`` to the final path inside a training loop."""

    code = "RC305"
    name = "non-atomic-save"
    message = (
        "torch.save() to the final path inside a loop: a kill mid-write leaves a truncated "
        "checkpoint; write to a temporary file in the same directory, then os.replace()"
    )
    explanation = (
        "Preemption or an OOM kill can land while torch.save is writing. The file left behind "
        "is truncated and the next resume fails to load it (or, worse, the previous good "
        "checkpoint was overwritten). Write to path + '.tmp' in the same directory and "
        "os.replace() it onto the final name: the replace is atomic. Off by default."
    )
    versions = "all torch versions"
    default = False
    lightning = False
    triggers = ("torch",)
    VALID = (
        "import os\nimport torch\n"
        "for epoch in range(3):\n"
        "    torch.save(state, path + '.tmp')\n"
        "    os.replace(path + '.tmp', path)\n",
        "import torch\ntorch.save(model.state_dict(), 'final.pt')\n",
    )
    INVALID = (
        "import torch\n"
        "def train():\n"
        "    for epoch in range(10):\n"
        "        torch.save({'model': model.state_dict()}, 'ckpt.pt')\n",
    )

    def might_match(self, source: str) -> bool:
        return might_save(source)

    def check(self, facts: FileFacts) -> Iterator[Finding]:
        for call in facts.calls:
            if not call.site.loops or len(call.node.args) < 2:
                continue
            if facts.call_names(call) != TORCH_SAVE:
                continue
            target = facts.code(call.node.args[1].value).lower()
            if "tmp" in target or "temp" in target:
                continue
            fn = call.site.function
            renamed = any(
                c.site.function is fn
                and (facts.call_names(c) & RENAMES or (c.func or "").endswith(".replace"))
                for c in facts.calls
            )
            if not renamed:
                yield self.finding(call.node)

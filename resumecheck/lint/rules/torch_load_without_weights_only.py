"""RC301: ``torch.load`` without an explicit ``weights_only=``."""

from __future__ import annotations

from collections.abc import Iterator

import libcst as cst

from resumecheck.lint.facts import FileFacts, has_star_kwargs, keyword, positional_count
from resumecheck.lint.prefilter import LOAD, torch_io
from resumecheck.lint.rule import AppendKeyword, Finding, Fix, Rule
from resumecheck.lint.rules._checkpoint import TORCH_LOAD


class TorchLoadWithoutWeightsOnly(Rule):
    """Flag ``torch.load(...)`` that relies on the ``weights_only`` default."""

    code = "RC301"
    name = "torch-load-without-weights-only"
    message = (
        "torch.load() without weights_only=: the default became True in torch 2.6 and "
        "refuses checkpoints that pickle other objects; pass weights_only= explicitly"
    )
    namespace_message = (
        "torch.load() without weights_only=: the default became True in torch 2.6, and this "
        "module uses argparse: a checkpoint that pickles an argparse.Namespace then fails to "
        "load; allow-list it with torch.serialization.add_safe_globals([argparse.Namespace]) "
        "(or load inside `with torch.serialization.safe_globals([argparse.Namespace]):`) and "
        "pass weights_only=True"
    )
    explanation = (
        "torch 2.6 flipped torch.load's weights_only default from False to True. A checkpoint "
        "that pickles anything beyond tensors and plain containers (an argparse Namespace, a "
        "numpy array, a custom class) now fails to load, so resuming breaks after a torch "
        "upgrade. Say what you mean: weights_only=True for checkpoints of tensors and plain "
        "data (safe against malicious files), weights_only=False only for trusted files that "
        "need it. Adding weights_only=True is offered only with --unsafe-fixes, because it can "
        "make existing checkpoints unloadable; it is not offered at all in a module that uses "
        "argparse, whose checkpoints often pickle the parsed argparse.Namespace: there the "
        "safe way is to allow-list the class, torch.serialization.add_safe_globals("
        "[argparse.Namespace]) once before loading (or the torch.serialization.safe_globals"
        "([...]) context manager around the load), which keeps weights_only=True's protection."
    )
    versions = "torch >= 2.6 (default flipped; warned since 2.4)"
    fix_summary = (
        "Add weights_only=True (unsafe: only with --unsafe-fixes; not offered where argparse is "
        "used: allow-list argparse.Namespace with torch.serialization.add_safe_globals instead)"
    )
    lightning = False
    triggers = ("torch",)
    VALID = (
        "import torch\nstate = torch.load(path, map_location='cpu', weights_only=True)\n",
        "import torch\nmodel = torch.hub.load('repo', 'model')\nm = torch.jit.load(p)\n",
        "import torch\nimport json\ncfg = json.load(f)\n",
        "import torch\nstate = torch.load(path, **load_kwargs)\n",
        "import torch\nstate = torch.load(path, 'cpu', dill)\n",
        "import torch\ntext = 'torch.load(path)'  # torch.load(path)\n",
    )
    INVALID = (
        "import torch\ncheckpoint = torch.load(path)\n",
        "import argparse\nimport torch\n"
        "args = argparse.ArgumentParser().parse_args()\n"
        "torch.save({'model': model.state_dict(), 'args': args}, 'ckpt.pt')\n"
        "ckpt = torch.load('ckpt.pt')\n",
        "import torch\nstate = torch.load(path, map_location='cpu')\n",
        "from torch import load as tload\nstate = tload(args.ckpt)\n",
    )
    UNSAFE_FIXES = (
        (
            "import torch\nstate = torch.load(path, map_location='cpu')\n",
            "import torch\nstate = torch.load(path, map_location='cpu', weights_only=True)\n",
        ),
    )

    def might_match(self, source: str) -> bool:
        return LOAD in torch_io(source)

    def check(self, facts: FileFacts) -> Iterator[Finding]:
        argparse = _uses_argparse(facts)
        for call in facts.calls:
            if call.func is None or not call.func.endswith("load"):
                continue
            if facts.call_names(call) != TORCH_LOAD:
                continue
            node = call.node
            if keyword(node, "weights_only") is not None or has_star_kwargs(node):
                continue
            # An explicit pickle_module already opts out of the weights-only unpickler.
            if keyword(node, "pickle_module") is not None or positional_count(node) >= 3:
                continue
            if argparse:
                yield self.finding(node, self.namespace_message)
                continue
            value = cst.Name("True")
            fix = Fix(
                "Add weights_only=True", "unsafe", (AppendKeyword(node, "weights_only", value),)
            )
            yield self.finding(node, fix=fix)


def _uses_argparse(facts: FileFacts) -> bool:
    """The module imports argparse (in any scope)."""
    if "argparse" not in facts.source:
        return False
    scopes = [facts.module_scope, *(f.scope for f in facts.functions)]
    return any(
        how.startswith("import:argparse")
        for scope in scopes
        for bound in scope.bindings.values()
        for how in bound
    )

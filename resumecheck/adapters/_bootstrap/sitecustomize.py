"""resumecheck's bootstrap: observes a program at the optimizer, in resumecheck's own runs only.

resumecheck puts this folder first on ``PYTHONPATH`` for the commands it runs (as coverage.py
does to measure subprocesses). Python imports ``sitecustomize`` at start-up in every process
the command starts; when ``RESUMECHECK_OBSERVE`` names a run's configuration, this waits for
the program to import torch and then installs the optimizer and module hooks. Any other
``sitecustomize`` on the path still runs. Standard library only until torch is imported.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import importlib.util
import os
import sys

_ENV = "RESUMECHECK_OBSERVE"


class _AfterTorch(importlib.abc.MetaPathFinder):
    """Finds ``torch`` like the rest of the path does, then observes once it is imported."""

    def find_spec(self, name, path=None, target=None):  # type: ignore[no-untyped-def]
        if name != "torch":
            return None
        sys.meta_path.remove(self)
        spec = importlib.util.find_spec(name)
        if spec is None or spec.loader is None:
            return spec
        real_exec = spec.loader.exec_module

        def exec_module(module):  # type: ignore[no-untyped-def]
            real_exec(module)
            from resumecheck.adapters.bootstrap import observe_this_process

            observe_this_process(os.environ[_ENV])

        spec.loader.exec_module = exec_module  # type: ignore[method-assign]
        return spec


def _run_next_sitecustomize() -> None:
    """Run the ``sitecustomize`` this one hides (a virtualenv's or the distribution's)."""
    here = os.path.dirname(os.path.abspath(__file__))
    for entry in sys.path:
        if not entry or os.path.abspath(entry) == here:
            continue
        spec = importlib.machinery.PathFinder.find_spec("sitecustomize", [entry])
        if spec is not None and spec.loader is not None:
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
            return


if os.environ.get(_ENV):
    if "torch" in sys.modules:  # imported by another start-up hook already
        from resumecheck.adapters.bootstrap import observe_this_process

        observe_this_process(os.environ[_ENV])
    else:
        sys.meta_path.insert(0, _AfterTorch())
_run_next_sitecustomize()

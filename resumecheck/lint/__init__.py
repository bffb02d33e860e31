"""``resumecheck lint``: a libcst linter for code that breaks resuming from checkpoints.

Layout (Fixit): ``cli`` parses arguments and formats output, ``engine`` finds, reads and
checks files, ``facts`` is the single pass over a module that every rule queries, ``rules/``
holds one rule per module. This package imports nothing heavy so the CLI stays cheap.
"""

from __future__ import annotations

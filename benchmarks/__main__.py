"""``python -m benchmarks``: run the whole benchmark suite and write docs/benchmarks.md (see ``benchmarks/run.py``).

Options: ``--quick`` (a fast, noisy smoke run), ``--only engine,transforms,tensor,nn``, ``--output PATH``,
``--no-write``.
"""
import sys

from benchmarks.run import main

sys.exit(main())

"""``python -m benchmarks NAME... [--reps N] [--warmup N] [--json PATH]``: see benchmarks/runner.py."""
import sys

from .runner import main

sys.exit(main())

"""Writes the fuzzer's counters out at the end of the session when ``NNZOO_FUZZ_REPORT`` names a directory
(``make fuzz`` sets it; ``tests/fuzz/run_long.py`` adds the files of every xdist worker up)."""
import json
import os

from . import harness


def pytest_sessionfinish(session):
    out = os.environ.get("NNZOO_FUZZ_REPORT")
    if not out or not harness.COUNTS:
        return
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    data = {
        "counts": [[f, o, n] for (f, o), n in sorted(harness.COUNTS.items())],
        "outcomes": [[f, o, n] for (f, o), n in sorted(harness.OUTCOMES.items())],
        "hits": [[w, k, f, o, n] for (w, k, f, o), n in sorted(harness.HITS.items())],
        "mismatches": harness.MISMATCHES,
    }
    with open(os.path.join(out, f"counts-{worker}-{os.getpid()}.json"), "w") as fh:
        json.dump(data, fh)

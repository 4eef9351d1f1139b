"""The two Hypothesis profiles of the fuzzer, chosen by the environment variable ``NNZOO_FUZZ``.

- ``fast`` (default, part of ``make test``): ``derandomize=True`` so every run tries the same cases
  (deterministic CI), 6,550 cases in all (~20 s with -n 2);
- ``long`` (``make fuzz``): random draws, ``LONG_FACTOR`` times as many examples per test (> 50,000 cases;
  ``NNZOO_FUZZ_FACTOR`` overrides the factor).

Each test states its fast-profile example count with ``@fuzz(n)``; the profile scales it. The settings
are applied per test (not loaded as Hypothesis's global profile) so the suite's other Hypothesis tests
keep their own.
"""
import os

from hypothesis import HealthCheck, settings

PROFILE = os.environ.get("NNZOO_FUZZ", "fast")
if PROFILE not in ("fast", "long"):
    raise ValueError(f"NNZOO_FUZZ={PROFILE!r}: expected 'fast' or 'long'")
LONG_FACTOR = int(os.environ.get("NNZOO_FUZZ_FACTOR", "10"))

_COMMON = dict(deadline=None, database=None, suppress_health_check=list(HealthCheck))
settings.register_profile("nnzoo-fuzz-fast", derandomize=True, print_blob=False, **_COMMON)
settings.register_profile("nnzoo-fuzz-long", derandomize=False, print_blob=True, **_COMMON)


def fuzz(examples):
    """The settings decorator for one fuzz test: ``examples`` cases in the fast profile."""
    n = examples if PROFILE == "fast" else examples * LONG_FACTOR
    return settings(settings.get_profile(f"nnzoo-fuzz-{PROFILE}"), max_examples=n)

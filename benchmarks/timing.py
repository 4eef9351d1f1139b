"""Timing one ``step()``: warm up, calibrate a batch size, then time repetitions with perf_counter.

Each repetition runs ``step`` ``n`` times back to back, with ``n`` chosen so a repetition lasts at least
``min_time`` seconds (50 ms by default: long enough that perf_counter resolution and the loop's own cost
do not matter, short enough to take several repetitions). A repetition reports ms per step; the summary is
the median over repetitions with the min, max and quartiles as the spread. The garbage collector stays
on, as it is in a real training loop.
"""
import math
import statistics
import time

_clock = time.perf_counter


def _run(step, n):
    t0 = _clock()
    for _ in range(n):
        step()
    return _clock() - t0


def calibrate(step, min_time):
    """The number of steps per repetition so that one repetition lasts >= ``min_time`` seconds.

    Grows ``n`` (x10 while a batch is too short to extrapolate from, then proportionally) until a batch of
    ``n`` steps itself lasts ``min_time``; the extra runs double as warm-up.
    """
    n = 1
    for _ in range(20):
        t = _run(step, n)
        if t >= min_time:
            return n
        n = n * 10 if t < min_time / 10 else max(n + 1, math.ceil(n * 1.2 * min_time / t))
    return n


def summarize(ms):
    """median / min / max / quartiles of per-step times (ms) over repetitions."""
    q1, _, q3 = statistics.quantiles(ms, n=4, method="inclusive")
    return {"median_ms": statistics.median(ms), "min_ms": min(ms), "max_ms": max(ms),
            "q1_ms": q1, "q3_ms": q3}


def measure(step, reps=7, warmup=10, min_time=0.05):
    """Time ``step``: ``warmup`` untimed calls, calibration, then ``reps`` timed repetitions.

    Returns a dict: the summary of :func:`summarize`, ``reps_ms`` (each repetition's ms per step),
    ``steps_per_rep`` and the settings used.
    """
    if reps < 1:
        raise ValueError(f"measure: reps must be >= 1, got {reps}")
    for _ in range(warmup):
        step()
    n = calibrate(step, min_time)  # also warms up further
    reps_ms = [_run(step, n) / n * 1e3 for _ in range(reps)]
    return {**summarize(reps_ms), "reps_ms": reps_ms, "steps_per_rep": n, "reps": reps,
            "warmup": warmup, "min_time_s": min_time}

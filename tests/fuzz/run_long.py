"""``make fuzz``: the fuzzer's long profile (> 50,000 cases) with a summary in benchmarks/results/fuzz.json.

Runs ``pytest -n 2 tests/fuzz`` with ``NNZOO_FUZZ=long`` and ``NNZOO_FUZZ_KEEP_GOING=1`` (every case is
compared and every unaccepted mismatch recorded, rather than stopping a test at its first one; rerun a test
without KEEP_GOING to have Hypothesis shrink a failure to a minimal example), then adds up the counters each
worker wrote (tests/fuzz/conftest.py) and writes the summary: cases and outcomes per family and op, the
accepted and pending differences hit, every mismatch with an example case, the seed, the wall time.

Usage: python tests/fuzz/run_long.py [--seed N] [--workers 2] [--out benchmarks/results/fuzz.json]
Exit status 1 when any mismatch was found (or pytest failed), else 0.
"""
import argparse
import collections
import datetime
import glob
import json
import os
import platform
import random
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _versions():
    out = subprocess.run([sys.executable, "-c", "import numpy, torch, hypothesis; print(numpy.__version__, "
                          "torch.__version__, hypothesis.__version__)"], capture_output=True, text=True)
    numpy_v, torch_v, hyp_v = (out.stdout.split() + ["?"] * 3)[:3]
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT)
    dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], capture_output=True,
                           text=True, cwd=ROOT)
    return {"numpy": numpy_v, "torch": torch_v, "hypothesis": hyp_v, "python": platform.python_version(),
            "commit": commit.stdout.strip() + ("+dirty" if dirty.stdout.strip() else ""),
            "cpus": os.cpu_count()}


def _reasons():
    sys.path.insert(0, os.path.join(ROOT, "tests"))
    from fuzz import accepted
    entries = {accepted.ROUNDING.key: accepted.ROUNDING.reason}
    entries.update({d.key: d.reason for d in accepted.ACCEPTED + accepted.PENDING_FIX})
    return entries


def summarise(report_dir):
    counts, outcomes, hits = collections.Counter(), collections.Counter(), collections.Counter()
    mismatches = {}
    for path in sorted(glob.glob(os.path.join(report_dir, "counts-*.json"))):
        with open(path) as fh:
            data = json.load(fh)
        for fam, op, n in data["counts"]:
            counts[(fam, op)] += n
        for fam, what, n in data["outcomes"]:
            outcomes[(fam, what)] += n
        for which, key, fam, op, n in data["hits"]:
            hits[(which, key, fam, op)] += n
        for m in data["mismatches"]:
            k = (m["op"], json.dumps(m["signature"]))
            if k in mismatches:
                mismatches[k]["count"] += m["count"]
            else:
                mismatches[k] = dict(m)
    families = {}
    for (fam, op), n in sorted(counts.items()):
        f = families.setdefault(fam, {"cases": 0, "outcomes": {}, "ops": {}})
        f["cases"] += n
        f["ops"][op] = n
    for (fam, what), n in sorted(outcomes.items()):
        families[fam]["outcomes"][what] = n
    reasons = _reasons()
    differences = [{"list": which, "key": key, "family": fam, "op": op, "mismatching_comparisons": n,
                    "reason": reasons.get(key, "")} for (which, key, fam, op), n in sorted(hits.items())]
    return families, differences, list(mismatches.values())


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, default=None, help="Hypothesis seed (default: a random one, recorded)")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--out", default=os.path.join(ROOT, "benchmarks", "results", "fuzz.json"))
    args = ap.parse_args(argv)
    seed = args.seed if args.seed is not None else random.randrange(2 ** 31)
    with tempfile.TemporaryDirectory(prefix="nnzoo-fuzz-") as report_dir:
        env = dict(os.environ, NNZOO_FUZZ="long", NNZOO_FUZZ_KEEP_GOING="1", NNZOO_FUZZ_REPORT=report_dir)
        for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
            env.setdefault(var, "1")
        cmd = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", f"--hypothesis-seed={seed}",
               os.path.join("tests", "fuzz")]
        if args.workers > 1:
            cmd[3:3] = ["-n", str(args.workers)]
        print("running:", " ".join(cmd), flush=True)
        started = datetime.datetime.now(datetime.timezone.utc)
        t0 = time.perf_counter()
        rc = subprocess.call(cmd, cwd=ROOT, env=env)
        wall = time.perf_counter() - t0
        families, differences, mismatches = summarise(report_dir)
    total = sum(f["cases"] for f in families.values())
    summary = {
        "profile": "long", "seed": seed, "workers": args.workers, "started_utc": started.isoformat(timespec="seconds"),
        "wall_s": round(wall, 1), "pytest_exit_status": rc, "cases": total,
        "mismatches_unaccepted": sum(m["count"] for m in mismatches),
        "families": families, "differences_hit": differences, "mismatches": mismatches, "machine": _versions(),
    }
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w") as fh:
        json.dump(summary, fh, indent=1)
    print(f"\n{total} cases in {wall:.0f} s (seed {seed}), pytest exit status {rc}; summary in {args.out}")
    for fam, f in families.items():
        print(f"  {fam:12s} {f['cases']:7d} cases  {f['outcomes']}")
    for d in differences:
        print(f"  {d['list']:8s} {d['key']:40s} {d['family']}/{d['op']}: {d['mismatching_comparisons']}")
    for m in mismatches:
        print(f"  MISMATCH {m['op']} x{m['count']}: {m['mismatch'][0][:200]}")
    return 1 if rc != 0 or mismatches else 0


if __name__ == "__main__":
    sys.exit(main())

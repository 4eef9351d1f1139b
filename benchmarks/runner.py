"""``python -m benchmarks NAME... | all``: time each workload's sides in fresh processes and compare.

For every workload and side the runner starts a new Python process (``benchmarks.worker``), so NumPy's
OpenBLAS threads and PyTorch's OpenMP/MKL threads never share the cores, and neither library's caches or
allocator state leak into the other's timing. The nnzoo process gets ``OPENBLAS_CORETYPE=SkylakeX`` when the
CPU has AVX-512 and the user has not set it (``--no-coretype`` turns that off): NumPy's OpenBLAS otherwise
picks its AVX2 kernels on this CPU. Thread counts are left at the libraries' defaults and recorded.

Prints a Markdown table (median ms/step with the min-max spread over repetitions, and the ratio
torch/nnzoo: above 1 means nnzoo is faster) and writes everything to benchmarks/results/latest.json.
"""
import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time

from . import machine, registry, timing

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
DEFAULT_JSON = os.path.join(HERE, "results", "latest.json")
CORETYPE = "SkylakeX"


def parse_args(argv):
    p = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description="Time nnzoo against PyTorch (CPU), each side in its own fresh process.")
    p.add_argument("names", nargs="*", metavar="NAME", help="workloads to run, or 'all'")
    p.add_argument("--reps", type=int, default=5, help="timed repetitions per process (>= 5; default 5)")
    p.add_argument("--procs", type=int, default=5,
                   help="fresh processes per side, run alternately; their repetitions are pooled (default 5)")
    p.add_argument("--warmup", type=int, default=10, help="untimed steps before calibration (default 10)")
    p.add_argument("--min-time", type=float, default=0.05,
                   help="seconds one repetition lasts at least (default 0.05)")
    p.add_argument("--json", metavar="PATH", default=DEFAULT_JSON,
                   help="where to write the results (default benchmarks/results/latest.json)")
    p.add_argument("--no-coretype", action="store_true",
                   help=f"do not set OPENBLAS_CORETYPE={CORETYPE} for the nnzoo process")
    p.add_argument("--wait-idle", type=float, default=0, metavar="SECONDS",
                   help="before each side, wait up to SECONDS for other processes to use < 0.25 CPUs "
                        "(default 0: do not wait)")
    p.add_argument("--retries", type=int, default=2,
                   help="with --wait-idle: re-run a side disturbed by other processes up to this many times, "
                        "keeping the least disturbed run (default 2)")
    p.add_argument("--side", action="append", choices=registry.SIDES,
                   help="run only this side (repeatable; default all sides of each workload)")
    p.add_argument("--list", action="store_true", help="list the workloads and exit")
    a = p.parse_args(argv)
    if a.reps < 5:
        p.error(f"--reps must be at least 5 (the median of fewer is not robust), got {a.reps}")
    if a.procs < 1:
        p.error(f"--procs must be at least 1, got {a.procs}")
    if a.warmup < 0 or a.min_time <= 0 or a.wait_idle < 0 or a.retries < 0:
        p.error("--warmup and --wait-idle must be >= 0 and --min-time > 0")
    if not a.names and not a.list:
        p.error("name at least one workload, or 'all' (see --list)")
    return a


def coretype_setting(disabled, env=None):
    """(value or None, reason): what OPENBLAS_CORETYPE the nnzoo process runs with, and why."""
    env = os.environ if env is None else env
    if "OPENBLAS_CORETYPE" in env:
        return env["OPENBLAS_CORETYPE"], "set by the user"
    if disabled:
        return None, "--no-coretype"
    if machine.has_avx512f():
        return CORETYPE, "set by the runner (CPU has avx512f)"
    return None, "not set (CPU lacks avx512f)"


def child_env(process, coretype):
    env = dict(os.environ)
    env["PYTHONPATH"] = ROOT + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    if process == "nnzoo" and coretype is not None:
        env["OPENBLAS_CORETYPE"] = coretype
    return env


def check_names(parser, names):
    """Stop with the parser's usage error (exit status 2) unless every name is a workload."""
    unknown = [n for n in names if n not in registry.names()]
    if unknown:
        parser.error(f"unknown workload {', '.join(map(repr, unknown))}; known: {', '.join(registry.names())}")


def json_child(module, child_args, process, env_extra=None):
    """Run ``python -m benchmarks.<module> --child ...`` in a fresh process of kind ``process`` (``nnzoo`` or
    ``torch``: see :func:`child_env`) and return the JSON object its last line prints."""
    env = child_env(process, None)
    env.update(env_extra or {})
    out = subprocess.run([sys.executable, "-m", f"benchmarks.{module}", "--child", *map(str, child_args)], cwd=ROOT,
                         env=env, capture_output=True, text=True, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


BUSY = 0.25  # CPUs used by other processes above which a 2-core timing is considered disturbed


def run_side(name, side, args, coretype):
    """Time one side of one workload in a fresh process; returns the worker's result dict.

    With ``--wait-idle``, a run that other processes disturbed (others' load >= BUSY) is repeated, up to
    ``--retries`` times, and the least disturbed run is kept (``attempts`` records how many were made).
    """
    best, attempts = None, 0
    while True:
        attempts += 1
        r = _run_side_once(name, side, args, coretype)
        if best is None or (r.get("ok") and (r["other_load_cpus"] or 0) < (best["other_load_cpus"] or 0)):
            best = r
        if (not args.wait_idle or not r.get("ok") or (r["other_load_cpus"] or 0) < BUSY
                or attempts > args.retries):
            break
    best["attempts"] = attempts
    return best


def _run_side_once(name, side, args, coretype):
    process = registry.PROCESS_OF_SIDE[side]
    fd, out = tempfile.mkstemp(prefix=f"nnzoo-bench-{name}-{side}-", suffix=".json")
    os.close(fd)
    cmd = [sys.executable, "-m", "benchmarks.worker", name, side, "--out", out, "--reps", str(args.reps),
           "--warmup", str(args.warmup), "--min-time", str(args.min_time)]
    waited = machine.wait_until_idle(args.wait_idle)[1] if args.wait_idle else 0.0
    t0 = time.perf_counter()
    try:
        with machine.OtherLoad() as load:
            proc = subprocess.run(cmd, cwd=ROOT, env=child_env(process, coretype), capture_output=True,
                                  text=True)
        try:
            with open(out) as f:
                result = json.load(f)
        except (OSError, ValueError):
            result = {"workload": name, "side": side, "ok": False,
                      "error": f"worker exited with {proc.returncode} and wrote no result",
                      "traceback": proc.stderr[-4000:]}
    finally:
        os.unlink(out)
    result["wall_s"] = time.perf_counter() - t0
    result["other_load_cpus"] = load.cpus  # CPUs other processes kept busy while this side ran
    result["waited_for_idle_s"] = waited
    if proc.stderr.strip() and result.get("ok"):
        result["stderr"] = proc.stderr[-2000:]
    return result


def merge_runs(runs):
    """One side's result over its processes: the repetitions of all processes pooled (median, min, max,
    quartiles over all of them), each process's own summary kept under ``processes``."""
    ok = [r for r in runs if r.get("ok")]
    if len(ok) < len(runs):
        return next(r for r in runs if not r.get("ok"))
    reps = [ms for r in ok for ms in r["reps_ms"]]
    loads = [r["other_load_cpus"] for r in ok if r.get("other_load_cpus") is not None]
    keep = ("pid", "median_ms", "min_ms", "max_ms", "steps_per_rep", "setup_s", "wall_s", "other_load_cpus",
            "attempts", "loadavg_1min")
    return {"ok": True, "process": ok[0]["process"], **timing.summarize(reps), "reps_ms": reps,
            "other_load_cpus": max(loads) if loads else None,
            "processes": [{k: r.get(k) for k in keep} for r in ok],
            "env": ok[0]["env"], "facts": ok[0]["facts"]}


def fmt_ms(v):
    """Milliseconds with 3 significant digits (0.00213, 0.0874, 1.23, 45.6, 789)."""
    if v is None or not math.isfinite(v):
        return "-"
    if v >= 100:
        return f"{v:.0f}"
    digits = max(0, 2 - math.floor(math.log10(v))) if v > 0 else 3
    return f"{v:.{digits}f}"


def cell(r):
    if r is None:
        return "-"
    if not r.get("ok"):
        return "FAILED"
    return f"{fmt_ms(r['median_ms'])} ({fmt_ms(r['min_ms'])}-{fmt_ms(r['max_ms'])})"


def ratio(num, den):
    if num and den and num.get("ok") and den.get("ok"):
        return num["median_ms"] / den["median_ms"]
    return None


def round_ratios(num, den):
    """num/den of the per-process medians, round by round (processes k of both sides ran back to back)."""
    if not (num and den and num.get("ok") and den.get("ok")):
        return []
    return [a["median_ms"] / b["median_ms"] for a, b in zip(num["processes"], den["processes"])]


def fmt_range(values):
    return f"{min(values):.2f}-{max(values):.2f}" if values else "-"


def groups(selected):
    """Workloads to run together: each workload, joined by the selected reference rows made for it."""
    out, index = [], {}
    for wl in selected:
        if wl.reference_for in index:
            out[index[wl.reference_for]].append(wl)
        else:
            index[wl.name] = len(out)
            out.append([wl])
    return out


def table(rows):
    """Markdown table of the results; a pure-NumPy reference row shows its time in the nnzoo column."""
    head = ["workload", "nnzoo ms/step (min-max)", "torch ms/step (min-max)", "torch/nnzoo (per round)",
            "others' load"]
    lines = []
    for row in rows:
        sides = row["sides"]
        ours = sides.get("nnzoo") or sides.get("numpy")
        name = row["workload"] + (" (NumPy)" if "numpy" in sides else "")
        r = row.get("ratio_torch_over_nnzoo")
        loads = [x["other_load_cpus"] for x in sides.values() if x.get("other_load_cpus") is not None]
        rr = row.get("round_ratios_torch_over_nnzoo")
        lines.append([name, cell(ours), cell(sides.get("torch")),
                      (f"{r:.2f}x" + (f" ({fmt_range(rr)})" if len(rr) > 1 else "")) if r else "-",
                      f"{max(loads):.2f}" if loads else "-"])
    widths = [max(len(h), *(len(row[i]) for row in lines)) for i, h in enumerate(head)]
    out = ["| " + " | ".join(h.ljust(w) for h, w in zip(head, widths)) + " |",
           "|" + "|".join("-" * (w + 2) if i == 0 else "-" * (w + 1) + ":" for i, w in enumerate(widths)) + "|"]
    for row in lines:
        out.append("| " + " | ".join(c.ljust(w) if i == 0 else c.rjust(w)
                                     for i, (c, w) in enumerate(zip(row, widths))) + " |")
    return "\n".join(out)


def summary_lines(report):
    m, procs = report["machine"], report["processes"]
    lines = [f"CPU: {m['cpu_model']} ({m['usable_cpus']} usable of {m['logical_cpus']} logical CPUs; "
             f"{', '.join(m['cpu_simd_flags']) or 'no SIMD flags read'}); load average at start "
             f"{', '.join(f'{x:.2f}' for x in m['loadavg_start'] or [])}"]
    nz = procs.get("nnzoo")
    if nz:
        rt = nz.get("openblas_runtime") or {}
        lines.append(f"nnzoo process: numpy {nz.get('numpy')}, OpenBLAS kernels {rt.get('corename', '?')}, "
                     f"{rt.get('num_threads', '?')} threads; "
                     f"OPENBLAS_CORETYPE={report['settings']['openblas_coretype']} "
                     f"({report['settings']['openblas_coretype_reason']})")
    th = procs.get("torch")
    if th:
        lines.append(f"torch process: torch {th['torch']}, {th['num_threads']} threads "
                     f"({th['num_interop_threads']} interop), BLAS {th['blas_info']}, CPU capability "
                     f"{th['cpu_capability']}")
    s = report["settings"]
    lines.append(f"each side in {s['procs']} fresh process(es), run alternately; in each, {s['warmup']} warm-up "
                 f"steps and {s['reps']} repetitions of >= {s['min_time_s'] * 1e3:.0f} ms; median (min-max) over "
                 f"all {s['procs'] * s['reps']} repetitions; torch/nnzoo = ratio of those medians (in brackets: "
                 "the range of the ratios of each round's two processes)")
    lines.append("others' load: CPUs that other processes kept busy while a side ran (max of the two sides); "
                 "on a 2-CPU machine anything above ~0.2 makes multi-threaded timings noisy")
    return lines


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    if args.list:
        for wl in registry.workloads():
            print(f"{wl.name:20s} [{', '.join(wl.sides)}]  {wl.description}")
        return 0
    names = registry.names() if "all" in args.names else args.names
    try:
        selected = [registry.get(n) for n in names]
    except KeyError as e:
        print(f"error: {e.args[0]}", file=sys.stderr)
        return 2
    coretype, reason = coretype_setting(args.no_coretype)
    report = {
        "command": ["python", "-m", "benchmarks", *(sys.argv[1:] if argv is None else argv)],
        "settings": {"reps": args.reps, "procs": args.procs, "warmup": args.warmup, "min_time_s": args.min_time,
                     "openblas_coretype": coretype, "openblas_coretype_reason": reason,
                     "wait_idle_s": args.wait_idle, "retries": args.retries, "gc": "enabled",
                     "clock": "time.perf_counter"},
        "machine": machine.machine_facts(ROOT),
        "processes": {},
        "results": [],
    }
    failed = False
    for group in groups(selected):
        # alternate sides (and a reference workload's sides) round by round, so drifts hit all alike
        runs = {(wl.name, side): [] for wl in group for side in wl.sides if not args.side or side in args.side}
        for k in range(args.procs):
            for name, side in runs:
                print(f"  {name:20s} {side:6s} {k + 1}/{args.procs} ...", end="", file=sys.stderr, flush=True)
                r = run_side(name, side, args, coretype)
                runs[name, side].append(r)
                if r.get("ok"):
                    print(f" {fmt_ms(r['median_ms'])} ms/step ({r['steps_per_rep']} steps/rep, "
                          f"{r['wall_s']:.1f} s, others' load {r['other_load_cpus'] or 0:.2f} CPUs, "
                          f"{r['attempts']} attempt(s))", file=sys.stderr)
                    report["processes"].setdefault(r["process"], r["facts"])
                else:
                    failed = True
                    print(f" FAILED: {r['error']}", file=sys.stderr)
        for wl in group:
            row = {"workload": wl.name, "description": wl.description,
                   "sides": {side: merge_runs(rs) for (name, side), rs in runs.items() if name == wl.name}}
            if wl.reference_for:
                row["reference_for"] = wl.reference_for
            row["ratio_torch_over_nnzoo"] = ratio(row["sides"].get("torch"), row["sides"].get("nnzoo"))
            row["round_ratios_torch_over_nnzoo"] = round_ratios(row["sides"].get("torch"),
                                                                row["sides"].get("nnzoo"))
            report["results"].append(row)

    by_name = {row["workload"]: row for row in report["results"]}
    notes = []
    for row in report["results"]:
        ref = row.get("reference_for")
        if ref in by_name:
            ours, numpy = by_name[ref]["sides"].get("nnzoo"), row["sides"].get("numpy")
            r = ratio(ours, numpy)
            if r:
                row["nnzoo_over_numpy"] = r
                rr = round_ratios(ours, numpy)
                row["round_ratios_nnzoo_over_numpy"] = rr
                notes.append(f"{ref}: nnzoo takes {r:.2f}x the time of the same step in raw NumPy "
                             f"({row['workload']}; per round {fmt_range(rr)})")
    report["machine"]["loadavg_end"] = list(os.getloadavg()) if hasattr(os, "getloadavg") else None
    os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
    with open(args.json, "w") as f:  # before printing, so a closed pipe (| head) loses nothing
        json.dump(report, f, indent=1)

    print()
    print(table(report["results"]))
    print()
    for line in summary_lines(report) + notes:
        print(line)
    for row in report["results"]:
        for side, r in row["sides"].items():
            if not r.get("ok"):
                print(f"\n{row['workload']} [{side}] failed: {r['error']}\n{r.get('traceback', '')}",
                      file=sys.stderr)

    print(f"\nresults written to {os.path.relpath(args.json)}")
    return 1 if failed else 0

"""Facts about the machine and the libraries, recorded next to every result.

``machine_facts`` runs in the parent (imports neither library); ``numpy_facts``/``nnzoo_facts`` run in the
nnzoo child and ``torch_facts`` in the torch child, so each describes the library as it was timed
(e.g. the OpenBLAS kernel set actually chosen under ``OPENBLAS_CORETYPE``).
"""
import ctypes
import datetime
import os
import platform
import re
import subprocess
import sys
import time


def setup_threads(argv) -> int:
    """BLAS threads are fixed when NumPy loads: a benchmark calls this with ``sys.argv`` before importing NumPy.
    ``--threads N`` (default 1) becomes OMP/OpenBLAS/MKL_NUM_THREADS unless the environment already sets them;
    returns the OpenBLAS thread count in force."""
    n = "1"
    if "--threads" in argv:
        n = argv[argv.index("--threads") + 1]
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, n)
    return int(os.environ["OPENBLAS_NUM_THREADS"])


# Environment variables that change how the libraries run; each child records the ones it saw.
ENV_VARS = ("OPENBLAS_CORETYPE", "OPENBLAS_NUM_THREADS", "OPENBLAS_VERBOSE", "OMP_NUM_THREADS",
            "MKL_NUM_THREADS", "MKL_DEBUG_CPU_TYPE", "MKL_ENABLE_INSTRUCTIONS", "NUMEXPR_NUM_THREADS",
            "GOTO_NUM_THREADS", "KMP_AFFINITY", "KMP_BLOCKTIME", "OMP_WAIT_POLICY", "ATEN_CPU_CAPABILITY",
            "DNNL_MAX_CPU_ISA", "PYTHONHASHSEED")


def env_facts(env=None):
    env = os.environ if env is None else env
    return {k: env[k] for k in ENV_VARS if k in env}


def cpuinfo():
    """(model name, set of flags) from /proc/cpuinfo; ('unknown', set()) where it is not available."""
    model, flags = platform.processor() or "unknown", set()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                key, _, value = line.partition(":")
                key = key.strip()
                if key == "model name" and model in ("unknown", "", platform.processor()):
                    model = value.strip()
                elif key == "flags" and not flags:
                    flags = set(value.split())
    except OSError:
        pass
    return model, flags


def has_avx512f():
    return "avx512f" in cpuinfo()[1]


def _mem_total_gib():
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    return round(int(line.split()[1]) / 2**20, 1)
    except OSError:
        return None


def _git(root):
    def run(*args):
        try:
            return subprocess.run(["git", *args], cwd=root, capture_output=True, text=True,
                                  timeout=10).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return ""
    return {"commit": run("rev-parse", "HEAD") or None, "dirty": bool(run("status", "--porcelain"))}


def machine_facts(root):
    model, flags = cpuinfo()
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = os.cpu_count()
    simd = [f for f in ("avx", "avx2", "fma", "avx512f", "avx512bw", "avx512vl", "avx512_vnni",
                        "avx512_bf16", "amx_tile") if f in flags]
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "cpu_model": model,
        "cpu_simd_flags": simd,
        "logical_cpus": os.cpu_count(),
        "usable_cpus": usable,
        "mem_total_gib": _mem_total_gib(),
        "platform": platform.platform(),
        "python": sys.version.split()[0],
        "python_executable": sys.executable,
        "loadavg_start": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
        "env": env_facts(),
        "git": _git(root),
    }


# ---- inside the children --------------------------------------------------------------------------------
def _loaded_libraries(fragment):
    try:
        with open("/proc/self/maps") as f:
            paths = {line.split()[-1] for line in f if fragment in line and "/" in line}
    except OSError:
        return []
    return sorted(paths)


def _call(lib, names, restype):
    for name in names:
        fn = getattr(lib, name, None)
        if fn is not None:
            fn.restype, fn.argtypes = restype, []
            value = fn()
            return value.decode() if isinstance(value, bytes) else value
    return None


def openblas_runtime():
    """The OpenBLAS NumPy loaded: its path, the kernel set chosen at runtime (corename) and thread count."""
    out = {}
    for path in _loaded_libraries("openblas"):
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        corename = _call(lib, ("scipy_openblas_get_corename64_", "scipy_openblas_get_corename",
                               "openblas_get_corename64_", "openblas_get_corename"), ctypes.c_char_p)
        if corename is None:
            continue
        out = {"library": os.path.basename(path), "corename": corename,
               "num_threads": _call(lib, ("scipy_openblas_get_num_threads64_", "scipy_openblas_get_num_threads",
                                          "openblas_get_num_threads64_", "openblas_get_num_threads"),
                                    ctypes.c_int),
               "config": _call(lib, ("scipy_openblas_get_config64_", "scipy_openblas_get_config",
                                     "openblas_get_config64_", "openblas_get_config"), ctypes.c_char_p)}
        break
    return out


def numpy_facts():
    import numpy as np
    facts = {"numpy": np.__version__}
    try:
        blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
        facts["blas_build"] = {k: blas.get(k) for k in ("name", "version", "openblas configuration")}
    except Exception as e:  # older NumPy: no dict mode
        facts["blas_build"] = f"unavailable ({type(e).__name__})"
    facts["openblas_runtime"] = openblas_runtime()
    return facts


def nnzoo_facts():
    import nnzoo
    return {"nnzoo": nnzoo.__version__, **numpy_facts()}


def torch_facts():
    import torch
    shown = torch.__config__.show()
    blas = re.search(r"BLAS_INFO=([^,\s]+)", shown)
    libs = [line.strip(" -") for line in shown.splitlines()
            if "Math Kernel Library" in line or "MKL-DNN" in line or "OpenMP" in line]
    return {"torch": torch.__version__, "num_threads": torch.get_num_threads(),
            "num_interop_threads": torch.get_num_interop_threads(),
            "cpu_capability": torch.backends.cpu.get_cpu_capability(),
            "blas_info": blas.group(1) if blas else None, "libraries": libs,
            "numpy": sys.modules["numpy"].__version__ if "numpy" in sys.modules else None}


# ---- how busy the machine is with other work ------------------------------------------------------------
def _cpu_busy_seconds():
    """CPU-seconds all processes have spent busy since boot (all CPUs summed), from /proc/stat."""
    try:
        with open("/proc/stat") as f:
            fields = [int(v) for v in f.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def _children_cpu_seconds():
    import resource
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


class OtherLoad:
    """Average number of CPUs kept busy by *other* processes over a window (ours and our children's
    CPU time are subtracted). Use as ``with OtherLoad() as load: ...; load.cpus``."""

    def __enter__(self):
        import resource
        self._busy, self._t = _cpu_busy_seconds(), time.perf_counter()
        self._own = _children_cpu_seconds() + sum(resource.getrusage(resource.RUSAGE_SELF)[:2])
        self.cpus = None
        return self

    def __exit__(self, *exc):
        import resource
        busy, wall = _cpu_busy_seconds(), time.perf_counter() - self._t
        own = _children_cpu_seconds() + sum(resource.getrusage(resource.RUSAGE_SELF)[:2])
        if busy is not None and self._busy is not None and wall > 0:
            self.cpus = max(0.0, (busy - self._busy) - (own - self._own)) / wall
        return False


def other_load(window=1.0):
    """Other processes' CPU use (in CPUs) measured over ``window`` seconds."""
    with OtherLoad() as load:
        time.sleep(window)
    return load.cpus


def wait_until_idle(timeout, threshold=0.25, window=1.0):
    """Wait (up to ``timeout`` s) until other processes use < ``threshold`` CPUs; returns (load, waited s)."""
    t0 = time.perf_counter()
    load = other_load(window)
    while load is not None and load >= threshold and time.perf_counter() - t0 < timeout:
        load = other_load(window)
    return load, time.perf_counter() - t0

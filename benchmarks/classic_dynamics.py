"""The classic zoo's dynamics rows (issue 19): Markov chains, the Kohonen map, the echo state network and the
liquid state machine, each against its reference in one run.

- **Kohonen map vs MiniSom**: MiniSom's documented digits example (the 1,797 digits standardised, 30 x 30 map,
  sigma 4, lr 0.5, triangle neighbourhood, PCA initialisation, 5,000 single-sample updates in random order;
  MiniSom's documentation reports a quantisation error of 3.046): both libraries with the same seed (the same
  initial weights and sampling order: nnzoo follows MiniSom's schedule), quantisation and topographic errors and
  training time (median of 3 trainings, alternating which library goes first), 3 seeds.
- **ESN vs reservoirpy**: reservoirpy's README example (``mackey_glass(2000)``, 20% test, 100 units, spectral
  radius 1.25, leak 0.3, ridge 1e-5, warm-up 100; README: RMSE 0.0020, R^2 0.99992) on reservoirpy's very series,
  3 seeds (each library's own random reservoir for the seed): one-step RMSE, R^2, NRMSE, fit time (median of 5
  fits), and the free-running horizon (steps before the error exceeds 0.2 x the series' SD) from the end of the
  training part.
- **Markov chains vs the char-RNN**: interpolated Kneser-Ney chains of order 1..8 over the characters of the
  bundled Shakespeare corpus, the char-RNN's splits and vocabulary; validation and test perplexity per order
  against the char-RNN's recorded validation loss (``benchmarks/results/char_rnn.json``, 3,000 steps, nats per
  character: perplexity = exp(loss)); counting time against its training time; samples side by side.
- **LSM**: no peer library (none trains this task); the recipe's jitter sweep over 3 liquid seeds, the liquid's
  readout against the same readout on the unfiltered input raster.

NOTE: BLAS runs on one thread (``OPENBLAS_NUM_THREADS=1``, set before NumPy loads, for both sides of every
comparison): on the shared 2-core machine (load average ~20) a 2-thread OpenBLAS GEMM of (60, 843) @ (843, 270)
took 98 ms against 0.9 ms on one thread (its threads spin against the other engineers' processes).

    python -m benchmarks.classic_dynamics [--seeds 3] [--rows som esn markov lsm]
"""
from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse
import json
import math
import pathlib
import platform
import statistics
import time

import numpy as np

RESULTS = pathlib.Path(__file__).resolve().parent / "results" / "classic_dynamics.json"
SOM = dict(x=30, y=30, sigma=4.0, lr=0.5, iterations=5000, neighborhood="triangle")
ESN_SETTINGS = dict(units=100, sr=1.25, lr=0.3, ridge=1e-5, timesteps=2000, test_size=0.2, warmup=100)


def _stats(values):
    values = [v for v in values if v is not None]
    if not values:
        return None
    return {"mean": statistics.fmean(values), "sd": statistics.stdev(values) if len(values) > 1 else 0.0,
            "values": values}


# ---- Kohonen map ------------------------------------------------------------------------------------------------

def _som_nnzoo(data, seed):
    from nnzoo.zoo.som import SOM as Map
    m = Map(SOM["x"], SOM["y"], data.shape[1], sigma=SOM["sigma"], learning_rate=SOM["lr"],
            neighborhood=SOM["neighborhood"], seed=seed).pca_init(data)
    t = time.perf_counter()
    m.train(data, SOM["iterations"])
    seconds = time.perf_counter() - t
    return {"quantization_error": m.quantization_error(data), "topographic_error": m.topographic_error(data),
            "seconds": seconds}


def _som_minisom(data, seed):
    from minisom import MiniSom
    m = MiniSom(SOM["x"], SOM["y"], data.shape[1], sigma=SOM["sigma"], learning_rate=SOM["lr"],
                neighborhood_function=SOM["neighborhood"], random_seed=seed)
    m.pca_weights_init(data)
    t = time.perf_counter()
    m.train_random(data, SOM["iterations"])
    seconds = time.perf_counter() - t
    return {"quantization_error": float(m.quantization_error(data)),
            "topographic_error": float(m.topographic_error(data)), "seconds": seconds}


def bench_som(seeds, repeats=3):
    from sklearn.datasets import load_digits
    from sklearn.preprocessing import scale
    data = scale(load_digits().data)  # MiniSom's example, as written
    runs = {"nnzoo": [], "minisom": []}
    for seed in range(seeds):
        order = (("nnzoo", _som_nnzoo), ("minisom", _som_minisom))
        last, times = {}, {"nnzoo": [], "minisom": []}
        for rep in range(repeats):  # the same training again (deterministic): the median time of the repeats
            for lib, f in (order if (seed + rep) % 2 == 0 else order[::-1]):
                last[lib] = f(data, seed)
                times[lib].append(last[lib]["seconds"])
        for lib, _ in order:
            r = {**last[lib], "seconds": statistics.median(times[lib]), "all_seconds": times[lib]}
            runs[lib].append({"seed": seed, **r})
            print(f"som seed {seed} {lib}: QE {r['quantization_error']:.4f} TE {r['topographic_error']:.4f} "
                  f"{r['seconds']:.2f} s (median of {repeats})", flush=True)
    summary = {lib: {k: _stats([r[k] for r in rs]) for k in ("quantization_error", "topographic_error", "seconds")}
               for lib, rs in runs.items()}
    ratios = [a["seconds"] / b["seconds"] for a, b in zip(runs["nnzoo"], runs["minisom"])]
    return {"settings": {**SOM, "init": "pca", "data": "sklearn digits, scale()d", "documented_qe": 3.046},
            "runs": runs, "summary": summary, "time_ratio_nnzoo_over_minisom": _stats(ratios)}


# ---- echo state network -----------------------------------------------------------------------------------------

def _scores(y, p):
    from nnzoo.recipes.esn import regression_scores
    return regression_scores(y, p)


def _horizon(gen, truth, sd, threshold=0.2):
    bad = np.nonzero(np.abs(np.asarray(gen) - truth) > threshold * sd)[0]
    return int(bad[0]) if len(bad) else len(truth)


def _esn_nnzoo(split, series, seed, steps):
    from nnzoo.zoo.esn import ESN
    x_tr, x_te, y_tr, _y_te = split
    times = []
    for _ in range(5):
        t = time.perf_counter()
        m = ESN(ESN_SETTINGS["units"], spectral_radius=ESN_SETTINGS["sr"], leak_rate=ESN_SETTINGS["lr"],
                ridge=ESN_SETTINGS["ridge"], seed=seed)
        m.fit(x_tr, y_tr, warmup=ESN_SETTINGS["warmup"])
        times.append(time.perf_counter() - t)
    p = m.predict(x_te).numpy()
    m.fit(x_tr, y_tr, warmup=ESN_SETTINGS["warmup"])
    gen = m.generate(steps, y_tr[-1]).numpy()[:, 0]
    return p, gen, statistics.median(times)


def _esn_reservoirpy(split, series, seed, steps):
    from reservoirpy import ESN
    x_tr, x_te, y_tr, _y_te = split
    times = []
    for _ in range(5):
        t = time.perf_counter()
        m = ESN(units=ESN_SETTINGS["units"], sr=ESN_SETTINGS["sr"], lr=ESN_SETTINGS["lr"],
                ridge=ESN_SETTINGS["ridge"], seed=seed)
        m.fit(x_tr, y_tr, warmup=ESN_SETTINGS["warmup"])
        times.append(time.perf_counter() - t)
    p = m.run(x_te)
    m = ESN(units=ESN_SETTINGS["units"], sr=ESN_SETTINGS["sr"], lr=ESN_SETTINGS["lr"], ridge=ESN_SETTINGS["ridge"],
            seed=seed)
    m.fit(x_tr, y_tr, warmup=ESN_SETTINGS["warmup"])
    u, gen = y_tr[-1:].copy(), []
    for _ in range(steps):
        u = m.run(u)
        gen.append(float(u[0, 0]))
    return p, np.array(gen), statistics.median(times)


def bench_esn(seeds, steps=400):
    from reservoirpy.datasets import mackey_glass, to_forecasting

    from nnzoo.recipes.esn import mackey_glass as our_mackey_glass
    series = mackey_glass(ESN_SETTINGS["timesteps"])
    same_series = bool(np.array_equal(series, our_mackey_glass(ESN_SETTINGS["timesteps"])))
    split = to_forecasting(series, test_size=ESN_SETTINGS["test_size"])
    truth = series[len(split[0]) + 1:len(split[0]) + 1 + steps, 0]
    runs = {"nnzoo": [], "reservoirpy": []}
    for seed in range(seeds):
        order = (("nnzoo", _esn_nnzoo), ("reservoirpy", _esn_reservoirpy))
        for lib, f in (order if seed % 2 == 0 else order[::-1]):
            p, gen, seconds = f(split, series, seed, steps)
            r = {"seed": seed, **_scores(split[3], p), "fit_seconds": seconds,
                 "horizon": _horizon(gen, truth, series.std()), "free_run_nrmse": _scores(truth, gen)["nrmse"]}
            runs[lib].append(r)
            print(f"esn seed {seed} {lib}: RMSE {r['rmse']:.5f} R2 {r['r2']:.6f} horizon {r['horizon']} "
                  f"fit {seconds:.3f} s", flush=True)
    keys = ("rmse", "r2", "nrmse", "fit_seconds", "horizon", "free_run_nrmse")
    summary = {lib: {k: _stats([r[k] for r in rs]) for k in keys} for lib, rs in runs.items()}
    ratios = [a["fit_seconds"] / b["fit_seconds"] for a, b in zip(runs["nnzoo"], runs["reservoirpy"])]
    return {"settings": {**ESN_SETTINGS, "readme": {"rmse": 0.0020282, "r2": 0.99992}, "free_run_steps": steps,
                         "horizon_threshold": "0.2 x series SD"},
            "series_equal_to_nnzoos_generator": same_series, "runs": runs, "summary": summary,
            "time_ratio_nnzoo_over_reservoirpy": _stats(ratios)}


# ---- Markov chains ----------------------------------------------------------------------------------------------

def bench_markov(max_order=8):
    from nnzoo.random import Generator
    from nnzoo.recipes.char_rnn import shakespeare_streams, shakespeare_vocab
    from nnzoo.zoo.markov import NGramChain
    train, val, test = shakespeare_streams({})
    vocab = shakespeare_vocab(None)
    ref_path = RESULTS.parent / "char_rnn.json"
    ref = json.loads(ref_path.read_text()) if ref_path.is_file() else None
    rnn_loss = ref["runs"]["nnzoo"]["final_val_loss"] if ref else None
    rows, samples = [], {}
    prompt = vocab.encode("ROMEO:")
    for n in range(1, max_order + 1):
        t = time.perf_counter()
        chain = NGramChain(n, len(vocab)).fit(train)
        seconds = time.perf_counter() - t
        row = {"order": n, "val_perplexity": chain.perplexity(val), "test_perplexity": chain.perplexity(test),
               "count_seconds": seconds}
        rows.append(row)
        if n in (2, 4, 6, 7, 8):
            ids = chain.sample(prompt, 500, generator=Generator().manual_seed(0), temperature=0.8)
            samples[f"markov order {n} (temperature 0.8)"] = "ROMEO:" + vocab.decode(ids)
        print(f"markov order {n}: val {row['val_perplexity']:.3f} test {row['test_perplexity']:.3f} "
              f"({seconds:.1f} s)", flush=True)
    if ref:
        samples["char-RNN (LSTM 2x256, 3,000 steps, temperature 0.8; benchmarks/results/char_rnn.json)"] = ref["sample"]
    best = min(rows, key=lambda r: r["val_perplexity"])
    return {"orders": rows, "best_order": best["order"],
            "char_rnn": {"val_loss_nats": rnn_loss, "val_perplexity": math.exp(rnn_loss) if rnn_loss else None,
                         "train_seconds": ref["runs"]["nnzoo"]["train_seconds"] if ref else None,
                         "note": "recorded validation loss (nats/char) converted: perplexity = exp(loss); the "
                                 "char-RNN has no recorded test figure"},
            "samples": samples}


# ---- LSM --------------------------------------------------------------------------------------------------------

def bench_lsm(seeds):
    import tempfile

    from nnzoo.recipes import recipe_config
    from nnzoo.recipes.lsm import fit, load_data
    config = recipe_config("lsm")
    data = load_data(config)
    runs = []
    for seed in range(seeds):
        with tempfile.TemporaryDirectory() as d:
            t = time.perf_counter()
            r = fit(None, config, data, pathlib.Path(d), seed=seed, progress=False)
            seconds = time.perf_counter() - t
        runs.append({"seed": seed, "by_jitter": r["by_jitter"], "seconds": seconds, "liquid": r["liquid"]})
        print(f"lsm seed {seed}: " + ", ".join(f"{row['jitter']:g} ms {row['accuracy']:.3f}/"
                                               f"{row['baseline_accuracy']:.3f}" for row in r["by_jitter"]), flush=True)
    jitters = [row["jitter"] for row in runs[0]["by_jitter"]]
    summary = {str(j): {k: _stats([run["by_jitter"][i][k] for run in runs])
                        for k in ("accuracy", "baseline_accuracy", "last_ms_accuracy")}
               for i, j in enumerate(jitters)}
    return {"settings": {k: config[k] for k in ("templates", "channels", "rate", "duration", "dt", "jitters",
                                                 "train_per_class", "test_per_class", "tau_readout")},
            "peer": "none (no library trains this task; the baseline is a readout of the unfiltered input)",
            "runs": runs, "summary": summary}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--rows", nargs="+", default=["som", "esn", "markov", "lsm"],
                    choices=["som", "esn", "markov", "lsm"])
    ap.add_argument("--out", type=pathlib.Path, default=RESULTS)
    args = ap.parse_args(argv)
    result = json.loads(args.out.read_text()) if args.out.is_file() else {}
    import minisom
    import reservoirpy

    import nnzoo
    machine = {"python": platform.python_version(), "numpy": np.__version__, "nnzoo": nnzoo.__version__,
                         "minisom": getattr(minisom, "__version__", "0.4.x (no __version__)"),
                         "reservoirpy": reservoirpy.__version__, "cpus": os.cpu_count(),
                         "load_average": os.getloadavg(), "OPENBLAS_NUM_THREADS": os.environ["OPENBLAS_NUM_THREADS"],
                         "date": time.strftime("%Y-%m-%d %H:%M:%S")}
    result.pop("machine", None)
    for row in args.rows:
        t = time.perf_counter()
        result[row] = {"som": bench_som, "esn": bench_esn, "lsm": bench_lsm}[row](args.seeds) if row != "markov" \
            else bench_markov()
        result[row]["bench_seconds"] = time.perf_counter() - t
        result[row]["machine"] = {**machine, "load_average_after": os.getloadavg()}
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, indent=1) + "\n")
    print(f"written to {args.out}")


if __name__ == "__main__":
    main()

"""word2vec: nnzoo against gensim on the same corpus, the same hyper-parameters and the same evaluation.

For each corpus (WikiText-2 valid + test, the bundled Shakespeare), each architecture (skip-gram, CBOW) and each
seed, nnzoo and gensim train one after the other in this process (alternating which goes first), with vector_size
100, window 5, negative 5, sample 1e-3, min_count 5, 5 epochs, 2 worker threads, alpha 0.025 -> 0.0001; then both
sets of vectors are scored by the same code (nnzoo's ``evaluate_word_analogies``, equal to gensim's, tested):

- analogy accuracy on the covered questions of Mikolov's ``questions-words.txt`` (coverage: covered / 19,544);
- WordSim-353 Spearman (pairs with both words in the vocabulary);
- words per second: corpus words (before subsampling) x epochs / wall time of the training call (the vocabulary
  is built before the clock starts, on both sides).

Targets (issue 17): accuracy and Spearman each at least gensim's minus 10% relative (mean over seeds); speed at
least 0.5x gensim's. Results go to ``benchmarks/results/word2vec.json``.

    python -m benchmarks.word2vec [--seeds 3] [--first-seed 1] [--corpora wikitext2 shakespeare] [--archs sg cbow]
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time

import numpy as np

HYPER = dict(vector_size=100, window=5, negative=5, sample=1e-3, min_count=5, epochs=5, workers=2, hs=0,
             alpha=0.025, min_alpha=0.0001)


def _nnzoo(sentences, sg, seed):
    from nnzoo.zoo.word2vec import Word2Vec
    m = Word2Vec(sg=sg, seed=seed, compute_loss=False, **HYPER)
    m.build_vocab(sentences)
    t = time.perf_counter()
    m.train(sentences)
    return m.wv, time.perf_counter() - t


def _gensim(sentences, sg, seed):
    import gensim

    from nnzoo.zoo.word2vec import KeyedVectors
    m = gensim.models.Word2Vec(sg=sg, seed=seed, **HYPER)
    m.build_vocab(sentences)
    t = time.perf_counter()
    m.train(sentences, total_examples=len(sentences), epochs=HYPER["epochs"])
    seconds = time.perf_counter() - t
    return KeyedVectors(list(m.wv.index_to_key), m.wv.vectors), seconds


def _score(kv, words, seconds):
    from nnzoo.recipes.word2vec import evaluate
    s = evaluate(kv)
    a, w = s["analogy"], s["wordsim"]
    return {"analogy": a["accuracy"], "coverage": a["coverage"], "covered": a["covered"],
            "sections": {k: v["accuracy"] for k, v in a["sections"].items()},
            "wordsim": w["spearman"], "wordsim_pairs": w["pairs"], "seconds": seconds,
            "words_per_second": words * HYPER["epochs"] / seconds, "vocab": len(kv)}


def _summary(runs):
    def stat(side, key):
        vals = [r[side][key] for r in runs]
        return {"mean": statistics.mean(vals), "min": min(vals), "max": max(vals)}
    out = {side: {k: stat(side, k) for k in ("analogy", "wordsim", "words_per_second")} for side in ("nnzoo",
                                                                                                    "gensim")}
    out["coverage"] = runs[0]["nnzoo"]["coverage"]
    speed = [r["nnzoo"]["words_per_second"] / r["gensim"]["words_per_second"] for r in runs]
    out["speed_ratio"] = {"median": statistics.median(speed), "min": min(speed), "max": max(speed)}
    for k in ("analogy", "wordsim"):
        g = out["gensim"][k]["mean"]
        out[f"{k}_relative"] = out["nnzoo"][k]["mean"] / g if g else None
    return out


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--first-seed", type=int, default=1, help="seeds first_seed .. first_seed + seeds - 1")
    p.add_argument("--corpora", nargs="+", default=["wikitext2", "shakespeare"])
    p.add_argument("--archs", nargs="+", default=["sg", "cbow"])
    p.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "results", "word2vec.json"))
    args = p.parse_args(argv)
    import gensim

    from nnzoo.data.text import corpus_sentences
    from nnzoo.kernels import jit
    results = {"hyper_parameters": HYPER, "gensim": gensim.__version__, "kernels": jit.active_mode(),
               "machine": {"cpus": os.cpu_count(), "python": platform.python_version()}, "table": {}}
    # compile (or load from the cache) before timing
    _nnzoo([["a", "b", "c", "a", "b"]] * 20, 1, 0), _nnzoo([["a", "b", "c", "a", "b"]] * 20, 0, 0)
    for corpus in args.corpora:
        sentences = corpus_sentences(corpus)
        words = sum(map(len, sentences))
        for arch in args.archs:
            sg = int(arch == "sg")
            runs = []
            for seed in range(args.first_seed, args.first_seed + args.seeds):
                order = ("nnzoo", "gensim") if seed % 2 else ("gensim", "nnzoo")
                run = {}
                for side in order:
                    kv, seconds = (_nnzoo if side == "nnzoo" else _gensim)(sentences, sg, seed)
                    run[side] = _score(kv, words, seconds)
                runs.append(run)
                print(f"{corpus} {arch} seed {seed}: " + "; ".join(
                    f"{s} analogy {run[s]['analogy']:.4f} wordsim {run[s]['wordsim']:.4f} "
                    f"{run[s]['words_per_second']:,.0f} w/s" for s in ("nnzoo", "gensim")), flush=True)
            results["table"][f"{corpus}/{arch}"] = {"corpus_words": words, "sentences": len(sentences),
                                                     "summary": _summary(runs), "runs": runs}
            os.makedirs(os.path.dirname(args.out), exist_ok=True)
            with open(args.out, "w") as f:
                json.dump(results, f, indent=1)
    print("\n| corpus / arch | coverage | analogy nnzoo | analogy gensim | WordSim nnzoo | WordSim gensim | "
          "words/s nnzoo | words/s gensim | speed ratio (median, range) |")
    print("|---|---|---|---|---|---|---|---|---|")
    for key, row in results["table"].items():
        s = row["summary"]

        def cell(side, k, fmt, s=s):
            return f"{s[side][k]['mean']:{fmt}} ({s[side][k]['min']:{fmt}}-{s[side][k]['max']:{fmt}})"
        print(f"| {key} | {s['coverage']:.3f} | {cell('nnzoo', 'analogy', '.4f')} | "
              f"{cell('gensim', 'analogy', '.4f')} | {cell('nnzoo', 'wordsim', '.3f')} | "
              f"{cell('gensim', 'wordsim', '.3f')} | "
              f"{s['nnzoo']['words_per_second']['mean']:,.0f} | {s['gensim']['words_per_second']['mean']:,.0f} | "
              f"{s['speed_ratio']['median']:.2f} ({s['speed_ratio']['min']:.2f}-{s['speed_ratio']['max']:.2f}) |")
    return results


if __name__ == "__main__":
    np.seterr(all="ignore")
    main()

"""The guided tour (``nnzoo tour``, what ``make demo`` runs).

Part 1 walks through autograd with the lecture notes' worked examples; part 2 is the notes' feature-map
lesson (linear predictors on chosen features φ(x), the validation loss choosing among them); part 3 trains
the zoo's models on bundled data with the full workflow (train/validation/test split, best checkpoint on
the validation metric, the test set looked at once); part 4 searches hyper-parameters; part 5 makes the
vanishing gradient of recurrent networks visible and trains a character-level model on Shakespeare for
about 30 seconds; part 6 trains an attention encoder-decoder to translate dates and shows where it looks.
Everything lands in one HTML page,
``runs/tour/report.html``, with the plots and a metrics table.
"""
import itertools
import pathlib
import time

import numpy as np

import nnzoo
from nnzoo.viz import graph_text


class _Log:
    """Prints the tour's lines and keeps them for the report."""

    def __init__(self):
        self.lines = []

    def __call__(self, text=""):
        print(text)
        self.lines.extend(str(text).split("\n"))

    def section(self, title):
        self("\n" + title)
        self("-" * len(title))


def autograd_tour(steps=2000, seed=0, log=None):
    """Part 1: the notes' autograd examples, a gradcheck, and a small network learning two spirals.

    Prints as it goes; returns the spiral network's final loss and accuracy and the gradcheck's verdict."""
    say = log or _Log()
    say(f"nnzoo {nnzoo.__version__} — 1. tensors and reverse-mode autograd")

    say.section("1.1 A computation graph: f = (x + y) z at x = -2, y = 5, z = -4")
    x, y, z = (nnzoo.tensor(v, requires_grad=True) for v in (-2.0, 5.0, -4.0))
    f = (x + y) * z
    say(graph_text(f, {x: "x", y: "y", z: "z"}))
    f.backward()
    say(f"f = {f.item():g};  df/dx = {x.grad.item():g}, df/dy = {y.grad.item():g}, "
          f"df/dz = {z.grad.item():g}   (local gradient x upstream gradient)")

    say.section("1.2 The sigmoid neuron f(w, x) = 1 / (1 + e^-(w0 x0 + w1 x1 + w2)), w = (2, -3, -3), x = (-1, -2)")
    w = nnzoo.tensor([2.0, -3.0, -3.0], requires_grad=True)
    xs = nnzoo.tensor([-1.0, -2.0], requires_grad=True)
    out = (w[0] * xs[0] + w[1] * xs[1] + w[2]).sigmoid()
    out.backward()
    say(f"f = {out.item():.3f}; dL/dw = {np.round(w.grad.numpy(), 2).tolist()}, "
          f"dL/dx = {np.round(xs.grad.numpy(), 2).tolist()}")
    say("the sigmoid gate's local gradient (1 - s) s = 0.2 flows back to every input, as in the notes")

    say.section("1.3 Chain rule through reuse: z = (x^2)^2 gives dz/dx = 4x^3")
    t = nnzoo.tensor([1.0, 2.0, 3.0], requires_grad=True)
    ((t ** 2) ** 2).sum().backward()
    say(f"x = {t.detach().tolist()}  ->  dz/dx = {t.grad.tolist()}  (4x^3 = {[4 * v ** 3 for v in (1, 2, 3)]})")

    say.section("1.4 Trust, but verify: finite differences agree with backprop")
    a = nnzoo.randn(3, 4, dtype=nnzoo.float64, requires_grad=True)
    b = nnzoo.randn(4, 2, dtype=nnzoo.float64, requires_grad=True)
    ok = nnzoo.autograd.gradcheck(lambda p, q: (p @ q).tanh(), (a, b))
    say(f"gradcheck of tanh(A @ B), full Jacobian vs central differences: {'passed' if ok else 'FAILED'}")
    s = nnzoo.tensor(1.5, requires_grad=True)
    g1, = nnzoo.autograd.grad(s ** 3, s, create_graph=True)
    g2, = nnzoo.autograd.grad(g1, s)
    say(f"higher order: d/dx x^3 = {g1.item():g}, d2/dx2 x^3 = {g2.item():g} at x = 1.5 (3x^2, 6x)")

    say.section(f"1.5 Learning: a 2-16-16-1 sigmoid network on two interleaved spirals, {steps} steps of SGD")
    rng = np.random.default_rng(seed)
    n = 200
    theta = np.sqrt(rng.random(n)) * 3 * np.pi
    sign = np.where(np.arange(n) % 2 == 0, 1.0, -1.0)
    pts = np.stack([sign * theta * np.cos(theta), sign * theta * np.sin(theta)], 1) / (3 * np.pi)
    pts += rng.normal(0, 0.02, pts.shape)
    X = nnzoo.tensor(pts.astype(np.float32))
    Y = nnzoo.tensor((sign > 0).astype(np.float32)[:, None])
    nnzoo.manual_seed(seed)
    sizes = [2, 16, 16, 1]
    params = []
    for fan_in, fan_out in itertools.pairwise(sizes):
        bound = 1 / np.sqrt(fan_in)
        params.append(((nnzoo.rand(fan_in, fan_out) * 2 - 1) * bound).requires_grad_())
        params.append(((nnzoo.rand(fan_out) * 2 - 1) * bound).requires_grad_())
    start = time.perf_counter()
    for step in range(steps + 1):
        h = X
        for i in range(0, len(params) - 2, 2):
            h = (h @ params[i] + params[i + 1]).tanh()
        p = (h @ params[-2] + params[-1]).sigmoid()
        loss = -(Y * (p + 1e-7).log() + (1 - Y) * (1 - p + 1e-7).log()).mean()  # binary cross-entropy
        loss.backward()
        with nnzoo.no_grad():
            for q in params:
                q -= 0.5 * q.grad
                q.grad = None
        acc = ((p > 0.5).float() == Y).float().mean().item()
        if step % max(1, steps // 6) == 0 or step == steps:
            say(f"  step {step:4d}   loss {loss.item():.4f}   training accuracy {acc:.1%}")
    say(f"trained in {time.perf_counter() - start:.2f} s on the CPU with nnzoo's own autograd")
    return {"loss": loss.item(), "accuracy": acc, "gradcheck": ok}


def run(out_dir="runs/tour", quick=False, progress=True, seed=0):
    """The whole tour; writes ``out_dir/report.html`` and returns a dict of every part's results.

    ``quick=True`` is the reduced tour the tests run: fewer steps and epochs, same parts."""
    from .recipes import feature_maps, recipe, run_recipe
    from .viz.report import Report

    out = pathlib.Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    report = Report("nnzoo tour", subtitle=f"nnzoo {nnzoo.__version__}" + (" · quick mode" if quick else ""))
    results = {}

    log = _Log()
    results["autograd"] = autograd_tour(steps=300 if quick else 2000, seed=seed, log=log)
    report.section("1. Autograd on the notes' examples",
                   "Every number below is computed by nnzoo's reverse-mode autograd and checked against the "
                   "lecture notes' hand-derived values or against finite differences.", code="\n".join(log.lines))

    print("\n2. Features: a linear predictor f(x) = w·φ(x) is only as good as its φ")
    print("-" * 66)
    fm = feature_maps.run(out / "feature_maps", seed=seed, quick=quick)
    results["feature_maps"] = fm
    for name in fm["train_loss"]:
        print(f"  {name:<20} train loss {fm['train_loss'][name]:.4f}   validation loss {fm['val_loss'][name]:.4f}")
    print(f"validation chooses {fm['chosen']}: test loss {fm['test_loss']:.4f}; a quadratic φ separates two "
          f"circles with {fm['accuracy']:.1%} test accuracy (linear φ: {fm['linear_accuracy']:.1%})")
    _report_feature_maps(report, fm)

    print("\n3. The digits: a linear classifier, an MLP and a CNN, trained, validated, then tested once")
    print("-" * 88)
    rows, figures = [], []
    overrides = {"epochs": 3} if quick else {}
    for name in ("logreg", "mlp", "cnn"):
        r = run_recipe(name, out_dir=out / name, overrides=overrides, seed=seed, progress=progress)
        results[name] = r
        rows.append({"model": name, "what it is": recipe(name).description,
                     "epochs": r["epochs"], "best epoch": r["best_epoch"],
                     "val accuracy": r["val"].get("accuracy"), "test accuracy": r["test"].get("accuracy"),
                     "test loss": r["test"].get("loss"), "train time (s)": round(r["seconds"], 1)})
        figures += [(p, f"{name}: {caption}") for p, caption in r["figures"]]
        print(f"{name}: test accuracy {r['test']['accuracy']:.2%} (best validation epoch {r['best_epoch']})")
    report.section("3. Handwritten digits (8x8, scikit-learn's copy of the UCI set)",
                   "A stratified split: 70% training, 10% validation (picks the best epoch), 20% test (looked "
                   "at once, at the end). Logistic regression is the linear predictor of the notes; the MLP "
                   "adds two hidden ReLU layers; the CNN shares its weights across the image (convolution) "
                   "and pools.", table=rows, figures=figures)
    results["cnn_pictures"] = _cnn_pictures(report, results["cnn"], out / "cnn")

    print("\n4. Hyper-parameter search: Optuna's TPE on the validation accuracy, then the test set once")
    print("-" * 86)
    results["search"] = _search(report, out / "search", quick, seed)

    print("\n5. Recurrent networks: the vanishing gradient, and a character-level Shakespeare model")
    print("-" * 86)
    results["gradient_flow"] = _gradient_flow(report, out / "rnn", quick, seed)
    results["char_rnn"] = _char_rnn(report, out / "char-rnn", quick, seed, progress)

    print("\n6. Attention: translating dates (an encoder-decoder with Bahdanau attention)")
    print("-" * 79)
    results["dates"] = _dates(report, out / "date-translator", quick, seed, progress)

    print("\n7. Word embeddings: word2vec (skip-gram, negative sampling) on Shakespeare")
    print("-" * 76)
    results["word2vec"] = _word2vec(report, out / "word2vec", quick, seed, progress)

    print("\n8. Generative models: autoencoders, a VAE and GANs on Fashion-MNIST and the ring of Gaussians")
    print("-" * 94)
    results["generative"] = _zoo_part(report, out / "generative", GENERATIVE, quick, seed, progress,
                                      "8. Generative models", _GENERATIVE_TEXT)

    print("\n9. The classic zoo: networks that learn by other rules than backprop")
    print("-" * 70)
    results["classic"] = _zoo_part(report, out / "classic", CLASSIC, quick, seed, progress,
                                   "9. The classic zoo", _CLASSIC_TEXT)

    results["gallery"] = _gallery(report, out)

    seconds = time.perf_counter() - start
    results["seconds"] = seconds
    path = report.write(out / "report.html")
    results["report"] = str(path)
    print(f"\nthe tour took {seconds:.0f} s; report: {path}")
    return results


def _cnn_pictures(report, result, out):
    """What the trained CNN sees: its first-layer filters and every layer's maps for one test digit."""
    from .viz import plot_activations, plot_filters
    model, test_set = result["model"], result["test_set"]
    image, label = test_set[0]
    filters = plot_filters(model.features[0].weight, out / "filters.png",
                           title="first-layer filters (3x3, one input channel)")
    maps = plot_activations(model, image, out / "activations.png",
                            title=f"activation maps for one test digit (a {int(label)})")
    report.section("What the CNN sees",
                   "Each 3x3 filter of the first layer slides over the 8x8 image; stacking the 32 responses "
                   "gives a new 32-channel image, which the next layers filter and pool again (8x8 -> 4x4 -> "
                   "2x2), until the fully connected layers read the class off the last maps.",
                   figures=[(filters, "first-layer filters"), (maps, "activation maps, layer by layer")])
    print(f"the CNN's filters and activation maps: {filters}, {maps}")
    return {"filters": str(filters), "activations": str(maps)}


SEARCH_SPACE = {"lr": ("float", 1e-4, 1e-2, True), "hidden": ("categorical", [64, 128, 256]),
                "dropout": ("float", 0.0, 0.5), "batch_size": ("categorical", [16, 32, 64])}


def _search(report, out, quick, seed):
    """Part 4: search the MLP's hyper-parameters on the validation set, then test the best once."""
    from .recipes import run_recipe
    from .train import evaluate_best, search
    trials, epochs = (3, 2) if quick else (12, 15)

    def config(params):
        return {**params, "hidden": (params["hidden"],) * 2, "epochs": epochs}

    trial_number = itertools.count()

    def objective(params):
        return run_recipe("mlp", out_dir=out / f"trial_{next(trial_number)}", overrides=config(params),
                          seed=seed, progress=False, test=False)["history"]

    result = search(objective, SEARCH_SPACE, n_trials=trials, sampler="tpe", seed=seed, direction="maximize",
                    metric="val_accuracy")
    final = {}

    def test_fn(params):
        final.update(run_recipe("mlp", out_dir=out / "best", overrides=config(params), seed=seed,
                                progress=False))
        return final["test"]["accuracy"]

    test_acc = evaluate_best(result, test_fn)
    rows = []
    for t in result.study.trials:
        rows.append({"trial": t.number, **{k: (f"{v:.2e}" if k == "lr" else v) for k, v in t.params.items()},
                     "best val accuracy": t.value})
    best = ", ".join(f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}" for k, v in result.best_params.items())
    print(f"{trials} trials of {epochs} epochs; best: {best} (validation accuracy {result.best_value:.2%}); "
          f"its test accuracy: {test_acc:.2%}")
    report.section("4. Hyper-parameter search (Optuna, TPE)",
                   f"{trials} configurations of the MLP, {epochs} epochs each, chosen by Optuna's Tree-structured "
                   f"Parzen Estimator on the validation accuracy alone. The best ({best}) was then trained "
                   f"again and tested once: test accuracy {test_acc:.2%}.",
                   table=rows, figures=final["figures"])
    return {"best_params": result.best_params, "best_val_accuracy": result.best_value, "test_accuracy": test_acc,
            "trials": trials}


def _report_feature_maps(report, fm):
    rows = [{"features φ(x)": name, "train loss": fm["train_loss"][name], "validation loss": fm["val_loss"][name],
             "chosen": "yes" if name == fm["chosen"] else ""} for name in fm["train_loss"]]
    report.section("2. Feature maps φ(x): choosing features with the validation set",
                   f"Three linear predictors f(x) = w·φ(x) fitted by gradient descent to the same 1-D data "
                   f"(a noisy {fm['kind']} curve); the validation loss chooses {fm['chosen']}, and only that one "
                   f"meets the test set (test loss {fm['test_loss']:.4g}). The gradient solutions agree with "
                   f"least squares.\n\nA linear classifier f(x) = w·φ(x) separates two circles only with "
                   f"quadratic features: test accuracy {fm['accuracy']:.1%} against {fm['linear_accuracy']:.1%} "
                   f"with φ(x) = [1, x1, x2]; its decision boundary φ(x)·w = 0 is a curve.",
                   table=rows, figures=[(fm["plots"]["fits"], "the three fits and the data"),
                                        (fm["plots"]["boundary"], "decision boundaries φ(x)·w = 0")])


def _gradient_flow(report, out, quick, seed):
    """Part 5a: ||dl/dh_t|| for every t on the adding problem, RNN vs LSTM vs GRU, before and after training."""
    from .recipes import gradient_flow
    T, steps = (20, 20) if quick else (50, 400)
    res = gradient_flow.compare(T=T, steps=steps, seed=seed)
    path = gradient_flow.plot_gradient_flow(res, out / "gradient_flow.png")
    rows = []
    for label, r in res.items():
        rows.append({"model": label, "σmax(W_hh) at init": round(r.sigma_init, 3),
                     "‖∂ℓ/∂h_1‖ at init": f"{r.norms_init[0]:.1e}", "‖∂ℓ/∂h_T‖ at init": f"{r.norms_init[-1]:.1e}",
                     "‖∂ℓ/∂h_1‖ trained": f"{r.norms_trained[0]:.1e}", "test MSE trained": round(r.test_mse, 4)})
        print(f"  {label:<22} ||dl/dh_1|| {r.norms_init[0]:.1e} -> {r.norms_trained[0]:.1e} after {steps} steps; "
              f"test MSE {r.test_mse:.4f} (constant predictor: 0.167)")
    report.section("5. The vanishing gradient, measured",
                   f"The adding problem with T = {T}: the target is the sum of two values marked somewhere in the "
                   "sequence, so the loss at the last step depends on an input up to T steps back. Every step back "
                   "multiplies the gradient by the step's Jacobian (for a vanilla RNN diag(1 - h²) W_hh): with "
                   "σmax(W_hh) near 1 and tanh's slope below 1 it shrinks geometrically. The LSTM's cell state and "
                   "the GRU's update gate give it a path multiplied by a gate instead; when the gates stay open "
                   f"(after training, or with the LSTM's forget gate started open) it reaches step 1. {steps} Adam "
                   "steps each; the constant predictor's test MSE is 1/6 ≈ 0.167.",
                   table=rows, figures=[(path, "‖∂ℓ/∂h_t‖ against t, log scale")])
    return {label: {"sigma_init": r.sigma_init, "norm_first_init": float(r.norms_init[0]),
                    "norm_first_trained": float(r.norms_trained[0]), "test_mse": r.test_mse}
            for label, r in res.items()}


def _char_rnn(report, out, quick, seed, progress):
    """Part 5b: the char-RNN recipe, small and short (about 30 s): validation bits per character, a sample."""
    from .recipes import run_recipe
    overrides = {"hidden": 128, "embed": 32, "bptt": 64, "batch_size": 32, "epochs": 1,
                 "train_chars": 40_000 if quick else 1_000_000, "eval_chars": 20_000 if quick else 100_000}
    r = run_recipe("char-rnn", out_dir=out, overrides=overrides, seed=seed, progress=progress)
    steps = -(-(overrides["train_chars"] // overrides["batch_size"] - 1) // overrides["bptt"])
    print(f"char-RNN (2-layer LSTM 128), {steps} steps in {r['seconds']:.0f} s: test loss {r['test']['loss']:.3f} "
          f"nats/char ({r['test']['bpc']:.3f} bits); it writes:\n{r['sample'][:300]}")
    report.section("5b. A character-level LSTM reads Shakespeare",
                   f"A 2-layer LSTM of 128 reads the corpus one character at a time (truncated backpropagation "
                   f"through time: {overrides['bptt']} steps, the hidden state carried on), {steps} Adam steps "
                   f"({r['seconds']:.0f} s). Test loss {r['test']['loss']:.3f} nats per character "
                   f"({r['test']['bpc']:.3f} bits; a uniform guess over the {len(_vocab())} symbols costs "
                   f"{np.log(len(_vocab())):.2f} nats). Sampled at temperature 0.8 after the prompt 'ROMEO:', each "
                   "character fed back in:", code=r["sample"], figures=r["figures"])
    return {"test_loss": r["test"]["loss"], "test_bpc": r["test"]["bpc"], "seconds": r["seconds"], "steps": steps,
            "sample": r["sample"]}


def _vocab():
    from .recipes.char_rnn import shakespeare_vocab
    return shakespeare_vocab(None)


def _dates(report, out, quick, seed, progress):
    """Part 6: the date-translator recipe on fewer dates (about 30 s): exact match on fresh dates, heat-maps."""
    from .recipes import run_recipe
    overrides = {"n_train": 2000, "n_val": 200, "n_test": 200, "epochs": 1} if quick else \
        {"n_train": 20000, "n_val": 500, "n_test": 1000, "epochs": 2}
    r = run_recipe("date-translator", out_dir=out, overrides=overrides, seed=seed, progress=progress)
    examples = "\n".join(f"{src!r:>40} -> {dst}" for src, dst in r["examples"])
    print(f"date translator, {r['seconds']:.0f} s of training on {overrides['n_train']} pairs: exact match "
          f"{r['test_exact_match']:.1%}, characters {r['test_char_accuracy']:.2%} on {overrides['n_test']} fresh "
          f"dates\n{examples}")
    report.section("6. Attention: translating dates",
                   f"Human-readable dates in 8 locales and 18 formats (Faker + Babel) to ISO dates, character by "
                   f"character: a bidirectional GRU reads the text, a GRU decoder writes the date, and at every "
                   f"output step Bahdanau attention weighs the encoder states (e_ij = vᵀ tanh(W1 h_j + W2 s_i-1), "
                   f"α = softmax(e)). Trained {r['seconds']:.0f} s on {overrides['n_train']} pairs; on "
                   f"{overrides['n_test']} freshly generated dates: exact match {r['test_exact_match']:.1%}, "
                   f"characters {r['test_char_accuracy']:.2%} (`nnzoo train date-translator` trains the full "
                   "recipe: 99.6% exact match). The heat-maps show, for each output character (rows), the "
                   "weight on each input character (columns): the year digits look at the year, the month at "
                   "the month's name or number.", code=examples, figures=r["figures"])
    return {"test_exact_match": r["test_exact_match"], "test_char_accuracy": r["test_char_accuracy"],
            "seconds": r["seconds"]}



def _word2vec(report, out, quick, seed, progress):
    """Part 7: the word2vec recipe on Shakespeare (a few seconds): neighbours, king + girl - boy, the bias probe."""
    from .recipes import run_recipe
    overrides = {"limit": 4000, "epochs": 2, "tsne": False} if quick else {"epochs": 5}
    r = run_recipe("word2vec", out_dir=out, overrides=overrides, seed=seed, progress=progress)
    lines = [f"{w:>8}: " + ", ".join(n for n, _ in ns[:6]) for w, ns in r["neighbours"].items()]
    queen = r["queen = king + girl - boy"]
    if queen:
        lines.append("king + girl - boy ≈ " + ", ".join(f"{w} ({s:.2f})" for w, s in queen[:5]))
    t = r["test"]
    scores = ""
    if t.get("analogy_accuracy") is not None:
        scores = (f" Mikolov's analogy questions: {t['analogy_accuracy']:.1%} right on the "
                  f"{t['analogy_covered']} whose four words are in the vocabulary; WordSim-353 Spearman "
                  f"{t['wordsim_spearman']:.3f}.")
    print(f"word2vec: {r['vocab_size']} words, {t['words_per_second']:,.0f} words/s\n" + "\n".join(lines))
    report.section("7. Word embeddings: word2vec",
                   f"Each word of the corpus ({r['corpus_words']:,} words, vocabulary {r['vocab_size']:,}) predicts "
                   f"the words around it (skip-gram): σ(u_o·v_c) for the real context word against five words drawn "
                   f"from the unigram distribution to the power 0.75 (negative sampling), frequent words "
                   f"subsampled, the learning rate decaying linearly; {t['words_per_second']:,.0f} words per second "
                   f"on {r['epochs']} epochs.{scores} Nearest neighbours by cosine, the notes' analogy, and the "
                   f"projections of occupation words on the gender direction (Bolukbasi et al. 2016) below.",
                   code="\n".join(lines), figures=r["figures"])
    return {"vocab_size": r["vocab_size"], "words_per_second": t["words_per_second"],
            "analogy_accuracy": t.get("analogy_accuracy"), "queen": queen}


# Parts 8 and 9: (recipe, quick overrides, tour overrides, what the run shows); `nnzoo train NAME` runs the
# full recipe (its recorded figures are in benchmarks/README.md).
GENERATIVE = (
    ("linear-ae", {"dataset": "digits", "max_iter": 50}, {},
     "a linear autoencoder: its decoder spans PCA's subspace (principal angles, reconstruction error)"),
    ("dae", {"epochs": 1, "train_size": 512, "test_size": 128}, {"epochs": 2, "train_size": 20000},
     "the notes' picture: a corrupted image in, the clean image predicted"),
    ("vae", {"epochs": 1, "hidden": 32, "train_limit": 256, "test_limit": 100, "iw_k": 20, "iw_images": 10},
     {"epochs": 2, "train_limit": 20000, "iw_k": 100, "iw_images": 200},
     "the official example's VAE: samples from the prior and a latent grid"),
    ("pacgan-ring", {"steps": 6, "batch_size": 16, "g_hidden": 16, "g_layers": 2, "d_hidden": 8, "d_layers": 1,
                     "n_samples": 200},
     {"steps": 1000}, "PacGAN2 on the ring of 8 Gaussians: modes captured and high-quality samples"),
)
CLASSIC = (
    ("perceptron", {"epochs": 2, "n": 60, "max_epochs": 30}, {},
     "Rosenblatt's rule: mistakes against Novikoff's bound, XOR never converges, digits one-vs-rest"),
    ("hopfield", {"n_max": 100, "patterns_per_point": 5, "n_images": 2, "max_sweeps": 10},
     {"n_max": 200, "patterns_per_point": 50},
     "Hebbian storage: the capacity curve against 0.138 N, corrupted pictures recalled"),
    ("som", {"map_size": 8, "iterations": 300, "sigma": 2.0}, {},
     "MiniSom's example: a 30x30 map of the digits, its U-matrix"),
    ("esn", {"timesteps": 400, "units": 40, "warmup": 50, "generate_steps": 40}, {},
     "reservoirpy's README: Mackey-Glass one step ahead, then free running"),
    ("markov", {"train_chars": 20000, "eval_chars": 3000, "max_order": 3, "word_max_order": 2, "sample_length": 40},
     {"max_order": 6, "word_max_order": 2, "train_chars": 1_000_000, "eval_chars": 100_000},
     "n-gram chains over Shakespeare: held-out perplexity per order"),
)
_GENERATIVE_TEXT = ("Networks that model the data itself: an autoencoder learns f(x) ≈ x through a narrow code "
                    "(with linear units it finds PCA's subspace), a denoising one restores corrupted images, the "
                    "VAE maximises the evidence lower bound and samples new images, and a GAN's generator plays "
                    "the minimax game against a discriminator; PacGAN packs samples so the discriminator can see "
                    "mode collapse. Short runs here; `nnzoo train NAME` runs each recipe in full.")
_CLASSIC_TEXT = ("The cells of the zoo chart that learn by other rules: Rosenblatt's mistake-driven update, "
                 "Hebbian storage and energy descent, competitive learning on a map, a fixed random reservoir "
                 "with a ridge read-out, and counting (a Markov chain). Each recipe is measured against the "
                 "library its users would otherwise pick in benchmarks/README.md.")


_NEEDS_FASHION_MNIST = ("linear-ae", "dae", "vae", "hopfield")
_DIGITS_INSTEAD = ("linear-ae", "dae", "hopfield")   # recipes with a dataset=digits setting


def _have_fashion_mnist():
    """Whether ``FashionMNIST(fashion_mnist_root())`` finds its files (the generative part's data)."""
    from .data.datasets import fashion_mnist_root
    try:
        fashion_mnist_root()
    except FileNotFoundError:
        return False
    return True


def _zoo_part(report, out, entries, quick, seed, progress, title, text):
    """Parts 8 and 9: run each recipe of ``entries`` (small settings), one table of their test figures and
    their first pictures."""
    from .recipes import recipe, run_recipe
    from .recipes.gallery import summarize_test
    rows, figures, results = [], [], {}
    fashion = _have_fashion_mnist()
    for name, quick_overrides, overrides, shows in entries:
        overrides = dict(quick_overrides if quick else overrides)
        if name in _NEEDS_FASHION_MNIST and not fashion:
            if name not in _DIGITS_INSTEAD:
                print(f"{name}: skipped (Fashion-MNIST not found: set NNZOO_FASHION_MNIST; see README)")
                rows.append({"model": name, "what it is": recipe(name).description,
                             "test figures": "skipped: Fashion-MNIST not found", "time (s)": ""})
                continue
            overrides["dataset"] = "digits"
            shows += " (on the 8x8 digits: Fashion-MNIST not found)"
        r = run_recipe(name, out_dir=out / name, overrides=overrides, seed=seed, progress=progress)
        summary = summarize_test(r["test"])
        results[name] = {"test": r["test"], "seconds": r["seconds"]}
        rows.append({"model": name, "what it is": recipe(name).description, "test figures": summary,
                     "time (s)": round(r["seconds"], 1)})
        figures += [(p, f"{name}: {caption}") for p, caption in r["figures"][:2]]
        print(f"{name}: {summary} ({r['seconds']:.0f} s) — {shows}")
    report.section(title, text, table=rows, figures=figures)
    return results


def _gallery(report, out):
    """The zoo gallery of the tour's own runs: every cell of the chart, its model and, where the tour trained
    it, its figures."""
    from .recipes.gallery import gallery
    rows = gallery(out)
    done = sum(r["run"] is not None for r in rows)
    print(f"\nThe zoo gallery: {len(rows)} cells of the chart, {done} trained in this tour "
          "(`nnzoo gallery` builds it from all your runs)")
    table = [{"cell": f"{r['abbr']}: {r['name']}", "nnzoo": r["model"], "task": r["task"], "result": r["result"]}
             for r in rows]
    report.section("10. The Neural Network Zoo in nnzoo",
                   "Every cell of the chart the notes teach, with its nnzoo model and task; where this tour "
                   "trained it, the figures of that run (the full recipes' figures are in benchmarks/README.md).",
                   table=table, figures=[(r["picture"], f"{r['abbr']}: {r['name']}") for r in rows
                                         if r["picture"] is not None][:12])
    return {"cells": len(rows), "trained": [r["abbr"] for r in rows if r["run"] is not None]}

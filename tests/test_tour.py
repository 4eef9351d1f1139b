"""The tour: its autograd part reproduces the notes' numbers, and the reduced tour writes the report."""
import html
import re

import numpy as np

from nnzoo import tour


def test_autograd_part_reproduces_the_notes_and_learns(capsys):
    first = tour.autograd_tour(steps=0)
    result = tour.autograd_tour(steps=2000)
    out = capsys.readouterr().out
    assert "df/dx = -4" in out and "gradcheck" in out
    assert result["gradcheck"] is True
    # the spiral network must beat its untrained self and chance clearly
    assert result["loss"] < first["loss"]
    assert result["accuracy"] >= 0.95


def test_quick_tour_writes_one_page_report(tmp_path, capsys):
    results = tour.run(out_dir=tmp_path, quick=True, progress=False)
    capsys.readouterr()
    page = (tmp_path / "report.html").read_text()
    for title in ("1. Autograd", "2. Feature maps", "3. Handwritten digits", "What the CNN sees",
                  "4. Hyper-parameter search", "5. The vanishing gradient", "5b. A character-level LSTM",
                  "6. Attention: translating dates"):
        assert title in page
    # every figure is embedded, and each part's numbers are in the page
    images = re.findall(r'src="data:image/png;base64,', page)
    assert len(images) >= 8  # fits, boundaries, 3 histories, filters, activation maps, the search's history
    assert results["feature_maps"]["chosen"] in page
    for name in ("logreg", "mlp", "cnn"):
        acc = results[name]["test"]["accuracy"]
        assert f"{acc:.4g}" in page and (tmp_path / name / "best.safetensors").exists()
        assert acc > 0.5  # three epochs already beat chance (10%) by far
    assert results["search"]["trials"] == 3 and 0 < results["search"]["test_accuracy"] <= 1
    flow = results["gradient_flow"]
    assert set(flow) == {"RNN", "LSTM", "GRU", "LSTM, forget bias 2"}
    # the forget gate started open carries far more gradient to the first step than PyTorch's default init
    assert flow["LSTM, forget bias 2"]["norm_first_init"] > 100 * flow["LSTM"]["norm_first_init"]
    char = results["char_rnn"]
    assert char["sample"].startswith("ROMEO:") and html.escape(char["sample"]) in page
    assert char["test_loss"] < np.log(88)  # below a uniform guess over the vocabulary after 20 steps
    assert 0 <= results["dates"]["test_exact_match"] <= 1 and page.count("attention: ") >= 4
    fashion = tour._have_fashion_mnist()   # without it the tour skips the VAE and runs the AEs on the digits
    for part, names in (("generative", ("linear-ae", "dae", "pacgan-ring") + (("vae",) if fashion else ())),
                        ("classic", ("perceptron", "hopfield", "som", "esn", "markov"))):
        assert set(results[part]) == set(names)
        for name in names:   # each run's test figures are in the page's table
            test = results[part][name]["test"]
            first = next(v for v in test.values() if isinstance(v, (int, float)) and not isinstance(v, bool))
            assert f"{first:.4g}" in page, (name, first)
    assert results["classic"]["perceptron"]["test"]["mistakes"] <= results["classic"]["perceptron"]["test"][
        "mistake_bound"]   # Novikoff
    assert results["generative"]["linear-ae"]["test"]["max_principal_angle"] < 0.05
    assert "10. The Neural Network Zoo in nnzoo" in page and results["gallery"]["cells"] == 29
    # the cells whose recipes the tour runs (FF's is the MLP with one hidden layer: not run)
    assert set(results["gallery"]["trained"]) == {"DFF", "DCN", "LSTM", "AN", "AE", "DAE", "GAN", "P", "HN", "KN",
                                                  "ESN", "MC"} | ({"VAE"} if fashion else set())
    w2v = results["word2vec"]
    assert w2v["vocab_size"] > 1000 and w2v["words_per_second"] > 0 and "7. Word embeddings" in page

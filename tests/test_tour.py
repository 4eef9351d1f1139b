"""The tour: its autograd part reproduces the notes' numbers, and the reduced tour writes the report."""
import re

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
                  "4. Hyper-parameter search"):
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

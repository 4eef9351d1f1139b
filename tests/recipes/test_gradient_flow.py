"""nnzoo.recipes.gradient_flow: the experiment (train RNN, LSTM, GRU on the adding problem, measure the
gradient reaching each hidden state before and after) reports every model and draws its plot."""
import numpy as np

from nnzoo.recipes.gradient_flow import compare, plot_gradient_flow


def test_compare_reports_every_model_and_plots(tmp_path):
    results = compare(T=8, hidden=4, steps=3, batch_size=8)
    assert list(results) == ["RNN", "LSTM", "GRU", "LSTM, forget bias 2"]
    for r in results.values():
        assert r.norms_init.shape == r.norms_trained.shape == (8,) and len(r.losses) == 3
        assert np.isfinite(r.test_mse) and r.sigma_init > 0
    path = plot_gradient_flow(results, tmp_path / "flow.png")
    assert (tmp_path / "flow.png").stat().st_size > 1000 and str(path).endswith("flow.png")

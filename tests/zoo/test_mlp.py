"""The MLP and logistic regression: shapes and parameter counts. The MLP recipe learning the digits:
tests/recipes/test_mlp.py."""
import nnzoo
from nnzoo.zoo import MLP, LogisticRegression


def test_shapes_and_parameter_counts():
    x = nnzoo.zeros(5, 1, 8, 8)
    m = MLP(64, (32, 16), 10, dropout=0.1)
    assert m(x).shape == (5, 10)
    # (64*32 + 32) + (32*16 + 16) + (16*10 + 10)
    assert sum(p.numel() for p in m.parameters()) == 64 * 32 + 32 + 32 * 16 + 16 + 16 * 10 + 10
    assert LogisticRegression(64, 10)(x).shape == (5, 10)

"""nnzoo.zoo.char_rnn: shapes for every cell, the state carried across calls, the cell names checked. Learning,
sampling and the char-rnn recipe: tests/recipes/test_char_rnn.py."""
import numpy as np
import pytest

import nnzoo
from nnzoo.zoo.char_rnn import CharRNN


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("embed", [0, 8])
def test_shapes(cell, embed):
    model = CharRNN(vocab_size=11, embed=embed, hidden=12, layers=2, cell=cell)
    x = nnzoo.randint(0, 11, (7, 3))
    logits, state = model(x)
    assert tuple(logits.shape) == (7, 3, 11)
    h = state[0] if cell == "lstm" else state
    assert tuple(h.shape) == (2, 3, 12)
    # carrying the state: two halves with the state passed on give the whole sequence's logits
    a, s = model(x[:4])
    b, _ = model(x[4:], s)
    np.testing.assert_allclose(nnzoo.cat([a, b]).detach().numpy(), logits.detach().numpy(), rtol=1e-5, atol=1e-6)


def test_unknown_cell():
    with pytest.raises(ValueError, match="CharRNN: cell must be one of rnn, lstm, gru"):
        CharRNN(cell="transformer")

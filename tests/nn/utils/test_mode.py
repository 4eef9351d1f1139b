"""nn.utils.evaluating: eval mode for a block, the module's (and its children's) mode restored after."""
import pytest

import nnzoo
from nnzoo import nn


@pytest.mark.parametrize("training", [True, False])
def test_evaluating_sets_eval_and_restores_the_mode(training):
    model = nn.Sequential(nn.Linear(2, 2), nn.Dropout(0.5))
    model.train(training)
    with nn.utils.evaluating(model) as m:
        assert m is model
        assert not model.training and not model[1].training
    assert model.training is training and model[1].training is training


def test_evaluating_restores_the_mode_when_the_block_raises():
    model = nn.Dropout(0.5)
    with pytest.raises(RuntimeError, match="inside"):
        with nn.utils.evaluating(model):
            raise RuntimeError("inside")
    assert model.training


def test_evaluating_makes_dropout_the_identity():
    x = nnzoo.ones(4, 8)
    with nn.utils.evaluating(nn.Dropout(0.9)) as drop:
        assert (drop(x) == x).all()

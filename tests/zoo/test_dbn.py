"""The DBN: the stack's upward pass, the unrolled classifier (pretrained weights copied, or PyTorch's default
initialisation), greedy pretraining lowering each layer's reconstruction error."""
import numpy as np
import pytest

import nnzoo
from nnzoo.zoo.dbn import DBN


def test_upward_pass_is_the_rbms_hidden_probabilities():
    g = nnzoo.Generator().manual_seed(0)
    dbn = DBN((12, 8, 5), init_std=0.5, generator=g)
    x = nnzoo.rand(4, 12, generator=g)
    h1 = dbn.rbms[0].hidden_probs(x)
    np.testing.assert_allclose(dbn(x, layers=1).detach().numpy(), h1.detach().numpy())
    np.testing.assert_allclose(dbn(x).detach().numpy(), dbn.rbms[1].hidden_probs(h1).detach().numpy(), rtol=1e-6)


def test_pretrained_classifier_computes_the_stack_then_a_linear_layer():
    g = nnzoo.Generator().manual_seed(1)
    dbn = DBN((12, 8, 5), init_std=0.5, generator=g)
    net = dbn.classifier(3)
    x = nnzoo.rand(4, 12, generator=g)
    top = net[-1]
    expected = dbn(x) @ top.weight.t() + top.bias
    np.testing.assert_allclose(net(x).detach().numpy(), expected.detach().numpy(), rtol=1e-5, atol=1e-6)
    assert net[1].weight is not dbn.rbms[0].weight          # a copy: fine-tuning leaves the RBMs alone
    random = dbn.classifier(3, pretrained=False)
    assert not np.allclose(random[1].weight.detach().numpy(), dbn.rbms[0].weight.detach().numpy())
    bound = 1 / np.sqrt(12)                                  # nn.Linear's default: U(-1/sqrt(in), 1/sqrt(in))
    assert np.abs(random[1].weight.detach().numpy()).max() <= bound


def test_greedy_pretraining_learns_each_layer():
    pytest.importorskip("sklearn")
    from nnzoo.data.datasets import digits
    from nnzoo.recipes.dbn import pretrain
    x = digits().tensors[0].reshape(-1, 64).numpy()
    g = nnzoo.Generator().manual_seed(2)
    dbn = DBN((64, 32, 16), generator=g)

    def error(rbm, v):
        with nnzoo.no_grad():
            return float(((rbm.visible_mean(rbm.hidden_probs(v)) - v) ** 2).sum(1).mean())
    data = nnzoo.from_numpy(x)
    before = error(dbn.rbms[0], data)
    pretrain(dbn, x, {"pretrain_epochs": 3, "pretrain_lr": 0.1, "pretrain_batch": 20, "k": 1,
                      "update": "closed_form"}, g)
    assert error(dbn.rbms[0], data) < 0.5 * before
    with nnzoo.no_grad():
        h1 = dbn(data, layers=1)                                # the second RBM's data
    from nnzoo.zoo.rbm import RBM
    assert error(dbn.rbms[1], h1) < 0.5 * error(RBM(32, 16, generator=g), h1)


def test_bad_sizes():
    with pytest.raises(ValueError, match="sizes"):
        DBN((10,))

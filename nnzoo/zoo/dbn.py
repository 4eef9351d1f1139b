"""The deep belief network (Hinton, Osindero & Teh 2006; Hinton & Salakhutdinov 2006): a stack of RBMs trained
greedily one layer at a time, then unrolled into a feed-forward net and fine-tuned by backpropagation.

Learning rule, in two stages:

1. Greedy layer-wise pretraining (unsupervised): RBM 1 learns the data by contrastive divergence
   (:mod:`nnzoo.zoo.rbm`); RBM k learns the hidden probabilities p(h | v) = sigmoid(c + W v) of RBM k-1 on the
   data, and so on up the stack. Each added layer improves a variational lower bound on the data's
   log-likelihood (Hinton et al. 2006).
2. Discriminative fine-tuning (supervised): the stack becomes the classifier
   x -> sigmoid(W_1 x + c_1) -> ... -> sigmoid(W_L h + c_L) -> softmax(V h + d), its Linear layers initialised
   with the RBMs' weights and hidden biases (V, d at random), and all of it is trained by backpropagation on the
   cross-entropy loss.

:meth:`DBN.classifier` builds the net of stage 2; ``pretrained=False`` gives the same net at PyTorch's default
random initialisation (the baseline of the comparison).
"""
from __future__ import annotations

import itertools

import nnzoo

from .. import nn
from .rbm import RBM

__all__ = ["DBN"]


class DBN(nn.Module):
    """A stack of Bernoulli RBMs of layer sizes ``sizes`` (the input first).

    Args:
        sizes: (D, H_1, ..., H_L): the input size and the hidden layer sizes.
        init_std: the RBMs' initial weight scale. Default: 0.01.
        generator: the random generator of the initialisation.

    Shape: ``forward(x)`` takes (N, D) (or (N, *) flattened) and returns the top layer's probabilities (N, H_L).

    Example::

        >>> dbn = DBN((64, 32, 16))
        >>> dbn(nnzoo.rand(5, 64)).shape
        nnzoo.Size([5, 16])
        >>> dbn.classifier(10)(nnzoo.rand(5, 64)).shape
        nnzoo.Size([5, 10])
    """

    def __init__(self, sizes: tuple, init_std: float = 0.01, generator: nnzoo.Generator | None = None) -> None:
        super().__init__()
        if len(sizes) < 2:
            raise ValueError(f"DBN: sizes needs the input and at least one hidden layer, got {sizes!r}")
        self.sizes = tuple(sizes)
        self.rbms = nn.ModuleList([RBM(a, b, init_std=init_std, generator=generator)
                                   for a, b in itertools.pairwise(sizes)])

    def forward(self, x: nnzoo.Tensor, layers: int | None = None) -> nnzoo.Tensor:
        """The hidden probabilities of layer ``layers`` (default: the top), propagated up the stack."""
        h = x.reshape(x.shape[0], -1)                                         # (N, D)
        for rbm in self.rbms[:layers]:
            h = rbm.hidden_probs(h)                                           # (N, H_k)
        return h

    def classifier(self, n_classes: int, pretrained: bool = True) -> nn.Sequential:
        """The feed-forward net of fine-tuning: Flatten, (Linear, Sigmoid) per RBM, Linear to ``n_classes``.

        Args:
            n_classes: the number of outputs (logits).
            pretrained: copy the RBMs' weights and hidden biases into the Linear layers; False: the same net at
                its default random initialisation.
        """
        layers: list = [nn.Flatten()]
        for rbm in self.rbms:
            linear = nn.Linear(rbm.n_visible, rbm.n_hidden)
            if pretrained:
                with nnzoo.no_grad():
                    linear.weight.copy_(rbm.weight)
                    linear.bias.copy_(rbm.h_bias)
            layers += [linear, nn.Sigmoid()]
        layers.append(nn.Linear(self.sizes[-1], n_classes))
        return nn.Sequential(*layers)

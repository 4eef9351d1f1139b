"""``Embedding``: a lookup table of vectors."""
from __future__ import annotations

from .. import creation, dtypes
from ..autograd.arrays import array, bump_version
from ..ops.embedding import embedding_bag
from ..ops.nn import embedding
from ..tensor import Tensor
from . import init
from .module import Module
from .parameter import Parameter

__all__ = ["Embedding", "EmbeddingBag"]


def _padding_index(padding_idx: int | None, num_embeddings: int, label: str) -> int | None:
    """``padding_idx`` checked against the table (PyTorch's assertion, whose message spells it ``label``) and
    made non-negative."""
    if padding_idx is not None:
        if padding_idx > 0:
            assert padding_idx < num_embeddings, f"{label} must be within num_embeddings"
        elif padding_idx < 0:
            assert padding_idx >= -num_embeddings, f"{label} must be within num_embeddings"
            padding_idx = num_embeddings + padding_idx
    return padding_idx


def _set_table(module: Module, _weight: Tensor | None, requires_grad: bool, dtype, device) -> None:
    """``module.weight``: a new (num_embeddings, embedding_dim) table initialised by ``reset_parameters``, or
    ``_weight`` (its shape checked) as the Parameter."""
    if _weight is None:
        module.weight = Parameter(creation.empty(module.num_embeddings, module.embedding_dim, dtype=dtype,
                                                 device=device), requires_grad=requires_grad)
        module.reset_parameters()
    else:
        if tuple(_weight.shape) != (module.num_embeddings, module.embedding_dim):
            raise ValueError("Shape of weight does not match num_embeddings and embedding_dim")
        module.weight = Parameter(_weight, requires_grad=requires_grad)


class Embedding(Module):
    """out[..., :] = weight[input[...], :].

    Args:
        num_embeddings, embedding_dim: the table is (num_embeddings, embedding_dim), initialised N(0, 1).
        padding_idx: that row is zeroed at init and gets no gradient.
        max_norm: looked-up rows with a larger norm (``norm_type``) are renormalised in place.
        scale_grad_by_freq: divide each row's gradient by its index's count in the batch.

    Example::

        >>> from nnzoo import nn
        >>> emb = nn.Embedding(10, 3, padding_idx=0)
        >>> emb(nnzoo.tensor([[0, 2, 4]])).shape
        nnzoo.Size([1, 3, 3])
    """

    def __init__(self, num_embeddings: int, embedding_dim: int, padding_idx: int | None = None,
                 max_norm: float | None = None, norm_type: float = 2.0, scale_grad_by_freq: bool = False,
                 sparse: bool = False, _weight: Tensor | None = None, _freeze: bool = False, device: str | None = None,
                 dtype: dtypes.dtype | None = None) -> None:
        super().__init__()
        self.num_embeddings = num_embeddings
        self.embedding_dim = embedding_dim
        self.padding_idx = _padding_index(padding_idx, num_embeddings, "Padding_idx")
        self.max_norm = max_norm
        self.norm_type = norm_type
        self.scale_grad_by_freq = scale_grad_by_freq
        self.sparse = sparse
        _set_table(self, _weight, not _freeze, dtype, device)

    def reset_parameters(self) -> None:
        init.normal_(self.weight)
        if self.padding_idx is not None:
            array(self.weight)[self.padding_idx] = 0  # outside the graph, as no_grad's fill_(0)
            bump_version(self.weight)

    def forward(self, input: Tensor) -> Tensor:
        return embedding(input, self.weight, self.padding_idx, self.max_norm, self.norm_type,
                         self.scale_grad_by_freq, self.sparse)

    def extra_repr(self) -> str:
        s = f"{self.num_embeddings}, {self.embedding_dim}"
        if self.padding_idx is not None:
            s += f", padding_idx={self.padding_idx}"
        if self.max_norm is not None:
            s += f", max_norm={self.max_norm}"
        if self.norm_type != 2:
            s += f", norm_type={self.norm_type}"
        if self.scale_grad_by_freq is not False:
            s += f", scale_grad_by_freq={self.scale_grad_by_freq}"
        if self.sparse is not False:
            s += ", sparse=True"
        return s

    @classmethod
    def from_pretrained(cls, embeddings: Tensor, freeze: bool = True, padding_idx: int | None = None,
                        max_norm: float | None = None, norm_type: float = 2.0, scale_grad_by_freq: bool = False,
                        sparse: bool = False) -> Embedding:
        """An Embedding whose table is ``embeddings`` (2-D; shared memory), frozen by default."""
        if embeddings.dim() != 2:
            raise ValueError("Embeddings parameter is expected to be 2-dimensional")
        rows, cols = embeddings.shape
        return cls(rows, cols, _weight=embeddings, _freeze=freeze, padding_idx=padding_idx, max_norm=max_norm,
                   norm_type=norm_type, scale_grad_by_freq=scale_grad_by_freq, sparse=sparse)


class EmbeddingBag(Module):
    """Sums, means or maxima of bags of embeddings (``F.embedding_bag``), PyTorch's ``nn.EmbeddingBag``.

    Args:
        num_embeddings, embedding_dim: the table is (num_embeddings, embedding_dim), initialised N(0, 1).
        max_norm, norm_type, scale_grad_by_freq, sparse: as ``Embedding``.
        mode: ``'sum'``, ``'mean'`` (default) or ``'max'`` over each bag.
        include_last_offset: ``offsets`` ends with the end of the last bag.
        padding_idx: entries equal to it are left out of their bag; its row is zeroed at init.

    ``forward(input, offsets=None, per_sample_weights=None)``: a 2-D input is one bag per row; a 1-D input
    with ``offsets`` (where each bag starts). Output (number of bags, embedding_dim).

    Example::

        >>> bag = nnzoo.nn.EmbeddingBag(10, 3, mode="sum")
        >>> bag(nnzoo.tensor([1, 2, 4, 5]), nnzoo.tensor([0, 2])).shape
        nnzoo.Size([2, 3])
    """

    def __init__(self, num_embeddings: int, embedding_dim: int, max_norm: float | None = None,
                 norm_type: float = 2.0, scale_grad_by_freq: bool = False, mode: str = "mean", sparse: bool = False,
                 _weight: Tensor | None = None, include_last_offset: bool = False, padding_idx: int | None = None,
                 device: str | None = None, dtype: dtypes.dtype | None = None) -> None:
        super().__init__()
        self.num_embeddings = num_embeddings
        self.embedding_dim = embedding_dim
        self.max_norm = max_norm
        self.norm_type = norm_type
        self.scale_grad_by_freq = scale_grad_by_freq
        self.padding_idx = _padding_index(padding_idx, num_embeddings, "padding_idx")
        _set_table(self, _weight, True, dtype, device)
        self.mode = mode
        self.sparse = sparse
        self.include_last_offset = include_last_offset

    reset_parameters = Embedding.reset_parameters

    def forward(self, input: Tensor, offsets: Tensor | None = None,
                per_sample_weights: Tensor | None = None) -> Tensor:
        return embedding_bag(input, self.weight, offsets, self.max_norm, self.norm_type, self.scale_grad_by_freq,
                             self.mode, self.sparse, per_sample_weights, self.include_last_offset, self.padding_idx)

    def extra_repr(self) -> str:
        s = f"{self.num_embeddings}, {self.embedding_dim}"
        if self.max_norm is not None:
            s += f", max_norm={self.max_norm}"
        if self.norm_type != 2:
            s += f", norm_type={self.norm_type}"
        if self.scale_grad_by_freq is not False:
            s += f", scale_grad_by_freq={self.scale_grad_by_freq}"
        s += f", mode={self.mode!r}"
        if self.padding_idx is not None:
            s += f", padding_idx={self.padding_idx}"
        return s

    @classmethod
    def from_pretrained(cls, embeddings: Tensor, freeze: bool = True, max_norm: float | None = None,
                        norm_type: float = 2.0, scale_grad_by_freq: bool = False, mode: str = "mean",
                        sparse: bool = False, include_last_offset: bool = False,
                        padding_idx: int | None = None) -> EmbeddingBag:
        """An EmbeddingBag whose table is ``embeddings`` (2-D; shared memory), frozen by default."""
        if embeddings.dim() != 2:
            raise ValueError("Embeddings parameter is expected to be 2-dimensional")
        rows, cols = embeddings.shape
        bag = cls(rows, cols, max_norm=max_norm, norm_type=norm_type, scale_grad_by_freq=scale_grad_by_freq,
                  mode=mode, sparse=sparse, _weight=embeddings, include_last_offset=include_last_offset,
                  padding_idx=padding_idx)
        bag.weight.requires_grad = not freeze
        return bag

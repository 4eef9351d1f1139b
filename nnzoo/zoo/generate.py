"""Choosing the next token from a model's scores: the decoding step shared by the zoo's generators
(the char-RNN, and the sequence models after it).

``p = softmax(logits / temperature)``, optionally kept to the ``top_k`` most likely tokens, then one draw.
A temperature below 1 sharpens the distribution towards the argmax (``temperature=0`` *is* the argmax,
greedy decoding), above 1 flattens it towards uniform.
"""
import numpy as np

from ..random import multinomial
from ..tensor import Tensor

__all__ = ["next_token_probs", "sample_next", "encode_prompt"]


def _excluded(z, exclude):
    if exclude is None or len(exclude) == 0:
        return z
    z = np.array(z, dtype=np.float64)
    z[..., list(exclude)] = -np.inf
    return z


def next_token_probs(logits, temperature=1.0, top_k=None, exclude=None):
    """The distribution the next token is drawn from: softmax(logits / temperature) over the ``top_k`` largest
    logits (the others get probability 0).

    Args:
        logits (Tensor or array): (V,) or (B, V) scores.
        temperature (float): > 0.
        top_k (int, optional): keep this many tokens (ties at the k-th value are all kept).
        exclude (list of int, optional): ids that are never drawn (e.g. a vocabulary's special tokens).

    Returns:
        np.ndarray of float64, the shape of ``logits``, each row summing to 1.

    Example::

        >>> from nnzoo.zoo.generate import next_token_probs
        >>> next_token_probs(np.log([1.0, 2.0, 5.0]), top_k=2).round(3).tolist()
        [0.0, 0.286, 0.714]
    """
    z = np.asarray(logits._data if isinstance(logits, Tensor) else logits, dtype=np.float64)
    if z.ndim not in (1, 2) or z.shape[-1] == 0:
        raise ValueError(f"next_token_probs: logits must be (V,) or (B, V), got shape {z.shape}")
    if not temperature > 0:
        raise ValueError(f"next_token_probs: temperature must be > 0, got {temperature}")
    z = _excluded(z, exclude) / temperature
    if top_k is not None:
        if top_k < 1:
            raise ValueError(f"next_token_probs: top_k must be >= 1, got {top_k}")
        if top_k < z.shape[-1]:
            kth = np.partition(z, -top_k, axis=-1)[..., -top_k, None]
            z = np.where(z >= kth, z, -np.inf)
    z = z - z.max(axis=-1, keepdims=True)  # NOTE: the largest term becomes exp(0) = 1, nothing overflows
    p = np.exp(z)
    return p / p.sum(axis=-1, keepdims=True)


def sample_next(logits, temperature=1.0, top_k=None, generator=None, exclude=None):
    """Draw the next token of every row: (V,) logits give an int, (B, V) logits a list of B ints.

    ``temperature=0`` returns the argmax (greedy); ids in ``exclude`` are never returned. ``generator``
    (``nnzoo.Generator``) makes the draws reproducible; by default they come from nnzoo's default generator
    (``nnzoo.manual_seed``).

    Example::

        >>> from nnzoo.zoo.generate import sample_next
        >>> sample_next(nnzoo.tensor([0.1, 3.0, 0.2]), temperature=0)
        1
        >>> sample_next(nnzoo.tensor([[0.0, 9.0], [9.0, 0.0]]), top_k=1)
        [1, 0]
        >>> sample_next(nnzoo.tensor([0.1, 3.0, 0.2]), temperature=0, exclude=[1])
        2
    """
    z = np.asarray(logits._data if isinstance(logits, Tensor) else logits)
    if temperature == 0:
        if z.ndim not in (1, 2) or z.shape[-1] == 0:
            raise ValueError(f"sample_next: logits must be (V,) or (B, V), got shape {z.shape}")
        idx = _excluded(z, exclude).argmax(axis=-1)
        return int(idx) if z.ndim == 1 else idx.tolist()
    p = next_token_probs(z, temperature, top_k, exclude)
    drawn = multinomial(Tensor._make(p), 1, replacement=True, generator=generator)._data
    return int(drawn[0]) if p.ndim == 1 else drawn[:, 0].tolist()


def encode_prompt(vocab, prompt):
    """(ids, specials): the prompt's token ids (an empty prompt starts from a space, or id 0 when the
    vocabulary has none) and the ids of the vocabulary's special tokens, which a sampler never draws."""
    ids = vocab.encode(prompt) if prompt else [vocab[" "] if " " in vocab else 0]
    return ids, [vocab.stoi[t] for t in vocab.specials]

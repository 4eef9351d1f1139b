"""The loss functions (``F.mse_loss``, ``F.cross_entropy``, ...), with PyTorch's names, signatures and
semantics; the ``nn.*Loss`` modules wrap them.

Every loss is composed of Tensor ops (so its backward, and second derivatives, come for free), except
where one op is faster or needs PyTorch's own gradient formula at special values; their backwards are
Tensor ops too (so second derivatives still work). The common cross-entropy case (class indices,
(N, C) or (C,) logits, no label smoothing) is a fused op (:class:`CrossEntropyIndices`), faster because
it runs one forward op instead of six and never builds the full log-softmax; huber / smooth L1
(:class:`HuberLoss`), the clamped BCE (:class:`BinaryCrossEntropy`), BCE with logits' ``pos_weight``
term (:class:`BCEWithLogitsPosWeight`) and kl_div's t log t (:class:`XLogX`) are single ops too.

``reduction`` is ``'none'`` (the per-element losses), ``'mean'`` or ``'sum'`` everywhere (plus
``'batchmean'`` for :func:`kl_div`). The legacy ``size_average`` / ``reduce`` arguments are accepted
where PyTorch still accepts them and mapped to ``reduction`` as PyTorch does (with a warning).
"""
from __future__ import annotations

import math
import warnings

import numpy as np

from ..autograd.function import Op
from ..backend import quiet, xp
from ..kernels import softmax as _K
from ..tensor import Tensor
from . import arith as _arith
from . import index as _index
from .distance import pairwise_distance as _pairwise_distance
from .reduce import sum_to
from .unary import logsigmoid as _logsigmoid
from .unary import softplus as _softplus

_make = Tensor._make

__all__ = ["mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss", "binary_cross_entropy",
           "binary_cross_entropy_with_logits", "cross_entropy", "nll_loss", "kl_div",
           "cosine_embedding_loss", "margin_ranking_loss", "triplet_margin_loss", "soft_margin_loss",
           "hinge_embedding_loss", "multilabel_soft_margin_loss", "multilabel_margin_loss", "poisson_nll_loss",
           "gaussian_nll_loss", "multi_margin_loss"]

_REDUCTIONS = ("none", "mean", "sum")
# PyTorch's epsilon of BCE's gradient floor and cosine_embedding_loss is the C float 1e-12f
# (9.99999996e-13), in float64 too
_EPS_1E_12F = float(np.float32(1e-12))


# ---- shared helpers ---------------------------------------------------------------------------------
def _reduction(name, reduction, size_average=None, reduce=None, allowed=_REDUCTIONS):
    """The reduction to use: ``reduction``, or the one the legacy flags ask for (as PyTorch maps them)."""
    if size_average is not None or reduce is not None:
        size_average = True if size_average is None else size_average
        reduce = True if reduce is None else reduce
        reduction = "none" if not reduce else ("mean" if size_average else "sum")
        warnings.warn(f"{name}: size_average and reduce are deprecated, please use "
                      f"reduction='{reduction}' instead.", UserWarning, stacklevel=3)
    if reduction not in allowed:
        raise ValueError(f"{name}: {reduction!r} is not a valid value for reduction; expected one of "
                         + ", ".join(repr(r) for r in allowed))
    return reduction


def _reduce(loss, reduction):
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    return loss


def _tensor(x, name, what):
    if not isinstance(x, Tensor):
        raise TypeError(f"{name}: {what} must be a Tensor, got {type(x).__name__}")
    return x


def _same_size(name, input, target, error=None):
    """Pointwise losses broadcast target to input like PyTorch, with its warning (or error)."""
    if tuple(input.shape) != tuple(target.shape):
        if error is not None:
            raise error(f"{name}: target size {tuple(target.shape)} must be the same as input size "
                        f"{tuple(input.shape)}")
        warnings.warn(f"{name}: using a target size {tuple(target.shape)} that is different to the input "
                      f"size {tuple(input.shape)}. This will likely lead to incorrect results due to "
                      "broadcasting. Please ensure they have the same size.", UserWarning, stacklevel=3)


def _weighted(name, loss, weight, reduction):
    """mse/l1 with ``weight``: elementwise weights (input's size); the mean divides by sum(weight)."""
    if weight is None:
        return _reduce(loss, reduction)
    if tuple(weight.shape) != tuple(loss.shape):
        raise ValueError(f"{name}: weight of shape {tuple(weight.shape)} must have the input's size "
                         f"{tuple(loss.shape)}")
    loss = loss * weight
    if reduction == "mean":
        return loss.sum() / weight.sum()
    return _reduce(loss, reduction)


# ---- regression losses ------------------------------------------------------------------------------
class MseLoss(Op):
    """l = (x - t)^2 reduced ('mean': the sum over the n elements divided by n; 'sum'; 'none': elementwise);
    dl/dx = 2 (x - t) g, times 1/n for 'mean' (PyTorch's norm = 2/n), and dl/dt = -dl/dx, each summed down
    to its input's shape where they broadcast.

    NOTE: one op rather than sub, mul and mean so that ``loss.grad_fn`` is PyTorch's ``MseLossBackward0``
    (the graph the notes print); the forward does the array operations of the composed form, so its values
    are unchanged. The backward is built of Tensor ops (the second derivative comes from its graph)."""

    @staticmethod
    def forward(ctx, x, t, reduction):
        ctx.save_for_backward(x, t)
        ctx.reduction = reduction
        d = x - t
        sq = d * d
        if reduction == "none":
            return sq
        if reduction == "sum":
            return xp.asarray(sq.sum())
        if sq.size == 0:  # the mean of nothing is nan, as in PyTorch
            return xp.full((), xp.nan, dtype=sq.dtype)
        if sq.dtype.itemsize < 4:  # float16: accumulate as Mean does
            return xp.asarray(xp.mean(sq))
        out = xp.asarray(sq.sum())
        out /= sq.size
        return out

    @staticmethod
    def backward(ctx, grad):
        x, t = ctx.saved_tensors
        d = x - t
        norm = 2.0 / max(d.numel(), 1) if ctx.reduction == "mean" else 2.0  # (no elements: an empty gradient)
        gd = d * norm * grad
        dx = sum_to(gd, x.shape) if ctx.needs_input_grad[0] else None
        dt = sum_to(-gd, t.shape) if ctx.needs_input_grad[1] else None
        return dx, dt, None


class HuberLoss(Op):
    """Elementwise huber / smooth L1 loss of d = x - t, with a = |d| and m = clamp(d, -limit, limit):

    - huber (limit delta):    l = a^2 / 2 where a <= delta, else delta (a - delta / 2);   dl/dx = m
    - smooth L1 (limit beta): l = a^2 / (2 beta) where a < beta, else a - beta / 2;     dl/dx = m / beta

    and dl/dt = -dl/dx (summed down to each input's shape where they broadcast).

    NOTE: the gradient is PyTorch's formula (d inside [-limit, limit], +-limit outside, nan for nan): at
    d = +-inf that is +-delta (+-1). The composed form (abs, squares, a select) gave nan there: the select
    drops the quadratic branch's value but its gradient 0 still meets (a^2)' = 2 a = inf. One op is also
    faster: measured forward + backward ('mean') on (256, 64) float32, 0.15 ms against 0.38 ms composed. Its
    backward is built of Tensor ops (so the second derivative comes from its graph)."""

    @staticmethod
    @quiet
    def forward(ctx, x, t, limit, smooth):
        ctx.save_for_backward(x, t)
        ctx.limit, ctx.smooth = limit, smooth
        a = xp.abs(x - t)
        if smooth:
            return xp.where(a < limit, a * a * (0.5 / limit), a - 0.5 * limit)
        return xp.where(a <= limit, a * a * 0.5, (a - 0.5 * limit) * limit)

    @staticmethod
    def backward(ctx, grad):
        x, t = ctx.saved_tensors
        limit = ctx.limit
        m = (x - t).clamp(-limit, limit)
        gd = grad * (m / limit if ctx.smooth else m)
        dx = sum_to(gd, x.shape) if ctx.needs_input_grad[0] else None
        dt = sum_to(-gd, t.shape) if ctx.needs_input_grad[1] else None
        return dx, dt, None, None


def mse_loss(input: Tensor, target: Tensor, size_average: bool | None = None, reduce: bool | None = None,
             reduction: str = "mean", weight: Tensor | None = None) -> Tensor:
    """(input - target)^2, reduced.

    Args:
        input, target: tensors of the same shape (a different one broadcasts, with a warning).
        reduction: ``'none'`` | ``'mean'`` | ``'sum'``.
        weight: optional elementwise weights of input's shape; with ``'mean'`` the weighted sum is
            divided by ``weight.sum()`` (as PyTorch).

    Shape: input (*), target (*); output scalar, or (*) for ``'none'``.

    Example::

        >>> from nnzoo.ops import loss as F  # also nnzoo.nn.functional
        >>> F.mse_loss(nnzoo.tensor([1., 2.]), nnzoo.tensor([0., 0.]))
        tensor(2.5000)
    """
    reduction = _reduction("mse_loss", reduction, size_average, reduce)
    _same_size("mse_loss", input, target)
    if weight is None and input.dtype.is_floating_point and target.dtype == input.dtype:
        return MseLoss.apply(input, target, reduction)
    diff = input - target
    return _weighted("mse_loss", diff * diff, weight, reduction)


def l1_loss(input: Tensor, target: Tensor, size_average: bool | None = None, reduce: bool | None = None,
            reduction: str = "mean", weight: Tensor | None = None) -> Tensor:
    """|input - target|, reduced (the gradient at 0 is 0, as in PyTorch).

    Args: as :func:`mse_loss`.

    Example::

        >>> from nnzoo.ops import loss as F  # also nnzoo.nn.functional
        >>> F.l1_loss(nnzoo.tensor([1., -3.]), nnzoo.tensor([0., 0.]))
        tensor(2.)
    """
    reduction = _reduction("l1_loss", reduction, size_average, reduce)
    _same_size("l1_loss", input, target)
    return _weighted("l1_loss", (input - target).abs(), weight, reduction)


def smooth_l1_loss(input: Tensor, target: Tensor, size_average: bool | None = None, reduce: bool | None = None,
                   reduction: str = "mean", beta: float = 1.0) -> Tensor:
    """0.5 d^2 / beta where |d| < beta, else |d| - 0.5 beta (d = input - target); beta=0 is L1.

    Example::

        >>> from nnzoo.ops import loss as F  # also nnzoo.nn.functional
        >>> F.smooth_l1_loss(nnzoo.tensor([0.5, 3.]), nnzoo.tensor([0., 0.]))
        tensor(1.3125)
    """
    reduction = _reduction("smooth_l1_loss", reduction, size_average, reduce)
    if beta < 0:
        raise RuntimeError(f"smooth_l1_loss: beta must be non-negative, got {beta}")
    _same_size("smooth_l1_loss", input, target)
    if beta == 0:
        return _reduce((input - target).abs(), reduction)
    return _reduce(HuberLoss.apply(input, target, float(beta), True), reduction)


def huber_loss(input: Tensor, target: Tensor, reduction: str = "mean", delta: float = 1.0,
               weight: Tensor | None = None) -> Tensor:
    """0.5 d^2 where |d| <= delta, else delta (|d| - 0.5 delta)  (= delta * smooth_l1 with beta=delta).

    ``weight`` (input's shape) multiplies the per-element losses; with ``'mean'`` PyTorch then takes
    the plain mean (not divided by the weights' sum, unlike :func:`mse_loss`); so does this.

    Example::

        >>> from nnzoo.ops import loss as F  # also nnzoo.nn.functional
        >>> F.huber_loss(nnzoo.tensor([0.5, 3.]), nnzoo.tensor([0., 0.]))
        tensor(1.3125)
    """
    reduction = _reduction("huber_loss", reduction)
    if delta <= 0:
        raise RuntimeError(f"huber_loss: delta must be positive, got {delta}")
    _same_size("huber_loss", input, target)
    loss = HuberLoss.apply(input, target, float(delta), False)
    if weight is not None:
        if tuple(weight.shape) != tuple(loss.shape):
            raise ValueError(f"huber_loss: weight of shape {tuple(weight.shape)} must have the input's "
                             f"size {tuple(loss.shape)}")
        loss = loss * weight
    return _reduce(loss, reduction)


# ---- binary classification --------------------------------------------------------------------------
class BinaryCrossEntropy(Op):
    """Elementwise l = -[t log(x) + (1 - t) log(1 - x)] for probabilities x, each log clamped to >= -100;
    dl/dx = (x - t) / max(x (1 - x), 1e-12);  dl/dt = log(1 - x) - log(x) = -logit(x).

    NOTE: the clamps are PyTorch's, and neither gradient is the derivative of the clamped forward.
    The forward's clamp keeps x = 0 or 1 finite (100 per element instead of inf). The backward's
    1e-12 floor gives (x - t) * 1e12 where a log is clamped, not 0, so a saturated prediction with the
    wrong target is still pushed back (x = 0, t = 1 gives -1e12). The target's gradient is the
    unclamped -logit(x) (+-inf at x = 0 or 1). Both as PyTorch. The backward is built of Tensor ops,
    so the second derivative comes from its graph."""

    @staticmethod
    def forward(ctx, x, t):
        ctx.save_for_backward(x, t)
        with np.errstate(divide="ignore"):  # log(0) = -inf, then clamped
            log_x = xp.maximum(xp.log(x), -100.0)
            log_1mx = xp.maximum(xp.log1p(-x), -100.0)
        return (t - 1) * log_1mx - t * log_x

    @staticmethod
    def backward(ctx, grad):
        x, t = ctx.saved_tensors
        dx = dt = None
        if ctx.needs_input_grad[0]:
            dx = grad * (x - t) / (x * (1.0 - x)).clamp_min(_EPS_1E_12F)
        if ctx.needs_input_grad[1]:
            with np.errstate(divide="ignore"):  # x = 0 or 1: an infinite gradient, as PyTorch's
                dt = grad * ((-x).log1p() - x.log())
        return dx, dt


def binary_cross_entropy(input: Tensor, target: Tensor, weight: Tensor | None = None, size_average: bool | None = None,
                         reduce: bool | None = None, reduction: str = "mean") -> Tensor:
    """-w [t log(x) + (1 - t) log(1 - x)] for probabilities x in [0, 1].

    NOTE: as PyTorch, each log is clamped to >= -100, so x = 0 or 1 gives a finite loss (100 per
    element) instead of inf, and the gradient is PyTorch's (x - t) / max(x (1 - x), 1e-12): finite
    (+-1e12 times the error) at x = 0 or 1 rather than 0 (see :class:`BinaryCrossEntropy`).

    Args:
        input: probabilities (e.g. a sigmoid's output), any shape.
        target: same shape as input, values in [0, 1].
        weight: rescales each element's loss; broadcasts to input.

    Example::

        >>> from nnzoo.ops import loss as F  # also nnzoo.nn.functional
        >>> F.binary_cross_entropy(nnzoo.tensor([0.8, 0.1]), nnzoo.tensor([1., 0.]))
        tensor(0.1643)
    """
    name = "binary_cross_entropy"
    reduction = _reduction(name, reduction, size_average, reduce)
    _same_size(name, input, target, error=ValueError)
    x = input._data
    if x.size and (x.min() < 0 or x.max() > 1 or xp.isnan(x).any()):
        raise RuntimeError(f"{name}: all elements of input should be between 0 and 1")
    loss = BinaryCrossEntropy.apply(input, target)
    if weight is not None:
        loss = loss * weight
    return _reduce(loss, reduction)


class BCEWithLogitsPosWeight(Op):
    """l = (1 - t) x - (1 + (p - 1) t) s for logits x, targets t, pos_weight p, given s = log sigmoid(x);
    dl/dx = 1 - t (s's own path adds the rest), dl/ds = -(1 + (p - 1) t), dl/dp = -t s, and
    dl/dt = log sigmoid(-x) - p s  (= -x - (p - 1) s, PyTorch's form of it).

    NOTE: one op so that the target's gradient has PyTorch's form: the composed loss gives -x - (p - 1) s,
    which at x = -inf is inf - (p - 1) inf = nan for p <= 1, where PyTorch's log sigmoid(-x) - p s is
    0 + p inf = inf. The forward is the composed form's arithmetic (the same values), the backward is
    built of Tensor ops (so second derivatives come from its graph)."""

    @staticmethod
    def forward(ctx, x, t, p, s):
        ctx.save_for_backward(x, t, p, s)
        return (1.0 - t) * x - (1.0 + (p - 1.0) * t) * s

    @staticmethod
    def backward(ctx, grad):
        x, t, p, s = ctx.saved_tensors
        need = ctx.needs_input_grad
        dx = sum_to(grad * (1.0 - t), x.shape) if need[0] else None
        dt = sum_to(grad * (_logsigmoid(-x) - p * s), t.shape) if need[1] else None
        dp = sum_to(-(grad * t * s), p.shape) if need[2] else None
        ds = sum_to(-(grad * (1.0 + (p - 1.0) * t)), s.shape) if need[3] else None
        return dx, dt, dp, ds


def binary_cross_entropy_with_logits(input: Tensor, target: Tensor, weight: Tensor | None = None,
                                     size_average: bool | None = None, reduce: bool | None = None,
                                     reduction: str = "mean", pos_weight: Tensor | None = None) -> Tensor:
    """-w [p t log sigmoid(x) + (1 - t) log(1 - sigmoid(x))] for logits x, with p = ``pos_weight``.

    NOTE: computed as (1 - t) x - (1 + (p - 1) t) log sigmoid(x), as PyTorch, with log sigmoid one
    stable op (:func:`nnzoo.ops.unary.logsigmoid`: no exp overflow, no log(0)) whose derivative is
    sigmoid(-x) everywhere. So dl/dx = (1 + (p - 1) t) sigmoid(x) - p t, which is sigmoid(x) - t without
    ``pos_weight``, also at x = 0 (composing log sigmoid of relu and abs gave 1 - t there). The target's
    gradient is PyTorch's -x without ``pos_weight`` and log sigmoid(-x) - p log sigmoid(x) with it (inf at
    x = -inf; see :class:`BCEWithLogitsPosWeight`).

    Args:
        input: logits, any shape.
        target: same shape as input, values in [0, 1].
        weight: rescales each element's loss; broadcasts to input.
        pos_weight: weight of the positive examples, broadcast along the last dim (one per class).

    Example::

        >>> from nnzoo.ops import loss as F  # also nnzoo.nn.functional
        >>> F.binary_cross_entropy_with_logits(nnzoo.tensor([2., -1.]), nnzoo.tensor([1., 0.]))
        tensor(0.2201)
    """
    name = "binary_cross_entropy_with_logits"
    reduction = _reduction(name, reduction, size_average, reduce)
    _same_size(name, input, target, error=ValueError)
    log_sig = _logsigmoid(input)
    if pos_weight is None:
        loss = (1.0 - target) * input - log_sig
    else:
        loss = BCEWithLogitsPosWeight.apply(input, target, pos_weight, log_sig)
    if weight is not None:
        loss = loss * weight
    return _reduce(loss, reduction)


# ---- classification over C classes ------------------------------------------------------------------
def _class_weight(name, weight, c):
    if weight is None:
        return None
    if tuple(weight.shape) != (c,):
        raise RuntimeError(f"{name}: weight tensor should be defined either for all {c} classes or no "
                           f"classes but got weight tensor of shape: {tuple(weight.shape)}")
    return weight


def _check_indices(name, input, target):
    """Validates class-index targets: (N, d1, ...) for input (N, C, d1, ...), () for input (C,)."""
    if input.ndim == 0:
        raise RuntimeError(f"{name}: input must have at least 1 dimension (C,) or (N, C, ...), got a scalar")
    if target._data.dtype.kind not in "iub":
        raise RuntimeError(f"{name}: expected target dtype to be int64 class indices (or a float target "
                           f"of input's shape {tuple(input.shape)} holding class probabilities), got "
                           f"{target.dtype} of shape {tuple(target.shape)}")
    want = (tuple(input.shape[:1]) + tuple(input.shape[2:])) if input.ndim >= 2 else ()
    if tuple(target.shape) != want:
        if input.ndim >= 2 and target.ndim >= 1 and target.shape[0] != input.shape[0]:
            raise ValueError(f"{name}: expected input batch_size ({input.shape[0]}) to match target "
                             f"batch_size ({target.shape[0]}); input {tuple(input.shape)}, target "
                             f"{tuple(target.shape)}")
        raise RuntimeError(f"{name}: expected target of shape {want} for input of shape "
                           f"{tuple(input.shape)}, got {tuple(target.shape)}")


def _check_range(name, t, mask, c):
    bad = (t < 0) | (t >= c)
    if mask is not None:
        bad &= mask
    if bad.any():
        raise IndexError(f"{name}: target {int(t[bad].flat[0])} is out of bounds: class indices must be "
                         f"in [0, {c}) (or ignore_index)")


def _nll_composed(name, logp, target, weight, ignore_index, reduction, label_smoothing=0.0):
    """The composed (N, C, d...) negative log-likelihood, optionally label-smoothed.

    ``logp`` has the classes on dim 1 (a (C,) input is handled by the caller as (1, C)). Per position:
    loss = (1 - eps) w[y] (-logp[y]) + eps / C * sum_c w_c (-logp[c]), 0 where y == ignore_index.
    'mean' divides the sum by the total weight sum_i w[y_i] over the positions not ignored.

    NOTE: ignored positions are removed with a select (``where``), not a product with a 0/1 mask:
    their log-probabilities may be -inf (a -inf logit) or nan, and 0 * inf is nan. With every
    position ignored (or none at all) 'mean' is 0 / 0 = nan, as PyTorch, while the gradients stay 0:
    the nan enters as a factor, which the selects drop."""
    c = logp.shape[1]
    t = target._data.astype(np.int64, copy=False)
    mask = t != ignore_index
    all_kept = bool(mask.all())
    _check_range(name, t, None if all_kept else mask, c)
    safe = t if all_kept else xp.where(mask, t, 0)
    picked = logp.gather(1, _make(xp.expand_dims(safe, 1))).squeeze(1)  # (N, d...)
    if not all_kept:
        picked = _arith.where(mask, picked, 0.0)
    if weight is not None:
        w_t = weight._data[safe]
        if not all_kept:
            w_t = w_t * mask
        w_t = _make(w_t)
        loss = -(picked * w_t)
    else:
        w_t = None
        loss = -picked
    if label_smoothing > 0:
        if weight is not None:
            wb = weight.reshape((1, c) + (1,) * (logp.ndim - 2))
            smooth = -(logp * wb).sum(1)
        else:
            smooth = -logp.sum(1)
        if not all_kept:
            smooth = _arith.where(mask, smooth, 0.0)
        if reduction == "mean" and w_t is not None and mask.any() and w_t._data.sum() == 0:
            # NOTE: the targets' total weight is 0: PyTorch normalises the two parts apart, so its nll part
            # is 0 / 0 = nan and so is the loss (the one quotient below would be the smoothing sum / 0 = inf)
            z = w_t.sum()
            return (loss.sum() / z) * (1.0 - label_smoothing) + (smooth.sum() / z) * (label_smoothing / c)
        loss = loss * (1.0 - label_smoothing) + smooth * (label_smoothing / c)
    if reduction == "none":
        return loss
    if reduction == "sum":
        return loss.sum()
    if not mask.any():  # nothing kept: nan, with zero gradients
        return loss.sum() * float("nan")
    if w_t is None:
        return loss.sum() / float(mask.sum()) if not all_kept else loss.mean()
    return loss.sum() / w_t.sum()


def nll_loss(input: Tensor, target: Tensor, weight: Tensor | None = None, size_average: bool | None = None,
             ignore_index: int = -100, reduce: bool | None = None, reduction: str = "mean") -> Tensor:
    """-w[y] input[y]: the negative log-likelihood of log-probabilities ``input`` at class ``target``.

    Args:
        input: log-probabilities, (N, C), (C,) or (N, C, d1, d2, ...).
        target: int64 class indices in [0, C), (N,), () or (N, d1, d2, ...).
        weight: (C,) per-class weights.
        ignore_index: targets equal to it contribute 0 and are left out of the mean's normaliser.
        reduction: 'mean' divides the summed loss by sum of w[y] over the targets not ignored.

    Example::

        >>> from nnzoo.ops import loss as F  # also nnzoo.nn.functional
        >>> F.nll_loss(nnzoo.tensor([[-0.5, -1.0]]), nnzoo.tensor([1]))
        tensor(1.)
    """
    name = "nll_loss"
    reduction = _reduction(name, reduction, size_average, reduce)
    _check_indices(name, input, target)
    vector = input.ndim == 1
    if vector:
        input, target = input.unsqueeze(0), target.reshape((1,))
    weight = _class_weight(name, weight, input.shape[1])
    out = _nll_composed(name, input, target, weight, ignore_index, reduction)
    return out.squeeze(0) if vector and reduction == "none" else out


class CrossEntropyIndices(Op):
    """Fused log_softmax + nll for logits x of shape (N, C) and class indices y (N,).

    Forward: loss_i = w[y_i] (lse_i - x[i, y_i]), lse_i = m_i + log sum_c exp(x[i, c] - m_i), 0 where
    y_i is ignored; 'mean' divides the sum by Z = sum_i w[y_i] over the rows kept, 'sum' by 1.
    Backward: dx = (softmax(x) - onehot(y)) * (g w[y] / Z)[:, None], in Tensor ops (so a second
    derivative is the graph of softmax).

    NOTE: an ignored row adds exactly 0 to the loss and gets the scale 0, even when all rows are
    ignored ('mean' is then 0 / 0 = nan, as PyTorch, but the gradient is 0, not nan); its loss is set
    to 0 by assignment, not by a 0 weight, because it may be inf (a -inf logit) and 0 * inf is nan.
    An empty batch gives nan for 'mean' and 0 for 'sum', as PyTorch.

    NOTE: fused because it is the hot path of every classifier: one op forward and one backward
    (:class:`CrossEntropyIndicesBackward`) against six each for the composed log_softmax + gather +
    weight + reduce, and no (N, C) log-softmax array. Measured forward + backward at (128, 10),
    float32: 61 us fused, 132 us composed (PyTorch: 66 us). Its parity with the composed form
    (:func:`_nll_composed` on ``log_softmax``), first and second derivatives included, is tested in
    tests/ops/test_loss.py. The row work (log-sum-exp and loss; the backward's softmax - onehot) is in
    :mod:`nnzoo.kernels.softmax`: compiled, forward + backward runs 1.35x (128, 10) and 1.6x (2048, 65)
    faster than on NumPy (paired, float32).
    """

    @staticmethod
    def forward(ctx, x, weight, t, mask, reduction):
        n = x.shape[0]
        loss, lse = _K.cross_entropy_rows(x, t)  # (N,) each: the losses, the log-sum-exps
        w_t = None if weight is None else weight[t]
        if mask is not None:
            loss[~mask] = 0.0
            w_t = mask.astype(x.dtype) if w_t is None else w_t * mask
        if w_t is not None:
            loss *= w_t
        if reduction == "none":
            scale = w_t
            out = loss
        else:
            total = loss.sum(dtype=x.dtype)
            if reduction == "sum":
                z_norm = x.dtype.type(1)
            else:
                z_norm = x.dtype.type(n) if w_t is None else w_t.sum(dtype=x.dtype)
            with np.errstate(divide="ignore", invalid="ignore"):  # all ignored or empty: nan, as PyTorch
                out = xp.asarray(total / z_norm, dtype=x.dtype)
                scale = xp.full(n, 1 / z_norm, x.dtype) if w_t is None else (w_t / z_norm).astype(x.dtype)
            if z_norm == 0 and mask is not None:
                scale[~mask] = 0.0  # 0 / 0 above; a kept row of weight 0 stays nan, as PyTorch
        ctx.aux = (t, scale, lse)
        ctx.save_for_backward(x)
        return out

    @staticmethod
    def backward(ctx, grad):
        x, = ctx.saved_tensors
        t, scale, lse = ctx.aux
        return CrossEntropyIndicesBackward.apply(x, grad, lse, t, scale), None, None, None, None


class CrossEntropyIndicesBackward(Op):
    """dx = (softmax(x) - onehot(t)) * (g * scale)[:, None], with softmax(x) = exp(x - lse) from the
    forward's log-sum-exp; ``scale`` (N,) holds w[t] / Z (None: 1). ``g`` is 0-d ('mean'/'sum') or (N,).

    Its own backward (second derivatives), with c = g * scale and p = softmax(x):
    d/dx = p * (h c - sum(h c * p));  d/dg = sum over classes of h (p - onehot), times scale."""

    @staticmethod
    def forward(ctx, x, g, lse, t, scale):
        ctx.aux = (t, scale)
        ctx.save_for_backward(x, g)
        return _K.cross_entropy_backward(x, lse, t, g if scale is None else g * scale)

    @staticmethod
    def backward(ctx, h):
        x, g = ctx.saved_tensors
        t, scale = ctx.aux
        s = None if scale is None else _make(scale)
        p = x.softmax(1)
        dx = dg = None
        if ctx.needs_input_grad[0]:
            coef = g if s is None else g * s
            hc = h * (coef.reshape((-1, 1)) if coef.ndim else coef)
            dx = p * (hc - (hc * p).sum(1, keepdim=True))
        if ctx.needs_input_grad[1]:
            onehot = xp.zeros(x.shape, x._data.dtype)
            onehot[xp.arange(x.shape[0]), t] = 1.0
            r = (h * (p - _make(onehot))).sum(1)
            if s is not None:
                r = r * s
            dg = r if g.ndim else r.sum()
        return dx, dg, None, None, None


def _cross_entropy_probs(name, input, target, weight, reduction, label_smoothing):
    """Soft targets: loss = -sum_c w_c t'_c log_softmax(x)_c, t' = (1 - eps) t + eps / C; 'mean' divides
    by the number of positions (N * d1 * ...), whatever the weights."""
    if target._data.dtype.kind != "f":
        raise RuntimeError(f"{name}: expected a floating point target for class probabilities, got "
                           f"{target.dtype}")
    c = input.shape[1]
    logp = input.log_softmax(1)
    if label_smoothing > 0:
        target = target * (1.0 - label_smoothing) + label_smoothing / c
    prod = logp * target
    if weight is not None:
        prod = prod * weight.reshape((1, c) + (1,) * (input.ndim - 2))
    loss = -prod.sum(1)
    return _reduce(loss, reduction)


def cross_entropy(input: Tensor, target: Tensor, weight: Tensor | None = None, size_average: bool | None = None,
                  ignore_index: int = -100, reduce: bool | None = None, reduction: str = "mean",
                  label_smoothing: float = 0.0) -> Tensor:
    """Cross-entropy between the softmax of logits ``input`` (classes on dim 1) and ``target``.

    With class indices y: loss = w[y] (logsumexp(x) - x[y]), 0 where y == ignore_index; 'mean'
    divides the sum by the sum of w[y] over the targets kept. With ``label_smoothing`` eps the target
    becomes (1 - eps) onehot(y) + eps / C, and the smoothing term -eps/C sum_c w_c log p_c shares the
    same normaliser (as PyTorch). With class probabilities (a float target of input's shape) the loss
    is -sum_c w_c t_c log p_c and 'mean' divides by the number of positions.

    NOTE: log-softmax is computed as x - max - log sum exp(x - max) (stable for any logits); (N, C)
    and (C,) logits with class indices and no smoothing use the fused :class:`CrossEntropyIndices`.

    Args:
        input: logits (C,), (N, C) or (N, C, d1, d2, ...).
        target: int64 class indices of shape (), (N,) or (N, d1, ...) in [0, C), or float class
            probabilities of input's shape.
        weight: (C,) per-class weights.
        ignore_index: class-index targets equal to it are ignored.
        reduction: 'none' | 'mean' | 'sum'.
        label_smoothing: eps in [0, 1].

    Example::

        >>> from nnzoo.ops import loss as F  # also nnzoo.nn.functional
        >>> F.cross_entropy(nnzoo.tensor([[2., 0., 0.]]), nnzoo.tensor([0]))
        tensor(0.2395)
    """
    name = "cross_entropy"
    reduction = _reduction(name, reduction, size_average, reduce)
    _tensor(input, name, "input")
    _tensor(target, name, "target")
    if not 0.0 <= label_smoothing <= 1.0:
        raise RuntimeError(f"{name}: label_smoothing must be between 0.0 and 1.0. Got: {label_smoothing}")
    if input.ndim == 0:
        raise RuntimeError(f"{name}: input must have at least 1 dimension (C,) or (N, C, ...), got a scalar")
    vector = input.ndim == 1
    probs = target._data.dtype.kind == "f" and tuple(target.shape) == tuple(input.shape)
    if not probs:
        _check_indices(name, input, target)
    if vector:
        input = input.unsqueeze(0)
        target = target.unsqueeze(0) if probs else target.reshape((1,))
    weight = _class_weight(name, weight, input.shape[1])
    if probs:
        out = _cross_entropy_probs(name, input, target, weight, reduction, label_smoothing)
    elif input.ndim == 2 and label_smoothing == 0 and input._data.dtype.kind == "f":
        c = input.shape[1]
        t = target._data.astype(np.int64, copy=False)
        keep = t != ignore_index
        mask = None if keep.all() else keep
        _check_range(name, t, mask, c)
        if mask is not None:
            t = xp.where(keep, t, 0)
        w = None if weight is None else weight._data.astype(input._data.dtype, copy=False)
        out = CrossEntropyIndices.apply(input, w, t, mask, reduction)
    else:
        out = _nll_composed(name, input.log_softmax(1), target, weight, ignore_index, reduction,
                            label_smoothing)
    return out.squeeze(0) if vector and reduction == "none" else out


# ---- distributions, embeddings, rankings ------------------------------------------------------------
class XLogX(Op):
    """y = t log t, 0 at t = 0 (PyTorch's ``xlogy(t, t)``: nan for t < 0 or nan);
    dy/dt = log t + t / t: log t + 1, and nan at t = 0.

    NOTE: the gradient at t = 0 is nan on purpose: it is PyTorch's, whose xlogy(t, t) backward adds
    xlogy(t != 0, t) = 0 and t / t = 0 / 0 there (the derivative of t log t is -inf at 0+). The backward
    is built of Tensor ops, so the second derivative comes from its graph."""

    @staticmethod
    def forward(ctx, t):
        ctx.save_for_backward(t)
        with np.errstate(divide="ignore", invalid="ignore"):
            y = xp.asarray(t * xp.log(t))  # asarray: a 0-d product is a NumPy scalar
        y[t == 0] = 0.0  # 0 * -inf
        return y

    @staticmethod
    def backward(ctx, grad):
        t, = ctx.saved_tensors
        with np.errstate(divide="ignore", invalid="ignore"):
            return grad * (t.log() + t / t)


def kl_div(input: Tensor, target: Tensor, size_average: bool | None = None, reduce: bool | None = None,
           reduction: str = "mean", log_target: bool = False) -> Tensor:
    """KL divergence with ``input`` in log space: t (log t - input), or e^t (t - input) if ``log_target``.

    ``t log t`` is taken as 0 where t = 0 (``xlogy``), and the target's gradient there is nan, as
    PyTorch's (see :class:`XLogX`). ``reduction='batchmean'`` divides the sum by
    input.size(0) (the true KL per sample); ``'mean'`` averages over all elements, as PyTorch.

    Example::

        >>> from nnzoo.ops import loss as F  # also nnzoo.nn.functional
        >>> F.kl_div(nnzoo.tensor([-1., -1.]), nnzoo.tensor([0.5, 0.5]), reduction='sum')
        tensor(0.3069)
    """
    name = "kl_div"
    reduction = _reduction(name, reduction, size_average, reduce,
                           allowed=("none", "mean", "sum", "batchmean"))
    if log_target:
        loss = target.exp() * (target - input)
    else:
        loss = XLogX.apply(target) - target * input
    if reduction == "mean":
        warnings.warn("kl_div: reduction='mean' divides the total loss by both the batch size and the "
                      "support size; 'batchmean' divides only by the batch size and matches the KL "
                      "divergence's definition.", UserWarning, stacklevel=2)
    if reduction == "batchmean":
        loss = loss.sum()
        return loss / input.shape[0] if input.ndim else loss
    return _reduce(loss, reduction)


def cosine_embedding_loss(input1: Tensor, input2: Tensor, target: Tensor, margin: float = 0,
                          size_average: bool | None = None, reduce: bool | None = None,
                          reduction: str = "mean") -> Tensor:
    """1 - cos(x1, x2) where y = 1, max(0, cos(x1, x2) - margin) where y = -1 (0 for other y).

    cos = sum(x1 x2) / sqrt((sum x1^2 + eps)(sum x2^2 + eps)) over the last dim (eps keeps a zero vector
    finite). NOTE: eps is PyTorch's C float 1e-12f = 9.99999996e-13 in every dtype (not the double 1e-12:
    float64 results with a zero vector would differ by ~2e-9 relative).

    Shape: input1, input2 (N, D) or (D,); target (N,) or (); output (N,) or () for 'none'.

    Example::

        >>> from nnzoo.ops import loss as F  # also nnzoo.nn.functional
        >>> F.cosine_embedding_loss(nnzoo.tensor([[1., 0.]]), nnzoo.tensor([[0., 1.]]), nnzoo.tensor([1]))
        tensor(1.)
    """
    name = "cosine_embedding_loss"
    reduction = _reduction(name, reduction, size_average, reduce)
    if input1.ndim not in (1, 2) or tuple(input1.shape) != tuple(input2.shape) \
            or tuple(target.shape) != tuple(input1.shape[:-1]):
        raise RuntimeError(f"{name}: expected input1 and input2 of the same shape (N, D) or (D,) and "
                           f"target of shape (N,) or (); got input1 {tuple(input1.shape)}, input2 "
                           f"{tuple(input2.shape)}, target {tuple(target.shape)}")
    eps = _EPS_1E_12F
    prod = (input1 * input2).sum(-1)
    mag = (((input1 * input1).sum(-1) + eps) * ((input2 * input2).sum(-1) + eps)).sqrt()
    cos = prod / mag
    y = target._data
    zeros = _make(xp.zeros((), cos._data.dtype))
    loss = _arith.where(y == 1, 1.0 - cos, zeros) + _arith.where(y == -1, (cos - margin).clamp_min(0.0), zeros)
    return _reduce(loss, reduction)


def margin_ranking_loss(input1: Tensor, input2: Tensor, target: Tensor, margin: float = 0,
                        size_average: bool | None = None, reduce: bool | None = None,
                        reduction: str = "mean") -> Tensor:
    """max(0, -y (x1 - x2) + margin): y = 1 asks for x1 ranked above x2, y = -1 the reverse.

    Shape: input1, input2, target with the same number of dims (they broadcast).

    Example::

        >>> from nnzoo.ops import loss as F  # also nnzoo.nn.functional
        >>> F.margin_ranking_loss(nnzoo.tensor([1., 0.]), nnzoo.tensor([0., 1.]), nnzoo.tensor([1., 1.]))
        tensor(0.5000)
    """
    name = "margin_ranking_loss"
    reduction = _reduction(name, reduction, size_average, reduce)
    if not input1.ndim == input2.ndim == target.ndim:
        raise RuntimeError(f"{name}: all input tensors should have the same number of dims but got "
                           f"sizes: input1 {tuple(input1.shape)}, input2 {tuple(input2.shape)}, target "
                           f"{tuple(target.shape)}")
    loss = (-target * (input1 - input2) + margin).clamp_min(0.0)
    return _reduce(loss, reduction)


# ---- margins, embeddings and likelihoods (composed) ----------------------------------------------------------
def triplet_margin_loss(anchor: Tensor, positive: Tensor, negative: Tensor, margin: float = 1.0, p: float = 2,
                        eps: float = 1e-6, swap: bool = False, size_average: bool | None = None,
                        reduce: bool | None = None, reduction: str = "mean") -> Tensor:
    """max(0, margin + d(a, p) - d(a, n)), d the pairwise p-norm distance ``||x - y + eps||_p``; with ``swap``,
    d(a, n) becomes min(d(a, n), d(p, n)).

    Shape: anchor, positive, negative (N, D) or (D,) (same number of dims); output (N,) or () for 'none'.

    Example::

        >>> from nnzoo.ops import loss as F  # also nnzoo.nn.functional
        >>> F.triplet_margin_loss(nnzoo.tensor([[0., 0.]]), nnzoo.tensor([[3., 4.]]), nnzoo.tensor([[0., 1.]]), eps=0.)
        tensor(5.)
    """
    name = "triplet_margin_loss"
    reduction = _reduction(name, reduction, size_average, reduce)
    for what, t in (("anchor", anchor), ("positive", positive), ("negative", negative)):
        _tensor(t, name, what)
    if margin <= 0:
        raise ValueError(f"margin must be greater than 0, got {margin}")
    if not anchor.ndim == positive.ndim == negative.ndim:
        raise RuntimeError(f"{name}: the anchor, positive, and negative tensors are expected to have the same number "
                           f"of dimensions, but got: anchor {anchor.ndim}D, positive {positive.ndim}D, and negative "
                           f"{negative.ndim}D inputs")
    d_pos = _pairwise_distance(anchor, positive, p, eps)
    d_neg = _pairwise_distance(anchor, negative, p, eps)
    if swap:
        d_neg = _arith.minimum(d_neg, _pairwise_distance(positive, negative, p, eps))
    return _reduce((d_pos - d_neg + margin).clamp_min(0.0), reduction)


def soft_margin_loss(input: Tensor, target: Tensor, size_average: bool | None = None, reduce: bool | None = None,
                     reduction: str = "mean") -> Tensor:
    """log(1 + exp(-y x)) elementwise, for targets y of 1 or -1.

    NOTE: computed as softplus(-y x) (linear above 20), which stays finite where PyTorch's log1p(exp(-y x))
    overflows to inf (-y x > 88 in float32); elsewhere the two agree to rounding.

    Example::

        >>> from nnzoo.ops import loss as F  # also nnzoo.nn.functional
        >>> F.soft_margin_loss(nnzoo.tensor([0., 2.]), nnzoo.tensor([1., -1.]), reduction='none')
        tensor([0.6931, 2.1269])
    """
    name = "soft_margin_loss"
    reduction = _reduction(name, reduction, size_average, reduce)
    _tensor(input, name, "input")
    _tensor(target, name, "target")
    return _reduce(_softplus(-input * target), reduction)


def hinge_embedding_loss(input: Tensor, target: Tensor, margin: float = 1.0, size_average: bool | None = None,
                         reduce: bool | None = None, reduction: str = "mean") -> Tensor:
    """x where y = 1, max(0, margin - x) where y = -1 (PyTorch's sum of the two terms: y != 1 takes the margin
    term, y != -1 the input itself).

    Example::

        >>> from nnzoo.ops import loss as F  # also nnzoo.nn.functional
        >>> F.hinge_embedding_loss(nnzoo.tensor([0.3, 0.3]), nnzoo.tensor([1., -1.]), reduction='none')
        tensor([0.3000, 0.7000])
    """
    name = "hinge_embedding_loss"
    reduction = _reduction(name, reduction, size_average, reduce)
    _tensor(input, name, "input")
    _tensor(target, name, "target")
    y = target._data
    zeros = _make(xp.zeros((), input._data.dtype))
    loss = _arith.where(y != 1, (margin - input).clamp_min(0.0), zeros) + _arith.where(y != -1, input, zeros)
    return _reduce(loss, reduction)


def multilabel_soft_margin_loss(input: Tensor, target: Tensor, weight: Tensor | None = None,
                                size_average: bool | None = None, reduce: bool | None = None,
                                reduction: str = "mean") -> Tensor:
    """-(1 / C) sum_c w_c [y_c log sigmoid(x_c) + (1 - y_c) log sigmoid(-x_c)] per sample (multi-label, one
    binary logistic loss per class, averaged over the C classes).

    Shape: input, target (N, C) (or (C,)); weight (C,); output (N,) for 'none'.

    Example::

        >>> from nnzoo.ops import loss as F  # also nnzoo.nn.functional
        >>> F.multilabel_soft_margin_loss(nnzoo.tensor([[0., 0.]]), nnzoo.tensor([[1., 0.]]))
        tensor(0.6931)
    """
    name = "multilabel_soft_margin_loss"
    reduction = _reduction(name, reduction, size_average, reduce)
    _tensor(input, name, "input")
    _tensor(target, name, "target")
    loss = -(target * _logsigmoid(input) + (1 - target) * _logsigmoid(-input))
    if weight is not None:
        loss = loss * weight
    c = input.shape[-1] if input.ndim else 1
    loss = loss.sum(input.ndim - 1) / c if input.ndim else loss
    return _reduce(loss, reduction)


def multilabel_margin_loss(input: Tensor, target: Tensor, size_average: bool | None = None,
                           reduce: bool | None = None, reduction: str = "mean") -> Tensor:
    """sum over target classes j and non-target classes i of max(0, 1 - (x[j] - x[i])), divided by C.

    ``target`` holds class indices, read up to its first negative entry (-1 pads it); a class counts as a target
    however often it is listed, and each listed index contributes its own terms, as PyTorch.

    Shape: input (C,) or (N, C); target int64 of input's shape; output () or (N,) for 'none'.

    Example::

        >>> from nnzoo.ops import loss as F  # also nnzoo.nn.functional
        >>> F.multilabel_margin_loss(nnzoo.tensor([[0.1, 0.2, 0.4, 0.8]]), nnzoo.tensor([[3, 0, -1, 1]]))
        tensor(0.8500)
    """
    name = "multilabel_margin_loss"
    reduction = _reduction(name, reduction, size_average, reduce)
    _tensor(input, name, "input")
    _tensor(target, name, "target")
    if input.ndim > 2 or tuple(target.shape) != tuple(input.shape) or target._data.dtype.kind not in "iu":
        raise RuntimeError(f"{name}: expected input of shape (C,) or (N, C) and an integer target of the same "
                           f"shape, got input {tuple(input.shape)} and target {tuple(target.shape)} ({target.dtype})")
    vector = input.ndim <= 1
    x = input.reshape((1, -1)) if vector else input
    t = target._data.reshape(x.shape).astype(xp.int64)
    n, c = x.shape
    if t.size and (t.max() >= c):
        raise RuntimeError(f"{name}: target index {int(t.max())} is out of bounds for {c} classes")
    valid = xp.cumprod(t >= 0, axis=1).astype(bool)  # the indices before the first negative one
    rows, ks = xp.nonzero(valid)
    is_target = xp.zeros((n, c), dtype=bool)
    is_target[rows, t[rows, ks]] = True
    x_target = _index.gather(x, 1, _make(xp.where(valid, t, 0)))  # (N, K): x at the k-th listed class
    z = (1.0 - x_target).unsqueeze(2) + x.unsqueeze(1)  # (N, K, C); PyTorch's order: (1 - x[j]) + x[i]
    # the terms PyTorch adds: z > 0 (nan and inf - inf count as not positive) at a listed, non-target pair;
    # a select, not a product with a 0/1 mask, so that an inf left out gives 0, not inf * 0 = nan
    keep = valid[:, :, None] & ~is_target[:, None, :] & (z._data > 0)
    loss = _arith.where(keep, z, 0.0).sum((1, 2)) / c
    if vector:
        loss = loss.reshape(())
    return _reduce(loss, reduction)


def poisson_nll_loss(input: Tensor, target: Tensor, log_input: bool = True, full: bool = False,
                     size_average: bool | None = None, eps: float = 1e-8, reduce: bool | None = None,
                     reduction: str = "mean") -> Tensor:
    """Negative log-likelihood of a Poisson target: exp(x) - t x (``log_input``), or x - t log(x + eps); with
    ``full``, Stirling's t log t - t + log(2 pi t) / 2 is added where t > 1.

    Example::

        >>> from nnzoo.ops import loss as F  # also nnzoo.nn.functional
        >>> F.poisson_nll_loss(nnzoo.tensor([0., 1.]), nnzoo.tensor([1., 2.]), reduction='none')
        tensor([1.0000, 0.7183])
    """
    name = "poisson_nll_loss"
    reduction = _reduction(name, reduction, size_average, reduce)
    _tensor(input, name, "input")
    _tensor(target, name, "target")
    if log_input:
        loss = input.exp() - target * input
    else:
        loss = input - target * (input + eps).log()
    if full:
        # NOTE: Stirling's term is computed on max(t, 1) and kept where t > 1 (PyTorch computes it everywhere and
        # masks it, giving nan gradients to targets of 0); the values are the same
        keep = target._data > 1
        ts = _arith.where(keep, target, 1.0)
        stirling = ts * ts.log() - ts + (ts * (2 * math.pi)).log() * 0.5
        loss = loss + _arith.where(keep, stirling, 0.0)
    return _reduce(loss, reduction)


def gaussian_nll_loss(input: Tensor, target: Tensor, var: Tensor | float, full: bool = False, eps: float = 1e-6,
                      reduction: str = "mean") -> Tensor:
    """Negative log-likelihood of a Gaussian target: (log(max(var, eps)) + (x - t)^2 / max(var, eps)) / 2, plus
    log(2 pi) / 2 with ``full``.

    ``var`` has input's shape, or one dim fewer (then it is unsqueezed), or one dim of size 1 where input's is not
    (homoscedastic), or is a float. NOTE: var is clamped at eps for the values only; its gradient is the unclamped
    one, as PyTorch's in-place no_grad clamp.

    Example::

        >>> from nnzoo.ops import loss as F  # also nnzoo.nn.functional
        >>> F.gaussian_nll_loss(nnzoo.tensor([0., 1.]), nnzoo.tensor([1., 1.]), nnzoo.tensor([1., 1.]))
        tensor(0.2500)
    """
    name = "gaussian_nll_loss"
    _tensor(input, name, "input")
    _tensor(target, name, "target")
    if isinstance(var, (int, float)):
        if var < 0:
            raise ValueError("var has negative entry/entries")
        var = _make(xp.full(tuple(input.shape), var, dtype=input._data.dtype))
    elif (var._data < 0).any():
        raise ValueError("var has negative entry/entries")
    vs, xs = tuple(var.shape), tuple(input.shape)
    if vs != xs:
        if xs[:-1] == vs:
            var = var.unsqueeze(-1)
        elif not (len(xs) == len(vs) and sum(b for a, b in zip(xs, vs) if a != b) == 1):
            raise ValueError(f"var is of incorrect size: {vs} for input of shape {xs}")
    if reduction not in _REDUCTIONS:
        raise ValueError(reduction + " is not valid")
    var = var + (var.clamp_min(eps) - var).detach()
    d = input - target
    loss = (var.log() + d * d / var) * 0.5
    if full:
        loss = loss + 0.5 * math.log(2 * math.pi)
    return _reduce(loss, reduction)


def multi_margin_loss(input: Tensor, target: Tensor, p: int = 1, margin: float = 1.0, weight: Tensor | None = None,
                      size_average: bool | None = None, reduce: bool | None = None, reduction: str = "mean") -> Tensor:
    """Multi-class hinge: (1 / C) sum over i != y of w[y] max(0, margin - x[y] + x[i])^p, p = 1 or 2.

    Shape: input (N, C) or (C,); target (N,) (or () / (1,) for a vector); weight (C,); output (N,) for 'none'.

    Example::

        >>> from nnzoo.ops import loss as F  # also nnzoo.nn.functional
        >>> F.multi_margin_loss(nnzoo.tensor([[0.1, 0.2, 0.4, 0.8]]), nnzoo.tensor([3]))
        tensor(0.3250)
    """
    name = "multi_margin_loss"
    reduction = _reduction(name, reduction, size_average, reduce)
    _tensor(input, name, "input")
    _tensor(target, name, "target")
    if p not in (1, 2):
        raise ValueError("only p == 1 and p == 2 supported")
    if input.ndim > 2 or input.ndim == 0:
        raise RuntimeError(f"{name}: expected input of shape (C,) or (N, C), got {tuple(input.shape)}")
    x = input.reshape((1, -1)) if input.ndim == 1 else input
    n, c = x.shape
    t = target._data.reshape(-1).astype(xp.int64)
    if t.shape[0] != n:
        raise RuntimeError(f"{name}: inconsistent target size: {tuple(target.shape)} for input of size "
                           f"{tuple(input.shape)}")
    if t.size and (t.min() < 0 or t.max() >= c):
        raise RuntimeError(f"{name}: target out of range: the targets must be in [0, {c})")
    if weight is not None and (weight.ndim != 1 or weight.shape[0] != c):
        raise RuntimeError(f"{name}: weight of shape {tuple(weight.shape)} must be 1-D with {c} elements")
    x_target = _index.gather(x, 1, _make(t.reshape(n, 1)))  # (N, 1)
    z = (margin - x_target) + x  # PyTorch's order: a subnormal x[i] survives (margin - x[y]) = 0
    # PyTorch's terms: z > 0 (nan counts as not positive) for the classes other than the target; selected
    # before the square and the weight, so that a term left out contributes 0 (not inf * 0 = nan)
    keep = z._data > 0
    keep[xp.arange(n), t] = False  # the target's own term is left out
    z = _arith.where(keep, z, 0.0)
    if p == 2:
        z = z * z
    if weight is not None:
        z = z * _index.index_select(weight, 0, _make(t)).reshape((n, 1))
    loss = z.sum(1) / c
    if input.ndim == 1 and target.ndim == 0:
        loss = loss.reshape(())
    return _reduce(loss, reduction)

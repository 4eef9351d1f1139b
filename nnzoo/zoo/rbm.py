"""Restricted Boltzmann machines: Bernoulli-Bernoulli and Gaussian-Bernoulli, trained by contrastive divergence.

An RBM is a bipartite energy model over visible units v (D) and hidden units h (H), with weights W (H, D), visible
biases b and hidden biases c:

    Bernoulli visibles:   E(v, h) = -b.v - c.h - h.W v                p(v, h) = exp(-E(v, h)) / Z
    Gaussian visibles:    E(v, h) = |v - b|^2 / 2 - c.h - h.W v       (unit variance: standardised data)

Summing out h gives the free energy F(v) = -log sum_h exp(-E(v, h)):

    Bernoulli:  F(v) = -b.v - sum_j softplus(c_j + W_j.v)
    Gaussian:   F(v) = |v - b|^2 / 2 - sum_j softplus(c_j + W_j.v)

and p(v) = exp(-F(v)) / Z. The conditionals factorise: p(h_j = 1 | v) = sigmoid(c_j + W_j.v), and
p(v_i = 1 | h) = sigmoid(b_i + h.W_:i) (Bernoulli) or v_i | h ~ N(b_i + h.W_:i, 1) (Gaussian).

Learning rule (contrastive divergence, Hinton 2002). The log-likelihood gradient is
d log p(v)/d theta = -dF(v)/d theta + E_model[dF/d theta]; CD-k replaces the model expectation with samples v~
at the end of k Gibbs steps v -> h -> v started at the data (persistent CD, Tieleman 2008: started from a chain
kept across updates). So the update is the gradient of the free-energy difference

    loss = mean F(v_data) - mean F(v~)          (v~ held fixed)
    theta <- theta - lr * d loss / d theta,

taken here with nnzoo's autograd; in closed form (:func:`cd_update`), with p = sigmoid(c + W v),
dW = <p v^T>_data - <p~ v~^T>_model, db = <v>_data - <v~>_model, dc = <p>_data - <p~>_model.

Evaluation: the exact log partition function by enumerating the 2^H hidden states (H <= 25), the exact average
log-likelihood, annealed importance sampling (Salakhutdinov & Murray 2008) for log Z, and scikit-learn's
pseudo-likelihood (its ``BernoulliRBM.score_samples``).
"""
from __future__ import annotations

import itertools
import math

import nnzoo

from .. import nn
from ..autograd.arrays import array, as_array, bump_version, wrap
from ..backend import xp
from ..nn import functional as F

__all__ = ["RBM", "cd_update", "logmeanexp"]

MAX_EXACT_HIDDEN = 25


def logmeanexp(x: nnzoo.Tensor) -> float:
    """log(mean(exp(x))) of a 1-D tensor, computed stably (the AIS estimate's average of weights)."""
    return float(nnzoo.logsumexp(x, dim=0)) - math.log(x.shape[0])


def _sigmoid(a):
    """sigmoid on an array, as 0.5 (1 + tanh(a / 2)): no overflow for large |a|."""
    return 0.5 * (1.0 + xp.tanh(0.5 * a))


def _bernoulli(p, generator):
    """Binary samples of the probabilities ``p`` (an array), drawn from nnzoo's generator."""
    u = array(nnzoo.rand(*p.shape, generator=generator, dtype=nnzoo.float64 if p.dtype == xp.float64
                         else nnzoo.float32))
    return (u < p).astype(p.dtype)


class RBM(nn.Module):
    """A restricted Boltzmann machine (see the module docstring for the energy and the learning rule).

    Parameter names follow scikit-learn's ``BernoulliRBM``: ``weight`` is its ``components_`` (H, D),
    ``h_bias`` its ``intercept_hidden_``, ``v_bias`` its ``intercept_visible_``.

    Args:
        n_visible: D, the number of visible units.
        n_hidden: H, the number of hidden units.
        visible: ``'bernoulli'`` (binary or [0, 1] data) or ``'gaussian'`` (unit-variance real data).
        init_std: the standard deviation of the initial weights (scikit-learn: 0.01). Default: 0.01.
        generator: the random generator of the initialisation.

    Shape: ``forward(v)`` takes (N, D) and returns the hidden probabilities (N, H) (``BernoulliRBM.transform``).

    Example::

        >>> rbm = RBM(6, 3)
        >>> rbm.free_energy(nnzoo.ones(2, 6)).shape
        nnzoo.Size([2])
    """

    def __init__(self, n_visible: int, n_hidden: int, visible: str = "bernoulli", init_std: float = 0.01,
                 generator: nnzoo.Generator | None = None) -> None:
        super().__init__()
        if visible not in ("bernoulli", "gaussian"):
            raise ValueError(f"RBM: visible must be 'bernoulli' or 'gaussian', got {visible!r}")
        self.n_visible, self.n_hidden, self.visible, self.init_std = n_visible, n_hidden, visible, init_std
        self.weight = nn.Parameter(nnzoo.empty(n_hidden, n_visible))   # (H, D)
        self.h_bias = nn.Parameter(nnzoo.zeros(n_hidden))               # (H,)
        self.v_bias = nn.Parameter(nnzoo.zeros(n_visible))              # (D,)
        self.reset_parameters(generator)

    def reset_parameters(self, generator: nnzoo.Generator | None = None) -> None:
        """Weights N(0, init_std^2), biases zero (scikit-learn's initialisation)."""
        nn.init.normal_(self.weight, 0.0, self.init_std, generator=generator)
        nn.init.zeros_(self.h_bias)
        nn.init.zeros_(self.v_bias)

    def extra_repr(self) -> str:
        return f"n_visible={self.n_visible}, n_hidden={self.n_hidden}, visible={self.visible!r}"

    # ---- conditionals and sampling ----------------------------------------------------------------------------
    def hidden_logits(self, v: nnzoo.Tensor) -> nnzoo.Tensor:
        return F.linear(v, self.weight, self.h_bias)                   # (N, H)

    def hidden_probs(self, v: nnzoo.Tensor) -> nnzoo.Tensor:
        """p(h = 1 | v) = sigmoid(c + W v)."""
        return nnzoo.sigmoid(self.hidden_logits(v))                    # (N, H)

    def forward(self, v: nnzoo.Tensor) -> nnzoo.Tensor:
        return self.hidden_probs(v)

    def visible_mean(self, h: nnzoo.Tensor) -> nnzoo.Tensor:
        """E[v | h]: sigmoid(b + h W) (Bernoulli) or b + h W (Gaussian)."""
        a = h @ self.weight + self.v_bias                              # (N, D)
        return nnzoo.sigmoid(a) if self.visible == "bernoulli" else a

    def sample_hidden(self, v: nnzoo.Tensor, generator: nnzoo.Generator | None = None) -> nnzoo.Tensor:
        return nnzoo.bernoulli(self.hidden_probs(v), generator=generator)

    def sample_visible(self, h: nnzoo.Tensor, generator: nnzoo.Generator | None = None) -> nnzoo.Tensor:
        mean = self.visible_mean(h)
        if self.visible == "bernoulli":
            return nnzoo.bernoulli(mean, generator=generator)
        return mean + nnzoo.randn(*mean.shape, generator=generator, dtype=mean.dtype)

    def gibbs_chain(self, h: nnzoo.Tensor, k: int = 1,
                    generator: nnzoo.Generator | None = None) -> tuple[nnzoo.Tensor, nnzoo.Tensor]:
        """k steps h -> v -> h of block Gibbs sampling from hidden states ``h``; returns the last (v, h)."""
        with nnzoo.no_grad():
            for _ in range(k):
                v = self.sample_visible(h, generator)
                h = self.sample_hidden(v, generator)
        return v, h

    def sample(self, n: int, steps: int = 1000, generator: nnzoo.Generator | None = None,
               v0: nnzoo.Tensor | None = None) -> nnzoo.Tensor:
        """``n`` visible samples after ``steps`` Gibbs steps (from random hidden states, or from ``v0``); the last
        step returns the mean E[v | h] (a less noisy picture)."""
        with nnzoo.no_grad():
            if v0 is None:
                h = nnzoo.bernoulli(nnzoo.full((n, self.n_hidden), 0.5), generator=generator)
            else:
                h = self.sample_hidden(v0, generator)
            if steps > 1:
                _, h = self.gibbs_chain(h, steps - 1, generator)
            return self.visible_mean(h)

    # ---- energies -------------------------------------------------------------------------------------------
    def free_energy(self, v: nnzoo.Tensor) -> nnzoo.Tensor:
        """F(v) per row (N,): -log sum_h exp(-E(v, h)); differentiable in the parameters."""
        hidden = F.softplus(self.hidden_logits(v)).sum(1)              # (N,)
        if self.visible == "bernoulli":
            return -(v @ self.v_bias) - hidden
        return 0.5 * ((v - self.v_bias) ** 2).sum(1) - hidden

    def contrastive_divergence(self, v: nnzoo.Tensor, k: int = 1, chain: nnzoo.Tensor | None = None,
                               generator: nnzoo.Generator | None = None
                               ) -> tuple[nnzoo.Tensor, nnzoo.Tensor, nnzoo.Tensor]:
        """The CD-k (or persistent CD) loss of a batch: mean F(v) - mean F(v~), v~ from k Gibbs steps.

        Args:
            v: the data batch (N, D).
            k: the number of Gibbs steps.
            chain: persistent CD's hidden states (M, H), the chain's state after the previous update (as
                scikit-learn's ``h_samples_``); None: CD-k, the chain starts from h ~ p(h | v).
            generator: the random generator of the sampling.

        Returns:
            (loss, v_model, chain): the loss (its gradient is minus the CD update), the negative samples v~ and
            the chain's hidden states after them (pass them back for persistent CD).
        """
        if chain is None:
            with nnzoo.no_grad():
                chain = self.sample_hidden(v, generator)
        v_model, h_model = self.gibbs_chain(chain, k, generator)
        # NOTE: one free-energy pass over the data and the samples stacked, weighted +1/N and -1/M: half the ops
        # of two passes, which matters at scikit-learn's batch of 10 (the per-op overhead dominates there)
        n, m = v.shape[0], v_model.shape[0]
        weights = nnzoo.cat([nnzoo.full((n,), 1.0 / n, dtype=v.dtype), nnzoo.full((m,), -1.0 / m, dtype=v.dtype)])
        loss = (self.free_energy(nnzoo.cat([v, v_model])) * weights).sum()
        return loss, v_model, h_model

    def cd_step_(self, v: nnzoo.Tensor, lr: float, k: int = 1, chain: nnzoo.Tensor | None = None,
                 generator: nnzoo.Generator | None = None) -> tuple[nnzoo.Tensor, nnzoo.Tensor]:
        """One CD-k (or persistent CD) update in closed form, in place: theta += lr * :func:`cd_update`, the same
        step as SGD on :meth:`contrastive_divergence`'s loss (tested), on the arrays behind the parameters.

        NOTE: the fast path. At scikit-learn's batch of 10 a CD step is ~25 tiny array operations, and the
        per-op cost of tensors (~20-30 us each on the shared 2-core machine) made the tensor version of this
        step ~3x scikit-learn's time and the autograd step ~6x; on the arrays it is scikit-learn's own cost.

        Returns:
            (v_model, chain) as :meth:`contrastive_divergence`.
        """
        W, b, c = array(self.weight), array(self.v_bias), array(self.h_bias)   # (H, D), (D,), (H,)
        vd = array(v).astype(W.dtype, copy=False)                               # (N, D)
        if chain is None:
            h = _bernoulli(_sigmoid(vd @ W.T + c), generator)
        else:
            h = array(chain).astype(W.dtype, copy=False)                        # (M, H)
        for _ in range(k):
            a = h @ W + b                                                       # (M, D)
            if self.visible == "bernoulli":
                vm = _bernoulli(_sigmoid(a), generator)
            else:
                vm = a + array(nnzoo.randn(*a.shape, generator=generator, dtype=self.weight.dtype))
            pm = _sigmoid(vm @ W.T + c)                                         # (M, H)
            h = _bernoulli(pm, generator)
        pd = _sigmoid(vd @ W.T + c)                                             # (N, H)
        n, m = vd.shape[0], vm.shape[0]
        W += (lr / n) * (pd.T @ vd) - (lr / m) * (pm.T @ vm)
        b += lr * (vd.mean(0) - vm.mean(0))
        c += lr * (pd.mean(0) - pm.mean(0))
        for p in (self.weight, self.v_bias, self.h_bias):
            bump_version(p)
        return wrap(vm), wrap(h)

    # ---- likelihoods ----------------------------------------------------------------------------------------
    def log_partition(self, chunk: int = 1 << 14) -> float:
        """The exact log Z, summing exp(-F) over the 2^H hidden configurations (H <= 25), in float64:

        Bernoulli:  log Z = logsumexp_h [c.h + sum_i softplus(b_i + (h W)_i)]
        Gaussian:   log Z = logsumexp_h [c.h + b.(h W) + |h W|^2 / 2] + D/2 log(2 pi)
        """
        H = self.n_hidden
        if H > MAX_EXACT_HIDDEN:
            raise ValueError(f"RBM.log_partition: enumerates 2^{H} hidden states; at most {MAX_EXACT_HIDDEN} "
                             "hidden units (use ais() beyond)")
        with nnzoo.no_grad():
            W, b, c = self.weight.detach().double(), self.v_bias.detach().double(), self.h_bias.detach().double()
            bits = 2 ** nnzoo.arange(H, dtype=nnzoo.int64)                # (H,)
            parts = []
            for start in range(0, 2 ** H, chunk):
                idx = nnzoo.arange(start, min(start + chunk, 2 ** H), dtype=nnzoo.int64)
                h = ((idx.unsqueeze(1) // bits) % 2).double()               # (n, H)
                a = h @ W                                                   # (n, D)
                if self.visible == "bernoulli":
                    s = h @ c + F.softplus(a + b).sum(1)
                else:
                    s = h @ c + a @ b + 0.5 * (a * a).sum(1)
                parts.append(nnzoo.logsumexp(s, dim=0).reshape(1))
            log_z = float(nnzoo.logsumexp(nnzoo.cat(parts), dim=0))
        if self.visible == "gaussian":
            log_z += 0.5 * self.n_visible * math.log(2 * math.pi)
        return log_z

    def log_likelihood(self, v: nnzoo.Tensor, log_z: float | None = None) -> float:
        """The average log p(v) = -F(v) - log Z over the rows of ``v`` (log Z exact unless given)."""
        if log_z is None:
            log_z = self.log_partition()
        with nnzoo.no_grad():
            return float(-self.free_energy(v).double().mean()) - log_z

    def ais(self, n_runs: int = 100, n_betas: int = 1000, base_rate: nnzoo.Tensor | None = None,
            generator: nnzoo.Generator | None = None) -> tuple[float, float]:
        """Annealed importance sampling estimate of log Z (Salakhutdinov & Murray 2008; Bernoulli visibles).

        The base model A has no weights and visible biases b_A = logit(base_rate) (the data's pixel means;
        default 0.5), so log Z_A = sum_i softplus(b_A,i) + H log 2 and it is sampled exactly. The intermediate models,
        beta from 0 to 1 in ``n_betas`` linear steps, have

            log p*_beta(v) = (1 - beta) b_A.v + beta b.v + sum_j softplus(beta (c_j + W_j.v)),

        each moved one Gibbs step (h ~ sigmoid(beta (c + W v)), v ~ sigmoid((1 - beta) b_A + beta (b + h W)));
        the importance weight of a run is sum_k log p*_k(v_k) - log p*_{k-1}(v_k).

        Returns:
            (log Z estimate, its standard error from the spread of the weights: 3 sigma brackets the estimate
            in the paper's sense).
        """
        if self.visible != "bernoulli":
            raise ValueError("RBM.ais: written for Bernoulli visibles (use log_partition for a Gaussian RBM)")
        W = array(self.weight).astype(xp.float64)                               # (H, D)
        b, c = array(self.v_bias).astype(xp.float64), array(self.h_bias).astype(xp.float64)
        if base_rate is None:
            b_a = xp.zeros(self.n_visible)
        else:
            p = xp.clip(as_array(base_rate).astype(xp.float64), 1e-3, 1 - 1e-3)
            b_a = xp.log(p / (1 - p))
        betas = array(nnzoo.linspace(0.0, 1.0, n_betas, dtype=nnzoo.float64)).tolist()
        # NOTE: on the arrays, and log p*_k(v) - log p*_{k-1}(v) from one product v W^T: ~10 array calls per
        # temperature; the tensor version cost ~3x more at 100 runs
        v = _bernoulli(xp.broadcast_to(_sigmoid(b_a), (n_runs, self.n_visible)), generator)     # (R, D)
        log_w = xp.zeros(n_runs)
        for prev, beta in itertools.pairwise(betas):
            a = v @ W.T + c                                                     # (R, H)
            log_w += (beta - prev) * (v @ (b - b_a)) + (xp.logaddexp(0, beta * a) - xp.logaddexp(0, prev * a)).sum(1)
            h = _bernoulli(_sigmoid(beta * a), generator)
            v = _bernoulli(_sigmoid((1 - beta) * b_a + beta * (h @ W + b)), generator)
        # at beta = 0 each hidden unit contributes softplus(0) = log 2
        log_z_a = float(xp.logaddexp(0, b_a).sum()) + self.n_hidden * math.log(2.0)
        estimate = log_z_a + logmeanexp(wrap(log_w))
        # the standard error of the mean weight, carried to the log (delta method)
        w = xp.exp(log_w - log_w.max())
        stderr = float(w.std(ddof=1) / (w.mean() * math.sqrt(n_runs)))
        return estimate, stderr

    def pseudo_likelihood(self, v: nnzoo.Tensor, generator: nnzoo.Generator | None = None) -> nnzoo.Tensor:
        """scikit-learn's pseudo-likelihood per row (``BernoulliRBM.score_samples``): with one random unit i of
        each row flipped (v'), D * log sigmoid(F(v') - F(v))."""
        with nnzoo.no_grad():
            n, d = v.shape
            i = nnzoo.randint(0, d, (n,), generator=generator)
            flip = F.one_hot(i, d).to(v.dtype)                              # (N, D)
            v_flip = v + flip * (1 - 2 * v)
            return d * F.logsigmoid(self.free_energy(v_flip) - self.free_energy(v))


def cd_update(rbm: RBM, v_data: nnzoo.Tensor, v_model: nnzoo.Tensor) -> dict[str, nnzoo.Tensor]:
    """The closed-form CD update (the ascent direction, per parameter name) for data ``v_data`` and negative
    samples ``v_model``: dW = <p v^T>_data - <p v^T>_model, db = <v>_data - <v>_model (Bernoulli; Gaussian:
    <v - b>), dc = <p>_data - <p>_model, with p = p(h = 1 | v). The reference the autograd gradient is tested
    against (it is minus the gradient of :meth:`RBM.contrastive_divergence`'s loss)."""
    with nnzoo.no_grad():
        p_d, p_m = rbm.hidden_probs(v_data), rbm.hidden_probs(v_model)
        n_d, n_m = v_data.shape[0], v_model.shape[0]
        dw = p_d.t() @ v_data / n_d - p_m.t() @ v_model / n_m
        db = v_data.mean(0) - v_model.mean(0)                  # the same for a Gaussian RBM (b cancels)
        dc = p_d.mean(0) - p_m.mean(0)
    return {"weight": dw, "v_bias": db, "h_bias": dc}

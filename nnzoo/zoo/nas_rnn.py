"""Neural architecture search for recurrent cells: the search space, the cell a genotype builds, and the
bookkeeping of regularised evolution.

The search space is the one of Zoph & Le (2017) in the form ENAS gave it (Pham et al. 2018): a cell is a
small directed acyclic graph of N nodes computed at every time step.

* node 0 reads x_t and h_{t-1}: n_0 = f_0(W_x x_t + W_h h_{t-1} + b_0);
* node l >= 1 reads one earlier node p_l < l: n_l = f_l(W_l n_{p_l} + b_l);
* each f_l is one of tanh, ReLU, sigmoid, identity;
* the new state is the mean of the loose ends (the nodes no other node reads): h_t = mean_{l loose} n_l.

With ``highway=True`` (ENAS's cell, the default) each node is gated as a highway layer, with its own gate:
c_l = σ(W^c_l n_{p_l} + b^c_l), n_l = c_l ⊙ f_l(W_l n_{p_l} + b_l) + (1 − c_l) ⊙ n_{p_l} (node 0 gates
against h_{t-1} with c_0 = σ(W^c_x x_t + W^c_h h_{t-1} + b^c_0)), which keeps deep cells trainable.

A genotype is a flat tuple of integers: ``(f_0, p_1, f_1, p_2, f_2, ..., p_{N-1}, f_{N-1})`` with
``f_l`` an index into :data:`ACTIVATIONS` and ``0 <= p_l < l``; a cell of N nodes has 2N − 1 genes.
``NASCell(genotype, input_size, hidden_size)`` is a usable cell with ``nn.RNNCell``'s API,
:class:`NASRNN` runs it over sequences as ``nn.RNN`` does, :func:`draw_cell` draws it, and
:class:`RegularizedEvolution` is Real et al. (2019)'s ageing evolution (population, tournament,
mutate the winner, drop the oldest). The recipe ``nas-rnn`` (:mod:`nnzoo.recipes.nas_rnn`) searches
the space on character-level Shakespeare and compares the best cell with the LSTM, GRU and MUT1-3.

Known forms: one node with tanh (or ReLU) and ``highway=False`` is the Elman cell ``nn.RNNCell``; one
tanh node with ``highway=True`` is a GRU whose reset gate is always open (z = 1 − c).
"""
from __future__ import annotations

import math
import random
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from .. import creation, nn
from ..nn import functional as F
from ..nn import init
from ..ops.shape import stack
from ..tensor import Tensor

__all__ = ["ACTIVATIONS", "genotype_nodes", "check_genotype", "loose_ends", "random_genotype", "mutate",
           "genotype_str", "all_genotypes_count", "NASCell", "NASRNN", "CharLM", "RECURRENT_KINDS",
           "count_parameters", "RegularizedEvolution", "Individual", "draw_cell"]

ACTIVATIONS = ("tanh", "relu", "sigmoid", "identity")


def _identity(x):
    return x


_FUNCTIONS = {"tanh": F.tanh, "relu": F.relu, "sigmoid": F.sigmoid, "identity": _identity}


# ---- the genotype ------------------------------------------------------------------------------------------
def genotype_nodes(genotype: Sequence[int]) -> int:
    """The number of nodes N of a genotype (its length is 2N − 1)."""
    return (len(genotype) + 1) // 2


def check_genotype(genotype: Sequence[int]) -> tuple[int, ...]:
    """The genotype as a tuple of ints, after checking it: odd length, activations in range, each node's
    input an earlier node. Raises ValueError naming the bad gene."""
    g = tuple(genotype)
    if len(g) % 2 != 1:
        raise ValueError(f"NAS genotype: expected 2N-1 genes (f_0, p_1, f_1, ..., p_N-1, f_N-1), got {len(g)}")
    for i, v in enumerate(g):
        if isinstance(v, bool) or not hasattr(v, "__index__"):
            raise ValueError(f"NAS genotype: gene {i} must be an integer, got {v!r}")
    g = tuple(int(v) for v in g)
    for node in range(genotype_nodes(g)):
        f = g[2 * node]
        if not 0 <= f < len(ACTIVATIONS):
            raise ValueError(f"NAS genotype: node {node}'s activation must be in 0..{len(ACTIVATIONS) - 1} "
                             f"({', '.join(ACTIVATIONS)}), got {f}")
        if node:
            p = g[2 * node - 1]
            if not 0 <= p < node:
                raise ValueError(f"NAS genotype: node {node}'s input must be an earlier node 0..{node - 1}, got {p}")
    return g


def _parents(g):
    return [None] + [g[2 * node - 1] for node in range(1, genotype_nodes(g))]


def _activations(g):
    return [ACTIVATIONS[g[2 * node]] for node in range(genotype_nodes(g))]


def loose_ends(genotype: Sequence[int]) -> list[int]:
    """The nodes no other node reads (their mean is the cell's output), in order."""
    g = check_genotype(genotype)
    used = set(_parents(g)[1:])
    return [node for node in range(genotype_nodes(g)) if node not in used]


def random_genotype(num_nodes: int, rng: random.Random) -> tuple[int, ...]:
    """A genotype drawn uniformly: each activation uniform over :data:`ACTIVATIONS`, each input uniform over
    the earlier nodes."""
    if num_nodes < 1:
        raise ValueError(f"random_genotype: num_nodes must be >= 1, got {num_nodes}")
    g = [rng.randrange(len(ACTIVATIONS))]
    for node in range(1, num_nodes):
        g += [rng.randrange(node), rng.randrange(len(ACTIVATIONS))]
    return tuple(g)


def mutate(genotype: Sequence[int], rng: random.Random) -> tuple[int, ...]:
    """Real et al. (2019)'s mutation: one gene, chosen uniformly, changed to a different valid value (an
    activation to another activation; a node's input to another earlier node). Node 1 can only read node 0,
    so its input gene is never chosen. A one-node genotype changes its activation."""
    g = list(check_genotype(genotype))
    choices = [i for i in range(len(g)) if i % 2 == 0 or (i + 1) // 2 > 1]   # activations and inputs with a choice
    i = rng.choice(choices)
    if i % 2 == 0:
        g[i] = rng.choice([a for a in range(len(ACTIVATIONS)) if a != g[i]])
    else:
        node = (i + 1) // 2
        g[i] = rng.choice([p for p in range(node) if p != g[i]])
    return tuple(g)


def all_genotypes_count(num_nodes: int) -> int:
    """The size of the space of N-node genotypes: 4^N (N - 1)!."""
    return len(ACTIVATIONS) ** num_nodes * math.factorial(num_nodes - 1)


def genotype_str(genotype: Sequence[int]) -> str:
    """A readable form: ``'0:tanh(x,h) 1:relu(0) 2:identity(0) -> mean(1,2)'``."""
    g = check_genotype(genotype)
    parts = []
    for node, (p, f) in enumerate(zip(_parents(g), _activations(g))):
        parts.append(f"{node}:{f}({'x,h' if p is None else p})")
    return " ".join(parts) + f" -> mean({','.join(map(str, loose_ends(g)))})"


# ---- the cell ----------------------------------------------------------------------------------------------
class NASCell(nn.Module):
    """A recurrent cell built from a genotype (the module docstring gives the equations).

    Args:
        genotype: ``(f_0, p_1, f_1, ..., p_{N-1}, f_{N-1})`` (see :func:`check_genotype`).
        input_size: features of x_t.
        hidden_size: features of h_t (every node has this width).
        highway: gate every node as a highway layer (ENAS); False gives plain nodes.
        bias: add biases (ENAS has none; with them a one-node tanh cell is exactly ``nn.RNNCell``).

    Parameters (k = 2 with ``highway``, else 1; the gate's rows first): ``weight_ih`` (kH, I),
    ``weight_hh`` (kH, H), ``bias`` (kH,) for node 0; ``node_weights[l-1]`` (kH, H) and
    ``node_biases[l-1]`` (kH,) for node l. Initialisation U(−1/√H, 1/√H), PyTorch's rule for its
    recurrent cells.

    Shape: ``forward(input, hx=None)``: input (B, I) or (I,), hx (B, H) or (H,) (None: zeros); returns h' of
    hx's shape.

    Example::

        >>> cell = NASCell((0, 0, 1, 0, 3), 10, 20)
        >>> cell(nnzoo.randn(3, 10)).shape
        nnzoo.Size([3, 20])
    """

    def __init__(self, genotype: Sequence[int], input_size: int, hidden_size: int, highway: bool = True,
                 bias: bool = True, dtype: Any = None) -> None:
        super().__init__()
        for what, v in (("input_size", input_size), ("hidden_size", hidden_size)):
            if not isinstance(v, int) or isinstance(v, bool) or v <= 0:
                raise ValueError(f"NASCell: {what} must be a positive integer, got {v!r}")
        self.genotype = check_genotype(genotype)
        self.input_size, self.hidden_size = input_size, hidden_size
        self.highway, self.has_bias = bool(highway), bool(bias)
        self.parents = _parents(self.genotype)
        self.activations = _activations(self.genotype)
        self.outputs = loose_ends(self.genotype)
        k = 2 if highway else 1
        H = hidden_size
        self.weight_ih = nn.Parameter(creation.empty(k * H, input_size, dtype=dtype))
        self.weight_hh = nn.Parameter(creation.empty(k * H, H, dtype=dtype))
        self.bias = nn.Parameter(creation.empty(k * H, dtype=dtype)) if bias else None
        n = len(self.parents) - 1
        self.node_weights = nn.ParameterList([nn.Parameter(creation.empty(k * H, H, dtype=dtype)) for _ in range(n)])
        self.node_biases = (nn.ParameterList([nn.Parameter(creation.empty(k * H, dtype=dtype)) for _ in range(n)])
                            if bias else None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        bound = 1.0 / math.sqrt(self.hidden_size)
        for p in self.parameters():
            init.uniform_(p, -bound, bound)

    @property
    def num_nodes(self) -> int:
        return len(self.parents)

    def _node(self, pre: Tensor, prev: Tensor, f: str) -> Tensor:
        """One node from its pre-activation (B, kH) and the state it gates against (B, H)."""
        act = _FUNCTIONS[f]
        if not self.highway:
            return act(pre)
        c, z = pre.chunk(2, 1)                              # (B, H) each: the gate, the candidate
        c = F.sigmoid(c)
        return prev + c * (act(z) - prev)                   # c ⊙ f(z) + (1 − c) ⊙ prev

    def step(self, x_proj: Tensor, h: Tensor) -> Tensor:
        """One time step from node 0's input projection ``x_proj`` = W_x x_t + b_0 (B, kH) and h_{t-1} (B, H)."""
        nodes = [self._node(x_proj + F.linear(h, self.weight_hh), h, self.activations[0])]   # (B, H)
        for node in range(1, self.num_nodes):
            prev = nodes[self.parents[node]]
            b = self.node_biases[node - 1] if self.node_biases is not None else None
            nodes.append(self._node(F.linear(prev, self.node_weights[node - 1], b), prev, self.activations[node]))
        ends = [nodes[i] for i in self.outputs]
        if len(ends) == 1:
            return ends[0]
        out = ends[0]
        for e in ends[1:]:
            out = out + e
        return out * (1.0 / len(ends))                      # (B, H): the mean of the loose ends

    def project_input(self, x: Tensor) -> Tensor:
        """W_x x + b_0 for any leading shape (..., I) -> (..., kH): one GEMM for every time step of a sequence."""
        return F.linear(x, self.weight_ih, self.bias)

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        if not isinstance(input, Tensor):
            raise TypeError(f"NASCell: input must be a Tensor, not {type(input).__name__}")
        if input.ndim not in (1, 2) or input.shape[-1] != self.input_size:
            raise ValueError(f"NASCell: expected input of shape (batch, {self.input_size}) or ({self.input_size},), "
                             f"got {tuple(input.shape)}")
        single = input.ndim == 1
        x = input.unsqueeze(0) if single else input
        if hx is None:
            hx = creation.zeros(x.shape[0], self.hidden_size, dtype=x.dtype)
        elif single:
            hx = hx.unsqueeze(0)
        if tuple(hx.shape) != (x.shape[0], self.hidden_size):
            raise ValueError(f"NASCell: hx must have shape ({x.shape[0]}, {self.hidden_size}), got {tuple(hx.shape)}")
        h = self.step(self.project_input(x), hx)
        return h.squeeze(0) if single else h

    def extra_repr(self) -> str:
        return (f"{self.input_size}, {self.hidden_size}, genotype={self.genotype}, highway={self.highway}, "
                f"bias={self.has_bias}")


class NASRNN(nn.Module):
    """A :class:`NASCell` run over a sequence, as ``nn.RNN`` runs ``nn.RNNCell`` (one layer, one direction).

    Node 0's input projections of all T steps are one GEMM; the time loop computes the rest of the cell.

    Args: ``genotype``, ``input_size``, ``hidden_size``, ``highway``, ``bias`` as :class:`NASCell`;
        ``batch_first``: input and output are (B, T, *) instead of (T, B, *).

    Shape: ``forward(input, hx=None)``: input (T, B, I) (or (B, T, I)), hx (1, B, H) or None (zeros); returns
    ``(output, h_n)``: output (T, B, H) (or (B, T, H)), h_n (1, B, H), as ``nn.RNN``.

    Example::

        >>> rnn = NASRNN((0, 0, 1), 8, 16, batch_first=True)
        >>> out, h = rnn(nnzoo.randn(4, 7, 8))
        >>> tuple(out.shape), tuple(h.shape)
        ((4, 7, 16), (1, 4, 16))
    """

    def __init__(self, genotype: Sequence[int], input_size: int, hidden_size: int, highway: bool = True,
                 bias: bool = True, batch_first: bool = False, dtype: Any = None) -> None:
        super().__init__()
        self.cell = NASCell(genotype, input_size, hidden_size, highway=highway, bias=bias, dtype=dtype)
        self.input_size, self.hidden_size, self.batch_first = input_size, hidden_size, bool(batch_first)

    def forward(self, input: Tensor, hx: Tensor | None = None) -> tuple[Tensor, Tensor]:
        if input.ndim != 3 or input.shape[-1] != self.input_size:
            raise ValueError(f"NASRNN: expected input (T, B, {self.input_size}) or (B, T, {self.input_size}) with "
                             f"batch_first, got {tuple(input.shape)}")
        x = input.transpose(0, 1) if self.batch_first else input           # (T, B, I)
        T, B = x.shape[0], x.shape[1]
        h = creation.zeros(B, self.hidden_size, dtype=x.dtype) if hx is None else hx[0]
        proj = self.cell.project_input(x)                                   # (T, B, kH)
        outs = []
        for t in range(T):
            h = self.cell.step(proj[t], h)                                  # (B, H)
            outs.append(h)
        out = stack(outs, 0)                                                # (T, B, H)
        if self.batch_first:
            out = out.transpose(0, 1)
        return out, h.unsqueeze(0)

    def extra_repr(self) -> str:
        return f"batch_first={self.batch_first}"


# ---- a character language model around any of the compared cells -----------------------------------------
RECURRENT_KINDS = ("lstm", "gru", "mut1", "mut2", "mut3", "nas")


class _CellLayer(nn.Module):
    """``nn.Recurrent`` over a MUT cell, returning (output, state) as nn.RNN does."""

    def __init__(self, cell):
        super().__init__()
        self.rnn = nn.Recurrent(cell)

    def forward(self, x, state=None):
        out, states = self.rnn(x, None if state is None else [state])
        return out, states[0]


def _recurrent(kind, hidden, genotype, highway):
    if kind == "lstm":
        return nn.LSTM(hidden, hidden)
    if kind == "gru":
        return nn.GRU(hidden, hidden)
    if kind in ("mut1", "mut2", "mut3"):
        return _CellLayer(getattr(nn, kind.upper() + "Cell")(hidden, hidden))
    if kind == "nas":
        if genotype is None:
            raise ValueError("CharLM: kind 'nas' needs a genotype")
        return NASRNN(genotype, hidden, hidden, highway=highway)
    raise ValueError(f"CharLM: kind must be one of {', '.join(RECURRENT_KINDS)}, got {kind!r}")


class CharLM(nn.Module):
    """Embedding (width H) -> one recurrent layer of width H -> Linear: next-character scores, for any of the
    compared cells (LSTM, GRU, MUT1-3, a NAS cell). The embedding is H wide because MUT1 and MUT2 add x_t to
    hidden-width vectors.

    Args:
        vocab_size: characters. hidden_size: H. kind: one of :data:`RECURRENT_KINDS`.
        genotype, highway: the NAS cell's, for ``kind='nas'``.

    Shape: input (T, B) int64 ids, state (the layer's) or None; returns (logits (T, B, V), state).

    Example::

        >>> m = CharLM(12, 16, "mut2")
        >>> logits, h = m(nnzoo.zeros(5, 3, dtype=nnzoo.int64))
        >>> tuple(logits.shape)
        (5, 3, 12)
    """

    def __init__(self, vocab_size: int, hidden_size: int, kind: str = "nas", genotype: Sequence[int] | None = None,
                 highway: bool = True) -> None:
        super().__init__()
        self.kind, self.vocab_size, self.hidden_size = kind, vocab_size, hidden_size
        self.embedding = nn.Embedding(vocab_size, hidden_size)
        self.rnn = _recurrent(kind, hidden_size, genotype, highway)
        self.head = nn.Linear(hidden_size, vocab_size)

    def forward(self, x: Tensor, state: Any = None) -> tuple[Tensor, Any]:
        e = self.embedding(x)                       # (T, B, H)
        out, state = self.rnn(e, state)             # (T, B, H)
        return self.head(out), state                # (T, B, V)


def count_parameters(model: nn.Module) -> int:
    """The number of scalar parameters of ``model``."""
    return sum(p.numel() for p in model.parameters())


# ---- regularised (ageing) evolution --------------------------------------------------------------------------
@dataclass
class Individual:
    """One evaluated architecture: its genotype, fitness (lower is better: validation bits per character), its
    birth (the order of evaluation) and its parent's birth (None for the random initial population)."""

    genotype: tuple
    fitness: float
    birth: int
    parent: int | None = None


@dataclass
class RegularizedEvolution:
    """Real et al. (2019)'s ageing evolution, as bookkeeping: the caller evaluates, this class chooses.

    The algorithm::

        population <- P random architectures, each evaluated
        while fewer than C evaluated:
            sample S individuals of the population uniformly (without replacement)
            parent <- the best of the sample;  child <- mutate(parent);  evaluate child
            append child;  remove the OLDEST individual of the population (not the worst)

    Use :meth:`propose` for the next genotype to evaluate and :meth:`tell` with its fitness; ``history``
    holds every evaluated individual, ``population`` the living ones (at most ``population_size``).

    Args:
        num_nodes: N of the genotypes. population_size: P. sample_size: S (the tournament).
        seed: the random stream of proposals and tournaments.
        mutate_fn, random_fn: the mutation and the initial draw (default :func:`mutate`, :func:`random_genotype`).
    """

    num_nodes: int
    population_size: int = 10
    sample_size: int = 3
    seed: int = 0
    mutate_fn: Callable = mutate
    random_fn: Callable = random_genotype
    population: deque = field(default_factory=deque)
    history: list = field(default_factory=list)

    def __post_init__(self) -> None:
        if not 1 <= self.sample_size <= self.population_size:
            raise ValueError(f"RegularizedEvolution: sample_size must be in 1..population_size "
                             f"({self.population_size}), got {self.sample_size}")
        self.rng = random.Random(self.seed)
        self._pending: tuple | None = None

    def propose(self) -> tuple[tuple, int | None]:
        """The next genotype to evaluate and its parent's birth (None during the random initial phase)."""
        if self._pending is not None:
            raise RuntimeError("RegularizedEvolution: tell() the fitness of the last proposal first")
        if len(self.history) < self.population_size:
            g, parent = self.random_fn(self.num_nodes, self.rng), None
        else:
            sample = self.rng.sample(list(self.population), self.sample_size)
            best = min(sample, key=lambda ind: ind.fitness)
            g, parent = self.mutate_fn(best.genotype, self.rng), best.birth
        self._pending = (tuple(g), parent)
        return self._pending

    def tell(self, fitness: float) -> Individual:
        """Record the fitness of the last proposal: the child joins, the oldest leaves once the population is full.
        A non-finite fitness counts as +inf (the worst)."""
        if self._pending is None:
            raise RuntimeError("RegularizedEvolution: nothing proposed")
        g, parent = self._pending
        self._pending = None
        f = float(fitness)
        ind = Individual(g, f if math.isfinite(f) else math.inf, len(self.history), parent)
        self.history.append(ind)
        self.population.append(ind)
        if len(self.population) > self.population_size:
            self.population.popleft()                        # ageing: the oldest dies, whatever its fitness
        return ind

    def best(self) -> Individual:
        """The best individual ever evaluated (the living population may have lost it to age)."""
        return min(self.history, key=lambda ind: ind.fitness)


# ---- the picture -------------------------------------------------------------------------------------------
def draw_cell(genotype: Sequence[int], ax: Any = None, title: str | None = None, highway: bool = True) -> Any:
    """Draw a cell as a graph: x_t and h_{t-1} feed node 0, arrows from each node's input, each node labelled
    with its activation, the loose ends averaged into h_t. Needs matplotlib.

    Args:
        genotype: the cell's. ax: a matplotlib Axes to draw on (None: a new Figure). title: the axes' title.
        highway: say in the title that nodes are highway-gated.

    Returns: the matplotlib Figure.
    """
    g = check_genotype(genotype)
    if ax is None:
        from matplotlib.figure import Figure
        fig = Figure(figsize=(3.2 + 1.1 * genotype_nodes(g), 3.6))
        ax = fig.add_subplot()
    fig = ax.figure
    parents, acts, ends = _parents(g), _activations(g), loose_ends(g)
    n = len(parents)
    depth = [0] * n
    for node in range(1, n):
        depth[node] = depth[parents[node]] + 1
    levels: dict[int, list[int]] = {}
    for node in range(n):
        levels.setdefault(depth[node], []).append(node)
    pos = {}
    for d, nodes in levels.items():
        for i, node in enumerate(nodes):
            pos[node] = (1.0 + d, (i - (len(nodes) - 1) / 2) * 1.0)
    span = max(len(v) for v in levels.values())
    pos["x"], pos["h"] = (0.0, 0.5), (0.0, -0.5)
    pos["out"] = (2.0 + max(depth), 0.0)
    colours = {"tanh": "#8ecae6", "relu": "#ffb703", "sigmoid": "#90be6d", "identity": "#dddddd"}
    arrow = {"arrowstyle": "->", "color": "0.3", "lw": 1.0, "shrinkA": 14, "shrinkB": 14}

    def link(a, b, style=None):
        ax.annotate("", xy=pos[b], xytext=pos[a], arrowprops={**arrow, **(style or {})})
    link("x", 0)
    link("h", 0)
    for node in range(1, n):
        link(parents[node], node)
    for node in ends:
        link(node, "out", {"linestyle": "--"})
    for node in range(n):
        ax.text(*pos[node], f"{node}\n{acts[node]}", ha="center", va="center", fontsize=8,
                bbox={"boxstyle": "round", "fc": colours[acts[node]], "ec": "0.3"})
    for key, label in (("x", "$x_t$"), ("h", "$h_{t-1}$")):
        ax.text(*pos[key], label, ha="center", va="center", fontsize=9, bbox={"boxstyle": "circle", "fc": "white"})
    ax.text(*pos["out"], "$h_t$\nmean", ha="center", va="center", fontsize=8,
            bbox={"boxstyle": "round", "fc": "white", "ec": "0.3"})
    ax.set_xlim(-0.6, pos["out"][0] + 0.6)
    ax.set_ylim(-(span + 1) / 2, (span + 1) / 2)
    ax.set_axis_off()
    ax.set_title(title or f"NAS cell, {n} nodes{' (highway-gated)' if highway else ''}", fontsize=9)
    return fig

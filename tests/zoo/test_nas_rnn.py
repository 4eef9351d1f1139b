"""NAS for recurrent cells: the cell a genotype builds against a torch reference of the same equations (forward
and backward), known genotypes reproduce torch's RNNCell, RNN and GRUCell, mutation keeps genotypes valid, and
ageing evolution's bookkeeping (the oldest dies, the tournament's best is the parent)."""
import itertools
import math
import random

import numpy as np
import pytest
import torch

import nnzoo
from nnzoo.zoo.nas_rnn import (
    ACTIVATIONS,
    NASRNN,
    CharLM,
    NASCell,
    RegularizedEvolution,
    all_genotypes_count,
    check_genotype,
    count_parameters,
    draw_cell,
    genotype_str,
    loose_ends,
    mutate,
    random_genotype,
)

TORCH_ACTS = {"tanh": torch.tanh, "relu": torch.relu, "sigmoid": torch.sigmoid, "identity": lambda v: v}


def torch_cell(genotype, params, x, h, highway):
    """The module docstring's equations written directly in torch (the reference)."""
    acts = [ACTIVATIONS[genotype[2 * n]] for n in range((len(genotype) + 1) // 2)]
    parents = [None] + [genotype[2 * n - 1] for n in range(1, len(acts))]
    H = h.shape[1]

    def node(pre, prev, f):
        if not highway:
            return TORCH_ACTS[f](pre)
        c = torch.sigmoid(pre[:, :H])
        return c * TORCH_ACTS[f](pre[:, H:]) + (1 - c) * prev
    nodes = [node(x @ params["weight_ih"].T + h @ params["weight_hh"].T + params["bias"], h, acts[0])]
    for n in range(1, len(acts)):
        prev = nodes[parents[n]]
        nodes.append(node(prev @ params[f"node_weights.{n - 1}"].T + params[f"node_biases.{n - 1}"], prev, acts[n]))
    used = set(parents[1:])
    ends = [nodes[n] for n in range(len(acts)) if n not in used]
    return sum(ends) / len(ends)


@pytest.mark.parametrize("highway", [True, False])
@pytest.mark.parametrize("genotype", [(0, 0, 1, 0, 3, 1, 2, 2, 0), (3, 0, 2, 1, 0, 1, 1, 3, 3)])
def test_cell_forward_backward_match_a_torch_reference(genotype, highway):
    nnzoo.manual_seed(0)
    cell = NASCell(genotype, 5, 6, highway=highway, dtype=nnzoo.float64)
    rng = np.random.default_rng(1)
    x_np, h_np, g_np = rng.normal(size=(4, 5)), rng.normal(size=(4, 6)), rng.normal(size=(4, 6))
    x, h = nnzoo.tensor(x_np, requires_grad=True), nnzoo.tensor(h_np, requires_grad=True)
    out = cell(x, h)
    (out * nnzoo.tensor(g_np)).sum().backward()
    tp = {k: torch.tensor(v.detach().numpy(), requires_grad=True) for k, v in cell.state_dict().items()}
    tx, th = torch.tensor(x_np, requires_grad=True), torch.tensor(h_np, requires_grad=True)
    ref = torch_cell(genotype, tp, tx, th, highway)
    (ref * torch.tensor(g_np)).sum().backward()
    np.testing.assert_allclose(out.detach().numpy(), ref.detach().numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(x.grad.detach().numpy(), tx.grad.detach().numpy(), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(h.grad.detach().numpy(), th.grad.detach().numpy(), rtol=1e-9, atol=1e-12)
    for name, p in cell.named_parameters():
        np.testing.assert_allclose(p.grad.detach().numpy(), tp[name].grad.detach().numpy(), rtol=1e-9, atol=1e-12,
                                   err_msg=name)


@pytest.mark.parametrize("act,nonlinearity", [(0, "tanh"), (1, "relu")])
def test_one_plain_node_is_torchs_rnn_cell_and_rnn(act, nonlinearity):
    nnzoo.manual_seed(1)
    cell = NASCell((act,), 4, 7, highway=False, dtype=nnzoo.float64)
    ref = torch.nn.RNNCell(4, 7, nonlinearity=nonlinearity).double()
    with torch.no_grad():
        ref.weight_ih.copy_(torch.tensor(cell.weight_ih.detach().numpy()))
        ref.weight_hh.copy_(torch.tensor(cell.weight_hh.detach().numpy()))
        ref.bias_ih.copy_(torch.tensor(cell.bias.detach().numpy()))
        ref.bias_hh.zero_()
    x, h = np.random.default_rng(2).normal(size=(2, 3, 4)), np.random.default_rng(3).normal(size=(3, 7))
    np.testing.assert_allclose(cell(nnzoo.tensor(x[0]), nnzoo.tensor(h)).detach().numpy(),
                               ref(torch.tensor(x[0]), torch.tensor(h)).detach().numpy(), rtol=1e-12)
    # the sequence layer is nn.RNN (batch_first, an initial state)
    layer = NASRNN((act,), 4, 7, highway=False, batch_first=True, dtype=nnzoo.float64)
    layer.cell.load_state_dict(cell.state_dict())
    rnn = torch.nn.RNN(4, 7, nonlinearity=nonlinearity, batch_first=True).double()
    with torch.no_grad():
        rnn.weight_ih_l0.copy_(ref.weight_ih)
        rnn.weight_hh_l0.copy_(ref.weight_hh)
        rnn.bias_ih_l0.copy_(ref.bias_ih)
        rnn.bias_hh_l0.zero_()
    seq = np.random.default_rng(4).normal(size=(3, 5, 4))
    out, hn = layer(nnzoo.tensor(seq), nnzoo.tensor(h[None]))
    tout, thn = rnn(torch.tensor(seq), torch.tensor(h[None]))
    np.testing.assert_allclose(out.detach().numpy(), tout.detach().numpy(), rtol=1e-11, atol=1e-13)
    np.testing.assert_allclose(hn.detach().numpy(), thn.detach().numpy(), rtol=1e-11, atol=1e-13)


def test_one_highway_tanh_node_is_a_gru_with_its_reset_gate_open():
    """h' = c f(...) + (1 - c) h is the GRU with r = 1 and z = 1 - c: torch's GRUCell with W_r = 0 and a bias of
    1e4 on r (σ(1e4) is exactly 1 in float64), the gate's weights negated into z."""
    nnzoo.manual_seed(2)
    cell = NASCell((0,), 4, 5, highway=True, dtype=nnzoo.float64)
    W, U, b = (torch.tensor(t.detach().numpy()) for t in (cell.weight_ih, cell.weight_hh, cell.bias))
    gru = torch.nn.GRUCell(4, 5).double()
    H = 5
    with torch.no_grad():
        gru.weight_ih.copy_(torch.cat([torch.zeros(H, 4), -W[:H], W[H:]]))      # rows (r, z, n)
        gru.weight_hh.copy_(torch.cat([torch.zeros(H, H), -U[:H], U[H:]]))
        gru.bias_ih.copy_(torch.cat([torch.full((H,), 1e4), -b[:H], b[H:]]))
        gru.bias_hh.zero_()
    x, h = np.random.default_rng(5).normal(size=(3, 4)), np.random.default_rng(6).normal(size=(3, 5))
    np.testing.assert_allclose(cell(nnzoo.tensor(x), nnzoo.tensor(h)).detach().numpy(),
                               gru(torch.tensor(x), torch.tensor(h)).detach().numpy(), rtol=1e-12, atol=1e-14)


def test_sequence_layer_is_the_cell_looped_and_unbatched_input_works():
    nnzoo.manual_seed(3)
    layer = NASRNN((0, 0, 2, 1, 3), 3, 4)
    seq = nnzoo.randn(6, 2, 3)
    out, hn = layer(seq)
    h = None
    for t in range(6):
        h = layer.cell(seq[t], h)
        np.testing.assert_allclose(out[t].detach().numpy(), h.detach().numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(hn[0].detach().numpy(), h.detach().numpy(), rtol=1e-5, atol=1e-6)
    assert tuple(layer.cell(seq[0, 0]).shape) == (4,)
    with pytest.raises(ValueError, match="NASCell"):
        layer.cell(nnzoo.randn(2, 5))


def test_genotype_rules_and_space_size():
    assert check_genotype([0, 0, 1]) == (0, 0, 1)
    for bad in ([0, 0], [4], [0, 1, 0], [0, 0, 1, 2, 0], [0, -1, 0]):
        with pytest.raises(ValueError, match="genotype"):
            check_genotype(bad)
    assert loose_ends((0, 0, 1, 0, 3, 1, 2)) == [2, 3]
    assert genotype_str((0, 0, 1)) == "0:tanh(x,h) 1:relu(0) -> mean(1)"
    # every genotype of 3 nodes is reachable by random_genotype: the space has 4^3 * 2! = 128 members
    rng = random.Random(0)
    seen = {random_genotype(3, rng) for _ in range(4000)}
    every = {(a, p1, b, p2, c) for a, b, c in itertools.product(range(4), repeat=3) for p1 in (0,) for p2 in (0, 1)}
    assert seen == every and len(every) == all_genotypes_count(3) == 128


def test_mutation_changes_one_gene_to_another_valid_value():
    rng = random.Random(1)
    for _ in range(500):
        g = random_genotype(rng.randint(1, 8), rng)
        child = mutate(g, rng)
        assert check_genotype(child) == child and len(child) == len(g)
        assert sum(a != b for a, b in zip(g, child)) == 1
    # every neighbour of a genotype is reachable: the number of gene values other than the current ones
    g = (0, 0, 1, 1, 2)          # node 1's input has no alternative; node 2's input has one
    kids = {mutate(g, rng) for _ in range(2000)}
    assert len(kids) == 3 * 3 + 1


def test_evolution_removes_the_oldest_and_the_tournament_picks_the_best():
    evo = RegularizedEvolution(num_nodes=3, population_size=4, sample_size=4, seed=0)
    for i in range(4):                                       # the random initial population
        g, parent = evo.propose()
        assert parent is None and check_genotype(g) == g
        evo.tell([0.5, 3.0, 2.0, 1.0][i])                   # the first-born is the best
    g, parent = evo.propose()
    assert parent == 0                                       # sample = whole population: its best is the parent
    assert sum(a != b for a, b in zip(g, evo.history[0].genotype)) == 1
    evo.tell(9.0)
    assert [ind.birth for ind in evo.population] == [1, 2, 3, 4]   # the oldest (and best) died of age
    assert evo.best().birth == 0                             # ... yet the history keeps it
    g, parent = evo.propose()
    assert parent == 3                                       # the best still living (fitness 1.0)
    evo.tell(math.nan)
    assert evo.history[-1].fitness == math.inf and len(evo.population) == 4
    assert [ind.birth for ind in evo.population] == [2, 3, 4, 5]
    with pytest.raises(RuntimeError):
        evo.tell(1.0)
    with pytest.raises(ValueError):
        RegularizedEvolution(3, population_size=2, sample_size=3)


def test_tournament_sample_of_one_is_uniform_over_the_living():
    evo = RegularizedEvolution(num_nodes=2, population_size=3, sample_size=1, seed=4)
    for f in (1.0, 2.0, 3.0):
        evo.propose()
        evo.tell(f)
    parents = set()
    for _ in range(30):
        living = {ind.birth for ind in evo.population}
        _, parent = evo.propose()
        assert parent in living
        parents.add(parent)
        evo.tell(0.0)
    assert len(parents) > 3                                  # not always the best


def test_char_lm_of_every_kind_and_the_drawing():
    V = 11
    x = nnzoo.randint(0, V, (4, 2))
    for kind in ("lstm", "gru", "mut1", "mut2", "mut3", "nas"):
        m = CharLM(V, 8, kind, (0, 0, 1))
        logits, state = m(x)
        assert tuple(logits.shape) == (4, 2, V)
        logits, _ = m(x, state)                              # a carried state is accepted
    # parameters: embedding + decoder + the cell (highway: 2H rows per node)
    H, m = 8, CharLM(V, 8, "nas", (0, 0, 1, 0, 2))
    assert count_parameters(m) == V * H + (H * V + V) + 2 * H * (H + H + 1) + 2 * (2 * H * H + 2 * H)
    fig = draw_cell((0, 0, 1, 0, 2, 1, 3))
    labels = {t.get_text() for t in fig.axes[0].texts}
    assert {"0\ntanh", "1\nrelu", "2\nsigmoid", "3\nidentity"} <= labels


def test_a_nas_lm_learns_a_periodic_sequence():
    nnzoo.manual_seed(0)
    seq = np.tile(np.array([0, 1, 2, 3, 2, 1]), 4)
    x, y = nnzoo.tensor(seq[:-1, None]), nnzoo.tensor(seq[1:])
    m = CharLM(4, 16, "nas", (0, 0, 0, 1, 3))
    opt = nnzoo.optim.Adam(m.parameters(), lr=0.02)
    losses = []
    for _ in range(40):
        logits, _ = m(x)
        loss = nnzoo.nn.functional.cross_entropy(logits.reshape(-1, 4), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(float(loss))
    assert losses[-1] < 0.1 * losses[0]

"""The skip-gram negative-sampling (SGNS, word2vec) training step on sparse embedding gradients.

1,024 centre-context pairs, 5 negatives each, a 10k vocabulary, 100-dimensional vectors: two
``nn.Embedding(sparse=True)`` tables (input vectors v, output vectors u), the loss
``-log sigma(u_o . v_c) - sum_k log sigma(-u_k . v_c)`` averaged over the pairs, backward (sparse COO
gradients), ``optim.SGD(lr=0.025)`` (which scatter-adds the touched rows). The same code on both sides;
word ids drawn from a Zipf-like unigram^0.75 distribution (as word2vec's noise distribution), eight batches
used in turn.
"""
import numpy as np

from ..registry import workload

VOCAB, DIM, PAIRS, NEGATIVES, BATCHES = 10_000, 100, 1024, 5, 8


def sgns_data(seed=0):
    """(centres (B, PAIRS), targets (B, PAIRS, 1 + NEGATIVES): the context word then the negatives, signs
    (1, 1 + NEGATIVES): +1 for the context, -1 for the negatives, initial input and output tables)."""
    rng = np.random.default_rng(seed)
    p = (1.0 / np.arange(1, VOCAB + 1)) ** 0.75
    p /= p.sum()
    centres = rng.choice(VOCAB, size=(BATCHES, PAIRS), p=p)
    targets = rng.choice(VOCAB, size=(BATCHES, PAIRS, 1 + NEGATIVES), p=p)
    signs = np.array([[1.0] + [-1.0] * NEGATIVES], dtype=np.float32)
    w_in = ((rng.random((VOCAB, DIM)) - 0.5) / DIM).astype(np.float32)
    w_out = ((rng.random((VOCAB, DIM)) - 0.5) / DIM).astype(np.float32)
    return centres, targets, signs, w_in, w_out


@workload("sgns_step", "word2vec SGNS step: 1,024 pairs x (1 + 5 negatives), vocab 10k, dim 100, two "
                       "nn.Embedding(sparse=True) tables, logsigmoid loss, backward, optim.SGD(lr=0.025)")
def sgns_step(torch):
    centres, targets, signs, w_in, w_out = sgns_data()
    emb_in = torch.nn.Embedding(VOCAB, DIM, sparse=True, _weight=torch.tensor(w_in))
    emb_out = torch.nn.Embedding(VOCAB, DIM, sparse=True, _weight=torch.tensor(w_out))
    optimizer = torch.optim.SGD([emb_in.weight, emb_out.weight], lr=0.025)
    c = [torch.tensor(x) for x in centres]
    t = [torch.tensor(x) for x in targets]
    sign = torch.tensor(signs)
    it = [0]

    def step():
        i = it[0] % BATCHES
        it[0] += 1
        optimizer.zero_grad()
        v = emb_in(c[i])                                   # (PAIRS, DIM): the centre words' input vectors
        u = emb_out(t[i])                                  # (PAIRS, 1 + K, DIM): context + negatives
        score = torch.bmm(u, v.unsqueeze(2)).squeeze(2)    # (PAIRS, 1 + K): u . v
        loss = -torch.nn.functional.logsigmoid(score * sign).sum(1).mean()
        loss.backward()
        optimizer.step()
        return loss
    return step

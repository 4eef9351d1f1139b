"""The attention encoder-decoder and the Transformer seq2seq of nnzoo/zoo/seq2seq.py. The metrics, the date data
and the date recipes: tests/recipes/test_seq2seq.py."""
import numpy as np
import pytest

import nnzoo
from nnzoo.ops.reduce import log_softmax
from nnzoo.zoo.seq2seq import Seq2Seq, TransformerSeq2Seq

SMALL = dict(src_vocab=14, tgt_vocab=14, embed=8, enc_hidden=8, dec_hidden=16, attn_hidden=8, max_len=7)
PAD, BOS, EOS = 0, 2, 3


def _batch(seed=0, B=4, L=6, T=5, vocab=14):
    """A padded batch: src (B, L) with decreasing-then-mixed lengths, tgt_in (B, T) starting with <bos>."""
    rng = np.random.default_rng(seed)
    lengths = rng.integers(2, L + 1, size=B)
    lengths[0] = L
    src = rng.integers(4, vocab, size=(B, L))
    src[np.arange(L)[None, :] >= lengths[:, None]] = PAD
    tgt_in = rng.integers(4, vocab, size=(B, T))
    tgt_in[:, 0] = BOS
    return nnzoo.tensor(src), nnzoo.tensor(lengths), nnzoo.tensor(tgt_in)


def _model(seed=0, **kw):
    nnzoo.manual_seed(seed)
    return Seq2Seq(**{**SMALL, **kw})


def _until_eos(row):
    row = list(np.asarray(row))
    return row[:row.index(EOS) + 1] if EOS in row else row


# ---- shapes and attention --------------------------------------------------------------------------------------
@pytest.mark.parametrize("cell", ["gru", "lstm"])
def test_shapes(cell):
    model = _model(cell=cell)
    src, lengths, tgt_in = _batch()
    assert tuple(model(src, lengths, tgt_in).shape) == (4, 5, 14)
    tokens, weights = model.greedy(src, lengths, max_len=6)
    assert tokens.dtype == nnzoo.int64 and tokens.shape[0] == 4 and tokens.shape[1] <= 6
    assert tuple(weights.shape) == (4, tokens.shape[1], 6)
    memory, keys, mask, _ = model.encode(src, lengths)
    assert tuple(memory.shape) == (4, 6, 16) and tuple(keys.shape) == (4, 6, 8) and tuple(mask.shape) == (4, 6)


@pytest.mark.parametrize("cell", ["gru", "lstm"])
def test_attention_sums_to_one_and_is_zero_on_padding(cell):
    model = _model(cell=cell)
    src, lengths, _ = _batch(seed=1)
    tokens, weights = model.greedy(src, lengths, max_len=8)
    w, tok, n = weights.numpy(), tokens.numpy(), lengths.numpy()
    valid = np.arange(6)[None, :] < n[:, None]                                  # (B, L)
    for b in range(4):
        live = len(_until_eos(tok[b]))                                          # steps before and at <eos>
        np.testing.assert_allclose(w[b, :live][:, valid[b]].sum(-1), 1.0, rtol=1e-5)
        assert np.all(w[b, :, ~valid[b]] == 0.0)                                # exactly zero, not small
        assert np.all(w[b, live:] == 0.0)


def test_encoder_states_are_zero_on_padding_and_ignore_it():
    model = _model()
    src, lengths, _ = _batch(seed=2)
    memory = model.encode(src, lengths)[0].detach().numpy()
    n = lengths.numpy()
    for b in range(4):
        assert np.all(memory[b, n[b]:] == 0.0)
        alone = model.encode(src[b:b + 1, :n[b]])[0].detach().numpy()          # the row without padding
        np.testing.assert_allclose(memory[b, :n[b]], alone[0], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("cell", ["gru", "lstm"])
def test_padded_batch_equals_single_examples(cell):
    model = _model(cell=cell, seed=3)
    src, lengths, tgt_in = _batch(seed=3)
    logits = model(src, lengths, tgt_in).detach().numpy()
    tokens, weights = model.greedy(src, lengths, max_len=6)
    for b in range(4):
        n = int(lengths[b])
        one = src[b:b + 1, :n]
        np.testing.assert_allclose(logits[b], model(one, None, tgt_in[b:b + 1]).detach().numpy()[0], rtol=1e-5,
                                   atol=1e-5)
        t1, w1 = model.greedy(one, None, max_len=6)
        assert _until_eos(t1.numpy()[0]) == _until_eos(tokens.numpy()[b])
        k = t1.shape[1]
        np.testing.assert_allclose(weights.numpy()[b, :k, :n], w1.numpy()[0], rtol=1e-5, atol=1e-7)


# ---- decoding ----------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("cell", ["gru", "lstm"])
def test_greedy_equals_beam_search_of_width_one(cell):
    model = _model(cell=cell, seed=4)
    src, lengths, _ = _batch(seed=4, B=6)
    tokens, weights = model.greedy(src, lengths, max_len=7)
    beams = model.beam_search(src, lengths, beam_width=1, max_len=7)
    for b, (seq, w, _) in enumerate(beams):
        assert seq == _until_eos(tokens.numpy()[b])
        np.testing.assert_allclose(w, weights.numpy()[b, :len(seq), :int(lengths[b])], rtol=1e-5, atol=1e-7)


def test_beam_search_score_is_the_log_probability_of_its_tokens():
    """score = sum_i log p(y_i | y_<i, x), recomputed with the teacher-forced forward pass; the winner has the
    best length-normalised score ((5 + |y|) / 6) ** alpha among what a wider search could return."""
    model = _model(seed=5).eval()
    src, lengths, _ = _batch(seed=5, B=3)
    for alpha in (0.0, 0.6):
        for b, (seq, _, score) in enumerate(model.beam_search(src, lengths, beam_width=3, alpha=alpha, max_len=7)):
            tgt_in = nnzoo.tensor([[BOS] + seq[:-1]])
            logp = log_softmax(model(src[b:b + 1, :int(lengths[b])], None, tgt_in), -1).detach().numpy()[0]
            np.testing.assert_allclose(score, logp[np.arange(len(seq)), seq].sum(), rtol=1e-5)
    with pytest.raises(ValueError, match="beam_width"):
        model.beam_search(src, lengths, beam_width=0)


def test_teacher_forcing_ratio_one_and_zero():
    model = _model(seed=6)
    src, lengths, tgt_in = _batch(seed=6)
    other = tgt_in.numpy().copy()
    other[:, 1:] = (other[:, 1:] + 3) % 10 + 4                 # different true tokens after <bos>
    other = nnzoo.tensor(other)
    model.train()
    forced = model(src, lengths, tgt_in, teacher_forcing=1.0).detach().numpy()
    np.testing.assert_allclose(forced, model.eval()(src, lengths, tgt_in).detach().numpy(), rtol=1e-6)
    model.train()
    assert not np.allclose(forced, model(src, lengths, other, teacher_forcing=1.0).detach().numpy())
    # ratio 0: the decoder reads its own argmax, so the true tokens after <bos> do not matter ...
    free = model(src, lengths, tgt_in, teacher_forcing=0.0).detach().numpy()
    np.testing.assert_allclose(free, model(src, lengths, other, teacher_forcing=0.0).detach().numpy(), rtol=1e-6)
    # ... and its argmax path is the greedy decoding (up to <eos>, where greedy stops feeding a row)
    tokens, _ = model.greedy(src, lengths, max_len=5)
    for b in range(4):
        g = _until_eos(tokens.numpy()[b])
        assert list(free[b].argmax(-1))[:len(g)] == g
    # a ratio in between: one draw per step from the generator; the same seed, the same draws
    runs = [model(src, lengths, tgt_in, teacher_forcing=0.5, generator=nnzoo.Generator().manual_seed(7))
            for _ in range(2)]
    np.testing.assert_array_equal(runs[0].detach().numpy(), runs[1].detach().numpy())
    with pytest.raises(ValueError, match="teacher_forcing"):
        model(src, lengths, tgt_in, teacher_forcing=1.5)


def test_config_errors():
    with pytest.raises(ValueError, match="cell must be"):
        Seq2Seq(cell="rnn")
    with pytest.raises(ValueError, match=r"src of shape \(B, L\)"):
        _model().encode(nnzoo.zeros(3, dtype=nnzoo.int64))


# ---- the Transformer ----------------------------------------------------------------------------------------------
def _transformer(seed=0, **kw):
    nnzoo.manual_seed(seed)
    return TransformerSeq2Seq(src_vocab=14, tgt_vocab=14, d_model=16, nhead=2, layers=1, dim_feedforward=32,
                              dropout=0.0, **kw).eval()


@pytest.mark.parametrize("positions", ["sinusoidal", "learned"])
def test_transformer_shapes_causality_and_padding(positions):
    model = _transformer(positions=positions)
    src, lengths, tgt_in = _batch(seed=8)
    logits = model(src, lengths, tgt_in).detach().numpy()
    assert logits.shape == (4, 5, 14)
    later = tgt_in.numpy().copy()
    later[:, 3:] = 5                                             # change the inputs after step 2
    np.testing.assert_allclose(model(src, lengths, nnzoo.tensor(later)).detach().numpy()[:, :3], logits[:, :3],
                               rtol=1e-5, atol=1e-6)
    tokens = model.greedy(src, lengths, max_len=6).numpy()
    for b in range(4):
        n = int(lengths[b])
        one = src[b:b + 1, :n]
        np.testing.assert_allclose(model(one, None, tgt_in[b:b + 1]).detach().numpy()[0], logits[b], rtol=1e-4,
                                   atol=1e-5)
        assert _until_eos(model.greedy(one, None, max_len=6).numpy()[0]) == _until_eos(tokens[b])


def test_transformer_greedy_follows_the_argmax_of_forward():
    model = _transformer(seed=9)
    src, lengths, _ = _batch(seed=9)
    tokens = model.greedy(src, lengths, max_len=5).numpy()
    for b in range(4):
        seq = _until_eos(tokens[b])
        logits = model(src[b:b + 1], lengths[b:b + 1], nnzoo.tensor([[BOS] + seq[:-1]])).detach().numpy()[0]
        assert list(logits.argmax(-1)) == seq
    with pytest.raises(ValueError, match="positions"):
        TransformerSeq2Seq(positions="rotary")

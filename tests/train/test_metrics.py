"""Metrics against references: NumPy for accuracy, torch.topk for top-k, scikit-learn for the confusion
matrix, torch's cross_entropy for perplexity and bits per character. Accumulating metrics must equal the
one-shot value on the concatenated batches (uneven batch sizes included)."""
import itertools
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from sklearn.metrics import confusion_matrix as sk_confusion_matrix

import nnzoo
from nnzoo.train import metrics as M

RNG = np.random.default_rng(0)


def _scores(*shape):
    return RNG.standard_normal(shape).astype(np.float32)


def _batches(n, sizes):
    """Split range(n) into consecutive slices of the given sizes (the last may be short)."""
    edges = np.cumsum([0] + list(sizes))
    assert edges[-1] == n
    return [slice(a, b) for a, b in itertools.pairwise(edges)]


# ---- accuracy -----------------------------------------------------------------------------------
@pytest.mark.parametrize("shape", [(50, 4), (20, 5, 3)])  # (N, C) and (N, C, d): classes on dim 1
def test_accuracy_from_scores_matches_numpy_argmax(shape):
    scores = _scores(*shape)
    target = RNG.integers(0, shape[1], (shape[0],) + shape[2:])
    expected = np.mean(scores.argmax(axis=1) == target)
    assert M.accuracy(nnzoo.tensor(scores), nnzoo.tensor(target)) == pytest.approx(expected)
    assert M.accuracy(scores, target) == pytest.approx(expected)  # NumPy inputs too


def test_accuracy_from_labels_and_threshold():
    pred, target = RNG.integers(0, 3, 40), RNG.integers(0, 3, 40)
    assert M.accuracy(nnzoo.tensor(pred), nnzoo.tensor(target)) == pytest.approx(np.mean(pred == target))
    logits, labels = _scores(40), RNG.integers(0, 2, 40).astype(np.float32)
    assert M.accuracy(logits, labels, threshold=0.0) == pytest.approx(np.mean((logits > 0) == labels))
    probs = 1 / (1 + np.exp(-logits))
    assert M.accuracy(probs, labels, threshold=0.5) == pytest.approx(np.mean((logits > 0) == labels))


def test_accuracy_shape_mismatch_names_shapes():
    with pytest.raises(ValueError, match=r"accuracy: .*\(4, 3\).*\(5,\)"):
        M.accuracy(_scores(4, 3), np.zeros(5, dtype=np.int64))


def test_accuracy_requires_grad_input_builds_no_graph():
    x = nnzoo.randn(6, 3, requires_grad=True)
    y = nnzoo.randint(0, 3, (6,))
    assert M.accuracy(x, y) == pytest.approx(np.mean(x.detach().numpy().argmax(1) == y.numpy()))


# ---- top-k --------------------------------------------------------------------------------------
@pytest.mark.parametrize("k", [1, 2, 5])
def test_top_k_accuracy_matches_torch_topk(k):
    scores = _scores(64, 7)
    target = RNG.integers(0, 7, 64)
    top = torch.topk(torch.from_numpy(scores), k, dim=1).indices.numpy()
    expected = np.mean((top == target[:, None]).any(axis=1))
    assert M.top_k_accuracy(nnzoo.tensor(scores), nnzoo.tensor(target), k=k) == pytest.approx(expected)


def test_top_1_equals_accuracy_and_bad_k():
    scores, target = _scores(30, 4), RNG.integers(0, 4, 30)
    assert M.top_k_accuracy(scores, target, k=1) == M.accuracy(scores, target)
    with pytest.raises(ValueError, match="k=5 must be in"):
        M.top_k_accuracy(scores, target, k=5)


# ---- confusion matrix ---------------------------------------------------------------------------
def test_confusion_matrix_matches_sklearn():
    scores, target = _scores(80, 5), RNG.integers(0, 5, 80)
    expected = sk_confusion_matrix(target, scores.argmax(1), labels=range(5))
    np.testing.assert_array_equal(M.confusion_matrix(nnzoo.tensor(scores), nnzoo.tensor(target)), expected)
    pred = RNG.integers(0, 3, 30)
    np.testing.assert_array_equal(M.confusion_matrix(pred, target[:30] % 3),
                                  sk_confusion_matrix(target[:30] % 3, pred, labels=range(3)))


def test_confusion_matrix_rejects_labels_out_of_range():
    with pytest.raises(ValueError, match=r"targets must lie in \[0, 2\)"):
        M.confusion_matrix(np.array([0, 1]), np.array([0, 2]), num_classes=2)


def test_confusion_matrix_metric_sums_batches():
    scores, target = _scores(23, 3), RNG.integers(0, 3, 23)
    cm = M.ConfusionMatrix(num_classes=3)
    for s in _batches(23, [10, 10, 3]):
        cm.update(scores[s], target[s])
    np.testing.assert_array_equal(cm.compute(), sk_confusion_matrix(target, scores.argmax(1), labels=range(3)))
    restored = M.ConfusionMatrix(num_classes=3)
    restored.load_state_dict(cm.state_dict())
    np.testing.assert_array_equal(restored.compute(), cm.compute())


# ---- perplexity and bits per character ------------------------------------------------------------
def test_perplexity_and_bpc_of_a_mean_cross_entropy():
    logits, target = torch.randn(12, 6, generator=torch.Generator().manual_seed(0)), torch.arange(12) % 6
    ce = TF.cross_entropy(logits, target).item()
    assert M.perplexity(ce) == pytest.approx(math.exp(ce))
    assert M.bits_per_character(ce) == pytest.approx(ce / math.log(2))
    assert M.bits_per_character(math.log(2) * 3) == pytest.approx(3.0)  # 3 bits = 8 equally likely symbols


def test_perplexity_metric_matches_torch_cross_entropy_over_tokens():
    # a (B, C, T) language-model output with padding (ignore_index) in uneven batches
    logits = RNG.standard_normal((9, 11, 7)) * 3
    target = RNG.integers(0, 11, (9, 7))
    target[RNG.random((9, 7)) < 0.2] = -100
    ce = TF.cross_entropy(torch.from_numpy(logits), torch.from_numpy(target), ignore_index=-100).item()
    ppl, bpc = M.Perplexity(), M.BitsPerCharacter()
    for s in _batches(9, [4, 4, 1]):
        ppl.update(nnzoo.tensor(logits[s]), nnzoo.tensor(target[s]))
        bpc.update(logits[s], target[s])
    assert ppl.compute() == pytest.approx(math.exp(ce), rel=1e-9)
    assert bpc.compute() == pytest.approx(ce / math.log(2), rel=1e-9)


def test_perplexity_metric_is_stable_for_huge_logits():
    logits = np.array([[1000.0, 0.0], [0.0, 1000.0]])
    ppl = M.Perplexity()
    ppl.update(logits, np.array([0, 1]))
    assert ppl.compute() == pytest.approx(1.0)


# ---- accumulation -------------------------------------------------------------------------------
def test_mean_weighted_by_batch_size_equals_mean_over_samples():
    err = RNG.standard_normal(37) ** 2
    mean = M.Mean("loss")
    for s in _batches(37, [16, 16, 5]):
        mean.update(err[s].mean(), weight=len(err[s]))
    assert mean.compute() == pytest.approx(err.mean())
    assert math.isnan(M.Mean().compute())  # nothing seen yet


def test_accuracy_metric_over_uneven_batches_equals_one_shot():
    scores, target = _scores(37, 4), RNG.integers(0, 4, 37)
    acc, top2 = M.Accuracy(), M.TopKAccuracy(2)
    for s in _batches(37, [16, 16, 5]):
        acc.update(nnzoo.tensor(scores[s]), nnzoo.tensor(target[s]))
        top2.update(scores[s], target[s])
    assert acc.compute() == pytest.approx(M.accuracy(scores, target))
    assert top2.compute() == pytest.approx(M.top_k_accuracy(scores, target, 2))
    acc.reset()
    assert math.isnan(acc.compute())


def test_batch_average_weights_by_batch_size():
    out, y = RNG.standard_normal(37), RNG.standard_normal(37)
    mae = M.BatchAverage(lambda o, t: float(np.abs(np.asarray(o) - np.asarray(t)).mean()), "mae")
    for s in _batches(37, [16, 16, 5]):
        mae.update(out[s], y[s])
    assert mae.compute() == pytest.approx(np.abs(out - y).mean())
    assert mae.name == "mae"


def test_get_metric():
    assert isinstance(M.get_metric("accuracy"), M.Accuracy)
    top3 = M.get_metric("top3_accuracy")
    assert isinstance(top3, M.TopKAccuracy) and top3.k == 3 and top3.name == "top3_accuracy"
    assert M.get_metric("bpc").name == "bpc"

    def mae(o, t):
        return 0.0
    assert M.get_metric(mae).name == "mae"
    with pytest.raises(ValueError, match="unknown metric 'f1'"):
        M.get_metric("f1")

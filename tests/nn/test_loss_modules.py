"""nn.*Loss modules against torch.nn.*Loss: same options, same values and gradients, same state_dict keys."""
import numpy as np
import pytest
import torch

import nnzoo

rng = np.random.default_rng(0)
X, Y = rng.standard_normal((4, 5)), rng.standard_normal((4, 5))
P = 1 / (1 + np.exp(-X))
T01 = (rng.random((4, 5)) > 0.5).astype(np.float64)
CLS = np.array([0, 3, 1, 4])
W5 = rng.random(5) + 0.5
X1, X2 = rng.standard_normal((4, 3)), rng.standard_normal((4, 3))
SIGN = np.array([1.0, -1.0, 1.0, -1.0])
X0 = np.where(rng.random((4, 5)) < 0.5, 0.0, X)  # logits exactly 0 in about half the places
T_HALF = rng.choice([0.0, 0.5, 1.0], (4, 5))
IGNORED = np.full(4, -100)

CASES = [
    ("MSELoss", {}, (X, Y)), ("MSELoss", {"reduction": "sum"}, (X, Y)),
    ("L1Loss", {"reduction": "none"}, (X, Y)), ("SmoothL1Loss", {"beta": 0.5}, (X, Y)),
    ("HuberLoss", {"delta": 0.3}, (X, Y)),
    ("BCELoss", {}, (P, T01)), ("BCELoss", {"weight": W5}, (P, T01)),
    ("BCEWithLogitsLoss", {"pos_weight": W5}, (X, T01)),
    ("BCEWithLogitsLoss", {}, (X0, T_HALF)),
    ("BCEWithLogitsLoss", {"pos_weight": W5, "weight": W5[::-1].copy()}, (X0, T_HALF)),
    ("BCEWithLogitsLoss", {"pos_weight": W5, "reduction": "none"}, (X0, T_HALF)),
    ("CrossEntropyLoss", {}, (X, CLS)),
    ("CrossEntropyLoss", {}, (X, IGNORED)),
    ("CrossEntropyLoss", {"weight": W5, "label_smoothing": 0.1}, (X, IGNORED)),
    ("NLLLoss", {}, (X, IGNORED)),
    ("CrossEntropyLoss", {"weight": W5, "label_smoothing": 0.1, "ignore_index": 3}, (X, CLS)),
    ("CrossEntropyLoss", {"reduction": "none"}, (X, P / P.sum(1, keepdims=True))),
    ("NLLLoss", {"weight": W5}, (np.log(P / P.sum(1, keepdims=True)), CLS)),
    ("KLDivLoss", {"reduction": "batchmean"}, (np.log(P / P.sum(1, keepdims=True)), P / P.sum(1, keepdims=True))),
    ("CosineEmbeddingLoss", {"margin": 0.2}, (X1, X2, SIGN)),
    ("MarginRankingLoss", {"margin": 0.1}, (X1[:, 0], X2[:, 0], SIGN)),
]


def _t(m, a, grad):
    t = m.tensor(a)
    if grad and t.dtype == m.float64:
        t.requires_grad_()
    return t


@pytest.mark.parametrize("name,kw,args", CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_loss_module_matches_torch(name, kw, args):
    res = []
    for m in (nnzoo, torch):
        kwargs = {k: (m.tensor(v) if isinstance(v, np.ndarray) else v) for k, v in kw.items()}
        module = getattr(m.nn, name)(**kwargs)
        ins = [_t(m, a, grad=i == 0) for i, a in enumerate(args)]
        out = module(*ins)
        out.sum().backward()
        res.append((out.detach().numpy(), ins[0].grad.numpy(), sorted(module.state_dict())))
    np.testing.assert_allclose(res[0][0], res[1][0], rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(res[0][1], res[1][1], rtol=1e-10, atol=1e-12)
    assert res[0][2] == res[1][2]


def test_bad_reduction_names_the_module():
    with pytest.raises(ValueError, match="CrossEntropyLoss: 'avg' is not a valid value for reduction"):
        nnzoo.nn.CrossEntropyLoss(reduction="avg")


def test_repr_matches_torch():
    assert repr(nnzoo.nn.CrossEntropyLoss()) == repr(torch.nn.CrossEntropyLoss())

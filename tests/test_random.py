"""Random factories: shapes/dtypes against PyTorch, reproducibility of seeds and generators, and the
distributions checked statistically (every bound is 5 standard deviations of the estimator, derived
from the distribution, so a correct sampler fails with probability below 1e-6 per check)."""
import itertools
import math

import numpy as np
import pytest
import torch

import nnzoo

K_SIGMA = 5.0


def _randint_like(m):
    # NOTE: nnzoo/__init__.py does not export randint_like yet (see test_random_names_exported)
    return nnzoo.random.randint_like if m is nnzoo else torch.randint_like


def _dtype_name(t):
    return str(t.dtype).split(".")[-1]


def assert_close_to(observed, expected, sigma, what):
    assert abs(observed - expected) <= K_SIGMA * sigma, \
        f"{what}: {observed} is more than {K_SIGMA} sigma ({sigma}) from {expected}"


def check_frequencies(samples, probs, what):
    """Category counts within 5 binomial standard deviations sqrt(N p (1 - p)) of N p."""
    samples = np.asarray(samples).ravel()
    n = samples.size
    counts = np.bincount(samples, minlength=len(probs))
    for j, p in enumerate(probs):
        if p == 0:
            assert counts[j] == 0, f"{what}: category {j} has probability 0 but was drawn {counts[j]} times"
        else:
            assert_close_to(counts[j], n * p, math.sqrt(n * p * (1 - p)), f"{what}: count of category {j}")


# ---- shapes, dtypes and flags against PyTorch ---------------------------------------------------------
CALLS = {
    "rand_ints": lambda m: m.rand(2, 3),
    "rand_tuple": lambda m: m.rand((2, 3)),
    "rand_list": lambda m: m.rand([4]),
    "rand_keyword": lambda m: m.rand(size=(2, 1)),
    "rand_0d": lambda m: m.rand(()),
    "rand_float64": lambda m: m.rand(2, dtype=m.float64),
    "rand_float16": lambda m: m.rand(2, dtype=m.float16),
    "rand_requires_grad": lambda m: m.rand(2, requires_grad=True),
    "randn_ints": lambda m: m.randn(3, 2),
    "randn_tuple_float64": lambda m: m.randn((3,), dtype=m.float64),
    "randn_keyword": lambda m: m.randn(size=[2, 2]),
    "randn_requires_grad": lambda m: m.randn(2, 2, requires_grad=True),
    "randint_high_size": lambda m: m.randint(10, (3,)),
    "randint_low_high_size": lambda m: m.randint(3, 10, (2, 2)),
    "randint_size_keyword": lambda m: m.randint(10, size=(5,)),
    "randint_all_keywords": lambda m: m.randint(low=2, high=4, size=(3,)),
    "randint_float32": lambda m: m.randint(0, 5, (3,), dtype=m.float32),
    "randint_int32": lambda m: m.randint(-5, 5, (3,), dtype=m.int32),
    "randint_like_high": lambda m: _randint_like(m)(m.zeros(3), 10),
    "randint_like_low_high_int32": lambda m: _randint_like(m)(m.zeros(2, 2, dtype=m.int32), 5, 10),
    "randint_like_dtype": lambda m: _randint_like(m)(m.zeros(2), 5, dtype=m.int64),
    "randperm": lambda m: m.randperm(5),
    "randperm_float32": lambda m: m.randperm(5, dtype=m.float32),
    "randperm_0": lambda m: m.randperm(0),
    "normal_tensor_tensor": lambda m: m.normal(m.zeros(2, 1, dtype=m.float64), m.ones(3)),
    "normal_tensor_float": lambda m: m.normal(m.zeros(3), 2.0),
    "normal_tensor_default_std": lambda m: m.normal(m.zeros(3)),
    "normal_float_tensor": lambda m: m.normal(0.0, m.ones(2, 2)),
    "normal_float_float_size": lambda m: m.normal(0.0, 1.0, (2, 3)),
    "normal_size_keyword_float64": lambda m: m.normal(1.0, 2.0, size=(2,), dtype=m.float64),
    "bernoulli_float64": lambda m: m.bernoulli(m.full((3,), 0.5, dtype=m.float64)),
    "bernoulli_p": lambda m: m.bernoulli(m.zeros(2, 3), 0.5),
    "multinomial_1d": lambda m: m.multinomial(m.ones(4), 2),
    "multinomial_2d_replacement": lambda m: m.multinomial(m.ones(3, 4), 5, True),
    "multinomial_float64_all": lambda m: m.multinomial(m.ones(3, dtype=m.float64), 3),
    "rand_like": lambda m: m.rand_like(m.zeros(2, 3, dtype=m.float64)),
    "rand_like_dtype": lambda m: m.rand_like(m.zeros(2), dtype=m.float16),
    "randn_like": lambda m: m.randn_like(m.zeros(1, 2)),
    "randn_like_requires_grad": lambda m: m.randn_like(m.zeros(3), requires_grad=True),
}


@pytest.mark.parametrize("name", sorted(CALLS))
def test_shape_dtype_match_torch(name):
    got, want = CALLS[name](nnzoo), CALLS[name](torch)
    assert isinstance(got, nnzoo.Tensor)
    assert _dtype_name(got) == _dtype_name(want)
    assert tuple(got.shape) == tuple(want.shape)
    assert got.requires_grad == want.requires_grad and got.is_leaf


def test_random_names_exported():
    for name in nnzoo.random.__all__:
        assert hasattr(torch, name) or hasattr(torch.random, name), f"{name} is not a PyTorch name"
    missing = [name for name in nnzoo.random.__all__ if not hasattr(nnzoo, name)]
    assert not missing, f"nnzoo does not export {missing}"


# ---- seeds and generators ----------------------------------------------------------------------------
DRAWS = {
    "rand": lambda g: nnzoo.rand(50, generator=g),
    "randn": lambda g: nnzoo.randn(5, 10, generator=g, dtype=nnzoo.float64),
    "randint": lambda g: nnzoo.randint(0, 2 ** 40, (50,), generator=g),
    "randperm": lambda g: nnzoo.randperm(50, generator=g),
    "normal": lambda g: nnzoo.normal(nnzoo.zeros(50), 2.0, generator=g),
    "bernoulli": lambda g: nnzoo.bernoulli(nnzoo.full((200,), 0.5), generator=g),
    "multinomial": lambda g: nnzoo.multinomial(nnzoo.ones(100), 50, generator=g),
    "multinomial_replacement": lambda g: nnzoo.multinomial(nnzoo.ones(100), 50, True, generator=g),
    "rand_like": lambda g: nnzoo.rand_like(nnzoo.zeros(50), generator=g),
    "randint_like": lambda g: nnzoo.random.randint_like(nnzoo.zeros(50), 2 ** 20, generator=g),
}


@pytest.mark.parametrize("name", sorted(DRAWS))
def test_same_seed_same_draws_different_seed_different_draws(name):
    draw = DRAWS[name]
    nnzoo.manual_seed(1234)
    a = draw(None).numpy()
    nnzoo.manual_seed(1234)
    np.testing.assert_array_equal(draw(None).numpy(), a)
    # a Generator seeded alike gives the same stream as the default generator
    np.testing.assert_array_equal(draw(nnzoo.Generator().manual_seed(1234)).numpy(), a)
    assert not np.array_equal(draw(nnzoo.Generator().manual_seed(1235)).numpy(), a)
    # consecutive draws from one stream differ
    g = nnzoo.Generator().manual_seed(1234)
    first, second = draw(g).numpy(), draw(g).numpy()
    np.testing.assert_array_equal(first, a)
    assert not np.array_equal(second, first)


def test_generators_are_independent_streams():
    g1 = nnzoo.Generator().manual_seed(5)
    alone = [nnzoo.rand(10, generator=g1).numpy() for _ in range(3)]
    g1.manual_seed(5)
    g2 = nnzoo.Generator().manual_seed(5)
    interleaved = []
    for _ in range(3):
        interleaved.append(nnzoo.rand(10, generator=g1).numpy())
        nnzoo.randn(7, generator=g2)  # other streams move...
        nnzoo.randint(3, (4,))  # ...the default one too
    for a, b in zip(alone, interleaved):
        np.testing.assert_array_equal(a, b)
    # and draws from a Generator never move the default stream
    nnzoo.manual_seed(9)
    x = nnzoo.rand(5).numpy()
    nnzoo.manual_seed(9)
    nnzoo.rand(100, generator=g2)
    np.testing.assert_array_equal(nnzoo.rand(5).numpy(), x)


def test_seed_bookkeeping_matches_torch():
    assert nnzoo.Generator().initial_seed() == torch.Generator().initial_seed()
    for seed in (0, 42, -1, -(2 ** 63), 2 ** 64 - 1):
        g = nnzoo.Generator().manual_seed(seed)
        assert isinstance(g, nnzoo.Generator)
        assert g.initial_seed() == torch.Generator().manual_seed(seed).initial_seed()
    assert isinstance(nnzoo.manual_seed(3), nnzoo.Generator) and nnzoo.initial_seed() == 3
    assert nnzoo.Generator().device == "cpu"
    with pytest.raises(RuntimeError, match=r"manual_seed: seed must be within \[-2\*\*63, 2\*\*64 - 1\]"):
        nnzoo.manual_seed(2 ** 64)
    with pytest.raises(Exception):  # noqa: B017  PyTorch refuses it (its error type is its own)
        torch.manual_seed(2 ** 64)


def test_state_round_trip_and_reseed():
    nnzoo.manual_seed(0)
    state = nnzoo.get_rng_state()
    a = nnzoo.randn(10).numpy()
    nnzoo.set_rng_state(state)
    np.testing.assert_array_equal(nnzoo.randn(10).numpy(), a)
    g = nnzoo.Generator().manual_seed(1)
    s = g.get_state()
    b = nnzoo.randperm(20, generator=g).numpy()
    g.set_state(s)
    np.testing.assert_array_equal(nnzoo.randperm(20, generator=g).numpy(), b)
    new = g.seed()  # a fresh seed from the OS
    assert g.initial_seed() == new and 0 <= new < 2 ** 64


# ---- distributions ------------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", [nnzoo.float16, nnzoo.float32, nnzoo.float64])
def test_rand_is_uniform_on_half_open_unit_interval(dtype):
    n = 200_000
    x = nnzoo.rand(n, dtype=dtype, generator=nnzoo.Generator().manual_seed(1)).numpy().astype(np.float64)
    # float16 has 2**11 values in [0, 1): a float64 draw rounded to float16 would hit 1.0 about n / 2**12 times
    assert x.min() >= 0.0 and x.max() < 1.0
    assert_close_to(x.mean(), 0.5, math.sqrt(1 / 12 / n), "mean of U[0, 1)")
    for q in (0.1, 0.5, 0.9):  # the CDF at q: a binomial proportion
        assert_close_to((x < q).mean(), q, math.sqrt(q * (1 - q) / n), f"P(U < {q})")


@pytest.mark.parametrize("dtype", [nnzoo.float32, nnzoo.float64])
def test_randn_mean_and_variance(dtype):
    n = 200_000
    x = nnzoo.randn(n, dtype=dtype, generator=nnzoo.Generator().manual_seed(2)).numpy().astype(np.float64)
    assert_close_to(x.mean(), 0.0, 1 / math.sqrt(n), "mean of N(0, 1)")
    assert_close_to(x.var(ddof=1), 1.0, math.sqrt(2 / (n - 1)), "variance of N(0, 1)")  # Var(s^2) = 2/(n-1)
    assert_close_to((x < 1.0).mean(), 0.8413447460685429, math.sqrt(0.8413 * 0.1587 / n), "P(Z < 1)")


def test_normal_broadcasts_mean_and_std():
    n = 50_000
    mean = np.array([-2.0, 0.0, 3.0])
    std = np.array([0.5, 1.0, 2.0])
    x = nnzoo.normal(nnzoo.tensor(np.tile(mean, (n, 1))), nnzoo.tensor(std),
                     generator=nnzoo.Generator().manual_seed(3)).numpy()
    assert x.shape == (n, 3) and x.dtype == np.float64
    for j in range(3):
        assert_close_to(x[:, j].mean(), mean[j], std[j] / math.sqrt(n), f"normal mean, column {j}")
        assert_close_to(x[:, j].var(ddof=1), std[j] ** 2, std[j] ** 2 * math.sqrt(2 / (n - 1)),
                        f"normal variance, column {j}")
    y = nnzoo.normal(nnzoo.tensor([1.5, -1.0]), 0.0)
    np.testing.assert_array_equal(y.numpy(), np.array([1.5, -1.0], dtype=np.float32))


def test_randint_is_uniform_over_its_range():
    low, high, n = -3, 4, 70_000
    x = nnzoo.randint(low, high, (n,), generator=nnzoo.Generator().manual_seed(4)).numpy()
    assert x.dtype == np.int64 and x.min() >= low and x.max() < high
    k = high - low
    check_frequencies(x - low, [1 / k] * k, "randint")
    big = nnzoo.randint(2 ** 40, (1000,)).numpy()
    assert big.min() >= 0 and big.max() < 2 ** 40 and big.max() > 2 ** 39  # P(all below half) = 2**-1000
    like = nnzoo.random.randint_like(nnzoo.zeros(n), 2, 5, generator=nnzoo.Generator().manual_seed(5)).numpy()
    assert like.dtype == np.float32
    check_frequencies(like.astype(np.int64) - 2, [1 / 3] * 3, "randint_like")


def test_randperm_is_a_uniform_permutation():
    for n in (0, 1, 2, 1000):
        np.testing.assert_array_equal(np.sort(nnzoo.randperm(n).numpy()), np.arange(n))
    # all 24 orders of 4 items are equally likely
    g = nnzoo.Generator().manual_seed(6)
    perms = list(itertools.permutations(range(4)))
    index = {p: i for i, p in enumerate(perms)}
    draws = [index[tuple(nnzoo.randperm(4, generator=g).tolist())] for _ in range(20_000)]
    check_frequencies(draws, [1 / 24] * 24, "randperm(4)")


def test_bernoulli_mean_and_values():
    n = 100_000
    g = nnzoo.Generator().manual_seed(7)
    for p in (0.3, 0.9):
        x = nnzoo.bernoulli(nnzoo.full((n,), p), generator=g).numpy()
        assert set(np.unique(x)) <= {0.0, 1.0} and x.dtype == np.float32
        assert_close_to(x.mean(), p, math.sqrt(p * (1 - p) / n), f"bernoulli({p}) mean")
        y = nnzoo.bernoulli(nnzoo.zeros(n, dtype=nnzoo.float64), p, generator=g).numpy()
        assert y.dtype == np.float64
        assert_close_to(y.mean(), p, math.sqrt(p * (1 - p) / n), f"bernoulli(p={p}) mean")
    assert not nnzoo.bernoulli(nnzoo.zeros(1000)).numpy().any()
    assert nnzoo.bernoulli(nnzoo.ones(1000)).numpy().all()
    probs = np.array([0.1, 0.5, 0.95])
    x = nnzoo.bernoulli(nnzoo.tensor(np.tile(probs, (n, 1))), generator=g).numpy()
    for j, p in enumerate(probs):
        assert_close_to(x[:, j].mean(), p, math.sqrt(p * (1 - p) / n), f"bernoulli column {j}")


@pytest.mark.parametrize("weights", [
    [0.1, 0.2, 0.3, 0.4],
    [3.0, 0.0, 1.0, 6.0, 0.0],  # unnormalised weights, zeros inside and at the end
    [0.0, 1e-3, 1.0],  # a rare category
])
def test_multinomial_with_replacement_frequencies(weights):
    n = 20_000
    w = np.asarray(weights)
    x = nnzoo.multinomial(nnzoo.tensor(w), n, replacement=True, generator=nnzoo.Generator().manual_seed(8))
    assert x.dtype == nnzoo.int64 and x.shape == (n,)
    check_frequencies(x.numpy(), w / w.sum(), f"multinomial({weights})")


def test_multinomial_rows_are_independent_distributions():
    n = 20_000
    w = np.array([[1.0, 0.0, 0.0, 1.0], [0.0, 0.0, 0.0, 2.0], [1.0, 2.0, 3.0, 4.0]])
    x = nnzoo.multinomial(nnzoo.tensor(w), n, True, generator=nnzoo.Generator().manual_seed(9)).numpy()
    assert x.shape == (3, n)
    for r in range(3):
        check_frequencies(x[r], w[r] / w[r].sum(), f"multinomial row {r}")


def test_multinomial_without_replacement():
    n, w = 20_000, np.array([0.1, 0.2, 0.3, 0.4, 0.0])
    p = w / w.sum()
    x = nnzoo.multinomial(nnzoo.tensor(np.tile(w, (n, 1))), 3, generator=nnzoo.Generator().manual_seed(10))
    x = x.numpy()
    assert x.shape == (n, 3) and x.dtype == np.int64
    assert all(len(set(row)) == 3 for row in x.tolist()), "a category was drawn twice in one row"
    # the first draw follows p; the second follows P(j second) = sum_{i != j} p_i p_j / (1 - p_i)
    check_frequencies(x[:, 0], p, "first draw without replacement")
    second = np.array([sum(p[i] * p[j] / (1 - p[i]) for i in range(len(p)) if i != j) for j in range(len(p))])
    check_frequencies(x[:, 1], second, "second draw without replacement")
    # drawing every category gives a permutation
    full = nnzoo.multinomial(nnzoo.tensor([[1.0, 2.0, 3.0]] * 50), 3).numpy()
    np.testing.assert_array_equal(np.sort(full, axis=1), np.tile(np.arange(3), (50, 1)))


def test_multinomial_beyond_positive_weights_behaves_like_torch():
    # PyTorch does not refuse more draws than positive weights: the positive ones come first
    for lib in (nnzoo, torch):
        x = lib.multinomial(lib.tensor([1.0, 0.0, 0.0]), 2).tolist()
        assert x[0] == 0 and x[1] in (1, 2)


# ---- errors ----------------------------------------------------------------------------------------
ERRORS = [
    (lambda m: m.rand(2, dtype=m.int64), RuntimeError, "rand: expected a floating point dtype, got nnzoo.int64"),
    (lambda m: m.randn(2, dtype=m.int64), RuntimeError, "randn: expected a floating point dtype"),
    (lambda m: m.rand_like(m.zeros(2, dtype=m.int64)), RuntimeError, "rand: expected a floating point dtype"),
    (lambda m: m.rand(-1), RuntimeError, r"rand: sizes must be non-negative, got \(-1,\)"),
    (lambda m: m.randint(5, 5, (2,)), RuntimeError, "randint: expected low < high, got low=5, high=5"),
    (lambda m: m.randint(10), TypeError, r"randint\(\): expected randint\(high, size\)"),
    (lambda m: m.randint(2, dtype=m.int64, requires_grad=True, size=(2,)), RuntimeError, "floating point"),
    (lambda m: m.randperm(-1), RuntimeError, "randperm: n must be non-negative, got -1"),
    (lambda m: m.normal(0.0, 1.0), TypeError, r"normal\(\): with a number for both mean and std, give a size"),
    (lambda m: m.normal(0.0, -1.0, (2,)), RuntimeError, "normal: expects std >= 0.0, got -1.0"),
    (lambda m: m.normal(m.zeros(2), -m.ones(2)), RuntimeError, "normal: expects std >= 0.0"),
    (lambda m: m.bernoulli(m.full((3,), 1.5)), RuntimeError, r"bernoulli: all probabilities must be in \[0, 1\]"),
    (lambda m: m.multinomial(m.ones(3), 0), RuntimeError, "multinomial: cannot sample num_samples=0 <= 0"),
    (lambda m: m.multinomial(m.zeros(3), 1, True), RuntimeError, "multinomial: invalid distribution"),
    (lambda m: m.multinomial(m.tensor([-1.0, 1.0]), 1), RuntimeError, "multinomial: probability tensor contains"),
    (lambda m: m.multinomial(m.tensor([float("nan"), 1.0]), 1), RuntimeError, "probability tensor contains"),
    (lambda m: m.multinomial(m.ones(2, 2, 2), 1), RuntimeError, r"multinomial: input must be 1 or 2 dim, got shape"),
    (lambda m: m.multinomial(m.ones(3), 4), RuntimeError, "multinomial: cannot sample 4 > 3 categories without"),
]


@pytest.mark.parametrize("fn,exc,match", ERRORS, ids=[m for _, _, m in ERRORS])
def test_errors(fn, exc, match):
    with pytest.raises(exc, match=match):
        fn(nnzoo)
    with pytest.raises(Exception):  # noqa: B017  PyTorch refuses the same call (its error type is its own)
        fn(torch)


def test_multinomial_single_row_fast_path_follows_the_weights():
    # one row, one draw (a language model's sampling step): frequencies within 4 standard errors of the
    # weights, a zero weight never drawn, and a seeded generator repeats its draws
    w = np.array([0.1, 0.0, 0.6, 0.3, 0.0])
    g = nnzoo.Generator().manual_seed(5)
    n = 20000
    draws = np.array([nnzoo.multinomial(nnzoo.tensor(w), 1, generator=g).item() for _ in range(n)])
    freq = np.bincount(draws, minlength=5) / n
    assert freq[1] == 0 and freq[4] == 0
    assert np.all(np.abs(freq - w) <= 4 * np.sqrt(w * (1 - w) / n) + 1e-12)
    a = nnzoo.multinomial(nnzoo.tensor([w]), 1, generator=nnzoo.Generator().manual_seed(1))
    b = nnzoo.multinomial(nnzoo.tensor([w]), 1, generator=nnzoo.Generator().manual_seed(1))
    assert a.shape == (1, 1) and a.dtype == nnzoo.int64 and a.item() == b.item()

"""CapsNet's pieces against PyTorch: squash, the routing by agreement (forward and backward, written in torch here
the way the paper's Procedure 1 reads, with broadcast sums), the margin loss, the per-pair predictions W_ij u_i,
the whole network against a torch twin with the same weights, and a few steps of learning on synthetic images.
The capsnet recipe: tests/recipes/test_capsnet.py."""
import numpy as np
import pytest
import torch

import nnzoo
from nnzoo.zoo.capsnet import CapsNet, dynamic_routing, margin_loss, perturb_dimensions, squash


@pytest.fixture(autouse=True)
def _seeded():
    torch.manual_seed(0)
    nnzoo.manual_seed(0)


def torch_squash(s, eps=1e-8):
    sq = (s * s).sum(-1, keepdim=True)
    return sq / (1 + sq) * s / torch.sqrt(sq + eps)


def torch_routing(u_hat, iterations):
    """Procedure 1 of Sabour et al. 2017 in torch, u_hat (B, N_in, N_out, D)."""
    b = torch.zeros(u_hat.shape[:3], dtype=u_hat.dtype)
    for r in range(iterations):
        c = torch.softmax(b, dim=2)
        v = torch_squash((c.unsqueeze(-1) * u_hat).sum(dim=1))
        if r < iterations - 1:
            b = b + (u_hat * v.unsqueeze(1)).sum(dim=-1)
    return v, c


def torch_margin(lengths, target, m_plus=0.9, m_minus=0.1, lam=0.5):
    t = torch.nn.functional.one_hot(target, lengths.shape[1]).to(lengths.dtype)
    return (t * torch.relu(m_plus - lengths) ** 2 + lam * (1 - t) * torch.relu(lengths - m_minus) ** 2).sum(1).mean()


def test_squash_matches_torch_and_keeps_lengths_below_one_and_the_direction():
    s = np.random.default_rng(0).normal(0, 2, (5, 7, 8))
    s[0, 0] = 0.0                                  # the zero vector: finite gradient thanks to eps
    sn = nnzoo.tensor(s, requires_grad=True)
    st = torch.tensor(s, requires_grad=True)
    v, vt = squash(sn), torch_squash(st)
    np.testing.assert_allclose(v.detach().numpy(), vt.detach().numpy(), rtol=1e-12, atol=1e-15)
    g = np.random.default_rng(1).normal(size=s.shape)
    v.backward(nnzoo.tensor(g))
    vt.backward(torch.tensor(g))
    np.testing.assert_allclose(sn.grad.numpy(), st.grad.numpy(), rtol=1e-9, atol=1e-12)
    norms, s_norms = np.linalg.norm(v.detach().numpy(), axis=-1), np.linalg.norm(s, axis=-1)
    assert np.all(norms < 1)
    np.testing.assert_allclose(norms, s_norms ** 2 / (1 + s_norms ** 2), rtol=1e-6)


@pytest.mark.parametrize("iterations", [1, 3])
def test_dynamic_routing_forward_and_backward_match_torch(iterations):
    """The issue's routing parity: v and c, and the gradient with respect to u_hat of a random projection of both
    (float64)."""
    rng = np.random.default_rng(iterations)
    u = rng.normal(0, 0.5, (3, 12, 5, 4))
    un, ut = nnzoo.tensor(u, requires_grad=True), torch.tensor(u, requires_grad=True)
    (v, c), (vt, ct) = dynamic_routing(un, iterations), torch_routing(ut, iterations)
    np.testing.assert_allclose(v.detach().numpy(), vt.detach().numpy(), rtol=1e-10, atol=1e-13)
    np.testing.assert_allclose(c.detach().numpy(), ct.detach().numpy(), rtol=1e-10, atol=1e-13)
    gv, gc = rng.normal(size=v.shape), rng.normal(size=c.shape)
    ((v * nnzoo.tensor(gv)).sum() + (c * nnzoo.tensor(gc)).sum()).backward()
    ((vt * torch.tensor(gv)).sum() + (ct * torch.tensor(gc)).sum()).backward()
    np.testing.assert_allclose(un.grad.numpy(), ut.grad.numpy(), rtol=1e-9, atol=1e-12)


def test_dynamic_routing_gradient_matches_finite_differences():
    u = nnzoo.tensor(np.random.default_rng(0).normal(0, 0.5, (2, 6, 3, 4)), requires_grad=True)
    assert nnzoo.autograd.gradcheck(lambda x: dynamic_routing(x, 3)[0], (u,))


def test_routing_raises_agreeing_predictions_coupling():
    """The defining property: the input capsules whose predictions agree with the output they vote for end up
    coupled to it more strongly than at the start (c = 1 / N_out)."""
    rng = np.random.default_rng(0)
    u = rng.normal(0, 0.05, (1, 20, 2, 4))
    u[0, :10, 0] += np.array([1.0, 0.0, 0.0, 0.0])     # ten inputs agree on output 0
    _, c = dynamic_routing(nnzoo.tensor(u), 3)
    c = c.numpy()
    assert np.all(c[0, :10, 0] > 0.5)
    np.testing.assert_allclose(c.sum(axis=2), 1.0, rtol=1e-6)


def test_routing_rejects_bad_arguments():
    with pytest.raises(ValueError, match="iterations"):
        dynamic_routing(nnzoo.zeros(1, 2, 3, 4), 0)
    with pytest.raises(ValueError, match="u_hat"):
        dynamic_routing(nnzoo.zeros(2, 3, 4), 3)


def test_margin_loss_matches_torch():
    rng = np.random.default_rng(0)
    lengths, target = rng.uniform(0, 1, (6, 10)), rng.integers(0, 10, 6)
    ln = nnzoo.tensor(lengths, requires_grad=True)
    lt = torch.tensor(lengths, requires_grad=True)
    loss, loss_t = margin_loss(ln, nnzoo.tensor(target)), torch_margin(lt, torch.tensor(target))
    np.testing.assert_allclose(loss.item(), loss_t.item(), rtol=1e-12)
    loss.backward()
    loss_t.backward()
    np.testing.assert_allclose(ln.grad.numpy(), lt.grad.numpy(), rtol=1e-10, atol=1e-14)


def _small():
    return CapsNet(conv_channels=6, primary_types=3, primary_dim=4, out_dim=5, decoder_hidden=(16, 32)).double()


def test_predictions_are_one_matrix_per_pair():
    """u_hat_{j|i} = W_ij u_i, checked against a NumPy loop over the pairs."""
    net = _small()
    c, B = net.config, 2
    u = np.random.default_rng(0).normal(size=(B, net.num_primary, c.primary_dim))
    got = (nnzoo.tensor(u).transpose(0, 1).matmul(net.W)).transpose(0, 1).reshape(
        B, net.num_primary, c.num_classes, c.out_dim).detach().numpy()
    W = net.W.detach().numpy().reshape(net.num_primary, c.primary_dim, c.num_classes, c.out_dim)
    for i in (0, 7, net.num_primary - 1):
        for j in range(c.num_classes):
            np.testing.assert_allclose(got[:, i, j], u[:, i] @ W[i, :, j], rtol=1e-12)


class TorchCapsNet(torch.nn.Module):
    """The same network in torch (the primary capsules read channel t*D + d as dimension d of type t)."""

    def __init__(self, net):
        super().__init__()
        c = net.config
        self.c, self.n = c, net.num_primary
        self.conv1 = torch.nn.Conv2d(1, c.conv_channels, 9).double()
        self.primary = torch.nn.Conv2d(c.conv_channels, c.primary_types * c.primary_dim, 9, stride=2).double()
        h1, h2 = c.decoder_hidden
        self.decoder = torch.nn.Sequential(
            torch.nn.Linear(c.num_classes * c.out_dim, h1), torch.nn.ReLU(), torch.nn.Linear(h1, h2),
            torch.nn.ReLU(), torch.nn.Linear(h2, 784), torch.nn.Sigmoid()).double()
        W = net.W.detach().numpy().reshape(self.n, c.primary_dim, c.num_classes, c.out_dim)
        self.W = torch.nn.Parameter(torch.tensor(W).permute(0, 2, 3, 1).contiguous())   # (N_in, K, out, D)
        self.load_state_dict({k: torch.tensor(v.detach().numpy()) for k, v in net.state_dict().items()
                              if k != "W"}, strict=False)

    def forward(self, x, target):
        c, B = self.c, x.shape[0]
        p = self.primary(torch.relu(self.conv1(x))).reshape(B, c.primary_types, c.primary_dim, 6, 6)
        u = torch_squash(p.permute(0, 1, 3, 4, 2).reshape(B, self.n, c.primary_dim))
        u_hat = torch.einsum("ijod,bid->bijo", self.W, u)
        v, _ = torch_routing(u_hat, c.routing_iterations)
        lengths = v.norm(dim=-1)
        mask = torch.nn.functional.one_hot(target, c.num_classes).to(v.dtype).unsqueeze(-1)
        recon = self.decoder((v * mask).flatten(1))
        loss = torch_margin(lengths, target) + c.recon_weight * ((recon - x.flatten(1)) ** 2).sum(1).mean()
        return lengths, recon, loss


def test_capsnet_matches_a_torch_twin_forward_and_backward():
    net = _small()
    twin = TorchCapsNet(net)
    rng = np.random.default_rng(0)
    x, y = rng.uniform(0, 1, (3, 1, 28, 28)), np.array([1, 4, 9])
    lengths, _, recon = net(nnzoo.tensor(x), nnzoo.tensor(y))
    loss, _, _ = net.loss(nnzoo.tensor(x), nnzoo.tensor(y))
    lt, rt, loss_t = twin(torch.tensor(x), torch.tensor(y))
    np.testing.assert_allclose(lengths.detach().numpy(), lt.detach().numpy(), rtol=1e-9)
    np.testing.assert_allclose(recon.detach().numpy(), rt.detach().numpy(), rtol=1e-9)
    np.testing.assert_allclose(loss.item(), loss_t.item(), rtol=1e-10)
    loss.backward()
    loss_t.backward()
    np.testing.assert_allclose(net.primary.weight.grad.numpy(), twin.primary.weight.grad.numpy(), rtol=1e-7,
                               atol=1e-14)
    np.testing.assert_allclose(net.conv1.weight.grad.numpy(), twin.conv1.weight.grad.numpy(), rtol=1e-7, atol=1e-14)
    gW = twin.W.grad.permute(0, 3, 1, 2).reshape(net.W.shape).numpy()
    np.testing.assert_allclose(net.W.grad.numpy(), gW, rtol=1e-7, atol=1e-14)


def test_without_a_target_the_decoder_reads_the_longest_capsule():
    net = _small()
    x = nnzoo.tensor(np.random.default_rng(0).uniform(0, 1, (4, 1, 28, 28)))
    lengths, v, recon = net(x)
    np.testing.assert_allclose(recon.detach().numpy(), net.decode(v, lengths.argmax(dim=1)).detach().numpy())


def test_capsnet_learns_synthetic_classes():
    """Three classes of synthetic images (a bright bar in one of three places, plus noise): 30 Adam steps on 30
    images take the training accuracy from chance to >= 90%."""
    rng = np.random.default_rng(0)
    y = np.arange(30) % 3
    x = rng.uniform(0, 0.2, (30, 1, 28, 28)).astype(np.float32)
    for k in range(3):
        x[y == k, 0, 4 + 8 * k:10 + 8 * k, 4:24] = 1.0
    net = CapsNet(conv_channels=8, primary_types=4, num_classes=3, decoder_hidden=(16, 32))
    opt = nnzoo.optim.Adam(net.parameters(), lr=3e-3)
    xn, yn = nnzoo.tensor(x), nnzoo.tensor(y)
    for _ in range(30):
        loss, _, _ = net.loss(xn, yn)
        opt.zero_grad()
        loss.backward()
        opt.step()
    with nnzoo.no_grad():
        acc = (net(xn)[0].argmax(dim=1).numpy() == y).mean()
    assert acc >= 0.9


def test_perturb_dimensions_grid():
    net = _small()
    x = nnzoo.tensor(np.random.default_rng(0).uniform(0, 1, (1, 1, 28, 28)))
    grid = perturb_dimensions(net, x)
    assert tuple(grid.shape) == (net.config.out_dim, 11, 784)
    with nnzoo.no_grad():
        _, _, recon = net(x)
    for d in range(net.config.out_dim):   # the middle column (offset 0) is the plain reconstruction
        np.testing.assert_allclose(grid[d, 5].numpy(), recon[0].numpy(), rtol=1e-12)
    assert not np.allclose(grid[0, 0].numpy(), grid[0, 10].numpy())


def test_too_small_input_is_refused():
    with pytest.raises(ValueError, match="too small"):
        CapsNet(image_size=16)

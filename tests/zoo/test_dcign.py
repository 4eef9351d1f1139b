"""DC-IGN: the network against the same layers in PyTorch, the loss against torch, and the clamp's defining
property (clamped units decoded at the batch mean, their gradient replaced by z − z̄)."""
import numpy as np
import pytest

import nnzoo
from nnzoo.zoo.dcign import DCIGN, DCIGNConfig, clamp_latents, dcign_loss

torch = pytest.importorskip("torch")

SMALL = DCIGNConfig(size=16, channels=(4, 4, 8), hidden=16, factor_units=(2, 1, 1, 1, 1))


def _torch_dcign(c):
    nn = torch.nn
    flat = c.channels[2] * (c.size // 8) ** 2
    m = nn.Module()
    m.encoder = nn.Sequential(nn.Conv2d(1, c.channels[0], 4, 2, 1), nn.ReLU(),
                              nn.Conv2d(c.channels[0], c.channels[1], 4, 2, 1), nn.ReLU(),
                              nn.Conv2d(c.channels[1], c.channels[2], 4, 2, 1), nn.ReLU(),
                              nn.Flatten(), nn.Linear(flat, c.hidden), nn.ReLU())
    m.fc_mu, m.fc_logvar = nn.Linear(c.hidden, c.latent), nn.Linear(c.hidden, c.latent)
    m.decoder_fc = nn.Sequential(nn.Linear(c.latent, c.hidden), nn.ReLU(), nn.Linear(c.hidden, flat), nn.ReLU())
    m.decoder_conv = nn.Sequential(nn.ConvTranspose2d(c.channels[2], c.channels[1], 4, 2, 1), nn.ReLU(),
                                   nn.ConvTranspose2d(c.channels[1], c.channels[0], 4, 2, 1), nn.ReLU(),
                                   nn.ConvTranspose2d(c.channels[0], 1, 4, 2, 1))
    return m.double()


def test_network_and_loss_match_torch():
    nnzoo.manual_seed(0)
    ours = DCIGN(SMALL).double()
    ref = _torch_dcign(SMALL)
    ref.load_state_dict({k: torch.from_numpy(v.numpy().copy()) for k, v in ours.state_dict().items()})
    rng = np.random.default_rng(1)
    x, eps = rng.uniform(0, 1, (3, 1, 16, 16)), rng.normal(size=(3, SMALL.latent))
    logits, mu, logvar = ours(nnzoo.tensor(x), eps=nnzoo.tensor(eps))
    xt = torch.tensor(x)
    h = ref.encoder(xt)
    mu_t, logvar_t = ref.fc_mu(h), ref.fc_logvar(h)
    z = mu_t + torch.tensor(eps) * torch.exp(0.5 * logvar_t)
    logits_t = ref.decoder_conv(ref.decoder_fc(z).reshape(3, SMALL.channels[2], 2, 2))
    np.testing.assert_allclose(logits.detach().numpy(), logits_t.detach().numpy(), rtol=1e-9, atol=1e-11)
    loss = dcign_loss(logits, nnzoo.tensor(x), mu, logvar)
    loss_t = (torch.nn.functional.binary_cross_entropy_with_logits(logits_t, xt, reduction="sum")
              - 0.5 * torch.sum(1 + logvar_t - mu_t ** 2 - logvar_t.exp()))
    np.testing.assert_allclose(loss.item(), loss_t.item(), rtol=1e-11)
    loss.backward()
    loss_t.backward()
    grads = dict(ref.named_parameters())
    for name, p in ours.named_parameters():
        np.testing.assert_allclose(p.grad.numpy(), grads[name].grad.numpy(), rtol=1e-8, atol=1e-10, err_msg=name)


def test_factor_units_partition_the_latent_code():
    m = DCIGN(SMALL)
    units = [m.factor_units(f) for f in range(5)]
    assert units[0] == [0, 1] and [j for u in units for j in u] == list(range(SMALL.latent))
    with pytest.raises(ValueError):
        DCIGN(DCIGNConfig(size=20))


def test_clamp_decodes_the_batch_mean_and_pulls_clamped_units_toward_it():
    """Kulkarni et al. 3.1: clamped units enter the decoder as their batch mean; their gradient is replaced by
    z − z̄; the active units keep the downstream gradient."""
    rng = np.random.default_rng(2)
    z_np, w = rng.normal(size=(5, 6)), rng.normal(size=(5, 6))
    active_np = np.array([0, 0, 1, 0, 0, 0.0])
    z = nnzoo.tensor(z_np, requires_grad=True)
    used, penalty = clamp_latents(z, nnzoo.tensor(active_np))
    zbar = z_np.mean(axis=0, keepdims=True)
    np.testing.assert_allclose(used.detach().numpy(), active_np * z_np + (1 - active_np) * zbar, rtol=1e-12)
    (nnzoo.sum(used * nnzoo.tensor(w)) + penalty).backward()   # a downstream loss with gradient w in `used`
    expected = active_np * w + (1 - active_np) * (z_np - zbar)
    np.testing.assert_allclose(z.grad.numpy(), expected, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(penalty.item(), 0.5 * np.sum((1 - active_np) * (z_np - zbar) ** 2), rtol=1e-12)

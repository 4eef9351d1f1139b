"""nnzoo.hub: torch.hub's cache folder rules (compared with torch.hub under the same environment), the offline
errors, and a checkpoint already in the cache read with nnzoo.load."""
import os

import numpy as np
import pytest
import torch.hub

import nnzoo
from nnzoo import hub


@pytest.fixture
def fresh_dirs():
    hub.set_dir(None)
    torch.hub._hub_dir = None
    yield
    hub.set_dir(None)
    torch.hub._hub_dir = None


@pytest.mark.parametrize("env", [{}, {"TORCH_HOME": "/tmp/th"}, {"XDG_CACHE_HOME": "/tmp/xdg"},
                                 {"TORCH_HOME": "~/t", "XDG_CACHE_HOME": "/tmp/xdg"}])
def test_get_dir_as_torch(monkeypatch, fresh_dirs, env):
    for k in ("TORCH_HOME", "XDG_CACHE_HOME"):
        monkeypatch.delenv(k, raising=False)
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    assert hub.get_dir() == torch.hub.get_dir()
    hub.set_dir("~/elsewhere")
    torch.hub.set_dir("~/elsewhere")
    assert hub.get_dir() == torch.hub.get_dir() == os.path.expanduser("~/elsewhere")


@pytest.mark.parametrize("call", [lambda: hub.load("pytorch/vision", "resnet18", weights=None),
                                  lambda: hub.download_url_to_file("https://example.com/a.pt", "/tmp/a.pt"),
                                  lambda: hub.load_state_dict_from_url("https://example.com/none.pt",
                                                                       model_dir="/nonexistent"),
                                  lambda: hub.list("pytorch/vision")])
def test_offline_error_is_clear(call):
    with pytest.raises(RuntimeError, match=r"does not download from the network.*nnzoo\.load\(PATH\)"):
        call()


def test_load_state_dict_from_url_reads_the_cache(tmp_path):
    sd = nnzoo.nn.Linear(2, 3).state_dict()
    nnzoo.save(sd, tmp_path / "w.safetensors")
    got = hub.load_state_dict_from_url("https://example.com/x/w.safetensors", model_dir=str(tmp_path))
    assert list(got) == list(sd)
    for k in sd:
        np.testing.assert_array_equal(np.asarray(got[k]), sd[k].numpy())
    assert nnzoo.hub is hub  # reachable as torch.hub is

"""``torch.hub`` without a network: the cache folder as PyTorch keeps it (``get_dir``/``set_dir``), and the
download functions raising a clear offline error. Weights saved by PyTorch load with ``nnzoo.load`` from a
local ``.pt``/``.pth`` file (download it elsewhere, then point ``nnzoo.load`` at it).
"""
from __future__ import annotations

import os
from typing import Any

__all__ = ["get_dir", "set_dir", "load", "load_state_dict_from_url", "download_url_to_file", "list", "help"]

_hub_dir: str | None = None


class HubOfflineError(RuntimeError):
    """nnzoo.hub fetches nothing from the network."""


def _offline(what: str, target: str) -> HubOfflineError:
    return HubOfflineError(f"nnzoo.hub.{what}({target!r}): nnzoo does not download from the network (no hub access "
                           f"here). Fetch the file yourself and read it with nnzoo.load(PATH), which reads PyTorch's "
                           f".pt/.pth files; the hub cache folder is {get_dir()!r}")


def get_dir() -> str:
    """The hub cache folder: the one ``set_dir`` gave, else ``$TORCH_HOME/hub`` with ``$TORCH_HOME`` defaulting to
    ``$XDG_CACHE_HOME/torch`` and that to ``~/.cache`` (PyTorch's folder, so files it cached are found).

    Example::

        >>> set_dir("/tmp/hub")
        >>> get_dir()
        '/tmp/hub'
        >>> set_dir(None)
    """
    if _hub_dir is not None:
        return _hub_dir
    cache = os.getenv("XDG_CACHE_HOME", os.path.join("~", ".cache"))
    return os.path.join(os.path.expanduser(os.getenv("TORCH_HOME", os.path.join(cache, "torch"))), "hub")


def set_dir(d: str | os.PathLike | None) -> None:
    """Sets the hub cache folder (``None`` returns to the default)."""
    global _hub_dir
    _hub_dir = os.path.expanduser(d) if d is not None else None


def load(repo_or_dir: str, model: str, *args: Any, source: str = "github", trust_repo: Any = "check",
         force_reload: bool = False, verbose: bool = True, skip_validation: bool = False, **kwargs: Any) -> Any:
    """``torch.hub.load``: raises :class:`HubOfflineError` (nnzoo runs no hubconf.py and downloads nothing)."""
    raise _offline("load", f"{repo_or_dir}:{model}")


def list(github: str, force_reload: bool = False, skip_validation: bool = False,
         trust_repo: Any = None, verbose: bool = True) -> Any:
    """``torch.hub.list``: raises :class:`HubOfflineError`."""
    raise _offline("list", github)


def help(github: str, model: str, force_reload: bool = False, skip_validation: bool = False,
         trust_repo: Any = None) -> Any:
    """``torch.hub.help``: raises :class:`HubOfflineError`."""
    raise _offline("help", f"{github}:{model}")


def load_state_dict_from_url(url: str, model_dir: str | None = None, map_location: Any = None, progress: bool = True,
                             check_hash: bool = False, file_name: str | None = None,
                             weights_only: bool = False) -> dict[str, Any]:
    """``torch.hub.load_state_dict_from_url``: a file already in the cache (``model_dir``, default
    ``get_dir()/checkpoints``, named as PyTorch names it) is read with ``nnzoo.load``; otherwise raises
    :class:`HubOfflineError`.

    Example::

        >>> load_state_dict_from_url("https://example.com/w.pt", model_dir="/nonexistent")
        Traceback (most recent call last):
            ...
        nnzoo.hub.HubOfflineError: nnzoo.hub.load_state_dict_from_url('https://example.com/w.pt'): ...
    """
    from urllib.parse import urlparse
    folder = model_dir if model_dir is not None else os.path.join(get_dir(), "checkpoints")
    cached = os.path.join(folder, file_name or os.path.basename(urlparse(url).path))
    if os.path.isfile(cached):
        from .io import load as _load
        return _load(cached)
    raise _offline("load_state_dict_from_url", url)


def download_url_to_file(url: str, dst: str, hash_prefix: str | None = None, progress: bool = True) -> None:
    """``torch.hub.download_url_to_file``: raises :class:`HubOfflineError`."""
    raise _offline("download_url_to_file", url)

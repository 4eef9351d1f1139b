"""``SummaryWriter``: PyTorch's TensorBoard writer over tensorboardX's, which writes the event files."""
from __future__ import annotations

import time
import warnings
from typing import Any

import numpy as np

from ...tensor import Tensor

__all__ = ["SummaryWriter"]


def _host(value: Any) -> Any:
    """A Tensor as a NumPy array (a one-element one as a Python number); lists and dicts of them likewise."""
    if isinstance(value, Tensor):
        arr = value.detach().numpy()
        return arr.item() if arr.ndim == 0 else arr
    if isinstance(value, dict):
        return {k: _host(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)) and any(isinstance(v, Tensor) for v in value):
        return type(value)(_host(v) for v in value)
    return value


def _scalar(value: Any) -> float:
    """A number, or a one-element tensor or array, as a Python float."""
    return float(value.item() if isinstance(value, (Tensor, np.ndarray)) else value)


class SummaryWriter:
    """Writes TensorBoard event files into ``log_dir``: scalars, histograms, images, text, hyper-parameters.

    ``torch.utils.tensorboard.SummaryWriter``'s signature; the events are written by tensorboardX (``pip install
    tensorboardX``, part of ``nnzoo[all]``) and read by TensorBoard as PyTorch's are. Values may be nnzoo
    tensors, NumPy arrays or Python numbers. ``add_graph`` warns and writes nothing (nnzoo records no trace).

    Args:
        log_dir: the folder of the event files. Default: ``runs/CURRENT_DATETIME_HOSTNAME``.
        comment: appended to the default ``log_dir``.
        purge_step: events with a larger step written by a crashed run are discarded from this step on.
        max_queue: events queued before a write to disk. Default: 10.
        flush_secs: seconds between flushes to disk. Default: 120.
        filename_suffix: appended to the event file's name.

    Example::

        >>> import tempfile
        >>> with SummaryWriter(tempfile.mkdtemp()) as w:
        ...     for step in range(3):
        ...         w.add_scalar("loss", nnzoo.tensor(1.0 / (step + 1)), step)
    """

    def __init__(self, log_dir: str | None = None, comment: str = "", purge_step: int | None = None,
                 max_queue: int = 10, flush_secs: int = 120, filename_suffix: str = "") -> None:
        try:
            from tensorboardX import SummaryWriter as _Writer
        except ImportError as e:  # an optional dependency
            raise ImportError("nnzoo.utils.tensorboard needs tensorboardX: pip install tensorboardX "
                              "(or nnzoo[all])") from e
        self._writer = _Writer(logdir=log_dir, comment=comment, purge_step=purge_step, max_queue=max_queue,
                               flush_secs=flush_secs, filename_suffix=filename_suffix)
        self.log_dir = self._writer.logdir
        self._queue = (max_queue, flush_secs, filename_suffix)
        self._scalars_writers: dict[str, Any] = {}  # add_scalars' run folders

    def get_logdir(self) -> str:
        """The folder the event files are written to."""
        return self.log_dir

    def add_scalar(self, tag: str, scalar_value: float | Tensor, global_step: int | None = None,
                   walltime: float | None = None, new_style: bool = False, double_precision: bool = False) -> None:
        """One scalar (a number or a one-element tensor) under ``tag`` at ``global_step``."""
        self._writer.add_scalar(tag, _scalar(scalar_value), global_step, walltime)

    def add_scalars(self, main_tag: str, tag_scalar_dict: dict[str, float | Tensor], global_step: int | None = None,
                    walltime: float | None = None) -> None:
        """Several scalars drawn in one chart: each in its own run folder ``log_dir/main_tag_tag`` (PyTorch's
        naming; tensorboardX's own writer names them ``main_tag/tag``)."""
        from tensorboardX.summary import scalar
        from tensorboardX.writer import FileWriter
        walltime = time.time() if walltime is None else walltime
        for tag, value in tag_scalar_dict.items():
            folder = self.log_dir + "/" + main_tag.replace("/", "_") + "_" + tag
            if folder not in self._scalars_writers:
                self._scalars_writers[folder] = FileWriter(folder, *self._queue)
            self._scalars_writers[folder].add_summary(scalar(main_tag, _scalar(value)), global_step, walltime)

    def add_histogram(self, tag: str, values: Tensor | np.ndarray, global_step: int | None = None,
                      bins: str = "tensorflow", walltime: float | None = None, max_bins: int | None = None) -> None:
        """A histogram of ``values`` (any shape)."""
        self._writer.add_histogram(tag, np.asarray(_host(values)), global_step, bins, walltime, max_bins)

    def add_image(self, tag: str, img_tensor: Tensor | np.ndarray, global_step: int | None = None,
                  walltime: float | None = None, dataformats: str = "CHW") -> None:
        """An image: (C, H, W) by default (``dataformats`` says otherwise); floats in [0, 1] or uint8."""
        self._writer.add_image(tag, np.asarray(_host(img_tensor)), global_step, walltime, dataformats)

    def add_images(self, tag: str, img_tensor: Tensor | np.ndarray, global_step: int | None = None,
                   walltime: float | None = None, dataformats: str = "NCHW") -> None:
        """A batch of images, (N, C, H, W) by default."""
        self._writer.add_images(tag, np.asarray(_host(img_tensor)), global_step, walltime, dataformats)

    def add_text(self, tag: str, text_string: str, global_step: int | None = None,
                 walltime: float | None = None) -> None:
        """A text (Markdown) under ``tag``."""
        self._writer.add_text(tag, text_string, global_step, walltime)

    def add_hparams(self, hparam_dict: dict[str, Any], metric_dict: dict[str, Any],
                    hparam_domain_discrete: dict[str, list] | None = None, run_name: str | None = None,
                    global_step: int | None = None) -> None:
        """Hyper-parameters and the metrics they gave, for TensorBoard's HPARAMS tab."""
        self._writer.add_hparams(_host(hparam_dict), _host(metric_dict), hparam_domain_discrete, run_name,
                                 global_step)

    def add_graph(self, model: Any, input_to_model: Any = None, verbose: bool = False,
                  use_strict_trace: bool = True) -> None:
        """Not supported: warns and writes nothing (PyTorch traces the model with TorchScript; nnzoo does not)."""
        warnings.warn("SummaryWriter.add_graph: nnzoo cannot trace a model into a TensorBoard graph; nothing was "
                      "written (the scalars, histograms and images are)", UserWarning, stacklevel=2)

    def flush(self) -> None:
        """Writes the pending events to disk."""
        self._writer.flush()
        for w in self._scalars_writers.values():
            w.flush()

    def close(self) -> None:
        """Flushes and closes the event files."""
        self._writer.close()
        for w in self._scalars_writers.values():
            w.close()
        self._scalars_writers.clear()

    def __enter__(self) -> SummaryWriter:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

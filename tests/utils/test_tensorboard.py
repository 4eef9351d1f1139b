"""SummaryWriter writes real TensorBoard event files from nnzoo tensors: read back record by record (the
TFRecord framing and tensorboardX's Event protobuf) and checked against the values written."""
import glob
import os
import struct

import numpy as np
import pytest
from tensorboardX.proto import event_pb2

import nnzoo
from nnzoo.utils.tensorboard import SummaryWriter


def _events(folder):
    """Every Event in the event files under ``folder`` (TFRecord: length, crc, payload, crc)."""
    out = []
    for path in sorted(glob.glob(os.path.join(folder, "**", "events.out.tfevents.*"), recursive=True)):
        data = open(path, "rb").read()
        pos = 0
        while pos < len(data):
            (n,) = struct.unpack("<Q", data[pos:pos + 8])
            out.append((path, event_pb2.Event.FromString(data[pos + 12:pos + 12 + n])))
            pos += 12 + n + 4
    return out


def _values(folder):
    return [(os.path.relpath(os.path.dirname(p), folder), e.step, v) for p, e in _events(folder)
            for v in e.summary.value]


def test_scalars_from_tensors_and_numbers(tmp_path):
    with SummaryWriter(str(tmp_path)) as w:
        assert w.get_logdir() == w.log_dir == str(tmp_path)
        for step in range(3):
            w.add_scalar("loss", nnzoo.tensor(1.0 / (step + 1)), step)
        w.add_scalar("lr", 0.5, 7)
        w.add_scalars("run", {"train": nnzoo.tensor([2.0]), "val": 3.0}, 1)  # run folders named as torch's
    vals = _values(str(tmp_path))
    scalars = {(d, v.tag, s): v.simple_value for d, s, v in vals if v.HasField("simple_value")}
    for step in range(3):
        assert scalars[(".", "loss", step)] == pytest.approx(1.0 / (step + 1))
    assert scalars[(".", "lr", 7)] == 0.5
    assert scalars[("run_train", "run", 1)] == 2.0 and scalars[("run_val", "run", 1)] == 3.0


def test_histogram_and_image(tmp_path):
    x = nnzoo.randn(1000)
    img = nnzoo.rand(3, 8, 5)
    with SummaryWriter(str(tmp_path)) as w:
        w.add_histogram("w", x, 0)
        w.add_image("img", img, 0)
        w.add_images("batch", nnzoo.rand(2, 3, 4, 4), 0)
        w.add_text("note", "hello", 0)
        w.flush()
    vals = {v.tag: v for _, _, v in _values(str(tmp_path))}
    h = vals["w"].histo
    xs = x.numpy()
    assert h.num == 1000 and h.min == pytest.approx(xs.min()) and h.max == pytest.approx(xs.max())
    assert h.sum == pytest.approx(float(xs.sum()), rel=1e-4, abs=1e-3)
    assert (vals["img"].image.height, vals["img"].image.width, vals["img"].image.colorspace) == (8, 5, 3)
    assert vals["img"].image.encoded_image_string[:8] == b"\x89PNG\r\n\x1a\n"
    assert "batch" in vals and "note/text_summary" in vals


def test_add_graph_warns_and_writes_nothing(tmp_path):
    w = SummaryWriter(str(tmp_path))
    with pytest.warns(UserWarning, match="add_graph"):
        w.add_graph(nnzoo.nn.Linear(2, 2), nnzoo.ones(1, 2))
    w.close()
    assert not any(e.HasField("graph_def") for _, e in _events(str(tmp_path)))


def test_default_log_dir_is_runs_with_comment(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    w = SummaryWriter(comment="_exp")
    w.close()
    assert w.log_dir.startswith("runs" + os.sep) and w.log_dir.endswith("_exp") and os.path.isdir(w.log_dir)
    assert np.isscalar(len(_events(w.log_dir)))

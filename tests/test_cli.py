"""The nnzoo command: the tour runs and its network learns; the BLAS core-type re-exec is guarded."""
import nnzoo
from nnzoo import cli, tour
from nnzoo.viz import graph_text


def test_tour_runs_and_learns(capsys):
    first = tour.run(steps=0)
    result = tour.run(steps=2000)
    out = capsys.readouterr().out
    assert "df/dx = -4" in out and "gradcheck" in out
    assert result["gradcheck"] is True
    # the spiral network must beat its untrained self and chance clearly
    assert result["loss"] < first["loss"]
    assert result["accuracy"] >= 0.95


def test_cli_version_and_help(capsys, monkeypatch):
    monkeypatch.setenv("NNZOO_NO_CORETYPE", "1")
    assert cli.main(["--version"]) == 0
    assert nnzoo.__version__ in capsys.readouterr().out
    assert cli.main([]) == 0
    assert "tour" in capsys.readouterr().out


def test_fast_blas_reexec_only_when_unset(monkeypatch):
    calls = []
    monkeypatch.setattr(cli.os, "execve", lambda *a: calls.append(a))
    monkeypatch.setattr(cli, "_has_avx512", lambda: True)
    monkeypatch.delenv("NNZOO_NO_CORETYPE", raising=False)
    monkeypatch.setenv("OPENBLAS_CORETYPE", "Haswell")
    cli.ensure_fast_blas(["tour"])
    assert calls == []
    monkeypatch.delenv("OPENBLAS_CORETYPE")
    cli.ensure_fast_blas(["tour"])
    assert calls and calls[0][2]["OPENBLAS_CORETYPE"] == "SkylakeX" and calls[0][1][-1] == "tour"
    monkeypatch.setattr(cli, "_has_avx512", lambda: False)
    calls.clear()
    cli.ensure_fast_blas(["tour"])
    assert calls == []


def test_graph_text_draws_shared_leaves_and_names():
    x = nnzoo.tensor(2.0, requires_grad=True)
    y = nnzoo.tensor(3.0, requires_grad=True)
    text = graph_text((x + y) * x, {x: "x", y: "y"})
    lines = text.splitlines()
    assert lines[0] == "MulBackward0"
    assert sum("x (leaf" in line for line in lines) == 2 and any("y (leaf" in line for line in lines)
    assert graph_text(x, {x: "x"}) == "x (leaf, shape ())"

"""``nnzoo serve``'s command line: bad arguments exit 2 with one line, as the other commands; the server binds
127.0.0.1 unless --host is given."""
import pytest

from nnzoo.cli import main


@pytest.mark.parametrize("argv, words", [
    (["serve", "--port", "70000"], "argument --port: must be an integer in [1, 65535]"),
    (["serve", "--port", "0"], "argument --port"),
    (["serve", "--port", "abc"], "invalid int value"),
    (["serve", "--host", " "], "argument --host: empty"),
    (["serve", "--bogus"], "unrecognized arguments"),
])
def test_bad_arguments_exit_2_with_one_line(argv, words, capsys):
    try:
        code = main(argv)
    except SystemExit as e:     # argparse's own errors exit from the parser
        code = e.code
    assert code == 2
    err = capsys.readouterr().err
    assert words in err and err.count("\n") == 1 and err.startswith("nnzoo serve")


def test_a_port_in_use_exits_2(runs_dir, capsys):
    import socket
    import threading
    codes = []
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        # a thread of its own: uvicorn starts an event loop, and Playwright's may be running in this one
        argv = ["serve", "--runs", str(runs_dir), "--port", str(busy.getsockname()[1])]
        t = threading.Thread(target=lambda: codes.append(main(argv)))
        t.start()
        t.join(timeout=60)
    assert codes == [2]
    err = capsys.readouterr().err
    assert "cannot serve at 127.0.0.1" in err and "Traceback" not in err


def test_runs_that_is_a_file(tmp_path, capsys):
    f = tmp_path / "runs"
    f.write_text("")
    assert main(["serve", "--runs", str(f)]) == 2
    assert "argument --runs" in capsys.readouterr().err


def _fake_uvicorn(monkeypatch):
    import uvicorn
    calls = []
    monkeypatch.setattr(uvicorn, "run", lambda app, host, port, log_level: calls.append((app, host, port)))
    return calls


def test_serve_binds_loopback_by_default(runs_dir, monkeypatch, capsys):
    calls = _fake_uvicorn(monkeypatch)
    assert main(["serve", "--runs", str(runs_dir), "--port", "8123"]) == 0
    (app, host, port), = calls
    assert (host, port) == ("127.0.0.1", 8123) and app.state.runs.root == runs_dir
    assert "http://127.0.0.1:8123/" in capsys.readouterr().err


def test_non_loopback_host_only_when_given_and_with_a_warning(runs_dir, monkeypatch, capsys):
    calls = _fake_uvicorn(monkeypatch)
    assert main(["serve", "--runs", str(runs_dir), "--host", "0.0.0.0", "--port", "8124"]) == 0
    assert calls[0][1:] == ("0.0.0.0", 8124)
    assert "reachable from other machines" in capsys.readouterr().err

"""nnzoo serve's JSON API through Starlette's TestClient: the answers against the model run directly, and a 4xx
with a message (never a traceback, never a file outside the runs folder) for every bad input."""
import json
import os

import numpy as np
import pytest

from nnzoo.serve import is_loopback, serve
from nnzoo.serve.app import MAX_BODY
from nnzoo.serve.models import Runs, ensure_cnn_run

DIGIT = [[0, 0, 5, 13, 9, 1, 0, 0], [0, 0, 13, 15, 10, 15, 5, 0], [0, 3, 15, 2, 0, 11, 8, 0],
         [0, 4, 12, 0, 0, 8, 8, 0], [0, 5, 8, 0, 0, 9, 8, 0], [0, 4, 11, 0, 1, 12, 7, 0],
         [0, 2, 14, 5, 10, 12, 0, 0], [0, 0, 6, 13, 10, 0, 0, 0]]     # the first of the bundled digits (a 0)


def _error(response, status):
    assert response.status_code == status, response.text
    body = response.json()
    assert isinstance(body.get("error"), str) and body["error"]
    assert "Traceback" not in response.text and 'File "' not in response.text
    return body["error"]


def test_cnn_answers_as_the_model_computes(client, runs_dir):
    import nnzoo
    from nnzoo.recipes import load_run
    from nnzoo.viz import activation_maps
    r = client.post("/api/cnn", json={"pixels": DIGIT})
    assert r.status_code == 200, r.text
    answer = r.json()
    _, _, model = load_run(runs_dir / "cnn")
    x = nnzoo.tensor(np.asarray(DIGIT, dtype=np.float32)[None, None] / 16)      # digits(): counts / 16
    with nnzoo.no_grad():
        probs = nnzoo.softmax(model(x), dim=1)[0].numpy()
    np.testing.assert_allclose(answer["probs"], probs, atol=1e-5)
    order = np.argsort(-probs)
    assert [t["label"] for t in answer["top"]] == [str(order[0]), str(order[1])]
    assert answer["top"][0]["prob"] == pytest.approx(probs[order[0]], abs=1e-5)
    # every conv, BN, ReLU, pool and linear layer, in the order they ran, with the maps activation_maps records
    names = [layer["name"] for layer in answer["layers"]]
    assert names[:4] == ["features.0: Conv2d", "features.1: BatchNorm2d", "features.2: ReLU", "features.3: MaxPool2d"]
    assert names[-1] == "classifier.4: Linear" and not any("Dropout" in n for n in names)
    maps = activation_maps(model, x[0])
    for layer in answer["layers"]:
        key = layer["name"].split(":")[0]
        if key in maps:
            np.testing.assert_allclose(layer["maps"], maps[key], atol=1e-4)
            assert layer["shape"] == list(maps[key].shape)
    assert answer["layers"][-1]["shape"] == [10] and np.asarray(answer["layers"][-1]["maps"]).shape == (1, 1, 10)
    assert answer["run"] == "cnn"


def test_fashion_runs_read_28x28_grey_levels(client, runs_dir):
    import nnzoo
    from nnzoo.recipes import load_run
    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 256, size=(28, 28))
    answer = client.post("/api/cnn", json={"pixels": pixels.tolist(), "run": "fashion"}).json()
    _, _, model = load_run(runs_dir / "fashion")
    x = nnzoo.tensor(pixels.astype(np.float32)[None, None] / 127.5 - 1)     # the recipe's x / 127.5 - 1
    with nnzoo.no_grad():
        probs = nnzoo.softmax(model(x), dim=1)[0].numpy()
    np.testing.assert_allclose(answer["probs"], probs, atol=1e-5)
    assert answer["layers"][0]["name"] == "conv1: Conv2d" and answer["layers"][0]["shape"] == [4, 28, 28]
    assert answer["recipe"] == "mc-dropout"
    _error(client.post("/api/cnn", json={"pixels": DIGIT, "run": "fashion"}), 422)        # 8x8 to a 28x28 run
    _error(client.post("/api/cnn", json={"pixels": [[256] * 28] * 28, "run": "fashion"}), 422)


def test_runs_and_circuits_and_gallery(client):
    info = client.get("/api/runs").json()
    assert [(r["run"], r["size"]) for r in info["cnn"]] == [("cnn", 8), ("fashion", 28)]
    assert info["cnn"][1]["labels"][9] == "Ankle boot"
    assert info["translate"] == [] and info["sample"] == []
    trace = client.post("/api/backprop", json={"circuit": "add-mul"}).json()
    grads = {n["name"]: n["grad"] for n in trace["nodes"] if n["kind"] == "leaf"}
    assert grads == {"x": -4.0, "y": -4.0, "z": 3.0}
    assert all("layer" in n and "pos" in n for n in trace["nodes"])
    typed = client.post("/api/backprop", json={"expression": "x * y", "values": {"x": 3, "y": -2}}).json()
    assert {n["name"]: n["grad"] for n in typed["nodes"] if n["kind"] == "leaf"} == {"x": -2.0, "y": 3.0}
    rows = client.get("/api/gallery").json()["rows"]
    from nnzoo.recipes.gallery import CELLS
    assert [row["abbr"] for row in rows] == [c.abbr for c in CELLS]
    dcn = next(row for row in rows if row["abbr"] == "DCN")
    assert dcn["run"] == "cnn" and dcn["picture"] == "cnn/history.png"
    picture = client.get("/api/runs-file/" + dcn["picture"])
    assert picture.status_code == 200 and picture.content[:4] == b"\x89PNG"


def test_pages_and_static_files(client):
    for path in ("/", "/cnn", "/backprop", "/play", "/gallery", "/static/cnn.js", "/static/style.css"):
        r = client.get(path)
        assert r.status_code == 200, path
        assert r.headers["x-content-type-options"] == "nosniff"


@pytest.mark.parametrize("body, status", [
    ({"pixels": [[1, 2], [3, 4]]}, 422),                                 # wrong shape
    ({"pixels": [[0] * 8] * 7 + [[0] * 7]}, 422),                        # ragged
    ({"pixels": [[0] * 28] * 28}, 422),                                  # 28x28 to a digits run
    ({"pixels": [["a"] * 8] * 8}, 422),                                  # non-numbers
    ({"pixels": [[True] * 8] * 8}, 422),                                 # booleans are not pixels
    ({"pixels": [[None] * 8] * 8}, 422),
    ({"pixels": [[-1] * 8] * 8}, 422),                                   # out of range
    ({"pixels": [[17] * 8] * 8}, 422),
    ({"pixels": "8x8"}, 422),
    ({"pixels": [[[0]] * 8] * 8}, 422),
    ({}, 422),                                                           # no pixels
    ({"pixels": DIGIT, "run": "nope"}, 404),                             # unknown run
    ({"pixels": DIGIT, "run": "../.."}, 400),                            # outside the runs folder
    ({"pixels": DIGIT, "run": "/etc"}, 400),
    ({"pixels": DIGIT, "run": "cnn/../../x"}, 400),
    ({"pixels": DIGIT, "run": 3}, 400),
    ({"pixels": DIGIT, "run": "a\x00b"}, 400),
])
def test_cnn_refuses_bad_input(client, body, status):
    _error(client.post("/api/cnn", json=body), status)


@pytest.mark.parametrize("raw, status", [
    (b'{"pixels": [[NaN, 0, 0, 0, 0, 0, 0, 0]]}', 422),                 # NaN
    (b'{"pixels": [[Infinity]]}', 422),
    (b'{"pixels": [' + b"[1e400, 0, 0, 0, 0, 0, 0, 0]," * 8 + b"]}", 400),      # not JSON: a trailing comma
    (b'{"pixels": [' + b",".join([b"[1e400, 0, 0, 0, 0, 0, 0, 0]"] * 8) + b"]}", 422),   # overflows to inf
    (b'{"pixels": [' + b",".join([b"[" + b"1" * 400 + b", 0, 0, 0, 0, 0, 0, 0]"] * 8) + b"]}", 422),  # int > float
    (b"not json", 400),
    (b"[1, 2]", 400),                                                     # not an object
    (b"\xff\xfe", 400),                                                   # not UTF-8
    (b"[" * 5000 + b"]" * 5000, 400),                                     # nested deep
])
def test_cnn_refuses_bodies_that_are_not_a_json_object(client, raw, status):
    _error(client.post("/api/cnn", content=raw, headers={"Content-Type": "application/json"}), status)


def test_huge_bodies_are_refused_unread(client):
    big = b'{"pixels": [' + b"0," * MAX_BODY + b"0]}"
    assert "at most" in _error(client.post("/api/cnn", content=big), 413)

    def chunks():                          # no Content-Length: the reader stops at the limit
        for _ in range(MAX_BODY // 1000 + 2):
            yield b" " * 1000
    _error(client.post("/api/cnn", content=chunks()), 413)


def test_run_folders_behind_symlinks_outside_are_refused(client, runs_dir, tmp_path, cnn_run):
    outside = cnn_run(tmp_path / "elsewhere")
    link = runs_dir / "escape"
    os.symlink(outside, link)
    try:
        assert "escape" not in [r["run"] for r in client.get("/api/runs").json()["cnn"]]
        assert "outside" in _error(client.post("/api/cnn", json={"pixels": DIGIT, "run": "escape"}), 400)
        assert client.get("/api/runs-file/escape/history.png").status_code == 404
    finally:
        link.unlink()


@pytest.mark.parametrize("path", [
    "/api/runs-file/%2e%2e/%2e%2e/etc/passwd", "/api/runs-file/..%2f..%2fetc%2fpasswd", "/api/runs-file//etc/passwd",
    "/api/runs-file/cnn/result.json", "/api/runs-file/cnn/best.safetensors", "/api/runs-file/cnn/missing.png",
    "/api/runs-file/%2fetc%2fpasswd",
])
def test_picture_urls_stay_inside_the_runs_folder(client, path):
    r = client.get(path)
    assert r.status_code == 404 and "root:" not in r.text and "Traceback" not in r.text


@pytest.mark.parametrize("body, status", [
    ({"circuit": "nope"}, 404),
    ({"expression": "__import__('os').system('true')"}, 422),
    ({"expression": "x.__class__; x=1"}, 422),
    ({"expression": "x + 1", "values": [1]}, 422),
    ({"expression": "x + 1", "values": {"x": "1"}}, 422),
    ({"expression": "x + 1", "values": {"x": float("1e300")}}, 422),
    ({"expression": 12}, 422),
    ({"expression": "x" * 400}, 422),
    ({}, 422),
])
def test_backprop_refuses_bad_input(client, body, status):
    _error(client.post("/api/backprop", json=body), status)


@pytest.mark.parametrize("url, body, status", [
    ("/api/translate", {"text": "9 may 2018"}, 404),                    # no translation run: says how to train
    ("/api/translate", {"text": ""}, 422),
    ("/api/translate", {"text": 3}, 422),
    ("/api/sample", {"prompt": "ROMEO:"}, 404),                         # no text-writing run
    ("/api/sample", {"prompt": ""}, 422),
    ("/api/sample", {"prompt": "A", "temperature": -1}, 422),
    ("/api/sample", {"prompt": "A", "length": 10 ** 9}, 422),
    ("/api/sample", {"prompt": "A", "top_k": 0.5}, 422),
    ("/api/sample", {"prompt": "A", "run": "../x"}, 400),
])
def test_playgrounds_refuse_bad_input(client, url, body, status):
    message = _error(client.post(url, json=body), status)
    if status == 404:
        assert "nnzoo train" in message


def test_unknown_routes_and_methods(client):
    _error(client.get("/api/nothing"), 404)
    _error(client.get("/api/cnn"), 405)


def test_a_bug_is_a_500_without_the_traceback(client, monkeypatch):
    from nnzoo.serve import models

    def broken(*args):
        raise RuntimeError("secret detail")
    monkeypatch.setattr(models, "classify", broken)
    message = _error(client.post("/api/cnn", json={"pixels": DIGIT}), 500)
    assert "secret" not in message


def test_the_server_trains_the_digits_cnn_when_no_run_exists(tmp_path, monkeypatch, cnn_run):
    import nnzoo.recipes
    calls = []

    def fake_run_recipe(name, out_dir, overrides, seed, progress):   # the real run: tests/recipes (lenet)
        calls.append(name)
        cnn_run(out_dir)
        return {"test": {"accuracy": 0.99}}
    monkeypatch.setattr(nnzoo.recipes, "run_recipe", fake_run_recipe)
    runs = Runs(tmp_path)
    assert "trained the digits CNN" in ensure_cnn_run(runs) and calls == ["cnn"]
    assert [r["run"] for r in runs.classifiers()] == ["cnn"]
    assert ensure_cnn_run(runs) is None and calls == ["cnn"]          # a run exists now: nothing to do


def test_non_loopback_binding_needs_an_explicit_choice():
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.2") and not is_loopback("example.org")
    with pytest.raises(ValueError, match="allow_remote"):
        serve(host="0.0.0.0", port=0, runs_dir="unused", train_if_missing=False)


def test_check_pixels_json_roundtrip():
    from nnzoo.serve.models import check_pixels
    a = check_pixels(json.loads(json.dumps(DIGIT)))
    assert a.shape == (8, 8) and a.max() == 15


def _untrained_run(folder, name, overrides):
    """A run folder of recipe ``name`` with untrained weights (what the playgrounds load)."""
    import nnzoo
    from nnzoo.recipes import recipe, recipe_config
    folder.mkdir(parents=True)
    config = recipe_config(name, overrides)
    nnzoo.manual_seed(0)
    nnzoo.save(recipe(name).build_model(config).state_dict(), folder / "best.safetensors")
    (folder / "result.json").write_text(json.dumps({"name": name, "config": config}))
    return config


def _client_over(runs):
    import warnings

    from nnzoo.serve import create_app
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from starlette.testclient import TestClient
    return TestClient(create_app(runs), raise_server_exceptions=False)


def test_sampler_streams_what_the_recipes_sample_hook_writes(tmp_path):
    from nnzoo.random import Generator
    from nnzoo.recipes import load_run
    _untrained_run(tmp_path / "char", "char-rnn", {"hidden": 8, "embed": 4, "layers": 1})
    with _client_over(tmp_path) as c:
        r = c.post("/api/sample", json={"prompt": "ROMEO:", "length": 25, "temperature": 0.8, "top_k": 5, "seed": 3})
    assert r.status_code == 200 and r.headers["x-recipe"] == "char-rnn" and r.headers["x-run"] == "char"
    recipe, config, model = load_run(tmp_path / "char")
    expected = recipe.sample(model, config, "ROMEO:", 25, 0.8, 5, Generator().manual_seed(3))
    assert "ROMEO:" + r.text == expected


def test_translator_answers_with_its_attention(tmp_path):
    from nnzoo.recipes import load_run
    _untrained_run(tmp_path / "dates", "date-translator", {"embed": 4, "enc_hidden": 4, "dec_hidden": 8,
                                                           "attn_hidden": 4})
    with _client_over(tmp_path) as c:
        a = c.post("/api/translate", json={"text": "Saturday 9 May 2018"}).json()
    recipe, config, model = load_run(tmp_path / "dates")
    assert a["translation"] == recipe.translate(model, config, "Saturday 9 May 2018")[0]
    w = np.asarray(a["attention"])
    assert w.shape == (len(a["output_tokens"]), len(a["source"])) and a["source"] == "saturday 9 may 2018"
    assert "".join(a["output_tokens"][:len(a["translation"])]) == a["translation"]
    np.testing.assert_allclose(w.sum(axis=1), 1.0, atol=1e-3)          # each step's weights are a distribution


def test_word_analogies_are_3cosadd(tmp_path):
    from nnzoo.zoo.word2vec import KeyedVectors
    rng = np.random.default_rng(0)
    words = ["boy", "girl", "king", "queen", "man", "woman", "prince", "princess", "dog", "cat", "sword", "crown"]
    vectors = rng.normal(size=(len(words), 16)).astype(np.float32)
    folder = tmp_path / "w2v"
    folder.mkdir()
    KeyedVectors(words, vectors).save_word2vec_format(folder / "vectors.bin", binary=True)
    (folder / "result.json").write_text(json.dumps({"name": "word2vec", "config": {}}))
    with _client_over(tmp_path) as c:
        assert [r["run"] for r in c.get("/api/runs").json()["analogy"]] == ["w2v"]
        a = c.post("/api/analogy", json={"a": "boy", "b": "king", "c": "girl", "topn": 3}).json()
        _error(c.post("/api/analogy", json={"a": "boy", "b": "king", "c": "zebra"}), 422)
        _error(c.post("/api/analogy", json={"a": "boy", "b": 3, "c": "girl"}), 422)
        _error(c.post("/api/analogy", json={"a": "boy", "b": "king", "c": "girl", "run": "../w2v"}), 400)
    # gensim's most_similar(positive=[b, c], negative=[a]) in NumPy: cosine to unit(b) - unit(a) + unit(c)
    unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    ix = {w: i for i, w in enumerate(words)}
    q = unit[ix["king"]] - unit[ix["boy"]] + unit[ix["girl"]]
    scores = unit @ (q / np.linalg.norm(q))
    scores[[ix["king"], ix["boy"], ix["girl"]]] = -np.inf
    top = np.argsort(-scores)[:3]
    assert [x["word"] for x in a["answers"]] == [words[i] for i in top]
    np.testing.assert_allclose([x["similarity"] for x in a["answers"]], scores[top], atol=1e-5)


def test_analogies_without_a_run_say_how_to_train(client):
    assert "nnzoo train word2vec" in _error(client.post("/api/analogy", json={"a": "a", "b": "b", "c": "c"}), 404)

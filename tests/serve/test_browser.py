"""The pages in headless Chromium (Playwright for Python, the OS's chromium): draw on the CNN visualiser with mouse
events, step through the lecture's circuit, open the gallery. Screenshots go to each test's tmp_path."""
import json


def _stroke(page, points):
    """One stroke of mouse events through ``points`` (pixels of the 280x280 pad)."""
    box = page.locator("#pad").bounding_box()
    x0, y0 = box["x"], box["y"]
    page.mouse.move(x0 + points[0][0], y0 + points[0][1])
    page.mouse.down()
    for x, y in points[1:]:
        page.mouse.move(x0 + x, y0 + y, steps=3)
    page.mouse.up()


def _shown(page):
    return (page.text_content("#guess1 .label"), page.text_content("#guess2 .label"), page.text_content("#probs"))


def test_drawing_updates_layers_and_the_top_two_guesses(page, live_server, client, tmp_path):
    sent = []
    page.on("request", lambda r: sent.append(json.loads(r.post_data)) if r.url.endswith("/api/cnn") else None)
    page.goto(live_server.url + "/cnn")
    page.wait_for_selector("#run option", state="attached")
    page.wait_for_selector("body[data-updates]")            # the blank pad, sent once the run is chosen
    _stroke(page, [(140, 40 + 20 * k) for k in range(11)])   # a vertical bar
    page.wait_for_selector("body[data-strokes='1']")
    first = _shown(page)
    expected_layers = len(client.post("/api/cnn", json={"pixels": [[0] * 8] * 8}).json()["layers"])
    assert page.locator("#layers .layer").count() == expected_layers
    assert page.locator("#layers .layer").first.locator("canvas").count() == 4      # conv1's 4 channels
    assert first[0] not in ("", "–") and first[1] not in ("", "–") and first[0] != first[1]
    page.screenshot(path=str(tmp_path / "cnn-1.png"))
    _stroke(page, [(40 + 20 * k, 60) for k in range(11)])    # a bar across the top: now a 7-like shape
    page.wait_for_selector("body[data-strokes='2']")
    assert _shown(page) != first
    page.screenshot(path=str(tmp_path / "cnn-2.png"))
    # what was sent: 8x8 counts of 4x4 blocks of a 32x32 bitmap, integers 0..16, ink where the strokes were
    pixels = sent[-1]["pixels"]
    assert len(pixels) == 8 and all(len(row) == 8 for row in pixels)
    assert all(isinstance(v, int) and 0 <= v <= 16 for row in pixels for v in row)
    assert sum(map(sum, pixels)) > 0
    assert page.evaluate("window.nnzooStats.latencies.length") == 2


def test_backprop_stepper_shows_the_lectures_gradients(page, live_server, tmp_path):
    page.goto(live_server.url + "/backprop")
    page.wait_for_selector("#node-0")
    assert page.text_content("#grad-x") == ""
    steps = 0
    while page.is_enabled("#next"):
        page.click("#next")
        steps += 1
        assert steps < 50
    # f = (x + y) z at x = -2, y = 5, z = -4: df/dx = df/dy = z = -4, df/dz = x + y = 3
    grads = [page.text_content(f"#grad-{name}") for name in "xyz"]
    assert grads == ["-4", "-4", "3"]
    labels = page.locator("#graph text.bwd").all_text_contents()
    assert "-4 × 1 = -4" in labels and "1 × -4 = -4" in labels        # local × upstream = product on the edges
    page.screenshot(path=str(tmp_path / "backprop.png"))
    page.click("#circuit-square-square")                              # z = (x²)² at x = 2: dz/dx = 4x³ = 32
    page.wait_for_selector("#grad-y", state="detached")               # the new circuit is drawn (it has no y)
    page.click("#all")
    assert page.text_content("#grad-x") == "32"
    page.fill("#expr", "x.__class__; x=1")
    page.click("#trace")
    page.wait_for_selector("#error:not(:empty)")
    assert "not allowed" in page.text_content("#error")


def test_gallery_lists_every_cell_with_pictures_from_the_runs(page, live_server, tmp_path):
    from nnzoo.recipes.gallery import CELLS
    page.goto(live_server.url + "/gallery")
    page.wait_for_selector("body[data-rows]")
    assert page.locator("#gallery tbody tr").count() == len(CELLS)
    img = page.locator("#cell-DCN img")
    img.wait_for()
    page.wait_for_load_state("networkidle")
    assert page.evaluate("document.querySelector('#cell-DCN img').naturalWidth") == 2
    page.screenshot(path=str(tmp_path / "gallery.png"), full_page=True)


def test_playground_says_how_to_train_missing_runs(page, live_server):
    page.goto(live_server.url + "/play")
    page.wait_for_selector("#translate-status:not(:empty)")
    assert "nnzoo train date-translator" in page.text_content("#translate-status")
    assert "nnzoo train char-rnn" in page.text_content("#sample-status")
    assert "nnzoo train word2vec" in page.text_content("#analogy-status")
    assert page.is_disabled("#translate") and page.is_disabled("#sample") and page.is_disabled("#analogy")


def test_touch_drawing_on_a_fashion_mnist_run(page, live_server):
    """Pointer events of a finger (pointerType touch) draw too; a Fashion-MNIST run reads 28x28 grey levels."""
    sent = []
    page.on("request", lambda r: sent.append(json.loads(r.post_data)) if r.url.endswith("/api/cnn") else None)
    page.goto(live_server.url + "/cnn")
    page.wait_for_selector("#run option", state="attached")
    page.select_option("#run", "fashion")
    page.wait_for_selector("text=28x28 grey levels 0-255")
    box = page.locator("#pad").bounding_box()
    touch = {"pointerId": 7, "pointerType": "touch", "isPrimary": True, "bubbles": True, "cancelable": True}
    points = [(60 + 16 * k, 70 + 12 * k) for k in range(10)]
    for kind, (x, y) in [("pointerdown", points[0])] + [("pointermove", p) for p in points[1:]] + \
            [("pointerup", points[-1])]:
        page.dispatch_event("#pad", kind, {**touch, "clientX": box["x"] + x, "clientY": box["y"] + y})
    page.wait_for_selector("body[data-strokes='1']")
    pixels = sent[-1]["pixels"]
    assert sent[-1]["run"] == "fashion" and len(pixels) == 28 and all(len(row) == 28 for row in pixels)
    assert all(isinstance(v, int) and 0 <= v <= 255 for row in pixels for v in row) and max(map(max, pixels)) > 128
    assert page.text_content("#probs").count("%") == 10 and "Ankle boot" in page.text_content("#probs")

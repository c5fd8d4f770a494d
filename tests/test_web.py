"""`kerazoo export --format web`: the page, in headless Chromium, against Python LiteRT on the same file.

Each export is served on 127.0.0.1 and clicked through with Playwright; the canvas (or the CSV) is
read back and compared with what `kerazoo.runtime` makes from the page's own `model.tflite` and the
same seed (`runtime.portable_noise`). Screenshots go to $KERAZOO_SCREENSHOTS when it is set.
"""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
from conftest import serve_folder, toy_table_csv
from PIL import Image

import kerazoo
from kerazoo import runtime, sampling
from kerazoo.cli import main
from kerazoo.export import ExportError, export

pytestmark = pytest.mark.slow

MARKUP = "<img src=x onerror=alert(1)>"


@pytest.fixture(scope="module")
def pages(tmp_path_factory):
    """Web exports of a trained dcgan, a trained pix2pix, a tiny tabular_gan run, an untrained cddpm
    and a copy of the dcgan page whose page.json holds markup, served on 127.0.0.1."""
    root = tmp_path_factory.mktemp("web")
    runs = tmp_path_factory.mktemp("runs")
    kerazoo.train("dcgan", epochs=1, out=runs / "dcgan", verbose=0, hparams={"width": 8})
    assert main(["export", str(runs / "dcgan"), "--format", "web", "--out", str(root / "dcgan")]) == 0
    assert (
        main(
            ["train", "pix2pix", "--out", str(runs / "p2p"), "--epochs", "1", "--batch-size", "64", "--quiet"]
            + ["--set", "filters=4", "--set", "max_filters=8", "--set", "image_shape=32,32,3"]
        )
        == 0
    )
    export(runs / "p2p", format="web", out=root / "pix2pix")
    table = ["train", "tabular_gan", "--dataset", "table", "--csv", str(toy_table_csv(runs / "toy.csv"))]
    table += [
        "--label",
        "group",
        "--epochs",
        "3",
        "--batch-size",
        "32",
        "--quiet",
        "--out",
        str(runs / "tab"),
    ]
    assert main(table) == 0
    export(runs / "tab", format="web", out=root / "table")
    export(kerazoo.build("cddpm", widths=(8, 16), seed=0), format="web", out=root / "cddpm", batch_size=4)
    export(kerazoo.build("stylegan", width=8, max_width=16, seed=0), format="web", out=root / "stylegan")
    shutil.copytree(root / "dcgan", root / "markup")
    config = json.loads((root / "markup" / "page.json").read_text())
    config.update(title=MARKUP, model=MARKUP, card=[[MARKUP, MARKUP]])
    (root / "markup" / "page.json").write_text(json.dumps(config))
    shutil.copytree(root / "table", root / "table_markup")
    config = json.loads((root / "table_markup" / "page.json").read_text())
    config["table_transform"]["specs"] = [
        {**s, "categories": [MARKUP, "<b>bold</b>"]} if s["kind"] == "categorical" else s
        for s in config["table_transform"]["specs"]
    ]
    (root / "table_markup" / "page.json").write_text(json.dumps(config))
    url, server = serve_folder(root)
    yield url, root
    server.shutdown()


def _open(browser, url):
    """The page at `url` once it is ready (or showing an error), with its console errors and dialogs."""
    page = browser.new_page(viewport={"width": 1100, "height": 1000})
    page.errors, page.dialogs = [], []
    page.on("console", lambda m: page.errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: page.errors.append(str(e)))
    page.on("dialog", lambda d: (page.dialogs.append(d.message), d.dismiss()))
    page.goto(url, wait_until="load")
    page.wait_for_function(
        "window.kerazooPage && (kerazooPage.ready || kerazooPage.errors.length)", timeout=120_000
    )
    return page


def _settle(page, done="kerazooPage.last !== null"):
    page.wait_for_function(f"({done}) || kerazooPage.errors.length > 0", timeout=120_000)


def _screenshot(page, name):
    folder = os.environ.get("KERAZOO_SCREENSHOTS")
    if folder:
        page.screenshot(path=str(Path(folder) / name), full_page=True)


def _canvas_tiles(page) -> np.ndarray:
    """The images drawn on the page's grid canvas, read back from its pixels: uint8 (n, H, W, C)."""
    info = page.evaluate(
        """() => { const c = document.getElementById('grid');
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height);
        return {w: c.width, h: c.height, data: Array.from(d.data), ...c.dataset}; }"""
    )
    rgba = np.array(info["data"], np.uint8).reshape(info["h"], info["w"], 4)
    n, h, w, c = (int(v) for v in info["shape"].split(","))
    scale, pad, columns = int(info["scale"]), int(info["pad"]), int(info["columns"])
    tiles = []
    for k in range(n):
        x0 = pad + (k % columns) * (w * scale + pad)
        y0 = pad + (k // columns) * (h * scale + pad)
        tile = rgba[y0 : y0 + h * scale : scale, x0 : x0 + w * scale : scale, :c]
        tiles.append(tile)
    return np.stack(tiles)


def _close_to(web, python):
    assert web.shape == python.shape, (web.shape, python.shape)
    assert np.abs(web.astype(int) - python.astype(int)).max() <= 1  # one grey level


def test_generator_page_draws_what_python_litert_draws_for_the_seed(pages, browser):
    url, root = pages
    page = _open(browser, url + "/dcgan/index.html")
    _settle(page)
    generator = runtime.load(root / "dcgan" / "model.tflite")
    for seed in (0, 1):  # the first draw at load, then "New samples" (seed + 1)
        if seed:
            page.evaluate("kerazooPage.last = null")
            page.click("#new")
            _settle(page)
        assert page.input_value("#seed") == str(seed)
        web = _canvas_tiles(page)
        python = generator.generate(runtime.portable_noise(seed, (16, generator.latent_dim)))["images_uint8"]
        _close_to(web, python)
        assert web.std() > 2  # not a flat grid (one epoch of a width-8 DCGAN: faint strokes)
    assert "per batch of 16" in page.inner_text("#timing") and "Model card" in page.inner_text("body")
    assert "dcgan" in page.inner_text("#card")
    _screenshot(page, "web_dcgan.png")
    assert not page.errors, page.errors
    page.close()


def test_stylegan_page_applies_the_truncation(pages, browser):
    url, root = pages
    page = _open(browser, url + "/stylegan/index.html")
    _settle(page)
    generator = runtime.load(root / "stylegan" / "model.tflite")
    noise = runtime.portable_noise(0, (16, generator.latent_dim))
    _close_to(_canvas_tiles(page), generator.generate(noise, truncation=1.0)["images_uint8"])
    page.evaluate("kerazooPage.last = null")
    page.fill("#truncation", "0")  # every sample is the average image
    page.click("#draw")
    _settle(page)
    tiles = _canvas_tiles(page)
    _close_to(tiles, generator.generate(noise, truncation=0.0)["images_uint8"])
    assert np.abs(tiles.astype(int) - tiles[:1].astype(int)).max() <= 1
    page.fill("#truncation", "1.5")
    page.click("#draw")
    page.wait_for_selector("#error:not([hidden])")
    assert "Truncation must be a number from -1 to 1" in page.inner_text("#error")
    assert not page.errors, page.errors
    page.close()


@pytest.mark.parametrize(
    "field, value, message",
    [
        ("#n", "0", "How many must be a whole number from 1 to 256"),
        ("#n", "100000", "How many must be a whole number from 1 to 256"),
        ("#seed", "-3", "Seed must be a whole number"),
        ("#seed", "2.5", "Seed must be a whole number"),
    ],
)
def test_bad_page_input_gets_a_message_and_keeps_the_grid(pages, browser, field, value, message):
    url, _ = pages
    page = _open(browser, url + "/dcgan/index.html")
    _settle(page)
    before = _canvas_tiles(page)
    page.fill(field, value)
    page.click("#draw")
    page.wait_for_selector("#error:not([hidden])")
    assert message in page.inner_text("#error")
    _close_to(_canvas_tiles(page), before)  # the last grid stays; never a blank canvas
    assert not page.errors, page.errors
    page.close()


def test_conditional_diffusion_page_follows_the_class_steps_and_guidance(pages, browser):
    url, root = pages
    page = _open(browser, url + "/cddpm/index.html")
    _settle(page)  # the default draw: every class in turn
    page.evaluate("kerazooPage.last = null")
    page.select_option("#label", "3")
    page.fill("#n", "6")
    page.fill("#seed", "5")
    page.fill("#steps", "3")
    page.fill("#guidance", "2")
    page.click("#draw")
    _settle(page)
    sampler = runtime.load(root / "cddpm" / "model.tflite")
    noise = runtime.portable_noise(5, (6, *sampler.image_shape))
    labels = np.full(6, 3, np.int32)
    x = sampling.ddim_sample(
        sampler.predict_eps, noise.shape, sampler.schedule, 3, x_t=noise, labels=labels, guidance=2.0
    )
    python = np.round((x + 1.0) * 127.5).clip(0, 255).astype(np.uint8)
    _close_to(_canvas_tiles(page), python)
    assert page.evaluate("kerazooPage.last.labels") == [3] * 6
    page.fill("#steps", "5000")
    page.click("#draw")
    page.wait_for_selector("#error:not([hidden])")
    assert "Steps must be a whole number from 1 to 1000" in page.inner_text("#error")
    _screenshot(page, "web_cddpm.png")
    assert not page.errors, page.errors
    page.close()


def test_translator_page_translates_an_uploaded_and_a_drawn_image(pages, browser, tmp_path):
    url, root = pages
    translator = runtime.load(root / "pix2pix" / "model.tflite")
    rng = np.random.default_rng(0)
    tile = rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)
    Image.fromarray(tile).save(tmp_path / "tile.png")
    page = _open(browser, url + "/pix2pix/index.html")
    page.set_input_files("#file", str(tmp_path / "tile.png"))
    page.click("#translate")
    _settle(page)
    np.testing.assert_array_equal(
        np.array(page.evaluate("Array.from(kerazooPage.last.input)")), tile.reshape(-1)
    )
    _close_to(_canvas_tiles(page), translator.translate(tile[None]))

    # Drawn with the mouse on the pad: what the page fed the model gives Python's output too.
    page.click("#clear")
    page.evaluate("kerazooPage.last = null")
    box = page.locator("#pad").bounding_box()
    page.mouse.move(box["x"] + 40, box["y"] + 40)
    page.mouse.down()
    page.mouse.move(box["x"] + 200, box["y"] + 180, steps=12)
    page.mouse.up()
    page.click("#translate")
    _settle(page)
    drawn = np.array(page.evaluate("Array.from(kerazooPage.last.input)"), np.uint8).reshape(1, 32, 32, 3)
    assert drawn.max() == 255 and drawn.min() == 0  # a white stroke on black
    _close_to(_canvas_tiles(page), translator.translate(drawn))
    _screenshot(page, "web_pix2pix.png")

    # Bad files: a message in the page, the last output kept.
    before = _canvas_tiles(page)
    (tmp_path / "notes.txt").write_text("not an image")
    Image.fromarray(np.zeros((20, 30, 3), np.uint8)).save(tmp_path / "small.png")
    for name, message in (
        ("notes.txt", "is not an image"),
        ("small.png", 'takes 32x32 images; "small.png" is 30x20'),
    ):
        page.set_input_files("#file", str(tmp_path / name))
        page.click("#translate")
        page.wait_for_function(
            f"document.getElementById('error').textContent.includes({json.dumps(message)})"
        )
        _close_to(_canvas_tiles(page), before)
    assert not page.errors, page.errors
    page.close()


def test_table_page_downloads_the_rows_python_decodes(pages, browser):
    url, root = pages
    page = _open(browser, url + "/table/index.html")
    page.fill("#n", "40")
    page.fill("#seed", "7")
    page.click("#rows")
    _settle(page)
    with page.expect_download() as download:
        page.click("#csv")
    text = Path(download.value.path()).read_text()
    rows = list(csv.DictReader(io.StringIO(text)))
    sampler = runtime.load(root / "table" / "model.tflite")
    labels = sampler.labels_for(40)
    encoded = sampler(noise=runtime.portable_noise(7, (40, sampler.latent_dim)), labels=labels)["rows"]
    table = sampler.transform.decode(encoded, labels)
    assert list(rows[0]) == list(table.columns) == ["dose", "count", "site", "group"]
    np.testing.assert_allclose([float(r["dose"]) for r in rows], table.columns["dose"], rtol=1e-6)
    assert [int(r["count"]) for r in rows] == list(table.columns["count"])
    assert [r["site"] for r in rows] == list(table.columns["site"])
    assert [r["group"] for r in rows] == list(table.columns["group"])
    assert page.locator("#table tr").count() == 11  # the header and the first 10 rows
    page.fill("#n", "10001")
    page.click("#rows")
    page.wait_for_selector("#error:not([hidden])")
    assert "How many must be a whole number from 1 to 10000" in page.inner_text("#error")
    _screenshot(page, "web_table.png")
    assert not page.errors, page.errors
    page.close()


def test_names_and_cells_from_files_show_as_text_never_markup(pages, browser):
    url, _ = pages
    page = _open(browser, url + "/markup/index.html")
    _settle(page)
    assert page.inner_text("#title") == MARKUP and MARKUP in page.inner_text("#card")
    assert page.evaluate("document.images.length") == 0 and not page.dialogs
    page.close()
    page = _open(browser, url + "/table_markup/index.html")
    page.click("#rows")
    _settle(page)
    assert page.locator("#table b").count() == 0 and page.evaluate("document.images.length") == 0
    cells = page.locator("#table td").all_inner_texts()
    assert {MARKUP, "<b>bold</b>"} & set(cells) and not page.dialogs
    assert not page.errors, page.errors
    page.close()


def test_web_export_folder_holds_the_page_the_verified_model_and_the_runtime(pages):
    _, root = pages
    folder = root / "dcgan"
    names = {str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()}
    assert {"index.html", "app.js", "style.css", "page.json", "model.tflite", "model.tflite.json"} <= names
    assert {"litertjs/LICENSE", "litertjs/NOTICE", "litertjs/core/dist/index.js"} <= names
    assert "Apache License" in (folder / "litertjs" / "LICENSE").read_text()
    meta = json.loads((folder / "model.tflite.json").read_text())
    assert meta["verification"]["passed"] and meta["batch_size"] == 16
    # No network: every URL the page's own files name is relative.
    for name in ("index.html", "app.js"):
        text = (folder / name).read_text()
        assert "http://" not in text and "https://" not in text.replace("https://github.com", ""), name


def test_web_export_refuses_what_it_cannot_page_and_writes_nothing(tmp_path, capsys):
    with pytest.raises(ExportError, match="A web page is made for generators.*--format tflite or onnx"):
        export(kerazoo.build("cnn"), format="web", out=tmp_path / "cnn_web")
    with pytest.raises(ExportError, match="Quantization applies to TFLite only"):
        export(kerazoo.build("dcgan", width=8), format="web", quantize="int8", out=tmp_path / "w")
    kerazoo.build("cnn").save(tmp_path / "cnn.keras")
    assert main(["export", str(tmp_path / "cnn.keras"), "--format", "web"]) == 2
    assert "A web page is made for" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cnn.keras"]


def test_without_litertjs_and_offline_the_export_says_what_to_do(tmp_path, monkeypatch):
    from kerazoo.web import vendor

    monkeypatch.setattr(vendor, "TARGET", tmp_path / "nothing" / "litertjs")
    (tmp_path / "nothing").mkdir()
    monkeypatch.setattr(vendor, "REGISTRY", "http://127.0.0.1:9")  # nothing listens there
    with pytest.raises(ExportError, match=r"LiteRT.js .*Run `python -m kerazoo.web.vendor`"):
        export(kerazoo.build("dcgan", width=8), format="web", out=tmp_path / "page")
    assert not (tmp_path / "page").exists() and list((tmp_path / "nothing").iterdir()) == []

"""The docs site: README's figures against the results files, generated tables and pages, docstrings,
`mkdocs build --strict`, and the built site and a report looked at in headless Chromium."""

from __future__ import annotations

import functools
import importlib
import importlib.util
import inspect
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import numpy as np
import pytest
from conftest import serve_folder

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
# Keras' hooks, documented by their class (Keras leaves its own undocumented).
KERAS_HOOKS = {"build", "call", "compute_output_shape", "train_step", "test_step"}


@functools.cache
def hooks():
    spec = importlib.util.spec_from_file_location("kerazoo_docs_hooks", DOCS / "hooks.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_readme_is_short_and_quotes_the_results_files():
    readme = (ROOT / "README.md").read_text()
    assert len(readme.splitlines()) <= 150
    headlines = hooks().readme_headlines()
    assert len(headlines) >= 5
    for line in headlines:
        assert f"- {line}\n" in readme, f"README should read '- {line}' (from benchmarks/results)"
    # and nothing else in that list: every headline line is one the results files give
    section = readme.split("## Headline figures", 1)[1].split("\n## ", 1)[0]
    quoted = [line[2:] for line in section.splitlines() if line.startswith("- ")]
    assert quoted == headlines


def test_benchmark_pages_type_no_figure_table_by_hand():
    for page in sorted((DOCS / "benchmarks").glob("*.md")):
        text = page.read_text()
        typed = [line for line in text.splitlines() if line.lstrip().startswith("|")]
        assert not typed, f"{page.name}: a table typed by hand; generate it (<!-- table: NAME -->)"
        for name in re.findall(r"<!-- table: ([a-z0-9_]+) -->", text):
            assert name in hooks().TABLES, (page.name, name)


def test_every_table_renders_from_the_results_files():
    for name, render in hooks().TABLES.items():
        text = render()
        assert "benchmarks/results/" in text and "|---|" in text, name


def test_an_unknown_table_fails_the_build():
    with pytest.raises(ValueError, match="unknown table 'nope'"):
        hooks().render_tables("<!-- table: nope -->", "page.md")


def _reference_modules():
    names = []
    for page in (DOCS / "reference").glob("*.md"):
        names += re.findall(r"^::: (\S+)", page.read_text(), re.M)
    return sorted(set(names))


def test_every_public_name_has_a_docstring():
    missing = []
    for module_name in _reference_modules():
        module = importlib.import_module(module_name)
        names = getattr(module, "__all__", None) or [
            n
            for n, o in vars(module).items()
            if not n.startswith("_") and getattr(o, "__module__", "") == module_name
        ]
        for name in names:
            obj = getattr(module, name)
            if not (inspect.isfunction(obj) or inspect.isclass(obj)):
                continue
            if not inspect.getdoc(obj) or (inspect.isclass(obj) and obj.__doc__ is None):
                missing.append(f"{module_name}.{name}")
            if not inspect.isclass(obj):
                continue
            for attr, value in vars(obj).items():
                if attr.startswith("_") or attr in KERAS_HOOKS:
                    continue
                target = value if isinstance(value, property) else getattr(obj, attr)
                function = value.fget if isinstance(value, property) else getattr(value, "__func__", value)
                if inspect.isfunction(function) and not inspect.getdoc(target):
                    missing.append(f"{module_name}.{name}.{attr}")
    assert not missing, f"public names without a docstring: {missing}"


def test_the_cli_commands_have_help():
    from kerazoo.cli import _build_parser

    parser = _build_parser()
    commands = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction")
    helped = {c.dest for c in commands._choices_actions if c.help}
    assert set(commands.choices) == helped and len(helped) >= 6
    docs = (DOCS / "cli.md").read_text()
    for name in commands.choices:
        assert f"kerazoo {name}" in docs, name


def test_literate_programs_become_pages_and_notebooks():
    sources = hooks().literate_sources()
    assert {p.stem for p in sources} >= {"dcgan", "vae", "pix2pix", "export_generator"}
    for path in sources:
        blocks = hooks().literate_blocks(path.read_text())
        assert blocks[0][0] == "markdown" and blocks[0][1].startswith("# "), path
        assert any(kind == "code" for kind, _ in blocks), path
        page = hooks().literate_page(path)
        code = "\n".join(text for kind, text in blocks if kind == "code")
        assert all(line in path.read_text() for line in code.splitlines()), path  # nothing invented
        assert f"{path.stem}.ipynb" in page
        notebook = nbformat.reads(hooks().literate_notebook(path), as_version=4)
        nbformat.validate(notebook)
        assert [c.cell_type for c in notebook.cells] == [kind for kind, _ in blocks]


def test_dcgan_program_resumes_with_the_zoo_callback():
    source = (ROOT / "train" / "dcgan.py").read_text()
    assert "keras.callbacks.BackupAndRestore" not in source
    assert 'BackupAndRestore(out_dir / "backup", data=train_ds' in source and "#19389" in source


def test_own_images_snippet_makes_a_dataset_kerazoo_reads(tmp_path, monkeypatch):
    from PIL import Image

    import kerazoo

    rng = np.random.default_rng(0)
    for cls in ("circle", "square"):
        (tmp_path / "my_shapes" / cls).mkdir(parents=True)
        for i in range(10):
            Image.fromarray(rng.integers(0, 255, (40, 30), dtype=np.uint8)).save(
                tmp_path / "my_shapes" / cls / f"{i}.png"
            )
    monkeypatch.chdir(tmp_path)
    code = (DOCS / "snippets" / "folder_to_npz.py").read_text()
    exec(compile(code, "folder_to_npz.py", "exec"), {})
    ds = kerazoo.make_dataset("my_shapes", "train", 4, data_dir=tmp_path / "data")
    x, y = next(iter(ds))
    assert x.shape[1:] == (28, 28, 1) and set(np.unique(y)) <= {0, 1}


# --- the built site ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    out = tmp_path_factory.mktemp("site")
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out)],
        cwd=ROOT,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return out


@pytest.mark.slow
def test_mkdocs_build_strict_makes_every_page(site):
    import kerazoo

    for name in kerazoo.list_models():
        card = re.sub(r"<[^>]+>", "", (site / "zoo" / name / "index.html").read_text())
        assert f"kerazoo train {name}" in card and "Recipe" in card, name
    assert (site / "examples" / "train" / "dcgan.ipynb").is_file()
    gan = (site / "benchmarks" / "gan" / "index.html").read_text()
    assert "Generated from" in gan and "<table>" in gan
    index = json.loads((site / "search" / "search_index.json").read_text())
    assert len(index["docs"]) > 100
    api = (site / "reference" / "trainers" / "index.html").read_text()
    assert "train_step" in api or "GAN" in api


@pytest.fixture(scope="module")
def served(site, digits_cnn_run, tmp_path_factory):
    """The built site, and a report of a real run at /report/, on 127.0.0.1."""
    from kerazoo.evaluation import evaluate

    evaluate(digits_cnn_run)
    root = tmp_path_factory.mktemp("served")
    shutil.copytree(site, root / "site")
    shutil.copytree(digits_cnn_run / "eval", root / "report")
    url, server = serve_folder(root)
    yield url
    server.shutdown()


def _look(browser, url, screenshot=None):
    """Open `url`; return (console errors, images with no natural size, the page)."""
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    errors = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    response = page.goto(url, wait_until="load")
    assert response.ok, url
    page.wait_for_load_state("networkidle")
    broken = page.evaluate(
        "Array.from(document.images).filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.src)"
    )
    folder = os.environ.get("KERAZOO_SCREENSHOTS")  # where to keep screenshots to look at (not the repo)
    if folder and screenshot:
        page.screenshot(path=str(Path(folder) / screenshot), full_page=False)
    return errors, broken, page


@pytest.mark.slow
@pytest.mark.parametrize(
    "path, screenshot, text",
    [
        ("/site/", "home.png", "Two commands"),
        ("/site/zoo/dcgan/", "card_dcgan.png", "Recipe"),
        ("/site/gallery/", "gallery.png", "Gallery"),
        ("/site/benchmarks/gan/", "benchmark_gan.png", "Generated from"),
        ("/site/examples/train/dcgan/", "example_dcgan.png", "BackupAndRestore"),
        ("/report/report.html", "report.png", "test accuracy"),
    ],
)
def test_pages_load_in_chromium_with_images_and_no_console_errors(served, browser, path, screenshot, text):
    errors, broken, page = _look(browser, served + path, screenshot)
    assert not errors, errors
    assert not broken, broken
    count = page.evaluate("document.images.length")
    if screenshot in ("home.png", "card_dcgan.png", "gallery.png", "report.png"):  # pages with pictures
        assert count > 0, path
    assert text in page.inner_text("body")
    page.close()


@pytest.mark.slow
def test_site_search_finds_a_model(served, browser):
    page = browser.new_page()
    page.goto(served + "/site/", wait_until="networkidle")
    index = page.evaluate("fetch('search/search_index.json').then(r => r.json()).then(j => j.docs.length)")
    assert index > 100
    page.close()

"""`kerazoo sample` in a virtual environment that has no TensorFlow: only NumPy, Pillow,
ai-edge-litert (with their own dependencies) and the kerazoo source.

The environment is a real venv; its packages are linked from this one's site-packages (no network
needed), chosen by walking the three distributions' declared requirements."""

import importlib.metadata as md
import os
import re
import subprocess
import sys
import venv
from pathlib import Path

import pytest

import kerazoo
from kerazoo.export import export

ROOTS = ("numpy", "pillow", "ai-edge-litert")


def _closure(roots):
    """The installed distributions `roots` need, following their (non-extra) requirements."""
    seen, todo = {}, list(roots)
    while todo:
        name = todo.pop()
        try:
            dist = md.distribution(name)
        except md.PackageNotFoundError:
            continue  # an optional or platform-specific requirement that is not installed
        key = dist.metadata["Name"].lower()
        if key in seen:
            continue
        seen[key] = dist
        for req in dist.requires or ():
            if "extra ==" not in req:
                todo.append(re.match(r"[A-Za-z0-9_.\-]+", req).group(0))
    return seen


def _light_venv(root: Path, with_kerazoo: bool = True, extra=()) -> Path:
    venv.EnvBuilder(with_pip=False).create(root)
    python = root / "bin" / "python"
    site = Path(
        subprocess.check_output(
            [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], text=True
        ).strip()
    )
    dists = _closure(ROOTS + tuple(extra))
    assert "tensorflow" not in dists and {"numpy", "pillow", "ai-edge-litert"} <= set(dists)
    for dist in dists.values():
        tops = {Path(str(f)).parts[0] for f in dist.files or () if not str(f).startswith("..")}
        for top in tops:
            source = Path(dist.locate_file(top))
            if source.exists() and not (site / top).exists():
                (site / top).symlink_to(source)
    if with_kerazoo:
        (site / "kerazoo").symlink_to(Path(kerazoo.__file__).parent)
    return python


@pytest.fixture(scope="module")
def python(tmp_path_factory):
    """The light venv's interpreter."""
    return _light_venv(tmp_path_factory.mktemp("light") / "venv")


@pytest.mark.slow
def test_onnx_artifacts_run_with_the_onnx_extra_and_no_tensorflow(tmp_path):
    """The light install plus `kerazoo[onnx]` (onnxruntime) samples an ONNX export as the TFLite one."""
    python = _light_venv(tmp_path / "venv", extra=("onnxruntime",))
    model = kerazoo.build("cgan", width=8)
    export(model, format="onnx", out=tmp_path / "cgan.onnx")
    export(model, format="tflite", out=tmp_path / "cgan.tflite")
    script = (
        "import sys, numpy as np\n"
        "from kerazoo.cli import main\n"
        "assert main(['sample', 'cgan.onnx', '--n', '12', '--label', '4', '--out', 'onnx.npz']) == 0\n"
        "assert main(['sample', 'cgan.tflite', '--n', '12', '--label', '4', '--out', 'lite.npz']) == 0\n"
        "assert not [m for m in sys.modules if m.split('.')[0] in ('tensorflow', 'keras')], 'TF was imported'\n"
        "a, b = np.load('onnx.npz')['images'].astype(int), np.load('lite.npz')['images'].astype(int)\n"
        "assert np.abs(a - b).max() <= 1 and a.std() > 0, np.abs(a - b).max()\n"
    )
    result = subprocess.run([python, "-c", script], capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]


@pytest.mark.slow
def test_sampler_runs_where_tensorflow_is_not_installed(python, tmp_path):
    artifact = tmp_path / "cgan.tflite"
    export(kerazoo.build("cgan", width=8), format="tflite", out=artifact)

    probe = subprocess.run([python, "-c", "import tensorflow"], capture_output=True, text=True)
    assert probe.returncode != 0 and "No module named 'tensorflow'" in probe.stderr

    out = tmp_path / "grid.png"
    script = (
        "import sys\n"
        "from kerazoo.cli import main\n"
        f"code = main(['sample', {str(artifact)!r}, '--n', '20', '--label', '7', '--out', {str(out)!r}])\n"
        "assert code == 0, code\n"
        "assert not [m for m in sys.modules if m.split('.')[0] in ('tensorflow', 'keras')], 'TF was imported'\n"
        "from kerazoo import runtime\n"
        f"images = runtime.load({str(artifact)!r}).sample(5, label=2, seed=0)\n"
        "assert images.shape == (5, 28, 28, 1) and images.dtype.name == 'uint8'\n"
    )
    result = subprocess.run([python, "-c", script], capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert out.is_file() and out.stat().st_size > 0
    # Bad input in the light environment still gives one line and exit 2.
    bad = subprocess.run(
        [
            python,
            "-c",
            f"from kerazoo.cli import main; raise SystemExit(main(['sample', {str(artifact)!r}, '--label', '12']))",
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert bad.returncode == 2 and "--label must be a class id in 0..9" in bad.stderr


@pytest.mark.slow
def test_export_scripts_export_here_and_deploy_there(python, tmp_path):
    """export/export_generator.py (quick mode) writes the artifacts; export/deploy_generator.py
    draws from one in the environment without TensorFlow. export/translate_images.py (quick mode:
    a one-epoch pix2pix of its own) runs beside the first: exported, verified, translated."""
    scripts = Path(__file__).resolve().parents[1] / "export"
    env = {**os.environ, "KERAZOO_QUICK": "1", "KERAZOO_OUT": str(tmp_path), "TF_CPP_MIN_LOG_LEVEL": "3"}
    translating = subprocess.Popen(
        [sys.executable, scripts / "translate_images.py"],
        env={**env, "KERAZOO_RUN": str(tmp_path / "no_run")},
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    made = subprocess.run(
        [sys.executable, scripts / "export_generator.py"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    translated_out, translated_err = translating.communicate(timeout=600)
    assert made.returncode == 0, made.stderr[-3000:]
    assert translating.returncode == 0, translated_err[-3000:]
    assert "same as the runtime's: True" in translated_out
    assert (tmp_path / "translate_images" / "translated.png").is_file()
    artifact = tmp_path / "export_generator" / "generator_int8.tflite"
    assert artifact.is_file() and (tmp_path / "export_generator" / "tflite_grid.png").is_file()
    env["KERAZOO_ARTIFACT"] = str(artifact)
    deployed = subprocess.run(
        [python, scripts / "deploy_generator.py"], env=env, cwd=tmp_path, capture_output=True, text=True
    )
    assert deployed.returncode == 0, deployed.stderr[-3000:]
    assert "done without TensorFlow" in deployed.stdout
    assert (tmp_path / "deploy_generator" / "grid.png").is_file()


@pytest.mark.slow
def test_translate_runs_where_tensorflow_is_not_installed(python, tmp_path):
    from PIL import Image

    from kerazoo import pairs

    artifact = tmp_path / "pix2pix.tflite"
    export(kerazoo.build("pix2pix", filters=4, max_filters=8, seed=0), format="tflite", out=artifact)
    maps, _ = pairs.synthetic_maps("test")
    Image.fromarray(maps[0]).save(tmp_path / "map.png")
    out = tmp_path / "aerial.png"
    script = (
        "import sys\n"
        "from kerazoo.cli import main\n"
        f"code = main(['translate', {str(artifact)!r}, 'map.png', '--out', {str(out)!r}])\n"
        "assert code == 0, code\n"
        "assert not [m for m in sys.modules if m.split('.')[0] in ('tensorflow', 'keras')], 'TF was imported'\n"
        f"assert main(['translate', {str(artifact)!r}, 'missing.png', '--out', 'x.png']) == 2\n"
    )
    result = subprocess.run([python, "-c", script], capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "image 'missing.png' does not exist" in result.stderr
    assert Image.open(out).size == (64, 64) and not (tmp_path / "x.png").exists()


@pytest.mark.slow
def test_the_built_wheel_is_the_light_install(tmp_path):
    """`python -m build` makes the sdist, and the wheel from it; the wheel holds the package and its
    data, no tests; pip installs it into a venv without TensorFlow resolving its declared
    dependencies (no --no-deps); there `kerazoo sample` works and training says what to install."""
    import tarfile
    import zipfile

    root = Path(kerazoo.__file__).resolve().parents[1]
    dist = tmp_path / "dist"
    built = subprocess.run(
        [sys.executable, "-m", "build", "--no-isolation", "--outdir", str(dist), str(root)],
        capture_output=True,
        text=True,
    )
    assert built.returncode == 0, built.stderr[-3000:]
    (wheel,) = dist.glob("kerazoo-*.whl")
    (sdist,) = dist.glob("kerazoo-*.tar.gz")
    names = zipfile.ZipFile(wheel).namelist()
    assert {"kerazoo/_data/airline_passengers.csv", "kerazoo/runtime.py", "kerazoo/cli.py"} <= set(names)
    assert not [n for n in names if n.split("/")[0] in ("tests", "benchmarks", "train", "export", "runs")]
    metadata = zipfile.ZipFile(wheel).read(next(n for n in names if n.endswith("METADATA"))).decode()
    requires = [
        line[len("Requires-Dist: ") :] for line in metadata.splitlines() if line.startswith("Requires-Dist:")
    ]
    plain = sorted(r.split(">")[0].split("<")[0] for r in requires if "extra ==" not in r)
    assert plain == ["ai-edge-litert", "numpy", "pillow"]
    assert any(r.startswith("tensorflow") and 'extra == "train"' in r for r in requires)
    members = tarfile.open(sdist).getnames()
    assert any(m.endswith("kerazoo/_data/airline_passengers.csv") for m in members)
    assert not [m for m in members if "/tests/" in m or m.endswith("/tests")]

    python = _light_venv(tmp_path / "venv", with_kerazoo=False)
    installed = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(python),
            "install",
            "--no-index",
            "--no-cache-dir",
            str(wheel),
        ],
        capture_output=True,
        text=True,
    )
    assert installed.returncode == 0, installed.stdout[-2000:] + installed.stderr[-2000:]
    artifact = tmp_path / "dcgan.tflite"
    export(kerazoo.build("dcgan", width=8), format="tflite", out=artifact)
    command = python.parent / "kerazoo"  # the console script the wheel installed
    sample = subprocess.run(
        [command, "sample", str(artifact), "--n", "4", "--out", str(tmp_path / "grid.png")],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert sample.returncode == 0 and (tmp_path / "grid.png").is_file(), sample.stderr[-2000:]
    train = subprocess.run([command, "train", "cnn"], capture_output=True, text=True, cwd=tmp_path)
    assert train.returncode == 2 and 'pip install "kerazoo[train]"' in train.stderr
    probe = subprocess.run(
        [
            python,
            "-c",
            "import kerazoo\ntry:\n    kerazoo.build\nexcept ModuleNotFoundError as e:\n    print(e)",
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert "kerazoo[train]" in probe.stdout, probe.stderr[-2000:]
    assert not (tmp_path / "runs").exists()


@pytest.mark.slow
def test_csv_sampling_runs_where_tensorflow_is_not_installed(python, tmp_path):
    kerazoo.train("tabular_gan", out=tmp_path / "run", epochs=1, hparams={"units": (8,)}, verbose=0)
    artifact = tmp_path / "table.tflite"
    export(tmp_path / "run", format="tflite", out=artifact)
    script = (
        "import csv, sys\n"
        "from kerazoo.cli import main\n"
        f"assert main(['sample', {str(artifact)!r}, '--n', '12', '--label', '0', '--out', 'synth.csv']) == 0\n"
        "assert not [m for m in sys.modules if m.split('.')[0] in ('tensorflow', 'keras', 'sklearn')], 'TF was imported'\n"
        "rows = list(csv.DictReader(open('synth.csv')))\n"
        "assert len(rows) == 12 and {r['diagnosis'] for r in rows} == {'benign'}, rows[:2]\n"
        "assert len(rows[0]) == 31 and float(rows[0]['mean radius']) > 0\n"
    )
    result = subprocess.run([python, "-c", script], capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]


@pytest.mark.slow
def test_diffusion_sampler_runs_where_tensorflow_is_not_installed_and_matches_keras(python, tmp_path):
    import numpy as np

    keras_model = kerazoo.build("cddpm", widths=(8, 16), seed=0)
    artifact = tmp_path / "denoiser.tflite"
    export(keras_model, format="tflite", out=artifact)
    expected = keras_model.sample(6, steps=5, seed=3, labels=4, guidance=2.0)
    expected = np.round((expected + 1) * 127.5).clip(0, 255).astype(np.uint8)
    np.save(tmp_path / "expected.npy", expected)
    script = (
        "import sys\n"
        "import numpy as np\n"
        "from kerazoo import runtime\n"
        f"images = runtime.load({str(artifact)!r}).sample(6, label=4, seed=3, steps=5, guidance=2.0)\n"
        "assert not [m for m in sys.modules if m.split('.')[0] in ('tensorflow', 'keras')], 'TF was imported'\n"
        "expected = np.load('expected.npy')\n"
        "assert np.abs(images.astype(int) - expected.astype(int)).max() <= 1, 'TF-free samples differ from Keras'\n"
        "from kerazoo.cli import main\n"
        f"assert main(['sample', {str(artifact)!r}, '--n', '4', '--steps', '3', '--out', 'grid.png']) == 0\n"
    )
    result = subprocess.run([python, "-c", script], capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert (tmp_path / "grid.png").is_file()

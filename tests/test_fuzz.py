"""Bad input, generated: every bad argument or file gets exit 2 and one line (CLI), or one ValueError
subclass with one line (library); nothing is written and no traceback is printed.

Each test counts the inputs it tried into `TRIED`; the session prints the total (README's reliability
section reports it).
"""

import os
import string

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import kerazoo
from kerazoo.cli import main
from kerazoo.training import UsageError

TRIED = {}
FAST = settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
FILES = settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)


def _count(name):
    TRIED[name] = TRIED.get(name, 0) + 1


@pytest.fixture(scope="module", autouse=True)
def _report():
    yield
    print(f"\nfuzz inputs tried: {sum(TRIED.values())} ({TRIED})")


@pytest.fixture(autouse=True)
def _no_training(monkeypatch):
    """A bad input must be refused before training starts: reaching `fit` fails the test at once."""

    def refuse(*args, **kwargs):
        raise AssertionError("a bad input reached training")

    monkeypatch.setattr("kerazoo.training.fit_resumable", refuse)


def _snapshot(folder):
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


def _run_cli(argv, folder, capsys):
    """Run the CLI in `folder`; return (status, stderr) and check nothing new was written there."""
    before = _snapshot(folder)
    cwd = os.getcwd()
    os.chdir(folder)
    try:
        try:
            status = main(argv)
        except SystemExit as e:
            status = e.code
    finally:
        os.chdir(cwd)
    err = capsys.readouterr().err
    assert _snapshot(folder) == before, f"{argv} wrote files"
    return status, err


def _assert_one_line_exit_2(status, err, argv):
    assert status == 2, f"{argv}: exit {status}, stderr {err[-500:]!r}"
    assert "Traceback" not in err, f"{argv}: {err[-800:]}"
    lines = [line for line in err.strip().splitlines() if line.strip()]
    # argparse prints its usage line before its one-line error; ours print exactly one line.
    assert lines and (len(lines) == 1 or lines[0].startswith("usage:")), f"{argv}: {err!r}"


# -- arguments -----------------------------------------------------------------------------------

junk_text = st.text(alphabet=string.ascii_letters + string.digits + "-_.,=/ ", min_size=0, max_size=12)
bad_ints = st.one_of(
    st.integers(max_value=0),
    st.integers(min_value=2**63),
    st.text(alphabet=string.ascii_letters + ".-", min_size=1, max_size=6),
    st.floats(allow_nan=True).map(repr),
)
KNOWN_DATASETS = (
    "digits",
    "mnist",
    "fashion_mnist",
    "breast_cancer",
    "synthetic_monthly",
    "airline",
    "csv",
    "doubling",
    "and",
    "or",
    "nand",
    "xor",
)
models = st.sampled_from(["cnn", "mlp", "gan", "dcgan", "cgan", "vae", "lstm_forecaster", "tabular_mlp"])


@st.composite
def bad_train_argv(draw):
    model = draw(models)
    kind = draw(st.integers(0, 9))
    if kind == 0:
        return ["train", model, "--epochs", str(draw(bad_ints))]
    if kind == 1:
        return ["train", model, "--batch-size", str(draw(bad_ints))]
    if kind == 2:
        return [
            "train",
            model,
            "--seed",
            str(draw(st.one_of(st.integers(max_value=-1), st.integers(min_value=2**32)))),
        ]
    if kind == 3:  # an unknown model
        name = draw(junk_text.filter(lambda s: s not in kerazoo.list_models()))
        return ["train", name]
    if kind == 4:  # an unknown dataset
        return ["train", model, "--dataset", draw(junk_text.filter(lambda s: s not in ("digits", "mnist")))]
    if kind == 5:  # an unknown hparam
        key = draw(st.text(alphabet=string.ascii_lowercase, min_size=1, max_size=8))
        return ["train", model, "--set", f"zz{key}={draw(junk_text)}"]
    if kind == 6:  # an unknown recipe key, or a bad value for a known one
        key = draw(
            st.sampled_from(["zzz", "epochs", "batch_size", "learning_rate", "schedule", "loss", "optimizer"])
        )
        value = draw(st.one_of(junk_text, st.sampled_from(["-1", "0", "nan", "inf", "1e400", "[]", "{}"])))
        return ["train", model, "--recipe", f"{key}={value}"]
    if kind == 7:
        return [
            "train",
            model,
            "--precision",
            draw(junk_text.filter(lambda s: s not in ("float32", "mixed", "auto"))),
        ]
    if kind == 8:
        return [
            "train",
            model,
            "--backup-every",
            str(draw(bad_ints.filter(lambda v: not (isinstance(v, int) and v > 0)))),
        ]
    return ["train", model, "--set", draw(junk_text.filter(lambda s: "=" not in s))]


@FAST
@given(argv=bad_train_argv())
def test_bad_train_arguments(tmp_path_factory, capsys, argv):
    folder = tmp_path_factory.mktemp("fuzz_args")
    if argv[-2] == "--recipe" and argv[-1].split("=", 1)[0] in ("epochs", "batch_size", "learning_rate"):
        value = argv[-1].split("=", 1)[1]
        try:
            if float(value) > 0 and np.isfinite(float(value)) and float(value) == int(float(value)):
                return  # a valid value: not a bad input
        except (ValueError, OverflowError):
            pass
    _count("train arguments")
    _assert_one_line_exit_2(*_run_cli(argv + ["--quiet"], folder, capsys), argv)


@FAST
@given(
    argv=st.one_of(
        st.tuples(st.just("export"), junk_text).map(list),
        st.tuples(st.just("evaluate"), junk_text).map(list),
        st.tuples(st.just("sample"), junk_text).map(list),
        st.tuples(st.just("sample"), st.just("x.tflite"), st.just("--n"), bad_ints.map(str)).map(list),
    )
)
def test_bad_paths_for_export_evaluate_sample(tmp_path_factory, capsys, argv):
    folder = tmp_path_factory.mktemp("fuzz_paths")
    (folder / "x.tflite").write_bytes(b"\0" * 8 + b"TFL3")  # not a model either
    _count("export/evaluate/sample paths")
    _assert_one_line_exit_2(*_run_cli(argv, folder, capsys), argv)


# -- files -------------------------------------------------------------------------------------


def _images(n, shape=(28, 28), dtype=np.uint8):
    return np.zeros((n, *shape), dtype)


@st.composite
def bad_mnist_files(draw):
    """(name, bytes or None, is_dir): a broken mnist.npz, or a broken idx folder."""
    kind = draw(st.integers(0, 8))
    if kind == 0:
        return "npz", draw(st.binary(max_size=200)), None  # garbage / empty
    if kind == 1:  # a truncated real archive
        return "npz_truncate", None, draw(st.floats(0.0, 0.95))
    if kind == 2:  # wrong dtype
        return (
            "npz_arrays",
            dict(
                x_train=_images(4, dtype=draw(st.sampled_from([np.float32, np.int64, np.float64]))),
                y_train=np.zeros(4, np.int64),
            ),
            None,
        )
    if kind == 3:  # wrong shape
        shape = draw(st.sampled_from([(4,), (4, 28), (0, 28, 28), (4, 28, 28, 3, 2)]))
        return (
            "npz_arrays",
            dict(x_train=np.zeros(shape, np.uint8), y_train=np.zeros(shape[:1], np.int64)),
            None,
        )
    if kind == 4:  # labels that do not fit
        labels = draw(st.sampled_from([np.full(4, -1), np.zeros((4, 3)), np.zeros(3), np.array([0.5] * 4)]))
        return "npz_arrays", dict(x_train=_images(4), y_train=labels), None
    if kind == 5:  # missing keys
        return "npz_arrays", dict(images=_images(4)), None
    if kind == 6:  # idx with a wrong magic number or garbage
        return "idx", draw(st.binary(max_size=64)), None
    if kind == 7:  # idx whose header promises more than it holds
        return (
            "idx",
            bytes([0, 0, 8, 3]) + (10**6).to_bytes(4, "big") + (28).to_bytes(4, "big") * 2 + b"\0" * 100,
            None,
        )
    return "dir", None, None  # a directory where the file should be


def _write_mnist(folder, case):
    kind, payload, extra = case
    if kind == "npz":
        (folder / "mnist.npz").write_bytes(payload)
    elif kind == "npz_truncate":
        path = folder / "full.npz"
        np.savez(path, x_train=_images(8), y_train=np.arange(8) % 10, x_test=_images(4), y_test=np.arange(4))
        data = path.read_bytes()
        path.unlink()
        (folder / "mnist.npz").write_bytes(data[: int(len(data) * extra)])
    elif kind == "npz_arrays":
        arrays = {"x_test": _images(2), "y_test": np.zeros(2, np.int64), **payload}
        np.savez(folder / "mnist.npz", **arrays)
    elif kind == "idx":
        raw = folder / "raw" / "mnist"
        raw.mkdir(parents=True)
        for name in (
            "train-images-idx3-ubyte",
            "train-labels-idx1-ubyte",
            "t10k-images-idx3-ubyte",
            "t10k-labels-idx1-ubyte",
        ):
            (raw / name).write_bytes(payload)
    else:
        (folder / "mnist.npz").mkdir()


@FILES
@given(case=bad_mnist_files(), model=st.sampled_from(["cnn", "gan"]))
def test_broken_mnist_files(tmp_path_factory, capsys, case, model):
    folder = tmp_path_factory.mktemp("fuzz_mnist")
    _write_mnist(folder, case)
    argv = [
        "train",
        model,
        "--dataset",
        "mnist",
        "--data-dir",
        str(folder),
        "--epochs",
        "1",
        "--quiet",
        "--out",
        str(folder / "run"),
    ]
    _count("MNIST files")
    _assert_one_line_exit_2(*_run_cli(argv, folder, capsys), case[0])


@FILES
@given(
    content=st.one_of(
        st.binary(max_size=300),
        st.text(max_size=300),
        st.lists(st.tuples(junk_text, st.one_of(st.floats(), junk_text)), max_size=30).map(
            lambda rows: "month,sales\n" + "".join(f"{a},{b}\n" for a, b in rows)
        ),
    )
)
def test_broken_csv_files(tmp_path_factory, capsys, content):
    folder = tmp_path_factory.mktemp("fuzz_csv")
    path = folder / "series.csv"
    (path.write_bytes if isinstance(content, bytes) else path.write_text)(content)
    argv = [
        "train",
        "lstm_forecaster",
        "--dataset",
        "csv",
        "--csv",
        str(path),
        "--epochs",
        "1",
        "--quiet",
        "--out",
        str(folder / "run"),
    ]
    _count("CSV files")
    _assert_one_line_exit_2(*_run_cli(argv, folder, capsys), content[:40])


@FILES
@given(content=st.one_of(st.binary(max_size=400), st.binary(max_size=64).map(lambda b: b"\0\0\0\0TFL3" + b)))
def test_broken_tflite_files(tmp_path_factory, capsys, content):
    folder = tmp_path_factory.mktemp("fuzz_tflite")
    (folder / "g.tflite").write_bytes(content)
    _count(".tflite files")
    _assert_one_line_exit_2(
        *_run_cli(["sample", "g.tflite", "--out", "grid.png"], folder, capsys), content[:20]
    )
    from kerazoo import runtime

    with pytest.raises(runtime.ArtifactError) as info:
        runtime.load(folder / "g.tflite")
    assert "\n" not in str(info.value)


@FILES
@given(content=st.one_of(st.binary(max_size=400), st.just(b"PK\x03\x04")))
def test_broken_keras_files(tmp_path_factory, capsys, content):
    folder = tmp_path_factory.mktemp("fuzz_keras")
    (folder / "model.keras").write_bytes(content)
    _count(".keras files")
    _assert_one_line_exit_2(
        *_run_cli(["export", "model.keras", "--out", "m.tflite"], folder, capsys), content[:20]
    )


def test_output_paths_that_cannot_be_written(tmp_path, capsys):
    (tmp_path / "afile").write_text("x")
    for argv in (
        ["train", "neuron", "--out", str(tmp_path / "afile" / "run"), "--quiet"],
        ["train", "neuron", "--out", str(tmp_path / "afile"), "--quiet"],
    ):
        _count("output paths")
        _assert_one_line_exit_2(*_run_cli(argv, tmp_path, capsys), argv)
    if os.geteuid() != 0:  # root writes anywhere
        locked = tmp_path / "locked"
        locked.mkdir()
        locked.chmod(0o500)
        _count("output paths")
        _assert_one_line_exit_2(
            *_run_cli(["train", "neuron", "--out", str(locked / "run"), "--quiet"], tmp_path, capsys),
            "read-only",
        )


@FAST
@given(
    kwargs=st.one_of(
        st.fixed_dictionaries({"epochs": bad_ints}),
        st.fixed_dictionaries({"batch_size": st.integers(min_value=2**21)}),
        st.fixed_dictionaries(
            {"batch_size": st.one_of(st.integers(max_value=0), st.none().map(lambda _: "8"))}
        ),
        st.fixed_dictionaries(
            {"seed": st.one_of(st.integers(max_value=-1), st.integers(min_value=2**32), st.just(1.5))}
        ),
        st.fixed_dictionaries(
            {
                "hparams": st.dictionaries(
                    st.text(string.ascii_lowercase, min_size=1, max_size=6).map(lambda s: "zz" + s),
                    st.integers(),
                    min_size=1,
                    max_size=2,
                )
            }
        ),
        st.fixed_dictionaries(
            {
                "recipe": st.dictionaries(
                    st.sampled_from(["learning_rate", "epochs", "zz"]),
                    st.one_of(st.integers(max_value=0), junk_text),
                    min_size=1,
                )
            }
        ),
        st.fixed_dictionaries(
            {"precision": junk_text.filter(lambda s: s not in ("float32", "mixed", "auto"))}
        ),
        st.fixed_dictionaries(
            {"strategy": junk_text.filter(lambda s: s not in ("default", "mirrored", "multi_worker"))}
        ),
        st.fixed_dictionaries({"backup_every": st.one_of(st.integers(max_value=0), st.just("10"))}),
        st.fixed_dictionaries({"dataset": junk_text.filter(lambda s: s not in ("digits",))}),
    ),
    model=models,
)
def test_library_train_bad_arguments(tmp_path_factory, kwargs, model):
    folder = tmp_path_factory.mktemp("fuzz_lib")
    _count("library arguments")
    with pytest.raises(ValueError) as info:
        kerazoo.train(model, out=folder / "run", verbose=0, **kwargs)
    assert type(info.value).__name__ in ("UsageError", "DataError"), repr(info.value)
    assert "\n" not in str(info.value)
    assert list(folder.iterdir()) == []


@FAST
@given(
    args=st.one_of(
        st.tuples(junk_text.filter(lambda s: s not in KNOWN_DATASETS), st.just("train"), st.just(8)),
        st.tuples(st.just("digits"), junk_text.filter(lambda s: s not in ("train", "test")), st.just(8)),
        st.tuples(
            st.just("digits"),
            st.just("train"),
            st.one_of(st.integers(max_value=0), st.just(2.5), st.just("8")),
        ),
    )
)
def test_make_dataset_bad_arguments(args):
    _count("make_dataset arguments")
    name, split, batch = args
    with pytest.raises(kerazoo.data.DataError) as info:
        kerazoo.make_dataset(name, split, batch)
    assert "\n" not in str(info.value)


def test_images_of_the_wrong_size_or_channels_are_refused(tmp_path):
    """A generator's images against a discriminator, and a classifier's inputs: clear errors."""
    gan = kerazoo.build("dcgan", width=8)
    gan.compile()
    for shape in ((2, 32, 32, 1), (2, 28, 28, 3)):
        _count("image shapes")
        with pytest.raises(ValueError, match="Images of shape"):
            gan.train_step(np.zeros(shape, np.float32))
    _count("image shapes")
    with pytest.raises(UsageError, match="expects"):
        kerazoo.train(
            "cnn", dataset="digits", hparams={"input_shape": (32, 32, 1)}, out=tmp_path / "r", verbose=0
        )
    assert list(tmp_path.iterdir()) == []

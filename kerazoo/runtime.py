"""Run exported `.tflite` (LiteRT) artifacts without TensorFlow.

This module imports only NumPy, `ai_edge_litert` and Pillow, so an exported generator can be
deployed where TensorFlow is not installed (see README, "Deploying without TensorFlow"):

    from kerazoo import runtime
    generator = runtime.load("dcgan.tflite")
    images = generator.sample(64, seed=0)          # uint8, (64, 28, 28, 1)
    runtime.save_grid(images, "grid.png")

The metadata JSON that `kerazoo export` writes beside every artifact (`ARTIFACT.json`) tells the
runtime the class count of a conditional generator; everything else is read from the artifact's
serving signature.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import numpy as np

from kerazoo._checks import check_file, check_positive_int
from kerazoo._io import atomic_write, check_output

__all__ = [
    "ArtifactError",
    "LiteModel",
    "Generator",
    "DiffusionSampler",
    "StyleSynthesis",
    "Translator",
    "TableSampler",
    "TablePredictor",
    "load",
    "register_role",
    "metadata_path",
    "image_grid",
    "save_grid",
    "mixed_styles",
    "mixing_tiles",
    "portable_noise",
]

SIGNATURE = "serving_default"


class ArtifactError(ValueError):
    """A missing or unusable artifact, or bad arguments for it (the CLI exits 2 with this)."""


def metadata_path(artifact) -> Path:
    """Where `kerazoo export` writes an artifact's metadata: `ARTIFACT.json` beside it."""
    artifact = Path(artifact)
    return artifact.with_name(artifact.name + ".json")


def _read_metadata(artifact) -> dict:
    path = metadata_path(artifact)
    if not path.is_file():
        return {}
    try:
        return json.loads(path.read_text())
    except ValueError as e:
        raise ArtifactError(
            f"Metadata file '{path}' is not valid JSON ({e}). Export the model again."
        ) from None


class LiteModel:
    """The serving signature of a `.tflite` file (LiteRT), or of an `.onnx` file (ONNX Runtime, the
    `onnx` extra: `pip install "kerazoo[onnx]"`), called with named NumPy arrays.

    A model exported with a fixed batch size (`kerazoo export --batch-size N`) is fed in chunks of
    N (the last one padded), so callers can pass any number of rows either way.

    Example:
        ```python
        model = LiteModel("cnn.tflite")
        model(images=x)["probabilities"]
        ```

    Args:
        path: the `.tflite` file.
        num_threads: interpreter threads. Defaults to the machine's CPU count (LiteRT's own default
            runs the XNNPACK kernels on one thread).
        signature: which of the file's signatures to run (`serving_default` by default; a StyleGAN
            synthesis export also has `mapping`).
    """

    def __init__(self, path, num_threads: int | None = None, signature: str | None = None):
        path = Path(path)
        if path.is_dir():
            raise ArtifactError(
                f"'{path}' is a directory (a SavedModel?). This runtime runs .tflite files; "
                "export one with `kerazoo export ... --format tflite`."
            )
        if not path.is_file():
            raise ArtifactError(f"No artifact at '{path}'. Pass the path of an exported .tflite file.")
        self.path = path
        self.metadata = _read_metadata(path)
        if path.suffix.lower() == ".onnx":
            self._open_onnx(path, num_threads, signature)
            return
        # A flatbuffer's file identifier sits at bytes 4..8; the interpreter is only given what has it.
        check_file(path, ".tflite file", error=ArtifactError, magic=b"TFL3", offset=4)
        from ai_edge_litert.interpreter import Interpreter

        try:
            self._interpreter = Interpreter(model_path=str(path), num_threads=num_threads or os.cpu_count())
            signatures = self._interpreter.get_signature_list()
        except (ValueError, RuntimeError) as e:
            raise ArtifactError(f"'{path}' is not a valid .tflite file ({str(e).strip()[:200]}).") from None
        if not signatures:
            raise ArtifactError(f"'{path}' has no serving signature; export it with `kerazoo export`.")
        if signature is not None and signature not in signatures:
            raise ArtifactError(f"'{path}' has no signature '{signature}' (it has {sorted(signatures)}).")
        self.signatures = tuple(signatures)
        self.signature = signature or (SIGNATURE if SIGNATURE in signatures else next(iter(signatures)))
        self._runner = self._interpreter.get_signature_runner(self.signature)
        details = self._runner.get_input_details()
        self.input_specs = {
            name: (tuple(int(d) for d in d_["shape_signature"]), np.dtype(d_["dtype"]))
            for name, d_ in details.items()
        }
        self.output_names = tuple(signatures[self.signature]["outputs"])
        self._batch_size()

    def _batch_size(self):
        batch = {spec[0][0] for spec in self.input_specs.values()}
        self.batch_size = None if -1 in batch or not batch else batch.pop()

    def _open_onnx(self, path, num_threads, signature):
        """An ONNX Runtime session standing in for the interpreter: the same named inputs and outputs
        (an output that shares an input's name is stored renamed, as the metadata records)."""
        if signature not in (None, SIGNATURE):
            raise ArtifactError(f"'{path}' is an ONNX file: it has one signature, not '{signature}'.")
        check_file(path, "ONNX file", error=ArtifactError)
        try:
            import onnxruntime
        except ImportError:
            raise ArtifactError(
                f"'{path.name}' is an ONNX file and onnxruntime is not installed: "
                'pip install "kerazoo[onnx]" (or use the .tflite export).'
            ) from None
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = num_threads or os.cpu_count() or 1
        options.log_severity_level = 3
        try:
            session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        except Exception as e:  # noqa: BLE001 - onnxruntime raises its own exception types
            raise ArtifactError(f"'{path}' is not a valid ONNX file ({str(e).strip()[:200]}).") from None
        types = {"tensor(float)": np.float32, "tensor(int32)": np.int32, "tensor(uint8)": np.uint8}
        self.input_specs = {
            i.name: (
                tuple(d if isinstance(d, int) else -1 for d in i.shape),
                np.dtype(types.get(i.type, np.float32)),
            )
            for i in session.get_inputs()
        }
        renamed = self.metadata.get("onnx_renamed_outputs", {})
        stored = [o.name for o in session.get_outputs()]
        self.output_names = tuple(renamed.get(name, name) for name in stored)
        self.signatures, self.signature = (SIGNATURE,), SIGNATURE
        self._interpreter = None
        self._session = session
        self._runner = lambda **inputs: dict(zip(self.output_names, session.run(stored, inputs)))
        self._batch_size()

    def ops(self) -> list:
        """The names of the operators in the graph (sorted, unique): TFLite's before any delegate
        (XNNPACK) replaces them, or an ONNX file's node types (needs the `onnx` package)."""
        if self._interpreter is None:
            import onnx

            return sorted({node.op_type for node in onnx.load(str(self.path)).graph.node})
        from ai_edge_litert.interpreter import Interpreter, OpResolverType

        plain = Interpreter(
            model_path=str(self.path),
            experimental_op_resolver_type=OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES,
        )
        return sorted({op["op_name"] for op in plain._get_ops_details()})

    def _check(self, inputs: dict) -> dict:
        missing = set(self.input_specs) - set(inputs)
        extra = set(inputs) - set(self.input_specs)
        if missing or extra:
            raise ArtifactError(
                f"The model takes inputs {sorted(self.input_specs)}. Received: {sorted(inputs)}"
            )
        checked, rows = {}, set()
        for name, value in inputs.items():
            shape, dtype = self.input_specs[name]
            value = np.asarray(value)
            if value.ndim != len(shape) or any(s not in (-1, v) for s, v in zip(shape[1:], value.shape[1:])):
                want = "(N, " + ", ".join(str(s) for s in shape[1:]) + ")" if len(shape) > 1 else "(N,)"
                raise ArtifactError(f"Input '{name}' must have shape {want}. Received: shape={value.shape}")
            checked[name] = value.astype(dtype, copy=False)
            rows.add(value.shape[0])
        if len(rows) != 1:
            raise ArtifactError(f"Every input needs the same number of rows. Received: {sorted(rows)}")
        return checked

    def __call__(self, **inputs) -> dict:
        """Run the signature; returns `{output name: array}` with one row per input row."""
        inputs = self._check(inputs)
        n = len(next(iter(inputs.values())))
        if n == 0:
            raise ArtifactError("Inputs have no rows.")
        if self.batch_size is None:
            return {k: np.asarray(v) for k, v in self._runner(**inputs).items()}
        chunks, b = [], self.batch_size
        for start in range(0, n, b):
            part = {k: v[start : start + b] for k, v in inputs.items()}
            short = b - len(next(iter(part.values())))
            if short:  # pad the last chunk with copies of its last row
                part = {k: np.concatenate([v, np.repeat(v[-1:], short, axis=0)]) for k, v in part.items()}
            out = self._runner(**part)
            chunks.append({k: np.asarray(v)[: b - short] for k, v in out.items()})
        return {k: np.concatenate([c[k] for c in chunks]) for k in chunks[0]}


_ROLES: dict = {}


def register_role(role: str):
    """Class decorator: the `LiteModel` subclass that `load` returns for artifacts whose metadata says
    `"role": role` (`kerazoo export` writes it). Its `accepts(model)` classmethod recognises an artifact
    of the role from its signature alone, for artifacts without metadata."""

    def decorate(cls):
        if role in _ROLES:
            raise ValueError(f"A runtime class is already registered for the role '{role}'.")
        _ROLES[role] = cls
        return cls

    return decorate


class _ClassLabels:
    """What a generator and a diffusion sampler share: the class of each sample drawn."""

    def labels_for(self, n: int, label=None):
        """The int32 class of each of `n` samples: None for an unconditional model, every class in
        turn for `label=None` (a grid with one column per class), else `label` for all; what
        `sample` draws.

        Raises:
            ArtifactError: a label for an unconditional model, a label out of range, or a
                conditional model without the metadata that gives its class count.
        """
        if not self.conditional:
            if label is not None:
                raise ArtifactError(f"'{self.path.name}' is an unconditional model: drop --label.")
            return None
        if self.num_classes is None:
            raise ArtifactError(
                f"Cannot check labels: no metadata file '{metadata_path(self.path)}' beside the "
                "conditional model. Export it again with `kerazoo export`."
            )
        if label is None:
            return np.arange(n, dtype=np.int32) % self.num_classes
        if (
            isinstance(label, bool)
            or not isinstance(label, (int, np.integer))
            or not 0 <= label < self.num_classes
        ):
            raise ArtifactError(
                f"--label must be a class id in 0..{self.num_classes - 1} for this model. Received: label={label!r}"
            )
        return np.full(n, label, dtype=np.int32)


@register_role("generator")
class Generator(_ClassLabels, LiteModel):
    """An exported generator (GAN generator or VAE decoder): `noise` (and `labels`) -> images.

    Example:
        ```python
        generator = Generator("cgan.tflite")
        threes = generator.sample(16, label=3, seed=0)   # uint8 (16, 28, 28, 1)
        ```
    """

    def __init__(self, path, num_threads: int | None = None):
        super().__init__(path, num_threads)
        if not self.accepts(self):
            raise ArtifactError(
                f"'{self.path}' is not an exported {self.kind} (inputs {sorted(self.input_specs)}, "
                f"outputs {list(self.output_names)}). Export a {self.source} run."
            )
        self.latent_dim = self.input_specs["noise"][0][-1]
        self.conditional = "labels" in self.input_specs
        self.num_classes = self.metadata.get("num_classes")
        self.truncatable = "truncation" in self.input_specs  # a StyleGAN generator

    kind, source = "generator", "GAN or VAE"

    @classmethod
    def accepts(cls, model: LiteModel) -> bool:
        """Whether `model` is a generator (input `noise`, output `images_uint8`)."""
        return "noise" in model.input_specs and "images_uint8" in model.output_names

    def generate(self, noise, labels=None, truncation=None) -> dict:
        """Images from given noise (and labels; for a StyleGAN generator a truncation psi, 1 by
        default): `{"images": float32, "images_uint8": uint8}`."""
        inputs = {"noise": noise}
        if self.conditional:
            if labels is None:
                raise ArtifactError("This generator is conditional: pass labels (int32 class ids).")
            inputs["labels"] = labels
        if self.truncatable:
            psi = 1.0 if truncation is None else check_truncation(truncation)
            inputs["truncation"] = np.full(len(noise), psi, np.float32)
        elif truncation is not None:
            raise ArtifactError(
                f"'{self.path.name}' takes no truncation: --truncation is for StyleGAN exports."
            )
        return self(**inputs)

    def sample(
        self, n: int, label: int | None = None, seed: int | None = None, truncation: float | None = None
    ) -> np.ndarray:
        """`n` images as uint8 `(n, H, W, C)` from standard-normal noise drawn with `seed` (a StyleGAN
        generator's `truncation` psi in [-1, 1]: 1 none, 0 the average image)."""
        check_positive_int("n", n, label="--n", error=ArtifactError)
        labels = self.labels_for(n, label)
        noise = np.random.default_rng(seed).standard_normal((n, self.latent_dim)).astype(np.float32)
        return self.generate(noise, labels, truncation)["images_uint8"]


def portable_noise(seed: int, shape) -> np.ndarray:
    """Standard-normal float32 noise of `shape` that JavaScript draws identically: what a
    `kerazoo export --format web` page feeds its model for a seed, so Python reproduces the page's
    images (`generator.generate(portable_noise(seed, (n, generator.latent_dim)))`).

    The generator is mulberry32 (32-bit state, seeded with `seed` mod 2**32) and each value is
    `sqrt(-2 ln(1 - u1)) cos(2 pi u2)` from two of its uniforms (Box-Muller), computed in float64
    and rounded to float32. Slower than NumPy's generators; meant for the page's sizes.
    """
    mask = 0xFFFFFFFF
    count = math.prod(int(d) for d in shape)
    state = int(seed) & mask
    out = np.empty(count, np.float64)
    uniforms = np.empty(2 * count, np.float64)
    for i in range(2 * count):
        state = (state + 0x6D2B79F5) & mask
        t = ((state ^ (state >> 15)) * (1 | state)) & mask
        t = ((t + (((t ^ (t >> 7)) * (61 | t)) & mask)) & mask) ^ t
        uniforms[i] = ((t ^ (t >> 14)) & mask) / 4294967296.0
    u1, u2 = 1.0 - uniforms[0::2], uniforms[1::2]
    for i in range(count):
        out[i] = math.sqrt(-2.0 * math.log(u1[i])) * math.cos(2.0 * math.pi * u2[i])
    return out.astype(np.float32).reshape(tuple(int(d) for d in shape))


def check_truncation(psi) -> float:
    """`psi` as a float if it is a number in [-1, 1]; `ArtifactError` with one line otherwise."""
    if (
        isinstance(psi, bool)
        or not isinstance(psi, (int, float, np.integer, np.floating))
        or not -1.0 <= psi <= 1.0
    ):
        raise ArtifactError(
            f"--truncation must be a number in [-1, 1] (1: none, 0: the average image). Received: {psi!r}"
        )
    return float(psi)


def check_crossover(crossover, num_ws: int) -> int:
    """`crossover` as an int if it is a layer index in 0..num_ws; `ArtifactError` with one line otherwise."""
    if (
        isinstance(crossover, bool)
        or not isinstance(crossover, (int, np.integer))
        or not 0 <= crossover <= num_ws
    ):
        raise ArtifactError(
            f"--crossover must be a layer index in 0..{num_ws} for this synthesis network ({num_ws} styles; "
            f"0: all from the --mix seed). Received: {crossover!r}"
        )
    return int(crossover)


def mixed_styles(first, second, crossover: int, num_ws: int) -> np.ndarray:
    """Per-layer styles `(n, num_ws, w_dim)` from two w arrays `(n, w_dim)`: `first` for layers
    `0 .. crossover - 1` (the coarse styles), `second` from `crossover` on (crossover 0: all `second`)."""
    styles = np.repeat(np.asarray(first, np.float32)[:, None], num_ws, axis=1)
    styles[:, crossover:] = np.asarray(second, np.float32)[:, None]
    return styles


def mixing_tiles(images_for, rows, columns, crossover: int, num_ws: int) -> np.ndarray:
    """The tiles of a style-mixing grid (Karras et al. 2019, Figure 3), for `save_grid(...,
    columns=len(columns) + 1)`: a blank corner, the column w's images along the top, the row w's
    images down the left, and in cell (i, j) the coarse styles (layers before `crossover`) of row
    w `i` with the fine styles of column w `j`. `rows`, `columns`: w arrays `(n, w_dim)`;
    `images_for(styles)`: uint8 images for styles `(n, num_ws, w_dim)`."""
    rows, columns = np.asarray(rows, np.float32), np.asarray(columns, np.float32)
    top = images_for(mixed_styles(columns, columns, num_ws, num_ws))
    left = images_for(mixed_styles(rows, rows, num_ws, num_ws))
    first = np.repeat(rows, len(columns), axis=0)
    second = np.tile(columns, (len(rows), 1))
    cells = images_for(mixed_styles(first, second, crossover, num_ws)).reshape(
        len(rows), len(columns), *top.shape[1:]
    )
    tiles = [np.zeros_like(top[0]), *top]
    for i in range(len(rows)):
        tiles += [left[i], *cells[i]]
    return np.stack(tiles)


@register_role("diffusion")
class DiffusionSampler(_ClassLabels, LiteModel):
    """An exported diffusion denoiser (`ddpm`, `cddpm`): the DDIM loop of `kerazoo.sampling` runs in
    NumPy around it, with the noise schedule from its metadata; no TensorFlow.

    Example:
        ```python
        sampler = DiffusionSampler("denoiser.tflite")
        sevens = sampler.sample(16, steps=25, label=7, guidance=3.0, seed=0)   # uint8 (16, 28, 28, 1)
        ```
    """

    def __init__(self, path, num_threads: int | None = None):
        super().__init__(path, num_threads)
        if not self.accepts(self):
            raise ArtifactError(
                f"'{self.path}' is not an exported diffusion denoiser with its metadata (inputs "
                f"{sorted(self.input_specs)}). Export a ddpm or cddpm run with `kerazoo export`."
            )
        from kerazoo import sampling

        self.schedule = sampling.Schedule.from_json(self.metadata["schedule"])
        self.num_classes = self.metadata.get("num_classes")
        self.conditional = "labels" in self.input_specs
        self.image_shape = tuple(self.input_specs["x_t"][0][1:])
        self.sample_steps = int(self.metadata.get("sample_steps", 25))
        self.guidance = float(self.metadata.get("guidance", 1.0))

    @classmethod
    def accepts(cls, model: LiteModel) -> bool:
        """Whether `model` is a diffusion denoiser (inputs `x_t`, `t`, a schedule in its metadata)."""
        return {"x_t", "t"} <= set(model.input_specs) and bool(model.metadata.get("schedule"))

    def predict_eps(self, x, t, labels=None):
        """The denoiser's noise prediction; `labels=None` asks a conditional one for the unconditional
        prediction (the null class)."""
        inputs = {"x_t": x, "t": t}
        if self.conditional:
            inputs["labels"] = np.full(len(x), self.num_classes, np.int32) if labels is None else labels
        return self(**inputs)["noise"]

    def sample(
        self,
        n: int,
        label: int | None = None,
        seed: int | None = None,
        steps: int | None = None,
        guidance: float | None = None,
        eta: float = 0.0,
    ) -> np.ndarray:
        """`n` images as uint8 `(n, H, W, C)` by DDIM (`kerazoo.sampling.ddim_sample`).

        Args:
            n: how many images.
            label: the class of every image (a conditional denoiser), or None: every class in turn
                for a conditional one.
            seed: the noise seed.
            steps: denoising steps (default: the metadata's `sample_steps`).
            guidance: classifier-free guidance weight (default: the metadata's; conditional only).
            eta: DDIM's noise, 0 to 1.

        Raises:
            ArtifactError: bad n, label, steps, guidance or eta.
        """
        from kerazoo import sampling

        check_positive_int("n", n, label="--n", error=ArtifactError)
        labels = self.labels_for(n, label)
        if guidance is not None and not self.conditional:
            raise ArtifactError(f"'{self.path.name}' is an unconditional model: drop --guidance.")
        guidance = self.guidance if guidance is None else guidance
        try:
            x = sampling.ddim_sample(
                self.predict_eps,
                (n, *self.image_shape),
                self.schedule,
                self.sample_steps if steps is None else steps,
                eta=eta,
                seed=0 if seed is None else seed,
                labels=labels,
                guidance=guidance if labels is not None else 1.0,
            )
        except ValueError as e:
            raise ArtifactError(
                str(e).replace("`steps`", "--steps").replace("`guidance`", "--guidance")
            ) from None
        return np.round((x + 1.0) * 127.5).clip(0, 255).astype(np.uint8)


@register_role("styles")
class StyleSynthesis(_ClassLabels, LiteModel):
    """An exported StyleGAN synthesis network (`kerazoo export RUN --signature styles`): its
    `serving_default` signature takes `styles` `(N, num_ws, w_dim)`, one w per layer, and its
    `mapping` signature `noise`, `truncation` -> `w`. Style mixing without TensorFlow:

    Example:
        ```python
        synthesis = StyleSynthesis("synthesis.tflite")
        images = synthesis.sample(16, seed=0, truncation=0.7)               # uint8 (16, 28, 28, 1)
        mixed = synthesis.sample(16, seed=0, mix_seed=1, crossover=3)       # coarse from seed 0
        ```
    """

    conditional, num_classes = False, None

    def __init__(self, path, num_threads: int | None = None):
        super().__init__(path, num_threads)
        if not self.accepts(self):
            raise ArtifactError(
                f"'{self.path}' is not an exported StyleGAN synthesis network (signatures "
                f"{list(self.signatures)}, inputs {sorted(self.input_specs)}). Export a stylegan run "
                "with `kerazoo export RUN --signature styles`."
            )
        self.mapping = LiteModel(path, num_threads, signature="mapping")
        self.num_ws, self.w_dim = self.input_specs["styles"][0][1:]
        self.latent_dim = self.mapping.input_specs["noise"][0][-1]

    @classmethod
    def accepts(cls, model: LiteModel) -> bool:
        """Whether `model` is a synthesis network (input `styles`, a `mapping` signature)."""
        return "styles" in model.input_specs and "mapping" in model.signatures

    def map(self, noise, truncation: float = 1.0) -> np.ndarray:
        """w `(n, w_dim)` for noise `(n, latent_dim)`, moved towards the average w by `truncation`."""
        psi = check_truncation(truncation)
        noise = np.asarray(noise, np.float32)
        return self.mapping(noise=noise, truncation=np.full(len(noise), psi, np.float32))["w"]

    def synthesize(self, styles) -> dict:
        """Images for per-layer styles `(n, num_ws, w_dim)`: `{"images", "images_uint8"}`."""
        return self(styles=styles)

    def noise(self, n: int, seed: int | None) -> np.ndarray:
        """`n` standard-normal noise vectors drawn with `seed` (as `Generator.sample` draws them)."""
        return np.random.default_rng(seed).standard_normal((n, self.latent_dim)).astype(np.float32)

    def sample(
        self,
        n: int,
        label=None,
        seed: int | None = None,
        truncation: float | None = None,
        mix_seed: int | None = None,
        crossover: int | None = None,
    ) -> np.ndarray:
        """`n` images as uint8 from the noise of `seed`; with `mix_seed`, each image takes its coarse
        styles (layers before `crossover`, default half of them) from `seed`'s noise and the rest from
        `mix_seed`'s. The same seed and truncation give `Generator.sample`'s images."""
        check_positive_int("n", n, label="--n", error=ArtifactError)
        self.labels_for(n, label)
        psi = 1.0 if truncation is None else truncation
        first = self.map(self.noise(n, seed), psi)
        if mix_seed is None:
            if crossover is not None:
                raise ArtifactError("--crossover needs --mix SEED (the seed of the fine styles).")
            return self.synthesize(mixed_styles(first, first, self.num_ws, self.num_ws))["images_uint8"]
        crossover = check_crossover(self.num_ws // 2 if crossover is None else crossover, self.num_ws)
        second = self.map(self.noise(n, mix_seed), psi)
        return self.synthesize(mixed_styles(first, second, crossover, self.num_ws))["images_uint8"]


@register_role("translator")
class Translator(LiteModel):
    """An exported image-to-image generator (pix2pix, SRGAN): `images` in -> `images`, `images_uint8`.

    Example:
        ```python
        translator = Translator("pix2pix.tflite")
        aerial = translator.translate(map_tiles)            # uint8 (N, 64, 64, 3) -> uint8
        inputs, outputs = translator.translate_files(["map.png"])
        ```
    """

    def __init__(self, path, num_threads: int | None = None):
        super().__init__(path, num_threads)
        if not self.accepts(self):
            raise ArtifactError(
                f"'{self.path}' is not an exported translator (role {self.metadata.get('role')!r}, inputs "
                f"{sorted(self.input_specs)}). Export a pix2pix or SRGAN run with `kerazoo export`."
            )
        self.input_shape = tuple(self.input_specs["images"][0][1:])
        low, high = self.metadata.get("input_range", (-1.0, 1.0))
        self.input_range = (float(low), float(high))

    @classmethod
    def accepts(cls, model: LiteModel) -> bool:
        """Whether `model` is a translator (its metadata's role; input `images`)."""
        # Autoencoders have the same signature; only the metadata tells a translator apart.
        return model.metadata.get("role") == "translator" and "images" in model.input_specs

    def translate(self, images) -> np.ndarray:
        """uint8 images of the input shape `(N, H, W, C)` -> the outputs, uint8 `(N, H', W', C')`."""
        images = np.asarray(images)
        if images.ndim == 3:
            images = images[None]
        if images.dtype != np.uint8 or tuple(images.shape[1:]) != self.input_shape:
            raise ArtifactError(
                f"translate takes uint8 images of shape (N, {', '.join(map(str, self.input_shape))}). "
                f"Received: {images.shape} {images.dtype}; translate_files resizes image files."
            )
        low, high = self.input_range
        x = images.astype(np.float32) * ((high - low) / 255.0) + low
        return self(images=x)["images_uint8"]

    def read(self, path) -> np.ndarray:
        """An image file as the model's input: uint8, grey or RGB as it takes, resized (bicubic) to
        its input size when it differs."""
        from PIL import Image, UnidentifiedImageError

        path = check_file(path, "image", error=ArtifactError)
        h, w, c = self.input_shape
        try:
            with Image.open(path) as im:
                im = im.convert("L" if c == 1 else "RGB")
                if im.size != (w, h):
                    im = im.resize((w, h), Image.Resampling.BICUBIC)
                array = np.asarray(im)
        except (OSError, UnidentifiedImageError, ValueError) as e:
            raise ArtifactError(f"Cannot read image '{path}' ({str(e)[:120]}).") from None
        return array.reshape(h, w, c)

    def translate_files(self, paths) -> tuple:
        """`(inputs, outputs)` uint8 for image files (see `read`)."""
        inputs = np.stack([self.read(p) for p in paths])
        return inputs, self.translate(inputs)


@register_role("table_generator")
class TableSampler(Generator):
    """An exported table generator (`tabular_gan`): `noise`, `labels` -> encoded rows, decoded into
    the original columns by the transform in its metadata (NumPy only).

    Example:
        ```python
        sampler = TableSampler("tabular_gan.tflite")
        table = sampler.sample_table(100, label=1, seed=0)   # a kerazoo.tables.Table
        sampler.write_csv(100, "synth.csv")
        ```
    """

    kind, source = "table generator (with its metadata)", "tabular_gan"

    def __init__(self, path, num_threads: int | None = None):
        from kerazoo.tables import TableTransform

        super().__init__(path, num_threads)
        self.transform = TableTransform.from_json(self.metadata["table_transform"])
        self.num_classes = len(self.transform.classes)

    @classmethod
    def accepts(cls, model: LiteModel) -> bool:
        """Whether `model` is a table generator (a table transform in its metadata, output `rows`)."""
        return bool(model.metadata.get("table_transform")) and "rows" in model.output_names

    def class_id(self, label) -> int | None:
        """The class id of `label`: a class as it is written in the table's label column (`"malignant"`,
        or `"4"` for a column of numbers), else a class id (an int, or its digits)."""
        if label is None or isinstance(label, (int, np.integer)):
            return label
        names = [str(c) for c in self.transform.classes]
        if str(label) in names:
            return names.index(str(label))
        if str(label).isdigit():
            return int(label)
        raise ArtifactError(
            f"--label must be one of the classes of '{self.transform.label}' ({', '.join(names)}) or a class "
            f"id in 0..{len(names) - 1}. Received: label={label!r}"
        )

    def sample_table(self, n: int, label: int | str | None = None, seed: int | None = None):
        """`n` decoded rows (`kerazoo.tables.Table`): each class in turn, or only class `label` (a class
        as written in the label column, or a class id)."""
        check_positive_int("n", n, label="--n", error=ArtifactError)
        labels = self.labels_for(n, self.class_id(label))
        noise = np.random.default_rng(seed).standard_normal((n, self.latent_dim)).astype(np.float32)
        return self.transform.decode(self(noise=noise, labels=labels)["rows"], labels)

    def write_csv(
        self, n: int, path, label: int | str | None = None, seed: int | None = None, overwrite=False
    ) -> Path:
        """Write `n` synthetic rows (of class `label`, or the training mix) to the CSV `path`.

        Raises:
            ArtifactError: a bad `label` or `n`, or an existing `path` without `overwrite`.
        """
        from kerazoo.tables import TableError, write_csv

        try:
            return write_csv(self.sample_table(n, label, seed), path, overwrite=overwrite)
        except TableError as e:
            raise ArtifactError(str(e)) from None


class TablePredictor(LiteModel):
    """An exported table model (`regression_mlp`, `tabular_mlp`): `features` -> `predictions` (a
    regressor) or `probabilities`, `class_ids` (a classifier), with the input columns named in its
    metadata; `predict_csv` reads them from a CSV by name (NumPy and the csv module only).

    Example:
        ```python
        model = TablePredictor("regression_mlp.tflite")
        model.predict_csv("rows.csv", "predictions.csv")   # the rows, plus predicted_<target>
        ```
    """

    def __init__(self, path, num_threads: int | None = None):
        super().__init__(path, num_threads)
        self.columns = self.metadata.get("columns")
        if "features" not in self.input_specs or not self.columns:
            raise ArtifactError(
                f"'{self.path}' is not an exported table model with its metadata (inputs "
                f"{sorted(self.input_specs)}; metadata columns: {self.columns}). Export a regression_mlp or "
                "tabular_mlp run with `kerazoo export`."
            )
        self.target = self.metadata.get("target")
        self.classifier = "class_ids" in self.output_names

    def added_columns(self) -> list:
        """The names of the columns `predict_csv` adds."""
        if self.classifier:
            return ["predicted_class", "probability"]
        return [f"predicted_{self.target or 'value'}"]

    def predict_rows(self, features) -> list:
        """The added columns' values for float rows `(N, len(columns))`, as strings."""
        out = self(features=np.asarray(features, np.float32))
        if self.classifier:
            ids = out["class_ids"].astype(int)
            probability = out["probabilities"][np.arange(len(ids)), ids]
            return [[str(i), repr(float(p))] for i, p in zip(ids, probability)]
        return [[repr(float(v))] for v in np.ravel(out["predictions"])]

    def read_csv(self, path) -> tuple:
        """`(header, rows, features)` of a CSV: its own header and rows (kept for the output) and the
        model's columns as floats, found by name (other columns are ignored).

        Raises:
            ArtifactError: an unreadable or empty file, a missing column, a ragged row or a cell that
                is not a number in a column the model takes.
        """
        from kerazoo.tables import read_rows

        path, rows = read_rows(path, error=ArtifactError)
        if len(rows) < 2:
            raise ArtifactError(f"CSV file '{path}' needs a header row and at least one data row.")
        header = [h.strip() for h in rows[0]]
        missing = [c for c in self.columns if c not in header]
        if missing:
            raise ArtifactError(
                f"'{path}' has no column '{missing[0]}'; the model takes {', '.join(self.columns)} "
                "(other columns are ignored)."
            )
        at = [header.index(c) for c in self.columns]
        features = np.empty((len(rows) - 1, len(at)), np.float32)
        for i, row in enumerate(rows[1:]):
            if len(row) != len(header):
                raise ArtifactError(
                    f"'{path}' line {i + 2} has {len(row)} cells; the header has {len(header)}."
                )
            for j, k in enumerate(at):
                try:
                    features[i, j] = float(row[k])
                except ValueError:
                    raise ArtifactError(
                        f"'{path}' line {i + 2} column '{header[k]}' holds {row[k]!r}: the model needs a number there."
                    ) from None
                if not math.isfinite(features[i, j]):
                    raise ArtifactError(f"'{path}' line {i + 2} column '{header[k]}' is not a finite number.")
        return header, rows[1:], features

    def predict_csv(self, path, out, overwrite: bool = False) -> Path:
        """Write `out`: every row of the CSV `path` with the prediction columns added.

        Raises:
            ArtifactError: a bad CSV (see `read_csv`), or an existing `out` without `overwrite`.
        """
        import csv

        out = check_output(out, ArtifactError)
        if out.exists() and not overwrite:
            raise ArtifactError(f"'{out}' already exists. Choose another --out or pass --overwrite.")
        header, rows, features = self.read_csv(path)
        added = self.predict_rows(features)
        names = self.added_columns()
        clash = [n for n in names if n in header]
        if clash:
            raise ArtifactError(f"'{path}' already has a column '{clash[0]}': rename it first.")
        with atomic_write(out) as tmp:
            with open(tmp / out.name, "w", newline="") as f:
                writer = csv.writer(f)
                writer.writerow(header + names)
                writer.writerows(row + extra for row, extra in zip(rows, added))
        return out


def side_by_side(*columns) -> np.ndarray:
    """uint8 image arrays of equal length (inputs, outputs, targets, ...) interleaved row by row, as one
    array of tiles for `save_grid(..., columns=k * len(columns))`: images smaller than the last
    column's enlarged by repeating pixels, grey ones shown in colour beside colour ones."""
    size = columns[-1].shape[1]
    columns = [a.repeat(size // a.shape[1], axis=1).repeat(size // a.shape[1], axis=2) for a in columns]
    channels = max(a.shape[-1] for a in columns)
    columns = [np.repeat(a, channels // a.shape[-1], axis=-1) for a in columns]
    return np.stack(columns, axis=1).reshape(-1, *columns[-1].shape[1:])


def load(path, num_threads: int | None = None) -> LiteModel:
    """The artifact as the runtime class of its role (`Generator` for an exported generator), found
    from the metadata beside it, else from its signature; a plain `LiteModel` otherwise."""
    model = LiteModel(path, num_threads)
    cls = _ROLES.get(model.metadata.get("role"))
    if cls is None:
        cls = next((c for c in _ROLES.values() if c.accepts(model)), None)
    return model if cls is None or not cls.accepts(model) else cls(path, num_threads)


def image_grid(images, columns: int | None = None, padding: int = 2, scale: int = 2) -> np.ndarray:
    """Tile uint8 images `(N, H, W, C)` (C = 1 or 3) into one image, `columns` wide (default: about
    square), with `padding` black pixels between tiles, each pixel repeated `scale` times."""
    images = np.asarray(images)
    if images.ndim != 4 or images.shape[-1] not in (1, 3) or images.dtype != np.uint8:
        raise ArtifactError(
            f"image_grid takes uint8 images of shape (N, H, W, 1 or 3). Received: {images.shape} {images.dtype}"
        )
    n, h, w, c = images.shape
    columns = columns or math.ceil(math.sqrt(n))
    rows = math.ceil(n / columns)
    grid = np.zeros((rows * (h + padding) + padding, columns * (w + padding) + padding, c), np.uint8)
    for i, image in enumerate(images):
        r, col = divmod(i, columns)
        top, left = padding + r * (h + padding), padding + col * (w + padding)
        grid[top : top + h, left : left + w] = image
    grid = grid.repeat(scale, axis=0).repeat(scale, axis=1)
    return grid[..., 0] if c == 1 else grid


def save_grid(
    images, path, columns: int | None = None, overwrite: bool = True, scale: int = 2, padding: int = 2
) -> Path:
    """Write `image_grid(images, columns, padding, scale)` as a PNG (one image as it is with
    `padding=0, scale=1`); written to a temporary sibling and
    renamed, so an interrupted write leaves no partial file. Refuses an existing file unless
    `overwrite`."""
    from PIL import Image

    path = check_output(path, ArtifactError)
    if path.exists() and not overwrite:
        raise ArtifactError(f"'{path}' already exists. Choose another --out or pass --overwrite.")
    if not path.parent.is_dir():
        raise ArtifactError(f"Folder '{path.parent}' does not exist. Create it or choose another --out.")
    grid = image_grid(images, columns, padding=padding, scale=scale)
    with atomic_write(path) as tmp:
        Image.fromarray(grid).save(tmp / path.name, format="PNG")
    return path


def save_samples(images, path, labels=None, overwrite: bool = False) -> Path:
    """Write samples as arrays to the `.npz` file `path`: `images` (uint8 `(n, H, W, C)`) and, for
    a conditional model, `labels` (int32, the class asked for), for judging or use elsewhere
    (`numpy.load(path)["images"]`). Written to a temporary sibling and renamed, so an interrupted
    write leaves no partial file.

    Raises:
        ArtifactError: `path` does not end in `.npz`, exists without `overwrite`, or its folder
            does not exist.
    """
    path = check_output(path, ArtifactError)
    if path.suffix != ".npz":
        raise ArtifactError(f"Sample arrays go to a .npz file. Received: --out {path}")
    if path.exists() and not overwrite:
        raise ArtifactError(f"'{path}' already exists. Choose another --out or pass --overwrite.")
    if not path.parent.is_dir():
        raise ArtifactError(f"Folder '{path.parent}' does not exist. Create it or choose another --out.")
    arrays = {"images": np.asarray(images, np.uint8)}
    if labels is not None:
        arrays["labels"] = np.asarray(labels, np.int32)
    with atomic_write(path) as tmp:
        np.savez(tmp / path.name, **arrays)
    return path

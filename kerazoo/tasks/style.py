"""The `style` task: style-based GANs (`kerazoo.trainers.stylegan.StyleGAN`).

The `generation` task with StyleGAN's extras: the recipe adds `mixing_probability`, `pl_weight` and
`pl_every` (`StyleGANOptions`); a run also saves `mapping.keras` (`[noise, truncation]` -> w) and
`synthesis.keras` (`styles` -> images) beside `generator.keras`, and draws three pictures from the
saved (moving-average) generator:

- `style_mixing.png`: the paper's Figure 3 on this data: the top row's images give their fine
  styles (layers from `num_ws // 2` on), the left column's their coarse styles;
- `truncation.png`: each row one z, psi from 1 (left) to 0 (right: the average w's image);
- `noise_variation.png`: each row one w with fresh noise inputs per column, and in the last column
  the per-pixel standard deviation over 32 noise draws (white: where noise changes the image).

Deploys the generator `noise`, `truncation` -> `images`, `images_uint8` (truncation 1: none); with
`kerazoo export --signature styles`, the synthesis network (`styles` -> images) with a second
signature `mapping` (`noise`, `truncation` -> `w`), for style mixing without TensorFlow.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from kerazoo._checks import check_number, check_positive_int
from kerazoo.serving import ExportError, GeneratorServable
from kerazoo.tasks import register_task
from kerazoo.tasks.generation import GANRecipe, Generation
from kerazoo.trainers.stylegan import STYLE_KEYS, StyleGAN, StyleGANOptions

__all__ = ["StyleGANRecipe", "StyleGeneration", "StyleGeneratorServable", "StylesServable", "style_pictures"]

TRUNCATIONS = (1.0, 0.8, 0.6, 0.4, 0.2, 0.0)


@dataclasses.dataclass(frozen=True)
class StyleGANRecipe(StyleGANOptions, GANRecipe):
    """A StyleGAN's recipe: `GANRecipe` plus `StyleGANOptions`' `mixing_probability`, `pl_weight` and
    `pl_every`."""

    def __post_init__(self):
        super().__post_init__()
        check_number("mixing_probability", self.mixing_probability, 0.0, 1.0)
        check_number("pl_weight", self.pl_weight)
        check_positive_int("pl_every", self.pl_every)

    def compile_options(self, steps: int = 1) -> dict:
        return {**super().compile_options(steps), **{key: getattr(self, key) for key in STYLE_KEYS}}


@register_task
class StyleGeneration(Generation):
    """The `style` task: `generation` for StyleGAN (see the module docstring)."""

    name = "style"
    recipe_class = StyleGANRecipe

    def prepare(self, run):
        prepared = super().prepare(run)
        if not isinstance(prepared.model, StyleGAN):
            from kerazoo.tasks._base import UsageError

            raise UsageError(
                f"Model '{run.entry.name}' is not a StyleGAN: train it with the generation task."
            )
        return prepared

    def finish(self, prepared, run, run_dir):
        from kerazoo.models._common import save_with_keras_layers

        figures = super().finish(prepared, run, run_dir)
        model = prepared.model
        save_with_keras_layers(model.mapping, run_dir / "mapping.keras")
        save_with_keras_layers(model.synthesis, run_dir / "synthesis.keras")
        style_pictures(model, run_dir, seed=run.seed)
        figures["w_avg_norm"] = float(np.linalg.norm(np.asarray(_truncation_layer(model.mapping).w_avg)))
        return figures

    def claims(self, model):
        return isinstance(model, StyleGAN) or bool(
            getattr(model, "inputs", None) and [t.name for t in model.inputs] == ["noise", "truncation"]
        )

    def servable(self, model, name, config):
        generator = model.deployable if isinstance(model, StyleGAN) else model
        names = tuple(t.name for t in generator.inputs)
        if names != ("noise", "truncation"):
            raise ExportError(f"'{name}' is a StyleGAN: export the whole StyleGAN or its generator.")
        servable = StyleGeneratorServable(
            generator, name, self, config, names, value_range=(-1.0, 1.0), stem="generator"
        )
        if isinstance(model, StyleGAN):
            servable.networks = (model.mapping, model.synthesis)
        return servable


def _truncation_layer(mapping):
    from kerazoo.models.stylegan import Truncation

    return next(layer for layer in mapping.layers if isinstance(layer, Truncation))


def _networks(generator):
    """The mapping and synthesis networks inside a StyleGAN generator."""
    import keras

    nested = [layer for layer in generator.layers if isinstance(layer, keras.Model)]
    mapping = next(m for m in nested if [t.name for t in m.inputs] == ["noise", "truncation"])
    synthesis = next(m for m in nested if m is not mapping)
    return mapping, synthesis


@dataclasses.dataclass
class StyleGeneratorServable(GeneratorServable):
    """A StyleGAN generator: `noise`, `truncation` (N,) -> images; verified at truncation 1 and
    0.5. `variant("styles")` is its synthesis network with the mapping as a second signature."""

    networks: tuple | None = None  # (mapping, synthesis); found inside the generator when None

    SIGNATURES = ("default", "styles")

    def noise_inputs(self, n, seed):
        """Seeded noise at truncation 1 (no truncation): what the evaluation judges."""
        return {**super().noise_inputs(n, seed), "truncation": np.ones(n, np.float32)}

    def verification_inputs(self, quantized, data_dir, dataset):
        inputs, labels = super().verification_inputs(quantized, data_dir, dataset)
        inputs["truncation"][1::2] = 0.5  # every other row truncated
        return inputs, labels

    def processing(self):
        processing = super().processing()
        processing["preprocessing"] += (
            "; truncation: float32 psi per row in [-1, 1] (1: none, 0: the average image)"
        )
        return processing

    def metadata(self):
        return {**super().metadata(), "truncation": True}

    def variant(self, signature):
        if signature == "styles":
            from kerazoo.serving import as_float32

            mapping, synthesis = self.networks or _networks(self.model)
            return StylesServable(
                as_float32(synthesis),
                self.name,
                self.task,
                self.config,
                ("styles",),
                source=self.source,
                stem="synthesis",
                value_range=self.value_range,
                mapping=as_float32(mapping),
            )
        return super().variant(signature)


@dataclasses.dataclass
class StylesServable(GeneratorServable):
    """A StyleGAN synthesis network: `styles` `(N, num_ws, w_dim)` -> images, with the mapping network
    as the artifact's second signature, `mapping` (`noise`, `truncation` -> `w`). Verified on styles
    from seeded noise, half of them mixed at the middle layer."""

    mapping: object = None
    role = "styles"

    def _w(self, n, seed, psi=1.0):
        rng = np.random.default_rng(seed)
        noise = rng.standard_normal((n, int(self.mapping.inputs[0].shape[-1]))).astype(np.float32)
        return np.asarray(self.mapping.predict([noise, np.full(n, psi, np.float32)], verbose=0))

    def noise_inputs(self, n, seed):
        from kerazoo.runtime import mixed_styles

        num_ws = int(self.model.inputs[0].shape[1])
        first, second = self._w(n, seed), self._w(n, seed + 1)
        styles = mixed_styles(first, second, num_ws, num_ws)
        styles[1::2] = mixed_styles(first[1::2], second[1::2], num_ws // 2, num_ws)
        return {"styles": styles}

    def extra_signatures(self) -> dict:
        import tensorflow as tf

        latent_dim = int(self.mapping.inputs[0].shape[-1])

        def mapping(noise, truncation):
            return {"w": tf.cast(self.mapping([noise, truncation], training=False), tf.float32)}

        def specs(batch_size):
            return [
                tf.TensorSpec((batch_size, latent_dim), "float32", name="noise"),
                tf.TensorSpec((batch_size,), "float32", name="truncation"),
            ]

        def inputs(seed=1234):
            rng = np.random.default_rng(seed)
            return {
                "noise": rng.standard_normal((64, latent_dim)).astype(np.float32),
                "truncation": np.where(np.arange(64) % 2 == 0, 1.0, 0.5).astype(np.float32),
            }

        return {"mapping": (mapping, specs, inputs)}

    def draw(self, n, seed):
        raise ExportError("A synthesis export is for style work; judge the run's generator instead.")

    def processing(self):
        low, high = self.value_range
        return {
            "preprocessing": (
                "styles: float32 (N, num_ws, w_dim), one w per synthesis layer, from the `mapping` "
                "signature (noise: float32 N(0, 1) draws, truncation: psi per row)"
            ),
            "postprocessing": (
                f"images: float32 in [{low:g}, {high:g}]; images_uint8 = round((images - {low:g}) * 255 / {high - low:g})"
            ),
        }

    def metadata(self):
        num_ws, w_dim = (int(d) for d in self.model.inputs[0].shape[1:])
        return {
            "num_classes": None,
            "value_range": list(self.value_range),
            "latent_dim": int(self.mapping.inputs[0].shape[-1]),
            "num_ws": num_ws,
            "w_dim": w_dim,
        }

    def after_export(self, run_dir, results, seed):
        """Nothing: `samples_tflite.png` is the generator export's."""


def style_pictures(model, out, seed=0) -> dict:
    """A trained StyleGAN's pictures (see the module docstring) written into `out`:
    `style_mixing.png`, `truncation.png`, `noise_variation.png`. Returns their paths."""
    from kerazoo import runtime
    from kerazoo.models.stylegan import random_noise

    mapping, synthesis = model.mapping, model.synthesis
    num_ws, latent_dim = model.num_ws, model.latent_dim
    rng = np.random.default_rng(seed)

    def w_for(noise, psi=1.0):
        return np.asarray(mapping([noise, np.full(len(noise), psi, np.float32)], training=False))

    def images_for(styles):
        images = np.asarray(synthesis(np.asarray(styles, np.float32), training=False))
        return np.round((np.clip(images, -1.0, 1.0) + 1.0) * 127.5).astype(np.uint8)

    paths = {}
    rows = w_for(rng.standard_normal((5, latent_dim)).astype(np.float32))
    columns = w_for(rng.standard_normal((6, latent_dim)).astype(np.float32))
    tiles = runtime.mixing_tiles(images_for, rows, columns, num_ws // 2, num_ws)
    paths["style_mixing"] = runtime.save_grid(tiles, out / "style_mixing.png", columns=len(columns) + 1)

    noise = rng.standard_normal((8, latent_dim)).astype(np.float32)
    strip = [images_for(model.styles(w_for(noise, psi))) for psi in TRUNCATIONS]
    tiles = np.stack(strip, axis=1).reshape(-1, *strip[0].shape[1:])
    paths["truncation"] = runtime.save_grid(tiles, out / "truncation.png", columns=len(TRUNCATIONS))

    styles = np.asarray(model.styles(w_for(rng.standard_normal((4, latent_dim)).astype(np.float32))))
    with random_noise(synthesis):
        draws = np.stack([np.asarray(synthesis(styles, training=False)) for _ in range(32)], axis=1)
    spread = draws.std(axis=1)
    spread = np.round(255 * spread / max(float(spread.max()), 1e-6)).astype(np.uint8)
    variations = np.round((np.clip(draws[:, :8], -1.0, 1.0) + 1.0) * 127.5).astype(np.uint8)
    tiles = np.concatenate([variations, spread[:, None]], axis=1).reshape(-1, *spread.shape[1:])
    paths["noise_variation"] = runtime.save_grid(tiles, out / "noise_variation.png", columns=9)
    return paths

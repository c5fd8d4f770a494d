"""The `diffusion` task: denoising diffusion models (`kerazoo.trainers.Diffusion`) that learn to turn
noise into images step by step (`ddpm`, and `cddpm` with classifier-free guidance).

Trains on images in [-1, 1] (with labels for `cddpm`); the image shape and class count come from the
data. The recipe (`DiffusionRecipe`) is a `fit` recipe whose optimizer keeps a moving average of the
weights (what is saved, exported and sampled), plus the DDIM steps and guidance of the pictures and
the evaluation. Each epoch writes a sample grid and the denoising trajectories from fixed noise;
`finish` writes `samples.png`, `trajectory.png` and `trajectory.gif` (and for `cddpm` one row per
class and a grid of guidance scales). `kerazoo evaluate` judges DDIM samples like a GAN's. Deploys
the denoiser (`x_t`, `t` [, `labels`] -> `noise`), with the schedule in its metadata, so that
`kerazoo sample` runs the DDIM loop around it without TensorFlow.
"""

from __future__ import annotations

import dataclasses
import shutil
from typing import ClassVar

import numpy as np
import tensorflow as tf

from kerazoo import data as zdata
from kerazoo import runtime, sampling
from kerazoo._checks import check_number, check_positive_int
from kerazoo.serving import GeneratorServable
from kerazoo.tasks import register_task
from kerazoo.tasks._base import FitRecipe, Prepared, Task
from kerazoo.tasks.generation import SampledImages, image_generator_data
from kerazoo.trainers.diffusion import Diffusion

__all__ = ["DiffusionRecipe", "DiffusionTask", "DiffusionServable"]

GUIDANCE_SCALES = (0.0, 1.0, 2.0, 4.0)  # the columns of cddpm's guidance picture


@dataclasses.dataclass(frozen=True)
class DiffusionRecipe(FitRecipe):
    """A diffusion model's recipe: Adam, the moving average of the weights that `fit` leaves (what is
    saved, exported and sampled; `ema_momentum`, with warm-up, 0 for none), and the DDIM
    `sample_steps` and classifier-free `guidance` that the pictures and the evaluation use."""

    epochs: int = 40
    batch_size: int = 64
    learning_rate: float = 1e-3
    ema_momentum: float = 0.999
    sample_steps: int = 25
    guidance: float = 2.0

    def __post_init__(self):
        super().__post_init__()
        check_number("ema_momentum", self.ema_momentum)
        if not 0.0 <= self.ema_momentum < 1.0:
            raise ValueError(f"ema_momentum must be in [0, 1). Received: ema_momentum={self.ema_momentum}")
        check_positive_int("sample_steps", self.sample_steps)
        check_number("guidance", self.guidance)


@dataclasses.dataclass
class DiffusionServable(GeneratorServable):
    """A diffusion denoiser: `x_t` float32, `t` int32 (and `labels` int32) -> the predicted `noise`,
    verified on seeded inputs; the metadata carries the schedule, the DDIM steps and the guidance,
    which `kerazoo.runtime.DiffusionSampler` needs to sample."""

    schedule: dict | None = None
    sample_steps: int = 25
    guidance: float = 1.0

    role: ClassVar[str] = "diffusion"
    main_output: ClassVar[str] = "noise"

    def input_signature(self, batch_size=None):
        """float32 `x_t`, int32 `t` and `labels`."""
        return [
            tf.TensorSpec((batch_size, *tensor.shape[1:]), "float32" if name == "x_t" else "int32", name=name)
            for name, tensor in zip(self.input_names, self.model.inputs)
        ]

    def outputs(self, x):
        """The predicted `noise`."""
        return {"noise": x}

    def extra_figures(self, figures, expected, actual, labels):
        pass

    def noise_inputs(self, n: int, seed: int) -> dict:
        """Seeded `x_t` from N(0, 1), steps spread over the schedule, and labels (the null class for
        every fourth row of a conditional denoiser)."""
        rng = np.random.default_rng(seed)
        shape = tuple(int(d) for d in self.model.inputs[0].shape[1:])
        inputs = {
            "x_t": rng.standard_normal((n, *shape)).astype(np.float32),
            "t": rng.integers(0, self.schedule["timesteps"], n).astype(np.int32),
        }
        if "labels" in self.input_names:
            labels = np.arange(n) % (self.num_classes + 1)
            inputs["labels"] = labels.astype(np.int32)
        return inputs

    def predict_eps(self, x, t, labels=None):
        """The denoiser's noise prediction in NumPy; `labels=None`: the unconditional one."""
        inputs = [x, t]
        if "labels" in self.input_names:
            inputs.append(np.full(len(x), self.num_classes, np.int32) if labels is None else labels)
        return self.model.predict(inputs, batch_size=500, verbose=0)

    def draw(self, n: int, seed: int) -> tuple:
        """`n` DDIM samples (the metadata's steps and guidance) as float32 images in [0, 1], and the
        labels asked for (every class in turn for `cddpm`)."""
        labels = None
        if "labels" in self.input_names:
            labels = (np.arange(n) % self.num_classes).astype(np.int32)
        shape = (n, *(int(d) for d in self.model.inputs[0].shape[1:]))
        images = sampling.ddim_sample(
            self.predict_eps,
            shape,
            sampling.Schedule.from_json(self.schedule),
            self.sample_steps,
            seed=seed,
            labels=labels,
            guidance=self.guidance if labels is not None else 1.0,
        )
        return ((images + 1.0) / 2.0).astype(np.float32), labels

    def processing(self):
        labels = (
            f"; labels: int32 class ids in 0..{self.num_classes - 1}, {self.num_classes} for none"
            if self.num_classes
            else ""
        )
        return {
            "preprocessing": "x_t: float32 images at step t of the forward process; t: int32 step" + labels,
            "postprocessing": "noise: the predicted noise; sample with kerazoo.sampling.ddim_sample (kerazoo sample)",
        }

    def metadata(self):
        meta = super().metadata()
        meta.pop("latent_dim", None)
        return {
            **meta,
            "schedule": self.schedule,
            "sample_steps": self.sample_steps,
            "guidance": self.guidance,
        }

    def after_export(self, run_dir, results, seed):
        """`RUN_DIR/samples_tflite.png`: samples drawn from the exported TFLite denoiser by the
        TensorFlow-free runtime, the same noise as `samples.png`'s first rows."""
        if "tflite" not in results:
            return
        sampler = runtime.DiffusionSampler(results["tflite"]["path"])
        images = sampler.sample(10 * (self.num_classes or 1) if self.num_classes else 16, seed=seed)
        runtime.save_grid(images, run_dir / "samples_tflite.png", columns=10 if self.num_classes else 8)


@register_task
class DiffusionTask(SampledImages, Task):
    """The `diffusion` task: `ddpm` and `cddpm` trained by `kerazoo.trainers.Diffusion`; see the module."""

    name = "diffusion"
    data_kinds = ("image",)
    recipe_class = DiffusionRecipe
    panels = [("loss",)]

    def prepare(self, run):
        train_ds, _, model, conditional = image_generator_data(
            self, run, lambda m: m.denoiser.inputs[0].shape[1:], reference_size=16
        )
        name, kwargs = self.data_kwargs(run.entry, run.dataset, run.data_dir, run)

        def test():
            return zdata.make_dataset(
                name, "test", run.recipe.batch_size, labels=conditional, shuffle=False, **kwargs
            )

        return Prepared(train_ds, None, model, {"test": test})

    def compile(self, prepared, run, steps):
        momentum = run.recipe.ema_momentum or None
        prepared.model.compile(
            optimizer=run.recipe.build_optimizer("optimizer", steps), ema_momentum=momentum
        )

    def callbacks(self, prepared, run, run_dir):
        from kerazoo.callbacks import DenoisingGrid

        return [
            DenoisingGrid(
                run_dir / "grids", steps=run.recipe.sample_steps, guidance=run.recipe.guidance, seed=run.seed
            )
        ]

    def finish(self, prepared, run, run_dir):
        from PIL import Image

        from kerazoo.callbacks import save_denoising
        from kerazoo.plots import save_image_grid

        model = prepared.model
        model.denoiser.save(run_dir / "denoiser.keras")
        steps, guidance = run.recipe.sample_steps, run.recipe.guidance
        save_denoising(model, run_dir, "final", steps=steps, guidance=guidance, seed=run.seed)
        shutil.move(run_dir / "grid_final.png", run_dir / "samples.png")
        shutil.move(run_dir / "trajectory_final.png", run_dir / "trajectory.png")
        # The denoising of a few samples, one frame a step, as a GIF.
        labels = np.arange(model.num_classes, dtype=np.int32) if model.conditional else None
        n = model.num_classes if model.conditional else 8
        _, path = model.sample(
            n,
            steps,
            seed=run.seed,
            labels=labels,
            guidance=guidance if labels is not None else 1.0,
            trajectory=True,
        )
        frames = []
        for x in path:
            picture = run_dir / ".frame.png"
            save_image_grid(np.clip(x, -1, 1), picture, rows=1, value_range=(-1.0, 1.0))
            frames.append(Image.open(picture).convert("L").copy())
        (run_dir / ".frame.png").unlink()
        frames += [frames[-1]] * 5  # linger on the result
        frames[0].save(
            run_dir / "trajectory.gif", save_all=True, append_images=frames[1:], duration=120, loop=0
        )
        if model.conditional:  # one row per class, one column per guidance scale
            columns = [
                model.sample(model.num_classes, steps, seed=run.seed, labels=labels, guidance=w)
                for w in GUIDANCE_SCALES
            ]
            grid = np.stack(columns, axis=1).reshape(-1, *columns[0].shape[1:])
            save_image_grid(grid, run_dir / "guidance.png", rows=model.num_classes, value_range=(-1.0, 1.0))
        figures = {"loss": float(model.history.history["loss"][-1])}
        figures["test_loss"] = float(
            model.evaluate(prepared.extras["test"](), verbose=0, return_dict=True)["loss"]
        )
        return figures

    def claims(self, model):
        return isinstance(model, Diffusion)

    def servable(self, model, name, config):
        recipe = self.recipe_class().replace(dict(config.recipe) if config is not None else {})
        if isinstance(model, Diffusion):
            denoiser, schedule, num_classes = model.denoiser, model.schedule, model.num_classes
        else:
            raise_unknown = not (getattr(model, "inputs", None) and model.inputs[0].name == "x_t")
            if raise_unknown:
                from kerazoo.serving import ExportError

                raise ExportError(f"'{name}' is not a diffusion model: export the run directory.")
            denoiser, num_classes = model, None
            schedule = sampling.Schedule.make(
                (config.hparams if config else {}).get("schedule", "linear"),
                (config.hparams if config else {}).get("timesteps", 1000),
            )
        names = ("x_t", "t", "labels") if num_classes else ("x_t", "t")
        return DiffusionServable(
            denoiser,
            name,
            self,
            config,
            names,
            value_range=(-1.0, 1.0),
            num_classes=num_classes,
            stem="denoiser",
            schedule=schedule.to_json(),
            sample_steps=recipe.sample_steps,
            guidance=recipe.guidance,
        )

"""The `progressive` task: GANs that grow (`kerazoo.trainers.progan.ProGAN`), trained in phases.

The `generation` task with a schedule: the same data (images in [-1, 1]), sample grids, health
monitor, evaluation (`kerazoo evaluate`) and export (the full-resolution generator, `noise` ->
`images`, `images_uint8`). The recipe adds `phase_images`, the real images shown in each fade-in and
each stabilising phase; the last phase (full resolution) lasts to the end of `epochs`, which must
reach it. `history.json` records `resolution` and `alpha` per epoch (their values at the epoch's
end); `metrics.json` the time and images/s of each phase; `growth.png` and `growth.gif` show the
samples at the end of each phase, upsampled to the full size and labelled.
"""

from __future__ import annotations

import dataclasses

from kerazoo._checks import check_positive_int
from kerazoo.tasks import register_task
from kerazoo.tasks._base import UsageError
from kerazoo.tasks.generation import GANRecipe, Generation

__all__ = ["ProGANRecipe", "Progressive"]


@dataclasses.dataclass(frozen=True)
class ProGANRecipe(GANRecipe):
    """A growing GAN's recipe: `GANRecipe` plus `phase_images`, real images per fade-in and per
    stabilising phase (None: the model's default, `ProGAN.PHASE_IMAGES`; Karras et al. 2018 show
    800k; the `progan` entry sets what fits its `digits` data)."""

    phase_images: int | None = None

    def __post_init__(self):
        super().__post_init__()
        if self.phase_images is not None:
            check_positive_int("phase_images", self.phase_images)

    def compile_options(self, steps: int = 1) -> dict:
        return {**super().compile_options(steps), "phase_images": self.phase_images}


@register_task
class Progressive(Generation):
    """The `progressive` task: `generation` with ProGAN's growth schedule.

    Same data, grids, evaluation and export as `generation`; `prepare`, `callbacks` and `finish` add
    the phases (`ProgressiveGrowing`) and their timings and growth pictures.
    """

    name = "progressive"
    recipe_class = ProGANRecipe
    panels = [("d_loss", "g_loss"), ("d_real", "d_fake"), ("resolution",), ("alpha",)]

    def prepare(self, run):
        prepared = super().prepare(run)
        model = prepared.model
        if not hasattr(model, "resolutions"):
            raise UsageError(f"Model '{run.entry.name}' does not grow: train it with the generation task.")
        phase_images = run.recipe.phase_images or model.PHASE_IMAGES
        per_epoch = int(prepared.train_ds.cardinality()) * run.recipe.batch_size
        last_start = (2 * len(model.resolutions) - 2) * phase_images
        total = run.recipe.epochs * per_epoch
        if total <= last_start:
            needed = last_start // per_epoch + 1
            raise UsageError(
                f"The growth schedule shows {last_start:,} real images before its last phase "
                f"({len(model.resolutions)} resolutions {', '.join(map(str, model.resolutions))}, "
                f"phase_images={phase_images:,}), but {run.recipe.epochs} epoch{'s' * (run.recipe.epochs != 1)} of "
                f"{per_epoch:,} images show {total:,}. Pass --epochs {needed} or more, or a smaller "
                "--recipe phase_images=N."
            )
        return prepared

    def callbacks(self, prepared, run, run_dir):
        from kerazoo.callbacks import ProgressiveGrowing

        growing = ProgressiveGrowing(run_dir / "growth", seed=run.seed)
        prepared.extras["growing"] = growing
        return [growing, *super().callbacks(prepared, run, run_dir)]

    def finish(self, prepared, run, run_dir):
        figures = super().finish(prepared, run, run_dir)
        figures["phases"] = prepared.extras["growing"].phase_figures()
        growth_pictures(run_dir / "growth", run_dir)
        return figures


def growth_pictures(directory, out) -> None:
    """The phase grids of `directory` side by side, each labelled (`growth.png`), and as a GIF."""
    from PIL import Image, ImageDraw

    grids = sorted(directory.glob("phase*.png"), key=lambda p: int(p.stem.split("_")[0][5:]))
    if not grids:
        return
    frames = []
    for path in grids:
        grid = Image.open(path).convert("L")
        frame = Image.new("L", (grid.width, grid.height + 24), 255)
        frame.paste(grid, (0, 24))
        number, rest = path.stem.split("_", 1)
        ImageDraw.Draw(frame).text((4, 6), f"phase {number[5:]}: {rest.replace('_', ' ')}", fill=0)
        frames.append(frame)
    strip = Image.new("L", (sum(f.width for f in frames) + 20 * (len(frames) - 1), frames[0].height), 255)
    left = 0
    for frame in frames:
        strip.paste(frame, (left, 0))
        left += frame.width + 20
    strip.save(out / "growth.png")
    frames[0].save(out / "growth.gif", save_all=True, append_images=frames[1:], duration=800, loop=0)

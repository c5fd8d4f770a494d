"""The `reconstruction` task: autoencoders and the VAE (`kerazoo.VAE`) on images in [0, 1].

Plain autoencoders learn x -> x with the MSE; the VAE trains on its own loss (reconstruction + KL).
Reports the test reconstruction loss, `reconstructions.png` (noisy, denoised and clean rows for the
denoising autoencoder), `encoder.keras` and `decoder.keras`, and for a 2-D latent space
`latent_space.png`. `kerazoo evaluate` measures the reconstruction error, and for the VAE also judges
prior samples like a GAN's. Deploys the autoencoder (`images` -> `images`), or the VAE's decoder as a
generator (`noise` -> `images`).
"""

from __future__ import annotations

import numpy as np

from kerazoo import data as zdata
from kerazoo.plots import plot_latent_space, save_image_grid
from kerazoo.serving import GeneratorServable, ImageServable, image_range
from kerazoo.tasks import register_task
from kerazoo.tasks._base import Prepared, Task, ValidatedRecipe
from kerazoo.trainers.vae import VAE


def _parts(model):
    """(encoder, decoder) of a VAE or a plain autoencoder."""
    if isinstance(model, VAE):
        return model.encoder, model.decoder
    return model.get_layer(f"{model.name}_encoder"), model.get_layer(f"{model.name}_decoder")


@register_task
class Reconstruction(Task):
    name = "reconstruction"
    data_kinds = ("image",)
    recipe_class = ValidatedRecipe
    headline_keys = ("test_reconstruction_mse", "fid", "classifier_score", "confident_share")

    def data_kwargs(self, entry, dataset, data_dir=None, run=None):
        return dataset, dict(data_dir=data_dir, normalization=entry.normalization or "unit", labels=False)

    def prepare(self, run):
        normalization = self.data_kwargs(run.entry, run.dataset, run.data_dir, run)[1]["normalization"]
        train_ds, val_ds, test = self.splits(run)
        run.derive(image_shape=tuple(int(d) for d in train_ds.element_spec.shape[1:]), seed=run.seed)
        model = run.build()
        if not isinstance(model, VAE):  # plain autoencoders learn x -> x

            def pairs(ds):
                return ds.map(lambda x: (x, x))

            train_ds, test = pairs(train_ds), lambda make=test: pairs(make())
            val_ds = val_ds if val_ds is None else pairs(val_ds)
        return Prepared(train_ds, val_ds, model, {"normalization": normalization, "test": test})

    def compile(self, prepared, run, steps):
        model = prepared.model
        optimizer = run.recipe.build_optimizer("optimizer", steps)
        if isinstance(model, VAE):  # the VAE computes its own loss
            model.compile(optimizer=optimizer)
        else:
            model.compile(optimizer=optimizer, loss="mse")

    def finish(self, prepared, run, run_dir):
        model = prepared.model
        encoder, decoder = _parts(model)
        from kerazoo.models._common import save_with_keras_layers

        save_with_keras_layers(encoder, run_dir / "encoder.keras")
        save_with_keras_layers(decoder, run_dir / "decoder.keras")
        figures = self.test_figures(prepared, run)
        if not isinstance(model, VAE):  # the MSE per pixel, [0, 1] scale
            figures = {k.replace("_loss", "_reconstruction_loss"): v for k, v in figures.items()}
        x_test, y_test = zdata.load_images(run.dataset, "test", run.data_dir)
        x_test = zdata.NORMALIZATIONS[prepared.extras["normalization"]](x_test).numpy()
        shown = x_test[:10]
        rows = [shown]
        corrupt = [layer for layer in model.layers if layer.name.endswith("_corrupt")]
        if corrupt:
            rng = np.random.default_rng(run.seed)
            noisy = np.clip(shown + rng.normal(0, corrupt[0].stddev, shown.shape), 0, 1).astype(np.float32)
            rows = [noisy, model(noisy, training=False).numpy(), shown]
        else:
            rows.append(model(shown, training=False).numpy())
        save_image_grid(np.concatenate(rows), run_dir / "reconstructions.png", rows=len(rows))
        if int(decoder.inputs[0].shape[-1]) == 2:
            codes = encoder.predict(x_test, verbose=0, batch_size=256)
            means = codes[0] if isinstance(model, VAE) else codes
            plot_latent_space(
                means, y_test, decoder, run_dir / "latent_space.png", title=f"{model.name} latent means"
            )
        return figures

    def evaluate(self, model, config, run_dir, report, *, data_dir=None, n=10_000, evaluator=None, seed=0):
        figures = {}
        if isinstance(model, VAE):  # its decoder is a generator: judge prior samples like a GAN's
            from kerazoo.judging import run_sample_figures

            servable = self.servable(model, config.model, config)
            options = dict(data_dir=data_dir, n=n, evaluator=evaluator, seed=seed)
            figures = run_sample_figures(servable, config, run_dir, report, **options)
        x, _ = zdata.load_images(config.dataset, "test", data_dir or config.data_dir)
        x = x.astype(np.float32) / 255.0
        out = model.predict(x, batch_size=500, verbose=0)
        save_image_grid(np.concatenate([x[:10], out[:10]]), report / "reconstructions.png", rows=2)
        reconstruction = {"n": int(len(x)), "test_reconstruction_mse": float(np.mean((out - x) ** 2))}
        if figures:
            figures["reconstruction"] = reconstruction
            return figures
        return reconstruction

    def report_rows(self, figures):
        from kerazoo.reports import reconstruction_rows

        return reconstruction_rows(figures)

    def claims(self, model):
        return isinstance(model, VAE)

    def servable(self, model, name, config):
        if isinstance(model, VAE):  # the decoder, served as a generator of [0, 1] images
            return GeneratorServable(
                model.deployable, name, self, config, ("noise",), value_range=(0.0, 1.0), stem="decoder"
            )
        return ImageServable(model, name, self, config, ("images",), value_range=image_range(model))

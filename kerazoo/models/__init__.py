"""The zoo's builders. Importing this package registers every model."""

from kerazoo.models import (  # noqa: F401
    adversarial,
    autoencoders,
    classic,
    diffusion,
    forecast,
    progan,
    stylegan,
    tabular,
    translation,
)

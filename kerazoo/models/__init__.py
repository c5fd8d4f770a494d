"""The zoo's builders. Importing this package registers every model."""

from kerazoo.models import adversarial, autoencoders, classic, forecast, progan, tabular, translation  # noqa: F401

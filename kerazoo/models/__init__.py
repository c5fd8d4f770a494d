"""The zoo's builders. Importing this package registers every model."""

from kerazoo.models import classic, forecast  # noqa: F401

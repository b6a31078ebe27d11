"""Imports every model file so each registers itself. Add a line per new model."""

from . import asformer, ms_tcn, star_transformer  # noqa: F401

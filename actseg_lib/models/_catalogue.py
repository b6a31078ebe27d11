"""Imports every model file so each registers itself. Add a line per new model."""

from . import asformer, deformable3d, interact, ms_tcn, sigformer, star_transformer  # noqa: F401

"""Constants that every layer of the library may import (data, nn, models, losses,
metrics, engine, viz): the label that marks an unscored frame, the skeleton layouts and
graphs, and datasets' class ids. This package imports nothing else from the library."""

from .labels import IGNORE_INDEX

__all__ = ["IGNORE_INDEX"]

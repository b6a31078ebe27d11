"""actseg_lib: models, data and metrics for the multi-modal action understanding book.

Importing the package is cheap on purpose (no torch, no matplotlib): import the
submodule you need, e.g. ``from actseg_lib.metrics import segmentation_scores``.
"""

__version__ = "0.1.0"

"""Building blocks shared by the models: temporal convolutions and windowed attention."""

from .masks import frame_mask
from .temporal_conv import ConvFeedForward, DilatedResidualLayer

__all__ = ["ConvFeedForward", "DilatedResidualLayer", "frame_mask"]

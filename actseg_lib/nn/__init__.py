"""Building blocks shared by the models: temporal convolutions and windowed attention."""

from .masks import frame_mask
from .temporal_conv import ConvFeedForward, DilatedResidualLayer
from .windowed_attention import dense_windowed_attention, windowed_attention

__all__ = ["ConvFeedForward", "DilatedResidualLayer", "dense_windowed_attention", "frame_mask", "windowed_attention"]

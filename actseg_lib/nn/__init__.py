"""Building blocks shared by the papers' models: attention (full, masked, windowed),
the feed-forward block, positional encodings, ASFormer's block, temporal convolutions,
the mixed-convolution video backbone, 3D sampling and joint heat maps."""

from .asformer_block import ASFormerBlock
from .attention import Attention, masked_attention
from .feedforward import FeedForward
from .masks import frame_mask
from .positional import sinusoidal_positions
from .temporal_conv import ConvFeedForward, DilatedResidualLayer
from .windowed_attention import dense_windowed_attention, windowed_attention

__all__ = [
    "ASFormerBlock",
    "Attention",
    "ConvFeedForward",
    "DilatedResidualLayer",
    "FeedForward",
    "dense_windowed_attention",
    "frame_mask",
    "masked_attention",
    "sinusoidal_positions",
    "windowed_attention",
]

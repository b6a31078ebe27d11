"""ASFormer (Yi, Wen & Jiang, BMVC 2021): a Transformer for action segmentation.

An encoder turns frame features into frame-wise class logits; decoders then refine the
previous stage's class probabilities, as MS-TCN's later stages do, but with attention.
Every block of every stage is :class:`~actseg_lib.nn.asformer_block.ASFormerBlock`:

    A   = ReLU(W_d *_{2^i} H)                              dilated 3-tap convolution
    A'  = A + alpha * Att_{2^i}(Norm(A))                    attention in a window of 2^i frames
    H'  = mask * (H + Dropout(W_1 A'))                      1x1 convolution, residual

for block ``i = 0..L-1``: the dilation and the attention window both double from block to
block, so the first blocks look at neighbouring frames and the last at hundreds of them.

The attention in block ``i`` is local: frame ``t`` attends to the frames within
``2^i // 2`` of itself (:func:`actseg_lib.nn.windowed_attention.windowed_attention`).

**The window in the public code.** The authors' implementation cuts the sequence into
blocks of ``w`` frames, gives each block a key band padded by ``w // 2`` frames on both
sides, and intends a mask inside the band that keeps each query's own centred ``w`` keys.
Its mask construction however fills every row of the ``w x (w + 2(w//2))`` mask, so every
query of a block sees the whole band: the first frame of a block attends up to about
``1.5 w`` frames ahead and ``w / 2`` behind, the last frame the reverse, and what a frame
sees depends on where the block boundaries happen to fall. This library implements the
centred window the paper describes: frame ``t`` attends to ``|s - t| <= w // 2``, the same
for every frame, and the receptive field is a fixed, symmetric number of frames (see
:func:`receptive_field`). Trained weights from the public code therefore do not transfer
exactly.

Two further choices, both marked where they are made:

* Decoders (cross-attention): queries and keys come from the decoder's own features and
  values from the previous stage's features (the encoder's for the first decoder, then
  the previous decoder's), as the public code does. The paper's text instead describes
  queries and keys computed from both streams.
* The normalisation before attention is an instance norm over the *real* frames only,
  so a padded batch gives the same result as each sequence alone; without padding it is
  exactly ``nn.InstanceNorm1d`` (no affine parameters, no running statistics). It uses
  statistics of the whole sequence, so every output depends weakly on every input frame;
  the convolutions and attention windows alone are local.
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F

from ..nn import frame_mask
from ..nn.asformer_block import ASFormerBlock
from .registry import register_model

__all__ = ["ASFormer", "Decoder", "Encoder", "receptive_field"]


class Encoder(nn.Module):
    """Channel masking, 1x1 conv to ``num_f_maps``, ``num_layers`` self-attention blocks
    (block ``i``: dilation and window ``2^i``, alpha 1), 1x1 conv to class logits.

    Channel masking drops whole input channels (the same channel at every frame) with
    probability ``channel_masking_rate`` during training, a regulariser against
    over-reliance on a few feature dimensions.
    """

    def __init__(
        self,
        *,
        num_layers: int,
        num_f_maps: int,
        in_channels: int,
        num_classes: int,
        r1: int,
        r2: int,
        channel_masking_rate: float,
        dropout: float,
    ):
        super().__init__()
        self.channel_dropout = nn.Dropout2d(channel_masking_rate)
        self.conv_in = nn.Conv1d(in_channels, num_f_maps, 1)
        self.layers = nn.ModuleList(
            ASFormerBlock(2**i, num_f_maps, r1, r2, window=2**i, alpha=1.0, dropout=dropout) for i in range(num_layers)
        )
        self.conv_out = nn.Conv1d(num_f_maps, num_classes, 1)

    def forward(self, x: torch.Tensor, mask: torch.Tensor):
        # x [B, C_in, T], mask [B, 1, T]; Dropout2d zeroes whole channels of a [B, C, 1, T] map
        x = self.channel_dropout(x.unsqueeze(2)).squeeze(2)
        h = self.conv_in(x) * mask  # [B, F, T]
        for layer in self.layers:
            h = layer(h, mask)
        return self.conv_out(h) * mask, h  # [B, K, T], [B, F, T]


class Decoder(nn.Module):
    """Refines class probabilities: 1x1 conv ``K -> F``, ``num_layers`` cross-attention blocks
    whose values come from ``memory`` (the previous stage's features), 1x1 conv to logits."""

    def __init__(
        self, *, num_layers: int, num_f_maps: int, num_classes: int, r1: int, r2: int, alpha: float, dropout: float
    ):
        super().__init__()
        self.conv_in = nn.Conv1d(num_classes, num_f_maps, 1)
        self.layers = nn.ModuleList(
            ASFormerBlock(2**i, num_f_maps, r1, r2, window=2**i, alpha=alpha, dropout=dropout)
            for i in range(num_layers)
        )
        self.conv_out = nn.Conv1d(num_f_maps, num_classes, 1)

    def forward(self, probs: torch.Tensor, memory: torch.Tensor, mask: torch.Tensor):
        # probs [B, K, T], memory [B, F, T], mask [B, 1, T]
        h = self.conv_in(probs) * mask  # [B, F, T]
        for layer in self.layers:
            h = layer(h, mask, memory)
        return self.conv_out(h) * mask, h  # [B, K, T], [B, F, T]


class ASFormer(nn.Module):
    """Encoder followed by ``num_decoders`` decoders.

    Decoder ``s = 0, 1, ...`` reads the softmax of the previous stage's logits and weighs its
    attention by ``alpha_s = exp(-3 s)`` (1, 0.05, 0.0025, ...), as the public code does: later
    decoders lean ever more on their convolutions, which smooth, and less on attention.

    ``forward(x [B, T, C], mask [B, T] bool) -> [S, B, K, T]`` logits of the encoder and every
    decoder, ``S = 1 + num_decoders`` (the loss supervises all; predictions come from the
    last). With ``return_features=True`` also the last stage's features ``[B, F, T]``.
    """

    def __init__(
        self,
        *,
        in_channels: int,
        num_classes: int,
        num_decoders: int,
        num_layers: int,
        num_f_maps: int,
        r1: int,
        r2: int,
        channel_masking_rate: float,
        dropout: float,
    ):
        super().__init__()
        if num_decoders < 0 or num_layers < 1:
            raise ValueError(
                f"ASFormer: expected num_decoders >= 0 and num_layers >= 1, got {num_decoders}, {num_layers}"
            )
        self.in_channels = in_channels
        self.num_classes = num_classes
        self.num_layers = num_layers
        self.encoder = Encoder(
            num_layers=num_layers,
            num_f_maps=num_f_maps,
            in_channels=in_channels,
            num_classes=num_classes,
            r1=r1,
            r2=r2,
            channel_masking_rate=channel_masking_rate,
            dropout=dropout,
        )
        self.decoders = nn.ModuleList(
            Decoder(
                num_layers=num_layers,
                num_f_maps=num_f_maps,
                num_classes=num_classes,
                r1=r1,
                r2=r2,
                alpha=math.exp(-3 * s),
                dropout=dropout,
            )
            for s in range(num_decoders)
        )

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None, return_features: bool = False):
        if x.dim() != 3 or x.shape[-1] != self.in_channels:
            raise ValueError(f"x: expected [B, T, {self.in_channels}], got shape {tuple(x.shape)}")
        x = x.transpose(1, 2)  # [B, C, T]
        m = frame_mask(mask, x)  # [B, 1, T]
        logits, h = self.encoder(x, m)
        outputs = [logits]
        for decoder in self.decoders:
            logits, h = decoder(F.softmax(logits, dim=1) * m, h * m, m)
            outputs.append(logits)
        out = torch.stack(outputs)  # [S, B, K, T]
        return (out, h) if return_features else out


def receptive_field(num_layers: int) -> int:
    """Frames on *each side* of frame ``t`` that the encoder's convolutions and attention
    windows can reach: block ``i`` adds ``2^i`` (its dilated 3-tap convolution) plus
    ``2^i // 2`` (its centred window). The instance norm's whole-sequence statistics are
    the only path beyond this reach."""
    return sum(2**i + (2**i) // 2 for i in range(num_layers))


register_model(
    "asformer",
    ASFormer,
    task="segmentation",
    paper="yi2021asformer",
    version=1,
    # the paper: 3 decoders, 10 blocks x 64 maps, r1 = r2 = 2, channel masking 0.3,
    # Adam 5e-4 with weight decay 1e-5, batch 1, 120 epochs
    full={
        "model": dict(
            in_channels=2048,
            num_classes=48,
            num_decoders=3,
            num_layers=10,
            num_f_maps=64,
            r1=2,
            r2=2,
            channel_masking_rate=0.3,
            dropout=0.5,
        ),
        "train": dict(optimizer="adam", lr=5e-4, weight_decay=1e-5, epochs=120, batch_size=1, scheduler="none"),
        "loss": dict(smoothing_weight=0.15, smoothing_clamp=16.0),
    },
    # a 2-core CPU in minutes: fewer, narrower blocks and stages; the same recipe otherwise
    reduced={
        "model": dict(in_channels=75, num_classes=13, num_decoders=2, num_layers=6, num_f_maps=32),
        "train": dict(epochs=40),
    },
)

"""MS-TCN (Farha & Gall, CVPR 2019): a stack of single-stage temporal convolutional
networks, each refining the previous stage's class probabilities."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from ..nn import DilatedResidualLayer, frame_mask
from .registry import register_model


class SingleStageTCN(nn.Module):
    """1x1 conv to ``num_f_maps``, ``num_layers`` dilated residual layers (dilation 2^l),
    1x1 conv to class logits."""

    def __init__(self, num_layers: int, num_f_maps: int, in_channels: int, num_classes: int, dropout: float):
        super().__init__()
        self.conv_in = nn.Conv1d(in_channels, num_f_maps, 1)
        self.layers = nn.ModuleList(DilatedResidualLayer(2**l, num_f_maps, dropout) for l in range(num_layers))
        self.conv_out = nn.Conv1d(num_f_maps, num_classes, 1)

    def forward(self, x: torch.Tensor, mask: torch.Tensor, return_features: bool = False):
        # x [B, C_in, T], mask [B, 1, T]
        h = self.conv_in(x) * mask  # [B, F, T]
        for layer in self.layers:
            h = layer(h, mask)
        logits = self.conv_out(h) * mask  # [B, K, T]
        return (logits, h) if return_features else logits


class MSTCN(nn.Module):
    """Stage 1 reads the frame features; stage s > 1 reads the softmax of stage s-1.

    ``forward(x [B, T, C], mask [B, T] bool) -> [S, B, K, T]`` logits of every stage
    (the loss supervises all of them; predictions come from the last).
    """

    def __init__(
        self, *, in_channels: int, num_classes: int, num_stages: int, num_layers: int, num_f_maps: int, dropout: float
    ):
        super().__init__()
        if num_stages < 1 or num_layers < 1:
            raise ValueError(f"MSTCN: num_stages and num_layers must be >= 1, got {num_stages}, {num_layers}")
        self.num_classes = num_classes
        self.stages = nn.ModuleList(
            [SingleStageTCN(num_layers, num_f_maps, in_channels, num_classes, dropout)]
            + [SingleStageTCN(num_layers, num_f_maps, num_classes, num_classes, dropout) for _ in range(num_stages - 1)]
        )

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None, return_features: bool = False):
        x = x.transpose(1, 2)  # [B, C, T]
        m = frame_mask(mask, x)  # [B, 1, T]
        outputs = []
        for s, stage in enumerate(self.stages):
            inp = x if s == 0 else F.softmax(outputs[-1], dim=1) * m
            logits, h = stage(inp, m, return_features=True)  # h: [B, F, T]
            outputs.append(logits)
        out = torch.stack(outputs)  # [S, B, K, T]
        return (out, h) if return_features else out


register_model(
    "ms_tcn",
    MSTCN,
    task="segmentation",
    paper="farha2019mstcn",
    version=1,
    # the paper: 4 stages x 10 layers x 64 maps, Adam 5e-4, batch 1, 50 epochs
    full={
        "model": dict(in_channels=2048, num_classes=48, num_stages=4, num_layers=10, num_f_maps=64, dropout=0.5),
        "train": dict(optimizer="adam", lr=5e-4, weight_decay=0.0, epochs=50, batch_size=1, scheduler="none"),
        "loss": dict(smoothing_weight=0.15, smoothing_clamp=16.0),
    },
    # a 2-core CPU in minutes: fewer, narrower layers on SynthAct's 75 skeleton channels
    reduced={"model": dict(in_channels=75, num_classes=13, num_stages=3, num_layers=8, num_f_maps=32)},
)

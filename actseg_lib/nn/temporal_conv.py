"""Dilated temporal convolutions, the backbone of MS-TCN and of ASFormer's feed-forward."""

from __future__ import annotations

import torch
from torch import nn


class DilatedResidualLayer(nn.Module):
    """MS-TCN's layer: a dilated 3-tap convolution, ReLU, a 1x1 convolution, dropout, and a
    residual connection:

        H_l = H_{l-1} + W_2 * ReLU(W_1 *_d H_{l-1} + b_1) + b_2,    d = 2^l

    The receptive field after layers 0..L-1 is 2^(L+1) - 1 frames. Padded frames are
    zeroed after the residual so they never leak into real ones through later layers.
    """

    def __init__(self, dilation: int, channels: int, dropout: float = 0.5):
        super().__init__()
        self.conv_dilated = nn.Conv1d(channels, channels, 3, padding=dilation, dilation=dilation)
        self.conv_1x1 = nn.Conv1d(channels, channels, 1)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        # x [B, C, T], mask [B, 1, T] float
        out = self.dropout(self.conv_1x1(torch.relu(self.conv_dilated(x))))
        return (x + out) * mask


class ConvFeedForward(nn.Module):
    """ASFormer's feed-forward: a dilated 3-tap convolution and ReLU (a convolution in
    place of the Transformer's position-wise MLP, for a local inductive bias)."""

    def __init__(self, dilation: int, in_channels: int, out_channels: int):
        super().__init__()
        self.conv = nn.Conv1d(in_channels, out_channels, 3, padding=dilation, dilation=dilation)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.conv(x))  # [B, C_out, T]

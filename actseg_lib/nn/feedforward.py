"""The Transformer's position-wise feed-forward block, shared by every paper's layers:

    FFN(x) = W_2 Dropout(GELU(W_1 x + b_1)) + b_2

Where the norm and the residual go (before, as in STAR, the 3D deformable transformer and
InterAct; after, as in SigFormer) is the paper's choice and stays in its layer.
"""

from __future__ import annotations

import torch
from torch import nn


class FeedForward(nn.Module):
    """``[..., dim] -> [..., dim]`` through ``hidden`` units."""

    def __init__(self, dim: int, hidden: int, dropout: float = 0.0):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(dim, hidden), nn.GELU(), nn.Dropout(dropout), nn.Linear(hidden, dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)

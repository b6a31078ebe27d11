"""Fixed positional encodings."""

from __future__ import annotations

import math

import torch


def sinusoidal_positions(n: int, dim: int, device=None) -> torch.Tensor:
    """``[n, dim]`` sinusoidal encodings (Vaswani et al., 2017): position p, channel pair
    (2i, 2i + 1) holds (sin, cos)(p / 10000^(2i / dim))."""
    position = torch.arange(n, device=device, dtype=torch.float32)[:, None]
    freq = torch.exp(torch.arange(0, dim, 2, device=device, dtype=torch.float32) * (-math.log(10000.0) / dim))
    pe = torch.zeros(n, dim, device=device)
    pe[:, 0::2] = torch.sin(position * freq)
    pe[:, 1::2] = torch.cos(position * freq)[:, : dim // 2]
    return pe

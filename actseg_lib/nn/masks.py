"""Masks over padded frame sequences."""

from __future__ import annotations

import torch


def frame_mask(mask: torch.Tensor | None, x: torch.Tensor) -> torch.Tensor:
    """``mask`` [B, T] bool (True = real frame) as a float [B, 1, T] for channel-first
    activations ``x`` [B, C, T]; all ones when ``mask`` is None."""
    B, _, T = x.shape
    if mask is None:
        return x.new_ones(B, 1, T)
    if mask.shape != (B, T):
        raise ValueError(f"mask: expected shape {(B, T)} to match the input, got {tuple(mask.shape)}")
    return mask[:, None, :].to(x.dtype)

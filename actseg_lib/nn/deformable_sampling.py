"""Sampling a (T, H, W) feature volume at continuous 3D points, for deformable attention.

Points are given in the normalised coordinates of ``torch.nn.functional.grid_sample``
with ``align_corners=False``: each axis runs over [-1, 1], the centre of cell i of n
sits at (2 i + 1) / n - 1, so a point at a cell centre reads that cell exactly. A 5-D
input makes ``grid_sample``'s "bilinear" mode trilinear (it interpolates in t, y and x).
"""

from __future__ import annotations

import torch
from torch.nn import functional as F


def reference_points(t: int, h: int, w: int, device=None, dtype=torch.float32) -> torch.Tensor:
    """The cell centres of a ``t x h x w`` grid as (x, y, t) in [-1, 1]: ``[t, h, w, 3]``."""
    axes = [(2 * torch.arange(n, device=device, dtype=dtype) + 1) / n - 1 for n in (t, h, w)]
    ts, ys, xs = torch.meshgrid(*axes, indexing="ij")
    return torch.stack([xs, ys, ts], dim=-1)  # grid_sample's order: x (W), y (H), then t (D)


def sample_volume(volume: torch.Tensor, points: torch.Tensor) -> torch.Tensor:
    """Trilinear samples of ``volume [B, C, T, H, W]`` at ``points [B, N, 3]`` (x, y, t in
    [-1, 1]; outside reads zeros) -> ``[B, N, C]``."""
    if volume.dim() != 5 or points.dim() != 3 or points.shape[-1] != 3:
        raise ValueError(
            f"sample_volume: expected volume [B, C, T, H, W] and points [B, N, 3], got "
            f"{tuple(volume.shape)} and {tuple(points.shape)}"
        )
    grid = points[:, :, None, None, :]  # [B, N, 1, 1, 3]: grid_sample wants a 3-D grid of points
    out = F.grid_sample(volume, grid.to(volume.dtype), mode="bilinear", padding_mode="zeros", align_corners=False)
    return out[:, :, :, 0, 0].transpose(1, 2)  # [B, N, C]

"""Gaussian joint heat maps rendered on the fly, at whatever resolution a model needs.

For joint n at normalised image coordinates (u_n, v_n) in [0, 1] and a map of
h x w pixels whose pixel (i, j) has its centre at ((j + 0.5) / w, (i + 0.5) / h):

    H_n(i, j) = exp(-((j - (u_n w - 0.5))^2 + (i - (v_n h - 0.5))^2) / (2 sigma^2))

with sigma in map pixels; the peak is 1 at the joint. This is the same convention as
:func:`actseg_lib.data.heatmaps.joint_heatmaps` (which renders them in numpy from
pixel coordinates), so maps drawn by the data and by a model agree.
"""

from __future__ import annotations

import torch


def render_joint_heatmaps(coords: torch.Tensor, height: int, width: int, sigma: float = 1.0) -> torch.Tensor:
    """``coords [..., J, 2]`` (x, y in [0, 1]) -> heat maps ``[..., J, height, width]``."""
    if coords.shape[-1] != 2:
        raise ValueError(f"coords: expected [..., J, 2] normalised (x, y), got shape {tuple(coords.shape)}")
    if sigma <= 0:
        raise ValueError(f"sigma: expected > 0, got {sigma}")
    ys = torch.arange(height, dtype=coords.dtype, device=coords.device)
    xs = torch.arange(width, dtype=coords.dtype, device=coords.device)
    cx = coords[..., 0:1] * width - 0.5  # [..., J, 1]
    cy = coords[..., 1:2] * height - 0.5
    gx = torch.exp(-((xs - cx) ** 2) / (2 * sigma**2))  # [..., J, W]
    gy = torch.exp(-((ys - cy) ** 2) / (2 * sigma**2))  # [..., J, H]
    return gy[..., :, None] * gx[..., None, :]

"""Gaussian joint heat maps drawn from 2D skeletons in numpy: STAR-Transformer's joint
map tokens, for any source with a 2D skeleton (SynthAct, NTU, Penn Action, ...).

The convention (pixel centres at integer + 0.5, sigma in heat-map pixels, peak 1 at the
joint) is the one :func:`actseg_lib.nn.joint_heatmaps.render_joint_heatmaps` follows on
the fly in torch, so maps drawn by the data and by a model agree.
"""

from __future__ import annotations

import numpy as np


def joint_heatmaps(skeleton2d: np.ndarray, image_size: int, out_size: int, sigma: float = 1.0) -> np.ndarray:
    """Gaussian joint heat maps (STAR's joint map tokens).

    Args:
        skeleton2d: [T, J, 2] pixel coordinates in an ``image_size`` frame.
        out_size: heat map resolution (h' = w').
        sigma: Gaussian width in heat-map pixels.

    Returns:
        [T, J, out_size, out_size] float32 in [0, 1], peak 1 at each joint.
    """
    scale = out_size / image_size
    centre = skeleton2d * scale - 0.5  # pixel centres at integer + 0.5
    grid = np.arange(out_size, dtype=np.float32)
    gx = np.exp(-((grid - centre[..., 0:1]) ** 2) / (2 * sigma**2))  # [T, J, W]
    gy = np.exp(-((grid - centre[..., 1:2]) ** 2) / (2 * sigma**2))  # [T, J, H]
    return (gy[..., :, None] * gx[..., None, :]).astype(np.float32)

"""RGB frames of the simulated body: limbs as thick lines, a head, the held object,
on a textured background with moving distractors and sensor noise.

Everything is drawn with distance fields over the pixel grid, all frames at once.
"""

from __future__ import annotations

import numpy as np

from ...common.skeletons import NTU_EDGES, NTU_PART
from .body import J

# object -> (shape, width m, height m, RGB), drawn at the acting hand. Sizes are
# exaggerated (about twice life size) so that objects stay visible at 32-48 pixels.
OBJECTS = {
    "cup": ("rect", 0.16, 0.20, (245, 245, 250)),
    "phone": ("rect", 0.11, 0.26, (15, 15, 20)),
    "hat": ("rect", 0.36, 0.14, (210, 30, 40)),
    "keyboard": ("rect", 0.50, 0.10, (110, 110, 125)),
    "book": ("rect", 0.30, 0.24, (150, 85, 30)),
    "pen": ("rect", 0.04, 0.22, (30, 30, 170)),
    "toothbrush": ("rect", 0.04, 0.24, (40, 210, 230)),
    "spoon": ("disc", 0.12, 0.12, (205, 205, 215)),
    "item": ("rect", 0.18, 0.18, (245, 140, 20)),
    "box": ("rect", 0.50, 0.38, (190, 150, 100)),
    "label": ("rect", 0.16, 0.11, (250, 250, 250)),
    "scanner": ("rect", 0.10, 0.22, (235, 205, 30)),
}
_THICKNESS = {0: 0.09, 1: 0.045, 2: 0.045, 3: 0.06, 4: 0.06}  # metres, per body part
SKIN = np.array([224, 180, 150], dtype=np.float32)


def _segment_distance2(pixels: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Squared distance of each pixel [P, 2] to segments a->b [T, 2] -> [T, P] (float32)."""
    ax, ay = a[:, 0:1], a[:, 1:2]  # [T, 1]
    abx, aby = b[:, 0:1] - ax, b[:, 1:2] - ay
    apx, apy = pixels[None, :, 0] - ax, pixels[None, :, 1] - ay  # [T, P]
    t = np.clip((apx * abx + apy * aby) / np.maximum(abx * abx + aby * aby, 1e-9), 0.0, 1.0)
    dx, dy = apx - t * abx, apy - t * aby
    return dx * dx + dy * dy


def background(num_frames: int, size: int, rng: np.random.Generator) -> np.ndarray:
    """[T, H, W, 3] float: a two-colour gradient with stripes, 1-3 moving discs, light flicker."""
    y, x = np.mgrid[0:size, 0:size] / size
    c0, c1 = rng.uniform(40, 215, size=(2, 3))
    angle = rng.uniform(0, np.pi)
    ramp = np.cos(angle) * x + np.sin(angle) * y
    stripes = 12 * np.sin(2 * np.pi * rng.uniform(2, 6) * (np.sin(angle) * x - np.cos(angle) * y))
    base = c0 + (c1 - c0) * ramp[..., None] + stripes[..., None]
    frames = np.repeat(base[None], num_frames, axis=0)
    pixels = np.stack([x.ravel(), y.ravel()], axis=-1) * size
    t = np.arange(num_frames)[:, None]
    for _ in range(rng.integers(1, 4)):  # distractors drifting across the frame
        start = rng.uniform(0, size, size=2)
        velocity = rng.normal(0, size / 60, size=2)
        centre = start + t * velocity  # [T, 2]
        radius = rng.uniform(0.05, 0.12) * size
        inside = np.linalg.norm(pixels[None] - centre[:, None], axis=-1) < radius  # [T, P]
        frames.reshape(num_frames, -1, 3)[inside] = rng.uniform(0, 255, size=3)
    frames *= rng.uniform(0.9, 1.1, size=(num_frames, 1, 1, 1))  # lighting flicker
    return frames


def render(
    skeleton2d: np.ndarray,
    depth: np.ndarray,
    focal_px: float,
    colors: np.ndarray,
    obj: str | None,
    obj_visible: np.ndarray,
    hand: str,
    size: int,
    rng: np.random.Generator,
    obj_size: tuple | None = None,
    obj_scale: float = 1.0,
    obj_offset: np.ndarray | None = None,
) -> np.ndarray:
    """Draw the body.

    Args:
        skeleton2d: [T, J, 2] pixels; depth: [T, J] metres from the camera.
        focal_px: focal length in pixels (sizes in metres -> pixels at each depth).
        colors: [5, 3] part colours; obj: held object name or None;
        obj_visible: [T] bool; hand: "left" or "right", the hand holding it.
        obj_size: (width, height) in metres instead of the object's own; obj_scale
            multiplies them.
        obj_offset: [T, 2] metres in the image plane (x right, y down) from the hand's
            tip to the object's centre; None: at the tip.

    Returns:
        [T, size, size, 3] uint8.
    """
    T = len(skeleton2d)
    frames = background(T, size, rng).reshape(T, -1, 3)
    y, x = np.mgrid[0:size, 0:size].astype(np.float32) + 0.5
    pixels = np.stack([x.ravel(), y.ravel()], axis=-1)
    skeleton2d = skeleton2d.astype(np.float32)
    # far limbs first, so nearer ones are drawn over them (order from the mean depth)
    edges = sorted(NTU_EDGES, key=lambda e: -depth[:, list(e)].mean())
    for child, parent in edges:
        part = NTU_PART[child]
        radius = 0.5 * _THICKNESS[part] * focal_px / depth[:, [child, parent]].mean(-1)
        d2 = _segment_distance2(pixels, skeleton2d[:, parent], skeleton2d[:, child])
        frames[d2 < (np.maximum(radius, 0.6) ** 2)[:, None].astype(np.float32)] = colors[part]
    head = skeleton2d[:, J["head"]]
    head_r = 0.11 * focal_px / depth[:, J["head"]]
    frames[np.linalg.norm(pixels[None] - head[:, None], axis=-1) < np.maximum(head_r, 1.0)[:, None]] = SKIN
    if obj is not None:
        shape, w, h, rgb = OBJECTS[obj]
        if obj_size is not None:
            shape, (w, h) = "rect", obj_size
        if obj_scale != 1.0:
            w, h = w * obj_scale, h * obj_scale
        tip = skeleton2d[:, J[f"{hand}_hand_tip"]]
        scale = focal_px / depth[:, J[f"{hand}_hand"]]
        if obj_offset is not None:
            tip = tip + (obj_offset * scale[:, None]).astype(np.float32)
        offset = pixels[None] - tip[:, None]  # [T, P, 2]
        if shape == "rect":
            inside = (np.abs(offset[..., 0]) < (w / 2 * scale)[:, None]) & (
                np.abs(offset[..., 1]) < (h / 2 * scale)[:, None]
            )
        else:
            inside = np.linalg.norm(offset, axis=-1) < (w / 2 * scale)[:, None]
        inside &= obj_visible[:, None]
        frames[inside] = rgb
    frames += rng.normal(0, 6.0, size=frames.shape)  # sensor noise
    return np.clip(frames, 0, 255).astype(np.uint8).reshape(T, size, size, 3)

"""Training-time augmentation of recognition clips, on whole batches (on the device).

Every transform moves the RGB frames and the 2D skeleton together, so the joints stay
on the body they belong to:

* **horizontal flip** (half the clips): x -> 1 - x for the skeleton. Joint names are
  not swapped, so a flipped clip looks like a mirrored performer, which SynthAct has
  anyway (left-handed subjects mirror one-handed actions);
* **translation** by up to ``max_shift`` of the frame, the same for every frame of a
  clip (pixels wrap around at the border);
* **colour**: per clip, the RGB channels permuted at random, each scaled by a gain in
  [1 - jitter, 1 + jitter] and shifted in brightness. Clothing colours then stop
  identifying the few training subjects.

Random numbers come from torch's global generator, which the trainer seeds and saves in
its checkpoints, so augmented runs are repeatable and resume exactly.
"""

from __future__ import annotations

import torch


def augment_clips(batch: dict, max_shift: float = 0.08, jitter: float = 0.2) -> dict:
    """A copy of ``batch`` (``rgb`` [B, T, 3, H, W] in [0, 1] and/or ``skeleton2d``
    [B, T, J, 2] in [0, 1]) with random flips, shifts and colour changes per clip."""
    rgb, skeleton = batch.get("rgb"), batch.get("skeleton2d")
    ref = rgb if rgb is not None else skeleton
    if ref is None:
        return batch
    B, device = ref.shape[0], ref.device
    flip = torch.rand(B) < 0.5
    shift = (torch.rand(B, 2) * 2 - 1) * max_shift  # fraction of the frame, (x, y)
    out = dict(batch)
    if rgb is not None:
        H, W = rgb.shape[-2:]
        pixels = torch.round(shift * torch.tensor([W, H])).long()
        shift = pixels / torch.tensor([W, H])  # the skeleton moves by the whole pixels the frames move
        frames = torch.where(flip.to(device)[:, None, None, None, None], rgb.flip(-1), rgb)
        frames = torch.stack([torch.roll(frames[b], tuple(pixels[b].flip(0).tolist()), (-2, -1)) for b in range(B)])
        order = torch.argsort(torch.rand(B, 3), dim=1).to(device)  # a random channel permutation per clip
        frames = torch.gather(frames, 2, order[:, None, :, None, None].expand_as(frames))
        gain = 1 + jitter * (torch.rand(B, 1, 3, 1, 1) * 2 - 1)
        brightness = 0.5 * jitter * (torch.rand(B, 1, 1, 1, 1) * 2 - 1)
        out["rgb"] = (frames * gain.to(device) + brightness.to(device)).clamp(0, 1)
    if skeleton is not None:
        x = torch.where(flip.to(device)[:, None, None], 1 - skeleton[..., 0], skeleton[..., 0])
        moved = torch.stack([x, skeleton[..., 1]], dim=-1)
        out["skeleton2d"] = moved + shift.to(device, skeleton.dtype)[:, None, None, :]
    return out

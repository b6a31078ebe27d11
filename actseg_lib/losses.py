"""Training losses.

Segmentation (MS-TCN, used by ASFormer and the later chapters):

    L = sum over stages s of  L_cls^s + lambda * L_smooth^s
    L_cls    = mean over labelled frames of  -log y_{t, c_t}
    L_smooth = mean over (t, c) of  min( (log y_{t,c} - log y_{t-1,c})^2 , tau^2 )

where y are the stage's per-frame class probabilities, the previous frame's term is
treated as a constant (no gradient flows into frame t-1), and tau^2 = 16 in the paper.
"""

from __future__ import annotations

import torch
from torch.nn import functional as F

from .common.labels import IGNORE_INDEX


def smoothing_loss(logits: torch.Tensor, mask: torch.Tensor | None = None, clamp: float = 16.0) -> torch.Tensor:
    """Truncated MSE between log-probabilities of neighbouring frames.

    ``logits`` [B, K, T]; ``mask`` [B, T] bool (pairs with a padded frame are left out).
    The mean runs over valid (frame pair, class) entries; the MS-TCN code divides by all
    entries of the padded batch instead, which is the same for a batch of one.
    """
    log_p = F.log_softmax(logits, dim=1)  # [B, K, T]
    sq = (log_p[:, :, 1:] - log_p.detach()[:, :, :-1]) ** 2  # [B, K, T-1]
    sq = torch.clamp(sq, min=0.0, max=clamp)
    if mask is None:
        return sq.mean() if sq.numel() else logits.sum() * 0.0
    pair = (mask[:, 1:] & mask[:, :-1])[:, None, :].to(sq.dtype)  # [B, 1, T-1]
    count = pair.sum() * logits.shape[1]
    return (sq * pair).sum() / count.clamp(min=1.0)


def segmentation_loss(
    stage_logits: torch.Tensor,
    labels: torch.Tensor,
    mask: torch.Tensor | None = None,
    smoothing_weight: float = 0.15,
    smoothing_clamp: float = 16.0,
) -> tuple[torch.Tensor, dict]:
    """Cross-entropy plus weighted smoothing, summed over stages.

    ``stage_logits`` [S, B, K, T] (or [B, K, T] for one stage); ``labels`` [B, T] with
    ``IGNORE_INDEX`` on padded or unlabelled frames. Returns the loss and its parts
    (floats) for logging.
    """
    if stage_logits.dim() == 3:
        stage_logits = stage_logits[None]
    S, B, K, T = stage_logits.shape
    if labels.shape != (B, T):
        raise ValueError(f"labels: expected shape {(B, T)} to match the logits, got {tuple(labels.shape)}")
    ce = stage_logits.new_zeros(())
    smooth = stage_logits.new_zeros(())
    labelled = bool((labels != IGNORE_INDEX).any())  # a clip of only ignored frames still trains smoothness
    for logits in stage_logits:
        if labelled:
            ce = ce + F.cross_entropy(logits.float(), labels, ignore_index=IGNORE_INDEX)
        if smoothing_weight:
            smooth = smooth + smoothing_loss(logits.float(), mask, smoothing_clamp)
    loss = ce + smoothing_weight * smooth
    return loss, {"ce": float(ce.detach()), "smooth": float(smooth.detach())}


class SegmentationLoss:
    """:func:`segmentation_loss` as the engine's criterion for models whose forward gives
    stage logits ``[S, B, K, T]`` (MS-TCN, ASFormer): ``criterion(output, batch, model)``."""

    def __init__(self, smoothing_weight: float = 0.15, smoothing_clamp: float = 16.0):
        self.smoothing_weight, self.smoothing_clamp = smoothing_weight, smoothing_clamp

    def __call__(self, output: torch.Tensor, batch: dict, model=None) -> tuple[torch.Tensor, dict]:
        return segmentation_loss(output, batch["labels"], batch["mask"], self.smoothing_weight, self.smoothing_clamp)

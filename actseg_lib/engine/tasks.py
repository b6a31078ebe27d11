"""What the trainer needs to know about a task: how to batch, the loss, how to predict
and how to score. The trainer itself is task-agnostic."""

from __future__ import annotations

import numpy as np
import torch

from ..data.datasets import collate_segmentation
from ..data.sample import IGNORE_INDEX
from ..losses import segmentation_loss
from ..metrics.segmentation import segmentation_scores


class SegmentationTask:
    """Frame-wise segmentation: models map ``(x [B, T, C], mask [B, T])`` to stage logits
    ``[S, B, K, T]``; predictions come from the last stage.

    Metrics are the library's MS-TCN-compatible ``segmentation_scores`` (percent), plus
    ``score``, the mean of accuracy, edit and the three F1s: one number that rewards
    both frame accuracy and clean segments, used to pick the best epoch.
    """

    name = "segmentation"
    collate = staticmethod(collate_segmentation)

    def __init__(self, background=(), smoothing_weight: float = 0.15, smoothing_clamp: float = 16.0):
        self.background = tuple(background)
        self.smoothing_weight, self.smoothing_clamp = smoothing_weight, smoothing_clamp

    def to_device(self, batch: dict, device) -> dict:
        return {k: v.to(device, non_blocking=True) if torch.is_tensor(v) else v for k, v in batch.items()}

    def loss(self, model, batch: dict) -> tuple[torch.Tensor, dict]:
        logits = model(batch["x"], batch["mask"])  # [S, B, K, T]
        return segmentation_loss(logits, batch["labels"], batch["mask"], self.smoothing_weight, self.smoothing_clamp)

    @torch.no_grad()
    def predict(self, model, batch: dict) -> list[tuple[np.ndarray, np.ndarray]]:
        """(predicted labels, true labels) per sequence, cut to its length."""
        logits = model(batch["x"], batch["mask"])[-1]  # [B, K, T]
        pred = logits.argmax(1).cpu().numpy()
        labels = batch["labels"].cpu().numpy()
        return [(pred[b, :n], labels[b, :n]) for b, n in enumerate(batch["lengths"].tolist())]

    def metrics(self, pairs: list[tuple[np.ndarray, np.ndarray]]) -> dict:
        scores = segmentation_scores([p for p, _ in pairs], [y for _, y in pairs],
                                     background=self.background, ignore_index=IGNORE_INDEX)
        scores = {k: float(v) for k, v in scores.items()}
        scores["score"] = float(np.mean([scores[k] for k in ("acc", "edit", "f1@10", "f1@25", "f1@50")]))
        return scores

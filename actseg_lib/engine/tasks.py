"""What the trainer needs to know about a task: how to batch, the loss, how to predict
and how to score. The trainer itself is task-agnostic."""

from __future__ import annotations

import numpy as np
import torch
from torch.nn import functional as F
from torch.utils.data import default_collate

from ..data.augment import augment_clips
from ..data.datasets import collate_segmentation
from ..data.sample import IGNORE_INDEX
from ..losses import segmentation_loss
from ..metrics.recognition import mean_class_accuracy, topk_accuracy
from ..metrics.segmentation import segmentation_scores

CLIP_INPUTS = ("rgb", "skeleton2d")


def batch_to_device(batch: dict, device) -> dict:
    """The batch's tensors moved to ``device``; other entries as they are."""
    return {k: v.to(device, non_blocking=True) if torch.is_tensor(v) else v for k, v in batch.items()}


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

    to_device = staticmethod(batch_to_device)

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


class RecognitionTask:
    """Clip classification: models map the clip's inputs (``rgb`` [B, T, 3, H, W],
    ``skeleton2d`` [B, T, J, 2], whichever the batch holds) to logits ``[B, K]``.

    The loss is cross-entropy with optional label smoothing; training batches are
    augmented (:func:`~actseg_lib.data.augment.augment_clips`) when ``augment`` is set.
    Metrics (percent): ``top1``, ``top5`` (when there are more than five classes),
    ``mean_class_acc``; ``score`` is top-1, used to pick the best epoch.
    """

    name = "recognition"
    collate = staticmethod(default_collate)

    def __init__(self, label_smoothing: float = 0.0, augment: bool = False):
        self.label_smoothing, self.augment = label_smoothing, augment

    to_device = staticmethod(batch_to_device)

    @staticmethod
    def inputs(batch: dict) -> dict:
        return {k: batch[k] for k in CLIP_INPUTS if k in batch}

    def loss(self, model, batch: dict) -> tuple[torch.Tensor, dict]:
        if self.augment and model.training:
            batch = augment_clips(batch)
        logits = model(**self.inputs(batch))  # [B, K]
        loss = F.cross_entropy(logits.float(), batch["label"], label_smoothing=self.label_smoothing)
        return loss, {"ce": float(loss.detach())}

    @torch.no_grad()
    def predict(self, model, batch: dict) -> list[tuple[np.ndarray, int]]:
        """(class scores [K], true label) per clip."""
        scores = model(**self.inputs(batch)).float().cpu().numpy()
        return list(zip(scores, batch["label"].cpu().tolist()))

    def metrics(self, pairs: list[tuple[np.ndarray, int]]) -> dict:
        scores = np.stack([s for s, _ in pairs])
        labels = np.array([y for _, y in pairs])
        result = {"top1": topk_accuracy(scores, labels, 1),
                  "mean_class_acc": mean_class_accuracy(scores.argmax(1), labels, scores.shape[1])}
        if scores.shape[1] > 5:
            result["top5"] = topk_accuracy(scores, labels, 5)
        result["score"] = result["top1"]
        return result

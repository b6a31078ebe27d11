"""Clip-level action recognition metrics: top-k accuracy, mean class accuracy, confusion."""

from __future__ import annotations

import numpy as np
from sklearn.metrics import confusion_matrix as sk_confusion_matrix

from ._validate import to_numpy


def _class_indices(x, name: str, num_classes: int | None = None) -> np.ndarray:
    arr = to_numpy(x, name)
    if arr.ndim != 1:
        hint = " (scores? take the argmax over classes first)" if arr.ndim == 2 else ""
        raise ValueError(f"{name}: expected a 1-D array of class indices, got shape {arr.shape}{hint}")
    if arr.size == 0:
        raise ValueError(f"{name}: no samples")
    if arr.dtype.kind not in "iu":
        raise TypeError(f"{name}: expected integer class indices, got dtype {arr.dtype}")
    if arr.min() < 0 or (num_classes is not None and arr.max() >= num_classes):
        raise ValueError(
            f"{name}: class indices must lie in [0, {num_classes}), got values from {arr.min()} to {arr.max()}"
        )
    return arr


def topk_accuracy(scores, targets, k: int = 1) -> float:
    """Percentage of samples whose true class is among the ``k`` highest scores.

    Args:
        scores: ``[N, C]`` class scores (logits or probabilities).
        targets: ``[N]`` true class indices.

    Ties count in the sample's favour: it is correct when fewer than ``k`` classes score
    strictly higher than the true one (deterministic, unlike an arbitrary top-k pick).
    """
    s = to_numpy(scores, "scores")
    if s.ndim != 2:
        raise ValueError(f"scores: expected [N, C] class scores, got shape {s.shape}")
    num_samples, num_classes = s.shape
    y = _class_indices(targets, "targets", num_classes)
    if len(y) != num_samples:
        raise ValueError(f"scores has {num_samples} samples but targets has {len(y)}")
    if not 1 <= k <= num_classes:
        raise ValueError(f"k: expected 1 <= k <= {num_classes} (the number of classes), got {k}")
    true_score = s[np.arange(num_samples), y]
    rank = np.count_nonzero(s > true_score[:, None], axis=1)
    return float(np.mean(rank < k) * 100.0)


def confusion_matrix(predictions, targets, num_classes: int) -> np.ndarray:
    """``[C, C]`` counts: row = true class, column = predicted class."""
    y = _class_indices(targets, "targets", num_classes)
    p = _class_indices(predictions, "predictions", num_classes)
    if len(p) != len(y):
        raise ValueError(f"predictions has {len(p)} samples but targets has {len(y)}")
    return sk_confusion_matrix(y, p, labels=np.arange(num_classes))


def mean_class_accuracy(predictions, targets, num_classes: int | None = None) -> float:
    """Mean over the classes present in ``targets`` of each class's accuracy, in percent.

    Unlike overall accuracy, every class weighs the same, so a model that ignores a rare
    class is penalised. Classes absent from ``targets`` are left out (no recall exists).
    """
    y = _class_indices(targets, "targets", num_classes)
    num_classes = num_classes if num_classes is not None else int(y.max()) + 1
    cm = confusion_matrix(predictions, y, num_classes)
    support = cm.sum(axis=1)
    present = support > 0
    return float(np.mean(np.diag(cm)[present] / support[present]) * 100.0)


def pair_accuracy(cm: np.ndarray, i: int, j: int) -> float:
    """Accuracy within the clips of classes ``i`` and ``j`` of a confusion matrix ``cm``
    (row = true class), counting only which of the two was predicted, in percent: how
    well a model separates a confusable pair, whatever it does with the other classes."""
    within = cm[i, i] + cm[i, j] + cm[j, i] + cm[j, j]
    return float(100.0 * (cm[i, i] + cm[j, j]) / max(within, 1))

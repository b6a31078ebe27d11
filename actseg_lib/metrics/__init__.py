"""Evaluation metrics: segmentation (MS-TCN semantics), OpenPack 1 Hz macro F1, recognition."""

from .openpack import OPENPACK_NULL_ID, OPENPACK_OPERATIONS, openpack_macro_f1, resample_1hz
from .recognition import confusion_matrix, mean_class_accuracy, pair_accuracy, topk_accuracy
from .segmentation import (
    Segments,
    best_true_match,
    edit_score,
    f1_counts,
    f1_from_counts,
    segmentation_scores,
    segments,
)

__all__ = [
    "OPENPACK_NULL_ID",
    "OPENPACK_OPERATIONS",
    "Segments",
    "best_true_match",
    "confusion_matrix",
    "edit_score",
    "f1_counts",
    "f1_from_counts",
    "mean_class_accuracy",
    "openpack_macro_f1",
    "pair_accuracy",
    "resample_1hz",
    "segmentation_scores",
    "segments",
    "topk_accuracy",
]

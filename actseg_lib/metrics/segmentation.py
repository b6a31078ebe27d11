"""Temporal action segmentation metrics with the MS-TCN evaluation's exact semantics.

Frame accuracy, segmental edit score and F1@tau, as computed by the reference
evaluation of MS-TCN (Farha & Gall, 2019) that later papers copy, so numbers are
comparable with the literature:

* a segment is a maximal run of equal labels, start inclusive, **end exclusive**;
* labels in ``background`` are dropped from the segment lists (they still count in
  frame accuracy); the reference drops only a class literally named "background";
* accuracy and F1 are **pooled** over videos (F1 from summed TP/FP/FN), edit is the
  **mean of per-video** scores;
* F1 uses the reference's **greedy** matching: each predicted segment, in temporal
  order, takes the true segment with the highest IoU; it is a true positive only if
  that IoU reaches tau and that true segment is still free. A prediction whose best
  match is taken is a false positive even if another true segment would clear tau.

Departures, each deliberate and documented:

* both segment lists empty: edit is 100 (the reference divides by zero);
* ``ignore_index``: frames whose target equals it (padding, unlabelled) are left out
  of accuracy and break segments in both sequences, as if those frames were cut out
  but without joining their neighbours.

Everything is vectorised with NumPy; see ``benchmarks/bench_metrics.py``.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from rapidfuzz.distance import Levenshtein

from ._validate import frame_labels, label_kind, matching_labels, paired_videos

DEFAULT_OVERLAPS = (0.10, 0.25, 0.50)


class Segments(NamedTuple):
    """Segments of one label sequence: label, start (inclusive), end (exclusive)."""

    labels: np.ndarray
    starts: np.ndarray
    ends: np.ndarray

    def __len__(self) -> int:
        return len(self.labels)


def segments(labels, background=(), void=None) -> Segments:
    """Split a frame label sequence into segments.

    Args:
        labels: 1-D integer or string frame labels, ``[T]``.
        background: labels whose segments are dropped.
        void: optional boolean mask ``[T]``; void frames break runs and form no segment.
    """
    y = frame_labels(labels, "labels")
    bg = matching_labels(background, label_kind(y), "background")
    breaks = y[1:] != y[:-1]
    if void is not None:
        void = np.asarray(void, dtype=bool)
        if void.shape != y.shape:
            raise ValueError(f"void: expected a mask of shape {y.shape}, got {void.shape}")
        breaks |= void[1:] != void[:-1]
    change = np.flatnonzero(breaks) + 1
    starts = np.concatenate(([0], change))
    ends = np.concatenate((change, [len(y)]))
    seg_labels = y[starts]
    keep = ~np.isin(seg_labels, bg) if bg.size else np.ones(len(starts), dtype=bool)
    if void is not None:
        keep &= ~void[starts]
    return Segments(seg_labels[keep], starts[keep], ends[keep])


def edit_score(pred: Segments, true: Segments) -> float:
    """Normalised Levenshtein similarity of two segment label sequences, in percent.

    Both empty is a perfect 100 (the reference yields nan there).
    """
    longest = max(len(pred), len(true))
    if longest == 0:
        return 100.0
    distance = Levenshtein.distance(pred.labels.tolist(), true.labels.tolist())
    return (1.0 - distance / longest) * 100.0


def best_true_match(pred: Segments, true: Segments) -> tuple[np.ndarray, np.ndarray]:
    """For every predicted segment, the index and IoU of its best true segment.

    IoU is zero between different labels and uses the span of the two segments as the
    union, as the reference does. Ties go to the earliest true segment. Predictions that
    overlap no same-label true segment get index -1 and IoU 0.

    Segments of one sequence are sorted and disjoint, so each prediction overlaps a
    contiguous range of true segments and the pairs number at most |P| + |Y|.
    """
    n_pred = len(pred)
    best_idx = np.full(n_pred, -1, dtype=np.int64)
    best_iou = np.zeros(n_pred, dtype=np.float64)
    if n_pred == 0 or len(true) == 0:
        return best_idx, best_iou
    first = np.searchsorted(true.ends, pred.starts, side="right")  # first true ending after start
    stop = np.searchsorted(true.starts, pred.ends, side="left")  # first true starting at/after end
    counts = np.maximum(stop - first, 0)
    pair_pred = np.repeat(np.arange(n_pred), counts)
    offsets = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
    pair_true = np.repeat(first, counts) + offsets
    same = pred.labels[pair_pred] == true.labels[pair_true]
    pair_pred, pair_true = pair_pred[same], pair_true[same]
    if pair_pred.size == 0:
        return best_idx, best_iou
    ps, pe = pred.starts[pair_pred], pred.ends[pair_pred]
    ts, te = true.starts[pair_true], true.ends[pair_true]
    inter = np.minimum(pe, te) - np.maximum(ps, ts)
    union = np.maximum(pe, te) - np.minimum(ps, ts)
    iou = 1.0 * inter / union
    # per-prediction maximum, ties to the earliest true segment: sort by (pred, -iou, true)
    order = np.lexsort((pair_true, -iou, pair_pred))
    pair_pred, pair_true, iou = pair_pred[order], pair_true[order], iou[order]
    is_first = np.concatenate(([True], pair_pred[1:] != pair_pred[:-1]))
    best_idx[pair_pred[is_first]] = pair_true[is_first]
    best_iou[pair_pred[is_first]] = iou[is_first]
    return best_idx, best_iou


def f1_counts(pred: Segments, true: Segments, overlap: float) -> tuple[int, int, int]:
    """True positives, false positives and false negatives at IoU threshold ``overlap``.

    Greedy matching in temporal order: the first prediction that claims a true segment
    with IoU >= overlap wins it, every later claimant of the same segment is a false
    positive (so TP is the number of distinct true segments claimed).
    """
    best_idx, best_iou = best_true_match(pred, true)
    return _counts_from_matches(best_idx, best_iou, overlap, len(pred), len(true))


def _counts_from_matches(best_idx, best_iou, overlap, n_pred, n_true) -> tuple[int, int, int]:
    tp = int(np.unique(best_idx[best_iou >= overlap]).size)
    return tp, n_pred - tp, n_true - tp


def f1_from_counts(tp: int, fp: int, fn: int) -> float:
    """F1 in percent from pooled counts; 0 where precision or recall is undefined."""
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    if precision + recall == 0:
        return 0.0
    return 2.0 * precision * recall / (precision + recall) * 100.0


def segmentation_scores(
    predictions,
    targets,
    background=(),
    ignore_index=None,
    overlaps=DEFAULT_OVERLAPS,
) -> dict[str, float]:
    """Frame accuracy, edit and F1@tau over a set of videos, all in percent.

    Args:
        predictions: list of per-video predicted frame labels, each ``[T_i]``.
        targets: list of per-video true frame labels, each ``[T_i]``.
        background: labels excluded from segments (edit and F1), e.g. ``("background",)``.
        ignore_index: target label marking frames to leave out (padding, unlabelled).
        overlaps: IoU thresholds for F1; keys are ``f"f1@{round(100 * tau)}"``.

    Returns:
        ``{"acc": ..., "edit": ..., "f1@10": ..., "f1@25": ..., "f1@50": ...}``.
    """
    pairs = paired_videos(predictions, targets)
    kind = label_kind(pairs[0][1])
    for i, (p, _) in enumerate(pairs):
        if label_kind(p) != kind:
            raise TypeError(f"video {i} has {p.dtype} labels but video 0 has {kind} labels")
    bg = matching_labels(background, kind, "background")
    if ignore_index is not None:
        matching_labels([ignore_index], kind, "ignore_index")
    overlaps = tuple(float(t) for t in overlaps)
    for tau in overlaps:
        if not 0.0 < tau <= 1.0:
            raise ValueError(f"overlaps: each threshold must lie in (0, 1], got {tau}")

    correct = counted = 0
    edit_total = 0.0
    totals = np.zeros((len(overlaps), 3), dtype=np.int64)  # TP, FP, FN per threshold
    for pred, true in pairs:
        void = (true == ignore_index) if ignore_index is not None else None
        valid = ~void if void is not None else slice(None)
        correct += int(np.count_nonzero(pred[valid] == true[valid]))
        counted += int(true[valid].size)
        pred_segs = segments(pred, bg, void)
        true_segs = segments(true, bg, void)
        edit_total += edit_score(pred_segs, true_segs)
        best_idx, best_iou = best_true_match(pred_segs, true_segs)
        for k, tau in enumerate(overlaps):
            totals[k] += _counts_from_matches(best_idx, best_iou, tau, len(pred_segs), len(true_segs))
    if counted == 0:
        raise ValueError(f"every target frame equals ignore_index={ignore_index!r}: nothing to score")

    scores = {"acc": correct / counted * 100.0, "edit": edit_total / len(pairs)}
    for tau, (tp, fp, fn) in zip(overlaps, totals):
        scores[f"f1@{round(tau * 100)}"] = f1_from_counts(int(tp), int(fp), int(fn))
    return scores

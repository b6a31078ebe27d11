"""A plain per-frame Python-loop implementation of the segmentation metrics.

Written straight from the definitions in ``spec/metrics.md`` (the MS-TCN evaluation),
with no NumPy tricks, so the vectorised library can be checked against it
(``tests/test_metrics_segmentation.py``) and timed against it
(``benchmarks/bench_metrics.py``).
"""

from __future__ import annotations


def loop_segments(labels, background=(), void=None):
    """(labels, starts, ends) lists; ends exclusive; background and void frames dropped."""
    seg_labels, starts, ends = [], [], []
    current = None  # (label, is_void) of the run being read
    for i, label in enumerate(labels):
        key = (label, bool(void[i]) if void is not None else False)
        if key != current:
            if current is not None and not current[1] and current[0] not in background:
                ends.append(i)
            if not key[1] and label not in background:
                seg_labels.append(label)
                starts.append(i)
            current = key
    if current is not None and not current[1] and current[0] not in background:
        ends.append(len(labels))
    return seg_labels, starts, ends


def loop_levenshtein(a, b):
    rows = [[0] * (len(b) + 1) for _ in range(len(a) + 1)]
    for i in range(len(a) + 1):
        rows[i][0] = i
    for j in range(len(b) + 1):
        rows[0][j] = j
    for i in range(1, len(a) + 1):
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            rows[i][j] = min(rows[i - 1][j] + 1, rows[i][j - 1] + 1, rows[i - 1][j - 1] + cost)
    return rows[len(a)][len(b)]


def loop_edit(pred, true, background=(), void=None):
    p, _, _ = loop_segments(pred, background, void)
    y, _, _ = loop_segments(true, background, void)
    if max(len(p), len(y)) == 0:
        return 100.0
    return (1.0 - loop_levenshtein(p, y) / max(len(p), len(y))) * 100.0


def loop_f1_counts(pred, true, overlap, background=(), void=None):
    p_label, p_start, p_end = loop_segments(pred, background, void)
    y_label, y_start, y_end = loop_segments(true, background, void)
    tp = fp = 0
    hits = [False] * len(y_label)
    for j in range(len(p_label)):
        best, best_iou = 0, float("-inf")
        for x in range(len(y_label)):
            inter = min(p_end[j], y_end[x]) - max(p_start[j], y_start[x])
            union = max(p_end[j], y_end[x]) - min(p_start[j], y_start[x])
            iou = (1.0 * inter / union) * (1 if p_label[j] == y_label[x] else 0)
            if iou > best_iou:
                best, best_iou = x, iou
        if len(y_label) and best_iou >= overlap and not hits[best]:
            tp += 1
            hits[best] = True
        else:
            fp += 1
    fn = len(y_label) - sum(hits)
    return tp, fp, fn


def loop_segmentation_scores(predictions, targets, background=(), ignore_index=None, overlaps=(0.10, 0.25, 0.50)):
    correct = total = 0
    edit = 0.0
    counts = {tau: [0, 0, 0] for tau in overlaps}
    for pred, true in zip(predictions, targets):
        pred, true = list(pred), list(true)
        void = [t == ignore_index for t in true] if ignore_index is not None else None
        for i in range(len(true)):
            if void is None or not void[i]:
                total += 1
                if pred[i] == true[i]:
                    correct += 1
        edit += loop_edit(pred, true, background, void)
        for tau in overlaps:
            tp, fp, fn = loop_f1_counts(pred, true, tau, background, void)
            counts[tau][0] += tp
            counts[tau][1] += fp
            counts[tau][2] += fn
    scores = {"acc": correct / total * 100.0, "edit": edit / len(targets)}
    for tau in overlaps:
        tp, fp, fn = counts[tau]
        precision = tp / (tp + fp) if tp + fp else 0.0
        recall = tp / (tp + fn) if tp + fn else 0.0
        f1 = 2.0 * precision * recall / (precision + recall) * 100.0 if precision + recall else 0.0
        scores[f"f1@{round(tau * 100)}"] = f1
    return scores

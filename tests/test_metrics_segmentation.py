"""Segmentation metrics: hand-computed cases, input checks, and a randomized comparison
against the per-frame loop implementation in ``loop_metrics.py``."""

import numpy as np
import pytest
from loop_metrics import loop_segmentation_scores, loop_segments

from actseg_lib.metrics import edit_score, f1_counts, segmentation_scores, segments


def scores(pred, true, **kw):
    return segmentation_scores([np.asarray(pred)], [np.asarray(true)], **kw)


# --- segments -------------------------------------------------------------------------


def test_segment_ends_are_exclusive_and_last_ends_at_length():
    seg = segments([5, 5, 7, 7, 7, 5])
    assert seg.labels.tolist() == [5, 7, 5]
    assert seg.starts.tolist() == [0, 2, 5]
    assert seg.ends.tolist() == [2, 5, 6]


def test_background_segments_are_dropped():
    seg = segments(["bg", "a", "a", "bg", "b"], background=("bg",))
    assert seg.labels.tolist() == ["a", "b"]
    assert seg.starts.tolist() == [1, 4]
    assert seg.ends.tolist() == [3, 5]


def test_void_frames_break_runs_without_joining():
    seg = segments([1, 1, 1, 1], void=[False, True, False, False])
    assert seg.labels.tolist() == [1, 1]
    assert seg.starts.tolist() == [0, 2]
    assert seg.ends.tolist() == [1, 4]


# --- hand-computed scores -------------------------------------------------------------


def test_perfect_prediction_scores_100():
    y = [0, 0, 1, 1, 1, 2]
    assert scores(y, y) == {"acc": 100.0, "edit": 100.0, "f1@10": 100.0, "f1@25": 100.0, "f1@50": 100.0}


def test_shifted_boundary():
    # true A[0,3) B[3,6); pred A[0,2) B[2,6): IoU 2/3 and 3/4
    s = scores([0, 0, 1, 1, 1, 1], [0, 0, 0, 1, 1, 1])
    assert s["acc"] == pytest.approx(500 / 6)
    assert s["edit"] == 100.0
    assert s["f1@50"] == 100.0


def test_one_flicker_frame_and_greedy_double_claim():
    # pred 0[0,3) 1[3,4) 0[4,10) against one true 0[0,10)
    true = [0] * 10
    pred = [0, 0, 0, 1, 0, 0, 0, 0, 0, 0]
    s = scores(pred, true)
    assert s["acc"] == 90.0
    assert s["edit"] == pytest.approx(100 / 3)  # distance 2 over 3 segments
    # tau=0.10: the first 0-segment (IoU 0.3) claims the true segment, the second
    # (IoU 0.6) finds it taken -> TP 1, FP 2, FN 0 -> P 1/3, R 1, F1 50
    assert f1_counts(segments(pred), segments(true), 0.10) == (1, 2, 0)
    # tau=0.50: the first fails the threshold, the second claims it -> still TP 1, FP 2
    assert f1_counts(segments(pred), segments(true), 0.50) == (1, 2, 0)
    assert s["f1@10"] == pytest.approx(50.0)
    assert s["f1@50"] == pytest.approx(50.0)


def test_greedy_matching_keeps_the_reference_quirk():
    # true: A[0,10) X[10,12) A[12,30);  pred: A[0,5) Y[5,6) A[6,16) X[16,30)
    A, X, Y = 1, 2, 3
    true = [A] * 10 + [X] * 2 + [A] * 18
    pred = [A] * 5 + [Y] + [A] * 10 + [X] * 14
    # pred A[6,16): IoU 4/16 = 0.25 with the first A (already taken by A[0,5)) and
    # 4/24 = 0.17 with the second A, which would clear tau = 0.10. The greedy rule
    # only looks at the best match, so it is a false positive.
    assert f1_counts(segments(pred), segments(true), 0.10) == (1, 3, 2)
    p, r = 1 / 4, 1 / 3
    assert scores(pred, true)["f1@10"] == pytest.approx(200 * p * r / (p + r))


def test_iou_ties_go_to_the_earliest_true_segment():
    # true A[0,4) X[4,6) A[6,10); pred A[0,1) Y[1,2) A[2,8) X[8,10)
    A, X, Y = 1, 2, 3
    true = [A] * 4 + [X] * 2 + [A] * 4
    pred = [A, Y] + [A] * 6 + [X] * 2
    # A[2,8) has IoU 2/8 with both true A segments; like np.argmax, the first wins, and
    # it was already claimed by A[0,1), so A[2,8) is a false positive
    assert f1_counts(segments(pred), segments(true), 0.10) == (1, 3, 2)


def test_video_without_true_segments_does_not_crash():
    # everything in the truth is background; the prediction has one action segment
    s = scores([0, 1, 1, 0], [0, 0, 0, 0], background=(0,))
    assert s["acc"] == 50.0
    assert s["edit"] == 0.0  # distance 1 over max(1, 0)
    assert s["f1@10"] == 0.0  # TP 0, FP 1, FN 0


def test_both_empty_edit_is_defined_as_100():
    assert edit_score(segments([0, 0]), segments([0, 0], background=(0,))) == 0.0
    empty = segments([0, 0, 0], background=(0,))
    assert edit_score(empty, empty) == 100.0
    s = scores([0, 0, 0], [0, 0, 0], background=(0,))
    assert s["edit"] == 100.0
    assert s["f1@50"] == 0.0  # no segments at all: precision and recall undefined -> 0


def test_background_exclusion_changes_edit_and_f1():
    true = ["bg", "bg", "a", "a", "bg", "b", "b"]
    pred = ["bg", "a", "a", "a", "bg", "b", "bg"]
    with_bg = scores(pred, true, background=("bg",))
    assert with_bg["edit"] == 100.0
    assert with_bg["f1@50"] == 100.0  # IoUs 2/3 and 1/2
    without = scores(pred, true)
    assert without["edit"] == pytest.approx(80.0)  # one extra 'bg' segment out of 5
    assert without["acc"] == with_bg["acc"] == pytest.approx(500 / 7)


def test_accuracy_and_f1_are_pooled_edit_is_averaged():
    preds = [np.array([1, 1]), np.arange(8) // 4]
    trues = [np.array([0, 0]), np.arange(8) // 4]
    s = segmentation_scores(preds, trues)
    assert s["acc"] == 80.0  # 8 of 10 frames, not the mean of 0% and 100%
    assert s["edit"] == 50.0  # mean of 0 and 100
    # pooled counts: video 1 TP0 FP1 FN1, video 2 TP2 -> P 2/3, R 2/3
    assert s["f1@50"] == pytest.approx(200 / 3)


def test_ignore_index_at_the_end_equals_cropping():
    true = [0, 0, 1, 1, -100, -100]
    pred = [0, 0, 1, 1, 2, 2]
    assert scores(pred, true, ignore_index=-100) == scores(pred[:4], true[:4])


def test_ignore_index_in_the_middle_splits_without_joining():
    s = scores([0, 0, 0, 0, 0], [0, 0, -1, 0, 0], ignore_index=-1)
    assert s == {"acc": 100.0, "edit": 100.0, "f1@10": 100.0, "f1@25": 100.0, "f1@50": 100.0}


def test_string_and_int_labels_agree():
    names = np.array(["reach", "grasp", "lift"])
    true = np.array([0, 0, 1, 1, 1, 2, 2])
    pred = np.array([0, 1, 1, 1, 2, 2, 2])
    assert scores(names[pred], names[true]) == scores(pred, true)


def test_padded_batch_tensor_is_read_as_videos():
    import torch

    y = torch.tensor([[0, 0, 1, 1], [2, 2, 2, -100]])
    p = torch.tensor([[0, 1, 1, 1], [2, 2, 0, 0]])
    want = segmentation_scores([[0, 1, 1, 1], [2, 2, 0]], [[0, 0, 1, 1], [2, 2, 2]])
    assert segmentation_scores(p, y, ignore_index=-100) == want


def test_custom_overlaps_name_their_keys():
    s = scores([0, 1], [0, 1], overlaps=(0.75,))
    assert set(s) == {"acc", "edit", "f1@75"}


# --- bad input ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "preds, trues, error, match",
    [
        ([[0, 1]], [[0, 1, 1]], ValueError, "video 0: predictions has 2 frames but targets has 3"),
        ([[0]], [[0], [1]], ValueError, "predictions has 1 videos but targets has 2"),
        ([np.zeros((3, 4))], [[0, 0, 0]], ValueError, "argmax"),
        ([np.array([0.0, 1.0])], [[0, 1]], TypeError, "integer or string labels"),
        ([[]], [[]], ValueError, "no frames"),
        (np.array([0, 1]), np.array([0, 1]), TypeError, "one flat array"),
        ([], [], ValueError, "empty"),
        ([["a", "b"]], [[0, 1]], TypeError, "one kind"),
    ],
)
def test_bad_input_is_named(preds, trues, error, match):
    with pytest.raises(error, match=match):
        segmentation_scores(preds, trues)


def test_background_of_the_wrong_kind_is_refused():
    with pytest.raises(TypeError, match="background"):
        scores([0, 1], [0, 1], background=("background",))


def test_all_frames_ignored_is_refused():
    with pytest.raises(ValueError, match="ignore_index"):
        scores([0, 0], [-1, -1], ignore_index=-1)


# --- against the loop implementation ---------------------------------------------------


def random_video(rng, length, num_classes):
    """A piecewise-constant truth and a noisy prediction of it."""
    seg_len = rng.integers(1, 40, size=length)
    true = np.repeat(rng.integers(0, num_classes, size=length), seg_len)[:length]
    pred = true.copy()
    shift = rng.integers(-5, 6)
    pred = np.roll(pred, shift)
    flips = rng.random(length) < rng.choice([0.0, 0.01, 0.1])
    pred[flips] = rng.integers(0, num_classes, size=flips.sum())
    return pred, true


@pytest.mark.parametrize("seed", range(40))
def test_matches_loop_implementation(seed):
    rng = np.random.default_rng(seed)
    num_classes = int(rng.integers(2, 8))
    videos = [random_video(rng, int(rng.integers(1, 300)), num_classes) for _ in range(rng.integers(1, 5))]
    preds = [p for p, _ in videos]
    trues = [t for _, t in videos]
    background = tuple(rng.choice(num_classes, size=rng.integers(0, 2), replace=False).tolist())
    ignore = None
    if seed % 3 == 0:
        ignore = -1
        for t in trues:
            t[rng.random(len(t)) < 0.05] = -1
            t[0] = 0  # keep at least one scored frame per video
    if seed % 4 == 1:  # string labels
        names = np.array([f"class_{i}" for i in range(num_classes)] + ["void"])
        preds = [names[p] for p in preds]
        trues = [names[t] for t in trues]
        background = tuple(names[list(background)].tolist())
        ignore = "void" if ignore is not None else None
    got = segmentation_scores(preds, trues, background=background, ignore_index=ignore)
    want = loop_segmentation_scores(preds, trues, background=background, ignore_index=ignore)
    assert got == want  # identical, not merely close


@pytest.mark.parametrize("seed", range(10))
def test_segments_match_loop(seed):
    rng = np.random.default_rng(100 + seed)
    pred, _ = random_video(rng, 200, 4)
    void = rng.random(200) < 0.1
    seg = segments(pred, background=(1,), void=void)
    labels, starts, ends = loop_segments(pred.tolist(), background=(1,), void=void.tolist())
    assert seg.labels.tolist() == labels
    assert seg.starts.tolist() == starts
    assert seg.ends.tolist() == ends

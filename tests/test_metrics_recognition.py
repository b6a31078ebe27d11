"""Recognition metrics: hand-computed top-k, mean class accuracy and confusion matrix."""

import numpy as np
import pytest
import torch

from actseg_lib.metrics import confusion_matrix, mean_class_accuracy, topk_accuracy

SCORES = np.array([[0.1, 0.5, 0.4], [0.8, 0.1, 0.1], [0.2, 0.3, 0.5]])
TARGETS = np.array([2, 0, 1])


def test_topk_by_hand():
    assert topk_accuracy(SCORES, TARGETS, k=1) == pytest.approx(100 / 3)
    assert topk_accuracy(SCORES, TARGETS, k=2) == 100.0


def test_topk_accepts_torch_tensors():
    assert topk_accuracy(torch.tensor(SCORES), torch.tensor(TARGETS), k=1) == pytest.approx(100 / 3)


def test_topk_ties_count_for_the_sample():
    assert topk_accuracy(np.array([[0.5, 0.5]]), np.array([1]), k=1) == 100.0


def test_mean_class_accuracy_weighs_classes_equally():
    targets = np.array([0, 0, 0, 0, 1])
    preds = np.zeros(5, dtype=int)
    assert mean_class_accuracy(preds, targets) == 50.0  # overall accuracy would be 80
    # a class absent from the targets has no accuracy and is left out
    assert mean_class_accuracy(preds, targets, num_classes=5) == 50.0


def test_confusion_matrix_rows_are_true_classes():
    cm = confusion_matrix(np.array([0, 2, 2, 1]), np.array([0, 1, 2, 1]), num_classes=3)
    np.testing.assert_array_equal(cm, [[1, 0, 0], [0, 1, 1], [0, 0, 1]])


@pytest.mark.parametrize(
    "call, error, match",
    [
        (lambda: topk_accuracy(SCORES, TARGETS, k=4), ValueError, "k: expected"),
        (lambda: topk_accuracy(SCORES, np.array([0, 1, 3]), k=1), ValueError, r"\[0, 3\)"),
        (lambda: topk_accuracy(SCORES[0], TARGETS), ValueError, r"\[N, C\]"),
        (lambda: topk_accuracy(SCORES, TARGETS[:2]), ValueError, "3 samples but targets has 2"),
        (lambda: confusion_matrix(SCORES, TARGETS, 3), ValueError, "argmax"),
        (lambda: mean_class_accuracy(np.array([0.0]), np.array([0])), TypeError, "integer"),
    ],
)
def test_bad_input_is_named(call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_pair_accuracy_counts_only_the_pair():
    from actseg_lib.metrics import pair_accuracy

    cm = np.array([[3, 1, 6], [2, 4, 0], [0, 0, 9]])  # row = true class
    assert pair_accuracy(cm, 0, 1) == pytest.approx(100 * 7 / 10)  # class 2's predictions do not count
    assert pair_accuracy(np.zeros((3, 3)), 0, 1) == 0.0

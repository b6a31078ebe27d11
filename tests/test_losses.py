"""The segmentation loss: cross-entropy over labelled frames plus truncated smoothing."""

import math

import pytest
import torch
from torch.nn import functional as F

from actseg_lib.common import IGNORE_INDEX
from actseg_lib.losses import segmentation_loss, smoothing_loss


def test_smoothing_is_zero_for_constant_predictions():
    logits = torch.randn(2, 5, 1).expand(2, 5, 30)
    assert smoothing_loss(logits).item() == pytest.approx(0.0, abs=1e-7)


def test_smoothing_is_truncated_at_tau_squared():
    logits = torch.zeros(1, 2, 2)
    logits[0, 0, 1] = 100.0  # frame 1 is sure of class 0; frame 0 was 50/50
    # class 1's log-probability falls by ~100: squared and clamped to 16;
    # class 0's rises from log(1/2) to ~0: (log 2)^2, below the clamp; mean over 2 entries
    expected = (16.0 + math.log(2) ** 2) / 2
    assert smoothing_loss(logits, clamp=16.0).item() == pytest.approx(expected, abs=1e-4)


def test_smoothing_sends_no_gradient_to_the_previous_frame():
    logits = torch.randn(1, 3, 2, requires_grad=True)
    smoothing_loss(logits).backward()
    assert torch.all(logits.grad[..., 0] == 0)  # frame 0 only appears as the detached "previous"
    assert torch.any(logits.grad[..., 1] != 0)


def test_padding_changes_nothing():
    torch.manual_seed(0)
    logits = torch.randn(1, 4, 20)
    labels = torch.randint(0, 4, (1, 20))
    alone, _ = segmentation_loss(logits[None], labels)
    padded_logits = torch.cat([logits, torch.randn(1, 4, 7)], dim=2)
    padded_labels = torch.cat([labels, torch.full((1, 7), IGNORE_INDEX)], dim=1)
    mask = torch.arange(27)[None] < 20
    padded, _ = segmentation_loss(padded_logits[None], padded_labels, mask)
    torch.testing.assert_close(padded, alone)


def test_stages_add_up_and_weights_apply():
    torch.manual_seed(1)
    stages = torch.randn(3, 2, 4, 15)
    labels = torch.randint(0, 4, (2, 15))
    loss, parts = segmentation_loss(stages, labels, smoothing_weight=0.15)
    ce = sum(F.cross_entropy(s, labels) for s in stages)
    smooth = sum(smoothing_loss(s) for s in stages)
    torch.testing.assert_close(loss, ce + 0.15 * smooth)
    assert parts["ce"] == pytest.approx(float(ce), rel=1e-5)
    no_smooth, _ = segmentation_loss(stages, labels, smoothing_weight=0.0)
    torch.testing.assert_close(no_smooth, ce)


def test_wrong_label_shape_is_named():
    with pytest.raises(ValueError, match="labels: expected shape"):
        segmentation_loss(torch.randn(1, 2, 3, 10), torch.zeros(2, 9, dtype=torch.long))

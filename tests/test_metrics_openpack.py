"""The OpenPack 1-second macro F1: resampling, forward fill, cropping, Null, pooling."""

import numpy as np
import pytest

from actseg_lib.metrics import openpack_macro_f1, resample_1hz

TRUE_T = np.arange(6) * 1000  # one truth slot per second, 0..5 s
TRUE_Y = np.array([100, 100, 200, 8100, 200, 300])
PRED_T = np.array([0, 600, 1200, 1700, 2500, 4100, 4900])
PRED_Y = np.array([200, 100, 100, 200, 200, 100, 300])
# last prediction per second: s0 100, s1 200, s2 200, s3 (none: 200 carried), s4 300,
# s5 (none: 300 carried). Null truth at s3 dropped. Truth [100 100 200 200 300], pred
# [100 200 200 300 300]: F1 per class 100: 2/3, 200: 1/2, 300: 2/3.


def test_resample_keeps_the_last_id_of_each_second():
    t, y = resample_1hz(np.array([0, 400, 999, 1000, 1500, 2999]), np.array([1, 2, 3, 4, 5, 6]))
    assert t.tolist() == [0, 1000, 2000]
    assert y.tolist() == [3, 5, 6]


def test_hand_computed_macro_f1_over_all_ten_classes():
    f1 = openpack_macro_f1(PRED_T, PRED_Y, TRUE_T, TRUE_Y)
    assert f1 == pytest.approx((2 / 3 + 1 / 2 + 2 / 3) / 10)


def test_hand_computed_macro_f1_over_given_classes():
    f1 = openpack_macro_f1(PRED_T, PRED_Y, TRUE_T, TRUE_Y, classes=(100, 200, 300))
    assert f1 == pytest.approx((2 / 3 + 1 / 2 + 2 / 3) / 3)


def test_predictions_outside_the_truth_range_are_cropped():
    t = np.concatenate(([-9000], PRED_T, [60000]))
    y = np.concatenate(([500], PRED_Y, [500]))
    assert openpack_macro_f1(t, y, TRUE_T, TRUE_Y) == openpack_macro_f1(PRED_T, PRED_Y, TRUE_T, TRUE_Y)


def test_truth_before_the_first_prediction_counts_as_a_miss():
    f1 = openpack_macro_f1(
        np.array([2000]), np.array([100]), np.array([0, 1000, 2000]), np.array([100, 100, 100]), classes=(100,)
    )
    assert f1 == pytest.approx(0.5)  # TP 1, FN 2 -> P 1, R 1/3


def test_null_truth_is_dropped_and_null_prediction_is_a_miss():
    perfect = openpack_macro_f1(TRUE_T, TRUE_Y, TRUE_T, TRUE_Y, classes=(100, 200, 300))
    assert perfect == 1.0
    pred = TRUE_Y.copy()
    pred[0] = 8100
    f1 = openpack_macro_f1(TRUE_T, pred, TRUE_T, TRUE_Y, classes=(100, 200, 300))
    assert f1 == pytest.approx((2 / 3 + 1 + 1) / 3)  # class 100 loses a TP, no class gains an FP


def test_sessions_are_pooled_not_averaged():
    # session a: perfect on class 100; session b: class 200 predicted as 300
    ta, ya = np.arange(4) * 1000, np.array([100, 100, 100, 100])
    tb, yb = 10_000 + np.arange(2) * 1000, np.array([200, 200])
    pb = np.array([300, 300])
    pooled = openpack_macro_f1([ta, tb], [ya, pb], [ta, tb], [ya, yb], classes=(100, 200, 300))
    concatenated = openpack_macro_f1(
        np.r_[ta, tb], np.r_[ya, pb], np.r_[ta, tb], np.r_[ya, yb], classes=(100, 200, 300)
    )
    assert pooled == concatenated == pytest.approx(1 / 3)  # F1 100 = 1, 200 = 0, 300 = 0


@pytest.mark.parametrize(
    "args, error, match",
    [
        ((PRED_T, np.arange(7), TRUE_T, TRUE_Y), ValueError, "class indices must be mapped"),
        ((PRED_T[::-1], PRED_Y, TRUE_T, TRUE_Y), ValueError, "times go backwards"),
        ((PRED_T, PRED_Y[:3], TRUE_T, TRUE_Y), ValueError, "7 timestamps but 3 ids"),
        ((PRED_T / 1.0, PRED_Y, TRUE_T, TRUE_Y), TypeError, "milliseconds"),
        (([PRED_T, PRED_T], [PRED_Y, PRED_Y], TRUE_T, TRUE_Y), ValueError, "same number of sessions"),
        ((PRED_T, PRED_Y, TRUE_T, np.full(6, 8100)), ValueError, "Null"),
    ],
)
def test_bad_input_is_named(args, error, match):
    with pytest.raises(error, match=match):
        openpack_macro_f1(*args)

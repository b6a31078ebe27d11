"""Spread over seeds: sample standard deviation (ddof=1), Student-t confidence interval,
and the two-arm reading (apart / within the seed spread) with its Welch interval."""

import math

import pytest

from actseg_lib.stats import compare_seeds, seed_summary

# t(0.975, 2) in closed form: for 2 degrees of freedom F(t) = 1/2 + t / (2 sqrt(2 + t^2)),
# so F(t) = 0.975 gives t^2 = 2 * 0.95^2 / (1 - 0.95^2)
T_975_2 = math.sqrt(2 * 0.95**2 / (1 - 0.95**2))  # 4.3027
T_975_4 = 2.776445  # t(0.975, 4), from a printed t table


def test_ci_of_one_two_three_is_the_hand_value():
    s = seed_summary([1.0, 2.0, 3.0])
    assert s.n == 3 and s.mean == 2.0
    assert s.std == pytest.approx(1.0)  # sample standard deviation
    assert s.half_width == pytest.approx(T_975_2 / math.sqrt(3), rel=1e-9)
    assert (s.low, s.high) == pytest.approx((2.0 - T_975_2 / math.sqrt(3), 2.0 + T_975_2 / math.sqrt(3)))
    assert s.format() == "2.0 ± 2.5" and s.format(spread="std") == "2.0 ± 1.0"
    assert s.format(digits=3, scale=0.01) == "0.020 ± 0.025"


def test_the_spread_is_the_sample_standard_deviation_not_the_population_one():
    s = seed_summary([0.0, 2.0])
    assert s.std == pytest.approx(math.sqrt(2.0))  # population form would give 1.0


def test_other_confidence_levels_use_their_own_quantile():
    s90 = seed_summary([1.0, 2.0, 3.0], confidence=0.90)
    t_95_2 = math.sqrt(2 * 0.90**2 / (1 - 0.90**2))  # t(0.95, 2), same closed form
    assert s90.half_width == pytest.approx(t_95_2 / math.sqrt(3))


def test_one_seed_has_a_mean_and_no_spread():
    s = seed_summary([71.5])
    assert s.mean == 71.5 and math.isnan(s.std) and math.isnan(s.half_width)
    assert s.format() == "71.5"


@pytest.mark.parametrize("values", [[], [1.0, float("nan")], [float("inf"), 1.0]])
def test_bad_scores_are_refused(values):
    with pytest.raises(ValueError):
        seed_summary(values)


def test_confidence_must_be_a_probability():
    with pytest.raises(ValueError, match="confidence"):
        seed_summary([1.0, 2.0], confidence=95)


def test_compare_reads_apart_beyond_two_pooled_sample_stds():
    c = compare_seeds([4.0, 5.0, 6.0], [1.0, 2.0, 3.0])
    assert c.difference == pytest.approx(3.0) and c.pooled_std == pytest.approx(1.0)
    assert c.apart and c.verdict == "apart"
    # equal variances and n = 3 each: Welch's degrees of freedom are 4, standard error sqrt(2/3)
    half = T_975_4 * math.sqrt(2 / 3)
    assert (c.low, c.high) == pytest.approx((3.0 - half, 3.0 + half), rel=1e-6)


def test_compare_reads_within_when_the_gap_is_small_against_the_spread():
    c = compare_seeds([2.0, 3.0, 4.0], [1.0, 2.0, 3.0])
    assert c.difference == pytest.approx(1.0) and not c.apart
    assert c.verdict == "within the seed spread"
    assert c.low < 0 < c.high


def test_compare_threshold_is_exactly_spread_times_pooled_std():
    # pooled sample std sqrt((1 + 4) / 2); a difference just above / below 2 x it
    a, b = [-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0]
    pooled = math.sqrt(2.5)
    above = compare_seeds([v + 2 * pooled + 1e-6 for v in a], b)
    below = compare_seeds([v + 2 * pooled - 1e-6 for v in a], b)
    assert above.pooled_std == pytest.approx(pooled)
    assert above.apart and not below.apart


def test_compare_without_any_spread_and_with_one_seed():
    c = compare_seeds([1.0, 1.0], [1.0, 1.0])
    assert c.difference == 0 and c.low == c.high == 0 and not c.apart
    with pytest.raises(ValueError, match="two seeds"):
        compare_seeds([1.0], [1.0, 2.0])


def test_welch_interval_when_one_arm_has_no_spread_is_the_other_arms_interval():
    # b has no spread: Welch's degrees of freedom fall to n_a - 1 = 2 (a pooled test would use 4)
    c = compare_seeds([1.0, 2.0, 3.0], [5.0, 5.0, 5.0])
    half = T_975_2 / math.sqrt(3)
    assert (c.low, c.high) == pytest.approx((-3.0 - half, -3.0 + half), rel=1e-9)

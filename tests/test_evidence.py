"""The evidence protocol: paired differences, verdicts, budget, claims."""

import math

import pytest
from scipy import stats as scipy_stats

from actseg_lib import claims, evidence


def runs(values, metric="f1@50", split="test", history=None):
    return [{split: {metric: v}, "history": history or []} for v in values]


def test_paired_difference_is_the_t_interval_of_the_per_seed_differences():
    better, worse = [80.0, 70.0, 90.0, 85.0], [78.0, 69.0, 86.0, 84.0]
    d = evidence.paired_difference(better, worse)
    diffs = [2.0, 1.0, 4.0, 1.0]
    mean = sum(diffs) / 4
    sd = math.sqrt(sum((x - mean) ** 2 for x in diffs) / 3)
    half = scipy_stats.t.ppf(0.975, 3) * sd / 2
    assert d.mean == pytest.approx(2.0)
    assert (d.low, d.high) == pytest.approx((mean - half, mean + half))
    assert d.summary.values == tuple(diffs)


def test_pairing_removes_what_the_seeds_share():
    # the seeds move both arms together: unpaired, the spread hides a constant +1; paired, it is exact
    shared = [60.0, 90.0, 70.0, 80.0, 65.0]
    d = evidence.paired_difference([s + 1 for s in shared], shared)
    assert d.low == pytest.approx(1.0) and d.high == pytest.approx(1.0)
    noisy = evidence.paired_difference([61.0, 90.0, 71.5, 80.5, 66.0], shared)
    assert noisy.verdict == evidence.REPRODUCED


def test_the_pairs_follow_the_seed_order():
    better, worse = [10.0, 20.0, 30.0], [9.0, 19.0, 29.0]
    assert evidence.paired_difference(better, worse).verdict == evidence.REPRODUCED
    assert evidence.paired_difference(better, worse[::-1]).verdict == evidence.INCONCLUSIVE


@pytest.mark.parametrize(
    "better, worse, expected",
    [
        ([2.0, 3.0, 2.5], [1.0, 1.5, 1.0], evidence.REPRODUCED),
        ([1.0, 1.5, 1.0], [2.0, 3.0, 2.5], evidence.REVERSED),
        ([2.0, 1.0, 2.5], [1.0, 2.0, 2.4], evidence.INCONCLUSIVE),
    ],
)
def test_verdict_reads_the_interval_in_the_papers_direction(better, worse, expected):
    assert evidence.paired_difference(better, worse).verdict == expected


def test_unequal_seeds_or_one_seed_are_refused():
    with pytest.raises(ValueError, match="same seeds"):
        evidence.paired_difference([1.0, 2.0], [1.0, 2.0, 3.0], names=("a", "b"))
    with pytest.raises(ValueError, match="two seeds"):
        evidence.paired_difference([1.0], [2.0])


def test_combined_verdict():
    R, X, I = evidence.REPRODUCED, evidence.REVERSED, evidence.INCONCLUSIVE
    assert evidence.combined_verdict([R, R]) == R
    assert evidence.combined_verdict([R, I]) == I
    assert evidence.combined_verdict([R, X]) == X
    assert evidence.combined_verdict([I, X]) == X
    with pytest.raises(ValueError):
        evidence.combined_verdict(["maybe"])


def test_decide_reads_each_contrast_of_a_claim():
    claim = evidence.Claim(
        "T1", "paper", "a > b > c", "table", "m", {"a": {}, "b": {}, "c": {}}, (("a", "b"), ("b", "c")), "f1@50", "F1"
    )
    by_arm = {"a": runs([5.0, 6.0, 7.0]), "b": runs([4.0, 5.0, 6.0]), "c": runs([4.5, 4.0, 7.0])}
    decision = evidence.decide(claim, by_arm)
    assert [d.verdict for d in decision.differences] == [evidence.REPRODUCED, evidence.INCONCLUSIVE]
    assert decision.verdict == evidence.INCONCLUSIVE
    table = evidence.verdict_table([decision])
    assert table.data == {"T1": evidence.INCONCLUSIVE}
    assert table.column("contrast verdict") == [evidence.REPRODUCED, evidence.INCONCLUSIVE]
    with pytest.raises(KeyError, match="no runs for arms"):
        evidence.decide(claim, {"a": by_arm["a"]})


def test_claims_contrasts_name_their_arms():
    with pytest.raises(ValueError, match="not one of its arms"):
        evidence.Claim("T", "p", "s", "e", "m", {"a": {}}, (("a", "b"),), "f1@50", "F1")
    for claim in claims.CLAIMS.values():
        assert claim.contrasts and all(b in claim.arms and w in claim.arms for b, w in claim.contrasts)
        assert next(iter(claim.arms)) == claim.contrasts[0][0], f"{claim.id}: the paper's arm comes first"


def history(values, metric="f1@50"):
    return [{"epoch": i + 1, "val": {metric: v}} for i, v in enumerate(values)]


def test_plateau_tells_a_rising_curve_from_a_flat_one():
    flat = evidence.plateau(history([10, 50, 80, 90, 91, 90, 90.8, 90.5]), "f1@50")
    assert flat.flattened and flat.best_epoch == 5
    rising = evidence.plateau(history([10, 20, 30, 40, 50, 60, 70, 80]), "f1@50")
    assert not rising.flattened and rising.gain_in_tail == pytest.approx(20.0)
    # a late dip is not a lack of budget
    assert evidence.plateau(history([10, 80, 95, 96, 96, 96, 80, 80]), "f1@50").flattened


def test_budget_table_counts_flattened_seeds():
    by_arm = {
        "flat": runs([1, 2], history=history([10, 90, 91, 91])),
        "rising": runs([1, 2], history=history([10, 20, 30, 40])),
    }
    table = evidence.budget_table(by_arm, "f1@50")
    assert table.column("flattened") == ["2 of 2", "0 of 2"]
    assert table.column("mean curve's late gain") == ["+0.0", "+10.0"]


def test_mean_curve_plateau_averages_the_seeds_epoch_by_epoch():
    noisy = [{"history": history(v)} for v in ([50, 60, 58, 61], [50, 60, 62, 59])]
    assert not evidence.plateau(noisy[0]["history"], "f1@50").flattened  # +1 late, by chance
    mean = evidence.mean_curve_plateau(noisy, "f1@50")
    assert mean.best_in_tail == 60 and mean.flattened  # the mean curve: 50, 60, 60, 60


def test_dose_response_pairs_within_each_level():
    by_level = {
        0: {"a": runs([1.0, 2.0, 3.0]), "b": runs([1.0, 2.0, 3.0])},
        1: {"a": runs([3.0, 4.0, 6.0]), "b": runs([1.0, 2.0, 3.0])},
    }
    curve = evidence.dose_response(by_level, "a", "b", "f1@50")
    assert curve[0].mean == 0 and curve[1].mean == pytest.approx(7 / 3)
    assert curve[1].verdict == evidence.REPRODUCED


def test_evidence_figures_draw(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    from actseg_lib.viz import evidence as figures

    by_arm = {"a": runs([5.0, 6.0, 7.0]), "b": runs([4.0, 5.5, 6.0])}
    figures.plot_arms(by_arm, "f1@50", "F1@50")
    d = evidence.paired_difference([5.0, 6.0, 7.0], [4.0, 5.5, 6.0], names=("a", "b"))
    ax = figures.plot_paired_differences([d], "F1@50")
    assert ax.get_xlabel().startswith("paired difference")
    ax = figures.plot_dose_response({0: d, 1: d}, "dial", "F1@50")
    assert [t.get_text() for t in ax.get_xticklabels()] == ["0", "1"]


def test_dose_response_levels_name_their_data():
    dose = claims.DOSE_RESPONSES["G1"]
    assert dose.data("synthact:packaging", 1.0) == "synthact:packaging"
    assert dose.data("synthact:packaging", 0.5) == "synthact:packaging,event_informativeness=0.5"
    assert claims.DOSE_RESPONSES["I1"].data("synthact:daily", "motion") == "synthact:daily,spatial_cue=motion"
    with pytest.raises(ValueError, match="not one of"):
        dose.data("synthact:packaging", 0.25)
    assert list(claims.DOSE_RESPONSES["I2"].arms()) == ["MFAI", "fixed resolution"]


def test_dose_response_overrides_reach_every_arm():
    dose = claims.DOSE_RESPONSES["I1"]
    for arm, overrides in dose.arms().items():
        assert overrides["data"] == {"skeleton_origin": "camera"}
        assert overrides["model"] == claims.I1.arms[arm]["model"]
    assert not dose.reuses_claim_runs  # other pipeline: the claim's runs are not a level
    assert claims.DOSE_RESPONSES["G1"].reuses_claim_runs


def test_the_default_world_is_reachable_even_when_it_is_not_a_level():
    assert claims.DOSE_RESPONSES["I1"].data("synthact:daily", "mixed") == "synthact:daily"


def test_validation_curves_draw_each_arms_seed_mean_per_epoch():
    import matplotlib

    matplotlib.use("Agg")
    from actseg_lib.viz.evidence import plot_validation_curves

    def run(values):
        return {"history": [{"epoch": e + 1, "val": {"top1": v}} for e, v in enumerate(values)]}

    runs = {"a": [run([10, 20, 30]), run([20, 40, 50])], "b": [run([5, 5, 5]), run([7, 7, 7])]}
    ax = plot_validation_curves(runs, "top1", "top-1", chance=8.3)
    curves = [list(line.get_ydata()) for line in ax.get_lines() if len(line.get_xdata()) == 3]
    assert curves == [[15, 30, 40], [6, 6, 6]]  # the seeds' mean per epoch, arm by arm
    with pytest.raises(ValueError, match="numbers of seeds"):
        plot_validation_curves({"a": [run([1, 2, 3])], "b": runs["b"]}, "top1", "top-1")


def test_every_claim_has_its_data_and_the_recognition_arms_build():
    from actseg_lib.models import build_model

    assert set(claims.CLAIM_DATA) == set(claims.CLAIMS)
    for claim_id in ("S1", "S2", "D1", "D2", "D3"):
        claim = claims.CLAIMS[claim_id]
        for arm, overrides in claim.arms.items():
            assert set(overrides) <= {"model", "train"}, f"{claim_id} {arm}: model settings and the budget"
            build_model(claim.model, "reduced", **overrides.get("model", {}))


CHAPTER = """# 99. A chapter

Prose that quotes the line is not an assertion:
assert decisions["P1"].verdict == "reproduced"

```{code-cell}
decisions = decide_them()
assert decisions["G1"].verdict == "inconclusive"
assert decisions['G2'].verdict == 'reversed', decisions["G2"].effect().format()
assert decisions["G3"].verdict == "reproduced"  # the edit score agrees
# assert decisions["C1"].verdict == "reproduced"
if SIZE == "full":
    assert decisions["C2"].verdict == "reproduced"
assert decisions["C3"].verdict == "reproduced" or True
assert decisions["C4"].verdict != "reversed"
```

```python
assert decisions["C5"].verdict == "reproduced"
```
"""


def test_asserted_verdicts_reads_the_top_level_assertions_of_code_cells():
    assert evidence.asserted_verdicts(CHAPTER) == {"G1": "inconclusive", "G2": "reversed", "G3": "reproduced"}


def test_asserted_verdicts_reads_the_book_chapters():
    from pathlib import Path

    notebooks = Path(__file__).resolve().parents[1] / "notebooks"
    assert evidence.asserted_verdicts((notebooks / "31_sigformer_training.md").read_text()).keys() == {
        "G1",
        "G2",
        "G3",
    }
    assert evidence.asserted_verdicts((notebooks / "42_interact_training.md").read_text()).keys() == {"I1", "I2"}


@pytest.mark.parametrize(
    "cell, problem",
    [
        ('assert decisions["G1"].verdict == "reproducd"', "one of"),
        ('assert decisions["G1"].verdict == "reproduced"\nassert decisions["G1"].verdict == "reversed"', "after"),
    ],
)
def test_asserted_verdicts_refuses_unknown_or_contradictory_verdicts(cell, problem):
    with pytest.raises(ValueError, match=problem):
        evidence.asserted_verdicts(f"```{{code-cell}}\n{cell}\n```\n")


def test_the_forest_plot_has_one_row_per_contrast_and_bars_at_the_interval():
    import matplotlib

    matplotlib.use("Agg")
    from actseg_lib.viz import evidence as figures

    one = evidence.Claim("C1", "P", "a beats b", "its table", "m", {"a": {}, "b": {}}, (("a", "b"),), "f1@50", "F1@50")
    two = evidence.Claim(
        "C2",
        "P",
        "a beats b and c",
        "its table",
        "m",
        {"a": {}, "b": {}, "c": {}},
        (("a", "b"), ("a", "c")),
        "top1",
        "top-1",
    )
    decisions = [
        evidence.decide(one, {"a": runs([5.0, 6.0, 7.0]), "b": runs([4.0, 6.5, 6.0])}),
        evidence.decide(
            two,
            {
                "a": runs([5.0, 6.0, 7.0], "top1"),
                "b": runs([6.0, 7.5, 8.0], "top1"),
                "c": runs([1.0, 3.0, 2.0], "top1"),
            },
        ),
    ]
    ax = figures.plot_forest(decisions)
    differences = [d for decision in decisions for d in decision.differences]
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels == ["C1: a − b (F1@50)", "C2: a − b (top-1)", "C2: a − c (top-1)"]
    (bars,) = [c for c in ax.collections if isinstance(c, matplotlib.collections.LineCollection)]
    segments = bars.get_segments()
    assert len(segments) == 3
    for (start, end), d, row in zip(segments, differences, range(3)):
        assert (start[0], end[0]) == pytest.approx((d.low, d.high))
        assert start[1] == end[1] == row
    points = [c for c in ax.collections if c is not bars][0].get_offsets()
    assert [p[0] for p in points] == pytest.approx([d.mean for d in differences])
    verdicts = [d.verdict for d in differences]
    assert verdicts == [evidence.INCONCLUSIVE, evidence.REVERSED, evidence.REPRODUCED]
    colors = [matplotlib.colors.to_hex(c) for c in bars.get_colors()]
    assert colors == [figures.VERDICT_COLORS[v] for v in verdicts]
    with pytest.raises(ValueError, match="no decisions"):
        figures.plot_forest([])

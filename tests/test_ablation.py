"""Ablation tables: one row per arm in the given order, mean ± t half-width per metric,
per-seed values, parameters and time; the pairwise reading; the Markdown they render."""

import math

import pytest

from actseg_lib.ablation import ablation_table, comparison_table, provenance_line, seed_scores, seed_table
from actseg_lib.tables import Table

T_975_2 = math.sqrt(2 * 0.95**2 / (1 - 0.95**2))  # t(0.975, 2), closed form


def _run(f1, acc, seconds=10.0, parameters=1000, day="2025-01-02", device="cpu"):
    return {
        "test": {"f1@50": f1, "acc": acc},
        "train_time_s": seconds,
        "parameters": parameters,
        "provenance": {"finished_at": f"{day}T10:00:00", "environment": {"device": device}},
    }


RUNS = {
    "zeta (paper)": [_run(1.0, 50.0, 9.0), _run(2.0, 52.0, 10.0), _run(3.0, 54.0, 14.0)],
    "alpha": [_run(10.0, 60.0, parameters=2000), _run(10.0, 60.0, parameters=2000), _run(13.0, 63.0, parameters=2000)],
}


def test_rows_follow_the_arms_order_with_mean_and_t_half_width():
    table = ablation_table(RUNS, {"F1@50": "f1@50", "acc": "acc"}, parameters=True)
    assert table.columns == ("arm", "F1@50", "acc", "F1@50 per seed", "parameters", "s per run")
    assert [row[0] for row in table.rows] == ["zeta (paper)", "alpha"]  # given order, not sorted
    first = table.row("zeta (paper)")
    assert first["F1@50"] == f"2.0 ± {T_975_2 / math.sqrt(3):.1f}"  # std 1 -> 2.5
    assert first["acc"] == f"52.0 ± {2 * T_975_2 / math.sqrt(3):.1f}"  # std 2 -> 5.0
    assert first["F1@50 per seed"] == "1.0, 2.0, 3.0"
    assert first["parameters"] == "1,000" and first["s per run"] == "11"
    second = table.row("alpha")
    assert second["F1@50"] == f"11.0 ± {math.sqrt(3) * T_975_2 / math.sqrt(3):.1f}"  # std sqrt(3)
    assert second["parameters"] == "2,000"
    summary = table.data["alpha", "F1@50"]
    assert summary.values == (10.0, 10.0, 13.0) and summary.std == pytest.approx(math.sqrt(3))
    assert "95% Student-t confidence interval over 3 seeds (t = 4.30)" in table.caption


def test_std_spread_notes_per_seed_choice_and_no_seconds():
    table = ablation_table(
        RUNS,
        ["acc"],
        per_seed="",
        seconds=False,
        spread="std",
        notes={"question": {"zeta (paper)": "all", "alpha": "depth"}},
        first_column="model",
        caption="Test scores (%).",
    )
    assert table.columns == ("model", "question", "acc")
    assert table.rows[0] == ("zeta (paper)", "all", "52.0 ± 2.0")
    assert table.caption == "Test scores (%). Mean ± sample standard deviation over 3 seeds."


def test_bad_inputs_name_what_is_wrong():
    with pytest.raises(KeyError, match="no metric 'edit'"):
        ablation_table(RUNS, ["edit"])
    with pytest.raises(KeyError, match="per_seed"):
        ablation_table(RUNS, ["acc"], per_seed="f1@50")
    with pytest.raises(KeyError, match="no entry for arms \\['alpha'\\]"):
        ablation_table(RUNS, ["acc"], notes={"question": {"zeta (paper)": "all"}})
    mixed = {"arm": [_run(1.0, 1.0, parameters=1), _run(2.0, 2.0, parameters=2)]}
    with pytest.raises(ValueError, match="parameters"):
        ablation_table(mixed, ["acc"], parameters=True)
    with pytest.raises(ValueError, match="no runs"):
        ablation_table({"empty": []}, ["acc"])
    with pytest.raises(KeyError, match="no 'val' scores"):
        seed_scores(RUNS["alpha"], "acc", split="val")


def test_seed_table_of_values_and_its_column_check():
    table = seed_table({"0.5": {"F1": [1.0, 2.0, 3.0]}, "none": {"F1": [4.0, 4.0, 4.0]}}, first_column="threshold")
    assert table.rows == (("0.5", "2.0 ± 2.5"), ("none", "4.0 ± 0.0"))
    with pytest.raises(ValueError, match="columns"):
        seed_table({"a": {"F1": [1.0, 2.0]}, "b": {"edit": [1.0, 2.0]}})


def test_comparison_table_reads_pairs_on_sample_stds():
    table = comparison_table(RUNS, [("alpha", "zeta (paper)")], "f1@50", label="F1@50")
    assert table.columns == ("comparison", "Δ F1@50", "pooled std", "95% CI of Δ", "reading")
    pooled = math.sqrt((3.0 + 1.0) / 2)  # sample variances 3 and 1
    row = table.rows[0]
    assert row[0] == "alpha vs zeta (paper)" and row[1] == "+9.0" and row[2] == f"{pooled:.1f}"
    assert row[4] == "apart"  # 9 > 2 x 1.41
    assert table.data["alpha", "zeta (paper)"].low > 0
    with pytest.raises(KeyError, match="no arm 'beta'"):
        comparison_table(RUNS, [("alpha", "beta")], "f1@50")


def test_provenance_line_lists_days_and_devices_once():
    runs = [_run(1, 1, day="2025-01-03"), _run(1, 1, day="2025-01-02", device="cuda"), _run(1, 1, day="2025-01-03")]
    assert provenance_line(runs) == "trained on 2025-01-02, 2025-01-03, on cpu, cuda"
    with pytest.raises(KeyError, match="provenance"):
        provenance_line([{"test": {}}])


def test_table_markdown_aligns_escapes_and_checks_its_rows():
    table = Table(("part", "count"), [("a|b", "1,000")], caption="Parts.", align=("left", "right"))
    assert table.markdown() == "Parts.\n\n| part | count |\n|---|---:|\n| a\\|b | 1,000 |"
    assert table._repr_markdown_() == table.markdown() == str(table)
    assert table.column("count") == ["1,000"]
    with pytest.raises(ValueError, match="row 0 has 1 cells for 2 columns"):
        Table(("part", "count"), [("a",)])
    with pytest.raises(ValueError, match="align"):
        Table(("part",), [("a",)], align=("middle",))

"""``selection/select_interact_reduced.py``: a cell's run keeps validation scores only
(its test split is never scored), and the choice is the cell with the best mean over the
seeds, every cell having every seed."""

import importlib.util
from pathlib import Path

import pytest
from test_test_split import LoggedSamples
from tiny_data import TINY_MSTCN, tiny_samples

from actseg_lib.data.prepare import split_indices

SCRIPT = Path(__file__).resolve().parents[1] / "selection" / "select_interact_reduced.py"
spec = importlib.util.spec_from_file_location("select_interact_reduced", SCRIPT)
select = importlib.util.module_from_spec(spec)
spec.loader.exec_module(select)


def test_a_selection_run_never_reads_the_test_split():
    samples = LoggedSamples(tiny_samples(num=16))
    test = set(split_indices(tiny_samples(num=16), "mstcn:tiny")["test"].tolist())
    overrides = {"model": TINY_MSTCN, "train": {"epochs": 2, "lr": 1e-2}}
    run = select.validation_run("ms_tcn", "mstcn:tiny", "reduced", overrides, samples)
    assert not [i for i, _, _ in samples.reads if i in test]
    assert "test" not in str(sorted(run)) and len(run["val_score_by_epoch"]) == 2
    assert run["val_score"] == max(run["val_score_by_epoch"]) == pytest.approx(run["val_at_best"]["score"])


def runs(scores: dict) -> list[dict]:
    return [
        {"lr": lr, "query_init_std": std, "seed": seed, "val_score": v}
        for (lr, std), by_seed in scores.items()
        for seed, v in enumerate(by_seed)
    ]


def test_the_cell_with_the_best_mean_over_seeds_is_chosen():
    # the single best run (99) is in a cell whose mean is lower
    chosen = select.summarise(
        runs({(1e-3, 1.0): [80.0, 82.0], (2e-3, 1.0): [99.0, 60.0], (1e-3, 0.02): [70, 71]}), (0, 1)
    )
    assert chosen["chosen"] == {"lr": 1e-3, "query_init_std": 1.0}
    assert [c["val_mean"] for c in chosen["cells"]] == [81.0, 79.5, 70.5]


def test_a_cell_missing_a_seed_is_refused():
    with pytest.raises(ValueError, match="seeds"):
        select.summarise(runs({(1e-3, 1.0): [80.0, 82.0], (2e-3, 1.0): [99.0]}), (0, 1))


def test_interacts_comments_quote_the_committed_selection_record():
    """The numbers that ``models/interact.py`` quotes for its lr and query init are the
    committed record's (re-running the selection makes this fail until they are updated)."""
    import json

    import actseg_lib.models.interact as interact

    record = json.loads(SCRIPT.with_suffix(".json").read_text(encoding="utf-8"))
    assert "test" not in json.dumps(record["runs"]) + json.dumps(record["selection"])
    source = " ".join(Path(interact.__file__).read_text(encoding="utf-8").split())
    cells = {(c["lr"], c["query_init_std"]): c for c in record["selection"]["cells"]}
    means = " / ".join(f"{cells[(lr, 1.0)]['val_mean']:.1f}" for lr in select.LRS)
    assert f"the mean validation score was {means} at" in source
    for lr in (2e-3, 4e-3):
        assert f"{cells[(lr, 1.0)]['val_mean']:.1f} against {cells[(lr, 0.02)]['val_mean']:.1f} at" in source
    assert record["selection"]["chosen"] == {"lr": 4e-3, "query_init_std": 1.0}
    assert all(
        cells[(lr, 0.02)]["val_scores"][i] < cells[(lr, 1.0)]["val_scores"][i] for lr in (2e-3, 4e-3) for i in (0, 1)
    )

"""Train or load, and arms over seeds: the seed goes into train.seed without touching
the rest, each run is asked for in order, and the folders (hence the records) are the
ones the chapters' own spelling of the overrides names."""

import pytest

from actseg_lib.engine import cached_run_dir, recorded_arms, train_or_load, trained_arms, with_seed
from actseg_lib.engine import records as records_module
from actseg_lib.engine import run as run_module


def test_with_seed_sets_the_seed_and_keeps_everything_else():
    overrides = {"model": {"keys": "full"}, "train": {"epochs": 3}}
    seeded = with_seed(overrides, 2)
    assert seeded == {"model": {"keys": "full"}, "train": {"epochs": 3, "seed": 2}}
    assert overrides == {"model": {"keys": "full"}, "train": {"epochs": 3}}  # not changed in place
    assert with_seed(None, 0) == {"train": {"seed": 0}}
    with pytest.raises(TypeError, match="integer"):
        with_seed({}, "0")


@pytest.mark.parametrize(
    ("name", "chapter_spelling", "overrides", "seed"),
    [
        ("deformable3d", {"model": {}, "train": {"seed": 1}}, {}, 1),  # chapter 21's paper arm
        ("star_transformer", {"train": {"seed": 2, "epochs": 12}}, {"train": {"epochs": 12}}, 2),  # 21's STAR runs
        (
            "sigformer",
            {"loss": {"inner_class_weight": 0.0}, "train": {"seed": 0}},
            {"loss": {"inner_class_weight": 0.0}},
            0,
        ),
    ],
)
def test_the_seeded_overrides_name_the_same_run_folder_as_the_chapters_did(name, chapter_spelling, overrides, seed):
    data = {"deformable3d": "synthact:clips", "star_transformer": "synthact:clips", "sigformer": "synthact:packaging"}
    assert cached_run_dir(name, data[name], "reduced", with_seed(overrides, seed)) == cached_run_dir(
        name, data[name], "reduced", chapter_spelling
    )


def test_recorded_arms_asks_for_every_arm_and_seed_in_order(monkeypatch):
    calls = []

    def fake_recorded_run(name, data, size, overrides, progress=False):
        calls.append((name, data, size, overrides))
        return {"test": {"acc": float(overrides["train"]["seed"])}}

    monkeypatch.setattr(records_module, "recorded_run", fake_recorded_run)
    arms = {"paper": {}, "no guidance": {"model": {"guidance": "none"}}}
    runs = recorded_arms("sigformer", arms, "synthact:packaging", "reduced", seeds=(3, 1))
    assert list(runs) == ["paper", "no guidance"]
    assert [r["test"]["acc"] for r in runs["no guidance"]] == [3.0, 1.0]
    assert calls == [
        ("sigformer", "synthact:packaging", "reduced", {"train": {"seed": 3}}),
        ("sigformer", "synthact:packaging", "reduced", {"train": {"seed": 1}}),
        ("sigformer", "synthact:packaging", "reduced", {"model": {"guidance": "none"}, "train": {"seed": 3}}),
        ("sigformer", "synthact:packaging", "reduced", {"model": {"guidance": "none"}, "train": {"seed": 1}}),
    ]


def test_train_or_load_trains_into_the_cached_folder_with_resume(monkeypatch, tmp_path):
    monkeypatch.setenv("ACTSEG_RUNS", str(tmp_path))
    calls = []

    def fake_train_model(name, data, size, out_dir, resume, overrides, progress, **kwargs):
        calls.append(dict(name=name, out_dir=out_dir, resume=resume, overrides=overrides, progress=progress, **kwargs))
        return {"out_dir": out_dir, "trainer": object(), "dataset": object()}

    monkeypatch.setattr(run_module, "train_model", fake_train_model)
    result = train_or_load("ms_tcn", "synthact:daily", overrides={"train": {"epochs": 2}}, seed=4, device="cpu")
    expected = {"train": {"epochs": 2, "seed": 4}}
    assert calls == [
        dict(
            name="ms_tcn",
            out_dir=cached_run_dir("ms_tcn", "synthact:daily", "reduced", expected),
            resume=True,
            overrides=expected,
            progress=False,
            device="cpu",
        )
    ]
    assert result["out_dir"].parent == tmp_path
    train_or_load("ms_tcn", "synthact:daily")  # no seed: the preset's
    assert calls[-1]["overrides"] == {} and calls[-1]["out_dir"] == cached_run_dir("ms_tcn", "synthact:daily")
    runs = trained_arms("ms_tcn", {"short": {"train": {"epochs": 1}}}, "synthact:daily", seeds=(0, 1))
    assert [c["overrides"] for c in calls[-2:]] == [{"train": {"epochs": 1, "seed": s}} for s in (0, 1)]
    assert len(runs["short"]) == 2 and all(set(r) == {"out_dir"} for r in runs["short"])  # no trainers kept
    kept = trained_arms("ms_tcn", {"short": {}}, "synthact:daily", seeds=(0,), keep_trainers=True)
    assert "trainer" in kept["short"][0] and "trainer" in result


@pytest.mark.parametrize(
    ("arms", "seeds", "error", "match"),
    [
        ({}, (0,), ValueError, "no arms"),
        ({"a": {}}, (), ValueError, "no seeds"),
        ({"a": {}}, (0, 0), ValueError, "repeat"),
        ({"a": {"train": {"seed": 1}}}, (0,), ValueError, "sets train.seed"),
        ({"a": ("ms_tcn", {})}, (0,), TypeError, "dict of sections"),
    ],
)
def test_bad_arms_are_refused_before_anything_runs(arms, seeds, error, match):
    with pytest.raises(error, match=match):
        recorded_arms("ms_tcn", arms, "synthact:daily", seeds=seeds)

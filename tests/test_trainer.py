"""The trainer in one process: learning, repeatability, best-epoch selection on the
validation split, "load if present", bf16 autocast, and refusing to resume a different run."""

import json

import numpy as np
import pytest
import torch
from tiny_data import TINY_MSTCN, tiny_samples

from actseg_lib.engine import TrainConfig, Trainer, evaluate_checkpoint, load_checkpoint, train_model
from actseg_lib.engine.tasks import SegmentationTask
from actseg_lib.models import build_model

SPEC = "mstcn:tiny"  # samples are passed in; the spec only names the source and its split rules


def run(tmp_path=None, epochs=6, **train):
    return train_model(
        "ms_tcn",
        SPEC,
        out_dir=tmp_path,
        samples=tiny_samples(),
        progress=False,
        overrides={"model": TINY_MSTCN, "train": {"epochs": epochs, "lr": 1e-2, **train}},
    )


def weights(model):
    return torch.cat([p.detach().flatten() for p in model.parameters()])


def test_training_learns_and_repeats_exactly(tmp_path):
    first, second = run(), run()
    history = first["history"]
    assert history[-1]["train_loss"] < 0.7 * history[0]["train_loss"]
    assert first["test"]["acc"] > 60  # four classes: chance is about 25 %
    assert torch.equal(weights(first["trainer"].model), weights(second["trainer"].model))
    assert first["test"] == second["test"]


def test_best_epoch_is_chosen_on_validation_only(tmp_path):
    results = run(tmp_path)
    scores = [r["val"]["score"] for r in results["history"]]
    assert results["best"]["epoch"] == int(np.argmax(scores)) + 1
    assert results["best"]["value"] == max(scores)
    best = load_checkpoint(tmp_path / "best.pt")
    assert best["epoch"] == results["best"]["epoch"]
    # the returned model holds the best epoch's weights
    for name, value in results["trainer"].model.state_dict().items():
        assert torch.equal(value, best["model"][name])
    saved = json.loads((tmp_path / "results.json").read_text())
    assert saved["test"] == results["test"] and saved["best"]["epoch"] == results["best"]["epoch"]
    for key in ("command", "environment", "git_commit", "seed"):
        assert key in saved["provenance"]
    assert saved["wall_time_s"] > 0 and saved["parameters"] > 0


def test_a_finished_run_is_loaded_not_retrained(tmp_path):
    first = run(tmp_path)
    again = train_model(
        "ms_tcn",
        SPEC,
        out_dir=tmp_path,
        samples=tiny_samples(),
        progress=False,
        resume=True,
        overrides={"model": TINY_MSTCN, "train": {"epochs": 6, "lr": 1e-2}},
    )
    assert len(again["history"]) == 6 and again["history"] == first["history"]
    assert again["test"] == first["test"]


def test_evaluate_checkpoint_reproduces_the_test_scores(tmp_path):
    results = run(tmp_path)
    scored = evaluate_checkpoint(
        tmp_path / "best.pt", samples=tiny_samples(), progress=False, out=tmp_path / "eval.json"
    )
    assert scored["metrics"] == pytest.approx(results["test"])
    assert json.loads((tmp_path / "eval.json").read_text())["metrics"] == scored["metrics"]


def test_resuming_a_different_run_is_refused(tmp_path):
    run(tmp_path, epochs=2)
    with pytest.raises(ValueError, match="cannot resume.*train_config"):
        train_model(
            "ms_tcn",
            SPEC,
            out_dir=tmp_path,
            samples=tiny_samples(),
            progress=False,
            resume=True,
            overrides={"model": TINY_MSTCN, "train": {"epochs": 2, "lr": 5e-2}},
        )


def test_bf16_autocast_step_runs():
    torch.manual_seed(0)
    data = tiny_samples(num=4)
    from actseg_lib.data.prepare import prepare_segmentation

    prepared = prepare_segmentation(SPEC, samples=data, progress=False)
    model = build_model("ms_tcn", in_channels=prepared.in_channels, num_classes=prepared.num_classes, **TINY_MSTCN)
    trainer = Trainer(model, SegmentationTask(), TrainConfig(epochs=1, amp="bf16"), progress=False)
    assert trainer.amp_dtype == torch.bfloat16
    history = trainer.fit(prepared.dataset("train"))
    assert np.isfinite(history[0]["train_loss"])
    assert all(p.dtype == torch.float32 for p in model.parameters())  # autocast, not a cast of the weights


def test_auto_precision_is_full_on_cpu():
    trainer = Trainer(torch.nn.Linear(2, 2), SegmentationTask(), TrainConfig(), device="cpu", progress=False)
    assert trainer.amp_dtype is None


def test_non_finite_loss_stops_with_a_clear_error():
    from actseg_lib.data.prepare import prepare_segmentation

    data = tiny_samples(num=4)
    data[0].features[:] = np.nan
    prepared = prepare_segmentation(SPEC, samples=data, stats=(np.zeros(6), np.ones(6)), progress=False)
    model = build_model("ms_tcn", in_channels=6, num_classes=4, **TINY_MSTCN)
    with pytest.raises(FloatingPointError, match="non-finite loss.*epoch 1"):
        Trainer(model, SegmentationTask(), TrainConfig(epochs=1), progress=False).fit(prepared.dataset("train"))

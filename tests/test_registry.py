"""The model registry: names, sizes, overrides and configurations as data."""

import pytest
from torch import nn

from actseg_lib.engine import TrainConfig
from actseg_lib.models import build_model, count_parameters, list_models, model_config, model_entry
from actseg_lib.models.registry import UNSET, ModelEntry, register_model


def test_the_baselines_are_registered_with_both_sizes():
    assert {"ms_tcn", "asformer"} <= set(list_models())
    for name in ("ms_tcn", "asformer"):
        assert model_entry(name).task == "segmentation"
        for size in ("reduced", "full"):
            config = model_config(name, size)
            TrainConfig.from_dict(config["train"])  # every recipe is a valid TrainConfig
            assert set(config) == {"model", "train", "data", "loss"}


def test_paper_hyperparameters_of_the_full_baselines():
    ms_tcn = model_config("ms_tcn", "full")
    assert (ms_tcn["model"]["num_stages"], ms_tcn["model"]["num_layers"], ms_tcn["model"]["num_f_maps"]) == (4, 10, 64)
    assert ms_tcn["loss"] == {"smoothing_weight": 0.15, "smoothing_clamp": 16.0}
    assert (ms_tcn["train"]["optimizer"], ms_tcn["train"]["lr"]) == ("adam", 5e-4)
    asformer = model_config("asformer", "full")
    assert (asformer["model"]["num_decoders"], asformer["model"]["num_layers"]) == (3, 10)


def test_model_config_is_a_copy():
    config = model_config("ms_tcn", "reduced")
    config["model"]["num_stages"] = 99
    assert model_config("ms_tcn", "reduced")["model"]["num_stages"] != 99


def test_overrides_reach_the_builder():
    small = build_model("ms_tcn", "reduced", in_channels=3, num_classes=2, num_layers=2)
    assert len(small.stages[0].layers) == 2
    assert count_parameters(small) < count_parameters(build_model("ms_tcn", "reduced", in_channels=3, num_classes=2))


def test_unknown_names_and_arguments_are_explained():
    with pytest.raises(KeyError, match="unknown model 'mstcn'.*ms_tcn"):
        build_model("mstcn")
    with pytest.raises(TypeError, match="unknown argument.*num_stage"):
        build_model("ms_tcn", num_stage=3)
    with pytest.raises(ValueError, match="size: expected"):
        build_model("ms_tcn", "huge")


def test_reduced_unsets_a_key_of_full_and_only_one_that_full_has():
    class Model(nn.Module):
        def __init__(self, *, width: int):
            super().__init__()

    full = {"model": {"width": 8}, "train": {"optimizer": "sgd", "momentum": 0.9}}
    entry = ModelEntry("m", Model, "recognition", "", 1, full, {"train": {"optimizer": "adamw", "momentum": UNSET}})
    assert entry.config("reduced")["train"] == {"optimizer": "adamw"}
    assert entry.config("full")["train"] == {"optimizer": "sgd", "momentum": 0.9}
    with pytest.raises(ValueError, match=r"unsets \['nesterov'\]"):
        register_model(
            "unset_check",
            Model,
            task="recognition",
            paper="",
            version=1,
            full=full,
            reduced={"train": {"nesterov": UNSET}},
        )
    assert "unset_check" not in list_models()

"""InterAct's switches for the official code's way (gdxxu/InterAct-main): each test
compares the switched model or loss with a computation written out by hand, so it fails
when the switch does nothing or does something else."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from test_interact import tiny  # the same tiny model as the paper-way tests
from torch.nn import functional as F

from actseg_lib.common import IGNORE_INDEX
from actseg_lib.common.skeletons import NUM_NTU_JOINTS
from actseg_lib.engine.run import merge_overrides
from actseg_lib.models import build_model, model_config
from actseg_lib.models.interact import (
    DSMI,
    ConcatSpatialEncoder,
    InterActLoss,
    InterActOutput,
    InterActRefinement,
    dice_loss_present,
    focal_loss,
    gaussian_boundary_targets,
    official_configuration,
    official_variant,
    skeleton_modalities,
)

V = NUM_NTU_JOINTS


# --- stage resolutions ---------------------------------------------------------------------


@pytest.mark.parametrize("stage_scales", ["paper", "official"])
def test_stage_r_reads_x_r_minus_1_in_the_paper_and_x_r_in_the_official_code(stage_scales):
    T, H = 40, 3
    model = tiny(num_stages=H, stage_scales=stage_scales)
    x = torch.randn(1, T, 3 * V)
    with torch.no_grad():
        scales = model.extractor(model.spatial(x).transpose(1, 2), torch.ones(1, 1, T))[-(H + 1) :]  # X_0..X_H
    read = []
    for block in model.query_blocks:
        block.cross_attention.register_forward_hook(lambda m, args, out: read.append(args[1]))
    with torch.no_grad():
        out = model(x)
    shift = 0 if stage_scales == "official" else 1
    for r in range(1, H + 1):
        X_u = scales[r - shift][0].transpose(1, 2)  # X_{r-1} (paper) or X_r (official)
        torch.testing.assert_close(read[r - 1], model.query_blocks[r - 1].frame_norm(X_u))
    expected = [math.ceil(T / 2 ** (H - r + shift)) for r in range(1, H + 1)]
    assert out.query_resolutions == expected
    assert (expected[-1] == T) == (stage_scales == "official")  # only the official last stage reads every frame


def test_fixed_interaction_ignores_the_stage_scales():
    for stage_scales in ("paper", "official"):
        model = tiny(interaction="fixed", stage_scales=stage_scales)
        assert model(torch.randn(1, 30, 3 * V)).query_resolutions == [30, 30, 30]
    with pytest.raises(ValueError, match="stage_scales"):
        tiny(stage_scales="T/4")


# --- the spatial encoder's inputs ------------------------------------------------------------


def test_forward_motion_is_the_next_frame_minus_this_one():
    joints = torch.randn(2, 6, V, 3)
    _, _, forward = skeleton_modalities(joints, centre=0, motion="forward")
    for t in range(5):
        torch.testing.assert_close(forward[:, t], joints[:, t + 1] - joints[:, t])
    assert forward[:, -1].abs().max() == 0
    _, _, backward = skeleton_modalities(joints, centre=0)
    torch.testing.assert_close(backward[:, 1:], forward[:, :-1])  # one frame apart
    with pytest.raises(ValueError, match="motion"):
        skeleton_modalities(joints, 0, motion="central")


def _inputs_of(dsmi: DSMI, x: torch.Tensor) -> dict:
    """What each graph convolution of ``dsmi`` receives for ``x``."""
    seen = {}
    hooks = [
        conv.register_forward_hook(lambda m, args, out, name=name: seen.__setitem__(name, args[0]))
        for name, conv in dsmi.graph_convs.items()
    ]
    with torch.no_grad():
        dsmi(x)
    for hook in hooks:
        hook.remove()
    return seen


def test_official_dsmi_reads_relative_from_joint_0_then_forward_motion():
    torch.manual_seed(0)
    dsmi = DSMI(
        3 * V,
        12,
        channels=8,
        num_scales=3,
        heads=2,
        **{k: official_variant()["model"][k] for k in ("modalities", "centre", "motion")},
    ).eval()
    assert list(dsmi.graph_convs) == ["relative", "motion"]
    assert not hasattr(dsmi, "fuse_relative") and hasattr(dsmi, "fuse_motion")  # one fusion step
    x = torch.randn(2, 9, 3 * V)
    joints = x.reshape(2, 9, V, 3)
    seen = _inputs_of(dsmi, x)
    torch.testing.assert_close(seen["relative"], joints - joints[:, :, :1])  # from joint 0, the spine base
    torch.testing.assert_close(seen["motion"][:, :-1], joints[:, 1:] - joints[:, :-1])
    # the fusion's reference is the relative modality
    args = []
    dsmi.fuse_motion.register_forward_hook(lambda m, a, out: args.append(a))
    with torch.no_grad():
        dsmi(x)
        S = dsmi.modality_features(x)
    torch.testing.assert_close(args[0][0], S["relative"])
    torch.testing.assert_close(args[0][1], S["motion"])


@pytest.mark.parametrize("spatial", ["dsmi", "concat"])
def test_without_the_absolute_modality_a_global_shift_changes_nothing(spatial):
    """Relative coordinates and motion do not see where the body stands: moving every
    joint of every frame by one vector leaves the encoder's output unchanged; with the
    absolute modality it does not."""
    x = torch.randn(1, 20, 3 * V)
    shifted = x + torch.tensor([0.7, -1.3, 2.0]).repeat(V)
    two = tiny(spatial=spatial, modalities=("relative", "motion"))
    three = tiny(spatial=spatial)
    with torch.no_grad():
        torch.testing.assert_close(two.spatial(shifted), two.spatial(x))
        assert not torch.allclose(three.spatial(shifted), three.spatial(x), atol=1e-3)


def test_concatenation_stacks_only_the_chosen_modalities():
    enc = ConcatSpatialEncoder(3 * V, 8, channels=8, num_scales=2, modalities=("motion", "relative"), centre=4)
    assert enc.graph_conv.weight.in_features == 2 * 2 * 3  # K x (2 modalities x 3 coordinates)
    x = torch.randn(1, 5, 3 * V)
    joints = x.reshape(1, 5, V, 3)
    seen = []
    enc.graph_conv.register_forward_hook(lambda m, args, out: seen.append(args[0]))
    enc(x)
    motion = torch.cat([torch.zeros_like(joints[:, :1]), joints[:, 1:] - joints[:, :-1]], dim=1)
    torch.testing.assert_close(seen[0], torch.cat([motion, joints - joints[:, :, 4:5]], dim=-1))


def test_modality_and_centre_errors_are_explained():
    for bad in ((), ("absolute", "absolute"), ("depth",), "relative"):
        with pytest.raises(ValueError, match="modalities"):
            DSMI(3 * V, 8, modalities=bad)
    with pytest.raises(ValueError, match="centre"):
        DSMI(3 * V, 8, centre=25)


# --- the loss forms ----------------------------------------------------------------------------


def _sigmoid_focal_by_hand(logits, labels, gamma, alpha):
    """Per labelled frame, per class: the binary focal term of RetinaNet; summed over the
    classes, averaged over the frames."""
    B, A, T = logits.shape
    frames = []
    for b in range(B):
        for t in range(T):
            y = int(labels[b, t])
            if y == IGNORE_INDEX:
                continue
            total = 0.0
            for a in range(A):
                p = 1 / (1 + math.exp(-float(logits[b, a, t])))
                if a == y:
                    total += -alpha * (1 - p) ** gamma * math.log(p)
                else:
                    total += -(1 - alpha) * p**gamma * math.log(1 - p)
            frames.append(total)
    return sum(frames) / len(frames)


def test_sigmoid_focal_loss_matches_retinanet_summed_over_classes():
    torch.manual_seed(0)
    logits = torch.randn(2, 4, 7, dtype=torch.float64)
    labels = torch.randint(0, 4, (2, 7))
    labels[1, 5:] = IGNORE_INDEX
    got = focal_loss(logits, labels, 2.0, probabilities="sigmoid", alpha=0.25)
    assert float(got) == pytest.approx(_sigmoid_focal_by_hand(logits, labels, 2.0, 0.25), rel=1e-6)
    # alpha=None weighs both outcomes by 1; gamma 0 is then the summed binary cross-entropy
    plain = focal_loss(logits, labels, 0.0, probabilities="sigmoid")
    valid = labels != IGNORE_INDEX
    z, y = logits.transpose(1, 2)[valid], F.one_hot(labels[valid], 4).double()
    torch.testing.assert_close(plain, (F.binary_cross_entropy_with_logits(z, y, reduction="sum") / valid.sum()).float())
    with pytest.raises(ValueError, match="alpha"):
        focal_loss(logits, labels, 2.0, alpha=0.25)  # softmax takes none


def test_squared_dice_has_squared_denominators_and_sigmoid_probabilities():
    torch.manual_seed(0)
    logits = torch.randn(1, 5, 12, dtype=torch.float64)
    labels = torch.tensor([[1] * 4 + [3] * 8])
    P = torch.sigmoid(logits[0])
    expected = []
    for c in (1, 3):
        m = (labels[0] == c).double()
        expected.append(1 - (2 * (m * P[c]).sum() + 1) / ((m**2).sum() + (P[c] ** 2).sum() + 1))
    got = dice_loss_present(logits, labels, probabilities="sigmoid", form="squared")
    torch.testing.assert_close(got, torch.stack(expected).mean().float())
    assert not torch.isclose(got, dice_loss_present(logits, labels, probabilities="sigmoid"))
    assert not torch.isclose(got, dice_loss_present(logits, labels, form="squared"))


def test_boundary_targets_can_be_cut_at_a_radius():
    labels = torch.tensor([[0] * 30 + [1] * 30])
    mask = torch.ones_like(labels, dtype=torch.bool)
    g = gaussian_boundary_targets(labels, mask, sigma=6.0, radius=10)[0]
    assert g[30] == 1
    torch.testing.assert_close(g[20], torch.tensor(math.exp(-100 / 72)))  # 10 frames away: kept
    assert g[19] == 0 and g[41] == 0  # 11 frames away: cut
    assert gaussian_boundary_targets(labels, mask, sigma=6.0)[0, 19] > 0  # default cut: 3 sigma = 18


def test_official_stages_average_every_term_over_all_stages_including_stage_0():
    torch.manual_seed(0)
    S, B, A, T = 4, 2, 5, 16
    out = InterActOutput(torch.randn(S, B, A, T), torch.randn(S, B, T), torch.ones(B, T, dtype=torch.bool))
    labels = torch.randint(0, A, (B, T))
    weights = dict(focal_weight=1.0, dice_weight=0.5, boundary_weight=2.0, focal_gamma=2.0, boundary_sigma=6.0)
    switches = official_variant()["loss"]
    criterion = InterActLoss(**{**weights, **switches})
    loss, parts = criterion(out, {"labels": labels, "mask": out.mask})
    target = gaussian_boundary_targets(labels, out.mask, 6.0, 10)
    terms = [
        (
            focal_loss(out.action_logits[r], labels, 2.0, "sigmoid", 0.25),
            dice_loss_present(out.action_logits[r], labels, 1.0, "sigmoid", "squared"),
            F.binary_cross_entropy_with_logits(out.boundary_logits[r], target),
        )
        for r in range(S)  # stage 0 included
    ]
    expected = [sum(t[i] for t in terms) / S for i in range(3)]
    torch.testing.assert_close(loss, expected[0] + 0.5 * expected[1] + 2.0 * expected[2])
    assert parts["focal"] == pytest.approx(float(expected[0]))
    # the paper's: summed over stages 1..H
    paper = InterActLoss(**{**weights, **switches, "stages": "paper"})(out, {"labels": labels, "mask": out.mask})[0]
    torch.testing.assert_close(paper, sum(t[0] + 0.5 * t[1] + 2.0 * t[2] for t in terms[1:]) + 0 * loss)
    with pytest.raises(ValueError, match="stages"):
        InterActLoss(**weights, stages="all")


# --- peaks, and the variant as a whole --------------------------------------------------------


def test_the_official_peak_threshold_keeps_a_low_boundary_peak():
    """A boundary probability peaking at 0.3 cuts the video at the official code's 0.1, not
    at our 0.5."""
    T, A = 40, 3
    action = torch.full((1, 1, A, T), -5.0)  # [S=1, B=1, A, T]
    action[..., 0, :25] = 5.0  # class 0 for 25 frames, then class 1 for 15
    action[..., 1, 25:] = 5.0
    prob = torch.full((T,), 0.01)
    prob[25] = 0.3  # a weak boundary peak where class 1 starts
    boundary = torch.logit(prob)[None, None]
    out = InterActOutput(action, boundary, torch.ones(1, T, dtype=torch.bool))
    batch = {"labels": torch.zeros(1, T, dtype=torch.long), "lengths": torch.tensor([T])}
    official = tiny(boundary_threshold=official_variant()["model"]["boundary_threshold"], peak_distance=15)
    ours = tiny(boundary_threshold=0.5, peak_distance=15)
    cut = InterActRefinement().items(official, out, batch)[0]["smoothed"]
    uncut = InterActRefinement().items(ours, out, batch)[0]["smoothed"]
    np.testing.assert_array_equal(uncut, [0] * T)  # no cut: one stretch, its majority class 0
    np.testing.assert_array_equal(cut, [0] * 25 + [1] * 15)  # cut at the peak: both classes survive


def test_official_variant_builds_trains_and_keys_at_both_sizes():
    from actseg_lib.engine.records import run_key

    for size in ("reduced", "full"):
        config = merge_overrides(model_config("interact", size), official_variant())
        model = build_model("interact", size, **config["model"])
        assert model.stage_scales == "official" and model.spatial.modalities == ("relative", "motion")
        assert InterActLoss(**config["loss"]).stages == "official"
    config = merge_overrides(model_config("interact", "reduced"), official_variant())
    model = build_model("interact", "reduced", **config["model"]).train()
    x = torch.randn(1, 64, 75)
    labels = torch.randint(0, 13, (1, 64))
    loss, _ = InterActLoss(**config["loss"])(model(x), {"labels": labels, "mask": torch.ones(1, 64, dtype=torch.bool)})
    loss.backward()
    assert torch.isfinite(loss) and model.queries.grad is not None
    keys = {run_key("interact", "synthact:daily", "reduced", o).name for o in (None, official_variant())}
    assert len(keys) == 2  # an arm of its own, the preset's records untouched


def test_official_configuration_values():
    full = official_configuration("full")
    assert full == {"model": {"dropout": 0.0, "dim": 512}, "train": {"weight_decay": 0.05, "warmup_epochs": 6.0}}
    reduced = official_configuration("reduced")
    epochs = model_config("interact", "reduced")["train"]["epochs"]
    assert reduced["train"]["warmup_epochs"] == pytest.approx(6 / 66 * epochs) and "dim" not in reduced["model"]
    merged = merge_overrides(model_config("interact", "full"), full)
    assert merged["train"]["epochs"] == 66 and merged["train"]["lr"] == 5e-4  # 6 + 60 epochs, as the code runs

"""The 3D deformable transformer's parts: each test checks the property that defines one."""

import pytest
import torch
from torch import nn

from actseg_lib.models import build_model, count_parameters
from actseg_lib.models.deformable3d import (
    DeformableAttention3D,
    JointStrideAttention,
    TemporalStrideAttention,
    ThreeDTokenSearch,
    sliding_windows,
)
from actseg_lib.nn.deformable_sampling import reference_points, sample_volume


def _zero_offsets(search: ThreeDTokenSearch) -> None:
    last = search.offset_net[-1]
    nn.init.zeros_(last.weight)
    nn.init.zeros_(last.bias)


def test_zero_offsets_sample_exactly_the_reference_grid_features():
    torch.manual_seed(0)
    search = ThreeDTokenSearch(dim=8, groups=2)
    _zero_offsets(search)
    volume = torch.randn(2, 8, 3, 4, 5)  # [B, D, T, H, W]
    tokens, points = search(volume)
    torch.testing.assert_close(tokens, volume.flatten(2).transpose(1, 2))  # [B, T*H*W, D], cell by cell
    assert points.shape == (2, 2, 3 * 4 * 5, 3)


def test_sampling_is_trilinear_between_frames():
    volume = torch.randn(1, 4, 2, 3, 3)
    centre = reference_points(2, 3, 3)[:, 1, 1]  # the middle pixel of both frames: [2, 3]
    halfway = centre.mean(0, keepdim=True)  # between the two frames
    (sample,) = sample_volume(volume, halfway[None])[0]
    torch.testing.assert_close(sample, volume[0, :, :, 1, 1].mean(1))


def test_offsets_are_bounded_by_the_range():
    search = ThreeDTokenSearch(dim=4, groups=1, offset_range=(1.0, 2.0, 3.0))
    nn.init.constant_(search.offset_net[-1].bias, 100.0)  # tanh saturates
    volume = torch.randn(1, 4, 4, 6, 8)
    _, points = search(volume)
    shift = points[0, 0] - reference_points(4, 6, 8).reshape(-1, 3)
    # (x, y, t) in cells: 3 of 8 in x, 2 of 6 in y, 1 of 4 in t; one cell is 2 / n
    torch.testing.assert_close(shift.amax(0), torch.tensor([3 * 2 / 8, 2 * 2 / 6, 1 * 2 / 4]))


def test_gradients_reach_the_offset_network():
    torch.manual_seed(0)
    model = build_model("deformable3d", "reduced")
    logits = model(torch.rand(2, 8, 3, 48, 48), torch.rand(2, 8, 25, 2))
    logits.sum().backward()
    for block in model.blocks:
        net = block.deformable.search.offset_net
        assert net[0].weight.grad.abs().sum() > 0 and net[-1].weight.grad.abs().sum() > 0


def test_sliding_windows_cover_every_frame_with_the_configured_overlap():
    assert sliding_windows(16, 4, 2) == [(s, s + 4) for s in range(0, 13, 2)]
    assert sliding_windows(7, 4, 2) == [(0, 4), (2, 6), (3, 7)]  # the last one ends at the last frame
    assert sliding_windows(3, 8, 4) == [(0, 3)]
    for T, w, s in [(16, 4, 2), (9, 4, 3), (12, 6, 6), (5, 2, 1)]:
        windows = sliding_windows(T, w, s)
        covered = sorted({t for a, b in windows for t in range(a, b)})
        assert covered == list(range(T))
        for (_, b0), (a1, _) in zip(windows, windows[1:]):
            assert b0 - a1 >= w - s  # consecutive windows share at least window - stride frames
    with pytest.raises(ValueError, match="skip frames"):
        sliding_windows(8, 2, 3)


def test_joint_stride_attention_only_mixes_joints_inside_a_window():
    torch.manual_seed(0)
    module = JointStrideAttention(dim=8, heads=2, window=5, stride=3).eval()
    pose, cross = torch.randn(1, 2, 25, 8), torch.randn(1, 2, 2, 8)  # [B, T, J, D], [B, T, C, D]
    out, _ = module(pose, cross)
    moved = pose.clone()
    moved[:, :, 24] += 5.0  # the last joint shares no window with joints 0-2
    out_moved, _ = module(moved, cross)
    torch.testing.assert_close(out_moved[:, :, :3], out[:, :, :3])
    assert not torch.allclose(out_moved[:, :, 22:24], out[:, :, 22:24])  # its window neighbours do change


def test_temporal_stride_attention_only_mixes_frames_inside_a_window():
    torch.manual_seed(0)
    module = TemporalStrideAttention(dim=8, heads=2, window=4, stride=2).eval()
    z = torch.randn(1, 8, 3, 8)
    moved = z.clone()
    moved[:, 7] += 5.0  # frame 7 shares no window with frames 0 and 1
    torch.testing.assert_close(module(moved)[:, :2], module(z)[:, :2])


def test_attention_costs_against_full_attention():
    torch.manual_seed(0)
    B, T, h, w, D = 1, 8, 6, 6, 16
    P, C = T * h * w, 2
    rgb, cross = torch.randn(B, P, D), torch.randn(B, C, D)
    volume = rgb.transpose(1, 2).reshape(B, D, T, h, w)
    full = DeformableAttention3D(D, 2, keys="full")
    full(rgb, volume, cross)
    assert full.score_pairs == (P + C) ** 2
    sparse = DeformableAttention3D(D, 2, keys="deformable", reference_stride=(2, 2, 2))
    sparse(rgb, volume, cross)
    assert sparse.score_pairs == (P + C) * (P // 8 + C)  # a reference point every 2 cells per axis
    temporal = TemporalStrideAttention(D, 2, window=4, stride=2)
    temporal(torch.randn(B, T, 10, D))
    assert temporal.score_pairs == 3 * (4 * 10) ** 2 < (T * 10) ** 2  # 3 windows of 40 tokens against 80^2


def test_presets_build_and_run_with_the_ablation_switches():
    reduced = build_model("deformable3d", "reduced")
    full = build_model("deformable3d", "full")
    assert count_parameters(full) > 10 * count_parameters(reduced)
    rgb, pose = torch.rand(2, 8, 3, 48, 48), torch.rand(2, 8, 25, 2)
    for overrides in ({}, {"keys": "full"}, {"cross_tokens": False}):
        model = build_model("deformable3d", "reduced", **overrides)
        logits, embedding = model(rgb, pose, return_embedding=True)
        assert logits.shape == (2, 12) and embedding.shape == (2, 64)
    with pytest.raises(ValueError, match="feature_size"):
        reduced(torch.rand(1, 8, 3, 64, 64), torch.rand(1, 8, 25, 2))
    with pytest.raises(ValueError, match="skeleton2d"):
        reduced(rgb, torch.rand(2, 8, 13, 2))
    with pytest.raises(ValueError, match="features"):
        reduced.forward_features(torch.rand(2, 32, 8, 6, 6), pose)  # layer3 has 64 channels here


def test_forward_is_backbone_features_then_forward_features():
    torch.manual_seed(0)
    model = build_model("deformable3d", "reduced").eval()
    rgb, pose = torch.rand(2, 8, 3, 48, 48), torch.rand(2, 8, 25, 2)
    with torch.no_grad():
        torch.testing.assert_close(model(rgb, pose), model.forward_features(model.backbone_features(rgb), pose))


def test_rgb_zero_init_starts_as_a_pose_model_and_pose_tokens_ignore_position_and_scale():
    torch.manual_seed(0)
    model = build_model("deformable3d", "reduced").eval()
    pose = torch.rand(2, 8, 25, 2) * 0.3 + 0.2
    with torch.no_grad():
        a = model(torch.rand(2, 8, 3, 48, 48), pose)
        b = model(torch.rand(2, 8, 3, 48, 48), pose)  # other frames: no effect at the start
        c = model(torch.rand(2, 8, 3, 48, 48), pose * 1.5 + 0.1)  # the same pose, moved and scaled
    torch.testing.assert_close(a, b)
    torch.testing.assert_close(a, c)
    assert build_model("deformable3d", "reduced", rgb_zero_init=False).rgb_proj.weight.abs().sum() > 0


def test_cross_tokens_take_part_in_the_temporal_stride_attention():
    """Frame 8's cross tokens, as the temporal stride attention receives them, reach the
    pose tokens of frames 5-8 (its window) and not those of frames 1-4. The change is made
    at the attention's input (a pre-hook): earlier in the block the deformable attention
    lets every cross token reach every frame, and a constant shift of the tokens would be
    erased by the LayerNorm before the attention, so the test would assert nothing."""
    torch.manual_seed(0)
    block = build_model("deformable3d", "reduced").blocks[0].eval()
    rgb, pose = torch.randn(1, 8, 6, 6, 64), torch.randn(1, 8, 25, 64)
    cross = torch.randn(1, 8, 2, 64)  # one copy per frame
    change = 3.0 * torch.randn(2, 64, generator=torch.Generator().manual_seed(1))

    def move_frame_8_cross_tokens(module, args):
        frames = args[0]  # [B, T, h*w + J + C, D]
        assert frames.shape[2] == 6 * 6 + 25 + 2  # RGB, pose and cross tokens of each frame
        moved = frames.clone()
        moved[:, 7, -2:] += change
        return (moved, *args[1:])

    with torch.no_grad():
        out = block(rgb, pose, cross)
        handle = block.temporal.register_forward_pre_hook(move_frame_8_cross_tokens)
        out_moved = block(rgb, pose, cross)
        handle.remove()
    torch.testing.assert_close(out_moved[1][:, :4], out[1][:, :4])
    assert ((out_moved[1][:, 4:] - out[1][:, 4:]).abs().amax((-2, -1)) > 1e-2).all()  # each of frames 5-8


def test_recording_keeps_the_weights_of_every_attention_and_stops_when_switched_off():
    torch.manual_seed(0)
    model = build_model("deformable3d", "reduced").eval()
    rgb, pose = torch.rand(2, 8, 3, 48, 48), torch.rand(2, 8, 25, 2)
    model.record_attention(True)
    with torch.no_grad():
        model(rgb, pose)
    deformable, joint = model.blocks[0].deformable, model.blocks[0].joint
    P, L, N = 8 * 6 * 6, 8 * 2, 8 * 3 * 3  # RGB tokens, cross tokens, deformable tokens (every 2 cells in space)
    assert deformable.weights.shape == (2, 4, P + L, N + L)
    torch.testing.assert_close(deformable.weights.sum(-1), torch.ones(2, 4, P + L))
    assert joint.joint_attention.shape == (2, 8, 25, 25)
    assert (joint.joint_attention[..., 0, 24] == 0).all() and (joint.joint_attention[..., 0, 1] > 0).all()
    model.record_attention(False)
    with torch.no_grad():
        model(rgb, pose)
    assert deformable.weights is None


@pytest.mark.parametrize(
    ("temporal_mixing", "cross_tokens", "pose_reaches_rgb"),
    [("all", True, True), ("all", False, True), ("within_modality", True, True), ("within_modality", False, False)],
)
def test_within_modality_mixing_leaves_the_cross_tokens_the_only_path_from_pose_to_rgb(
    temporal_mixing, cross_tokens, pose_reaches_rgb
):
    """Another pose changes a block's RGB tokens when the temporal stride attention mixes
    the modalities, or when cross-modal tokens carry it; with the modalities kept apart
    and no cross-modal tokens, the RGB tokens do not depend on the pose at all."""
    torch.manual_seed(0)
    model = build_model("deformable3d", "reduced", temporal_mixing=temporal_mixing, cross_tokens=cross_tokens)
    block = model.blocks[0].eval()
    rgb, cross = torch.randn(1, 8, 6, 6, 64), torch.randn(1, 8, 2 if cross_tokens else 0, 64)
    pose, other_pose = torch.randn(2, 1, 8, 25, 64)
    with torch.no_grad():
        rgb_out = block(rgb, pose, cross)[0]
        rgb_out_other = block(rgb, other_pose, cross)[0]
    changed = (rgb_out_other - rgb_out).abs().max().item()
    assert (changed > 1e-3) == pose_reaches_rgb, changed


def test_modality_mask_lets_each_modality_read_itself_and_the_bridge_only():
    from actseg_lib.models.deformable3d import BRIDGE, modality_mask

    allowed = modality_mask(torch.tensor([0, 0, 1, BRIDGE]), frames=2)  # two frames of 4 slots
    rgb, pose, bridge = [0, 1, 4, 5], [2, 6], [3, 7]
    assert allowed[rgb][:, rgb].all() and allowed[pose][:, pose].all()
    assert not allowed[rgb][:, pose].any() and not allowed[pose][:, rgb].any()
    assert allowed[bridge].all() and allowed[:, bridge].all()
    with pytest.raises(ValueError, match="temporal_mixing"):
        build_model("deformable3d", "reduced", temporal_mixing="sometimes")

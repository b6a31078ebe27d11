"""The 3D deformable transformer against hand-written reference computations: which tokens
query which in the deformable attention, where each offset group samples, which joints
and frames each stride window covers and how the overlaps are averaged, and which tokens
the head reads.

Each test was checked by breaking its property in the library (``tools/mutations.py``).
"""

import torch
from reference_attention import attention_by_hand, randomise_norms
from torch import nn

from actseg_lib.models import build_model
from actseg_lib.models.deformable3d import (
    DeformableAttention3D,
    JointStrideAttention,
    TemporalStrideAttention,
    ThreeDTokenSearch,
)
from actseg_lib.nn.deformable_sampling import reference_points, sample_volume

D, HEADS = 8, 2


def _random_offsets(search: ThreeDTokenSearch, scale: float = 1.0, seed: int = 0) -> None:
    g = torch.Generator().manual_seed(seed)
    last = search.offset_net[-1]
    with torch.no_grad():
        last.weight.copy_(torch.randn(last.weight.shape, generator=g) * scale)
        last.bias.copy_(torch.randn(last.bias.shape, generator=g) * scale)


def test_deformable_attention_queries_rgb_and_cross_tokens_and_reads_deformable_and_cross_tokens():
    """Queries = RGB tokens ++ cross-modal tokens; keys = values = deformable tokens ++
    cross-modal tokens. With reference points at every cell the deformable tokens are as
    many as the RGB tokens, so a swap of queries and keys keeps the shapes."""
    torch.manual_seed(0)
    module = DeformableAttention3D(D, HEADS, reference_stride=(1, 1, 1)).eval()
    _random_offsets(module.search)
    g = torch.Generator().manual_seed(1)
    T, H, W, L = 2, 3, 3, 4
    rgb = torch.randn(1, T * H * W, D, generator=g)
    volume = torch.randn(1, D, T, H, W, generator=g)  # sampled from: not the RGB tokens themselves
    cross = torch.randn(1, L, D, generator=g)
    sampled, _ = module.search(volume)  # [1, N, D]
    assert not torch.allclose(sampled, rgb)
    expected = attention_by_hand(module.attention, torch.cat([rgb, cross], 1), torch.cat([sampled, cross], 1))
    d_rgb, d_cross = module(rgb, volume, cross)
    torch.testing.assert_close(d_rgb, expected[:, : T * H * W])
    torch.testing.assert_close(d_cross, expected[:, T * H * W :])


def test_each_offset_group_samples_its_own_channels_at_its_own_points():
    """Per group g of D / G channels: offsets dp = tanh(raw) * range, raw = (dt, dy, dx)
    from the offset network on that group's channels; its tokens are its channels
    sampled at p + dp; the groups' tokens sit side by side."""
    torch.manual_seed(0)
    G, c = 2, D // 2
    search = ThreeDTokenSearch(D, groups=G, offset_range=(1.0, 2.0, 3.0))
    _random_offsets(search, scale=2.0)
    T, H, W = 3, 4, 5
    volume = torch.randn(2, D, T, H, W, generator=torch.Generator().manual_seed(1))
    tokens, points = search(volume)  # [2, N, D], [2, G, N, 3]
    reference = reference_points(T, H, W).reshape(-1, 3)  # (x, y, t)
    for group in range(G):
        channels = volume[:, group * c : (group + 1) * c]
        raw = search.offset_net(channels).flatten(2).transpose(1, 2)  # [2, N, 3] as (dt, dy, dx)
        shift = torch.stack(
            [
                torch.tanh(raw[..., 2]) * 3.0 * 2 / W,  # x: dx, up to 3 cells of W
                torch.tanh(raw[..., 1]) * 2.0 * 2 / H,  # y: dy, up to 2 cells of H
                torch.tanh(raw[..., 0]) * 1.0 * 2 / T,  # t: dt, up to 1 cell of T
            ],
            dim=-1,
        )
        torch.testing.assert_close(points[:, group], reference + shift)
        torch.testing.assert_close(tokens[..., group * c : (group + 1) * c], sample_volume(channels, points[:, group]))
    assert not torch.allclose(points[:, 0], points[:, 1])  # the groups look in different places


def test_the_time_offset_moves_points_in_time_only():
    search = ThreeDTokenSearch(4, groups=1, offset_range=(1.0, 2.0, 2.0))
    last = search.offset_net[-1]
    nn.init.zeros_(last.weight)
    with torch.no_grad():
        last.bias.copy_(torch.tensor([0.5, 0.0, 0.0]))  # raw (dt, dy, dx)
    _, points = search(torch.randn(1, 4, 4, 3, 3))
    shift = points[0, 0] - reference_points(4, 3, 3).reshape(-1, 3)
    expected = torch.tensor([0.0, 0.0, float(torch.tanh(torch.tensor(0.5))) * 2 / 4]).expand_as(shift)
    torch.testing.assert_close(shift, expected)


def stride_attention_by_hand(att, windows, tokens_of, count_of):
    """Each window's tokens attend to each other; a position in several windows gets the
    mean of its outputs. ``tokens_of(window)`` gives the window's tokens and the positions
    they stand for; returns {position: mean output}."""
    sums, counts = {}, {}
    for window in windows:
        tokens, positions = tokens_of(window)
        out = attention_by_hand(att, tokens)
        for i, position in enumerate(positions):
            sums[position] = sums.get(position, 0) + out[:, i]
            counts[position] = counts.get(position, 0) + 1
    assert all(counts[p] == count_of(p) for p in counts)
    return {p: sums[p] / counts[p] for p in sums}


def test_joint_stride_windows_overlap_and_each_joint_gets_the_mean_of_its_windows():
    """12 joints, windows of 5 moved by 3: joints 0-4, 3-7, 6-10 and 7-11 (the last ends at
    the last joint). Each window holds its joints and the frame's cross-modal tokens."""
    torch.manual_seed(0)
    module = JointStrideAttention(D, HEADS, window=5, stride=3).eval()
    g = torch.Generator().manual_seed(1)
    Bt, T, J, C = 2, 3, 12, 2
    pose, cross = torch.randn(Bt, T, J, D, generator=g), torch.randn(Bt, T, C, D, generator=g)
    windows = [(0, 5), (3, 8), (6, 11), (7, 12)]
    covered = {j: sum(a <= j < b for a, b in windows) for j in range(J)}
    assert [covered[j] for j in range(J)] == [1, 1, 1, 2, 2, 1, 2, 3, 2, 2, 2, 1]
    out_pose, out_cross = module(pose, cross)
    for t in range(T):

        def tokens_of(window, t=t):
            a, b = window
            positions = [("joint", j) for j in range(a, b)] + [("cross", k, window) for k in range(C)]
            return torch.cat([pose[:, t, a:b], cross[:, t]], 1), positions

        means = stride_attention_by_hand(
            module.attention, windows, tokens_of, lambda p: covered[p[1]] if p[0] == "joint" else 1
        )
        for j in range(J):
            torch.testing.assert_close(out_pose[:, t, j], means[("joint", j)])
        for k in range(C):
            cross_mean = sum(means[("cross", k, w)] for w in windows) / len(windows)  # the mean over the windows
            torch.testing.assert_close(out_cross[:, t, k], cross_mean)


def test_temporal_stride_windows_overlap_and_each_frame_gets_the_mean_of_its_windows():
    """8 frames, windows of 4 moved by 2: frames 0-3, 2-5, 4-7; every token of a window's
    frames attends to every other; frames 2-5 are in two windows."""
    torch.manual_seed(0)
    module = TemporalStrideAttention(D, HEADS, window=4, stride=2).eval()
    Bt, T, S = 2, 8, 3
    z = torch.randn(Bt, T, S, D, generator=torch.Generator().manual_seed(1))
    windows = [(0, 4), (2, 6), (4, 8)]
    covered = {t: sum(a <= t < b for a, b in windows) for t in range(T)}
    assert [covered[t] for t in range(T)] == [1, 1, 2, 2, 2, 2, 1, 1]

    def tokens_of(window):
        a, b = window
        return z[:, a:b].flatten(1, 2), [(t, s) for t in range(a, b) for s in range(S)]

    means = stride_attention_by_hand(module.attention, windows, tokens_of, lambda p: covered[p[0]])
    expected = torch.stack([torch.stack([means[(t, s)] for s in range(S)], 1) for t in range(T)], 1)
    torch.testing.assert_close(module(z), expected)


def test_the_head_reads_both_cross_modal_tokens_of_every_frame():
    torch.manual_seed(0)
    model = build_model("deformable3d", "reduced").eval()
    seen = {}
    model.blocks[-1].register_forward_hook(lambda m, args, out: seen.update(cross=out[2]))
    rgb, pose = torch.rand(2, 8, 3, 48, 48), torch.rand(2, 8, 25, 2)
    with torch.no_grad():
        logits, embedding = model(rgb, pose, return_embedding=True)
    cross = seen["cross"]  # [B, T, 2, D] after the last block
    assert cross.shape == (2, 8, 2, 64)
    expected = sum(cross[:, t, k] for t in range(8) for k in range(2)) / 16
    torch.testing.assert_close(embedding, expected)
    torch.testing.assert_close(logits, model.head(model.norm(expected)))


def test_block_is_deformable_then_joint_then_temporal_attention_then_mlp_each_pre_norm_residual():
    """The block's wiring, its parts taken as given (each is checked above): the deformable
    attention updates RGB and cross tokens, the joint stride attention reads the updated
    cross tokens and updates pose and cross tokens, then the temporal stride attention and
    the MLP see every token of a frame (RGB, pose, cross)."""
    torch.manual_seed(0)
    block = build_model("deformable3d", "reduced").blocks[0].eval()
    randomise_norms(block)
    g = torch.Generator().manual_seed(1)
    B, T, h, w, J, C, Dm = 1, 8, 6, 6, 25, 2, 64
    rgb, pose, cross = (torch.randn(B, T, *shape, Dm, generator=g) for shape in ((h, w), (J,), (C,)))
    with torch.no_grad():
        x = block.norm_rgb(rgb)
        d_rgb, d_cross = block.deformable(
            x.reshape(B, T * h * w, Dm), x.permute(0, 4, 1, 2, 3), block.norm_cross(cross).reshape(B, T * C, Dm)
        )
        rgb1, cross1 = rgb + d_rgb.view_as(rgb), cross + d_cross.view_as(cross)
        d_pose, d_cross = block.joint(block.norm_pose(pose), block.norm_cross2(cross1))
        pose1, cross2 = pose + d_pose, cross1 + d_cross
        frames = torch.cat([rgb1.reshape(B, T, h * w, Dm), pose1, cross2], dim=2)
        frames = frames + block.temporal(block.norm_frames(frames))
        frames = frames + block.mlp(block.norm_mlp(frames))
        got = block(rgb, pose, cross)
    torch.testing.assert_close(got[0], frames[:, :, : h * w].reshape(B, T, h, w, Dm))
    torch.testing.assert_close(got[1], frames[:, :, h * w : h * w + J])
    torch.testing.assert_close(got[2], frames[:, :, h * w + J :])

"""STAR-Transformer: the defining property of each named part."""

import numpy as np
import pytest
import torch
from torch import nn
from torch.nn import functional as F

from actseg_lib.data.synthact import joint_heatmaps
from actseg_lib.models import build_model, count_parameters
from actseg_lib.models.star_transformer import (
    BAttn,
    FAttn,
    JointMapTokens,
    MultiClassTokens,
    ZAttn,
)
from actseg_lib.nn.joint_heatmaps import render_joint_heatmaps
from actseg_lib.nn.mixed_conv import MixedConvBackbone

B, T, S, D, HEADS = 2, 6, 3, 8, 2


def grid(seed=0, frames=T):
    return torch.randn(B, frames, S, D, generator=torch.Generator().manual_seed(seed))


def reference_attention(module, z, query_frame, key_frames):
    """The tokens of one frame attending to the tokens of ``key_frames``, by hand."""
    projections = module.attention
    q = projections.q(z[:, query_frame])  # [B, S, D]
    k, v = projections.kv(z[:, key_frames].flatten(1, 2)).chunk(2, dim=-1)  # [B, len*S, D]
    split = lambda x: x.unflatten(-1, (HEADS, D // HEADS)).transpose(1, 2)  # noqa: E731
    weights = torch.softmax(split(q) @ split(k).transpose(-2, -1) / (D // HEADS) ** 0.5, dim=-1)
    return projections.out((weights @ split(v)).transpose(1, 2).flatten(2))  # [B, S, D]


@pytest.mark.parametrize("frames", [6, 7])
def test_zigzag_each_frame_attends_to_the_other_parity_and_stays_in_place(frames):
    torch.manual_seed(0)
    zattn, z = ZAttn(D, HEADS), grid(frames=frames)
    out = zattn(z)
    for t in range(frames):
        others = [s for s in range(frames) if s % 2 != t % 2]
        torch.testing.assert_close(out[:, t], reference_attention(zattn, z, t, others))


def test_zigzag_attention_weights_are_zero_within_a_parity():
    torch.manual_seed(0)
    zattn = ZAttn(D, HEADS)
    zattn.record = True
    zattn(grid())
    weights = zattn.frame_attention  # [B, T, T]
    same = torch.tensor([[(q - k) % 2 == 0 for k in range(T)] for q in range(T)])
    assert (weights[:, same] == 0).all() and (weights[:, ~same] > 0).all()
    torch.testing.assert_close(weights.sum(-1), torch.ones(B, T))


def test_zigzag_output_ignores_frames_of_the_same_parity():
    torch.manual_seed(0)
    zattn, z = ZAttn(D, HEADS), grid()
    changed = z.clone()
    changed[:, 2] += 5.0  # frame index 2: an "odd" frame counted from 1
    before, after = zattn(z), zattn(changed)
    torch.testing.assert_close(after[:, [0, 4]], before[:, [0, 4]])  # the same parity: unchanged
    assert not torch.allclose(after[:, [1, 3, 5]], before[:, [1, 3, 5]])  # the other parity reads it


def test_zigzag_is_equivariant_to_shuffling_frames_within_a_parity():
    torch.manual_seed(0)
    zattn, z = ZAttn(D, HEADS), grid()
    order = [4, 3, 0, 5, 2, 1]  # odd slots keep odd frames, even slots even frames
    torch.testing.assert_close(zattn(z[:, order]), zattn(z)[:, order])


@pytest.mark.parametrize("frames", [6, 7])
def test_binary_each_half_attends_to_the_other_half_and_stays_in_place(frames):
    torch.manual_seed(0)
    battn, z = BAttn(D, HEADS), grid(frames=frames)
    out = battn(z)
    half = (frames + 1) // 2
    for t in range(frames):
        others = list(range(half, frames)) if t < half else list(range(half))
        torch.testing.assert_close(out[:, t], reference_attention(battn, z, t, others))


def test_binary_output_of_a_half_ignores_its_own_half():
    torch.manual_seed(0)
    battn, z = BAttn(D, HEADS), grid()
    changed = z.clone()
    changed[:, 1] += 5.0
    before, after = battn(z), battn(changed)
    torch.testing.assert_close(after[:, [0, 2]], before[:, [0, 2]])
    assert not torch.allclose(after[:, 3:], before[:, 3:])
    battn.record = True
    battn(z)
    first = torch.arange(T) < T // 2
    assert (battn.frame_attention[:, first][:, :, first] == 0).all()
    assert (battn.frame_attention[:, ~first][:, :, ~first] == 0).all()


def test_full_attention_equals_pytorch_multihead_attention():
    torch.manual_seed(0)
    fattn, z = FAttn(D, HEADS), grid()
    mha = nn.MultiheadAttention(D, HEADS, batch_first=True)
    projections = fattn.attention
    with torch.no_grad():
        mha.in_proj_weight.copy_(torch.cat([projections.q.weight, projections.kv.weight]))
        mha.in_proj_bias.copy_(torch.cat([projections.q.bias, projections.kv.bias]))
        mha.out_proj.weight.copy_(projections.out.weight)
        mha.out_proj.bias.copy_(projections.out.bias)
    tokens = z.flatten(1, 2)  # [B, T*S, D]
    expected, _ = mha(tokens, tokens, tokens, need_weights=False)
    torch.testing.assert_close(fattn(z), expected.view_as(z))


@pytest.mark.parametrize("kind", [FAttn, ZAttn, BAttn])
def test_recorded_weights_give_the_same_output_as_the_fused_kernel(kind):
    torch.manual_seed(0)
    module, z = kind(D, HEADS), grid()
    fused = module(z)
    module.record = True
    torch.testing.assert_close(module(z), fused)


def test_decoupled_attention_costs_a_quarter_per_direction_and_half_in_all():
    z = grid(frames=16)
    full = (16 * S) ** 2
    for kind in (ZAttn, BAttn):
        module = kind(D, HEADS)
        module(z)
        assert module.score_pairs == 2 * full // 4  # a' and a'': (TS/2)^2 each
    fattn = FAttn(D, HEADS)
    fattn(z)
    assert fattn.score_pairs == full


def test_multi_class_tokens_put_position_only_on_joint_tokens():
    torch.manual_seed(0)
    P, N = 4, 5
    tokens = MultiClassTokens(D, T, N)
    g, j = torch.randn(B, T, P, D), torch.randn(B, T, N, D)
    z = tokens(g, j)
    assert z.shape == (B, T, 1 + P + 1 + N + 1, D)
    torch.testing.assert_close(z[:, :, 1 : 1 + P], g)  # grid tokens untouched
    torch.testing.assert_close(z[:, :, 2 + P : 2 + P + N], j + tokens.joint_pos)
    positions = tokens.class_positions(P)
    assert positions == [0, 1 + P, 2 + P + N]
    for p, cls in zip(positions, (tokens.cls_global, tokens.cls_joint, tokens.cls_total)):
        torch.testing.assert_close(z[:, :, p], cls.expand(B, T, D))


def test_joint_map_tokens_embed_the_concatenation_of_features_and_heat_map():
    torch.manual_seed(0)
    C, N, h = 3, 4, 5
    module = JointMapTokens(C, D, (h, h), hidden=6)
    features, heat = torch.randn(B, C, T, h, h), torch.rand(B, T, N, h, h)
    # the paper's recipe spelled out: concatenate, convolve, GELU, flatten, project
    conv = nn.Conv2d(C + 1, 6, 3, padding=1)
    with torch.no_grad():
        conv.weight.copy_(torch.cat([module.conv_features.weight, module.conv_heatmap.weight], dim=1))
        conv.bias.copy_(module.conv_features.bias)
    for b, t, n in [(0, 0, 0), (1, 5, 3)]:
        stacked = torch.cat([features[b, :, t], heat[b, t, n][None]])[None]  # [1, C + 1, h, w]
        expected = module.proj(F.gelu(conv(stacked)).flatten(1))[0]
        torch.testing.assert_close(module(features, heat)[b, t, n], expected)


def test_pooled_joint_tokens_weight_features_by_the_heat_map():
    torch.manual_seed(0)
    C, N, h = 3, 2, 4
    module = JointMapTokens(C, D, (h, h), mode="pooled")
    features, heat = torch.randn(B, C, T, h, h), torch.zeros(B, T, N, h, h)
    heat[..., 1, 2] = 1.0  # every joint sits on pixel (y=1, x=2)
    pooled = features[:, :, :, 1, 2].transpose(1, 2)[:, :, None].expand(B, T, N, C)
    centre = torch.tensor([2.5 / h, 1.5 / h]).expand(B, T, N, 2)
    torch.testing.assert_close(module(features, heat), module.proj(torch.cat([pooled, centre], -1)))


def test_joint_tokens_depend_on_where_the_joint_is():
    torch.manual_seed(0)
    module = JointMapTokens(0, D, (6, 6))  # heat maps alone (no RGB)
    here = render_joint_heatmaps(torch.tensor([[[[0.2, 0.3]]]]), 6, 6)  # [1, 1, 1, 6, 6]
    there = render_joint_heatmaps(torch.tensor([[[[0.7, 0.6]]]]), 6, 6)
    assert not torch.allclose(module(None, here), module(None, there))


def test_rendered_heat_maps_match_the_data_generator():
    rng = np.random.default_rng(0)
    joints = rng.uniform(0, 48, size=(3, 25, 2)).astype(np.float32)
    expected = joint_heatmaps(joints, 48, 12, sigma=1.3)
    got = render_joint_heatmaps(torch.from_numpy(joints / 48), 12, 12, sigma=1.3)
    np.testing.assert_allclose(got.numpy(), expected, atol=1e-6)


def test_mixed_conv_backbone_keeps_every_frame_and_halves_space_per_stage():
    backbone = MixedConvBackbone(widths=(4, 4, 8, 8, 8), blocks=(1, 1, 1, 1))
    out = backbone(torch.randn(1, 3, 5, 64, 64))
    sizes = {name: tuple(x.shape[2:]) for name, x in out.items()}
    assert sizes == {
        "stem": (5, 32, 32),
        "layer1": (5, 32, 32),
        "layer2": (5, 16, 16),
        "layer3": (5, 8, 8),
        "layer4": (5, 4, 4),
    }
    temporal = [
        m.kernel_size[0] for m in backbone.layers.modules() if isinstance(m, nn.Conv3d) and m.kernel_size != (1, 1, 1)
    ]
    assert temporal == [3, 3] + [1] * 6  # 3D kernels in layer1 only (MC3)


@pytest.mark.parametrize("size, image, classes", [("reduced", 48, 12), ("full", 112, 60)])
def test_presets_build_and_map_a_clip_to_class_logits(size, image, classes):
    torch.manual_seed(0)
    model = build_model("star_transformer", size).eval()
    T = model.num_frames  # reduced: 8 of a clip's 16 frames; full: 16
    rgb, skeleton = torch.rand(1, T, 3, image, image), torch.rand(1, T, 25, 2)
    with torch.no_grad():
        logits, embedding = model(rgb, skeleton, return_embedding=True)
    assert logits.shape == (1, classes) and torch.isfinite(logits).all()
    assert embedding.shape == (1, model.head.norm.normalized_shape[0])
    assert count_parameters(model) > (10_000_000 if size == "full" else 100_000)


def test_modality_ablations_read_only_their_inputs():
    torch.manual_seed(0)
    rgb, skeleton = torch.rand(2, 8, 3, 48, 48), torch.rand(2, 8, 25, 2)
    skeleton_only = build_model("star_transformer", "reduced", modalities=("skeleton",))
    assert skeleton_only.backbone is None and skeleton_only.input_names == ("skeleton2d",)
    assert skeleton_only(skeleton2d=skeleton).shape == (2, 12)
    rgb_only = build_model("star_transformer", "reduced", modalities=("rgb",))
    assert rgb_only.joint_tokens is None and rgb_only(rgb=rgb).shape == (2, 12)
    with pytest.raises(ValueError, match="'skeleton2d' is required"):
        build_model("star_transformer", "reduced")(rgb=rgb)
    with pytest.raises(ValueError, match="8 frames"):
        skeleton_only(skeleton2d=skeleton[:, :4])
    with pytest.raises(ValueError, match="3 colour channels"):  # not broadcast to three
        rgb_only(rgb=rgb[:, :, :1])


def test_attention_modules_are_named_by_kind_and_recorded():
    model = build_model(
        "star_transformer",
        "reduced",
        num_classes=3,
        num_joints=4,
        num_frames=4,
        modalities=("skeleton",),
        heatmap_size=6,
        dim=8,
        heads=2,
        encoder_layers=1,
        decoder_layers=1,
    )
    assert list(model.attention_modules()) == ["encoder.0.full", "encoder.0.ZAttn", "decoder.0.full", "decoder.0.BAttn"]
    model.record_attention(True)
    model.eval()
    model(skeleton2d=torch.rand(2, 4, 4, 2))
    for module in model.attention_modules().values():
        torch.testing.assert_close(module.frame_attention.sum(-1), torch.ones(2, 4))


def test_skeleton_only_joint_tokens_ignore_pixels_the_heat_map_leaves_empty():
    torch.manual_seed(0)
    module = JointMapTokens(0, 8, (6, 6), hidden=4)
    with torch.no_grad():
        empty = module(None, torch.zeros(1, 1, 1, 6, 6))  # no joint anywhere: no content
    torch.testing.assert_close(empty[0, 0, 0], module.proj.bias.detach())


@pytest.mark.parametrize("image", [32, 64])
def test_joint_maps_of_another_size_are_refused_not_resized(image):
    """48-pixel frames give the reduced preset's 12 x 12 joint stage; 32 (8 x 8) and 64
    (16 x 16) pixels must not be pooled up or down to 12 x 12 behind the caller's back."""
    torch.manual_seed(0)
    model = build_model("star_transformer", "reduced").eval()
    rgb, skeleton = torch.rand(1, 8, 3, image, image), torch.rand(1, 8, 25, 2)
    side = image // 4
    with pytest.raises(ValueError, match=rf"{side} x {side} features at joint_stage 'layer2'.*heatmap_size=12"):
        model(rgb, skeleton)
    # the same frames work once the model is built for that joint-stage size
    resized = build_model("star_transformer", "reduced", heatmap_size=side).eval()
    assert resized(rgb, skeleton).shape == (1, 12)


def test_joint_tokens_read_the_joint_stage_features_as_they_are():
    """The joint tokens of the whole model equal JointMapTokens applied to the backbone's
    joint-stage map itself and to heat maps drawn at that map's size."""
    torch.manual_seed(0)
    model = build_model("star_transformer", "reduced").eval()
    rgb, skeleton = torch.rand(2, 8, 3, 48, 48), torch.rand(2, 8, 25, 2)
    seen = {}
    hook = model.joint_tokens.register_forward_hook(lambda m, args, out: seen.update(args=args, out=out))
    with torch.no_grad():
        model.embed(rgb, skeleton)
        stages = model.backbone((rgb.transpose(1, 2) - model.rgb_mean) / model.rgb_std)
    hook.remove()
    features, heatmaps = seen["args"]
    torch.testing.assert_close(features, stages["layer2"], rtol=0, atol=0)
    torch.testing.assert_close(heatmaps, render_joint_heatmaps(skeleton, 12, 12, 1.0), rtol=0, atol=0)


@pytest.mark.parametrize("frames", [6, 7])
def test_uniform_baseline_of_each_attention_is_its_frame_geometry(frames):
    """With every score equal, the recorded frame attention is the paper's pattern alone:
    FAttn 1 / T on every frame, ZAttn even over the other parity, BAttn even over the
    other half (the first half holds the extra frame when T is odd)."""
    from actseg_lib.viz import uniform_attention

    half = (frames + 1) // 2
    first = torch.arange(frames) < half
    parity = torch.arange(frames) % 2
    patterns = {
        FAttn: torch.ones(frames, frames, dtype=torch.bool),
        ZAttn: parity[:, None] != parity[None, :],
        BAttn: first[:, None] != first[None, :],
    }
    for kind, allowed in patterns.items():
        module = uniform_attention(kind(D, HEADS))
        module.record = True
        module(grid(frames=frames))
        expected = allowed.float() / allowed.sum(-1, keepdim=True)
        torch.testing.assert_close(module.frame_attention, expected.expand(B, frames, frames))

"""STAR-Transformer against hand-written reference computations: the layer equations,
the head, the recorded frame attention, and where the joint tokens come from.

Each test was checked by breaking its property in the library (``tools/mutations.py``).
"""

import pytest
import torch
from reference_attention import attention_by_hand, layer_norm_by_hand, randomise_norms, weights_by_hand
from torch.nn import functional as F

from actseg_lib.models import build_model
from actseg_lib.models.star_transformer import (
    BAttn,
    FAttn,
    STARDecoderLayer,
    STAREncoderLayer,
    STARHead,
    STARLayer,
    ZAttn,
)
from actseg_lib.nn.joint_heatmaps import render_joint_heatmaps

B, T, S, D, HEADS = 2, 6, 3, 8, 2


def grid(seed=0, frames=T):
    return torch.randn(B, frames, S, D, generator=torch.Generator().manual_seed(seed))


def key_frames(kind: str, t: int, frames: int) -> list[int]:
    """The frames that frame t reads, by the paper's definitions (frames counted from 1 in
    the paper: odd = indices 0, 2, ...; the first half gets the extra frame)."""
    if kind == "full":
        return list(range(frames))
    if kind == "zigzag":
        return [s for s in range(frames) if s % 2 != t % 2]
    half = (frames + 1) // 2
    return list(range(half, frames)) if t < half else list(range(half))


def st_attention_by_hand(module, z, kind):
    """FAttn / ZAttn / BAttn by hand: each frame's S tokens read the tokens of its key frames."""
    frames = z.shape[1]
    return torch.stack(
        [
            attention_by_hand(module.attention, z[:, t], z[:, key_frames(kind, t, frames)].flatten(1, 2))
            for t in range(frames)
        ],
        dim=1,
    )


def mlp_by_hand(ffn, x):
    first, last = ffn.net[0], ffn.net[-1]
    return F.linear(F.gelu(F.linear(x, first.weight, first.bias)), last.weight, last.bias)


@pytest.mark.parametrize("cross", ["zigzag", "binary", "full"])
def test_layer_is_the_papers_three_post_norm_equations(cross):
    """Zbar = LN(FAttn(z) + z);  Zhat = LN(STA(Zbar) + Zbar), the decoupled halves back in
    frame order;  z = LN(MLP(Zhat) + Zhat), each step with its own LayerNorm."""
    torch.manual_seed(0)
    layer = STARLayer(D, HEADS, cross, mlp_ratio=2.0, dropout=0.1).eval()
    randomise_norms(layer)
    z = grid(frames=7)
    zbar = layer_norm_by_hand(layer.norm_full, st_attention_by_hand(layer.full, z, "full") + z)
    zhat = layer_norm_by_hand(layer.norm_cross, st_attention_by_hand(layer.cross, zbar, cross) + zbar)
    expected = layer_norm_by_hand(layer.norm_mlp, mlp_by_hand(layer.mlp, zhat) + zhat)
    torch.testing.assert_close(layer(z), expected)


def skeleton_star(layers: int):
    """A skeleton-only STAR of 4 joints, 4 frames and width 8, with ``layers`` encoder and
    decoder layers each."""
    return build_model(
        "star_transformer",
        "reduced",
        num_classes=3,
        num_joints=4,
        num_frames=4,
        modalities=("skeleton",),
        heatmap_size=6,
        dim=8,
        heads=2,
        encoder_layers=layers,
        decoder_layers=layers,
    ).eval()


def test_encoder_layers_zigzag_then_decoder_layers_binary_then_the_head():
    torch.manual_seed(0)
    assert isinstance(STAREncoderLayer(D, HEADS).cross, ZAttn)
    assert isinstance(STARDecoderLayer(D, HEADS).cross, BAttn)
    model = skeleton_star(layers=2)
    assert [type(layer.cross) for layer in model.encoder] == [ZAttn, ZAttn]
    assert [type(layer.cross) for layer in model.decoder] == [BAttn, BAttn]
    assert all(type(layer.full) is FAttn for layer in (*model.encoder, *model.decoder))
    skeleton = torch.rand(2, 4, 4, 2, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        z, positions = model.embed(skeleton2d=skeleton)
        for layer in (*model.encoder, *model.decoder):  # every encoder layer, then every decoder layer
            z = layer(z)
        torch.testing.assert_close(model(skeleton2d=skeleton), model.head(z, positions)[0])


def test_head_averages_every_class_token_of_every_frame_and_nothing_else():
    torch.manual_seed(0)
    K, positions = 5, [0, 2, 5]
    head = STARHead(D, K, dropout=0.1).eval()
    randomise_norms(head)
    z = torch.randn(B, 4, 7, D, generator=torch.Generator().manual_seed(1))  # S = 7 tokens a frame
    total = sum(z[:, t, p] for t in range(4) for p in positions)  # [B, D]
    embedding = total / (4 * len(positions))
    first, last = head.mlp[0], head.mlp[-1]
    logits = F.linear(
        F.gelu(F.linear(layer_norm_by_hand(head.norm, embedding), first.weight, first.bias)), last.weight, last.bias
    )
    got_logits, got_embedding = head(z, positions)
    torch.testing.assert_close(got_embedding, embedding)
    torch.testing.assert_close(got_logits, logits)
    others = z.clone()
    others[:, :, [1, 3, 4, 6]] = torch.randn(B, 4, 4, D)  # the tokens that are not class tokens
    torch.testing.assert_close(head(others, positions)[0], got_logits)


@pytest.mark.parametrize("kind", [FAttn, ZAttn, BAttn])
def test_recorded_frame_attention_is_the_mass_each_frame_puts_on_each_frame(kind):
    """``frame_attention[b, t, s]``: the softmax weight query frame t's tokens put on key
    frame s's tokens, summed over those, averaged over the query tokens and the heads."""
    torch.manual_seed(0)
    module = kind(D, HEADS)
    module.record = True
    frames = 7
    z = grid(frames=frames)
    module(z)
    name = {FAttn: "full", ZAttn: "zigzag", BAttn: "binary"}[kind]
    expected = torch.zeros(B, frames, frames)
    for t in range(frames):
        keys = key_frames(name, t, frames)
        weights = weights_by_hand(module.attention, z[:, t], z[:, keys].flatten(1, 2))  # [B, H, S, len*S]
        per_key = weights.unflatten(-1, (len(keys), S)).sum(-1).mean((1, 2))  # [B, len]
        expected[:, t, keys] = per_key
    torch.testing.assert_close(module.frame_attention, expected)


def test_joint_token_of_frame_t_and_joint_n_is_drawn_from_that_joint():
    torch.manual_seed(0)
    model = skeleton_star(layers=1)
    skeleton = torch.rand(1, 4, 4, 2, generator=torch.Generator().manual_seed(2)) * 0.8 + 0.1
    moved = skeleton.clone()
    moved[0, 2, 3] = torch.tensor([0.05, 0.9])  # joint 3 of frame 2 moves
    with torch.no_grad():
        (z, positions), (z_moved, _) = model.embed(skeleton2d=skeleton), model.embed(skeleton2d=moved)
    changed = (z_moved - z).abs().amax(-1)[0] > 1e-6  # [T, S]
    expected = torch.zeros_like(changed)
    expected[2, positions[0] + 1 + 3] = True  # after CLS_joint, the fourth joint token
    torch.testing.assert_close(changed, expected)
    # the token is the joint-map embedding of that joint's heat map, plus its position
    heat = render_joint_heatmaps(moved, 6, 6, model.heatmap_sigma)  # [1, T, J, 6, 6]
    with torch.no_grad():
        token = model.joint_tokens(None, heat)[0, 2, 3] + model.tokens.joint_pos[2, 3]
    torch.testing.assert_close(z_moved[0, 2, positions[0] + 1 + 3], token)


def test_heat_map_peaks_at_the_joint_on_a_non_square_map():
    coords = torch.tensor([[0.15, 0.9], [0.75, 0.3]])  # (x, y), each on a pixel centre
    maps = render_joint_heatmaps(coords, 5, 10, sigma=0.7)  # 5 rows, 10 columns
    peaks = [divmod(int(m.argmax()), 10) for m in maps]  # (row, column)
    assert peaks == [(4, 1), (1, 7)]  # row = y * 5 - 0.5, column = x * 10 - 0.5
    torch.testing.assert_close(maps.amax((-2, -1)), torch.ones(2))

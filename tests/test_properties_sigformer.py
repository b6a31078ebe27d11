"""SigFormer against hand-written reference computations: which tensor queries which in
the sparse guided fusion, the motion-spatial fusion and the two interaction stages, what
the heads and the inner branches read, and what the loss's inner terms average.

Each test was checked by breaking its property in the library (``tools/mutations.py``).
"""

import pytest
import torch
from reference_attention import attention_by_hand, layer_norm_by_hand, randomise_norms
from torch.nn import functional as F

from actseg_lib.models.sigformer import (
    IntermediateBottleneck,
    MotionSpatialFusion,
    MutualInteractiveBranches,
    SigFormerLoss,
    SigFormerOutput,
    SparseGuidedCrossModalModule,
    SparseGuidedFusion,
    boundary_targets,
    boundary_threshold_filter,
    event_attention_mask,
)

D, HEADS, DIM_HEAD = 8, 2, 4


def streams(B=1, N=12, seed=1, count=3):
    g = torch.Generator().manual_seed(seed)
    return [torch.randn(B, N, D, generator=g) for _ in range(count)]


def event_bits(N=12, at=(3, 8)):
    bits = torch.zeros(1, N, 1, dtype=torch.long)
    bits[0, list(at)] = 1
    return bits


def ffn_by_hand(block, x):
    """PostNormFeedForward: LN(x + W_2 GELU(W_1 x))."""
    first, last = block.ffn.net[0], block.ffn.net[-1]
    return layer_norm_by_hand(
        block.norm, x + F.linear(F.gelu(F.linear(x, first.weight, first.bias)), last.weight, last.bias)
    )


def test_sgf_the_guidance_queries_the_gated_stream_inside_the_event_mask():
    """s' = SiLU(s + g);  out = LN(s' + MaskedAttn(Q = g, K = V = s'; M))."""
    torch.manual_seed(0)
    sgf = SparseGuidedFusion(D, HEADS, DIM_HEAD).eval()
    randomise_norms(sgf)
    stream, guidance = streams(count=2)
    allowed = event_attention_mask(event_bits(), window=1)  # [1, 12, 12], seconds far from events read nothing
    assert not allowed.any(-1).all()
    gated = F.silu(stream + guidance)
    term = attention_by_hand(sgf.attn, guidance, gated, allowed)
    torch.testing.assert_close(sgf.guided(stream, guidance, allowed), term)
    torch.testing.assert_close(sgf(stream, guidance, allowed), layer_norm_by_hand(sgf.norm, gated + term))


def test_msaf_each_stream_queries_with_itself_and_reads_the_other_from_the_layer_inputs():
    """m' = LN(m + Attn(Q = m, K = V = s)),  s' = LN(s + Attn(Q = s, K = V = m)), both from
    the inputs m and s (not one after the other); padded seconds are never read."""
    torch.manual_seed(0)
    msaf = MotionSpatialFusion(D, HEADS, DIM_HEAD).eval()
    randomise_norms(msaf)
    motion, spatial = streams(count=2)
    mask = torch.ones(1, 12, dtype=torch.bool)
    mask[0, 10:] = False
    pairs = mask[:, :, None] & mask[:, None, :]
    m_expected = layer_norm_by_hand(
        msaf.motion_norm, motion + attention_by_hand(msaf.motion_reads_spatial, motion, spatial, pairs)
    )
    s_expected = layer_norm_by_hand(
        msaf.spatial_norm, spatial + attention_by_hand(msaf.spatial_reads_motion, spatial, motion, pairs)
    )
    m, s = msaf(motion, spatial, mask)
    torch.testing.assert_close(m, m_expected)
    torch.testing.assert_close(s, s_expected)


@pytest.mark.parametrize("guidance", ["masked", "unmasked", "none"])
def test_fusion_stacks_sgf_msaf_ffn_layers_and_outputs_ln_of_the_sum(guidance):
    """Per layer: SGF on each dense stream (masked: the event mask; unmasked: every real
    second; none: no SGF), MSAF, a post-norm FFN per stream; the output is LN(m + s)."""
    torch.manual_seed(0)
    fusion = SparseGuidedCrossModalModule(6, 5, D, 2, HEADS, DIM_HEAD, 16, guidance=guidance, window=1).eval()
    randomise_norms(fusion)
    g = torch.Generator().manual_seed(1)
    motion, spatial, guide = (
        torch.randn(1, 12, 6, generator=g),
        torch.randn(1, 12, 5, generator=g),
        torch.randn(1, 12, D, generator=g),
    )
    bits, mask = event_bits(), torch.ones(1, 12, dtype=torch.bool)
    mask[0, 11] = False
    allowed = {
        "masked": event_attention_mask(bits, 1, mask),
        "unmasked": mask[:, :, None] & mask[:, None, :],
    }.get(guidance)
    with torch.no_grad():
        m, s = fusion.motion_in(motion), fusion.spatial_in(spatial)
        for layer in range(2):
            if allowed is not None:
                m, s = fusion.sgf_motion[layer](m, guide, allowed), fusion.sgf_spatial[layer](s, guide, allowed)
            m, s = fusion.msaf[layer](m, s, mask)
            m, s = ffn_by_hand(fusion.ffn_motion[layer], m), ffn_by_hand(fusion.ffn_spatial[layer], s)
        expected = layer_norm_by_hand(fusion.norm, m + s) * mask[..., None]
        torch.testing.assert_close(fusion(motion, spatial, guide, bits, mask), expected)


def cross_block_by_hand(block, x, y, mask):
    """x <- FFN(LN(x + Attn(Q = x, K = V = y)))."""
    pairs = mask[:, :, None] & mask[:, None, :]
    return (
        ffn_by_hand(block.ffn, layer_norm_by_hand(block.norm, x + attention_by_hand(block.attn, x, y, pairs)))
        * mask[..., None]
    )


def test_interaction_stage_1_boundaries_read_classes_then_stage_2_classes_read_boundaries():
    """c = Class_1(x), b = Boundary_1(x); stage 1: b <- Boundary_2(Cross(Q = b, K = V = c));
    stage 2: c <- Class_2(Cross(Q = c, K = V = b)); class logits W_c LN(c), boundary logit
    w_b LN(b). (The official code's stage 1 queries with the class features instead.)"""
    torch.manual_seed(0)
    branches = MutualInteractiveBranches(D, 5, 1, HEADS, DIM_HEAD, 16, groups=2).eval()
    randomise_norms(branches)
    (x,) = streams(B=2, count=1)
    mask = torch.ones(2, 12, dtype=torch.bool)
    mask[1, 9:] = False
    with torch.no_grad():
        c, b = branches.class_1(x, mask), branches.boundary_1(x, mask)
        b = branches.boundary_2(cross_block_by_hand(branches.boundary_reads_class, b, c, mask), mask)
        c = branches.class_2(cross_block_by_hand(branches.class_reads_boundary, c, b, mask), mask)
        class_logits = F.linear(
            layer_norm_by_hand(branches.class_norm, c), branches.class_head.weight, branches.class_head.bias
        )
        boundary = F.linear(
            layer_norm_by_hand(branches.boundary_norm, b), branches.boundary_head.weight, branches.boundary_head.bias
        )
        got_class, got_boundary, got_features = branches(x, mask)
    torch.testing.assert_close(got_class, class_logits.transpose(1, 2))
    torch.testing.assert_close(got_boundary, boundary[..., 0])
    torch.testing.assert_close(got_features, c)


def test_boundary_filter_keeps_only_probabilities_above_the_threshold():
    probs = torch.tensor([[0.2, 0.85, 0.8501, 0.99]])
    assert boundary_threshold_filter(probs, 0.85).tolist() == [[False, False, True, True]]


def test_inner_branches_feed_the_class_prediction_back_and_average_every_boundary_stage():
    """h <- h + W softmax(z), z from the BiLSTM; b_0 = w^T h, b_s = TCN_s(sigmoid(b_{s-1}));
    the inner boundary logit is the mean of b_0..b_S."""
    torch.manual_seed(0)
    bottleneck = IntermediateBottleneck(D, 5, stages=2).eval()
    (h,) = streams(B=2, count=1)
    mask = torch.ones(2, 12, dtype=torch.bool)
    with torch.no_grad():
        out, _ = bottleneck.lstm(h)
        logits = bottleneck.class_head(out)  # [B, N, K]
        fed = h + bottleneck.class_embed(logits.softmax(-1))
        b0 = bottleneck.boundary_in(fed)[..., 0]
        b1 = bottleneck.boundary_stages[0](torch.sigmoid(b0), mask)
        b2 = bottleneck.boundary_stages[1](torch.sigmoid(b1), mask)
        got_h, got_logits, got_boundary = bottleneck(h, mask)
    torch.testing.assert_close(got_h, fed)
    torch.testing.assert_close(got_logits, logits.transpose(1, 2))
    torch.testing.assert_close(got_boundary, (b0 + b1 + b2) / 3)


def test_inner_loss_terms_read_the_mean_of_the_two_streams():
    torch.manual_seed(0)
    B, K, N, fps = 1, 4, 6, 2
    labels = torch.tensor([[0, 0, 1, 1, 1, 1, 2, 2, 2, 3, 3, 3]])
    mask = torch.ones(1, 12, dtype=torch.bool)
    inner = [torch.randn(B, K, N), torch.randn(B, K, N)]
    inner_boundary = [torch.randn(B, N), torch.randn(B, N)]
    out = SigFormerOutput(
        torch.randn(B, K, N),
        torch.randn(B, N),
        inner,
        inner_boundary,
        torch.ones(B, N, dtype=torch.bool),
        None,
        None,
        None,
    )
    model = type("Model", (), {"frames_per_token": fps})()
    _, parts = SigFormerLoss(class_weight=0.5, inner_class_weight=0.5, boundary_weight=0.2, inner_boundary_weight=0.2)(
        out, {"labels": labels, "mask": mask}, model
    )
    y = labels[:, 1::2]  # each second's last frame
    yb = boundary_targets(y, out.token_mask)
    assert parts["inner_ce"] == pytest.approx(float(F.cross_entropy((inner[0] + inner[1]) / 2, y)), rel=1e-5)
    expected_bce = F.binary_cross_entropy_with_logits((inner_boundary[0] + inner_boundary[1]) / 2, yb)
    assert parts["inner_bce"] == pytest.approx(float(expected_bce), rel=1e-5)

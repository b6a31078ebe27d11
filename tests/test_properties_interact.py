"""InterAct against hand-written reference computations: what each DSMI step reads, the
multi-scale graph convolution, the encoder's windows, the query and frame updates (which
tensor queries which), the stage loop of MFAI and the dot-product head.

Each test was checked by breaking its property in the library (``tools/mutations.py``).
"""

import math

import numpy as np
import pytest
import torch
from reference_attention import attention_by_hand, layer_norm_by_hand, randomise_norms

from actseg_lib.common.skeletons import NTU_EDGES, NUM_NTU_JOINTS
from actseg_lib.models.interact import (
    DSMI,
    FrameUpdateBlock,
    InterAct,
    ModalityInteraction,
    MultiScaleFeatureExtractor,
    MultiScaleGraphConv,
    QueryUpdateBlock,
    halve_mask,
    hop_distances,
    multiscale_adjacency,
)

V = NUM_NTU_JOINTS
D, HEADS = 8, 2


def rand(*shape, seed=1):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed))


# --- DSMI -------------------------------------------------------------------------------


def test_the_first_scale_is_one_hop_and_scale_k_is_exactly_k_hops():
    stacked = multiscale_adjacency(V, NTU_EDGES, 3)  # normalised A^(1), A^(2), A^(3)
    dist = hop_distances(V, NTU_EDGES)
    for k in range(3):
        np.testing.assert_array_equal(stacked[k].numpy() > 0, (dist == k + 1) | np.eye(V, dtype=bool))


def test_graph_convolution_gathers_every_scale_through_a_plus_b():
    """S = MLP(W [V (A^(1) + B^(1)) || ... || V (A^(K) + B^(K))]): joint v's k-th block is
    the sum over joints u of x_u (A^(k)[u, v] + B^(k)[u, v]); B learnt, not symmetric."""
    torch.manual_seed(0)
    K, C_in = 2, 3
    conv = MultiScaleGraphConv(C_in, D, multiscale_adjacency(V, NTU_EDGES, K))
    with torch.no_grad():
        conv.learned.copy_(rand(K, V, V) * 0.3)  # an asymmetric correction
    x = rand(2, 3, V, C_in, seed=2)  # [N, T, V, C_in]
    A = conv.adjacency + conv.learned
    gathered = torch.zeros(2, 3, V, K, C_in)
    for k in range(K):
        for v in range(V):
            gathered[:, :, v, k] = sum(x[:, :, u] * A[k, u, v] for u in range(V))
    expected = conv.mlp(conv.weight(gathered.flatten(3)))
    torch.testing.assert_close(conv(x), expected)


def test_modality_interaction_attends_within_a_frame_and_merges_each_joints_two_tokens():
    """Per frame, the V joint tokens of both modalities (with their embeddings) attend to
    each other; then joint v's two tokens (reference v, other v) are concatenated and
    merged by the MLP."""
    torch.manual_seed(0)
    J, C = 4, D
    interaction = ModalityInteraction(C, J, HEADS).eval()
    randomise_norms(interaction)
    reference, other = rand(2, 3, J, C), rand(2, 3, J, C, seed=2)  # [N, T, V, C]
    out = torch.zeros(2, 3, J, C)
    for t in range(3):
        tokens = torch.cat([reference[:, t], other[:, t]], 1) + interaction.embedding  # [N, 2V, C]
        tokens = tokens + attention_by_hand(interaction.attention, layer_norm_by_hand(interaction.norm, tokens))
        for v in range(J):
            out[:, t, v] = interaction.mlp(torch.cat([tokens[:, v], tokens[:, J + v]], -1))
    torch.testing.assert_close(interaction(reference, other), out)


def test_dsmi_fuses_absolute_with_relative_then_the_result_with_motion():
    torch.manual_seed(0)
    dsmi = DSMI(3 * V, 12, channels=8, num_scales=2, heads=2).eval()
    x = rand(2, 5, 3 * V)
    joints = x.reshape(2, 5, V, 3)
    seen = {}
    for name, conv in dsmi.graph_convs.items():
        conv.register_forward_hook(lambda m, args, out, name=name: seen.update({name: args[0]}))
    with torch.no_grad():
        S = dsmi.modality_features(x)
        expected = dsmi.project(
            dsmi.fuse_motion(dsmi.fuse_relative(S["absolute"], S["relative"]), S["motion"]).flatten(2)
        )
        torch.testing.assert_close(dsmi(x), expected)
    torch.testing.assert_close(seen["absolute"], joints)
    torch.testing.assert_close(seen["relative"], joints - joints[:, :, 1:2])  # NTU joint 1, the spine middle
    torch.testing.assert_close(seen["motion"][:, 1:], joints[:, 1:] - joints[:, :-1])


# --- MFAI: scales and windows -------------------------------------------------------------


def test_encoder_layer_u_windows_and_dilations_are_2_to_the_u_at_its_own_resolution():
    extractor = MultiScaleFeatureExtractor(5, 8, depth=6, dropout=0.0)
    blocks = [layer.block for layer in extractor.encoder]
    assert [b.attention.window for b in blocks] == [1, 2, 4, 8, 16, 32]
    assert [b.feed_forward.conv.dilation[0] for b in blocks] == [1, 2, 4, 8, 16, 32]


def test_halved_mask_marks_the_coarse_frames_centred_on_real_fine_frames():
    """A stride-2 convolution centres output t on input 2t: coarse t is real when fine 2t is."""
    mask = torch.tensor([[[1.0] * 5 + [0.0] * 4]])  # 9 frames, 5 real
    assert halve_mask(mask).tolist() == [[[1.0, 1.0, 1.0, 0.0, 0.0]]]
    conv = torch.nn.Conv1d(1, 1, 3, stride=2, padding=1, bias=False)
    with torch.no_grad():
        conv.weight.copy_(torch.tensor([[[0.0, 1.0, 0.0]]]))  # the centre tap alone
    ramp = torch.arange(9.0).reshape(1, 1, 9)
    assert conv(ramp).tolist() == [[[0.0, 2.0, 4.0, 6.0, 8.0]]]  # coarse t holds fine 2t


# --- MFAI: queries and frames -------------------------------------------------------------


def test_query_block_queries_self_attend_then_ask_the_real_frames_then_an_mlp():
    """Eq. 4: Q <- Q + SAttn(LN Q);  Q <- Q + CAttn(Q = LN Q, K = V = LN' X; real frames);
    Q <- Q + MLP(LN'' Q)."""
    torch.manual_seed(0)
    block = QueryUpdateBlock(D, HEADS, dropout=0.0).eval()
    randomise_norms(block)
    queries, frames = rand(2, 6, D), rand(2, 10, D, seed=2)
    mask = torch.ones(2, 10, dtype=torch.bool)
    mask[1, 7:] = False
    q = queries + attention_by_hand(block.self_attention, layer_norm_by_hand(block.self_norm, queries))
    allowed = mask[:, None, :].expand(2, 6, 10)
    q = q + attention_by_hand(
        block.cross_attention,
        layer_norm_by_hand(block.cross_norm, q),
        layer_norm_by_hand(block.frame_norm, frames),
        allowed,
    )
    q = q + block.mlp(layer_norm_by_hand(block.mlp_norm, q))
    torch.testing.assert_close(block(queries, frames, mask), q)


def test_frame_block_action_and_boundary_features_each_ask_all_queries():
    """Eq. 5: F_a <- F_a + CAttn(Q = LN F_a, K = V = LN Q), F_b likewise with its own
    attention and norm; every one of the A + 1 queries is read."""
    torch.manual_seed(0)
    block = FrameUpdateBlock(D, HEADS, dropout=0.0).eval()
    randomise_norms(block)
    action, boundary, queries = rand(2, 10, D), rand(2, 10, D, seed=2), rand(2, 6, D, seed=3)
    q = layer_norm_by_hand(block.query_norm, queries)
    expected_action = action + attention_by_hand(
        block.action_attention, layer_norm_by_hand(block.action_norm, action), q
    )
    expected_boundary = boundary + attention_by_hand(
        block.boundary_attention, layer_norm_by_hand(block.boundary_norm, boundary), q
    )
    got_action, got_boundary = block(action, boundary, queries)
    torch.testing.assert_close(got_action, expected_action)
    torch.testing.assert_close(got_boundary, expected_boundary)


@pytest.mark.parametrize("interaction", ["multiscale", "fixed"])
def test_stage_loop_and_dot_product_head(interaction):
    """Q^0 = [A action queries, 1 boundary query], F^0 from X_H; stage r: Q^r = QBlock(Q^{r-1},
    X_{r-1}) (fixed: X_H), F^r = FBlock(F^{r-1}, Q^r); logits per stage: action queries
    . F_a / sqrt(D) [A, T], boundary query . F_b / sqrt(D) [T]."""
    torch.manual_seed(0)
    A, H, T = 5, 3, 37
    model = InterAct(
        in_channels=3 * V,
        num_classes=A,
        spatial="dsmi",
        spatial_channels=8,
        num_scales=2,
        graph="ntu",
        dim=D,
        depth=4,
        num_stages=H,
        interaction=interaction,
        heads=HEADS,
        block_layers=2,
        dropout=0.0,
        boundary_threshold=0.5,
        peak_distance=2,
    ).eval()
    x = rand(1, T, 3 * V)
    m = torch.ones(1, 1, T)
    with torch.no_grad():
        out = model(x)
        scales = model.extractor(model.spatial(x).transpose(1, 2), m)[-(H + 1) :]  # X_0..X_H
        assert [s.shape[-1] for s, _ in scales] == [5, 10, 19, 37]
        finest = scales[-1][0]
        action = model.action_block(finest, m).transpose(1, 2)
        boundary = model.boundary_block(finest, m).transpose(1, 2)
        queries = model.queries[None]
        assert queries.shape == (1, A + 1, D)
        for r in range(H + 1):
            if r > 0:
                read = scales[r - 1][0] if interaction == "multiscale" else finest
                queries = model.query_blocks[r - 1](
                    queries, read.transpose(1, 2), torch.ones(1, read.shape[-1], dtype=torch.bool)
                )
                action, boundary = model.frame_blocks[r - 1](action, boundary, queries)
            action_logits = torch.stack([action[0] @ queries[0, a] for a in range(A)]) / math.sqrt(D)  # [A, T]
            boundary_logits = boundary[0] @ queries[0, A] / math.sqrt(D)  # [T]
            torch.testing.assert_close(out.action_logits[r, 0], action_logits)
            torch.testing.assert_close(out.boundary_logits[r, 0], boundary_logits)

"""InterAct: each named part has the property that defines it."""

from __future__ import annotations

import math
from collections import deque
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from scipy.sparse.csgraph import shortest_path
from torch.nn import functional as F

from actseg_lib.common import IGNORE_INDEX
from actseg_lib.common.skeletons import BODY25_EDGES, NTU_EDGES, NUM_NTU_JOINTS, skeleton_graph
from actseg_lib.engine.tasks import SegmentationTask
from actseg_lib.models import build_model, count_parameters, model_entry
from actseg_lib.models.interact import (
    DSMI,
    InterAct,
    InterActLoss,
    InterActOutput,
    InterActRefinement,
    MultiScaleFeatureExtractor,
    MultiScaleGraphConv,
    dice_loss_present,
    focal_loss,
    gaussian_boundary_targets,
    hop_distances,
    k_adjacency,
    multiscale_adjacency,
    normalize_adjacency,
    skeleton_modalities,
    upsample_linear,
)
from actseg_lib.postprocess import asrf_smoothing, boundary_peaks

V = NUM_NTU_JOINTS


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def tiny(seed=0, **kwargs) -> InterAct:
    torch.manual_seed(seed)
    config = dict(
        in_channels=3 * V,
        num_classes=5,
        spatial="dsmi",
        spatial_channels=8,
        num_scales=4,
        graph="ntu",
        dim=8,
        depth=4,
        num_stages=3,
        interaction="multiscale",
        heads=2,
        block_layers=2,
        dropout=0.0,
        boundary_threshold=0.5,
        peak_distance=2,
    )
    config.update(kwargs)
    return InterAct(**config).eval()


# --- DSMI -------------------------------------------------------------------------------


def _bfs_distances(num_joints, edges) -> np.ndarray:
    neighbours = {j: set() for j in range(num_joints)}
    for a, b in edges:
        neighbours[a].add(b)
        neighbours[b].add(a)
    dist = np.full((num_joints, num_joints), np.inf)
    for source in range(num_joints):
        dist[source, source] = 0
        queue = deque([source])
        while queue:
            u = queue.popleft()
            for w in neighbours[u]:
                if dist[source, w] == np.inf:
                    dist[source, w] = dist[source, u] + 1
                    queue.append(w)
    return dist


def test_k_adjacency_matches_shortest_path_distances_on_the_ntu_graph():
    bones = np.zeros((V, V))
    for a, b in NTU_EDGES:
        bones[a, b] = bones[b, a] = 1
    scipy_dist = shortest_path(bones, directed=False, unweighted=True)
    np.testing.assert_array_equal(hop_distances(V, NTU_EDGES), scipy_dist)
    np.testing.assert_array_equal(scipy_dist, _bfs_distances(V, NTU_EDGES))
    diameter = int(scipy_dist.max())
    for k in range(1, 14):
        A = k_adjacency(scipy_dist, k)
        for i in range(V):
            for j in range(V):
                assert A[i, j] == float(i == j or scipy_dist[i, j] == k), (k, i, j)
        if k > diameter:
            np.testing.assert_array_equal(A, np.eye(V))  # beyond the diameter only the self loops remain
    # the one-hop matrix holds exactly the bones
    assert {tuple(sorted(e)) for e in zip(*np.nonzero(k_adjacency(scipy_dist, 1) - np.eye(V)))} == {
        tuple(sorted(e)) for e in NTU_EDGES
    }


def test_adjacency_is_symmetrically_normalised():
    A = k_adjacency(hop_distances(V, NTU_EDGES), 2)
    degree = A.sum(1)
    np.testing.assert_allclose(normalize_adjacency(A), A / np.sqrt(np.outer(degree, degree)), rtol=1e-6)
    stacked = multiscale_adjacency(V, NTU_EDGES, 13)
    assert stacked.shape == (13, V, V)
    torch.testing.assert_close(stacked, stacked.transpose(1, 2))


def test_graph_convolution_reaches_exactly_k_hops_while_b_is_zero():
    torch.manual_seed(0)
    K = 2
    conv = MultiScaleGraphConv(3, 8, multiscale_adjacency(V, NTU_EDGES, K))
    v = torch.randn(1, 1, V, 3)
    joint = 3  # the head: its 2-hop neighbourhood is small
    bumped = v.clone()
    bumped[..., joint, :] += 1.0
    changed = (conv(bumped) - conv(v)).abs().amax(-1)[0, 0] > 1e-6  # [V]
    dist = hop_distances(V, NTU_EDGES)[joint]
    np.testing.assert_array_equal(changed.numpy(), dist <= K)
    with torch.no_grad():
        conv.learned[0, joint, 20] = 0.5  # B^(1) learns an edge the skeleton lacks
    assert (conv(bumped) - conv(v)).abs().amax(-1)[0, 0, 20] > 1e-6


def test_modalities_absolute_relative_motion():
    joints = torch.randn(2, 5, V, 3)
    absolute, relative, motion = skeleton_modalities(joints, centre=1)
    torch.testing.assert_close(absolute, joints)
    assert relative[:, :, 1].abs().max() == 0
    torch.testing.assert_close(relative[:, :, 4], joints[:, :, 4] - joints[:, :, 1])
    assert motion[:, 0].abs().max() == 0
    torch.testing.assert_close(motion[:, 3], joints[:, 3] - joints[:, 2])


def test_dsmi_decouples_the_modalities_and_fuses_in_two_steps():
    torch.manual_seed(0)
    dsmi = DSMI(3 * V, 12, channels=8, num_scales=3, heads=2).eval()
    assert set(dsmi.graph_convs) == {"absolute", "relative", "motion"}
    ids = {id(p) for conv in dsmi.graph_convs.values() for p in conv.parameters()}
    assert len(ids) == 3 * len(list(dsmi.graph_convs["absolute"].parameters()))  # no weights shared
    x = torch.randn(2, 7, 3 * V)
    assert dsmi(x).shape == (2, 7, 12)
    seen = []
    dsmi.fuse_relative.register_forward_hook(lambda m, args, out: seen.append(("relative", args)))
    dsmi.fuse_motion.register_forward_hook(lambda m, args, out: seen.append(("motion", args)))
    dsmi(x)
    S = dsmi.modality_features(x)
    assert [name for name, _ in seen] == ["relative", "motion"]
    torch.testing.assert_close(seen[0][1][0], S["absolute"])
    torch.testing.assert_close(seen[0][1][1], S["relative"])
    torch.testing.assert_close(seen[1][1][1], S["motion"])


def test_two_bodies_are_read_as_channels_of_each_joint():
    model = tiny(in_channels=2 * V * 3)
    assert model(torch.randn(1, 20, 2 * V * 3)).action_logits.shape == (4, 1, 5, 20)
    with pytest.raises(ValueError, match="joints"):
        tiny(in_channels=76)
    with pytest.raises(ValueError, match="joints"):
        DSMI(76, 8)
    tiny(in_channels=76, spatial="none")  # frame features of any width


# --- MFAI -------------------------------------------------------------------------------


@pytest.mark.parametrize("T", [101, 64, 37])
def test_each_encoder_layer_halves_t_and_the_decoder_restores_it(T):
    extractor = MultiScaleFeatureExtractor(5, 8, depth=6, dropout=0.0).eval()
    lengths = [T]
    for _ in range(6):
        lengths.append(math.ceil(lengths[-1] / 2))
    seen = []
    for layer in extractor.encoder:
        layer.register_forward_hook(lambda m, args, out: seen.append(out[0].shape[-1]))
    outputs = extractor(torch.randn(1, 5, T), torch.ones(1, 1, T))
    assert seen == lengths[1:]
    assert [h.shape[-1] for h, _ in outputs] == lengths[::-1]  # bottleneck, then every decoder layer
    assert [m.shape[-1] for _, m in outputs] == lengths[::-1]


def test_upsampling_undoes_the_downsampling_placement_and_is_clamped_per_sequence():
    # a ramp sampled where the stride-2 convolution centres its outputs (fine frames 0, 2, 4, ...)
    T = 17
    ramp = torch.arange(T, dtype=torch.float32)
    coarse = ramp[::2].reshape(1, 1, -1)  # coarse j = fine frame 2j
    up = upsample_linear(coarse, torch.ones(1, 1, coarse.shape[-1]), T)[0, 0]
    torch.testing.assert_close(up, ramp)  # back in place: no half-frame shift
    # a centre-tap stride-2 convolution followed by the up-sampling returns a ramp unshifted
    conv = torch.nn.Conv1d(1, 1, 3, stride=2, padding=1, bias=False)
    with torch.no_grad():
        conv.weight.copy_(torch.tensor([[[0.0, 1.0, 0.0]]]))
        torch.testing.assert_close(upsample_linear(conv(ramp.reshape(1, 1, -1)), torch.ones(1, 1, 9), T)[0, 0], ramp)
    h = torch.randn(2, 3, 9)
    short = torch.ones(2, 1, 9)
    short[1, :, 5:] = 0  # 5 real frames: it must up-sample as if alone
    alone = upsample_linear(h[1:, :, :5], short[1:, :, :5], 9)
    torch.testing.assert_close(upsample_linear(h, short, 17)[1:, :, :9], alone)


@pytest.mark.parametrize("interaction", ["multiscale", "fixed"])
def test_stage_r_cross_attention_reads_the_decoder_output_at_its_resolution(interaction):
    T, H = 50, 3
    model = tiny(num_stages=H, interaction=interaction)
    model.record_attention()
    out = model(torch.randn(1, T, 3 * V))
    for r in range(1, H + 1):
        expected = math.ceil(T / 2 ** (H - r + 1)) if interaction == "multiscale" else T  # X_{r-1}, or X_H
        weights = model.query_blocks[r - 1].cross_attention.weights  # [B, heads, A+1, T_r]
        assert weights.shape == (1, 2, 6, expected)
        assert out.query_resolutions[r - 1] == expected
    frame_weights = model.frame_blocks[0].action_attention.weights
    assert frame_weights.shape == (1, 2, T, 6)  # every frame reads the A + 1 queries


def test_stage_r_reads_x_r_minus_1_not_another_scale():
    T, H = 40, 2
    model = tiny(num_stages=H)
    x = torch.randn(1, T, 3 * V)
    scales = model.extractor(model.spatial(x).transpose(1, 2), torch.ones(1, 1, T))[-(H + 1) :]
    first, _ = scales[0]
    read = []
    model.query_blocks[0].cross_attention.register_forward_hook(lambda m, args, out: read.append(args[1]))
    model(x)
    torch.testing.assert_close(read[0], model.query_blocks[0].frame_norm(first.transpose(1, 2)))


def test_padding_does_not_change_a_sequence():
    model = tiny()
    x = torch.randn(2, 45, 3 * V)
    mask = torch.ones(2, 45, dtype=torch.bool)
    mask[1, 31:] = False
    batched = model(x, mask)
    alone = model(x[1:, :31])
    torch.testing.assert_close(batched.action_logits[:, 1, :, :31], alone.action_logits[:, 0], atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(batched.boundary_logits[:, 1, :31], alone.boundary_logits[:, 0], atol=1e-5, rtol=1e-4)


def test_predictions_are_dot_products_of_queries_and_frame_features():
    model = tiny(num_stages=2)
    model.record_attention()
    out = model(torch.randn(1, 30, 3 * V))
    for r in range(3):
        Q, Fa = out.queries[r], out.action_features[r]
        torch.testing.assert_close(out.action_logits[r], Q[:, :-1] @ Fa.transpose(1, 2) / math.sqrt(8))


def test_stage_counts_and_the_spatial_options():
    x = torch.randn(1, 24, 3 * V)
    for H in (0, 1, 3):
        out = tiny(num_stages=H)(x)
        assert out.action_logits.shape == (H + 1, 1, 5, 24) and out.boundary_logits.shape == (H + 1, 1, 24)
    assert tiny(spatial="concat")(x).spatial.shape == (1, 24, 8)
    assert tiny(spatial="none")(x).spatial is None
    with pytest.raises(ValueError, match="num_stages"):
        tiny(num_stages=5)  # deeper than the decoder


# --- losses -----------------------------------------------------------------------------


def test_focal_loss_is_cross_entropy_at_gamma_zero_and_down_weights_easy_frames():
    logits = torch.randn(2, 4, 9)
    labels = torch.randint(0, 4, (2, 9))
    labels[0, :2] = IGNORE_INDEX
    ce = F.cross_entropy(logits, labels, ignore_index=IGNORE_INDEX)
    torch.testing.assert_close(focal_loss(logits, labels, gamma=0.0), ce)
    assert focal_loss(logits, labels, gamma=2.0) < ce


def test_dice_is_computed_over_the_classes_present_only():
    torch.manual_seed(0)
    logits = torch.randn(1, 6, 12)
    labels = torch.tensor([[1] * 5 + [4] * 7])
    P = logits.softmax(1)[0]

    def dice(rows):
        M = torch.stack([(labels[0] == c).float() for c in rows])
        p = P[rows]
        return (1 - (2 * (M * p).sum(1) + 1) / (M.sum(1) + p.sum(1) + 1)).mean()

    torch.testing.assert_close(dice_loss_present(logits, labels), dice([1, 4]))
    assert not torch.isclose(dice_loss_present(logits, labels), dice(list(range(6))))
    # the present set is per video: a second video with other classes gets its own
    labels2 = torch.cat([labels, torch.tensor([[0] * 12])])
    both = dice_loss_present(torch.cat([logits, logits]), labels2)
    P0 = logits.softmax(1)[0, 0]
    second = 1 - (2 * P0.sum() + 1) / (12 + P0.sum() + 1)
    torch.testing.assert_close(both, (dice([1, 4]) + second) / 2)


def test_gaussian_boundary_targets():
    labels = torch.tensor([[0] * 10 + [1] * 10, [2] * 8 + [3] * 4 + [IGNORE_INDEX] * 8])
    mask = torch.ones(2, 20, dtype=torch.bool)
    mask[1, 12:] = False
    g = gaussian_boundary_targets(labels, mask, sigma=2.0)
    assert g[0, 10] == 1 and g[1, 8] == 1
    torch.testing.assert_close(g[0, 12], torch.tensor(math.exp(-4 / 8)))
    assert g[0, 0] < 1e-4 and g[1, 12:].abs().max() == 0  # no boundary where padding starts
    np.testing.assert_array_equal(gaussian_boundary_targets(labels, mask, 0)[0].nonzero()[:, 0].numpy(), [10])


def test_loss_sums_focal_dice_and_boundary_over_the_trained_stages():
    torch.manual_seed(0)
    S, B, A, T = 4, 2, 5, 16
    out = InterActOutput(torch.randn(S, B, A, T), torch.randn(S, B, T), torch.ones(B, T, dtype=torch.bool))
    labels = torch.randint(0, A, (B, T))
    criterion = InterActLoss(
        focal_weight=1.0, dice_weight=0.5, boundary_weight=2.0, focal_gamma=2.0, boundary_sigma=1.0
    )
    loss, parts = criterion(out, {"labels": labels, "mask": out.mask})
    target = gaussian_boundary_targets(labels, out.mask, 1.0)
    expected = sum(
        focal_loss(out.action_logits[r], labels)
        + 0.5 * dice_loss_present(out.action_logits[r], labels)
        + 2.0 * F.binary_cross_entropy_with_logits(out.boundary_logits[r], target)
        for r in (1, 2, 3)
    )
    torch.testing.assert_close(loss, expected)
    # H = 0: the one stage there is is trained
    single = InterActOutput(out.action_logits[:1], out.boundary_logits[:1], out.mask)
    assert criterion(single, {"labels": labels, "mask": out.mask})[0] > 0


# --- inference: ASRF smoothing ------------------------------------------------------------


def test_smoothing_keeps_one_label_between_consecutive_kept_boundaries():
    rng = np.random.default_rng(0)
    for _ in range(20):
        T = 200
        labels = rng.integers(0, 6, T)
        prob = rng.random(T) * 0.6
        prob[rng.choice(T, 6, replace=False)] = 0.9
        out = asrf_smoothing(labels, prob, threshold=0.5, min_distance=3)
        cuts = np.union1d([0, T], boundary_peaks(prob, 0.5, 3))
        for start, end in zip(cuts[:-1], cuts[1:]):
            stretch = out[start:end]
            assert len(set(stretch)) == 1
            assert stretch[0] == np.bincount(labels[start:end]).argmax()  # the majority of its predictions


def test_boundary_peaks_respect_threshold_distance_and_edges():
    prob = np.array([0.9, 0.1, 0.2, 0.7, 0.65, 0.1, 0.4, 0.1, 0.8])
    np.testing.assert_array_equal(boundary_peaks(prob, 0.5), [0, 3, 8])
    np.testing.assert_array_equal(boundary_peaks(prob, 0.75), [0, 8])
    np.testing.assert_array_equal(boundary_peaks(np.array([0.1, 0.9, 0.1, 0.95, 0.1]), 0.5, 3), [3])
    with pytest.raises(ValueError, match="same length"):
        asrf_smoothing(np.zeros(4, int), np.zeros(5))


def test_task_smooths_and_reports_raw_scores():
    entry = model_entry("interact")
    assert entry.task == "segmentation" and isinstance(entry.decoder, InterActRefinement)
    task = SegmentationTask(
        criterion=entry.loss(**entry.config("reduced")["loss"]),
        decoder=entry.decoder,
        background=(0,),
        metrics=entry.metrics,
    )
    model = tiny(num_stages=1)
    batch = {
        "x": torch.randn(2, 30, 3 * V),
        "mask": torch.ones(2, 30, dtype=torch.bool),
        "labels": torch.randint(0, 5, (2, 30)),
        "lengths": torch.tensor([30, 22]),
    }
    batch["mask"][1, 22:] = False
    loss, parts = task.loss(model, batch)
    assert loss.requires_grad and set(parts) == {"focal", "dice", "boundary"}
    items = task.predict(model, batch)
    assert [len(item["smoothed"]) for item in items] == [30, 22]
    scores = task.metrics(items)
    assert {"acc", "edit", "f1@50", "score", "acc raw", "edit raw"} <= set(scores)
    main = ["acc", "edit", "f1@10", "f1@25", "f1@50", "score"]
    assert set(scores) == set(main) | {f"{key} raw" for key in main}  # no macro F1 for InterAct
    with torch.no_grad():
        out = model(batch["x"], batch["mask"])
    raw = out.action_logits[-1].argmax(1)
    boundary = torch.sigmoid(out.boundary_logits[-1])
    for b, (item, n) in enumerate(zip(items, (30, 22))):
        np.testing.assert_array_equal(item["raw"], raw[b, :n].numpy())
        expected = asrf_smoothing(
            raw[b, :n].numpy(), boundary[b, :n].numpy(), model.boundary_threshold, model.peak_distance
        )
        np.testing.assert_array_equal(item["smoothed"], expected)


def test_refinement_reports_smoothed_predictions_and_the_raw_ones_apart():
    """One flickering frame inside an action, a boundary peak where the next starts: the
    reported predictions are ASRF-smoothed (no flicker), the raw ones scored as ``raw``."""
    raw = [0] * 8 + [1] + [0] + [2] * 10
    action = F.one_hot(torch.tensor(raw), 3).T.float()[None, None] * 5  # [S=1, B=1, A=3, T=20]
    boundary = torch.full((1, 1, 20), -5.0)
    boundary[0, 0, 10] = 5.0
    out = InterActOutput(action, boundary, torch.ones(1, 20, dtype=torch.bool))
    model = SimpleNamespace(boundary_threshold=0.5, peak_distance=2)
    truth = torch.tensor([[0] * 10 + [2] * 10])
    refinement = InterActRefinement()
    items = refinement.items(model, out, {"labels": truth, "lengths": torch.tensor([20])})
    preds = refinement.predictions(items)
    assert preds[""][0].tolist() == truth[0].tolist() and preds["raw"][0].tolist() == raw
    scores = SegmentationTask(decoder=refinement).metrics(items)
    assert scores["acc"] == 100.0 and scores["acc raw"] == 95.0


def test_presets_build_and_count():
    for size in ("reduced", "full"):
        model = build_model("interact", size)
        assert model.num_stages == 3 and model.spatial.graph_convs["absolute"].adjacency.shape[0] == 13
        assert count_parameters(model) > 0


def test_body25_graph_is_a_tree_over_its_25_joints():
    dist = hop_distances(25, BODY25_EDGES)
    assert np.isfinite(dist).all() and len(BODY25_EDGES) == 24  # connected, no cycles
    assert skeleton_graph("body25") == (25, BODY25_EDGES, 8)  # the mid hip is the centre
    with pytest.raises(ValueError, match="graph: expected one of"):
        skeleton_graph("coco")
    model = tiny(in_channels=50, graph="body25")  # MCFS: 2D pixel coordinates
    assert model(torch.randn(1, 12, 50)).action_logits.shape == (4, 1, 5, 12)

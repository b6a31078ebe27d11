"""SigFormer: the properties that define its parts. Masked guidance reads nothing outside
the event regions; barrier pooling never crosses a kept boundary and runs along time;
boundary targets stay inside each sequence; the loss ignores Null."""

import itertools
import math
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from actseg_lib.common import IGNORE_INDEX
from actseg_lib.engine.tasks import SegmentationTask
from actseg_lib.models import build_model, count_parameters, model_config, model_entry
from actseg_lib.models.sigformer import (
    EventTokenizer,
    MutualInteractiveBranches,
    SecondTokenizer,
    SigFormer,
    SigFormerLoss,
    SigFormerOutput,
    SigFormerRefinement,
    SparseGuidedCrossModalModule,
    SparseGuidedFusion,
    boundary_targets,
    event_attention_mask,
    local_barrier_pooling,
    official_overrides,
    second_labels,
    token_mask,
)
from actseg_lib.nn.attention import masked_attention

LAYOUT = [["imu_acc", 12], ["skeleton2d", 8], ["events", 2]]
FPS = 6  # six frames a second keeps the tests small


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def settings(**kwargs) -> dict:
    """A tiny SigFormer's hyperparameters, with ``kwargs`` laid over them."""
    config = dict(
        imu_dim=16,
        keypoint_dim=16,
        event_dim=4,
        dim=16,
        depth=1,
        fusion_depth=2,
        branch_depth=1,
        heads=2,
        dim_head=8,
        ffn_dim=32,
        dropout=0.0,
        groups=2,
        guidance="masked",
        window=1,
        interactive=True,
        boundary_threshold=0.85,
        barrier_kernel=9,
        barrier_alpha=0.1,
    )
    config.update(kwargs)
    return config


def tiny(seed=0, **kwargs):
    torch.manual_seed(seed)
    return SigFormer(input_layout=LAYOUT, num_classes=5, fps=FPS, **settings(**kwargs)).eval()


def frames(B=2, seconds=10, events_at=((0, 2), (0, 3)), seed=0):
    """[B, T, 22] frames with events (scanner) at (row, second) pairs."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(B, seconds * FPS, 22, generator=g)
    x[..., 20:] = 0.0
    for b, s in events_at:
        x[b, s * FPS + 1, 20] = 1.0
    return x


# --- masked attention ---------------------------------------------------------------------


def test_masked_positions_get_exactly_zero_weight_and_sdpa_agrees():
    torch.manual_seed(0)
    q, k, v = torch.randn(2, 3, 6, 4), torch.randn(2, 3, 7, 4), torch.randn(2, 3, 7, 4)
    allowed = torch.rand(2, 6, 7) > 0.5
    allowed[0, 2] = False  # a query with nothing to read
    out, weights = masked_attention(q, k, v, allowed, return_weights=True)
    assert torch.all(weights[~allowed[:, None].expand_as(weights)] == 0)
    reads = allowed.any(-1)[:, None].expand(2, 3, 6)  # [B, H, N]
    row_sums = weights.sum(-1)[reads]
    torch.testing.assert_close(row_sums, torch.ones_like(row_sums))
    assert torch.all(out[0, :, 2] == 0) and torch.isfinite(out).all()
    torch.testing.assert_close(masked_attention(q, k, v, allowed), out)  # the SDPA path


def test_event_mask_is_shared_event_windows():
    bits = torch.zeros(1, 12, 2, dtype=torch.long)
    bits[0, 3, 0] = 1
    bits[0, 9, 1] = 1
    allowed = event_attention_mask(bits, window=1)[0]
    events = [3, 9]
    for i, j in itertools.product(range(12), repeat=2):
        expected = any(abs(i - e) <= 1 and abs(j - e) <= 1 for e in events)
        assert bool(allowed[i, j]) == expected, (i, j)
    mask = torch.ones(1, 12, dtype=torch.bool)
    mask[0, 10:] = False
    assert not event_attention_mask(bits, 1, mask)[0, 9, 10]  # padding is never read


def test_guided_output_ignores_features_outside_the_event_regions():
    torch.manual_seed(0)
    sgf = SparseGuidedFusion(dim=8, heads=2, dim_head=4).eval()
    bits = torch.zeros(1, 15, 1, dtype=torch.long)
    bits[0, 4] = 1
    allowed = event_attention_mask(bits, window=2)
    active = allowed.any(-1)[0]  # seconds 2..6
    assert active.tolist() == [2 <= t <= 6 for t in range(15)]
    stream, guidance = torch.randn(1, 15, 8), torch.randn(1, 15, 8)
    perturbed = stream.clone()
    perturbed[0, ~active] += 10 * torch.randn(int((~active).sum()), 8)
    before, after = sgf.guided(stream, guidance, allowed), sgf.guided(perturbed, guidance, allowed)
    torch.testing.assert_close(before, after)
    assert torch.all(after[0, ~active] == 0)  # seconds far from events are not guided
    # the official (unmasked) guidance does read them: the test above can fail
    everything = torch.ones(1, 15, 15, dtype=torch.bool)
    assert not torch.allclose(sgf.guided(stream, guidance, everything), sgf.guided(perturbed, guidance, everything))


def test_fusion_layers_are_stacked_and_guidance_modes_differ():
    torch.manual_seed(0)
    args = (8, 8, 8, 2, 2, 4, 16)
    m, s, g = torch.randn(1, 10, 8), torch.randn(1, 10, 8), torch.randn(1, 10, 8)
    bits = torch.zeros(1, 10, 1, dtype=torch.long)
    bits[0, 5] = 1
    mask = torch.ones(1, 10, dtype=torch.bool)
    outputs = {}
    for mode in ("masked", "unmasked", "none"):
        torch.manual_seed(1)
        fusion = SparseGuidedCrossModalModule(*args, guidance=mode, window=1).eval()
        outputs[mode] = fusion(m, s, g, bits, mask)
        # the first layer reaches the output: each layer reads the previous one's output
        with torch.no_grad():
            fusion.ffn_motion[0].ffn.net[-1].bias.add_(torch.randn(8))
        assert not torch.allclose(fusion(m, s, g, bits, mask), outputs[mode])
    assert not torch.allclose(outputs["masked"], outputs["unmasked"])
    with pytest.raises(ValueError, match="guidance"):
        SparseGuidedCrossModalModule(*args, guidance="sometimes")


# --- tokens -------------------------------------------------------------------------------


def test_second_tokens_keypoint_step_and_event_bits():
    tok = SecondTokenizer(channels=3, frames_per_token=4, dim=5, step=2)
    x = torch.randn(1, 10, 3)  # 2.5 seconds -> 3 tokens
    y = x.clone()
    y[:, 1::2] += 5  # odd frames are not read at step 2
    assert tok(x).shape == (1, 3, 5)
    torch.testing.assert_close(tok(x), tok(y))
    events = torch.zeros(1, 10, 2)
    events[0, 5, 1] = 1.0
    assert EventTokenizer(2, 4, 3, 6).bits(events)[0].tolist() == [[0, 0], [0, 1], [0, 0]]
    mask = torch.tensor([[True] * 9 + [False]])
    assert token_mask(mask, 4).tolist() == [[True, True, True]]
    assert token_mask(torch.tensor([[True] * 8 + [False] * 2]), 4).tolist() == [[True, True, False]]


# --- refinement ---------------------------------------------------------------------------


def brute_barrier_pooling(probs, boundary, threshold, kernel, alpha):
    """The definition, one second and one neighbour at a time."""
    K, N = probs.shape
    out = torch.zeros_like(probs)
    for t in range(N):
        num, den = torch.zeros(K), 0.0
        for s in range(max(0, t - kernel // 2), min(N, t + kernel // 2 + 1)):
            between = range(t + 1, s + 1) if s > t else range(s + 1, t + 1)
            if any(boundary[u] > threshold for u in between):
                continue
            w = torch.exp(-alpha * sum(float(boundary[u]) for u in between) * torch.ones(()))
            num, den = num + w * probs[:, s], den + float(w)
        out[:, t] = num / den
    return out


def test_barrier_pooling_matches_its_definition():
    torch.manual_seed(0)
    probs = torch.rand(1, 4, 20).softmax(1)
    boundary = torch.rand(1, 20)
    mask = torch.ones(1, 20, dtype=torch.bool)
    got = local_barrier_pooling(probs, boundary, mask, threshold=0.8, kernel_size=7, alpha=0.5)
    torch.testing.assert_close(got[0], brute_barrier_pooling(probs[0], boundary[0], 0.8, 7, 0.5))


def test_barrier_pooling_never_crosses_a_kept_boundary():
    torch.manual_seed(0)
    probs = torch.rand(1, 3, 30).softmax(1)
    boundary = torch.full((1, 30), 0.1)
    boundary[0, 12] = 0.95  # kept: a segment starts at second 12
    mask = torch.ones(1, 30, dtype=torch.bool)
    before = local_barrier_pooling(probs, boundary, mask, threshold=0.85, kernel_size=99)
    changed = probs.clone()
    changed[:, :, 12:] = torch.rand(1, 3, 18).softmax(1)
    after = local_barrier_pooling(changed, boundary, mask, threshold=0.85, kernel_size=99)
    torch.testing.assert_close(before[..., :12], after[..., :12])  # the left side never sees the right
    # below the threshold the same boundary is only a soft barrier: the sides do mix
    mixed = local_barrier_pooling(changed, boundary, mask, threshold=0.99, kernel_size=99)
    assert not torch.allclose(mixed[..., :12], before[..., :12])


def test_barrier_pooling_acts_along_time_not_classes():
    torch.manual_seed(0)
    probs = torch.rand(2, 5, 16)
    boundary = torch.rand(2, 16)
    mask = torch.ones(2, 16, dtype=torch.bool)
    base = local_barrier_pooling(probs, boundary, mask, 0.7, 5, 0.1)
    other = probs.clone()
    other[:, 3] = torch.rand(2, 16)  # change one class's probabilities
    moved = local_barrier_pooling(other, boundary, mask, 0.7, 5, 0.1)
    keep = [0, 1, 2, 4]
    torch.testing.assert_close(moved[:, keep], base[:, keep])
    # a sequence constant in time is left as it is, whatever its class profile
    flat = torch.rand(1, 5, 1).expand(1, 5, 16)
    torch.testing.assert_close(local_barrier_pooling(flat, boundary[:1], mask[:1], 0.7, 5, 0.1), flat)


# --- targets and loss ---------------------------------------------------------------------


def test_boundary_targets_do_not_mark_joins_between_sequences():
    labels = torch.tensor([[0, 0, 1, 1, 1, 2], [3, 3, 3, IGNORE_INDEX, 3, IGNORE_INDEX]])
    mask = torch.tensor([[True] * 6, [True] * 5 + [False]])
    targets = boundary_targets(labels, mask)
    assert targets.tolist() == [[0, 0, 1, 0, 0, 1], [0, 0, 0, 1, 1, 0]]
    # the same two rows flattened (the official code) would mark the join 2 -> 3
    flat = labels.reshape(1, -1)
    assert boundary_targets(flat, torch.ones_like(flat, dtype=torch.bool))[0, 6] == 1


def test_second_labels_take_each_seconds_last_real_frame():
    labels = torch.tensor([[0, 0, 1, 1, 2, 2, 2, 3]])
    mask = torch.tensor([[True] * 7 + [False]])
    assert second_labels(labels, mask, 3).tolist() == [[1, 2, 2]]
    assert second_labels(labels, torch.tensor([[True] * 6 + [False] * 2]), 3).tolist() == [[1, 2, IGNORE_INDEX]]


def test_loss_ignores_null():
    model = tiny()
    x = frames(B=1)
    labels = torch.zeros(1, x.shape[1], dtype=torch.long)
    labels[:, : 4 * FPS] = IGNORE_INDEX  # the first four seconds are Null
    labels[:, 7 * FPS :] = 2
    mask = torch.ones(1, x.shape[1], dtype=torch.bool)
    loss_fn = SigFormerLoss(**model_config("sigformer", "full")["loss"])
    out = model(x, mask)
    _, parts = loss_fn(out, {"labels": labels, "mask": mask}, model)
    out.class_logits = out.class_logits.clone()
    out.class_logits[:, :, :4] = torch.randn(1, 5, 4) * 100  # anything on Null seconds
    _, changed = loss_fn(out, {"labels": labels, "mask": mask}, model)
    assert changed["ce"] == pytest.approx(parts["ce"])
    null = torch.full_like(labels, IGNORE_INDEX)
    loss, parts = loss_fn(model(x, mask), {"labels": null, "mask": mask}, model)
    assert torch.isfinite(loss) and parts["ce"] == 0 and parts["inner_ce"] == 0


def test_loss_is_the_weighted_sum_of_its_four_terms():
    model = tiny()
    x, mask = frames(B=1), torch.ones(1, 60, dtype=torch.bool)
    labels = torch.randint(0, 5, (1, 60))
    with torch.no_grad():
        out = model(x, mask)
    batch = {"labels": labels, "mask": mask}
    _, parts = SigFormerLoss(**model_config("sigformer", "full")["loss"])(out, batch, model)
    for weights in ((0.5, 0.5, 0.2, 0.2), (0.5, 0.0, 0.2, 0.0), (1.0, 0.0, 0.0, 0.0)):
        loss, _ = SigFormerLoss(
            **dict(zip(("class_weight", "inner_class_weight", "boundary_weight", "inner_boundary_weight"), weights))
        )(out, batch, model)
        expected = sum(w * parts[k] for w, k in zip(weights, ("ce", "inner_ce", "bce", "inner_bce")))
        assert float(loss.detach()) == pytest.approx(float(expected), rel=1e-5)


# --- the model ----------------------------------------------------------------------------


def test_masked_group_norm_counts_real_seconds_only():
    from actseg_lib.models.sigformer import MaskedGroupNorm

    torch.manual_seed(0)
    norm = MaskedGroupNorm(2, 6)
    with torch.no_grad():
        norm.weight.uniform_(0.5, 1.5), norm.bias.uniform_(-1, 1)
    reference = torch.nn.GroupNorm(2, 6)
    reference.load_state_dict(norm.state_dict())
    x = torch.randn(1, 6, 9)
    torch.testing.assert_close(norm(x, torch.ones(1, 1, 9)), reference(x))
    padded = torch.cat([x, 100 * torch.randn(1, 6, 4)], dim=2)
    mask = torch.cat([torch.ones(1, 1, 9), torch.zeros(1, 1, 4)], dim=2)
    out = norm(padded, mask)
    torch.testing.assert_close(out[..., :9], reference(x))
    assert torch.all(out[..., 9:] == 0)


def test_a_session_scores_the_same_alone_or_padded_in_a_batch():
    model = tiny()
    x = frames(B=2, seconds=10)
    mask = torch.ones(2, 60, dtype=torch.bool)
    mask[1, 33:] = False  # 5.5 seconds of the second row are real
    x[1, 33:] = 50.0  # whatever padding holds
    both = model(x, mask)
    alone = model(x[1:, :33], mask[1:, :33])
    torch.testing.assert_close(both.class_logits[1, :, :6], alone.class_logits[0], atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(both.boundary_logits[1, :6], alone.boundary_logits[0], atol=1e-5, rtol=1e-4)


def test_forward_shapes_and_refinement():
    model = tiny()
    x = frames()
    mask = torch.ones(2, 60, dtype=torch.bool)
    mask[1, 40:] = False
    out = model(x, mask)
    assert out.class_logits.shape == (2, 5, 10) and out.boundary_logits.shape == (2, 10)
    assert len(out.inner_class_logits) == 2 and out.inner_class_logits[0].shape == (2, 5, 10)
    assert out.token_mask.sum(1).tolist() == [10, 7]
    refined = model.refine(out)
    assert refined.shape == (2, 5, 10)
    torch.testing.assert_close(refined[:, :, :7].sum(1), torch.ones(2, 7))


def test_no_events_in_the_layout_means_no_guidance_and_bad_layouts_fail():
    torch.manual_seed(0)
    small = settings(
        imu_dim=8, keypoint_dim=8, dim=8, depth=1, fusion_depth=1, heads=2, dim_head=4, ffn_dim=16, groups=2
    )
    model = SigFormer(input_layout=LAYOUT[:2], num_classes=5, fps=FPS, **{**small, "guidance": "none"}).eval()
    assert model(frames()[..., :20]).class_logits.shape == (2, 5, 10)
    # asked for masked guidance, but the data has no events: the "none" arm, said so
    adapted = SigFormer(input_layout=LAYOUT[:2], num_classes=5, fps=FPS, **{**small, "guidance": "masked"})
    assert adapted.guidance == "none" and adapted.fusion.guidance == "none"
    assert "no events" in adapted.input_summary()
    with pytest.raises(ValueError, match="22 channels"):
        tiny()(torch.randn(1, 60, 21))
    for bad in ([["events", 2]], [["imu_acc", 12], ["imu", 24]], [["imu_acc", 12], ["rgb", 3]]):
        with pytest.raises(ValueError, match="IMU"):
            SigFormer(input_layout=bad, num_classes=5, fps=FPS, **small)


# the paper's modality study: every non-empty subset of the dense streams, events or not
SUBSETS = [
    [name for name in names]
    for names in (
        ("imu_acc", "skeleton2d", "events"),
        ("imu_acc", "skeleton2d"),
        ("imu_acc", "events"),
        ("imu_acc",),
        ("skeleton2d", "events"),
        ("skeleton2d",),
    )
]
CHANNELS = dict(LAYOUT)


def subset_model(names, seed=0, **kwargs):
    torch.manual_seed(seed)
    layout = [[n, CHANNELS[n]] for n in names]
    return SigFormer(input_layout=layout, num_classes=5, fps=FPS, **settings(**kwargs))


def subset_frames(names, B=2, seconds=10, seed=0):
    """frames() cut to the channels of ``names``, in layout order."""
    x = frames(B, seconds, seed=seed)
    parts = dict(zip(CHANNELS, torch.split(x, list(CHANNELS.values()), dim=-1)))
    return torch.cat([parts[n] for n in names], dim=-1)


@pytest.mark.parametrize("names", SUBSETS, ids="+".join)
def test_every_modality_subset_trains(names):
    model = subset_model(names).train()
    x, mask = subset_frames(names), torch.ones(2, 60, dtype=torch.bool)
    mask[1, 40:] = False
    batch = {"x": x, "mask": mask, "labels": torch.randint(0, 5, (2, 60))}
    out = model(x, mask)
    dense = [n for n in names if n != "events"]
    assert out.class_logits.shape == (2, 5, 10) and len(out.inner_class_logits) == len(dense)
    assert (out.event_bits is None) == ("events" not in names)
    loss, _ = SigFormerLoss(class_weight=0.5, inner_class_weight=0.5, boundary_weight=0.2, inner_boundary_weight=0.2)(
        out, batch, model
    )
    loss.backward()
    # every parameter the subset model has is used (none left over from an absent stream)
    unused = [k for k, p in model.named_parameters() if p.grad is None or not p.grad.abs().sum()]
    assert not unused, unused


@pytest.mark.parametrize("names", SUBSETS[1:], ids="+".join)
def test_a_subset_model_has_no_parameters_of_what_is_absent(names):
    """Each part by name, with the streams it needs: a part is there exactly when all of
    them are (SGF needs its dense stream and the events, MSAF both dense streams)."""
    needs = {
        "motion_tokens.": {"imu_acc"},
        "motion_encoder.": {"imu_acc"},
        "motion_bottleneck.": {"imu_acc"},
        "fusion.motion_in.": {"imu_acc"},
        "fusion.ffn_motion.": {"imu_acc"},
        "spatial_tokens.": {"skeleton2d"},
        "spatial_encoder.": {"skeleton2d"},
        "spatial_bottleneck.": {"skeleton2d"},
        "fusion.spatial_in.": {"skeleton2d"},
        "fusion.ffn_spatial.": {"skeleton2d"},
        "event_tokens.": {"events"},
        "fusion.sgf_motion.": {"imu_acc", "events"},
        "fusion.sgf_spatial.": {"skeleton2d", "events"},
        "fusion.msaf.": {"imu_acc", "skeleton2d"},
    }
    full = {k for k, _ in subset_model(SUBSETS[0]).named_parameters()}
    have = {k for k, _ in subset_model(names).named_parameters()}
    assert have < full
    for prefix, streams in needs.items():
        assert any(k.startswith(prefix) for k in full)
        present = {k for k in have if k.startswith(prefix)}
        assert bool(present) == (streams <= set(names)), prefix
    shared = {k for k in full if not k.startswith(tuple(needs))}  # branches, fusion.norm
    assert shared <= have


def test_the_full_layout_is_the_model_it_always_was():
    """Parameter names and initial weights of the three-input model do not depend on the
    subset machinery: built in the same order, the recorded runs stay valid."""
    model = subset_model(SUBSETS[0])
    names = [k for k, _ in model.named_parameters()]
    first = ["motion_tokens.proj.weight", "motion_tokens.proj.bias", "spatial_tokens.proj.weight"]
    assert names[:3] == first and names.index("event_tokens.embed.0.weight") < names.index("fusion.motion_in.weight")
    assert count_parameters(model) == count_parameters(tiny())
    for a, b in zip(model.state_dict().values(), tiny().state_dict().values()):
        torch.testing.assert_close(a, b, rtol=0, atol=0)


def test_the_imu_only_model_reads_nothing_but_the_imu(tmp_path):
    """Through the data pipeline: with ``inputs=["imu_acc"]`` the keypoints and events of
    the samples can change at will and the model's output does not move; a change of the
    IMU moves it."""
    from actseg_lib.data import Sample
    from actseg_lib.data.datasets import collate_segmentation
    from actseg_lib.data.prepare import prepare_segmentation

    rng = np.random.default_rng(0)

    def session(i, shift=0.0):
        T = 60
        return Sample(
            name=f"s{i}",
            fps=float(FPS),
            class_names=("a", "b", "c", "d", "e"),
            frame_labels=rng.integers(0, 5, T),
            imu=np.random.default_rng(i).standard_normal((T, 4, 6)).astype(np.float32),
            skeleton2d=np.random.default_rng(100 + i).standard_normal((T, 1, 4, 2)).astype(np.float32) + shift,
            events={"scanner": np.array([3, 40]) + int(shift)},
            subject=i,
            meta={"image_size": 100},
        )

    def output(samples):
        data = prepare_segmentation("x:y", inputs=["imu_acc"], samples=samples, progress=False)
        assert data.layout == (("imu_acc", 12),)
        torch.manual_seed(0)
        model = SigFormer(**data.stream_kwargs(), num_classes=5, **settings()).eval()
        batch = collate_segmentation([data.dataset("train")[k] for k in range(len(data.splits["train"]))])
        return model(batch["x"], batch["mask"]).class_logits, data

    base, data = output([session(i) for i in range(8)])
    moved, _ = output([session(i, shift=5.0) for i in range(8)])
    torch.testing.assert_close(base, moved, rtol=0, atol=0)
    changed = [session(i) for i in range(8)]
    for s in changed:
        s.imu[..., 0] += 1.0
    assert not torch.allclose(base, output(changed)[0])


def test_interactive_branches_can_be_left_out():
    with_cross, without = tiny(), tiny(interactive=False)
    assert hasattr(with_cross.branches, "class_reads_boundary")
    assert not hasattr(without.branches, "class_reads_boundary")
    assert count_parameters(with_cross) > count_parameters(without)


def test_attention_weights_recorded_with_and_without_the_mask():
    for guidance in ("masked", "unmasked"):
        model = tiny(guidance=guidance)
        model.record_attention(True)
        out = model(frames(B=1))
        weights = model.fusion.sgf_motion[0].attn.weights[0]  # [H, N, N]
        outside = ~event_attention_mask(out.event_bits, 1)[0]
        assert (weights[:, outside] == 0).all() == (guidance == "masked")


def test_presets_build_and_count():
    layout = [["imu_acc", 12], ["skeleton2d", 50], ["events", 2]]
    reduced = build_model("sigformer", "reduced", input_layout=layout, num_classes=10)
    with torch.device("meta"):  # hundreds of millions of parameters: counted without allocating them
        full = build_model(
            "sigformer", "full", input_layout=[["imu_acc", 12], ["skeleton2d", 34], ["events", 2]], num_classes=10
        )
    print("SigFormer parameters: reduced", count_parameters(reduced), "full", count_parameters(full))
    assert count_parameters(reduced) < 3_000_000 < count_parameters(full)
    assert full.fusion.norm.normalized_shape == (860,) and full.barrier_kernel == 99


def test_task_scores_only_classes_that_are_not_ignored():
    """SynthAct's packaging classes include Null (ignored): it must not enter the macro F1."""
    metrics = model_entry("sigformer").metrics
    assert metrics == ("macro_f1",)
    truth = [np.repeat([0, 1, IGNORE_INDEX, 0], 30), np.repeat([1, 0, 1], 30)]
    perfect = [np.where(y == IGNORE_INDEX, 2, y) for y in truth]
    task = SegmentationTask(num_classes=3, fps=30, ignore_labels=(2,), metrics=metrics)
    assert task.score_predictions(perfect, truth)["macro_f1"] == pytest.approx(100.0)
    counted = SegmentationTask(num_classes=3, fps=30, metrics=metrics)  # Null counted as a class never seen: 2/3
    assert counted.score_predictions(perfect, truth)["macro_f1"] == pytest.approx(200 / 3)


def test_task_trains_with_the_sigformer_loss_and_scores_every_refinement():
    """The registry's loss and decoder in the engine's task: the loss's four parts, and the
    metrics after refinement at the model's threshold, at every listed threshold and
    without refinement."""
    entry = model_entry("sigformer")
    assert entry.task == "segmentation" and isinstance(entry.decoder, SigFormerRefinement)
    task = SegmentationTask(
        criterion=entry.loss(**entry.config("reduced")["loss"]),
        decoder=entry.decoder,
        num_classes=5,
        fps=FPS,
        metrics=entry.metrics,
    )
    model = tiny(boundary_threshold=0.7)
    x = frames(B=2, seconds=10)
    mask = torch.ones(2, 60, dtype=torch.bool)
    mask[1, 40:] = False
    labels = torch.randint(0, 5, (2, 60))
    batch = {"x": x, "mask": mask, "labels": labels, "lengths": torch.tensor([60, 40])}
    loss, parts = task.loss(model, batch)
    assert loss.requires_grad and set(parts) == {"ce", "inner_ce", "bce", "inner_bce"}
    items = task.predict(model, batch)
    assert [len(item["labels"]) for item in items] == [60, 40] and items[1]["probs"].shape == (5, 7)
    scores = task.metrics(items)
    main = ["acc", "edit", "f1@10", "f1@25", "f1@50", "score", "macro_f1"]
    variants = [f"thr {t}" for t in (0.5, 0.7, 0.85, 0.95, "none")]
    assert set(scores) == set(main) | {f"{key} {variant}" for key in main for variant in variants}
    assert all(scores[key] == scores[f"{key} thr 0.7"] for key in main)  # the model's own threshold
    unrefined = [np.repeat(item["probs"].argmax(0).numpy(), FPS)[: len(item["labels"])] for item in items]
    for got, expected in zip(SigFormerRefinement.frame_predictions(items, "none"), unrefined):
        np.testing.assert_array_equal(got, expected)


def test_refinement_reports_the_models_threshold_and_each_listed_one():
    """A kept boundary (p = 0.8) between a sure class-0 half and an unsure class-1 half:
    at the model's threshold 0.7 it is a wall and the right half stays class 1; at 0.85
    it is a soft barrier and the sure half pools the right half over to class 0."""
    logits = torch.tensor([[4.0] * 4 + [-0.5] * 4, [0.0] * 8])[None]  # [1, K=2, N=8]
    boundary = torch.full((1, 8), -10.0)
    boundary[0, 4] = math.log(0.8 / 0.2)  # p = 0.8
    out = SigFormerOutput(logits, boundary, [], [], torch.ones(1, 8, dtype=torch.bool), None, None, None)
    model = SimpleNamespace(frames_per_token=2, boundary_threshold=0.7, barrier_kernel=99, barrier_alpha=0.1)
    batch = {"labels": torch.tensor([[0] * 8 + [1] * 7]), "lengths": torch.tensor([15])}
    refinement = SigFormerRefinement()
    preds = {
        key: value[0].tolist() for key, value in refinement.predictions(refinement.items(model, out, batch)).items()
    }
    walled, pooled = [0] * 8 + [1] * 7, [0] * 15
    assert preds == {
        "": walled,
        "thr 0.5": walled,
        "thr 0.7": walled,
        "thr 0.85": pooled,
        "thr 0.95": pooled,
        "thr none": walled,
    }


# --- the official code's switches -----------------------------------------------------------


def attend_by_hand(attn, queries, context, allowed):
    """Multi-head attention written out from the module's weights: queries [B, N, D]
    read context [B, M, D] where allowed [B, N, M]; keys are the first H d outputs of
    the key/value projection, values the next. A query with nothing to read gets zero."""
    H, d = attn.heads, attn.dim_head

    def linear(layer, x):
        return x @ layer.weight.T + (layer.bias if layer.bias is not None else 0)

    B, N, _ = queries.shape
    q = linear(attn.q, queries).reshape(B, N, H, d)
    kv = linear(attn.kv, context)
    k, v = kv[..., : H * d].reshape(B, -1, H, d), kv[..., H * d :].reshape(B, -1, H, d)
    scores = torch.einsum("bnhd,bmhd->bhnm", q, k) / math.sqrt(d)
    weights = scores.masked_fill(~allowed[:, None], float("-inf")).softmax(-1).nan_to_num()
    out = linear(attn.out, torch.einsum("bhnm,bmhd->bnhd", weights, v).reshape(B, N, H * d))
    return out * allowed.any(-1, keepdim=True)


@pytest.mark.parametrize("interaction", ["paper", "official"])
def test_interaction_stages_query_in_the_chosen_direction(interaction):
    """Which stream queries which, against a hand-written reference. The paper: stage 1
    the boundary features query the class features (and keep their residual), stage 2
    the class features query the boundary features. The official code (its forward:
    cross1(feat, bound), cross2(bound, feat)): both inverted, each result handed to the
    other stream."""
    torch.manual_seed(0)
    br = MutualInteractiveBranches(16, 5, 1, 2, 8, 32, groups=2, interaction=interaction).eval()
    x = torch.randn(2, 9, 16)
    mask = torch.ones(2, 9, dtype=torch.bool)
    mask[1, 6:] = False
    pairs = mask[:, :, None] & mask[:, None, :]

    def cross(block, query, context):
        h = block.norm(query + attend_by_hand(block.attn, query, context, pairs))
        return block.ffn(h) * mask[..., None]

    with torch.no_grad():
        c, b = br.class_1(x, mask), br.boundary_1(x, mask)
        if interaction == "paper":
            b = br.boundary_2(cross(br.boundary_reads_class, b, c), mask)  # boundaries read classes
            c = br.class_2(cross(br.class_reads_boundary, c, b), mask)  # classes read boundaries
        else:
            b = br.boundary_2(cross(br.boundary_reads_class, c, b), mask)  # classes read boundaries
            c = br.class_2(cross(br.class_reads_boundary, b, c), mask)  # boundaries read classes
        expected_z = br.class_head(br.class_norm(c)).transpose(1, 2)
        expected_beta = br.boundary_head(br.boundary_norm(b))[..., 0]
        z, beta, _ = br(x, mask)
        other = "official" if interaction == "paper" else "paper"
        br.interaction = other
        z_other, _, _ = br(x, mask)
    real = mask[:, None].expand_as(z)
    torch.testing.assert_close(z[real], expected_z[real])
    torch.testing.assert_close(beta[mask], expected_beta[mask])
    assert not torch.allclose(z_other, z, atol=1e-3)  # the directions make a difference
    with pytest.raises(ValueError, match="interaction"):
        MutualInteractiveBranches(16, 5, 1, 2, 8, 32, groups=2, interaction="both")


def test_split_cross_attention_is_the_fused_width_in_heads_without_bias():
    """cross_attention="split" (the official MultiHeadCrossAttention): every attention
    after the encoders is D wide, D / H per head, with no bias anywhere, and computes
    plain multi-head attention with those heads; the encoders and the branches'
    self-attention keep H x dim_head."""
    torch.manual_seed(0)
    kw = dict(dim=16, heads=2, dim_head=12)  # wide: 2 x 12 = 24; split: 2 x 8 = 16
    models = {kind: tiny(cross_attention=kind, **kw) for kind in ("wide", "split")}
    for kind, model in models.items():
        crosses = [
            *(sgf.attn for sgf in model.fusion.sgf_motion),
            *(sgf.attn for sgf in model.fusion.sgf_spatial),
            *(m.motion_reads_spatial for m in model.fusion.msaf),
            *(m.spatial_reads_motion for m in model.fusion.msaf),
            model.branches.boundary_reads_class.attn,
            model.branches.class_reads_boundary.attn,
        ]
        for attn in crosses:
            inner = attn.q.out_features
            if kind == "split":
                assert (attn.heads, attn.dim_head, inner) == (2, 8, 16)
                assert attn.q.bias is None and attn.kv.bias is None and attn.out.bias is None
            else:
                assert (attn.dim_head, inner) == (12, 24) and attn.out.bias is not None
        for attn in (model.motion_encoder.layers.attns[0], model.branches.class_1.attns[0]):
            assert (attn.dim_head, attn.q.out_features) == (12, 24)  # self-attention unchanged
    attn = models["split"].fusion.sgf_motion[0].attn
    q, c = torch.randn(1, 7, 16), torch.randn(1, 7, 16)
    allowed = torch.rand(1, 7, 7) > 0.3
    allowed[..., 0] = True
    with torch.no_grad():
        torch.testing.assert_close(attn(q, c, allowed), attend_by_hand(attn, q, c, allowed))
    with pytest.raises(ValueError, match="cross_attention"):
        tiny(cross_attention="narrow")


def test_full_preset_cross_attention_is_the_official_width():
    """The full preset: 860-wide cross-attention in 20 heads of 43 without biases (the
    official code's), 20 x 64 self-attention in the encoders, the inverse-sqrt warm-up."""
    with torch.device("meta"):
        full = build_model("sigformer", "full", input_layout=LAYOUT, num_classes=10)
    cross = full.fusion.msaf[0].motion_reads_spatial
    assert (cross.heads, cross.dim_head, cross.q.out_features, cross.out.bias) == (20, 43, 860, None)
    encoder = full.motion_encoder.layers.attns[0]
    assert (encoder.heads, encoder.dim_head, encoder.q.out_features) == (20, 64, 1280)
    train = model_config("sigformer", "full")["train"]
    assert (train["scheduler"], train["warmup_epochs"]) == ("inverse_sqrt", 50)
    assert model_config("sigformer", "reduced")["train"]["scheduler"] == "cosine"


def test_official_overrides_turn_on_every_official_switch():
    overrides = official_overrides()
    assert overrides == {"model": {"guidance": "unmasked", "interaction": "official", "cross_attention": "split"}}
    assert official_overrides(schedule=True)["train"] == {"scheduler": "inverse_sqrt"}
    model = tiny(**overrides["model"])
    assert model.fusion.guidance == "unmasked" and model.branches.interaction == "official"
    assert model.fusion.msaf[0].motion_reads_spatial.out.bias is None
    reduced = build_model("sigformer", "reduced", input_layout=LAYOUT, num_classes=5, **overrides["model"])
    assert reduced.branches.interaction == "official"


def test_openpack_macro_f1_on_the_sessions_timestamps():
    """Sequences that carry unix times (OpenPack's sessions) are also scored on them, as
    the OpenPack toolkit slots seconds (``macro_f1_timestamps``); the frame-count
    ``macro_f1`` stays as it was, and sequences without times get no such metric."""
    from actseg_lib.data import Sample
    from actseg_lib.data.datasets import SegmentationDataset, collate_segmentation
    from actseg_lib.metrics import openpack_macro_f1

    rng = np.random.default_rng(0)
    samples = []
    for k in range(3):
        T = 60 + 12 * k
        # uneven steps and a start half a second into a second: unix seconds are not frame seconds
        times = 1634864400500 + k * 10**6 + np.cumsum(rng.integers(120, 220, T))
        x = rng.standard_normal((T, 22)).astype(np.float32)
        x[:, 20:] = 0
        samples.append(
            Sample(name=f"s{k}", fps=float(FPS), frame_labels=rng.integers(0, 5, T), features=x, timestamps_ms=times)
        )
    task = SegmentationTask(
        decoder=SigFormerRefinement(), num_classes=5, fps=FPS, ignore_labels=(4,), metrics=("macro_f1",)
    )
    model = tiny()

    def items_of(dataset):
        batch = collate_segmentation([dataset[i] for i in range(len(dataset))])
        return task.predict(model, batch)

    items = items_of(SegmentationDataset(samples, inputs=("features",), ignore_labels=(4,)))
    scores = task.metrics(items)
    preds = [np.where(p == 4, IGNORE_INDEX, p) for p in SigFormerRefinement.frame_predictions(items, None)]
    truths = [np.where(s.frame_labels == 4, IGNORE_INDEX, s.frame_labels) for s in samples]
    times = [s.timestamps_ms for s in samples]
    expected = 100 * openpack_macro_f1(times, preds, times, truths, classes=(0, 1, 2, 3), null_id=IGNORE_INDEX)
    assert scores["macro_f1_timestamps"] == pytest.approx(expected)
    assert scores["macro_f1_timestamps"] != pytest.approx(scores["macro_f1"])  # the slots differ here
    assert "macro_f1_timestamps thr none" in scores
    untimed = [Sample(name=s.name, fps=s.fps, frame_labels=s.frame_labels, features=s.features) for s in samples]
    plain = task.metrics(items_of(SegmentationDataset(untimed, inputs=("features",), ignore_labels=(4,))))
    assert "macro_f1_timestamps" not in plain and plain["macro_f1"] == scores["macro_f1"]

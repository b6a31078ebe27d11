"""The recognition path: clips to fixed-length tensors, augmentation that keeps joints on
the body, the NTU / Penn frame sizes, and a tiny STAR-Transformer trained end to end."""

import numpy as np
import pytest
import torch

from actseg_lib.data import Sample, formats
from actseg_lib.data.augment import augment_clips
from actseg_lib.data.datasets import RecognitionDataset, clip_frame_indices
from actseg_lib.data.prepare import NTU_XSUB_TRAIN, prepare_recognition
from actseg_lib.data.sources import for_format
from actseg_lib.engine import evaluate_checkpoint, train_model
from actseg_lib.engine.tasks import RecognitionTask

CLASSES = ("left", "right", "up")
TINY_STAR = {
    "dim": 16,
    "heads": 2,
    "joint_hidden": 4,
    "heatmap_size": 8,
    "encoder_layers": 1,
    "decoder_layers": 1,
    "mlp_ratio": 1.0,
    "modalities": ("skeleton",),
    "dropout": 0.0,
}


def dot_clips(num=60, frames=10, seed=0):
    """Skeleton clips of two joints near the left, right or top of the frame (the class),
    jittered: learnable in seconds."""
    rng = np.random.default_rng(seed)
    centres = np.array([[12, 30], [36, 30], [24, 10]], np.float32)
    clips = []
    for i in range(num):
        label = i % 3
        joints = centres[label] + rng.normal(0, 3, (frames, 1, 2, 2)).astype(np.float32)
        clips.append(
            Sample(
                name=f"c{i:02d}",
                class_names=CLASSES,
                label=label,
                skeleton2d=joints,
                subject=(i // 3) % 6,
                meta={"image_size": 48},
            )
        )
    return clips


def test_clips_are_resampled_evenly_to_a_fixed_length():
    assert clip_frame_indices(31, 4).tolist() == [0, 10, 20, 30]
    assert clip_frame_indices(2, 4).tolist() == [0, 0, 1, 1]
    item = RecognitionDataset(dot_clips(), num_frames=4)[0]
    assert item["skeleton2d"].shape == (4, 2, 2)
    assert 0 < item["skeleton2d"].min() and item["skeleton2d"].max() < 1  # divided by the 48-pixel frame


def test_ntu_and_penn_files_record_the_frame_their_pixels_refer_to(tmp_path):
    ntu_clip = Sample(
        name="x",
        class_names=CLASSES,
        label=0,
        subject=0,
        view=0,
        skeleton3d=np.ones((10, 1, 25, 3), np.float32),
        skeleton2d=np.full((10, 1, 25, 2), 24.0, np.float32),
        meta={"image_size": 48},
    )
    formats.write("ntu", for_format("ntu", [ntu_clip]), tmp_path / "ntu")
    (back,) = formats.read("ntu", tmp_path / "ntu")
    item = RecognitionDataset([back])[0]
    np.testing.assert_allclose(item["skeleton2d"][0, 0].numpy(), [0.5, 0.5], atol=1e-6)  # the centre stays the centre
    assert back.class_names == tuple(f"A{i:03d}" for i in range(1, 61))  # NTU files hold action codes only
    assert back.class_names[back.label] == "A001"
    formats.write("penn", for_format("penn", [ntu_clip]), tmp_path / "penn")
    (penn,) = formats.read("penn", tmp_path / "penn")
    assert penn.meta["frame_size"] == (48, 48)


def test_ntu_cross_subject_protocol_uses_the_official_performers():
    clips = [
        Sample(
            name=f"c{i}",
            class_names=CLASSES,
            label=0,
            subject=s,
            skeleton2d=np.zeros((4, 1, 2, 2), np.float32),
            meta={"frame_size": (1920, 1080)},
        )
        for i, s in enumerate(range(1, 41))
    ]
    data = prepare_recognition("ntu:somewhere", samples=clips, num_frames=4)
    subjects = lambda split: {clips[i].subject for i in data.splits[split]}  # noqa: E731
    assert subjects("test") == set(range(1, 41)) - set(NTU_XSUB_TRAIN)
    assert subjects("train") | subjects("val") == set(NTU_XSUB_TRAIN) and not subjects("train") & subjects("val")


def test_augmentation_moves_frames_and_joints_together():
    torch.manual_seed(0)
    B, T, H = 8, 3, 32
    joints = torch.rand(B, T, 1, 2) * 0.5 + 0.25
    rgb = torch.zeros(B, T, 3, H, H)
    px = (joints[..., 0, :] * H).long()  # [B, T, 2] the pixel under the joint
    for b in range(B):
        for t in range(T):
            rgb[b, t, :, px[b, t, 1], px[b, t, 0]] = 1.0
    out = augment_clips({"rgb": rgb, "skeleton2d": joints, "label": torch.zeros(B)})
    bright = out["rgb"].amax(2)  # [B, T, H, W]: channels permuted and scaled, the dot stays brightest
    for b in range(B):
        for t in range(T):
            y, x = np.unravel_index(int(bright[b, t].argmax()), (H, H))
            jx, jy = out["skeleton2d"][b, t, 0].tolist()
            assert abs(x + 0.5 - jx * H) <= 1.0 and abs(y + 0.5 - jy * H) <= 1.0, (b, t)
    assert not torch.equal(out["skeleton2d"], joints)


def test_recognition_metrics():
    task = RecognitionTask()
    pairs = [(np.array([0.9, 0.1, 0.0]), 0), (np.array([0.2, 0.7, 0.1]), 2), (np.array([0.1, 0.2, 0.7]), 2)]
    metrics = task.metrics(pairs)
    assert metrics["top1"] == pytest.approx(200 / 3)
    assert metrics["mean_class_acc"] == pytest.approx(75.0)  # class 0: 1/1, class 2: 1/2
    assert metrics["score"] == metrics["top1"] and "top5" not in metrics


def test_a_tiny_star_transformer_learns_and_its_checkpoint_reproduces(tmp_path):
    clips = dot_clips()
    overrides = {
        "model": TINY_STAR,
        "train": {"epochs": 15, "batch_size": 6, "lr": 3e-3, "warmup_epochs": 0},
        "data": {"num_frames": 8},
    }
    results = train_model(
        "star_transformer", "synthact:clips", out_dir=tmp_path, samples=clips, progress=False, overrides=overrides
    )
    assert results["test"]["top1"] > 70  # chance: 33 %
    again = evaluate_checkpoint(tmp_path / "best.pt", samples=clips, progress=False)
    assert again["metrics"] == results["test"]

"""PyTorch datasets and collate: shapes, scaling, padding and the ignore index."""

import numpy as np
import torch
from torch.utils.data import DataLoader

from actseg_lib.common import IGNORE_INDEX
from actseg_lib.data.datasets import RecognitionDataset, SegmentationDataset, collate_segmentation
from actseg_lib.data.synthact.generate import config_for, make_clips, make_workflow

CFG = config_for(
    "reduced",
    num_subjects=2,
    image_size=24,
    clip_frames=8,
    packaging_sessions=2,
    boxes_per_session=1,
    daily_sequences=2,
    actions_per_sequence=(2, 2),
)


def test_recognition_items_and_batches():
    clips = make_clips(CFG, 0, 0, 0) + make_clips(CFG, 1, 0, 0)
    data = RecognitionDataset(clips, heatmap_size=12)
    item = data[0]
    assert item["rgb"].shape == (8, 3, 24, 24) and 0 <= item["rgb"].min() and item["rgb"].max() <= 1
    assert item["skeleton2d"].shape == (8, 25, 2)
    assert item["heatmaps"].shape == (8, 25, 12, 12)
    batch = next(iter(DataLoader(data, batch_size=4)))
    assert batch["label"].tolist() == [0, 0, 0, 1]


def test_segmentation_padding_masks_and_ignores():
    seqs = [make_workflow(CFG, "packaging", 0), make_workflow(CFG, "packaging", 1)]
    null = seqs[0].meta["null_index"]
    data = SegmentationDataset(seqs, inputs=("imu", "skeleton2d", "events"), ignore_labels=(null,))
    items = [data[0], data[1]]
    assert items[0]["x"].shape[1] == 4 * 6 + 25 * 2 + 2  # IMU, keypoints, two event channels
    batch = collate_segmentation(items)
    lengths = [seqs[0].num_frames, seqs[1].num_frames]
    assert batch["x"].shape == (2, max(lengths), items[0]["x"].shape[1])
    assert batch["mask"].sum(1).tolist() == lengths
    short = int(np.argmin(lengths))
    assert (batch["labels"][short, min(lengths) :] == IGNORE_INDEX).all()
    assert not (batch["labels"][batch["mask"]] == null).any()  # Null became IGNORE_INDEX
    assert batch["x"][short, min(lengths) :].abs().sum() == 0


def test_event_channels_stay_fixed_when_an_event_never_fires():
    seq = make_workflow(CFG, "packaging", 0)
    quiet = make_workflow(CFG, "packaging", 1)
    quiet.events.pop("printer")
    data = SegmentationDataset([seq, quiet], inputs=("events",))
    assert data.event_names == ("printer", "scanner")
    assert data[1]["x"].shape[1] == 2 and data[1]["x"][:, 0].sum() == 0


def test_segmentation_sample_rate_keeps_every_nth_frame():
    seq = make_workflow(CFG, "daily", 0)
    full, half = SegmentationDataset([seq])[0], SegmentationDataset([seq], sample_rate=2)[0]
    assert torch.equal(half["labels"], full["labels"][::2])


def test_an_absent_second_body_stays_zero_after_centring():
    import numpy as np

    from actseg_lib.data import Sample
    from actseg_lib.data.datasets import _frame_input

    rng = np.random.default_rng(0)
    skeleton = np.zeros((4, 2, 25, 3), np.float32)
    skeleton[:, 0] = rng.normal(size=(4, 25, 3)) + 5.0  # body 1, far from the origin; body 2 absent
    sample = Sample(name="s", fps=30.0, class_names=("a",), skeleton3d=skeleton, frame_labels=np.zeros(4, np.int64))
    x = _frame_input(sample, "skeleton3d").reshape(4, 2, 25, 3)
    assert np.all(x[:, 1] == 0)  # not minus body 1's position in the room
    np.testing.assert_allclose(x[:, 0], skeleton[:, 0] - skeleton[:, :1, :1][:, 0], rtol=1e-6)


def test_skeleton_origin_keeps_or_removes_where_the_body_stands():
    import pytest

    sample = make_workflow(config_for("reduced"), "daily", 0)
    spine = SegmentationDataset([sample])[0]["x"].reshape(-1, 25, 3)
    camera = SegmentationDataset([sample], skeleton_origin="camera")[0]["x"].reshape(-1, 25, 3)
    assert torch.all(spine[:, 0] == 0)  # every frame from the spine base
    assert torch.allclose(camera - camera[:, :1], spine, atol=1e-6)  # the same body, moved
    assert camera[:, 0].abs().min() > 0  # where the camera sees it
    with pytest.raises(ValueError, match="skeleton_origin"):
        SegmentationDataset([sample], skeleton_origin="room")

"""From --data specs to datasets: splits that never mix subjects, statistics from the
training split only, label conventions of each source, clear errors."""

import numpy as np
import pytest
from tiny_data import tiny_samples

from actseg_lib.common import IGNORE_INDEX
from actseg_lib.data import Sample
from actseg_lib.data.prepare import auto_inputs, prepare_segmentation, split_indices


def test_format_splits_are_kept_and_val_is_carved_from_train_by_subject():
    samples = tiny_samples(num=12)
    parts = split_indices(samples, "mstcn:x")
    assert sorted(np.concatenate(list(parts.values()))) == list(range(12))
    assert all(samples[i].meta["split"] == "test" for i in parts["test"])
    subjects = lambda idx: {samples[i].subject for i in idx}  # noqa: E731
    assert len(parts["val"]) and not subjects(parts["val"]) & subjects(parts["train"])


def test_without_split_files_whole_subjects_are_held_out():
    samples = tiny_samples(num=20, with_split=False)
    parts = split_indices(samples, "pku:x")
    groups = [{samples[i].subject for i in idx} for idx in parts.values()]
    assert all(len(g) for g in groups)
    assert not (groups[0] & groups[1] or groups[0] & groups[2] or groups[1] & groups[2])


def test_statistics_come_from_the_training_split_only():
    samples = tiny_samples(num=12)
    for i in (3, 7, 11):  # the test videos
        samples[i].features[:] += 1000.0
    data = prepare_segmentation("mstcn:x", samples=samples, progress=False)
    x = np.concatenate([data.dataset("train")[i]["x"].numpy() for i in range(len(data.splits["train"]))])
    np.testing.assert_allclose(x.mean(0), 0, atol=1e-4)
    np.testing.assert_allclose(x.std(0), 1, atol=1e-3)
    assert data.dataset("test")[0]["x"].mean() > 100  # not folded into the statistics


def test_label_conventions():
    names = ("Picking", "Null")
    packaging = [
        Sample(
            name="s",
            fps=30.0,
            class_names=names,
            frame_labels=np.array([0, 1, 1, 0]),
            skeleton3d=np.zeros((4, 1, 25, 3), np.float32),
            imu=np.zeros((4, 4, 6), np.float32),
            subject=0,
            meta={"null_index": 1, "split": "train"},
        )
    ]
    data = prepare_segmentation("dest:x", samples=packaging, progress=False)
    assert data.ignore_labels == (1,) and data.inputs == ("skeleton3d", "imu") and data.in_channels == 75 + 24
    assert data.dataset("train")[0]["labels"].tolist() == [0, IGNORE_INDEX, IGNORE_INDEX, 0]
    openpack = [
        Sample(
            name="s",
            fps=30.0,
            class_names=(),
            frame_labels=np.array([100, 8100, 1000, 300]),
            imu=np.zeros((4, 4, 6), np.float32),
            meta={"label_kind": "openpack_id", "split": "train"},
        )
    ]
    data = prepare_segmentation("openpack:x", samples=openpack, progress=False)
    assert data.num_classes == 10
    assert data.dataset("train")[0]["labels"].tolist() == [0, IGNORE_INDEX, 9, 2]


def test_auto_inputs_prefer_features():
    assert auto_inputs(tiny_samples(num=1)[0]) == ("features",)


def test_bad_data_is_explained():
    clip = Sample(name="clip7", fps=30.0, class_names=("a",), label=0, skeleton3d=np.zeros((4, 1, 25, 3)))
    with pytest.raises(ValueError, match="clip7.*no frame labels"):
        prepare_segmentation("ntu:x", samples=[clip], progress=False)
    with pytest.raises(ValueError, match="no samples"):
        prepare_segmentation("ntu:x", samples=[], progress=False)


def test_watch_split_is_by_subject():
    from actseg_lib.data.real import load_watch

    try:
        samples = load_watch()
    except ImportError as error:
        pytest.skip(str(error))
    parts = split_indices(samples, "real:watch")
    assert [sorted(samples[i].subject for i in parts[k]) for k in ("train", "val", "test")] == [
        [1, 2, 3, 4, 5, 6],
        [7, 8],
        [9, 10],
    ]


def test_signal_inputs_accelerometer_layout_and_event_bits():
    """SigFormer's inputs: the IMUs' accelerometers alone, a layout that splits ``x`` back
    into streams, and event channels left as 0/1 bits by the standardisation."""
    from actseg_lib.data import synthact

    store = synthact.load("packaging", "reduced", progress=False)
    data = prepare_segmentation(
        "synthact:packaging", inputs=("imu_acc", "skeleton2d", "events"), samples=store, progress=False
    )
    assert data.layout == (("imu_acc", 12), ("skeleton2d", 50), ("events", 2))
    assert data.stream_kwargs() == {"input_layout": [["imu_acc", 12], ["skeleton2d", 50], ["events", 2]], "fps": 30.0}
    item = data.dataset("train")[0]
    sample = store[int(data.splits["train"][0])]
    raw_acc = sample.imu[..., :3].reshape(sample.num_frames, -1)
    np.testing.assert_allclose(item["x"][:, :12].numpy() * data.std[:12] + data.mean[:12], raw_acc, atol=1e-4)
    events = item["x"][:, 62:].numpy()
    assert set(np.unique(events)) == {0.0, 1.0}
    for k, name in enumerate(data.event_names):
        assert np.flatnonzero(events[:, k]).tolist() == sorted(set(sample.events[name].tolist()))

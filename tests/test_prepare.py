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


# --- small datasets: clear errors, OpenPack by box, what was read ----------------------


def openpack_session(boxes=6, seconds_per_box=4, fps=6.0, skeleton=True, name="S0100", subject=101):
    """One OpenPack-like session (operation ids, a box number per frame, events)."""
    per_box = int(seconds_per_box * fps)
    T = boxes * per_box
    ids = np.tile(np.repeat([8100, 100, 300, 1000], per_box // 4), boxes)  # a Null gap before each box
    box = np.repeat(np.arange(1, boxes + 1), per_box)
    box[ids == 8100] = 0  # Null rows: no box
    rng = np.random.default_rng(subject)
    return Sample(
        name=name,
        fps=fps,
        frame_labels=ids,
        imu=rng.standard_normal((T, 4, 6)).astype(np.float32),
        skeleton2d=rng.standard_normal((T, 1, 17, 2)).astype(np.float32) if skeleton else None,
        events={"scanner": np.arange(2, T, per_box), "printer": np.arange(5, T, per_box)},
        timestamps_ms=1634864400000 + np.arange(T) * 1000 // int(fps),
        subject=subject,
        meta={"label_kind": "openpack_id", "user": f"U{subject:04d}", "session": name, "boxes": box},
    )


def test_too_small_to_split_says_how_to_split_it():
    one = tiny_samples(num=1, with_split=False)
    for samples in (one, tiny_samples(num=2, with_split=False)):
        with pytest.raises(ValueError, match=r"cannot be split into train, val and test.*data\.split=box") as error:
            prepare_segmentation("pku:x", samples=samples, progress=False)
        assert "\n" not in str(error.value)
    three = tiny_samples(num=3, with_split=False)
    parts = split_indices(three, "pku:x")
    assert all(len(parts[k]) == 1 for k in ("train", "val", "test"))


def test_one_openpack_session_is_split_by_box():
    session = openpack_session(boxes=6)
    data = prepare_segmentation("openpack:x", samples=[session], progress=False)  # "auto": one session
    assert data.split == "box" and len(data.samples) == 6
    assert [s.meta["box"] for s in data.samples] == [1, 2, 3, 4, 5, 6]
    # the pieces are the session again, frame for frame, events moved with them
    np.testing.assert_array_equal(np.concatenate([s.imu for s in data.samples]), session.imu)
    np.testing.assert_array_equal(np.concatenate([s.timestamps_ms for s in data.samples]), session.timestamps_ms)
    starts = np.cumsum([0] + [s.num_frames for s in data.samples[:-1]])
    for name in ("scanner", "printer"):
        moved = np.concatenate([s.events[name] + start for s, start in zip(data.samples, starts)])
        np.testing.assert_array_equal(moved, session.events[name])
    assert data.samples[1].meta["boxes"].tolist().count(2) == data.samples[1].num_frames * 3 // 4
    parts = [set(data.splits[k].tolist()) for k in ("train", "val", "test")]
    assert all(parts) and not (parts[0] & parts[1] or parts[0] & parts[2] or parts[1] & parts[2])
    assert set().union(*parts) == set(range(6))
    assert "by box" in data.split_how["test"] and "by box" in data.split_how["val"]
    with pytest.raises(ValueError, match="2 boxes cannot be split"):
        prepare_segmentation("openpack:x", samples=[openpack_session(boxes=2)], progress=False)
    with pytest.raises(ValueError, match="data.split"):
        prepare_segmentation("openpack:x", samples=[session], split="user", progress=False)
    # enough sessions: split as before, unless asked for boxes
    sessions = [openpack_session(name=f"S{k:04d}", subject=101 + k) for k in range(4)]
    assert prepare_segmentation("openpack:x", samples=sessions, progress=False).split == "auto"
    boxed = prepare_segmentation("openpack:x", samples=sessions, split="box", progress=False)
    assert len(boxed.samples) == 24 and boxed.info()["split"] == "box"


def test_the_openpack_reader_keeps_each_frames_box(tmp_path):
    from actseg_lib.data import formats

    session = openpack_session(boxes=3, fps=30.0)
    written = Sample(
        name="S0100",
        fps=30.0,
        frame_labels=session.frame_labels,
        imu=session.imu,
        timestamps_ms=session.timestamps_ms,
        meta={"user": "U0101"},
    )
    formats.write("openpack", [written], tmp_path)
    back = formats.read("openpack", tmp_path)[0]
    # the writer numbers boxes by packing cycle: each cycle's operations carry its number
    np.testing.assert_array_equal(back.meta["boxes"], session.meta["boxes"])


def test_validation_is_carved_by_subject_when_known_else_by_recording():
    with_subjects = tiny_samples(num=12)
    data = prepare_segmentation("mstcn:x", samples=with_subjects, progress=False)
    assert "by subject" in data.split_how["val"] and data.split_how["test"] == "the source's test split"
    anonymous = tiny_samples(num=12)
    for s in anonymous:
        s.subject = None  # MS-TCN's files name no subject
    data = prepare_segmentation("mstcn:x", samples=anonymous, progress=False)
    assert "by recording" in data.split_how["val"] and len(data.splits["val"])


def test_missing_inputs_are_left_out_and_what_was_read_is_said():
    from actseg_lib.data.prepare import describe
    from actseg_lib.models import build_model

    sessions = [openpack_session(name=f"S{k:04d}", subject=101 + k, skeleton=False) for k in range(5)]
    data = prepare_segmentation(
        "openpack:x", inputs=["imu_acc", "skeleton2d", "events"], samples=sessions, progress=False
    )
    assert data.inputs == ("imu_acc", "events") and data.missing_inputs == ("skeleton2d",)
    assert data.layout == (("imu_acc", 12), ("events", 2))
    model = build_model("sigformer", "reduced", num_classes=data.num_classes, **data.stream_kwargs())
    text = describe(data, model)
    lines = text.splitlines()
    print(text)
    assert lines[0] == "openpack:x: 5 sequences, 10 classes; ignored: Null"
    assert lines[1] == "  inputs: imu_acc (12 channels) + events (2: printer, scanner); not in the data: skeleton2d"
    sizes = {k: len(v) for k, v in data.splits.items()}
    assert lines[2:5] == [
        f"  train: the rest ({sizes['train']} sequences)",
        f"  val: carved from what test left by subject, seed 0 ({sizes['val']} sequence)",
        f"  test: carved by subject, seed 0 ({sizes['test']} sequences)",
    ]
    assert lines[5] == "  SigFormer on imu_acc + events, guidance masked (no skeleton2d in the data)"
    with pytest.raises(ValueError, match="no 'skeleton3d'"):  # none of them there: the error names it
        prepare_segmentation("openpack:x", inputs=["skeleton3d"], samples=sessions, progress=False)

"""DeST layout: round trip (features, or skeletons flattened), padding label 255, computed
boundaries, DeST's doubled boundary marks, and one test per malformed input."""

import numpy as np
import pytest

from actseg_lib.common import IGNORE_INDEX
from actseg_lib.data import Sample, assert_samples_equal, formats
from actseg_lib.data.formats import FormatError, dest
from actseg_lib.data.formats.dest import action_starts

FIELDS = ["name", "fps", "features", "frame_labels", "boundaries"]


def runs(rng, length, num_classes):
    cuts = np.sort(rng.choice(np.arange(1, length), size=3, replace=False))
    return np.repeat(rng.integers(0, num_classes, size=4), np.diff([0, *cuts, length]))


def make_samples(seed=0):
    """A (T, 150) PKU-like sample, another with an unlabelled tail and explicit
    boundaries, and a skeleton-only one (flattened to (T, 150) too: a dataset's files
    share one per-frame shape)."""
    rng = np.random.default_rng(seed)
    pku = Sample(
        name="A01N01-L",
        features=rng.standard_normal((30, 150)).astype(np.float32),
        frame_labels=runs(rng, 30, 5),
        meta={"split": "train"},
    )
    labels = runs(rng, 24, 5)
    labels[-4:] = IGNORE_INDEX
    mcfs = Sample(
        name="mcfs_007",
        features=rng.standard_normal((24, 150)).astype(np.float32),
        frame_labels=labels,
        boundaries=action_starts(labels),
        meta={"split": "val"},
    )
    skeleton = Sample(
        name="synth_3",
        skeleton3d=rng.standard_normal((20, 2, 25, 3)).astype(np.float32),
        frame_labels=runs(rng, 20, 5),
        meta={"split": "test"},
    )
    return [pku, mcfs, skeleton]


@pytest.fixture
def written(tmp_path):
    samples = make_samples()
    formats.write("dest", samples, tmp_path)
    return tmp_path, samples


def by_name(samples):
    return {sample.name: sample for sample in samples}


def expected(sample):
    """What the reader should give back for ``sample``."""
    features = sample.features
    if features is None:
        features = sample.skeleton3d.reshape(len(sample.skeleton3d), -1)
    return Sample(
        name=sample.name,
        features=features,
        frame_labels=sample.frame_labels,
        boundaries=action_starts(sample.frame_labels),
        meta=sample.meta,
    )


def test_round_trip(written):
    root, samples = written
    read = by_name(formats.read("dest", root))
    assert sorted(read) == sorted(s.name for s in samples)
    for sample in samples:
        assert_samples_equal(expected(sample), read[sample.name], FIELDS + ["meta"])


def test_skeleton_is_flattened_body_joint_xyz(written):
    root, samples = written
    stored = np.load(root / "features" / "synth_3.npy")
    assert stored.shape == (20, 150)
    np.testing.assert_array_equal(stored.reshape(-1, 2, 25, 3), samples[2].skeleton3d)


def test_padding_label_is_255_on_disk(written):
    root, _ = written
    assert np.load(root / "gt_arr" / "mcfs_007.npy")[-4:].tolist() == [255] * 4


def test_csv_files_list_relative_paths(written):
    root, _ = written
    lines = (root / "csv" / "synthact" / "val1.csv").read_text().splitlines()
    assert lines == [
        "feature,label,boundary",
        "features/mcfs_007.npy,gt_arr/mcfs_007.npy,gt_boundary_arr/mcfs_007.npy",
    ]


def test_dataset_name_and_split_index(tmp_path):
    formats.write("dest", make_samples(), tmp_path, dataset="PKU-subject", split_index=2)
    assert (tmp_path / "csv" / "PKU-subject" / "test2.csv").is_file()
    assert len(formats.read("dest", tmp_path, dataset="PKU-subject", split_index=2)) == 3


def test_boundaries_follow_action_starts():
    labels = np.array([2, 2, 0, 0, IGNORE_INDEX, IGNORE_INDEX, 0, 3])
    assert action_starts(labels).tolist() == [1, 0, 1, 0, 0, 0, 1, 1]


def test_extra_boundary_marks_are_accepted(written):
    # DeST's generator also marks the frame after each change
    root, _ = written
    path = root / "gt_boundary_arr" / "A01N01-L.npy"
    doubled = np.load(path).astype(np.float64)
    doubled[1:] = np.maximum(doubled[1:], doubled[:-1])
    np.save(path, doubled)
    back = by_name(formats.read("dest", root))["A01N01-L"]
    np.testing.assert_array_equal(back.boundaries, doubled.astype(np.uint8))


def test_frame_counts_must_agree(written):
    root, _ = written
    np.save(root / "gt_arr" / "A01N01-L.npy", np.zeros(29, dtype=np.int64))
    with pytest.raises(FormatError, match=r"gt_arr/A01N01-L.npy: expected") as err:
        formats.read("dest", root)
    assert "T = 30 frames as A01N01-L.npy" in str(err.value) and "shape (29,)" in str(err.value)


def test_multi_axis_features_round_trip(tmp_path):
    # MCFS stores (T, 25, 2 or 3) OpenPose joints
    rng = np.random.default_rng(3)
    samples = [
        Sample(
            name=f"mcfs_{i}",
            features=rng.standard_normal((12, 25, 3)).astype(np.float32),
            frame_labels=runs(rng, 12, 4),
        )
        for i in range(2)
    ]
    formats.write("dest", samples, tmp_path)
    for sample, back in zip(samples, formats.read("dest", tmp_path)):
        np.testing.assert_array_equal(back.features, sample.features)


def test_feature_shape_must_match_the_dataset(written):
    root, _ = written
    path = root / "features" / "synth_3.npy"
    np.save(path, np.load(path)[:, :149])
    with pytest.raises(FormatError, match=r"synth_3.npy: expected \(T, 150\) per-frame features"):
        formats.read("dest", root)


def test_boundary_must_mark_each_action_start(written):
    root, samples = written
    path = root / "gt_boundary_arr" / "synth_3.npy"
    boundaries = np.load(path)
    start = int(np.flatnonzero(boundaries)[1])
    boundaries[start] = 0
    np.save(path, boundaries)
    with pytest.raises(FormatError, match=f"0 at frame {start}") as err:
        formats.read("dest", root)
    assert str(path) in str(err.value)


def test_boundary_must_be_zero_or_one(written):
    root, _ = written
    path = root / "gt_boundary_arr" / "synth_3.npy"
    np.save(path, np.load(path) * 2)
    with pytest.raises(FormatError, match="values"):
        formats.read("dest", root)


def test_csv_header_is_checked(written):
    root, _ = written
    path = root / "csv" / "synthact" / "train1.csv"
    path.write_text("features,labels\n")
    with pytest.raises(FormatError, match="train1.csv, line 1"):
        formats.read("dest", root)


def test_csv_row_must_point_at_files(written):
    root, _ = written
    path = root / "csv" / "synthact" / "test1.csv"
    row = "features/nope.npy,gt_arr/nope.npy,gt_boundary_arr/nope.npy\n"
    path.write_text(path.read_text() + row)
    with pytest.raises(FormatError, match="test1.csv, line 3") as err:
        formats.read("dest", root)
    assert "features/nope.npy" in str(err.value)


def test_missing_csv_files(tmp_path):
    (tmp_path / "csv" / "synthact").mkdir(parents=True)
    with pytest.raises(FormatError, match="train/val/test1.csv"):
        formats.read("dest", tmp_path)


def test_writer_refuses_labels_that_collide_with_padding(tmp_path):
    sample = make_samples()[0]
    sample.frame_labels[0] = 255
    with pytest.raises(ValueError, match="outside 0..254"):
        dest.write([sample], tmp_path)


def test_writer_refuses_boundaries_that_miss_a_start(tmp_path):
    sample = make_samples()[1]
    sample.boundaries = np.zeros_like(sample.boundaries)
    with pytest.raises(ValueError, match="0 at frame 0"):
        dest.write([sample], tmp_path)


def test_the_dataset_folder_is_found_when_there_is_one(tmp_path):
    from actseg_lib.data import formats
    from actseg_lib.data.formats import FormatError

    (tmp_path / "csv" / "PKU-MMD").mkdir(parents=True)
    (tmp_path / "csv" / "LARa").mkdir()
    with pytest.raises(FormatError, match="one dataset folder"):
        formats.read("dest", tmp_path)


def test_classes_named_by_their_ids_when_the_layout_has_no_names(tmp_path):
    from actseg_lib.data.prepare import prepare_segmentation

    rng = np.random.default_rng(1)
    samples = [
        Sample(
            name=f"v{i}",
            features=rng.standard_normal((30, 75)).astype(np.float32),
            frame_labels=runs(rng, 30, 4),
            meta={"split": split},
        )
        for i, split in enumerate(("train", "train", "val", "test"))
    ]
    formats.write("dest", samples, tmp_path)
    data = prepare_segmentation(f"dest:{tmp_path}", progress=False)
    count = max(int(s.frame_labels.max()) for s in samples) + 1
    assert data.class_names == tuple(f"class {k}" for k in range(count))
    assert data.in_channels == 75 and {k: len(v) for k, v in data.splits.items()} == {"train": 2, "val": 1, "test": 1}

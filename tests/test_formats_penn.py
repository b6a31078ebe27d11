"""Penn Action .mat labels: exact round trips, the NTU joint map, and checked files."""

import numpy as np
import pytest
import scipy.io

from actseg_lib.common.skeletons import NTU_TO_PENN
from actseg_lib.data import formats
from actseg_lib.data.formats import FormatError, penn
from actseg_lib.data.sample import Sample, assert_samples_equal

CLASSES = ("baseball_pitch", "bench_press", "squats")
FIELDS = ["name", "fps", "class_names", "label", "skeleton2d", "joint_scores"]


def clip(name, label, rng, T=6, joints=13, binary=True, **meta):
    xy = (rng.uniform(0, 1, (T, 1, joints, 2)) * 10.0 ** rng.uniform(-2, 3, (T, 1, joints, 2))).astype(np.float32)
    scores = rng.integers(0, 2, (T, 1, joints)) if binary else rng.uniform(0, 1, (T, 1, joints))
    return Sample(
        name=name, class_names=CLASSES, label=label, skeleton2d=xy, joint_scores=scores.astype(np.float32), meta=meta
    )


def test_write_then_read_gives_the_samples_back(tmp_path):
    rng = np.random.default_rng(0)
    bbox = rng.uniform(0, 500, (6, 4))
    samples = [
        clip("0001", 2, rng, pose="front", split="test", bbox=bbox, dimensions=(480, 640, 6)),
        clip("0002", 0, rng, T=1, binary=False),
        clip("0003", 1, rng),
    ]
    formats.write("penn", samples, tmp_path / "penn")
    back = formats.read("penn", tmp_path / "penn")
    for sample, read in zip(samples, back, strict=True):
        assert_samples_equal(sample, read, FIELDS)
    assert back[0].meta["pose"] == "front" and back[0].meta["split"] == "test"
    np.testing.assert_array_equal(back[0].meta["bbox"], bbox)
    assert back[0].meta["dimensions"] == (480, 640, 6)
    assert back[1].meta["pose"] == "unknown" and back[1].meta["split"] == "train"


def test_labels_index_the_sorted_actions_found_unless_given(tmp_path):
    rng = np.random.default_rng(1)
    penn.write([clip("0007", 2, rng), clip("0003", 0, rng)], tmp_path)
    found = penn.read(tmp_path)  # sorted by file: 0003 (baseball_pitch), 0007 (squats)
    assert [s.name for s in found] == ["0003", "0007"]
    assert found[0].class_names == ("baseball_pitch", "squats")
    assert [s.label for s in found] == [0, 1]
    assert [s.label for s in penn.read(tmp_path, class_names=CLASSES)] == [0, 2]


def test_box_and_dimensions_come_from_the_joints_when_absent(tmp_path):
    rng = np.random.default_rng(2)
    sample = clip("0001", 0, rng)
    penn.write([sample], tmp_path)
    (back,) = penn.read(tmp_path)
    xy = sample.skeleton2d[:, 0].astype(np.float64)  # [T, 13, 2]
    np.testing.assert_array_equal(back.meta["bbox"], np.concatenate([xy.min(1), xy.max(1)], axis=1))
    height, width, frames = back.meta["dimensions"]
    assert height > xy[..., 1].max() and width > xy[..., 0].max() and frames == 6


def test_ntu_joints_are_mapped_to_penn(tmp_path):
    rng = np.random.default_rng(3)
    sample = clip("abc", 1, rng, joints=25)
    penn.write([sample], tmp_path)
    (back,) = penn.read(tmp_path, class_names=CLASSES)
    assert back.name == "0001"  # a name that is not a number is replaced by the position
    np.testing.assert_array_equal(back.skeleton2d, sample.skeleton2d[:, :, NTU_TO_PENN])
    np.testing.assert_array_equal(back.joint_scores, sample.joint_scores[:, :, NTU_TO_PENN])


# --- malformed files -------------------------------------------------------------------


def saved(tmp_path, **changes):
    """A valid label file with some variables replaced (None: left out); its path."""
    penn.write([clip("0001", 0, np.random.default_rng(4))], tmp_path)
    path = tmp_path / "labels" / "0001.mat"
    contents = {k: v for k, v in scipy.io.loadmat(path).items() if not k.startswith("__")}
    contents.update(changes)
    scipy.io.savemat(path, {k: v for k, v in contents.items() if v is not None})
    return path


@pytest.mark.parametrize(
    "changes, words",
    [
        (dict(x=None), "no x"),
        (dict(visibility=None, bbox=None), "no visibility, bbox"),
        (dict(y=np.zeros((5, 13))), r"y of shape \(6, 13\)"),
        (dict(nframes=np.array([[7]])), r"x of shape \(7, 13\)"),
        (dict(train=np.array([[0]])), "train to be 1 or -1"),
        (dict(action=np.zeros(3)), "action to be a string"),
    ],
)
def test_malformed_file_is_named(tmp_path, changes, words):
    path = saved(tmp_path, **changes)
    with pytest.raises(FormatError, match=words) as error:
        penn.read(tmp_path)
    assert str(path) in str(error.value)


def test_action_outside_the_given_classes_is_named(tmp_path):
    path = saved(tmp_path)
    with pytest.raises(FormatError, match="bowling") as error:
        penn.read(tmp_path, class_names=("bowling",))
    assert str(path) in str(error.value)


def test_file_that_is_not_a_mat_file_is_named(tmp_path):
    path = saved(tmp_path)
    path.write_bytes(b"not a MATLAB file at all")
    with pytest.raises(FormatError, match="MATLAB") as error:
        penn.read(tmp_path)
    assert str(path) in str(error.value)

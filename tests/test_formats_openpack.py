"""OpenPack session folders: round trips on the atr01 clock, previous-value resampling,
events, operation intervals, and errors that name file and line."""

import json

import numpy as np
import pytest

from actseg_lib.common import IGNORE_INDEX
from actseg_lib.common.skeletons import NTU_TO_COCO
from actseg_lib.data import formats
from actseg_lib.data.formats import FormatError, openpack
from actseg_lib.data.sample import Sample, assert_samples_equal

FIELDS = [
    "name",
    "fps",
    "class_names",
    "subject",
    "timestamps_ms",
    "imu",
    "imu_names",
    "skeleton2d",
    "joint_scores",
    "events",
    "frame_labels",
]
NULL = 8100
LABELS = [NULL] * 3 + [100] * 4 + [200] * 5 + [NULL] * 2 + [100] * 3 + [300] * 3  # T = 20


def floats(rng, shape):
    return (rng.standard_normal(shape) * 10.0 ** rng.uniform(-4, 3, shape)).astype(np.float32)


def session(rng, name="S0100", T=20, joints=17, paired=True, **fields):
    """A session whose keypoints change every second frame when `paired` (15 Hz)."""
    points = floats(rng, (T, 1, joints, 2))
    scores = rng.uniform(0, 1, (T, 1, joints)).astype(np.float32)
    if paired:
        points[1::2], scores[1::2] = points[0::2][: T // 2], scores[0::2][: T // 2]
    values = dict(
        name=name,
        fps=30.0,
        class_names=openpack.CLASS_NAMES,
        subject=101,
        timestamps_ms=1634864400000 + np.cumsum(rng.integers(30, 37, T)),  # uneven steps
        imu=floats(rng, (T, 4, 6)),
        imu_names=openpack.ATR_DEVICES,
        skeleton2d=points,
        joint_scores=scores,
        events={"scanner": np.array([2, 5, 5, T - 1]), "printer": np.array([], dtype=np.int64)},
        frame_labels=np.array(LABELS[:T], dtype=np.int64),
        meta={"quaternions": floats(rng, (T, 4, 4))},
    )
    return Sample(**{**values, **fields})


def test_write_then_read_gives_the_session_back(tmp_path):
    sample = session(np.random.default_rng(0))
    formats.write("openpack", [sample], tmp_path / "openpack")
    (back,) = formats.read("openpack", tmp_path / "openpack")
    assert_samples_equal(sample, back, FIELDS)
    np.testing.assert_array_equal(back.meta["quaternions"], sample.meta["quaternions"])
    assert back.meta["user"] == "U0101" and back.meta["label_kind"] == "openpack_id"


def test_keypoints_between_written_frames_hold_the_previous_value(tmp_path):
    sample = session(np.random.default_rng(1), T=9, paired=False)
    openpack.write([sample], tmp_path)
    (back,) = openpack.read(tmp_path)
    previous = np.arange(9) // 2 * 2  # frames 0, 0, 2, 2, 4, 4, ...
    np.testing.assert_array_equal(back.skeleton2d, sample.skeleton2d[previous])
    np.testing.assert_array_equal(back.joint_scores, sample.joint_scores[previous])


def test_other_sensors_are_resampled_by_previous_value(tmp_path):
    sample = session(np.random.default_rng(2), T=6)
    openpack.write([sample], tmp_path)
    clock = sample.timestamps_ms
    # atr02 starts late and runs on its own clock: frames before its first sample take it
    rows = [(clock[1] + 1, 1.0), (clock[3], 2.0), (clock[4] + 5, 3.0)]
    text = ",".join(openpack.ATR_HEADER) + "\n" + "".join(f"{t}" + f",{v}" * 10 + "\n" for t, v in rows)
    (tmp_path / "U0101" / "atr" / "atr02" / "S0100.csv").write_text(text)
    (back,) = openpack.read(tmp_path)
    np.testing.assert_array_equal(back.imu[:, 1, 0], [1, 1, 1, 2, 2, 3])
    np.testing.assert_array_equal(back.imu[:, 0], sample.imu[:, 0])


def test_defaults_ntu_joints_and_users(tmp_path):
    rng = np.random.default_rng(3)
    ntu = session(
        rng,
        "S0200",
        joints=25,
        timestamps_ms=None,
        joint_scores=None,
        frame_labels=np.array([IGNORE_INDEX] * 10 + [400] * 10),
        events={},
        meta={"user": "U0202"},
    )
    openpack.write([session(rng), ntu], tmp_path)
    (back,) = openpack.read(tmp_path, users=["U0202"])
    assert (back.name, back.subject) == ("S0200", 202)
    np.testing.assert_array_equal(back.timestamps_ms, openpack.DEFAULT_START_MS + np.round(np.arange(20) * 1000 / 30))
    np.testing.assert_array_equal(back.skeleton2d, ntu.skeleton2d[:, :, NTU_TO_COCO])
    assert (back.joint_scores == 1).all()
    assert {name: frames.tolist() for name, frames in back.events.items()} == {"scanner": [], "printer": []}
    assert back.frame_labels.tolist() == [NULL] * 10 + [400] * 10
    assert [s.name for s in openpack.read(tmp_path)] == ["S0100", "S0200"]


def test_class_indices_are_refused_as_labels(tmp_path):
    sample = session(np.random.default_rng(4), frame_labels=np.arange(20) % 10)
    with pytest.raises(ValueError, match="map class indices to ids"):
        openpack.write([sample], tmp_path)


# --- malformed files -------------------------------------------------------------------


@pytest.fixture
def user(tmp_path):
    openpack.write([session(np.random.default_rng(5))], tmp_path)
    return tmp_path / "U0101"


def edit_line(path, number, change):
    lines = path.read_text().splitlines()
    lines[number - 1] = change(lines[number - 1])
    path.write_text("\n".join(lines) + "\n")


def expect_error(root, path, words, line=None):
    with pytest.raises(FormatError, match=words) as error:
        openpack.read(root)
    assert str(path) in str(error.value)
    if line is not None:
        assert f"line {line}:" in str(error.value)


def test_missing_atr01_is_named(user):
    path = user / "atr" / "atr01" / "S0100.csv"
    path.unlink()
    expect_error(user.parent, path, "no such file")


def test_header_mismatch_names_line_1(user):
    path = user / "atr" / "atr03" / "S0100.csv"
    edit_line(path, 1, lambda line: line.replace("gyro_x", "gyr_x"))
    expect_error(user.parent, path, "header unixtime,acc_x", line=1)


def test_time_going_back_names_the_line(user):
    path = user / "atr" / "atr01" / "S0100.csv"
    first = path.read_text().splitlines()[1].split(",")[0]
    edit_line(path, 6, lambda line: first + line[line.index(",") :])
    expect_error(user.parent, path, "increasing unixtime", line=6)


def test_unknown_operation_id_names_the_line(user):
    path = user / "annotation" / "openpack-operations" / "S0100.csv"
    edit_line(path, 3, lambda line: line.replace(",200,", ",250,"))
    expect_error(user.parent, path, "operation id", line=3)


def test_bad_annotation_time_names_the_line(user):
    path = user / "annotation" / "openpack-operations" / "S0100.csv"
    edit_line(path, 2, lambda line: line.replace("+09:00", "+9h", 1))
    expect_error(user.parent, path, "ISO 8601", line=2)


def test_keypoints_of_the_wrong_size_are_named(user):
    path = user / "kinect" / "2d-kpt" / openpack.DEFAULT_MODEL / "single" / "S0100.json"
    data = json.loads(path.read_text())
    data["annotations"][3]["keypoints"] = data["annotations"][3]["keypoints"][:16]
    path.write_text(json.dumps(data))
    expect_error(user.parent, path, r"annotations\[3\]")


def test_a_root_without_kinect_is_read_without_keypoints(tmp_path):
    """The IMU and IoT parts alone (no kinect/ folder anywhere): the sessions are read
    without skeleton2d; asked for (keypoints=True), the keypoints are required."""
    import shutil

    from actseg_lib.data.sources import load_data

    formats.write("openpack", [session(np.random.default_rng(0))], tmp_path)
    shutil.rmtree(tmp_path / "U0101" / "kinect")
    (sample,) = formats.read("openpack", tmp_path)
    assert sample.skeleton2d is None and sample.imu is not None and sample.frame_labels is not None
    with pytest.raises(FormatError, match="keypoints"):
        formats.read("openpack", tmp_path, keypoints=True)
    assert load_data(f"openpack:{tmp_path}")[0].skeleton2d is None


def test_a_root_without_system_is_read_without_events(tmp_path):
    """No system/ folder anywhere: the sessions are read without events; asked for
    (events=True), the event logs are required."""
    import shutil

    formats.write("openpack", [session(np.random.default_rng(0))], tmp_path)
    shutil.rmtree(tmp_path / "U0101" / "system")
    (sample,) = formats.read("openpack", tmp_path)
    assert not sample.events and sample.skeleton2d is not None
    with pytest.raises(FormatError, match="system"):
        formats.read("openpack", tmp_path, events=True)

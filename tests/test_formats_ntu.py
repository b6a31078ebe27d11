"""NTU RGB+D .skeleton files: exact round trips and errors that name file and line."""

import numpy as np
import pytest

from actseg_lib.data import formats
from actseg_lib.data.formats import FormatError, ntu
from actseg_lib.data.sample import Sample, assert_samples_equal

FIELDS = ["name", "fps", "label", "subject", "view", "skeleton3d", "skeleton2d"]


def floats(rng, shape, low=-6, high=4):
    """float32 values over many magnitudes, so the text format is really exercised."""
    return (rng.standard_normal(shape) * 10.0 ** rng.uniform(low, high, shape)).astype(np.float32)


def clip(seed=0, T=7, M=2, **meta):
    rng = np.random.default_rng(seed)
    xyz, color = floats(rng, (T, M, 25, 3)), rng.uniform(0, 1920, (T, M, 25, 2)).astype(np.float32)
    xyz[2], color[2] = 0, 0  # nobody tracked
    xyz[4, 1], color[4, 1] = 0, 0  # only the first body
    return Sample(
        name="S002C003P004R005A010",
        label=9,
        subject=4,
        view=3,
        skeleton3d=xyz,
        skeleton2d=color,
        meta={"setup": 2, "replication": 5, **meta},
    )


def test_write_then_read_gives_the_sample_back(tmp_path):
    sample = clip()
    formats.write("ntu", [sample], tmp_path / "ntu")
    (back,) = formats.read("ntu", tmp_path / "ntu")
    assert_samples_equal(sample, back, FIELDS)
    assert back.meta["body_counts"].tolist() == [2, 2, 0, 2, 1, 2, 2]
    assert (back.meta["setup"], back.meta["replication"]) == (2, 5)
    scale = np.array([512 / 1920, 424 / 1080], np.float32)
    np.testing.assert_array_equal(back.meta["depth2d"], sample.skeleton2d * scale)
    present = np.arange(2) < back.meta["body_counts"][:, None]  # [T, M]
    assert (back.meta["joint_tracking"][present] == 2).all()
    assert (back.meta["body_ids"][present] >= ntu.FIRST_BODY_ID).all()


def test_every_column_survives_read_write_read(tmp_path):
    rng = np.random.default_rng(1)
    T, M = 5, 2
    meta = dict(
        body_counts=np.array([2, 1, 0, 2, 2]),
        body_ids=rng.integers(0, 2**62, (T, M)),
        body_flags=rng.integers(0, 3, (T, M, 6)),
        lean=floats(rng, (T, M, 2), -3, 0),
        body_tracking=rng.integers(0, 3, (T, M)),
        depth2d=floats(rng, (T, M, 25, 2), 0, 3),
        orientation=floats(rng, (T, M, 25, 4), -3, 0),
        joint_tracking=rng.integers(0, 3, (T, M, 25)),
    )
    sample = clip(seed=1, T=T, M=M, **meta)
    ntu.write([sample], tmp_path / "a")
    (first,) = ntu.read(tmp_path / "a")
    ntu.write([first], tmp_path / "b")
    (second,) = ntu.read(tmp_path / "b")
    assert_samples_equal(first, second, FIELDS)
    assert first.meta.keys() == second.meta.keys()
    for key, value in first.meta.items():
        np.testing.assert_array_equal(second.meta[key], value, err_msg=key)
    present = np.arange(M) < meta["body_counts"][:, None]  # [T, M]: absent slots read as zeros
    for key in ("body_ids", "body_flags", "lean", "body_tracking", "depth2d", "orientation", "joint_tracking"):
        np.testing.assert_array_equal(first.meta[key][present], meta[key][present], err_msg=key)


def test_file_name_carries_the_ids_and_exclude_skips(tmp_path):
    samples = [clip(), clip(seed=2, replication=6)]
    ntu.write(samples, tmp_path)
    names = [s.name for s in ntu.read(tmp_path)]
    assert names == ["S002C003P004R005A010", "S002C003P004R006A010"]
    assert [s.name for s in ntu.read(tmp_path, exclude={"S002C003P004R005A010"})] == names[1:]


def test_samples_with_the_same_ids_are_refused(tmp_path):
    with pytest.raises(ValueError, match="replication"):
        ntu.write([clip(), clip(seed=3)], tmp_path)


# --- malformed files -------------------------------------------------------------------
# A written 2-frame, 1-body clip: line 1 frame count, 2 body count, 3 body line,
# 4 joint count, 5..29 joints, 30 body count of frame 2, 31 body line, ...


def written_lines(tmp_path) -> list[str]:
    rng = np.random.default_rng(4)
    sample = Sample(name="x", label=0, subject=1, view=1, skeleton3d=floats(rng, (2, 1, 25, 3)))
    ntu.write([sample], tmp_path)
    return (tmp_path / "S001C001P001R001A001.skeleton").read_text().splitlines()


def broken(lines, number, text=None):
    """The lines with line `number` replaced (or removed, with all after it, when None)."""
    return lines[: number - 1] + ([] if text is None else [text, *lines[number:]])


@pytest.mark.parametrize(
    "edit, line, words",
    [
        (lambda ls: broken(ls, 7, " ".join(ls[6].split()[:11])), 7, "joint line of 12 fields"),
        (lambda ls: broken(ls, 2, "one"), 2, "body count"),
        (lambda ls: broken(ls, 3, ls[2].replace(" ", " x ", 1)), 3, "body line of 10 fields"),
        (lambda ls: broken(ls, 4, "24"), 4, "joint count 25"),
        (lambda ls: broken(ls, 12), 12, "end of the file"),
        (lambda ls: broken(ls, 1, "1"), 30, "after the 1 frames line 1 announces"),
        (lambda ls: broken(ls, 1, "3"), 58, "end of the file"),
    ],
)
def test_malformed_file_names_file_and_line(tmp_path, edit, line, words):
    lines = written_lines(tmp_path)
    path = tmp_path / "S001C001P001R001A001.skeleton"
    path.write_text("\n".join(edit(lines)) + "\n")
    with pytest.raises(FormatError, match=words) as error:
        ntu.read(tmp_path)
    assert str(path) in str(error.value) and f"line {line}:" in str(error.value)


def test_bad_file_name_is_reported(tmp_path):
    lines = written_lines(tmp_path)
    path = tmp_path / "clip01.skeleton"
    path.write_text("\n".join(lines))
    with pytest.raises(FormatError, match="SsssCcccPpppRrrrAaaa") as error:
        ntu.read_file(path)
    assert str(path) in str(error.value)

"""PKU-MMD raw files: round trip (bit-exact floats, one body padded to two), inclusive
label ends, confidences, and one test per malformed input."""

import numpy as np
import pytest

from actseg_lib.common import IGNORE_INDEX
from actseg_lib.data import Sample, assert_samples_equal, formats
from actseg_lib.data.formats import FormatError, pku

FIELDS = ["name", "fps", "class_names", "skeleton3d", "frame_labels", "meta"]
CLASSES = ("background",) + tuple(f"action{i}" for i in range(1, 52))


def hard_floats(rng, shape):
    """float32 values over many magnitudes, the ones short decimal output gets wrong."""
    mantissa = rng.standard_normal(shape)
    return (mantissa * 10.0 ** rng.uniform(-8, 8, size=shape)).astype(np.float32)


def make_samples(seed=0):
    rng = np.random.default_rng(seed)
    two = Sample(
        name="0002-L",
        class_names=CLASSES,
        skeleton3d=hard_floats(rng, (12, 2, 25, 3)),
        frame_labels=np.array([0, 0, 3, 3, 3, 0, 51, 51, 7, 7, 7, 0]),
        meta={"confidences": [2.0, 1.0, 1.5]},
    )
    one = Sample(
        name="0001-M",
        class_names=CLASSES,
        skeleton3d=hard_floats(rng, (5, 1, 25, 3)),
        frame_labels=np.array([4, 4, 0, 0, 9]),
    )
    return [two, one]


@pytest.fixture
def written(tmp_path):
    samples = make_samples()
    formats.write("pku", samples, tmp_path)
    return tmp_path, samples


def by_name(samples):
    return {sample.name: sample for sample in samples}


def test_round_trip_is_bit_exact(written):
    root, samples = written
    back = by_name(formats.read("pku", root, class_names=CLASSES))
    assert list(back) == ["0001-M", "0002-L"]  # sorted by file name
    assert_samples_equal(samples[0], back["0002-L"], FIELDS)
    np.testing.assert_array_equal(samples[0].skeleton3d.view(np.uint32), back["0002-L"].skeleton3d.view(np.uint32))


def test_missing_second_body_comes_back_as_zeros(written):
    root, samples = written
    back = by_name(formats.read("pku", root))["0001-M"]
    assert back.skeleton3d.shape == (5, 2, 25, 3)
    np.testing.assert_array_equal(back.skeleton3d[:, :1], samples[1].skeleton3d)
    assert not back.skeleton3d[:, 1].any()
    assert back.meta == {"confidences": [1.0, 1.0]}


def test_label_rows_have_inclusive_ends(written):
    root, _ = written
    assert (root / "Label" / "0002-L.txt").read_text() == "3,2,4,2\n51,6,7,1\n7,8,10,1.5\n"
    assert (root / "Label" / "0001-M.txt").read_text() == "4,0,1,1\n9,4,4,1\n"


def test_skeleton_rows_hold_150_numbers(written):
    root, _ = written
    rows = (root / "Skeleton" / "0001-M.txt").read_text().splitlines()
    assert len(rows) == 5 and all(len(row.split()) == 150 for row in rows)


def test_unordered_label_rows_are_read_in_time_order(tmp_path):
    write_files(tmp_path, rows=3, labels="5,2,2,1\n1,0,1,2\n")
    back = formats.read("pku", tmp_path)[0]
    assert back.frame_labels.tolist() == [1, 1, 5]
    assert back.meta["confidences"] == [2.0, 1.0]


def write_files(root, rows, labels, skeleton=None):
    """A one-sequence PKU folder with ``rows`` zero frames (or ``skeleton`` text)."""
    (root / "Skeleton").mkdir(exist_ok=True)
    (root / "Label").mkdir(exist_ok=True)
    zeros = " ".join(["0"] * 150) + "\n"
    text = skeleton if skeleton is not None else zeros * rows
    (root / "Skeleton" / "seq.txt").write_text(text)
    (root / "Label" / "seq.txt").write_text(labels)
    return root / "Skeleton" / "seq.txt", root / "Label" / "seq.txt"


def test_short_skeleton_row_names_file_and_line(tmp_path):
    row = " ".join(["0.5"] * 150) + "\n"
    path, _ = write_files(tmp_path, 0, "", skeleton=row + " ".join(["0.5"] * 149) + "\n" + row)
    with pytest.raises(FormatError, match="line 2") as err:
        formats.read("pku", tmp_path)
    assert str(path) in str(err.value) and "149 fields" in str(err.value)


def test_non_numeric_skeleton_value(tmp_path):
    row = " ".join(["0.5"] * 150) + "\n"
    write_files(tmp_path, 0, "", skeleton=row + row.replace("0.5", "x", 1))
    with pytest.raises(FormatError, match="seq.txt, line 2"):
        formats.read("pku", tmp_path)


@pytest.mark.parametrize(
    "labels, line",
    [
        ("1,0,1,1\n1,2,4,1\n", 2),  # end 4 past the last frame (T = 4, ends inclusive)
        ("1,0,2,1\n2,2,3,1\n", 2),  # overlaps the previous instance at frame 2
        ("0,0,1,1\n", 1),  # action ids start at 1; 0 is background
        ("1,3,2,1\n", 1),  # start after end
        ("1,0,1\n", 1),  # confidence missing
        ("1;0;1;1\n", 1),  # wrong separator
    ],
)
def test_bad_label_row_names_file_and_line(tmp_path, labels, line):
    _, path = write_files(tmp_path, 4, labels)
    with pytest.raises(FormatError, match=f"line {line}") as err:
        formats.read("pku", tmp_path)
    assert str(path) in str(err.value)


def test_missing_label_file(tmp_path):
    write_files(tmp_path, 2, "")
    (tmp_path / "Label" / "seq.txt").unlink()
    with pytest.raises(FormatError, match="Label/seq.txt"):
        formats.read("pku", tmp_path)


def test_writer_refuses_three_bodies(tmp_path):
    sample = Sample(name="x", skeleton3d=np.zeros((2, 3, 25, 3), np.float32), frame_labels=np.zeros(2, np.int64))
    with pytest.raises(ValueError, match="3 bodies"):
        pku.write([sample], tmp_path)


def test_writer_refuses_ignored_frames(tmp_path):
    sample = make_samples()[1]
    sample.frame_labels[0] = IGNORE_INDEX
    with pytest.raises(ValueError, match="negative labels"):
        pku.write([sample], tmp_path)


def test_writer_needs_one_confidence_per_run(tmp_path):
    sample = make_samples()[0]
    sample.meta["confidences"] = [1.0]
    with pytest.raises(ValueError, match="3 action runs but 1"):
        pku.write([sample], tmp_path)

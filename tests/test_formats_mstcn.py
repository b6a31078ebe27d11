"""MS-TCN features layout: round trip, the on-disk layout, the 50Salads sample rate, the
length-mismatch option, and one test per malformed input."""

import numpy as np
import pytest

from actseg_lib.common import IGNORE_INDEX
from actseg_lib.data import Sample, assert_samples_equal, formats
from actseg_lib.data.formats import FormatError, mstcn

CLASSES = ("SIL", "pour_milk", "stir", "take cup")  # a name with a space survives mapping.txt
FIELDS = ["name", "fps", "class_names", "features", "frame_labels"]


def runs(rng, length, num_classes):
    """[T] int64 labels made of a few constant runs, like real segmentations."""
    cuts = np.sort(rng.choice(np.arange(1, length), size=3, replace=False))
    return np.repeat(rng.integers(0, num_classes, size=4), np.diff([0, *cuts, length]))


def make_samples(seed=0):
    rng = np.random.default_rng(seed)
    samples = []
    for index, (length, split) in enumerate([(40, "train"), (33, "test"), (25, "train")]):
        samples.append(
            Sample(
                name=f"P{index:02d}_cam01",
                fps=15.0,
                class_names=CLASSES,
                features=rng.standard_normal((length, 8)).astype(np.float32),
                frame_labels=runs(rng, length, len(CLASSES)),
                meta={"split": split},
            )
        )
    return samples


@pytest.fixture
def written(tmp_path):
    samples = make_samples()
    formats.write("mstcn", samples, tmp_path)
    return tmp_path, samples


def by_name(samples):
    return {sample.name: sample for sample in samples}


def test_round_trip(written):
    root, samples = written
    read = by_name(formats.read("mstcn", root))
    assert sorted(read) == sorted(s.name for s in samples)
    for sample in samples:
        back = read[sample.name]
        assert_samples_equal(sample, back, FIELDS)
        assert back.meta == {"split": sample.meta["split"], "sample_rate": 1, "full_length": len(sample.frame_labels)}


def test_files_follow_the_layout(written):
    root, samples = written
    assert np.load(root / "features" / "P00_cam01.npy").shape == (8, 40)  # (D, T)
    assert (root / "mapping.txt").read_text().splitlines()[3] == "3 take cup"
    gt = (root / "groundTruth" / "P00_cam01.txt").read_text().splitlines()
    assert gt == [CLASSES[i] for i in samples[0].frame_labels]
    assert (root / "splits" / "train.split1.bundle").read_text() == "P00_cam01.txt\nP02_cam01.txt\n"
    assert (root / "splits" / "test.split1.bundle").read_text() == "P01_cam01.txt\n"


def test_split_index_names_the_bundles(tmp_path):
    formats.write("mstcn", make_samples(), tmp_path, split_index=3)
    assert (tmp_path / "splits" / "test.split3.bundle").is_file()
    assert len(formats.read("mstcn", tmp_path, split_index=3)) == 3


def test_sample_rate_keeps_every_second_frame(written):
    root, samples = written
    back = by_name(formats.read("mstcn", root, sample_rate=2))["P01_cam01"]
    np.testing.assert_array_equal(back.features, samples[1].features[::2])
    np.testing.assert_array_equal(back.frame_labels, samples[1].frame_labels[::2])
    assert back.fps == 7.5
    assert back.meta["full_length"] == 33
    # predictions on the subsampled clock repeat back to the full-rate labels
    full = np.repeat(back.frame_labels, back.meta["sample_rate"])[: back.meta["full_length"]]
    assert len(full) == 33


def test_length_mismatch_fails_naming_both_lengths(written):
    root, _ = written
    gt = root / "groundTruth" / "P02_cam01.txt"
    gt.write_text(gt.read_text() + "SIL\nSIL\n")
    with pytest.raises(FormatError) as err:
        formats.read("mstcn", root)
    message = str(err.value)
    assert str(gt) in message and "expected 25 lines" in message and "got 27 lines" in message


def test_length_mismatch_cut_only_when_allowed(written):
    root, samples = written
    gt = root / "groundTruth" / "P02_cam01.txt"
    gt.write_text(gt.read_text() + "SIL\nSIL\n")
    back = by_name(formats.read("mstcn", root, allow_length_mismatch=True))["P02_cam01"]
    assert_samples_equal(samples[2], back, ["features", "frame_labels"])


def test_unknown_class_name_names_file_and_line(written):
    root, _ = written
    gt = root / "groundTruth" / "P00_cam01.txt"
    lines = gt.read_text().splitlines()
    lines[2] = "fry_egg"
    gt.write_text("\n".join(lines) + "\n")
    with pytest.raises(FormatError, match="line 3") as err:
        formats.read("mstcn", root)
    assert str(gt) in str(err.value) and "fry_egg" in str(err.value)


def test_missing_mapping(written):
    root, _ = written
    (root / "mapping.txt").unlink()
    with pytest.raises(FormatError, match="mapping.txt"):
        formats.read("mstcn", root)


def test_mapping_ids_must_count_from_zero(written):
    root, _ = written
    (root / "mapping.txt").write_text("0 SIL\n2 stir\n")
    with pytest.raises(FormatError, match="mapping.txt, line 2"):
        formats.read("mstcn", root)


def test_bundle_line_must_name_a_txt(written):
    root, _ = written
    bundle = root / "splits" / "test.split1.bundle"
    bundle.write_text("P01_cam01\n")
    with pytest.raises(FormatError, match="test.split1.bundle, line 1"):
        formats.read("mstcn", root)


def test_features_must_be_two_dimensional(written):
    root, _ = written
    np.save(root / "features" / "P00_cam01.npy", np.zeros((2, 3, 40), dtype=np.float32))
    with pytest.raises(FormatError, match="P00_cam01.npy"):
        formats.read("mstcn", root)


def test_writer_refuses_ignored_frames(tmp_path):
    sample = make_samples()[0]
    sample.frame_labels[0] = IGNORE_INDEX
    with pytest.raises(ValueError, match="labels outside"):
        mstcn.write([sample], tmp_path)


def test_writer_refuses_unknown_split(tmp_path):
    sample = make_samples()[0]
    sample.meta["split"] = "val"
    with pytest.raises(ValueError, match="split 'val'"):
        mstcn.write([sample], tmp_path)

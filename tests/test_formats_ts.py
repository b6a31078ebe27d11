"""UEA/UCR .ts files: round trip (features or flattened IMU, equal and unequal lengths,
missing values, bit-exact floats), the header written, a hand-written file in aeon's spellings,
and one test per malformed input."""

import numpy as np
import pytest

from actseg_lib.data import Sample, assert_samples_equal, formats
from actseg_lib.data.formats import FormatError, ts

CLASSES = ("walk", "run", "sit")
FIELDS = ["fps", "class_names", "label", "features"]


def hard_floats(rng, shape):
    """float32 values over many magnitudes, the ones short decimal output gets wrong."""
    return (rng.standard_normal(shape) * 10.0 ** rng.uniform(-8, 8, size=shape)).astype(np.float32)


def feature_samples(lengths=(16, 16, 16), channels=3, seed=0):
    rng = np.random.default_rng(seed)
    return [
        Sample(name=f"clip{i}", class_names=CLASSES, label=i % 3, features=hard_floats(rng, (length, channels)))
        for i, length in enumerate(lengths)
    ]


def round_trip(samples, root, **options):
    formats.write("ts", samples, root, **options)
    return formats.read("ts", root, **options)


@pytest.mark.parametrize("lengths, channels", [((16, 16, 16), 3), ((9, 14, 5), 2), ((7, 7), 1)])
def test_round_trip_is_bit_exact(tmp_path, lengths, channels):
    samples = feature_samples(lengths, channels)
    back = round_trip(samples, tmp_path)
    assert [s.name for s in back] == [f"SynthAct_TRAIN_{i}" for i in range(len(samples))]
    for sample, read in zip(samples, back):
        assert_samples_equal(sample, read, FIELDS)
        np.testing.assert_array_equal(sample.features.view(np.uint32), read.features.view(np.uint32))


def test_imu_is_flattened_sensor_by_axis(tmp_path):
    rng = np.random.default_rng(1)
    imu = rng.standard_normal((10, 2, 6)).astype(np.float32)
    sample = Sample(name="s", class_names=CLASSES, label=1, imu=imu)
    (back,) = round_trip([sample], tmp_path, name="Imu", split="TEST")
    assert (tmp_path / "Imu_TEST.ts").is_file()
    np.testing.assert_array_equal(back.features, imu.reshape(10, 12))
    assert back.label == 1


def test_missing_values_round_trip(tmp_path):
    samples = feature_samples((6, 6), 2)
    samples[1].features[2, 1] = np.nan
    back = round_trip(samples, tmp_path)
    assert "@missing true" in (tmp_path / "SynthAct_TRAIN.ts").read_text()
    assert np.isnan(back[1].features[2, 1])
    assert_samples_equal(samples[1], back[1], FIELDS)


def test_header_written(tmp_path):
    ts.write(feature_samples((4, 4), 6), tmp_path, name="BasicMotions")
    lines = (tmp_path / "BasicMotions_TRAIN.ts").read_text().splitlines()
    assert lines[:9] == [
        "@problemName BasicMotions",
        "@timeStamps false",
        "@missing false",
        "@univariate false",
        "@dimensions 6",
        "@equalLength true",
        "@seriesLength 4",
        "@classLabel true walk run sit",
        "@data",
    ]
    assert lines[9].count(":") == 6 and lines[9].endswith(":walk")


def test_unequal_lengths_drop_series_length(tmp_path):
    ts.write(feature_samples((4, 5), 1), tmp_path)
    text = (tmp_path / "SynthAct_TRAIN.ts").read_text()
    assert "@equalLength false" in text and "@seriesLength" not in text
    assert "@univariate true" in text and "@dimensions" not in text


def test_unlabelled_cases(tmp_path):
    samples = feature_samples((4, 4), 2)
    for sample in samples:
        sample.label, sample.class_names = None, ()
    back = round_trip(samples, tmp_path)
    assert "@classLabel false" in (tmp_path / "SynthAct_TRAIN.ts").read_text()
    assert [s.label for s in back] == [None, None]


# the spellings aeon's own files and writer use: '%' comments, '@dimension', 'False'
AEON_STYLE = """\
#Comments come first.
% another comment style
@problemName Tiny
@timestamps false
@missing False
@univariate false
@dimension 2
@equalLength false
@classLabel true 1 2
@data
1.5,2,3:4,5,6:2
# comments may appear among the cases too

0.25:-1:1
"""


def test_reads_a_file_path_with_comments_and_mixed_case_tags(tmp_path):
    path = tmp_path / "Tiny_TEST.ts"
    path.write_text(AEON_STYLE)
    first, second = formats.read("ts", path)
    assert first.name == "Tiny_TEST_0" and first.class_names == ("1", "2")
    np.testing.assert_array_equal(first.features, np.array([[1.5, 4], [2, 5], [3, 6]], np.float32))
    assert (first.label, second.label) == (1, 0)
    assert second.features.shape == (1, 2)


def test_regression_target_goes_to_meta(tmp_path):
    path = tmp_path / "Reg.ts"
    path.write_text("@problemName Reg\n@targetLabel true\n@data\n1,2:0.5\n")
    (case,) = formats.read("ts", path)
    assert case.label is None and case.meta == {"target": 0.5}


HEADER = [
    "@problemName P",
    "@timeStamps false",
    "@missing false",
    "@univariate false",
    "@dimensions 2",
    "@equalLength true",
    "@seriesLength 3",
    "@classLabel true a b",
    "@data",
]
CASE = "1,2,3:4,5,6:a"


def replaced(index, line):
    lines = list(HEADER)
    lines[index] = line
    return lines + [CASE]


@pytest.mark.parametrize(
    "lines, line, words",
    [
        (replaced(1, "@colour blue"), 2, "known tag"),
        (replaced(4, "@dimensions two"), 5, "valid value for @dimensions"),
        (replaced(1, "@timeStamps true"), 2, "not supported"),
        (replaced(7, "@classLabel true"), 8, "valid value for @classlabel"),
        (HEADER[:7] + ["@data", CASE], 8, "@classLabel or @targetLabel"),
        (HEADER[1:] + [CASE], 8, "@problemName before @data"),
        (HEADER[:-1] + [CASE], 9, "'@data' before the cases"),
        (HEADER[:-1], 8, "'@data' before the cases"),
        (HEADER + [CASE, "1,2,3:a"], 11, "2 channels"),
        (HEADER + [CASE, "1,2,3:4,5,6:7,8,9:a"], 11, "2 channels"),
        (HEADER + [CASE, "1,2,3:4,5,6:c"], 11, "label from @classLabel"),
        (HEADER + [CASE, "1,2,3:4,5:a"], 11, "channels of one length"),
        (HEADER + [CASE, "1,2:4,5:a"], 11, "series of length 3"),
        (HEADER + [CASE, "1,?,3:4,5,6:a"], 11, "@missing false"),
        (HEADER + [CASE, "1,x,3:4,5,6:a"], 11, "comma-separated numbers"),
        (HEADER, 9, "at least one case"),
    ],
)
def test_malformed_file_names_file_and_line(tmp_path, lines, line, words):
    path = tmp_path / "Bad_TRAIN.ts"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(FormatError, match=f"Bad_TRAIN.ts, line {line}:") as err:
        ts.read(path)
    assert words in str(err.value)


def test_missing_file(tmp_path):
    with pytest.raises(FormatError, match="SynthAct_TEST.ts"):
        ts.read(tmp_path, split="TEST")


def test_spaces_in_class_names_become_underscores(tmp_path):
    samples = feature_samples((4, 4), 1)
    for sample in samples:
        sample.class_names = ("walk  fast", "run", "sit")
    back = round_trip(samples, tmp_path)
    assert back[0].class_names == ("walk_fast", "run", "sit")
    assert [s.label for s in back] == [0, 1]


@pytest.mark.parametrize(
    "class_names, words",
    [
        (("a:b", "c"), "'a:b'"),
        (("a,b", "c"), "'a,b'"),
        (("a b", "a_b"), "collide"),
    ],
)
def test_writer_refuses_labels_the_format_cannot_hold(tmp_path, class_names, words):
    samples = feature_samples((4,), 1)
    samples[0].class_names = class_names
    with pytest.raises(ValueError, match=words):
        ts.write(samples, tmp_path)


def test_writer_refuses_mixed_channel_counts(tmp_path):
    samples = feature_samples((4,), 2) + feature_samples((4,), 3)
    with pytest.raises(ValueError, match="same number of channels"):
        ts.write(samples, tmp_path)

"""Every reader refuses malformed data (see tests/malformed.py) with a one-line
FormatError that names the corrupted file and what was expected; unlabelled=True reads
datasets without their annotation files."""

import inspect

import numpy as np
import pytest
from malformed import NUM_DAILY_CLASSES, Templates, all_cases, synthact_samples

from actseg_lib.data import formats
from actseg_lib.data.formats import FormatError

CASES = all_cases()


@pytest.fixture(scope="module")
def templates(tmp_path_factory):
    return Templates(tmp_path_factory.mktemp("malformed"))


def test_every_reader_has_many_cases():
    per_format = {fmt: sum(case.fmt == fmt for case in CASES) for fmt in formats.FORMATS}
    assert len(CASES) >= 100 and min(per_format.values()) >= 15, per_format
    assert len({case.id for case in CASES}) == len(CASES)
    assert len(synthact_samples("mstcn")[0].class_names) == NUM_DAILY_CLASSES


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_malformed_data_is_refused_naming_the_file(templates, case):
    root, corrupted = templates.corrupted(case)
    with pytest.raises(FormatError) as error:
        formats.read(case.fmt, root, **case.options)
    message = str(error.value)
    assert "\n" not in message
    assert corrupted.relative_to(root).as_posix() in message
    assert "expected" in message
    assert "allow_pickle" not in message


@pytest.mark.parametrize("fmt", formats.FORMATS)
def test_the_untouched_datasets_read(templates, fmt):
    samples = formats.read(fmt, templates.template(fmt))
    assert samples and all(s.num_frames > 0 for s in samples)


# each reader's annotation files, relative to the dataset root
ANNOTATIONS = {
    "mstcn": ["groundTruth", "mapping.txt"],
    "dest": ["gt_arr", "gt_boundary_arr"],
    "pku": ["Label"],
    "openpack": ["U0101/annotation", "U0201/annotation"],
}


@pytest.mark.parametrize("fmt", ANNOTATIONS)
def test_unlabelled_reads_without_annotation_files(templates, tmp_path, fmt):
    import shutil

    root = tmp_path / fmt
    shutil.copytree(templates.template(fmt), root)
    labelled = formats.read(fmt, root)
    for name in ANNOTATIONS[fmt]:
        path = root / name
        shutil.rmtree(path) if path.is_dir() else path.unlink()
    with pytest.raises(FormatError, match="unlabelled=True"):
        formats.read(fmt, root)
    unlabelled = formats.read(fmt, root, unlabelled=True)
    assert [s.name for s in unlabelled] == [s.name for s in labelled]
    for with_labels, without in zip(labelled, unlabelled):
        assert without.frame_labels is None and with_labels.frame_labels is not None
        for field in ("features", "skeleton3d", "imu"):
            if getattr(with_labels, field) is not None:
                np.testing.assert_array_equal(getattr(without, field), getattr(with_labels, field))


@pytest.mark.parametrize("fmt", formats.FORMATS)
def test_reader_options_are_plain_typed_keywords(fmt):
    read = formats._module(fmt).read
    options = list(inspect.signature(read).parameters.values())[1:]
    for option in options:
        assert option.kind is option.POSITIONAL_OR_KEYWORD and option.default is not option.empty, option
        assert option.annotation is not option.empty, f"{fmt}.read: {option.name} has no type"
        assert option.name in read.__doc__, f"{fmt}.read: {option.name} is not documented"
    if fmt in ANNOTATIONS:
        assert inspect.signature(read).parameters["unlabelled"].default is False


def test_a_declared_missing_value_in_ts_is_still_read(tmp_path):
    path = tmp_path / "x_TRAIN.ts"
    path.write_text("@problemName x\n@missing true\n@univariate true\n@classLabel true a b\n@data\n1,?,3:a\n")
    (sample,) = formats.read("ts", path)
    assert np.isnan(sample.features[1, 0]) and sample.features[2, 0] == 3

"""SynthAct -> real format -> reader: the same arrays and labels come back, for every format."""

import numpy as np
import pytest

from actseg_lib.common.skeletons import NTU_TO_COCO, NTU_TO_PENN
from actseg_lib.data import formats, synthact
from actseg_lib.data.sources import (
    FORMAT_SOURCE,
    for_format,
    load_data,
    parse_format_spec,
    parse_synthact,
    reader_options,
)
from actseg_lib.data.synthact.generate import config_for, make_clips, make_workflow

TINY = config_for(
    "reduced", num_subjects=2, image_size=24, clip_frames=6, boxes_per_session=1, actions_per_sequence=(2, 2)
)


def synthact_samples(kind):
    if kind == "clips":
        return [c for cls in (0, 2) for c in make_clips(TINY, cls, 1, 0)]
    return [make_workflow(TINY, kind, i) for i in range(2)]


def roundtrip(fmt, tmp_path):
    written = list(for_format(fmt, synthact_samples(FORMAT_SOURCE[fmt]), split_of={0: "train", 1: "test"}))
    options = {"split": "TRAIN"} if fmt == "ts" else {}
    formats.write(fmt, written, tmp_path, **options)
    back = formats.read(fmt, tmp_path, **options)
    by_name = {s.name: s for s in back}
    return [(w, by_name[w.name]) for w in written if w.name in by_name], back


def test_mstcn(tmp_path):
    pairs, _ = roundtrip("mstcn", tmp_path)
    for w, r in pairs:
        np.testing.assert_array_equal(w.features, r.features)
        np.testing.assert_array_equal(w.frame_labels, r.frame_labels)
        assert w.class_names == r.class_names


def test_dest(tmp_path):
    pairs, _ = roundtrip("dest", tmp_path)
    for w, r in pairs:
        np.testing.assert_array_equal(w.features, r.features)
        np.testing.assert_array_equal(w.frame_labels, r.frame_labels)
        np.testing.assert_array_equal(w.boundaries, r.boundaries)


def test_pku(tmp_path):
    pairs, _ = roundtrip("pku", tmp_path)
    for w, r in pairs:
        np.testing.assert_array_equal(w.skeleton3d[:, 0], r.skeleton3d[:, 0])
        assert not r.skeleton3d[:, 1].any()  # PKU's absent second body: zeros
        np.testing.assert_array_equal(w.frame_labels, r.frame_labels)


def test_ntu(tmp_path):
    pairs, back = roundtrip("ntu", tmp_path)
    assert len(pairs) == len(back) == 6
    for w, r in pairs:
        np.testing.assert_array_equal(w.skeleton3d, r.skeleton3d)
        np.testing.assert_array_equal(w.skeleton2d, r.skeleton2d)
        assert (w.label, w.subject, w.view) == (r.label, r.subject, r.view)


def test_penn(tmp_path):
    written = list(for_format("penn", synthact_samples("clips")))
    formats.write("penn", written, tmp_path)
    back = formats.read("penn", tmp_path, class_names=written[0].class_names)
    assert len(back) == len(written)
    for w, r in zip(written, back):
        np.testing.assert_array_equal(w.skeleton2d[:, :, list(NTU_TO_PENN)], r.skeleton2d)
        assert w.label == r.label


def test_openpack(tmp_path):
    pairs, _ = roundtrip("openpack", tmp_path)
    assert pairs
    for w, r in pairs:
        np.testing.assert_array_equal(w.imu, r.imu)
        np.testing.assert_array_equal(w.frame_labels, r.frame_labels)
        for event in w.events:
            np.testing.assert_array_equal(w.events[event], r.events[event])
        # keypoints are written at 15 Hz (every second frame), like OpenPack's
        np.testing.assert_array_equal(w.skeleton2d[::2, :, list(NTU_TO_COCO)], r.skeleton2d[::2])


def test_ts(tmp_path):
    pairs, back = roundtrip("ts", tmp_path)
    for w, r in pairs:
        np.testing.assert_array_equal(w.features, r.features)
        assert w.label == r.label


def test_load_data_specs(tmp_path):
    formats.write("pku", synthact_samples("daily"), tmp_path)
    assert len(load_data(f"pku:{tmp_path}")) == 2
    with pytest.raises(ValueError, match="unknown source 'nope'"):
        load_data("nope:/x")
    with pytest.raises(ValueError, match="expected 'synthact"):
        load_data("synthact")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_data(f"mstcn:{tmp_path / 'missing'}")


@pytest.mark.parametrize(
    "spec,expected",
    [
        ("synthact:daily", ("daily", "reduced", {})),
        ("synthact:clips:full", ("clips", "full", {})),
        ("synthact:packaging,event_informativeness=0.5", ("packaging", "reduced", {"event_informativeness": 0.5})),
        (
            "synthact:daily:reduced,spatial_cue=relative,duration_spread=2",
            ("daily", "reduced", {"spatial_cue": "relative", "duration_spread": 2.0}),
        ),
        ("synthact:packaging,boundary_ambiguity=1", ("packaging", "reduced", {"boundary_ambiguity": 1.0})),
        ("synthact:clips,modality_complementarity=0.5", ("clips", "reduced", {"modality_complementarity": 0.5})),
        ("synthact:clips,informative_region=1", ("clips", "reduced", {"informative_region": 1.0})),
    ],
)
def test_synthact_specs_with_dials(spec, expected):
    assert parse_synthact(spec) == expected


@pytest.mark.parametrize(
    "spec,message",
    [
        ("synthact:daily,loudness=3", "unknown dial 'loudness=3'.*event_informativeness, boundary_ambiguity"),
        ("synthact:daily,duration_spread", "unknown dial 'duration_spread'; expected <dial>=<value>"),
        ("synthact:daily,duration_spread=wide", r"dial duration_spread='wide'; expected a number >= 0"),
        ("synthact:packaging,event_informativeness=1.5", r"event_informativeness='1.5'; expected a number in \[0, 1\]"),
        ("synthact:daily,spatial_cue=colour", "spatial_cue='colour'; expected one of mixed, absolute"),
        ("synthact:packaging,spatial_cue=motion", "dial spatial_cue applies to daily, not to packaging"),
        ("synthact:clips,duration_spread=2", "dial duration_spread applies to packaging and daily, not to clips"),
        ("synthact:daily,informative_region=1", "dial informative_region applies to clips, not to daily"),
        ("synthact:clips,modality_complementarity=2", r"modality_complementarity='2'; expected a number in \[0, 1\]"),
        ("synthact:weekly", "kind one of clips, packaging, daily"),
        ("synthact:daily:huge", "preset one of reduced, full"),
    ],
)
def test_bad_synthact_specs_say_what_was_expected(spec, message):
    with pytest.raises(ValueError, match=message) as error:
        load_data(spec)
    assert spec in str(error.value) and "\n" not in str(error.value)


def test_synthact_dials_reach_the_generator(tmp_path, monkeypatch):
    monkeypatch.setenv("ACTSEG_DATA", str(tmp_path))
    # a tiny preset keeps generation to a few sequences
    monkeypatch.setitem(synthact.PRESETS, "reduced", config_for(TINY, daily_sequences=2))
    store = load_data("synthact:daily,duration_spread=0", progress=False)
    lengths = np.diff(np.r_[np.flatnonzero(store[0].boundaries), store[0].num_frames])
    assert lengths.std() / lengths.mean() < 0.02
    assert store.manifest["config"]["duration_spread"] == 0.0


@pytest.mark.parametrize(
    "spec,expected",
    [
        ("openpack:/data/openpack,model=mmpose", ("openpack", "/data/openpack", {"model": "mmpose"})),
        ("openpack:/data/openpack,keypoints=False", ("openpack", "/data/openpack", {"keypoints": False})),
        (
            "mstcn:/data/50salads,allow_length_mismatch=True,split_index=2",
            ("mstcn", "/data/50salads", {"allow_length_mismatch": True, "split_index": 2}),
        ),
        ("mstcn:/d,allow_length_mismatch=0", ("mstcn", "/d", {"allow_length_mismatch": False})),
        ("mstcn:/d,fps = 30", ("mstcn", "/d", {"fps": 30.0})),
        ("dest:/data/pku,dataset=pku-mmd", ("dest", "/data/pku", {"dataset": "pku-mmd"})),
        ("mstcn:/data/a,b c,sample_rate=2", ("mstcn", "/data/a,b c", {"sample_rate": 2})),  # a comma in the path
        ("mstcn:/data/a,b", ("mstcn", "/data/a,b", {})),
    ],
)
def test_format_specs_with_reader_options(spec, expected):
    assert parse_format_spec(spec) == expected


@pytest.mark.parametrize(
    "spec,message",
    [
        ("mstcn:/d,nope=1", "the mstcn reader has no option 'nope'; its options: split_index=1, fps=15.0, sample_rate"),
        ("mstcn:/d,allow_length_mismatch=maybe", "option allow_length_mismatch='maybe'; expected True or False"),
        ("mstcn:/d,split_index=1.5", "option split_index='1.5'; expected an integer"),
        ("ts:/d,fps=fast", "option fps='fast'; expected a number"),
    ],
)
def test_bad_reader_options_say_what_was_expected(spec, message):
    with pytest.raises(ValueError, match=message) as error:
        load_data(spec)
    assert "\n" not in str(error.value)


def test_a_new_reader_keyword_is_an_option_and_reaches_the_reader(tmp_path, monkeypatch):
    from actseg_lib.data.formats import pku

    calls = []

    def read(root, class_names=(), unlabelled: bool = False):
        calls.append((root, unlabelled))
        return []

    monkeypatch.setattr(pku, "read", read)
    assert "unlabelled" in reader_options("pku")
    load_data(f"pku:{tmp_path},unlabelled=true")
    assert calls == [(tmp_path, True)]

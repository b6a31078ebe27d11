"""Real datasets shipped in PyPI packages (actseg_lib.data.real), and the safe unpickler.

The data tests skip when the data wheels are absent (``make install`` installs them from
requirements-data.txt with --no-deps); the unpickler and error-path tests always run.
"""

from __future__ import annotations

import importlib.util
import io
import os
import pickle
from collections import Counter

import numpy as np
import pytest

from actseg_lib.data import real
from actseg_lib.data.formats import FormatError

INSTALL = "pip install --no-deps -r requirements-data.txt (or make install)"


def _skip_unless_installed(*packages):
    # find_spec on a top-level name locates the package without importing it
    if not any(importlib.util.find_spec(p) is not None for p in packages):
        pytest.skip(f"data wheel not installed ({' or '.join(packages)}): {INSTALL}")


@pytest.fixture(scope="module")
def basic_motions():
    _skip_unless_installed("aeon", "sktime")
    return {split: real.load_basic_motions(split) for split in ("train", "test")}


@pytest.fixture(scope="module")
def watch():
    _skip_unless_installed("seglearn")
    return real.load_watch()


# --------------------------------------------------------------------------- BasicMotions


@pytest.mark.parametrize("split", ["train", "test"])
def test_basic_motions_split(basic_motions, split):
    samples = basic_motions[split]
    assert len(samples) == 40
    names = ("Badminton", "Running", "Standing", "Walking")
    for i, s in enumerate(samples):
        assert s.name == f"BasicMotions_{split}_{i:03d}"
        assert s.fps == 10.0
        assert s.class_names == names
        assert s.imu.shape == (100, 1, 6) and s.imu.dtype == np.float32
        assert s.imu.flags.c_contiguous and np.isfinite(s.imu).all()
        assert s.num_frames == 100 and s.imu_names == ("watch",)
        assert isinstance(s.label, int) and 0 <= s.label < 4
        assert s.frame_labels is None and s.boundaries is None
        assert {"source", "licence", "credit", "channels"} <= s.meta.keys()
        assert "Bagnall" in s.meta["credit"]
    assert Counter(s.label for s in samples) == {c: 10 for c in range(4)}  # balanced


def test_basic_motions_splits_differ_and_match_file(basic_motions):
    train = np.stack([s.imu for s in basic_motions["train"]])
    test = np.stack([s.imu for s in basic_motions["test"]])
    assert not np.array_equal(train, test)
    # first case of the train file, first values of dimension 0 and 1 (as stored)
    np.testing.assert_allclose(train[0, :3, 0, 0], [0.079106, 0.079106, -0.903497], rtol=1e-6)
    np.testing.assert_allclose(train[0, :3, 0, 1], [0.394032, 0.394032, -3.666397], rtol=1e-6)
    assert basic_motions["train"][0].class_names[basic_motions["train"][0].label] == "Standing"


def test_basic_motions_bad_split():
    with pytest.raises(ValueError, match="split"):
        real.load_basic_motions("validation")


# --------------------------------------------------------------------------- seglearn watch


def test_watch_sequences(watch):
    assert [s.subject for s in watch] == list(range(1, 11))
    assert sum(s.num_frames for s in watch) == 244102
    names = ("PEN", "ABD", "FEL", "IR", "ER", "TRAP", "ROW")
    for s in watch:
        assert s.name == f"watch_subject{s.subject:02d}"
        assert s.fps == 50.0 and s.class_names == names
        T = s.num_frames
        assert s.imu.shape == (T, 1, 6) and s.imu.dtype == np.float32 and np.isfinite(s.imu).all()
        assert s.frame_labels.shape == (T,) and s.frame_labels.dtype == np.int64
        assert s.boundaries.shape == (T,) and s.boundaries.dtype == np.uint8
        recordings = s.meta["recordings"]
        assert len(recordings) == 14  # 7 exercises x 2 sides
        assert Counter(r["label"] for r in recordings) == {c: 2 for c in range(7)}
        assert sorted({r["side"] for r in recordings}) == [0, 1]
        # recordings tile the sequence in order; a boundary at (exactly) each recording start
        starts = [r["start"] for r in recordings]
        assert starts[0] == 0 and recordings[-1]["end"] == T
        assert all(a["end"] == b["start"] for a, b in zip(recordings, recordings[1:]))
        np.testing.assert_array_equal(np.flatnonzero(s.boundaries), starts)
        for r in recordings:
            assert (s.frame_labels[r["start"] : r["end"]] == r["label"]).all()
        # every label change is a boundary
        changes = np.flatnonzero(np.diff(s.frame_labels)) + 1
        assert s.boundaries[changes].all()
        assert {"source", "licence", "credit", "units"} <= s.meta.keys()
        assert "BSD-3-Clause" in s.meta["licence"] and "Burns" in s.meta["credit"]
        assert s.meta["channels"] == ("ax", "ay", "az", "wx", "wy", "wz")
    # the stored units: acceleration in G (about 1 at the median, gravity included)
    acc = np.concatenate([s.imu[:, 0, :3] for s in watch])
    assert 0.9 < np.median(np.linalg.norm(acc, axis=1)) < 1.2


def test_watch_subject_selection(watch):
    picked = real.load_watch(subjects=[7, 2])
    assert [s.subject for s in picked] == [2, 7]
    for s in picked:
        ref = watch[s.subject - 1]
        np.testing.assert_array_equal(s.imu, ref.imu)
        np.testing.assert_array_equal(s.frame_labels, ref.frame_labels)
    with pytest.raises(ValueError, match="unknown subject"):
        real.load_watch(subjects=[11])


# --------------------------------------------------------------------------- missing packages


def test_missing_packages_raise_import_error_with_hint(monkeypatch):
    monkeypatch.setattr(real, "_package_dir", lambda package: None)
    with pytest.raises(ImportError, match=r"--no-deps aeon==") as err:
        real.load_basic_motions()
    assert "sktime==" in str(err.value) and "never imported" in str(err.value)
    with pytest.raises(ImportError, match=r"--no-deps seglearn==1\.2\.5"):
        real.load_watch()


def test_installed_without_the_file(monkeypatch, tmp_path):
    monkeypatch.setattr(real, "_package_dir", lambda package: tmp_path / package)
    with pytest.raises(FileNotFoundError, match="not where expected"):
        real.load_basic_motions()
    with pytest.raises(FileNotFoundError, match="watch_dataset.npy"):
        real.load_watch()


def test_basic_motions_checks_the_shape(monkeypatch, tmp_path):
    folder = tmp_path / "aeon" / "datasets" / "data" / "BasicMotions"
    folder.mkdir(parents=True)
    (folder / "BasicMotions_TRAIN.ts").write_text(
        "@problemName BasicMotions\n@univariate false\n@dimensions 2\n@equalLength true\n"
        "@seriesLength 3\n@classLabel true a b\n@data\n1,2,3:4,5,6:a\n1,2,3:4,5,6:b\n"
    )
    monkeypatch.setattr(real, "_package_dir", lambda package: tmp_path / package)
    with pytest.raises(FormatError, match="6 channels of 100 values"):
        real.load_basic_motions("train")


# --------------------------------------------------------------------------- the unpickler


class _RunsCommand:
    """Unpickling this with a bare pickle.load would run a shell command."""

    def __init__(self, command):
        self.command = command

    def __reduce__(self):
        return os.system, (self.command,)


def test_unpickler_refuses_os_system(tmp_path):
    flag = tmp_path / "pwned"
    payload = pickle.dumps(_RunsCommand(f"touch {flag}"), protocol=2)
    with pytest.raises(pickle.UnpicklingError, match=r"refused to load global (os|posix|nt)\.system"):
        real.restricted_loads(payload)
    assert not flag.exists()


@pytest.mark.parametrize("target", [eval, getattr, __import__, io.FileIO, np.load])
def test_unpickler_refuses_other_globals(target):
    class Gadget:
        def __reduce__(self):
            return target, ("1",)

    with pytest.raises(pickle.UnpicklingError, match="refused to load global"):
        real.restricted_loads(pickle.dumps(Gadget(), protocol=2))


def test_unpickler_refuses_codecs_beyond_latin1():
    # _codecs.encode is allowed only as protocol 2 uses it: str -> bytes with latin1
    payload = b"\x80\x02c_codecs\nencode\nX\x03\x00\x00\x00abcX\x05\x00\x00\x00rot13\x86R."
    with pytest.raises(pickle.UnpicklingError, match="rot13"):
        real.restricted_loads(payload)


def test_malicious_npy_is_refused(tmp_path):
    path = tmp_path / "evil.npy"
    with open(path, "wb") as fh:
        np.lib.format.write_array_header_1_0(fh, {"descr": "|O", "fortran_order": False, "shape": ()})
        fh.write(pickle.dumps(_RunsCommand(f"touch {tmp_path / 'pwned'}"), protocol=2))
    with pytest.raises(pickle.UnpicklingError, match="system"):
        real._load_pickled_npy(path)
    assert not (tmp_path / "pwned").exists()


def test_unpickler_rebuilds_numpy_objects(tmp_path):
    obj = {
        "X": [np.arange(12.0).reshape(4, 3), np.ones((2, 3), np.float32)],
        "y": np.array([0, 2], dtype=np.int64),
        "names": ["a", "b"],
        "t": (1, 2.5, None),
    }
    back = real.restricted_loads(pickle.dumps(obj, protocol=2))
    assert back.keys() == obj.keys() and back["names"] == ["a", "b"] and back["t"] == (1, 2.5, None)
    for a, b in zip(back["X"] + [back["y"]], obj["X"] + [obj["y"]]):
        np.testing.assert_array_equal(a, b)
        assert a.dtype == b.dtype
    # the .npy container seglearn uses: a 0-d object array holding the dict
    path = tmp_path / "obj.npy"
    holder = np.empty((), dtype=object)
    holder[()] = obj
    np.save(path, holder, allow_pickle=True)
    loaded = real._load_pickled_npy(path)
    np.testing.assert_array_equal(loaded["X"][0], obj["X"][0])

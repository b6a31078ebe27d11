"""Small real datasets that ship inside PyPI packages: nothing is downloaded at run time.

==========================  ==================================================================
loader                      what it returns
==========================  ==================================================================
:func:`load_basic_motions`  BasicMotions (UEA archive): 40 + 40 trimmed smartwatch clips,
                            4 classes, 100 frames at 10 Hz, ``imu`` [100, 1, 6]
:func:`load_watch`          seglearn's shoulder-exercise watch data: one untrimmed sequence per
                            subject (10), 7 exercises, 50 Hz, ``imu`` [T, 1, 6] with
                            ``frame_labels`` and ``boundaries``
==========================  ==================================================================

The files live inside the wheels of `aeon <https://pypi.org/project/aeon/>`_ (or sktime) and
`seglearn <https://pypi.org/project/seglearn/>`_. Those packages are installed with
``pip install --no-deps`` (``requirements-data.txt``, which ``make install`` installs that
way) and are **never imported** here: the files are located with
:func:`importlib.util.find_spec` on the top-level package, which finds the package's folder
without running its ``__init__`` (importing aeon or seglearn would need pandas, numba,
scikit-learn, ... which the data does not).

BasicMotions is parsed with the project's ``.ts`` reader (:mod:`actseg_lib.data.formats.ts`).
The seglearn file is a pickle (an ``.npy`` holding an object array). It is read with an
allow-listed unpickler (:class:`RestrictedUnpickler`) that builds numpy arrays and nothing
else, never with a bare ``pickle.load`` / ``np.load(allow_pickle=True)``.

Values are kept as stored except the watch data's gyroscope, converted from rad/s to the
library's deg/s (see :func:`load_watch`); ``meta["units"]`` says what is known about them. See each loader for the channel order and the credit owed to the data's authors.
"""

from __future__ import annotations

import codecs
import importlib.metadata
import importlib.util
import io
import pickle
from pathlib import Path

import numpy as np

from .formats import ts as ts_format
from .formats._errors import FormatError
from .sample import Sample

__all__ = ["load_basic_motions", "load_watch", "RestrictedUnpickler", "restricted_loads"]

# --------------------------------------------------------------------------- locating files

# Versions the loaders were checked against (the data files sit at these paths in them);
# requirements-data.txt pins the same ones.
AEON_VERSION = "1.6.0"
SKTIME_VERSION = "1.2.0"
SEGLEARN_VERSION = "1.2.5"

_NO_DEPS_WHY = (
    "--no-deps because only the package's data files are read (the package is never "
    "imported) and its own dependencies are large; `make install` does this for you "
    "(requirements-data.txt)"
)


def _package_dir(package: str) -> Path | None:
    """The folder of an installed top-level package, found without importing it."""
    try:
        spec = importlib.util.find_spec(package)  # top-level name: no parent is imported
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def _data_file(candidates, what: str, install_hint: str) -> Path:
    """The first ``(package, relative path)`` of ``candidates`` that exists.

    Raises ImportError (with ``install_hint``) when none of the packages is installed, and
    FileNotFoundError when a package is there but the file is not where expected.
    """
    looked = []
    for package, relative in candidates:
        root = _package_dir(package)
        if root is None:
            continue
        path = root / relative
        if path.is_file():
            return path
        looked.append(str(path))
    if not looked:
        raise ImportError(f"{what} ships inside a PyPI package that is not installed. {install_hint}")
    raise FileNotFoundError(
        f"{what}: the package is installed but the file is not where expected "
        f"(looked at {', '.join(looked)}); another version may lay its data out differently. "
        f"{install_hint}"
    )


def _source(path: Path, depth: int) -> dict:
    """``meta`` entries naming a data file: ``source`` is "<package> <version>:
    <path inside the package>" (the same on every machine), ``file`` the absolute path."""
    package_root = path.parents[depth - 1]
    try:
        version = importlib.metadata.version(package_root.name)  # reads dist-info, no import
    except importlib.metadata.PackageNotFoundError:
        version = "(version unknown)"
    inside = path.relative_to(package_root.parent).as_posix()
    return {"source": f"{package_root.name} {version}: {inside}", "file": str(path)}


# --------------------------------------------------------------------------- BasicMotions

_BASIC_MOTIONS_HINT = (
    f"Install it with `pip install --no-deps aeon=={AEON_VERSION}` (on Python 3.10: "
    f"`pip install --no-deps sktime=={SKTIME_VERSION}`); {_NO_DEPS_WHY}."
)

BASIC_MOTIONS_CHANNELS = ("acc_x", "acc_y", "acc_z", "gyro_x", "gyro_y", "gyro_z")

_BASIC_MOTIONS_META = {
    "dataset": "BasicMotions, UEA multivariate time series classification archive",
    "licence": (
        "shipped inside aeon / sktime (both BSD-3-Clause packages); the .ts file states no separate data licence"
    ),
    "credit": (
        "BasicMotions: a student project in which four students performed four activities "
        "wearing a smartwatch (3D accelerometer and 3D gyroscope, 10 Hz, 10 s). Part of the "
        "UEA multivariate time series classification archive: A. Bagnall, H. A. Dau, J. Lines, "
        "M. Flynn, J. Large, A. Bostrom, P. Southam, E. Keogh, 'The UEA multivariate time "
        "series classification archive, 2018', arXiv:1811.00075; "
        "https://timeseriesclassification.com. Distributed in the aeon and sktime packages."
    ),
    "channels": BASIC_MOTIONS_CHANNELS,
    "channel_order_note": (
        "not documented: the .ts file and the archive's description say only '3D accelerometer "
        "and 3D gyroscope'. Accelerometer x,y,z then gyroscope x,y,z is assumed (the order the "
        "description names them in); the data fit it: dims 3-5 have near-zero mean in every "
        "class, as angular rates do, while dims 0-2 have class-dependent means"
    ),
    "units": {
        "acc": "not documented; near-zero mean while standing, so gravity appears removed "
        "(likely m/s^2 linear acceleration)",
        "gyro": "not documented (likely rad/s)",
    },
}


def basic_motions_file(split: str = "train") -> Path:
    """Path of ``BasicMotions_{TRAIN,TEST}.ts`` inside the installed aeon (or sktime) package."""
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    name = f"BasicMotions/BasicMotions_{split.upper()}.ts"
    return _data_file(
        [("aeon", f"datasets/data/{name}"), ("sktime", f"datasets/data/{name}")],
        "BasicMotions",
        _BASIC_MOTIONS_HINT,
    )


def load_basic_motions(split: str = "train") -> list[Sample]:
    """BasicMotions ``split`` ("train" or "test"): 40 trimmed clips, 10 of each class.

    Each :class:`Sample` has ``imu`` [100, 1, 6] float32 (one sensor, the watch: acc x,y,z then
    gyro x,y,z, values as stored in the file), ``fps=10.0``, ``label`` (index into
    ``class_names`` = the four names sorted: Badminton, Running, Standing, Walking) and
    ``name`` ``BasicMotions_<split>_<nnn>`` in file order. ``meta`` holds source, licence,
    credit and what is (not) known of channels and units.

    Raises ImportError with an install hint when neither aeon nor sktime is installed.
    """
    path = basic_motions_file(split)
    cases = ts_format.read(path, fps=10.0)  # features [T, C] float32, label in file order
    class_names = tuple(sorted(cases[0].class_names))
    index = {name: i for i, name in enumerate(class_names)}
    meta = {**_BASIC_MOTIONS_META, **_source(path, depth=4)}
    samples = []
    for i, case in enumerate(cases):
        if case.features.shape != (100, 6):
            raise FormatError(path, f"case {i}: 6 channels of 100 values", got=f"[T, C] = {list(case.features.shape)}")
        samples.append(
            Sample(
                name=f"BasicMotions_{split}_{i:03d}",
                fps=10.0,
                class_names=class_names,
                label=index[case.class_names[case.label]],
                imu=np.ascontiguousarray(case.features[:, None, :], dtype=np.float32),
                imu_names=("watch",),
                meta=dict(meta),
            )
        )
    return samples


# --------------------------------------------------------------------------- safe unpickling


def _reconstruct_function():
    """numpy's array-reconstruct function, taken from an array's own ``__reduce__``.

    That is ``numpy.core.multiarray._reconstruct`` on numpy 1 and
    ``numpy._core.multiarray._reconstruct`` on numpy 2; getting it this way never touches the
    deprecated ``numpy.core`` alias.
    """
    return np.empty(0).__reduce__()[0]


def _latin1_bytes(obj, encoding="utf-8", errors="strict"):
    """Stand-in for ``_codecs.encode``: pickle protocol 2 stores bytes as
    ``_codecs.encode(str, 'latin1')``; only that exact use is allowed."""
    if not isinstance(obj, str) or encoding not in ("latin1", "latin-1") or errors != "strict":
        raise pickle.UnpicklingError(
            f"refused _codecs.encode({type(obj).__name__}, {encoding!r}, {errors!r}): "
            "only str -> bytes with latin1 is allowed"
        )
    return codecs.latin_1_encode(obj)[0]


class RestrictedUnpickler(pickle.Unpickler):
    """An unpickler that can rebuild numpy arrays (and plain containers) but nothing else.

    Every global a pickle names goes through :meth:`find_class`; only the entries of
    :attr:`ALLOWED` resolve, anything else (``os.system``, ``builtins.eval``, ...) raises
    :class:`pickle.UnpicklingError` naming it. Plain dicts, lists, tuples, str, numbers are
    built by pickle opcodes and need no global. Persistent ids are refused too (the base
    class raises UnpicklingError when ``persistent_load`` is not defined).
    """

    ALLOWED = {
        ("numpy.core.multiarray", "_reconstruct"): _reconstruct_function(),
        ("numpy._core.multiarray", "_reconstruct"): _reconstruct_function(),
        ("numpy", "ndarray"): np.ndarray,
        ("numpy", "dtype"): np.dtype,
        ("_codecs", "encode"): _latin1_bytes,
    }

    def find_class(self, module, name):
        try:
            return self.ALLOWED[(module, name)]
        except KeyError:
            raise pickle.UnpicklingError(
                f"refused to load global {module}.{name}: not in the allow-list (numpy arrays and dtypes only)"
            ) from None


def restricted_loads(data: bytes):
    """``pickle.loads`` through :class:`RestrictedUnpickler`."""
    return RestrictedUnpickler(io.BytesIO(data)).load()


def _load_pickled_npy(path: Path):
    """The object stored in an ``.npy`` of a 0-d object array (or a raw pickle file)."""
    with open(path, "rb") as fh:
        if fh.read(6) != b"\x93NUMPY":
            fh.seek(0)
            return RestrictedUnpickler(fh).load()  # a plain pickle
        fh.seek(0)
        version = np.lib.format.read_magic(fh)
        if version == (1, 0):
            shape, _fortran, dtype = np.lib.format.read_array_header_1_0(fh)
        elif version == (2, 0):
            shape, _fortran, dtype = np.lib.format.read_array_header_2_0(fh)
        else:
            raise FormatError(path, "an .npy file of format version 1.0 or 2.0", got=str(version))
        if dtype != np.dtype(object):
            raise FormatError(path, "an object array (a pickled dict)", got=f"dtype {dtype}")
        array = RestrictedUnpickler(fh).load()
    if not isinstance(array, np.ndarray) or array.shape != tuple(shape):
        raise FormatError(path, f"a pickled array of shape {shape}", got=type(array).__name__)
    return array.item() if array.shape == () else array


# --------------------------------------------------------------------------- seglearn watch

_WATCH_HINT = f"Install it with `pip install --no-deps seglearn=={SEGLEARN_VERSION}`; {_NO_DEPS_WHY}."

WATCH_FPS = 50.0

_WATCH_META = {
    "licence": "BSD-3-Clause (seglearn, Copyright (c) 2018, David M. Burns)",
    "credit": (
        "Data: D. M. Burns, N. Leung, M. Hardisty, C. M. Whyne, P. Henry, S. McLachlin, "
        "'Shoulder physiotherapy exercise recognition: machine learning the inertial signals "
        "from a smartwatch', Physiological Measurement 39(7), 2018, doi:10.1088/1361-6579/aacfd9 "
        "(arXiv:1802.01489): healthy adults performing sets of shoulder exercise repetitions with "
        "a smartwatch on the active arm; seglearn ships a subset (10 subjects). Package: seglearn "
        "by David M. Burns (D. M. Burns, C. M. Whyne, 'Seglearn: a Python package for learning "
        "sequences and time series', arXiv:1803.08118), https://github.com/dmbee/seglearn."
    ),
    "units": {
        "acc": "not documented; magnitude about 1 at rest, so G (gravity included)",
        "gyro": "not documented; stored values look like rad/s (per-axis 99th percentile of "
        "|w| is 3.3 to 7.0; deg/s would be in the hundreds); converted here to deg/s",
    },
}


# the library's IMU unit for rates is deg/s; the watch data stores rad/s (see _WATCH_META)
_TO_DEG_PER_S = np.array([1.0, 1.0, 1.0, *[180.0 / np.pi] * 3])


def watch_file() -> Path:
    """Path of ``watch_dataset.npy`` inside the installed seglearn package."""
    return _data_file([("seglearn", "data/watch_dataset.npy")], "seglearn's watch data", _WATCH_HINT)


def _read_watch(path: Path) -> dict:
    data = _load_pickled_npy(path)
    need = ("X", "y", "subject")
    if not isinstance(data, dict) or any(key not in data for key in need):
        raise FormatError(
            path, f"a dict with keys {need}", got=sorted(data) if isinstance(data, dict) else type(data).__name__
        )
    n = len(data["X"])
    for key in ("y", "subject", "side"):
        if key in data and len(data[key]) != n:
            raise FormatError(path, f"{key!r} of length {n} (one per recording)", got=str(len(data[key])))
    for i, x in enumerate(data["X"]):
        if not isinstance(x, np.ndarray) or x.ndim != 2 or x.shape[1] != 6:
            raise FormatError(path, f"recording {i}: an array [T, 6]", got=str(getattr(x, "shape", type(x).__name__)))
    return data


def load_watch(subjects=None) -> list[Sample]:
    """seglearn's smartwatch shoulder-exercise data as untrimmed sequences, one per subject.

    The file holds 140 recordings (10 subjects x 7 exercises x 2 sides); each recording is one
    set of repetitions of one exercise, 6 channels ``ax ay az wx wy wz`` (acc then gyro) at
    50 Hz. A subject's recordings are joined **in their stored order** into one sequence:

    - ``imu`` [T, 1, 6] float32, acc as stored (G), gyro converted from the stored rad/s to deg/s
      (see ``meta["units"]``), ``fps=50.0``, ``imu_names=("watch",)``;
    - ``frame_labels`` [T] int64: the exercise of the recording each frame comes from,
      indexing ``class_names`` (the file's ``y_labels``: PEN, ABD, FEL, IR, ER, TRAP, ROW);
    - ``boundaries`` [T] uint8: 1 at frame 0 and at the first frame of every recording (a new
      set starts there, even when two consecutive sets are of the same exercise);
    - ``subject`` (the file's subject number), ``name`` ``watch_subject<nn>``;
    - ``meta["recordings"]``: per recording its ``start``/``end`` frame, ``label``, ``side``
      (1 right, 0 left, per seglearn's documentation) and ``index`` in the file; plus
      source, licence and credit.

    ``subjects``: iterable of subject numbers to keep (default: all), returned sorted.
    Raises ImportError with an install hint when seglearn is not installed.
    """
    path = watch_file()
    data = _read_watch(path)
    y = np.asarray(data["y"], dtype=np.int64)
    subject_of = np.asarray(data["subject"], dtype=np.int64)
    side = np.asarray(data["side"]) if "side" in data else None
    class_names = tuple(str(s) for s in data.get("y_labels", ()))
    if not class_names:  # no names stored: the label numbers
        class_names = tuple(str(i) for i in range(int(y.max()) + 1))
    channels = tuple(str(s) for s in data.get("X_labels", ()))
    if y.min() < 0 or y.max() >= len(class_names):
        raise FormatError(path, f"labels in 0..{len(class_names) - 1}", got=f"{y.min()}..{y.max()}")

    available = sorted(int(s) for s in np.unique(subject_of))
    wanted = available if subjects is None else sorted({int(s) for s in subjects})
    unknown = [s for s in wanted if s not in available]
    if unknown:
        raise ValueError(f"unknown subject(s) {unknown}; the watch data has subjects {available}")

    meta_base = {**_WATCH_META, **_source(path, depth=2), "channels": channels}
    samples = []
    for sid in wanted:
        indices = np.flatnonzero(subject_of == sid)  # stored order
        parts = [np.asarray(data["X"][i], dtype=np.float64) * _TO_DEG_PER_S for i in indices]
        lengths = np.array([len(p) for p in parts])
        starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
        total = int(lengths.sum())
        frame_labels = np.repeat(y[indices], lengths).astype(np.int64)
        boundaries = np.zeros(total, dtype=np.uint8)
        boundaries[starts] = 1
        recordings = [
            {
                "index": int(i),
                "start": int(s),
                "end": int(s + n),
                "label": int(y[i]),
                **({"side": int(side[i])} if side is not None else {}),
            }
            for i, s, n in zip(indices, starts, lengths)
        ]
        samples.append(
            Sample(
                name=f"watch_subject{sid:02d}",
                fps=WATCH_FPS,
                class_names=class_names,
                frame_labels=frame_labels,
                boundaries=boundaries,
                imu=np.concatenate(parts).astype(np.float32)[:, None, :],
                imu_names=("watch",),
                subject=sid,
                meta={**meta_base, "recordings": recordings},
            )
        )
    return samples

"""Penn Action: one MATLAB v5 file of annotations a clip, ``<root>/labels/NNNN.mat``.

Each file holds (T = ``nframes``, 13 joints in the order of
:data:`~actseg_lib.common.skeletons.PENN_JOINTS`)::

    action      string       class name, e.g. "baseball_pitch"
    pose        string       coarse view, e.g. "front"
    nframes     scalar       T
    x, y        [T, 13]      joint pixel coordinates
    visibility  [T, 13]      1 where the joint is visible (logical)
    bbox        [T, 4]       person box x1 y1 x2 y2
    dimensions  [3]          H W T of the video
    train       scalar       1 for the training split, -1 for the test split

``read`` gives one :class:`Sample` a file: ``name`` the file stem, ``fps`` 30 (the
labels do not record it), ``skeleton2d`` [T, 1, 13, 2] float32 from x and y,
``joint_scores`` [T, 1, 13] float32 from visibility, ``class_names`` the sorted action
names found across the files (or the ``class_names`` option) and ``label`` the index of
the file's action in it; ``meta`` holds ``pose``, ``bbox`` [T, 4] float64 as stored,
``dimensions`` (H, W, T), ``frame_size`` (W, H) and ``split`` ("train" or "test").

``write`` takes the first body of ``skeleton2d``; a 25-joint NTU skeleton is reduced to
the 13 Penn joints with :data:`~actseg_lib.common.skeletons.NTU_TO_PENN` (the same for
``joint_scores``, which default to 1). The action is ``class_names[label]``. Missing
``meta`` is filled in: ``pose`` "unknown", ``split`` "train", ``bbox`` the joints' extent
per frame, ``dimensions`` just large enough to hold every joint. Coordinates are stored
as float64, which holds every float32 exactly; visibility is stored as logical when the
scores are all 0 or 1 (as in the real files) and as float64 otherwise, so both come back
unchanged.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import scipy.io

from ...common.skeletons import NTU_TO_PENN, NUM_NTU_JOINTS, PENN_JOINTS
from ..sample import Sample
from ._checks import check_finite, existing_file
from ._errors import FormatError

NUM_JOINTS = len(PENN_JOINTS)
FPS = 30.0
KEYS = ("action", "pose", "nframes", "x", "y", "visibility", "bbox", "dimensions", "train")
SPLITS = {1: "train", -1: "test"}


# --- reading ---------------------------------------------------------------------------


def _load(path: Path) -> dict:
    existing_file(path, "a MATLAB v5 .mat file")
    try:
        mat = scipy.io.loadmat(path)
    except Exception as error:  # a corrupt file surfaces as any of a dozen scipy errors
        raise FormatError(path, "a MATLAB v5 .mat file", got=str(error)) from None
    missing = [key for key in KEYS if key not in mat]
    if missing:
        raise FormatError(path, f"the variables {', '.join(KEYS)}", got=f"no {', '.join(missing)}")
    return mat


def _string(path: Path, mat: dict, key: str) -> str:
    value = np.asarray(mat[key])
    if value.dtype.kind != "U" or value.size > 1:
        raise FormatError(path, f"{key} to be a string", got=f"{value.dtype} of shape {value.shape}")
    return str(value.item()) if value.size else ""


def _integers(path: Path, mat: dict, key: str, count: int) -> list[int]:
    value = np.asarray(mat[key])
    if value.dtype.kind not in "iufb" or value.size != count or np.any(value != np.round(value)):
        raise FormatError(path, f"{key} to be {count} whole number(s)", got=repr(value.tolist()))
    return [int(v) for v in value.ravel()]


def _matrix(path: Path, mat: dict, key: str, shape: tuple, axes=("frame", "joint")) -> np.ndarray:
    value = np.asarray(mat[key])
    if value.dtype.kind not in "iufb" or value.shape != shape:
        raise FormatError(path, f"{key} of shape {shape} (nframes, ...)", got=f"{value.dtype} {value.shape}")
    return check_finite(path, value, key, axes=axes).astype(np.float64)


def _read_file(path: Path) -> tuple[Sample, str]:
    """The file as a Sample without label or class names, and its action name."""
    mat = _load(path)
    (T,) = _integers(path, mat, "nframes", 1)
    if T < 1:
        raise FormatError(path, "nframes of at least 1", got=str(T))
    (train,) = _integers(path, mat, "train", 1)
    if train not in SPLITS:
        raise FormatError(path, "train to be 1 or -1", got=str(train))
    x, y = (_matrix(path, mat, key, (T, NUM_JOINTS)) for key in ("x", "y"))
    visibility = _matrix(path, mat, "visibility", (T, NUM_JOINTS))
    outside = np.argwhere((visibility < 0) | (visibility > 1))
    if outside.size:
        frame, joint = outside[0]
        raise FormatError(path, "visibility in 0..1", got=f"{visibility[frame, joint]} at frame {frame}, joint {joint}")
    bbox = np.asarray(mat["bbox"])
    # only the column count is checked: the box is passed through in meta, nothing uses it
    if bbox.ndim != 2 or bbox.shape[1] != 4:
        raise FormatError(path, "bbox of shape (nframes, 4)", got=str(bbox.shape))
    bbox = _matrix(path, mat, "bbox", bbox.shape, axes=("row", "column"))
    dimensions = tuple(_integers(path, mat, "dimensions", 3))  # H, W, T
    sample = Sample(
        name=path.stem,
        fps=FPS,
        skeleton2d=np.stack([x, y], axis=-1)[:, None].astype(np.float32),  # [T, 1, 13, 2]
        joint_scores=visibility[:, None].astype(np.float32),  # [T, 1, 13]
        meta={
            "pose": _string(path, mat, "pose"),
            "bbox": bbox.astype(np.float64),
            "dimensions": dimensions,
            "frame_size": (dimensions[1], dimensions[0]),
            "split": SPLITS[train],
        },
    )
    return sample, _string(path, mat, "action")


def read(root, class_names: tuple | None = None) -> list[Sample]:
    """Every ``labels/*.mat`` under ``root``, sorted by name.

    ``class_names``: the action names in label order; by default the sorted names found
    in the files. Refused (a :class:`FormatError` naming the file): an action outside a
    given ``class_names``, NaN or infinite coordinates, visibility or boxes, visibility
    outside 0..1, arrays whose rows differ from nframes, clips without frames, files
    that are not MATLAB v5 (damaged, empty, a symlink loop).
    """
    folder = Path(root) / "labels"
    paths = sorted(folder.glob("*.mat"))
    if not paths:
        raise FormatError(folder, "a folder of NNNN.mat files", got="no .mat file")
    read_files = [_read_file(path) for path in paths]
    names = tuple(class_names) if class_names is not None else tuple(sorted({a for _, a in read_files}))
    for path, (sample, action) in zip(paths, read_files):
        if action not in names:
            raise FormatError(path, f"an action in class_names {names}", got=repr(action))
        sample.class_names, sample.label = names, names.index(action)
    return [sample for sample, _ in read_files]


# --- writing ---------------------------------------------------------------------------


def _penn_joints(sample: Sample) -> tuple[np.ndarray, np.ndarray]:
    """([T, 13, 2] joints, [T, 13] scores) of the first body, NTU joints mapped to Penn."""
    joints = np.asarray(sample.skeleton2d)
    if joints.ndim != 4 or joints.shape[-1] != 2 or joints.shape[1] < 1:
        raise ValueError(f"sample {sample.name!r}: Penn needs skeleton2d [T, M, J, 2], got {joints.shape}")
    scores = np.ones(joints.shape[:3], np.float32) if sample.joint_scores is None else np.asarray(sample.joint_scores)
    joints, scores = joints[:, 0], scores[:, 0]
    if joints.shape[1] == NUM_NTU_JOINTS:
        joints, scores = joints[:, NTU_TO_PENN], scores[:, NTU_TO_PENN]
    if joints.shape[1] != NUM_JOINTS:
        raise ValueError(f"sample {sample.name!r}: Penn needs 13 (or 25 NTU) joints, got {joints.shape[1]}")
    return joints.astype(np.float32), scores.astype(np.float32)


def _contents(sample: Sample) -> dict:
    joints, scores = _penn_joints(sample)
    T = len(joints)
    if sample.label is None or not 0 <= sample.label < len(sample.class_names):
        raise ValueError(
            f"sample {sample.name!r}: Penn stores the action name, so it needs a label "
            f"indexing class_names (label {sample.label!r}, {len(sample.class_names)} names)"
        )
    x, y = joints[..., 0].astype(np.float64), joints[..., 1].astype(np.float64)
    box = np.stack([x.min(1), y.min(1), x.max(1), y.max(1)], axis=1)  # [T, 4]
    height, width = sample.meta.get(
        "dimensions", (int(np.ceil(y.max(initial=0))) + 1, int(np.ceil(x.max(initial=0))) + 1)
    )[:2]
    binary = np.isin(scores, (0, 1)).all()
    split = sample.meta.get("split", "train")
    if split not in SPLITS.values():
        raise ValueError(f"sample {sample.name!r}: meta['split'] must be 'train' or 'test', got {split!r}")
    return {
        "action": sample.class_names[sample.label],
        "pose": sample.meta.get("pose", "unknown"),
        "nframes": np.array([[T]], np.float64),
        "x": x,
        "y": y,
        "visibility": scores.astype(bool) if binary else scores.astype(np.float64),
        "bbox": np.asarray(sample.meta.get("bbox", box), np.float64).reshape(-1, 4),
        "dimensions": np.array([[height, width, T]], np.float64),
        "train": np.array([[1 if split == "train" else -1]], np.float64),
    }


def _file_names(samples) -> list[str]:
    """Numeric sample names kept (zero-padded to 4), others numbered by position."""
    names = [f"{int(s.name):04d}" if re.fullmatch(r"\d+", s.name) else f"{i + 1:04d}" for i, s in enumerate(samples)]
    if len(set(names)) != len(names):
        raise ValueError(f"Penn file names collide: {names}; give the samples distinct numeric names")
    return names


def write(samples, root) -> None:
    """``<root>/labels/NNNN.mat`` for each sample (see the module docstring)."""
    samples = list(samples)
    folder = Path(root) / "labels"
    folder.mkdir(parents=True, exist_ok=True)
    for sample, name in zip(samples, _file_names(samples)):
        scipy.io.savemat(folder / f"{name}.mat", _contents(sample))

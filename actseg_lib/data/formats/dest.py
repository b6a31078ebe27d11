"""DeST skeleton temporal-action-segmentation layout (PKU-MMD, MCFS, LARa).

Layout under ``root``::

    features/<vid>.npy                 (T, ...) per-frame input, T first: (T, 150) for PKU-MMD
                                       (2 bodies x 25 joints x xyz), (T, 25, >=2) for MCFS
    gt_arr/<vid>.npy                   (T,) integer class ids; 255 = padding (unlabelled)
    gt_boundary_arr/<vid>.npy          (T,) 0/1: 1 at frame 0 and where an action starts
    csv/<DS>/{train,val,test}<k>.csv   header "feature,label,boundary", then one row of the
                                       three paths per video

Paths in the csv files are relative to ``root`` (DeST's own csv files start with
``./dataset/<DS>/``, relative to its repository root: point ``root`` there to read them).

Label 255 on disk is :data:`~actseg_lib.data.sample.IGNORE_INDEX` in memory. DeST's own
boundary generator also marks the frame after each change, so the reader accepts extra 1s
and returns the boundary array as stored; it only requires a 1 at frame 0 and wherever a
(non-padding) label starts.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ...common.labels import IGNORE_INDEX
from ..sample import Sample
from ._checks import check_finite, load_npy, read_text, usual
from ._errors import FormatError, sample_split

SPLITS = ("train", "val", "test")
PAD_LABEL = 255
CSV_HEADER = "feature,label,boundary"


# --- write ----------------------------------------------------------------------------


def write(samples, root, dataset: str = "synthact", split_index: int = 1) -> None:
    """Write ``samples`` for dataset ``dataset``, fold ``split_index``.

    Features come from ``sample.features``; when that is None, ``skeleton3d``
    [T, M, J, 3] is flattened per frame to (T, M*J*3) in (body, joint, xyz) order, the
    layout of DeST's PKU-MMD arrays. ``boundaries`` are computed from ``frame_labels``
    when None. The split is ``sample.meta.get("split", "train")``: train, val or test.
    """
    root = Path(root)
    for sub in ("features", "gt_arr", "gt_boundary_arr", f"csv/{dataset}"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    rows = {split: [] for split in SPLITS}
    for sample in samples:
        rows[sample_split(sample, SPLITS, "dest")].append(_write_video(root, sample))
    for split, lines in rows.items():
        text = "".join(f"{line}\n" for line in [CSV_HEADER, *lines])
        _csv_path(root, dataset, split, split_index).write_text(text, encoding="utf-8")


def _write_video(root: Path, sample: Sample) -> str:
    """Save the three arrays; return the csv row that points at them."""
    features = _features_to_write(sample)
    labels = _labels_to_write(sample)  # (T,) with 255 for IGNORE_INDEX
    if sample.boundaries is None:
        boundaries = action_starts(np.asarray(sample.frame_labels))
    else:
        problem = _boundary_problem(np.asarray(sample.boundaries), labels)
        if problem:
            raise ValueError(f"dest: sample {sample.name!r}: boundaries {problem}")
        boundaries = np.asarray(sample.boundaries, dtype=np.uint8)
    paths = [f"{sub}/{sample.name}.npy" for sub in ("features", "gt_arr", "gt_boundary_arr")]
    for path, array in zip(paths, (features, labels, boundaries)):
        np.save(root / path, array)
    return ",".join(paths)


def _features_to_write(sample: Sample) -> np.ndarray:
    if sample.features is not None:
        return np.asarray(sample.features, dtype=np.float32)
    if sample.skeleton3d is not None:
        skeleton = np.asarray(sample.skeleton3d, dtype=np.float32)  # [T, M, J, 3]
        return skeleton.reshape(len(skeleton), -1)  # (T, M*J*3)
    raise ValueError(f"dest: sample {sample.name!r} has neither features nor skeleton3d")


def _labels_to_write(sample: Sample) -> np.ndarray:
    if sample.frame_labels is None:
        raise ValueError(f"dest: sample {sample.name!r} has no frame_labels")
    labels = np.asarray(sample.frame_labels, dtype=np.int64)
    labelled = labels != IGNORE_INDEX
    if np.any(labelled & ((labels < 0) | (labels >= PAD_LABEL))):
        raise ValueError(f"dest: sample {sample.name!r} has labels outside 0..{PAD_LABEL - 1}")
    return np.where(labelled, labels, PAD_LABEL)


def action_starts(labels: np.ndarray) -> np.ndarray:
    """[T] uint8: 1 at frame 0 and at each frame where a new (labelled) action begins."""
    labels = np.asarray(labels)
    starts = np.zeros(len(labels), dtype=np.uint8)
    if len(labels):
        starts[0] = 1
        changed = labels[1:] != labels[:-1]
        starts[1:] = changed & (labels[1:] != IGNORE_INDEX) & (labels[1:] != PAD_LABEL)
    return starts


def _csv_path(root: Path, dataset: str, split: str, split_index: int) -> Path:
    return root / "csv" / dataset / f"{split}{split_index}.csv"


# --- read -----------------------------------------------------------------------------


def read(
    root,
    dataset: str | None = None,
    split_index: int = 1,
    fps: float = 30.0,
    num_classes: int = 0,
    unlabelled: bool = False,
) -> list[Sample]:
    """Samples listed in ``csv/<dataset>/{train,val,test}<split_index>.csv``, in that order.

    ``dataset`` None: the one folder under ``csv/`` (so ``--data dest:<root>`` works for a
    root prepared for one dataset); with several, name one. Splits whose csv file is
    absent are skipped (not every DeST dataset has all three); a video listed in two csv
    files comes back twice, once per split. Each Sample has name = the feature file's
    stem, features as stored (float32), frame_labels [T] int64, boundaries [T] uint8 and
    meta["split"].

    Options: ``split_index`` the fold k of the csv names; ``fps`` the frame rate (the
    arrays do not record it); ``num_classes`` the dataset's class count, so ids must lie
    in 0..num_classes-1 (or be the padding 255); 0 allows any id below 255;
    ``unlabelled`` read features only (label and boundary files need not exist,
    frame_labels and boundaries None). Refused (a :class:`FormatError` naming the file):
    missing label or boundary files unless ``unlabelled``, NaN or infinite values, a
    feature file whose per-frame shape differs from the other videos', ids outside the
    dataset, arrays of different lengths, non-UTF-8 csv files, damaged or object ``.npy``
    files, videos without frames.
    """
    root = Path(root)
    if dataset is None:
        folders = sorted(p.name for p in (root / "csv").glob("*") if p.is_dir())
        if len(folders) != 1:
            raise FormatError(
                root / "csv",
                "one dataset folder (or pass dataset=... to formats.read('dest', ...))",
                got=", ".join(folders) if folders else "none",
            )
        dataset = folders[0]
    csv_paths = {split: _csv_path(root, dataset, split, split_index) for split in SPLITS}
    present = {split: path for split, path in csv_paths.items() if path.is_symlink() or path.exists()}
    if not present:
        raise FormatError(root / "csv" / dataset, f"train/val/test{split_index}.csv", got="none of them")
    rows = [(split, row) for split, csv_path in present.items() for row in _read_csv(csv_path, root, unlabelled)]
    features = {row[2]: _read_features(*row[:3]) for _, row in rows}
    _check_shapes(features)
    return [_read_video(row, features[row[2]], split, fps, num_classes, unlabelled) for split, row in rows]


def _read_csv(path: Path, root: Path, unlabelled: bool):
    """(csv path, line number, feature path, label path, boundary path) of each data row."""
    lines = read_text(path, f"a csv file with the header {CSV_HEADER!r}").splitlines()
    if not lines or lines[0].strip() != CSV_HEADER:
        raise FormatError(path, f"the header {CSV_HEADER!r}", 1, repr(lines[0] if lines else ""))
    for number, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        fields = [field.strip() for field in line.split(",")]
        if len(fields) != 3 or not all(fields):
            raise FormatError(path, "three paths 'feature,label,boundary'", number, repr(line))
        yield (path, number, *(_resolve(root, field) for field in fields))


def _resolve(root: Path, field: str) -> Path:
    path = Path(field)
    return path if path.is_absolute() else root / path


def _read_features(csv_path: Path, number: int, path: Path) -> np.ndarray:
    expected = f"a (T, ...) per-frame array (listed in {csv_path.name}, line {number})"
    features = load_npy(path, expected)
    if features.ndim < 1 or len(features) == 0:
        raise FormatError(path, "an array with frames first, (T, ...), T >= 1", got=f"shape {features.shape}")
    check_finite(path, features, "per-frame features", axes=("frame", "channel"))
    return features


def _check_shapes(features: dict[Path, np.ndarray]) -> None:
    """Every feature file has the per-frame shape most of the dataset's files have."""
    shapes = {path: array.shape[1:] for path, array in features.items()}
    shape = usual(shapes)
    for path, found in shapes.items():
        if found != shape:
            expected = f"(T, {', '.join(map(str, shape))}) per-frame features, as the dataset's other files"
            raise FormatError(path, expected, got=f"shape {features[path].shape}")


def _read_video(row, features: np.ndarray, split: str, fps: float, num_classes: int, unlabelled: bool) -> Sample:
    csv_path, number, feature_path, label_path, boundary_path = row
    labels = boundaries = None
    if not unlabelled:
        labels = _read_labels(label_path, len(features), feature_path, num_classes)
        expected = f"a (T,) 0/1 array, T = {len(features)} frames as {feature_path.name}"
        boundaries = np.atleast_1d(load_npy(boundary_path, expected))  # a scalar fails the shape check below
        check_finite(boundary_path, boundaries, "0/1 boundary marks")
        problem = _boundary_problem(boundaries, labels)
        if problem:
            expected = "a (T,) 0/1 array with 1 at frame 0 and at every action start"
            raise FormatError(boundary_path, expected, got=problem)
    return Sample(
        name=feature_path.stem,
        fps=fps,
        features=features.astype(np.float32),
        frame_labels=None if labels is None else np.where(labels == PAD_LABEL, IGNORE_INDEX, labels),
        boundaries=None if boundaries is None else boundaries.astype(np.uint8),
        meta={"split": split},
    )


def _read_labels(path: Path, num_frames: int, feature_path: Path, num_classes: int) -> np.ndarray:
    top = num_classes - 1 if num_classes else PAD_LABEL - 1
    expected = (
        f"a (T,) array of class ids 0..{top} (255 padding), T = {num_frames} frames as {feature_path.name}"
        " (pass unlabelled=True to read features only)"
    )
    labels = load_npy(path, expected)
    check_finite(path, labels, "class ids")
    integral = labels.dtype.kind in "iu" or (labels.dtype.kind == "f" and np.array_equal(labels, np.round(labels)))
    if labels.shape != (num_frames,) or not integral:
        raise FormatError(path, expected, got=f"shape {labels.shape}, dtype {labels.dtype}")
    outside = np.flatnonzero((labels < 0) | ((labels > top) & (labels != PAD_LABEL)))
    if outside.size:
        frame = outside[0]
        raise FormatError(path, expected, got=f"{labels[frame]} at frame {frame}")
    return labels.astype(np.int64)


def _boundary_problem(boundaries: np.ndarray, labels: np.ndarray) -> str | None:
    """Why ``boundaries`` is not a 0/1 array marking every action start of ``labels``
    (extra 1s are fine), or None."""
    if boundaries.shape != labels.shape:
        return f"shape {boundaries.shape}, labels {labels.shape}"
    if not np.isin(boundaries, (0, 1)).all():
        return f"values {np.unique(boundaries)[:5].tolist()}"
    missing = np.flatnonzero(action_starts(labels) & (boundaries == 0))
    if missing.size:
        return f"0 at frame {missing[0]}, where an action starts"
    return None

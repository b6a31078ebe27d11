"""MS-TCN precomputed-feature layout (Breakfast, 50Salads, GTEA).

Layout under ``root``::

    features/<vid>.npy              (D, T) float frame features (D is not always 2048)
    groundTruth/<vid>.txt           T lines, one class NAME per frame
    mapping.txt                     lines "<id> <name>", ids 0..K-1
    splits/train.split<k>.bundle    one "<vid>.txt" per line
    splits/test.split<k>.bundle

Two quirks of the released data are options of :func:`read`:

* ``sample_rate``: 50Salads is trained on every 2nd frame. ``read(sample_rate=2)`` keeps
  frames ``0, 2, 4, ...`` of features and labels and sets ``fps`` to ``fps / 2``. Predictions
  on that clock must be repeated back before scoring against the full-rate labels::

      full = np.repeat(pred, sample.meta["sample_rate"])[: sample.meta["full_length"]]

* length mismatch: a few videos have a different number of feature frames and label lines.
  MS-TCN cuts both to ``min(T_feat, n_lines)``; here that happens only with
  ``allow_length_mismatch=True``, otherwise :class:`FormatError` names both lengths.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..sample import Sample
from ._checks import check_finite, load_npy, read_text, usual
from ._errors import FormatError, sample_split

SPLITS = ("train", "test")


# --- write ----------------------------------------------------------------------------


def write(samples, root, split_index: int = 1) -> None:
    """Write ``samples`` (features [T, D], frame_labels [T], shared class_names).

    Each sample goes to the bundle of ``sample.meta.get("split", "train")`` ("train" or
    "test") of fold ``split_index``.
    """
    root = Path(root)
    samples = list(samples)
    class_names = _shared_class_names(samples)
    for sub in ("features", "groundTruth", "splits"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    _write_mapping(root / "mapping.txt", class_names)
    bundles = {split: [] for split in SPLITS}
    for sample in samples:
        bundles[sample_split(sample, SPLITS, "mstcn")].append(f"{sample.name}.txt")
        _write_video(root, sample, class_names)
    for split, lines in bundles.items():
        _write_lines(_bundle_path(root, split, split_index), lines)


def _shared_class_names(samples) -> tuple[str, ...]:
    names = {tuple(s.class_names) for s in samples}
    if len(names) != 1:
        raise ValueError(f"mstcn: all samples must share one class_names tuple, got {len(names)}")
    class_names = names.pop()
    if not class_names:
        raise ValueError("mstcn: samples have no class_names (mapping.txt needs them)")
    for name in class_names:
        # groundTruth holds one name a line and mapping.txt strips it, so it must survive that
        if not name or name != name.strip() or "\n" in name:
            raise ValueError(f"mstcn: class name {name!r} cannot be stored one a line")
    return class_names


def _write_mapping(path: Path, class_names) -> None:
    _write_lines(path, [f"{i} {name}" for i, name in enumerate(class_names)])


def _write_video(root: Path, sample: Sample, class_names) -> None:
    if sample.features is None or sample.frame_labels is None:
        raise ValueError(f"mstcn: sample {sample.name!r} needs features and frame_labels")
    labels = np.asarray(sample.frame_labels)
    if labels.min() < 0 or labels.max() >= len(class_names):
        # IGNORE_INDEX has no name to write
        raise ValueError(f"mstcn: sample {sample.name!r} has labels outside 0..{len(class_names) - 1}")
    features = np.asarray(sample.features, dtype=np.float32)  # [T, D]
    np.save(root / "features" / f"{sample.name}.npy", features.T)  # (D, T) on disk
    _write_lines(root / "groundTruth" / f"{sample.name}.txt", [class_names[i] for i in labels])


def _bundle_path(root: Path, split: str, split_index: int) -> Path:
    return root / "splits" / f"{split}.split{split_index}.bundle"


def _write_lines(path: Path, lines) -> None:
    path.write_text("".join(f"{line}\n" for line in lines), encoding="utf-8")


# --- read -----------------------------------------------------------------------------


def read(
    root,
    split_index: int = 1,
    fps: float = 15.0,
    sample_rate: int = 1,
    allow_length_mismatch: bool = False,
    unlabelled: bool = False,
) -> list[Sample]:
    """Samples of fold ``split_index``: the train bundle's videos, then the test bundle's.

    Each has name = vid, features [T, D] float32, frame_labels [T] int64 (ids of
    mapping.txt), class_names in id order, fps = ``fps / sample_rate`` and meta with
    ``split``, ``sample_rate`` and ``full_length`` (frames before subsampling).

    Options: ``split_index`` the fold k of ``splits/*.split<k>.bundle``; ``fps`` the
    frame rate before subsampling; ``sample_rate`` keep every n-th frame;
    ``allow_length_mismatch`` cut features and labels to the shorter instead of refusing;
    ``unlabelled`` read features only (no groundTruth files needed, frame_labels None;
    mapping.txt gives class_names when present). Refused (a :class:`FormatError` naming
    the file): a missing groundTruth file unless ``unlabelled``, NaN or infinite
    features, a feature file whose D differs from the other videos', non-UTF-8 text,
    damaged or object ``.npy`` files, videos without frames.
    """
    root = Path(root)
    if sample_rate < 1:
        raise ValueError(f"mstcn: sample_rate must be >= 1, got {sample_rate}")
    mapping = root / "mapping.txt"
    class_names = () if unlabelled and not mapping.exists() else _read_mapping(mapping)
    listed = _read_bundles(root, split_index)
    features = {vid: _read_features(root, vid, where) for _, vid, where in listed}
    _check_widths(root, features)
    samples = []
    for split, vid, _ in listed:
        video = features[vid]
        labels = None if unlabelled else _read_labels(root, vid, video, class_names, allow_length_mismatch)
        if labels is not None:
            video = video[: len(labels)]
        samples.append(
            Sample(
                name=vid,
                fps=fps / sample_rate,
                class_names=class_names,
                features=video[::sample_rate],
                frame_labels=None if labels is None else labels[::sample_rate],
                meta={"split": split, "sample_rate": sample_rate, "full_length": len(video)},
            )
        )
    return samples


def _read_mapping(path: Path) -> tuple[str, ...]:
    names = []
    expected = "mapping.txt with lines '<id> <name>' (pass unlabelled=True to read features only)"
    for number, line in _numbered_lines(path, expected):
        parts = line.split(maxsplit=1)
        if len(parts) != 2 or parts[0] != str(len(names)):
            expected = f"'{len(names)} <name>' (ids counting up from 0)"
            raise FormatError(path, expected, number, repr(line))
        if parts[1] in names:
            raise FormatError(path, "each class name once", number, f"{parts[1]!r} again (id {names.index(parts[1])})")
        names.append(parts[1])
    if not names:
        raise FormatError(path, "at least one '<id> <name>' line", got="an empty file")
    return tuple(names)


def _read_bundles(root: Path, split_index: int) -> list[tuple[str, str, str]]:
    """(split, vid, where it is listed) in bundle order; a vid in both bundles is an error."""
    listed, seen = [], {}
    for split in SPLITS:
        path = _bundle_path(root, split, split_index)
        for number, line in _numbered_lines(path, f"the {split} bundle of split {split_index}"):
            if not line.endswith(".txt"):
                raise FormatError(path, "'<vid>.txt'", number, repr(line))
            vid = line[: -len(".txt")]
            if vid in seen:
                raise FormatError(path, f"each video once (already in {seen[vid]})", number, repr(line))
            seen[vid] = path.name
            listed.append((split, vid, f"{path.relative_to(root)}, line {number}"))
    return listed


def _read_features(root: Path, vid: str, where: str) -> np.ndarray:
    """[T, D] float32 from features/<vid>.npy (D, T)."""
    path = root / "features" / f"{vid}.npy"
    expected = f"a (D, T) feature array (the video of {where})"
    array = load_npy(path, expected)
    if array.ndim != 2 or 0 in array.shape:
        raise FormatError(path, "a (D, T) feature array with D, T >= 1", got=f"shape {array.shape}")
    check_finite(path, array, "frame features", axes=("channel", "frame"))
    return np.ascontiguousarray(array.T, dtype=np.float32)  # (D, T) -> [T, D]


def _check_widths(root: Path, features: dict[str, np.ndarray]) -> None:
    """Every video has the feature width D most videos have."""
    widths = {vid: array.shape[1] for vid, array in features.items()}
    width = usual(widths)
    for vid, found in widths.items():
        if found != width:
            path = root / "features" / f"{vid}.npy"
            raise FormatError(path, f"D = {width} feature channels, as the dataset's other videos", got=f"D = {found}")


def _read_labels(root: Path, vid: str, features: np.ndarray, class_names, allow_length_mismatch: bool):
    """labels [T'] int64, T' = T of the features (or fewer, when a mismatch is allowed)."""
    path = root / "groundTruth" / f"{vid}.txt"
    expected = "one class name per frame (pass unlabelled=True to read features only)"
    ids = {name: i for i, name in enumerate(class_names)}
    lines = read_text(path, expected).splitlines()
    if not lines:
        raise FormatError(path, f"{len(features)} lines, one class name per frame", got="an empty file")
    labels = np.empty(len(lines), dtype=np.int64)
    for index, line in enumerate(lines):
        name = line.strip()
        if name not in ids:
            raise FormatError(path, "a class name listed in mapping.txt", index + 1, repr(name))
        labels[index] = ids[name]
    if len(labels) != len(features) and not allow_length_mismatch:
        raise FormatError(
            path,
            f"{len(features)} lines, one per frame of features/{vid}.npy",
            got=f"{len(labels)} lines (allow_length_mismatch=True cuts both to the shorter)",
        )
    return labels[: len(features)]


def _numbered_lines(path: Path, expected: str):
    """(1-based line number, stripped line) of the non-blank lines."""
    for number, line in enumerate(read_text(path, expected).splitlines(), start=1):
        if line.strip():
            yield number, line.strip()

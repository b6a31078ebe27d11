"""PKU-MMD raw skeletons and action labels.

Layout under ``root``::

    Skeleton/<seq>.txt   T lines of 150 space-separated numbers: body 1 then body 2, each
                         25 Kinect v2 joints (NTU order) x (x, y, z) in metres; body 2 is all
                         zeros when absent. 30 frames per second.
    Label/<seq>.txt      one action instance a line: "action_id,start,end,confidence"

Frame convention. The dataset's README names the fields ``start_frame, end_frame`` without
saying more; we read them as 0-based rows of the skeleton file with ``end`` INCLUSIVE
(the instance covers rows ``start..end``), which is how public preprocessing scripts slice
the skeleton files (``rows[start:end + 1]``). The writer uses the same convention.

Action ids are 1..51; frames no row covers are background, id 0. Overlapping rows are
refused, since a frame holds one label. The confidence (the annotators' quality mark) goes
to ``meta["confidences"]``, one per row in time order. Numbers are written with 9
significant digits, enough for float32 to read back bit-identical.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..sample import Sample
from ._checks import check_finite, read_text
from ._errors import FormatError

FPS = 30.0
BODIES, JOINTS = 2, 25
ROW_WIDTH = BODIES * JOINTS * 3  # 150
BACKGROUND = 0


# --- write ----------------------------------------------------------------------------


def write(samples, root) -> None:
    """Write each sample's skeleton3d [T, M<=2, 25, 3] and frame_labels [T] (0 = background).

    A missing second body is written as zeros. Each maximal run of one nonzero label
    becomes one label row, with confidence ``meta["confidences"][i]`` (one per run, in time
    order) or 1. Back-to-back instances of one action therefore merge into one row.
    """
    root = Path(root)
    for sub in ("Skeleton", "Label"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    for sample in samples:
        if sample.fps != FPS:
            raise ValueError(f"pku: sample {sample.name!r} runs at {sample.fps} fps; PKU-MMD is {FPS}")
        np.savetxt(root / "Skeleton" / f"{sample.name}.txt", _skeleton_rows(sample), fmt="%.9g")
        _write_label_rows(root / "Label" / f"{sample.name}.txt", sample)


def _skeleton_rows(sample: Sample) -> np.ndarray:
    """(T, 150) float32 rows, the second body padded with zeros."""
    skeleton = sample.skeleton3d
    if skeleton is None or skeleton.ndim != 4 or skeleton.shape[2:] != (JOINTS, 3):
        shape = None if skeleton is None else skeleton.shape
        raise ValueError(f"pku: sample {sample.name!r} needs skeleton3d [T, M, 25, 3], got {shape}")
    frames, bodies = skeleton.shape[:2]
    if bodies > BODIES:
        raise ValueError(f"pku: sample {sample.name!r} has {bodies} bodies; the format holds {BODIES}")
    padded = np.zeros((frames, BODIES, JOINTS, 3), dtype=np.float32)
    padded[:, :bodies] = skeleton
    return padded.reshape(frames, ROW_WIDTH)


def _write_label_rows(path: Path, sample: Sample) -> None:
    if sample.frame_labels is None:
        raise ValueError(f"pku: sample {sample.name!r} has no frame_labels")
    runs = _action_runs(np.asarray(sample.frame_labels), sample.name)
    confidences = sample.meta.get("confidences", [1.0] * len(runs))
    if len(confidences) != len(runs):
        raise ValueError(
            f"pku: sample {sample.name!r} has {len(runs)} action runs but {len(confidences)} meta['confidences']"
        )
    lines = [f"{label},{start},{end},{float(conf):.17g}\n" for (label, start, end), conf in zip(runs, confidences)]
    path.write_text("".join(lines), encoding="utf-8")


def _action_runs(labels: np.ndarray, name: str) -> list[tuple[int, int, int]]:
    """(label, first frame, last frame inclusive) of each maximal nonzero run."""
    if labels.size and labels.min() < 0:
        raise ValueError(f"pku: sample {name!r} has negative labels (IGNORE_INDEX has no PKU code)")
    starts = np.flatnonzero(np.diff(labels, prepend=-1))  # first frame of every run
    ends = np.append(starts[1:], len(labels)) - 1
    return [(int(labels[s]), int(s), int(e)) for s, e in zip(starts, ends) if labels[s] != BACKGROUND]


# --- read -----------------------------------------------------------------------------


def read(root, class_names: tuple = (), num_actions: int = 51, unlabelled: bool = False) -> list[Sample]:
    """One Sample per ``Skeleton/<seq>.txt`` (sorted by name), with its ``Label/<seq>.txt``.

    skeleton3d [T, 2, 25, 3] float32, frame_labels [T] int64 (0 = background), fps 30,
    meta["confidences"]. The files carry no action names: ``class_names`` (index 0 for
    background, then ids 1..51) is attached as given.

    Options: ``class_names`` the names to attach (when given, action ids must index
    it); ``num_actions`` the largest action id (51 in PKU-MMD); ``unlabelled`` read the
    skeletons only (no Label files needed, frame_labels None). Refused (a
    :class:`FormatError` naming the file and line): a missing or empty label file unless
    ``unlabelled``, overlapping rows, action ids outside 1..num_actions, NaN or infinite
    numbers, rows without 150 numbers, empty skeleton files, non-UTF-8 text.
    """
    root = Path(root)
    skeleton_paths = sorted((root / "Skeleton").glob("*.txt"))
    if not skeleton_paths:
        raise FormatError(root / "Skeleton", "<seq>.txt skeleton files", got="none")
    top = min(num_actions, len(class_names) - 1) if class_names else num_actions
    samples = []
    for skeleton_path in skeleton_paths:
        skeleton = _read_skeleton(skeleton_path)
        labels, confidences = None, []
        if not unlabelled:
            labels, confidences = _read_labels(root / "Label" / skeleton_path.name, skeleton_path, len(skeleton), top)
        samples.append(
            Sample(
                name=skeleton_path.stem,
                fps=FPS,
                class_names=tuple(class_names),
                skeleton3d=skeleton,
                frame_labels=labels,
                meta={"confidences": confidences} if labels is not None else {},
            )
        )
    return samples


def _read_skeleton(path: Path) -> np.ndarray:
    """[T, 2, 25, 3] float32 from T lines of 150 numbers."""
    lines = read_text(path, f"lines of {ROW_WIDTH} numbers").rstrip().splitlines()
    if not lines:
        raise FormatError(path, f"at least one line (frame) of {ROW_WIDTH} numbers", got="an empty file")
    rows = np.empty((len(lines), ROW_WIDTH), dtype=np.float32)
    for index, line in enumerate(lines):
        fields = line.split()
        if len(fields) != ROW_WIDTH:
            raise FormatError(path, f"{ROW_WIDTH} space-separated numbers", index + 1, f"{len(fields)} fields")
        try:
            # parse as float64 first: a 9-digit decimal then rounds to the float32 it came from
            rows[index] = np.array(fields, dtype=np.float64)
        except ValueError:
            raise FormatError(path, f"{ROW_WIDTH} numbers", index + 1, repr(line[:80])) from None
    check_finite(path, rows, "joint coordinates", axes=("frame", "column"), lines=range(1, len(rows) + 1))
    return rows.reshape(len(lines), BODIES, JOINTS, 3)


def _read_labels(path: Path, skeleton_path: Path, num_frames: int, top: int) -> tuple[np.ndarray, list[float]]:
    """frame_labels [T] int64 and the confidences of the rows in time order."""
    expected = (
        f"'action_id,start,end,confidence' rows with 1 <= action_id <= {top}, 0 <= start <= end < {num_frames} "
        f"(the frames of Skeleton/{skeleton_path.name})"
    )
    text = read_text(path, f"{expected} (pass unlabelled=True to read skeletons only)")
    rows = sorted(_label_rows(path, text, expected, top, num_frames), key=lambda row: row[2])
    if not rows:
        raise FormatError(path, f"at least one action row {expected}", got="no rows")
    labels = np.full(num_frames, BACKGROUND, dtype=np.int64)
    previous_end = -1
    for number, action, start, end, _ in rows:
        if start <= previous_end:
            expected = f"instances that do not overlap (the one before ends at {previous_end})"
            raise FormatError(path, expected, number, f"start {start}")
        labels[start : end + 1] = action
        previous_end = end
    return labels, [row[4] for row in rows]


def _label_rows(path: Path, text: str, expected: str, top: int, num_frames: int):
    """(line number, action, start, end, confidence) of each non-blank line, validated."""
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        fields = [field.strip() for field in line.split(",")]
        try:
            action, start, end = (int(field) for field in fields[:3])
            confidence = float(fields[3])
        except (ValueError, IndexError):
            raise FormatError(path, expected, number, repr(line)) from None
        if len(fields) != 4 or not 1 <= action <= top or not 0 <= start <= end < num_frames:
            raise FormatError(path, expected, number, repr(line))
        if not np.isfinite(confidence):
            raise FormatError(path, "a finite confidence", number, repr(line))
        yield number, action, start, end, confidence

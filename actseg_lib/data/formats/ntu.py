"""NTU RGB+D ``.skeleton`` files: one clip a file, Kinect v2's 25 joints per body.

A file is named ``SsssCcccPpppRrrrAaaa.skeleton``: setup, camera, performer,
replication and action (1-based), three digits each. It is text, one record a line,
fields separated by spaces::

    T                                       frame count
    then T frames, each:
      B                                     body count (0 when nobody is tracked)
      then B bodies, each:
        bodyID clippedEdges handLeftConfidence handLeftState handRightConfidence
            handRightState isRestricted leanX leanY trackingState
        25                                  joint count
        25 joint lines:
            x y z depthX depthY colorX colorY orientW orientX orientY orientZ trackingState

``read`` gives one :class:`Sample` a file: ``name`` the file stem, ``label`` the action
- 1, ``class_names`` the action codes A001-A060 (A001-A120 when an action above 60 occurs), ``subject`` the performer, ``view`` the camera, ``skeleton3d`` [T, M, 25, 3] (x y z,
metres) and ``skeleton2d`` [T, M, 25, 2] (colorX colorY, pixels in the 1920x1080 colour
image), M the most bodies in any frame. A frame's bodies fill slots 0..B-1 in the order
the file lists them (so a person can change slot when another leaves: the file does
not say who is who except through ``bodyID``); empty slots are zeros. Everything else
the file holds goes to ``meta`` so that writing a read sample gives the same file
contents back:

==================  =====================  =======================================
``meta`` key        shape                  from
==================  =====================  =======================================
``frame_size``      (1920, 1080)           the colour image colorX, colorY refer to
``setup``           int                    file name
``replication``     int                    file name
``body_counts``     [T] int64              B of each frame
``body_ids``        [T, M] int64           bodyID
``body_flags``      [T, M, 6] int64        clippedEdges .. isRestricted
``lean``            [T, M, 2] float32      leanX leanY
``body_tracking``   [T, M] int64           the body's trackingState
``depth2d``         [T, M, 25, 2] float32  depthX depthY (512x424 depth image)
``orientation``     [T, M, 25, 4] float32  orientW orientX orientY orientZ
``joint_tracking``  [T, M, 25] int64       the joint's trackingState
==================  =====================  =======================================

``write`` needs ``skeleton3d``, ``label``, ``subject`` and ``view``; it takes the
``meta`` entries above when present and otherwise writes: setup and replication 1,
depth coordinates = ``skeleton2d`` scaled from 1920x1080 to 512x424, body ids
72057594037931101 + slot, flags, lean and orientation zeros, tracking states 2
(tracked). Without ``meta["body_counts"]`` a frame's body count is one past its last
slot holding a non-zero joint, so zero-filled slots stay absent. Floats are written with
nine significant digits, which brings every float32 back exactly.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np

from ..sample import Sample
from ._checks import read_text
from ._errors import FormatError

NUM_JOINTS = 25
COLOR_SIZE = (1920, 1080)  # width, height of the colour camera that colorX / colorY refer to
FPS = 30.0
NAME = re.compile(r"S(\d{3})C(\d{3})P(\d{3})R(\d{3})A(\d{3})")
NAME_PATTERN = "a name SsssCcccPpppRrrrAaaa.skeleton (e.g. S001C002P003R001A012.skeleton)"
FIRST_BODY_ID = 72057594037931101
COLOR_SIZE, DEPTH_SIZE = (1920, 1080), (512, 424)
TRACKED = 2

_BODY_LINE = (
    "a body line of 10 fields: bodyID clippedEdges handLeftConfidence handLeftState "
    "handRightConfidence handRightState isRestricted leanX leanY trackingState"
)
_JOINT_LINE = (
    "a joint line of 12 fields: x y z depthX depthY colorX colorY orientW orientX orientY orientZ trackingState"
)


# --- reading ---------------------------------------------------------------------------


class _Lines:
    """The lines of one file handed out in order, so errors can name their number."""

    def __init__(self, path: Path):
        self.path = path
        self.lines = read_text(path, "an NTU RGB+D .skeleton text file").splitlines()
        self.at = 0  # lines handed out so far = 1-based number of the last one

    def fields(self, count: int, what: str) -> list[str]:
        if self.at >= len(self.lines):
            raise FormatError(self.path, what, line=self.at + 1, got="the end of the file")
        fields = self.lines[self.at].split()
        self.at += 1
        if len(fields) != count:
            raise FormatError(self.path, what, line=self.at, got=f"{len(fields)} fields")
        return fields

    def numbers(self, fields: list[str], kind, what: str) -> list:
        try:
            values = [kind(field) for field in fields]
        except ValueError:
            raise FormatError(self.path, what, line=self.at, got=repr(" ".join(fields))) from None
        for column, value in enumerate(values, start=1):
            if not math.isfinite(value):
                raise FormatError(
                    self.path, f"finite numbers in {what}", line=self.at, got=f"{value} in field {column}"
                )
        return values

    def integer(self, what: str) -> int:
        return self.numbers(self.fields(1, what), int, what)[0]

    def leftover(self) -> int | None:
        """Number of the first non-blank line not handed out, if any."""
        for number in range(self.at, len(self.lines)):
            if self.lines[number].strip():
                return number + 1
        return None


def _read_body(lines: _Lines) -> dict:
    info = lines.fields(10, _BODY_LINE)
    ints = lines.numbers(info[:7] + info[9:], int, _BODY_LINE)
    lean = lines.numbers(info[7:9], float, _BODY_LINE)
    if lines.integer("the joint count 25") != NUM_JOINTS:
        raise FormatError(lines.path, "the joint count 25", line=lines.at, got=lines.lines[lines.at - 1])
    joints = []
    for _ in range(NUM_JOINTS):
        fields = lines.fields(12, _JOINT_LINE)
        joints.append(lines.numbers(fields[:11], float, _JOINT_LINE) + lines.numbers(fields[11:], int, _JOINT_LINE))
    joints = np.array(joints, dtype=np.float64)  # [25, 12]; ints and float32s both exact
    return {
        "id": ints[0],
        "flags": ints[1:7],
        "tracking": ints[7],
        "lean": lean,
        "xyz": joints[:, 0:3],
        "depth": joints[:, 3:5],
        "color": joints[:, 5:7],
        "orientation": joints[:, 7:11],
        "joint_tracking": joints[:, 11],
    }


def _read_frames(lines: _Lines) -> list[list[dict]]:
    count = lines.integer("the frame count")
    if count < 1:
        raise FormatError(lines.path, "a frame count of at least 1", line=1, got=str(count))
    frames = []
    for _ in range(count):
        bodies = lines.integer("a frame's body count")
        if bodies < 0:
            raise FormatError(lines.path, "a body count >= 0", line=lines.at, got=str(bodies))
        frames.append([_read_body(lines) for _ in range(bodies)])
    extra = lines.leftover()
    if extra is not None:
        raise FormatError(
            lines.path, f"the end of the file after the {count} frames line 1 announces", line=extra, got="more lines"
        )
    return frames


def _stack(frames: list[list[dict]], key: str, shape: tuple, dtype) -> np.ndarray:
    """[T, M, *shape] array of one body field, zeros in empty slots."""
    bodies = max((len(frame) for frame in frames), default=0)
    out = np.zeros((len(frames), bodies, *shape), dtype=dtype)
    for t, frame in enumerate(frames):
        for m, body in enumerate(frame):
            out[t, m] = body[key]
    return out


def _parse_name(path: Path) -> dict:
    match = NAME.fullmatch(path.stem)
    if match is None:
        raise FormatError(path, NAME_PATTERN, got=repr(path.name))
    setup, camera, performer, replication, action = map(int, match.groups())
    if action < 1:
        raise FormatError(path, "an action number from 001", got=repr(path.name))
    return dict(setup=setup, camera=camera, performer=performer, replication=replication, action=action)


def read_file(path) -> Sample:
    """One ``.skeleton`` file as a :class:`Sample` (see the module docstring)."""
    path = Path(path)
    ids = _parse_name(path)
    frames = _read_frames(_Lines(path))
    meta = {
        "frame_size": COLOR_SIZE,
        "setup": ids["setup"],
        "replication": ids["replication"],
        "body_counts": np.array([len(frame) for frame in frames], dtype=np.int64),
        "body_ids": _stack(frames, "id", (), np.int64),
        "body_flags": _stack(frames, "flags", (6,), np.int64),
        "lean": _stack(frames, "lean", (2,), np.float32),
        "body_tracking": _stack(frames, "tracking", (), np.int64),
        "depth2d": _stack(frames, "depth", (NUM_JOINTS, 2), np.float32),
        "orientation": _stack(frames, "orientation", (NUM_JOINTS, 4), np.float32),
        "joint_tracking": _stack(frames, "joint_tracking", (NUM_JOINTS,), np.int64),
    }
    return Sample(
        name=path.stem,
        fps=FPS,
        label=ids["action"] - 1,
        subject=ids["performer"],
        view=ids["camera"],
        skeleton3d=_stack(frames, "xyz", (NUM_JOINTS, 3), np.float32),
        skeleton2d=_stack(frames, "color", (NUM_JOINTS, 2), np.float32),
        meta=meta,
    )


def read(root, exclude: tuple = ()) -> list[Sample]:
    """Every ``*.skeleton`` file under ``root`` (recursively, sorted by path).

    ``exclude``: file names or stems to skip, e.g. NTU's published list of samples with
    missing skeletons. Refused (a :class:`FormatError` naming the file and line): NaN or
    infinite numbers, files without frames, frame counts that do not match the frames
    stored, lines with the wrong number of fields, non-UTF-8 text, symlink loops.
    """
    root = Path(root)
    paths = sorted(root.rglob("*.skeleton"))
    if not paths:
        raise FormatError(root, "*.skeleton files under this folder", got="none")
    skip = {Path(name).stem for name in ([exclude] if isinstance(exclude, str) else exclude)}
    samples = [read_file(path) for path in paths if path.stem not in skip]
    # the files hold action numbers only: name the classes by their codes, for NTU RGB+D 60
    # (A001-A060) or, when a higher action occurs, NTU RGB+D 120 (A001-A120)
    num_actions = 60 if max((s.label for s in samples), default=0) < 60 else 120
    names = tuple(f"A{i:03d}" for i in range(1, num_actions + 1))
    for sample in samples:
        sample.class_names = names
    return samples


# --- writing ---------------------------------------------------------------------------


def _number(value: int | None, what: str, sample: Sample) -> int:
    if value is None or not 1 <= int(value) <= 999:
        raise ValueError(f"sample {sample.name!r}: the NTU file name needs {what} in 1..999, got {value!r}")
    return int(value)


def file_stem(sample: Sample) -> str:
    """``SsssCcccPpppRrrrAaaa`` from meta setup/replication (default 1), view, subject, label."""
    if sample.label is None:
        raise ValueError(f"sample {sample.name!r}: the NTU file name needs a label (the action)")
    parts = (
        ("S", sample.meta.get("setup", 1), "meta['setup']"),
        ("C", sample.view, "view (the camera)"),
        ("P", sample.subject, "subject (the performer)"),
        ("R", sample.meta.get("replication", 1), "meta['replication']"),
        ("A", sample.label + 1, "label + 1 (the action)"),
    )
    return "".join(f"{letter}{_number(value, what, sample):03d}" for letter, value, what in parts)


def _meta(sample: Sample, key: str, shape: tuple, default) -> np.ndarray:
    if key not in sample.meta:
        return np.broadcast_to(np.asarray(default), shape)
    value = np.asarray(sample.meta[key])
    if value.shape != shape:
        raise ValueError(f"sample {sample.name!r}: meta[{key!r}] has shape {value.shape}, expected {shape}")
    return value


def _body_counts(sample: Sample, xyz: np.ndarray) -> np.ndarray:
    T, M = xyz.shape[:2]
    if "body_counts" in sample.meta or M == 0:
        counts = _meta(sample, "body_counts", (T,), 0)
        if counts.min(initial=0) < 0 or counts.max(initial=0) > M:
            raise ValueError(f"sample {sample.name!r}: meta['body_counts'] must lie in 0..{M}")
        return counts
    present = np.any(xyz != 0, axis=(2, 3))  # [T, M]
    # one past the last present slot; 0 for an empty frame
    return np.where(present.any(axis=1), M - np.argmax(present[:, ::-1], axis=1), 0)


def _fields(sample: Sample) -> dict:
    """Every column of the file as a [T, M, ...] array, from the sample or defaults."""
    xyz = np.asarray(sample.skeleton3d)
    if xyz.ndim != 4 or xyz.shape[2:] != (NUM_JOINTS, 3):
        raise ValueError(f"sample {sample.name!r}: NTU needs skeleton3d [T, M, 25, 3], got {xyz.shape}")
    T, M = xyz.shape[:2]
    color = np.zeros((T, M, NUM_JOINTS, 2), np.float32) if sample.skeleton2d is None else np.asarray(sample.skeleton2d)
    if color.shape != (T, M, NUM_JOINTS, 2):
        raise ValueError(f"sample {sample.name!r}: skeleton2d {color.shape} does not match skeleton3d {xyz.shape}")
    scale = np.array(DEPTH_SIZE, np.float32) / np.array(COLOR_SIZE, np.float32)
    return {
        "counts": _body_counts(sample, xyz),
        "ids": _meta(sample, "body_ids", (T, M), FIRST_BODY_ID + np.arange(M, dtype=np.int64)),
        "flags": _meta(sample, "body_flags", (T, M, 6), 0),
        "lean": _meta(sample, "lean", (T, M, 2), np.float32(0)),
        "body_tracking": _meta(sample, "body_tracking", (T, M), TRACKED),
        # [T, M, 25, 11]: the float columns of a joint line, in file order
        "joints": np.concatenate(
            [
                xyz.astype(np.float32),
                _meta(sample, "depth2d", (T, M, NUM_JOINTS, 2), color.astype(np.float32) * scale),
                color.astype(np.float32),
                _meta(sample, "orientation", (T, M, NUM_JOINTS, 4), np.float32(0)),
            ],
            axis=-1,
        ).astype(np.float32),
        "joint_tracking": _meta(sample, "joint_tracking", (T, M, NUM_JOINTS), TRACKED),
    }


def _text(f: dict) -> str:
    floats = np.vectorize("{:.9g}".format, otypes=[str])  # 9 digits: float32 round-trips
    joints = floats(f["joints"].astype(np.float64))
    lean = floats(f["lean"].astype(np.float32).astype(np.float64))
    out = [str(len(f["counts"]))]
    for t, count in enumerate(f["counts"]):
        out.append(str(int(count)))
        for m in range(int(count)):
            flags = " ".join(str(int(v)) for v in f["flags"][t, m])
            out.append(f"{int(f['ids'][t, m])} {flags} {lean[t, m, 0]} {lean[t, m, 1]} {int(f['body_tracking'][t, m])}")
            out.append(str(NUM_JOINTS))
            out.extend(" ".join(joints[t, m, j]) + f" {int(f['joint_tracking'][t, m, j])}" for j in range(NUM_JOINTS))
    return "\n".join(out) + "\n"


def write(samples, root) -> None:
    """One ``<stem>.skeleton`` a sample in ``root``; the stem comes from :func:`file_stem`.

    Two samples that give the same stem (same setup, camera, performer, replication and
    action) are an error: set ``meta["replication"]`` to tell them apart.
    """
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    seen = {}
    for sample in samples:
        stem = file_stem(sample)
        if stem in seen:
            raise ValueError(
                f"samples {seen[stem]!r} and {sample.name!r} both map to {stem}.skeleton; "
                "give them different meta['replication']"
            )
        seen[stem] = sample.name
        (root / f"{stem}.skeleton").write_text(_text(_fields(sample)))

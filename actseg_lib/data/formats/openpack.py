"""OpenPack session folders: four wrist and arm IMUs, 2D keypoints, scanner and printer
events and operation labels of a packaging work session.

Layout (user e.g. ``U0101``, session e.g. ``S0100``)::

    <root>/<user>/
      atr/atr01/<session>.csv ... atr/atr04/<session>.csv
          unixtime,acc_x,acc_y,acc_z,gyro_x,gyro_y,gyro_z,quat_w,quat_x,quat_y,quat_z
          (unixtime in ms, acceleration in G, angular velocity in deg/s; nominally 30 Hz)
      kinect/2d-kpt/<model>/single/<session>.json
          {"annotations": [{"image_id": unixtime ms, "keypoints": 17 x [x, y, score]}, ...]}
          (COCO joint order, about 15 Hz; a flat list of 51 numbers is read too)
      system/ht/<session>.csv          handheld scanner: unixtime,datetime,order_sheet,box,item
      system/printer/<session>.csv     label printer:    unixtime,datetime,order_sheet
      annotation/openpack-operations/<session>.csv
          uuid,user,session,box,id,operation,start,end,actions
          (one row an operation; start and end in ISO 8601 with +09:00, e.g.
          2021-10-22 11:31:40.100000+09:00; id 100..1000, or 8100 for Null)

``read`` gives one :class:`Sample` a session, on the clock of atr01: ``timestamps_ms`` [T]
is atr01's unixtime and ``fps`` the nominal 30. The other streams are resampled onto it
by *previous value*: each frame takes the stream's latest sample at or before the
frame's time (frames before the stream's first sample take that first sample). A stream
may hold one value at most ``max_gap_ms`` (1000 by default): one cut short, starting late
or with a longer hole is refused rather than held.

- ``imu`` [T, 4, 6] float32 (acc x y z, gyro x y z of atr01..atr04, ``imu_names``);
  the quaternions go to ``meta["quaternions"]`` [T, 4, 4] float32 (w x y z);
- ``skeleton2d`` [T, 1, 17, 2] and ``joint_scores`` [T, 1, 17] from the keypoints;
- ``events`` {"scanner": [K], "printer": [K]} frame indices: each event goes to the
  first frame at or after its time (the last frame for one up to ``max_gap_ms`` after
  it; events further outside the session are refused);
- ``frame_labels`` [T] int64 are **OpenPack operation ids**, not class indices: a frame
  takes the id of the annotation row with start <= time < end, 8100 (Null) when none
  covers it. ``meta["label_kind"]`` is "openpack_id"; ``class_names`` lists the ten
  operation names in id order (id 100 * (k + 1) is ``class_names[k]``).

Every file must be there: the four atr files, the keypoints (unless ``keypoints=False``),
both event logs (unless ``events=False``) and the annotation (unless ``unlabelled=True``);
an option left out leaves its field out of the Sample.
``subject`` is the user's number (101 for U0101); ``meta`` also holds ``user``,
``session``, ``keypoint_model`` and, with the annotations, ``boxes`` [T] int64: the box
column of the row covering each frame (0 where none does, or the cell is empty), which
lets one session be split by box (``data.split="box"``, :mod:`actseg_lib.data.prepare`).

``write`` is the reverse, one session a sample (``name`` is the session id). It needs
``imu``; ``timestamps_ms`` default to 2021-10-22 10:00 JST plus ``i * 1000 / fps`` ms;
the user folder is ``meta["user"]`` or the ``user`` option. Keypoints come from the first
body of ``skeleton2d`` (25 NTU joints are mapped with
:data:`~actseg_lib.common.skeletons.NTU_TO_COCO`; ``joint_scores`` default to 1) and are
written every ``keypoint_step`` frames (2: 15 Hz from 30 Hz) as real sessions have them,
so a round trip is exact on the frames written and previous-value on the others.
``frame_labels`` must be OpenPack ids (``IGNORE_INDEX`` is written as Null); each run of
one id other than Null becomes an annotation row ending at the next frame's time. The
``box`` column counts packing cycles (it steps when the operation id goes down) and the
event files' order columns are left empty; both event logs are written, header only when
the sample has no such events. Floats are written with nine significant
digits, which brings every float32 back exactly.
"""

from __future__ import annotations

import csv
import io
import json
import re
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np

from ...common.labels import IGNORE_INDEX
from ...common.openpack import OPENPACK_NULL_ID, OPENPACK_OPERATIONS
from ...common.skeletons import COCO_JOINTS, NTU_TO_COCO, NUM_NTU_JOINTS
from ..sample import Sample
from ._checks import check_finite, read_text
from ._errors import FormatError

ATR_DEVICES = ("atr01", "atr02", "atr03", "atr04")
ATR_HEADER = (
    "unixtime",
    "acc_x",
    "acc_y",
    "acc_z",
    "gyro_x",
    "gyro_y",
    "gyro_z",
    "quat_w",
    "quat_x",
    "quat_y",
    "quat_z",
)
# event name -> (system folder, header written); reading checks only unixtime,datetime
EVENT_FILES = {
    "scanner": ("ht", ("unixtime", "datetime", "order_sheet", "box", "item")),
    "printer": ("printer", ("unixtime", "datetime", "order_sheet")),
}
ANNOTATION_HEADER = ("uuid", "user", "session", "box", "id", "operation", "start", "end", "actions")
# the keypoint folder the OpenPack toolkit reads by default (its kinect-2d-kpt stream)
DEFAULT_MODEL = "mmpose-hrnet-w48-posetrack18-384x288-posewarper-stage2"
NUM_JOINTS = len(COCO_JOINTS)
FPS = 30.0
OPERATION_IDS = tuple(sorted(OPENPACK_OPERATIONS)) + (OPENPACK_NULL_ID,)
CLASS_NAMES = tuple(OPENPACK_OPERATIONS[i] for i in sorted(OPENPACK_OPERATIONS))
JST = timezone(timedelta(hours=9))
EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
DEFAULT_START_MS = 1634864400000  # 2021-10-22 10:00:00+09:00
ISO_EXAMPLE = "2021-10-22 11:31:40.100000+09:00"


def _paths(user_dir: Path, session: str, model: str) -> dict:
    system = user_dir / "system"
    return {
        "atr": [user_dir / "atr" / device / f"{session}.csv" for device in ATR_DEVICES],
        "keypoints": user_dir / "kinect" / "2d-kpt" / model / "single" / f"{session}.json",
        "events": {name: system / folder / f"{session}.csv" for name, (folder, _) in EVENT_FILES.items()},
        "operations": user_dir / "annotation" / "openpack-operations" / f"{session}.csv",
    }


# --- reading ---------------------------------------------------------------------------


def _csv_rows(path: Path, header: tuple, exact: bool = True, expected: str = "") -> list[tuple[int, list[str]]]:
    """(line number, fields) of each data row, after checking the header on line 1
    (all of it, or only its first columns when ``exact`` is false)."""
    text = read_text(path, expected or f"a csv file with the header {','.join(header)}")
    reader = csv.reader(io.StringIO(text, newline=""))
    first = next(reader, [])
    if (first if exact else first[: len(header)]) != list(header):
        raise FormatError(
            path, f"the header {','.join(header)}" + ("" if exact else ",..."), line=1, got=repr(",".join(first))
        )
    return [(reader.line_num, row) for row in reader if row]


def _number(path: Path, line: int, text: str, kind, what: str):
    try:
        return kind(text)
    except ValueError:
        raise FormatError(path, what, line=line, got=repr(text)) from None


def _unixtimes(path: Path, rows, strict: bool) -> np.ndarray:
    """[N] int64 first column, checked to increase (or not to decrease)."""
    times = []
    for line, row in rows:
        time = _number(path, line, row[0], int, "unixtime in whole milliseconds")
        if times and (time <= times[-1] if strict else time < times[-1]):
            order = "increasing" if strict else "non-decreasing"
            raise FormatError(path, f"{order} unixtime", line=line, got=f"{time} after {times[-1]}")
        times.append(time)
    return np.array(times, dtype=np.int64)


def _read_atr(path: Path) -> tuple[np.ndarray, np.ndarray, list[int]]:
    """(unixtime [N] int64, [N, 10] float32 acc, gyro, quaternion, line of each row) of
    one IMU file."""
    rows = _csv_rows(path, ATR_HEADER, expected="this IMU file (the session's clock comes from atr01)")
    if not rows:
        raise FormatError(path, "at least one sample after the header", line=2, got="the end of the file")
    values = []
    for line, row in rows:
        if len(row) != len(ATR_HEADER):
            raise FormatError(path, f"{len(ATR_HEADER)} fields", line=line, got=f"{len(row)}")
        values.append([_number(path, line, text, float, "a number") for text in row[1:]])
    lines = [line for line, _ in rows]
    values = check_finite(path, np.array(values, dtype=np.float64), "IMU values", ("row", "value"), lines)
    return _unixtimes(path, rows, strict=True), values.astype(np.float32), lines


def _read_keypoints(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """(unixtime [K] int64, [K, 17, 3] float32 x, y, score) of the keypoint file."""
    text = read_text(path, "the session's 2D keypoints as JSON (pass keypoints=False to read without them)")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise FormatError(path, "valid JSON", line=error.lineno, got=error.msg) from None
    annotations = data.get("annotations") if isinstance(data, dict) else None
    if not isinstance(annotations, list) or not annotations:
        raise FormatError(path, "an object with a non-empty 'annotations' list")
    times, points = [], []
    for i, item in enumerate(annotations):
        what = f"annotations[{i}] with an integer image_id (unixtime ms) and 17 x [x, y, score] keypoints"
        try:
            time, keypoints = item["image_id"], np.asarray(item["keypoints"], dtype=np.float64)
        except (KeyError, TypeError, ValueError):
            raise FormatError(path, what) from None
        # a whole number written as 1634864400031.0 is accepted too
        if not (isinstance(time, (int, float)) and float(time).is_integer()) or keypoints.size != NUM_JOINTS * 3:
            raise FormatError(path, what, got=f"image_id {time!r}, {keypoints.size} numbers")
        time = int(time)
        if times and time <= times[-1]:
            raise FormatError(path, f"annotations[{i}] with an image_id after {times[-1]}", got=str(time))
        times.append(time)
        points.append(keypoints.reshape(NUM_JOINTS, 3))
    points = check_finite(path, np.array(points), "keypoints", ("annotation", "joint", "value"))
    return np.array(times, dtype=np.int64), points.astype(np.float32)


def _previous(times: np.ndarray, values: np.ndarray, clock: np.ndarray) -> np.ndarray:
    """values[k] for the latest times[k] <= each clock time (values[0] before times[0])."""
    index = np.searchsorted(times, clock, side="right") - 1
    return values[np.maximum(index, 0)]


def _check_coverage(path: Path, times: np.ndarray, clock: np.ndarray, max_gap_ms: int, lines=None, words="") -> None:
    """Refuse a stream that leaves a clock frame more than ``max_gap_ms`` from the sample
    it would be given (a stream cut short, starting late or with a hole), rather than
    hold one value over it. ``lines[k]`` is the line of sample k (when the file has
    lines) and ``words`` names it, formatted with ``k`` and ``time``."""
    index = np.searchsorted(times, clock, side="right") - 1
    held = np.where(index >= 0, clock - times[np.maximum(index, 0)], times[0] - clock)  # [T] ms
    frames = np.flatnonzero(held > max_gap_ms)
    if not frames.size:
        return
    frame = frames[0]
    expected = (
        f"samples covering the session (atr01 unixtime {clock[0]}..{clock[-1]}) with no gap above {max_gap_ms} ms"
        " (max_gap_ms)"
    )
    k = max(index[frame], 0)
    line = None if lines is None else lines[k]
    words = words.format(k=k, time=times[k])
    if index[frame] < 0:
        got = f"the first sample ({words}) {held[frame]} ms after the session starts"
    elif k == len(times) - 1:
        got = f"the last sample ({words}) {clock[-1] - times[k]} ms before the session ends"
    else:
        got = f"a gap of {times[k + 1] - times[k]} ms after {words}"
    raise FormatError(path, expected, line=line, got=got)


def _read_events(path: Path, clock: np.ndarray, max_gap_ms: int) -> np.ndarray:
    """[K] int64 frame of each event: the first frame at or after it (the last frame for
    an event at most ``max_gap_ms`` after it)."""
    expected = "the session's event log (pass events=False to read without events)"
    rows = _csv_rows(path, ("unixtime", "datetime"), exact=False, expected=expected)
    times = _unixtimes(path, rows, strict=False)
    outside = np.flatnonzero((times < clock[0] - max_gap_ms) | (times > clock[-1] + max_gap_ms))
    if outside.size:
        k = outside[0]
        expected = f"events within the session (atr01 unixtime {clock[0]}..{clock[-1]}, give or take max_gap_ms)"
        raise FormatError(path, expected, line=rows[k][0], got=str(times[k]))
    return np.minimum(np.searchsorted(clock, times, side="left"), len(clock) - 1).astype(np.int64)


def _iso_ms(path: Path, line: int, text: str) -> int:
    what = f"an ISO 8601 time with its UTC offset, e.g. {ISO_EXAMPLE}"
    moment = _number(path, line, text, datetime.fromisoformat, what)
    if moment.tzinfo is None:
        raise FormatError(path, what, line=line, got=repr(text))
    return (moment - EPOCH) // timedelta(milliseconds=1)


def _box_number(text: str) -> int:
    """The annotation's box column as a number; 0 when it holds none (an empty cell)."""
    text = text.strip()
    return int(text) if text.isdigit() else 0


def _read_operations(path: Path, clock: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """([T] int64 operation id of each frame, Null where no row covers it; [T] int64 box
    number of each frame, 0 where no row covers it)."""
    expected = "the session's operation labels (pass unlabelled=True to read without labels)"
    intervals = []  # (start ms, end ms, line, operation, box)
    for line, row in _csv_rows(path, ANNOTATION_HEADER, expected=expected):
        if len(row) != len(ANNOTATION_HEADER):
            raise FormatError(path, f"{len(ANNOTATION_HEADER)} fields", line=line, got=f"{len(row)}")
        operation = _number(path, line, row[4], int, "an integer operation id")
        if operation not in OPERATION_IDS:
            raise FormatError(path, f"an operation id in {list(OPERATION_IDS)}", line=line, got=str(operation))
        start, end = _iso_ms(path, line, row[6]), _iso_ms(path, line, row[7])
        if end < start:
            raise FormatError(path, "end not before start", line=line, got=f"{row[6]} .. {row[7]}")
        intervals.append((start, end, line, operation, _box_number(row[3])))
    if not intervals:
        raise FormatError(path, "at least one operation row after the header", line=2, got="none")
    labels = np.full(len(clock), OPENPACK_NULL_ID, dtype=np.int64)
    boxes = np.zeros(len(clock), dtype=np.int64)
    previous = None
    for start, end, line, operation, box in sorted(intervals):
        if previous is not None and start < previous[1]:
            expected = f"operations that do not overlap (the one on line {previous[2]} ends later)"
            raise FormatError(path, expected, line=line, got=f"start {start} ms before {previous[1]} ms")
        covered = slice(np.searchsorted(clock, start), np.searchsorted(clock, end))  # [start, end)
        labels[covered], boxes[covered] = operation, box
        previous = (start, end, line)
    return labels, boxes


def _user_number(user: str) -> int | None:
    match = re.fullmatch(r"U(\d+)", user)
    return int(match.group(1)) if match else None


def _read_session(
    user_dir: Path, session: str, model: str, keypoints: bool, events: bool, unlabelled: bool, max_gap_ms: int
) -> Sample:
    paths = _paths(user_dir, session, model)
    clock, atr01, _ = _read_atr(paths["atr"][0])
    sensors = [atr01]
    for path in paths["atr"][1:]:
        times, values, lines = _read_atr(path)
        _check_coverage(path, times, clock, max_gap_ms, lines, "unixtime {time}")
        sensors.append(_previous(times, values, clock))
    sensors = np.stack(sensors, axis=1)  # [T, 4, 10]
    fields = dict(
        name=session,
        fps=FPS,
        class_names=CLASS_NAMES,
        subject=_user_number(user_dir.name),
        timestamps_ms=clock,
        imu=sensors[..., :6],
        imu_names=ATR_DEVICES,  # [T, 4, 6]
        meta={
            "user": user_dir.name,
            "session": session,
            "label_kind": "openpack_id",
            "keypoint_model": model,
            "quaternions": sensors[..., 6:],
        },  # [T, 4, 4]
    )
    if events:
        fields["events"] = {name: _read_events(path, clock, max_gap_ms) for name, path in paths["events"].items()}
    if keypoints:
        times, points = _read_keypoints(paths["keypoints"])
        _check_coverage(paths["keypoints"], times, clock, max_gap_ms, words="annotations[{k}], image_id {time}")
        points = _previous(times, points, clock)  # [T, 17, 3]
        fields.update(skeleton2d=points[:, None, :, :2], joint_scores=points[:, None, :, 2])
    if not unlabelled:
        fields["frame_labels"], fields["meta"]["boxes"] = _read_operations(paths["operations"], clock)
    return Sample(**fields)


def _sessions(user_dir: Path) -> list[str]:
    """Sessions with a file in any atr folder (so a missing atr01 file is reported)."""
    return sorted({path.stem for path in user_dir.glob("atr/atr0*/*.csv")})


def read(
    root,
    users: str | list[str] | None = None,
    sessions: str | list[str] | None = None,
    model: str = DEFAULT_MODEL,
    keypoints: bool | None = None,
    events: bool | None = None,
    unlabelled: bool = False,
    max_gap_ms: int = 1000,
) -> list[Sample]:
    """The sessions under ``root``: by default every user folder holding an ``atr``
    folder (sorted) and every session found in its atr folders.

    Options: ``users`` and ``sessions`` pick some (in the order given); ``model`` names
    the keypoint folder; ``keypoints=False`` reads without the keypoint files, True with
    them, and None (the default) with them when any user folder read has a ``kinect``
    folder (a root of the IMU and IoT parts alone, what most users download first, is
    read without keypoints; one user with keypoints makes them required of all);
    ``events`` likewise for the scanner and printer logs and the ``system`` folder; ``unlabelled=True`` reads without the operation annotation files
    (frame_labels None); ``max_gap_ms`` is the longest a resampled stream may hold one
    value (atr02..04 and the keypoints must cover atr01's clock with no longer gap).
    Refused (a :class:`FormatError` naming the file and line): missing files not opted
    out of, NaN or infinite values, streams cut short, starting late or with a hole,
    an annotation file without rows, overlapping operations, events outside the
    session, non-UTF-8 text, symlink loops.
    """
    root = Path(root)
    users = [users] if isinstance(users, str) else users
    sessions = [sessions] if isinstance(sessions, str) else sessions
    if users is None:
        users = sorted(path.name for path in root.iterdir() if (path / "atr").is_dir())
        if not users:
            raise FormatError(root, "user folders <root>/<user>/atr/...", got="none")
    for user in users:
        if not (root / user).is_dir():
            raise FormatError(root / user, "a user folder", got="no such folder")
    if keypoints is None:
        keypoints = any((root / user / "kinect").is_dir() for user in users)
    if events is None:
        events = any((root / user / "system").is_dir() for user in users)
    samples = []
    for user in users:
        user_dir = root / user
        names = _sessions(user_dir) if sessions is None else sessions
        options = (model, keypoints, events, unlabelled, max_gap_ms)
        samples += [_read_session(user_dir, session, *options) for session in names]
    return samples


# --- writing ---------------------------------------------------------------------------


def _digits(values: np.ndarray) -> np.ndarray:
    """Nine significant digits: enough for any float32 to come back exactly."""
    return np.vectorize("{:.9g}".format, otypes=[str])(np.asarray(values, np.float32).astype(np.float64))


def _iso(ms: int) -> str:
    return (EPOCH + timedelta(milliseconds=int(ms))).astimezone(JST).isoformat(sep=" ", timespec="microseconds")


def _clock(sample: Sample) -> np.ndarray:
    if sample.timestamps_ms is None:
        return DEFAULT_START_MS + np.round(np.arange(sample.num_frames) * 1000.0 / sample.fps).astype(np.int64)
    clock = np.asarray(sample.timestamps_ms, dtype=np.int64)
    if np.any(np.diff(clock) <= 0):
        raise ValueError(f"sample {sample.name!r}: timestamps_ms must increase")
    return clock


def _write_csv(path: Path, header: tuple, rows) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)


def _write_atr(paths: list[Path], clock: np.ndarray, sample: Sample) -> None:
    imu = None if sample.imu is None else np.asarray(sample.imu)
    if imu is None or imu.shape[1:] != (len(ATR_DEVICES), 6):
        raise ValueError(
            f"sample {sample.name!r}: OpenPack needs imu [T, 4, 6], got {None if imu is None else imu.shape}"
        )
    identity = np.broadcast_to(np.array([1, 0, 0, 0], np.float32), (len(clock), len(ATR_DEVICES), 4))
    quaternions = np.asarray(sample.meta.get("quaternions", identity))
    if quaternions.shape != identity.shape:
        raise ValueError(f"sample {sample.name!r}: meta['quaternions'] must be [T, 4, 4], got {quaternions.shape}")
    values = _digits(np.concatenate([imu, quaternions], axis=-1))  # [T, 4, 10]
    for k, path in enumerate(paths):
        _write_csv(path, ATR_HEADER, ([str(t), *row] for t, row in zip(clock, values[:, k])))


def _coco_joints(sample: Sample) -> np.ndarray:
    """[T, 17, 3] x, y, score of the first body, NTU joints mapped to COCO."""
    joints = np.asarray(sample.skeleton2d)
    if joints.ndim != 4 or joints.shape[-1] != 2 or joints.shape[1] < 1:
        raise ValueError(f"sample {sample.name!r}: OpenPack needs skeleton2d [T, M, J, 2], got {joints.shape}")
    scores = np.ones(joints.shape[:3], np.float32) if sample.joint_scores is None else np.asarray(sample.joint_scores)
    points = np.concatenate([joints[:, 0], scores[:, 0, :, None]], axis=-1)  # [T, J, 3]
    if points.shape[1] == NUM_NTU_JOINTS:
        points = points[:, NTU_TO_COCO]
    if points.shape[1] != NUM_JOINTS:
        raise ValueError(f"sample {sample.name!r}: OpenPack needs 17 COCO (or 25 NTU) joints, got {points.shape[1]}")
    return points


def _write_keypoints(path: Path, clock: np.ndarray, sample: Sample, step: int) -> None:
    points = _digits(_coco_joints(sample)).astype(float)  # [T, 17, 3] float32 values as float64
    # nested 17 x [x, y, score], the shape the OpenPack toolkit's loader transposes
    annotations = [{"image_id": int(clock[t]), "keypoints": points[t].tolist()} for t in range(0, len(clock), step)]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"annotations": annotations}), encoding="utf-8")


def _write_events(paths: dict, clock: np.ndarray, sample: Sample) -> None:
    unknown = set(sample.events) - set(EVENT_FILES)
    if unknown:
        raise ValueError(f"sample {sample.name!r}: OpenPack has events {sorted(EVENT_FILES)}, not {sorted(unknown)}")
    for name in EVENT_FILES:  # both logs, empty when the sample has no such events, as the reader needs them
        frames = np.asarray(sample.events.get(name, []), dtype=np.int64)
        if np.any((frames < 0) | (frames >= len(clock))):
            raise ValueError(f"sample {sample.name!r}: events[{name!r}] holds frames outside 0..{len(clock) - 1}")
        header = EVENT_FILES[name][1]
        empty = [""] * (len(header) - 2)
        _write_csv(paths[name], header, ([str(clock[f]), _iso(clock[f]), *empty] for f in np.sort(frames)))


def _operation_rows(clock: np.ndarray, sample: Sample, user: str) -> list[list[str]]:
    ids = np.where(np.asarray(sample.frame_labels) == IGNORE_INDEX, OPENPACK_NULL_ID, sample.frame_labels)
    unknown = np.setdiff1d(ids, OPERATION_IDS)
    if unknown.size:
        raise ValueError(
            f"sample {sample.name!r}: frame_labels hold {unknown[:5].tolist()}, not OpenPack "
            f"operation ids {list(OPERATION_IDS)}; map class indices to ids first"
        )
    cuts = np.flatnonzero(np.diff(ids)) + 1
    rows, box, previous = [], 1, None
    for first, stop in zip(np.r_[0, cuts], np.r_[cuts, len(ids)]):
        operation = int(ids[first])
        if operation == OPENPACK_NULL_ID:
            continue
        if previous is not None and operation < previous:
            box += 1
        previous = operation
        # end is exclusive: the next frame's time, or one ms past the last frame
        start, end = clock[first], clock[stop] if stop < len(clock) else clock[-1] + 1
        key = uuid.uuid5(uuid.NAMESPACE_URL, f"openpack/{user}/{sample.name}/{start}")
        rows.append(
            [
                str(key),
                user,
                sample.name,
                str(box),
                str(operation),
                OPENPACK_OPERATIONS[operation],
                _iso(start),
                _iso(end),
                "",
            ]
        )
    return rows


def _file_name(text: str, what: str) -> str:
    if not re.fullmatch(r"[\w-]+", text):
        raise ValueError(f"{what} {text!r} is not usable as a file name (letters, digits, _ and - only)")
    return text


def write(samples, root, user="U0101", model=DEFAULT_MODEL, keypoint_step=2) -> None:
    """One session's files a sample under ``root / user`` (see the module docstring)."""
    for sample in samples:
        _file_name(sample.name, "sample name (the session)")
        owner = _file_name(sample.meta.get("user", user), "user")
        paths = _paths(Path(root) / owner, sample.name, model)
        clock = _clock(sample)
        _write_atr(paths["atr"], clock, sample)
        if sample.skeleton2d is not None:
            _write_keypoints(paths["keypoints"], clock, sample, keypoint_step)
        _write_events(paths["events"], clock, sample)
        if sample.frame_labels is not None:
            _write_csv(paths["operations"], ANNOTATION_HEADER, _operation_rows(clock, sample, owner))

"""Malformed datasets for the format readers: a tiny SynthAct dataset written in each
format, then one corruption a case (a NaN, a stream cut short, a deleted annotation
file, a symlink loop, ...). Each case knows the file it corrupts, so a test can check
that the reader's error names it.

``python tests/malformed.py --tally`` reads every case and prints how the readers fare:
clear (a one-line FormatError naming the corrupted file and what was expected), silent
(the data was accepted), raw (any other exception) or unclear (a FormatError that names
another file, spans lines or says nothing of what was expected).
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import scipy.io

from actseg_lib.data import formats
from actseg_lib.data.formats import FormatError
from actseg_lib.data.sources import FORMAT_SOURCE, for_format
from actseg_lib.data.synthact.generate import config_for, make_clips, make_workflow

TINY = config_for(
    "reduced", num_subjects=2, image_size=24, clip_frames=6, boxes_per_session=1, actions_per_sequence=(2, 2)
)
NUM_DAILY_CLASSES = 13  # SynthAct daily's class count (checked in test_formats_malformed)
SPLIT_OF = {0: "train", 1: "test", 2: "train"}


def synthact_samples(fmt: str) -> list:
    """The samples written for ``fmt``: six clips, three daily sequences or two sessions."""
    kind = FORMAT_SOURCE[fmt]
    if kind == "clips":
        samples = [c for cls in (0, 2) for c in make_clips(TINY, cls, 3, 0)]
    else:
        samples = [make_workflow(TINY, kind, i) for i in range(2 if kind == "packaging" else 3)]
    return list(for_format(fmt, samples, split_of=SPLIT_OF))


def write_dataset(fmt: str, root: Path) -> Path:
    """A tiny SynthAct dataset in format ``fmt`` under ``root``."""
    samples = synthact_samples(fmt)
    if fmt == "ts":
        formats.write("ts", [s for s in samples if s.meta["split"] != "test"], root, split="TRAIN")
    else:
        formats.write(fmt, samples, root)
    return root


# --- corruptions: each takes the dataset root and returns the file it changed -------------


def _file(root: Path, pattern: str) -> Path:
    """The first file (sorted) matching ``pattern`` under ``root``."""
    matches = sorted(root.glob(pattern))
    if not matches:
        raise LookupError(f"no {pattern} under {root}")
    return matches[0]


def on_file(pattern: str, action: Callable[[Path], None]):
    """A corruption: ``action`` done to the first file matching ``pattern`` under a
    dataset's root; it returns that file (the one the error must name)."""

    def corrupt(root: Path) -> Path:
        path = _file(root, pattern)
        action(path)
        return path

    return corrupt


def edit_text(pattern: str, change: Callable[[str], str]):
    return on_file(pattern, lambda path: path.write_text(change(path.read_text(encoding="utf-8")), encoding="utf-8"))


def edit_lines(pattern: str, change: Callable[[list[str]], list[str]]):
    """Change the file's lines (without their newlines)."""
    return edit_text(pattern, lambda text: "".join(f"{line}\n" for line in change(text.splitlines())))


def edit_line(pattern: str, index: int, change: Callable[[str], str]):
    """Change line ``index`` (0-based; negative counts from the end)."""

    def lines(all_lines: list[str]) -> list[str]:
        all_lines[index] = change(all_lines[index])
        return all_lines

    return edit_lines(pattern, lines)


def edit_field(pattern: str, index: int, field_index: int, value: str, sep: str | None = None):
    """Set one field of line ``index`` (fields split by ``sep``, whitespace when None)."""

    def change(line: str) -> str:
        fields = line.split(sep)
        fields[field_index] = value
        return (sep or " ").join(fields)

    return edit_line(pattern, index, change)


def edit_npy(pattern: str, change: Callable[[np.ndarray], np.ndarray]):
    # allow_pickle on writing: object arrays are a case
    return on_file(pattern, lambda path: np.save(path, change(np.load(path)), allow_pickle=True))


def edit_mat(pattern: str, change: Callable[[dict], None]):
    def rewrite(path: Path) -> None:
        mat = {k: v for k, v in scipy.io.loadmat(path).items() if not k.startswith("__")}
        change(mat)
        scipy.io.savemat(path, mat)

    return on_file(pattern, rewrite)


def write_bytes(pattern: str, data: bytes):
    return on_file(pattern, lambda path: path.write_bytes(data))


def non_utf8(pattern: str):
    """Bytes that are not UTF-8 at the start of the file's middle line."""

    def prefix_middle_line(path: Path) -> None:
        lines = path.read_bytes().splitlines(keepends=True)
        middle = len(lines) // 2
        lines[middle] = b"\xff\xfe" + lines[middle]
        path.write_bytes(b"".join(lines))

    return on_file(pattern, prefix_middle_line)


def delete(pattern: str):
    return on_file(pattern, Path.unlink)


def symlink_loop(pattern: str):
    """The file replaced by a link to itself."""

    def loop(path: Path) -> None:
        path.unlink()
        path.symlink_to(path.name)

    return on_file(pattern, loop)


def set_value(value: float, index=(0, 0)):
    def change(array: np.ndarray) -> np.ndarray:
        array = array.astype(np.float32 if array.dtype.kind == "f" else np.float64)
        array[index] = value
        return array

    return change


def object_array(array: np.ndarray) -> np.ndarray:
    return np.array([array, "x"], dtype=object)


GARBAGE = b"these bytes are no numpy array\x00\x01\x02" * 4


# --- the cases ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    fmt: str
    name: str
    corrupt: Callable[[Path], Path]
    options: dict = field(default_factory=dict)

    @property
    def id(self) -> str:
        return f"{self.fmt}-{self.name}"


def _npy_cases(fmt: str, pattern: str, what: str) -> list[Case]:
    """The corruptions every .npy file can have."""
    return [
        Case(fmt, f"{what}-nan", edit_npy(pattern, set_value(np.nan, (0, 0)))),
        Case(fmt, f"{what}-inf", edit_npy(pattern, set_value(np.inf, (-1, -1)))),
        Case(fmt, f"{what}-garbage-npy", write_bytes(pattern, GARBAGE)),
        Case(fmt, f"{what}-empty-npy", write_bytes(pattern, b"")),
        Case(fmt, f"{what}-truncated-npy", lambda root: _truncate_bytes(_file(root, pattern))),
        Case(fmt, f"{what}-object-npy", edit_npy(pattern, object_array)),
        Case(fmt, f"{what}-complex", edit_npy(pattern, lambda a: a.astype(np.complex64))),
        Case(fmt, f"{what}-strings", edit_npy(pattern, lambda a: a.astype(str))),
        Case(fmt, f"{what}-symlink-loop", symlink_loop(pattern)),
    ]


def _truncate_bytes(path: Path) -> Path:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return path


def mstcn_cases() -> list[Case]:
    f, gt = "features/*.npy", "groundTruth/*.txt"
    fmt = "mstcn"
    return [
        *_npy_cases(fmt, f, "features"),
        Case(fmt, "features-one-channel-short", edit_npy(f, lambda a: a[:-1])),
        Case(fmt, "features-1d", edit_npy(f, lambda a: a[0])),
        Case(fmt, "features-no-frames", edit_npy(f, lambda a: a[:, :0])),
        Case(fmt, "features-missing", delete(f)),
        Case(fmt, "groundtruth-missing", delete(gt)),
        Case(fmt, "groundtruth-empty", write_bytes(gt, b"")),
        Case(fmt, "groundtruth-non-utf8", non_utf8(gt)),
        Case(fmt, "groundtruth-unknown-class", edit_line(gt, 5, lambda _: "juggle")),
        Case(fmt, "groundtruth-short", edit_lines(gt, lambda lines: lines[:-10])),
        Case(fmt, "groundtruth-symlink-loop", symlink_loop(gt)),
        Case(fmt, "mapping-missing", delete("mapping.txt")),
        Case(fmt, "mapping-non-utf8", non_utf8("mapping.txt")),
        Case(fmt, "mapping-ids-skip", edit_field("mapping.txt", 0, 0, "1")),
        Case(
            fmt,
            "mapping-wrong-delimiter",
            edit_lines("mapping.txt", lambda lines: [ln.replace(" ", ",", 1) for ln in lines]),
        ),
        Case(fmt, "mapping-duplicate-name", edit_line("mapping.txt", 1, lambda line: line.split()[0] + " idle")),
        Case(fmt, "mapping-empty", write_bytes("mapping.txt", b"")),
        Case(fmt, "bundle-missing", delete("splits/test.split1.bundle")),
        Case(fmt, "bundle-no-txt", edit_line("splits/train.split1.bundle", 0, lambda line: line[:-4])),
        Case(fmt, "bundle-non-utf8", non_utf8("splits/train.split1.bundle")),
        Case(fmt, "bundle-unknown-video", edit_line("splits/train.split1.bundle", 0, lambda _: "nobody.txt")),
    ]


def dest_cases() -> list[Case]:
    f, gt, b, csv = "features/*.npy", "gt_arr/*.npy", "gt_boundary_arr/*.npy", "csv/synthact/train1.csv"
    fmt = "dest"
    return [
        *_npy_cases(fmt, f, "features"),
        Case(fmt, "features-74-of-75-channels", edit_npy(f, lambda a: a[:, :-1])),
        Case(fmt, "features-no-frames", lambda root: _dest_no_frames(root)),
        Case(fmt, "labels-missing", delete(gt)),
        Case(fmt, "labels-garbage-npy", write_bytes(gt, GARBAGE)),
        Case(fmt, "labels-empty-npy", write_bytes(gt, b"")),
        Case(fmt, "labels-object-npy", edit_npy(gt, object_array)),
        Case(fmt, "labels-nan", edit_npy(gt, set_value(np.nan, 3))),
        Case(fmt, "labels-negative", edit_npy(gt, lambda a: np.where(np.arange(len(a)) == 3, -1, a))),
        Case(fmt, "labels-above-padding", edit_npy(gt, lambda a: np.where(np.arange(len(a)) == 3, 300, a))),
        Case(
            fmt,
            "labels-class-outside-dataset",
            edit_npy(gt, lambda a: np.where(np.arange(len(a)) == 0, NUM_DAILY_CLASSES, a)),
            {"num_classes": NUM_DAILY_CLASSES},
        ),
        Case(fmt, "labels-short", edit_npy(gt, lambda a: a[:-5])),
        Case(fmt, "labels-2d", edit_npy(gt, lambda a: a[:, None])),
        Case(fmt, "labels-symlink-loop", symlink_loop(gt)),
        Case(fmt, "boundary-missing", delete(b)),
        Case(fmt, "boundary-misses-a-start", edit_npy(b, lambda a: np.zeros_like(a))),
        Case(fmt, "boundary-value-2", edit_npy(b, lambda a: a + 1)),
        Case(fmt, "boundary-nan", edit_npy(b, set_value(np.nan, 0))),
        Case(fmt, "csv-wrong-header", edit_line(csv, 0, lambda _: "feature,label")),
        Case(fmt, "csv-wrong-delimiter", edit_line(csv, 1, lambda line: line.replace(",", ";"))),
        Case(fmt, "csv-missing-column", edit_line(csv, 1, lambda line: line.rsplit(",", 1)[0])),
        Case(fmt, "csv-non-utf8", non_utf8(csv)),
        Case(fmt, "csv-symlink-loop", symlink_loop(csv)),
    ]


def _dest_no_frames(root: Path) -> Path:
    """All three arrays of one video cut to zero frames, so only emptiness is wrong."""
    feature = _file(root, "features/*.npy")
    for sub in ("features", "gt_arr", "gt_boundary_arr"):
        path = root / sub / feature.name
        np.save(path, np.load(path)[:0])
    return feature


def pku_cases() -> list[Case]:
    s, lab = "Skeleton/*.txt", "Label/*.txt"
    fmt = "pku"

    def label_row(value_of):
        return edit_line(lab, 0, lambda line: ",".join(value_of(line.split(","))))

    def with_field(index, value):
        return label_row(lambda fields: [value if i == index else v for i, v in enumerate(fields)])

    return [
        Case(fmt, "skeleton-nan", edit_field(s, 3, 7, "nan")),
        Case(fmt, "skeleton-inf", edit_field(s, 4, 0, "-inf")),
        Case(fmt, "skeleton-overflow", edit_field(s, 4, 1, "1e999")),
        Case(fmt, "skeleton-149-numbers", edit_line(s, 2, lambda line: line.rsplit(" ", 1)[0])),
        Case(fmt, "skeleton-not-a-number", edit_field(s, 2, 5, "x0.3")),
        Case(fmt, "skeleton-wrong-delimiter", edit_line(s, 2, lambda line: line.replace(" ", ","))),
        Case(fmt, "skeleton-non-utf8", non_utf8(s)),
        Case(fmt, "skeleton-empty", write_bytes(s, b"")),
        Case(fmt, "skeleton-symlink-loop", symlink_loop(s)),
        Case(fmt, "skeleton-short-for-labels", edit_lines(s, lambda lines: lines[:50])),
        Case(fmt, "labels-missing", delete(lab)),
        Case(fmt, "labels-empty", write_bytes(lab, b"")),
        Case(fmt, "labels-overlap", edit_lines(lab, lambda lines: lines + [_overlapping_pku_row(lines[0])])),
        Case(fmt, "labels-action-52", with_field(0, "52")),
        Case(fmt, "labels-action-0", with_field(0, "0")),
        Case(
            fmt, "labels-class-outside-names", with_field(0, "13"), {"class_names": tuple(f"c{i}" for i in range(13))}
        ),
        Case(fmt, "labels-negative-start", with_field(1, "-3")),
        Case(fmt, "labels-end-beyond-frames", with_field(2, "100000")),
        Case(fmt, "labels-start-after-end", label_row(lambda f: [f[0], f[2], f[1], f[3]] if f[1] != f[2] else f)),
        Case(fmt, "labels-missing-column", label_row(lambda f: f[:3])),
        Case(fmt, "labels-extra-column", label_row(lambda f: f + ["1"])),
        Case(fmt, "labels-wrong-delimiter", label_row(lambda f: [" ".join(f)])),
        Case(fmt, "labels-confidence-nan", with_field(3, "nan")),
        Case(fmt, "labels-non-utf8", non_utf8(lab)),
        Case(fmt, "labels-symlink-loop", symlink_loop(lab)),
    ]


def _overlapping_pku_row(row: str) -> str:
    action, start, end, confidence = row.split(",")
    return f"{action},{int(start) + 1},{int(end) + 1},{confidence}"


def ntu_cases() -> list[Case]:
    s = "*.skeleton"
    fmt = "ntu"
    # line 0: frame count, 1: body count, 2: body line, 3: "25", 4..28: joints
    return [
        Case(fmt, "joint-nan", edit_field(s, 4, 0, "nan")),
        Case(fmt, "joint-inf", edit_field(s, 5, 2, "inf")),
        Case(fmt, "joint-color-nan", edit_field(s, 6, 5, "NaN")),
        Case(fmt, "joint-orientation-inf", edit_field(s, 6, 8, "-inf")),
        Case(fmt, "lean-nan", edit_field(s, 2, 7, "nan")),
        Case(fmt, "joint-11-fields", edit_line(s, 7, lambda line: line.rsplit(" ", 1)[0])),
        Case(fmt, "joint-wrong-delimiter", edit_line(s, 7, lambda line: line.replace(" ", ","))),
        Case(fmt, "joint-tracking-fraction", edit_field(s, 8, 11, "2.5")),
        Case(fmt, "joint-count-24", edit_line(s, 3, lambda _: "24")),
        Case(fmt, "frame-count-too-high", edit_line(s, 0, lambda line: str(int(line) + 1))),
        Case(fmt, "frame-count-too-low", edit_line(s, 0, lambda line: str(int(line) - 1))),
        Case(fmt, "frame-count-zero", edit_lines(s, lambda _: ["0"])),
        Case(fmt, "frame-count-word", edit_line(s, 0, lambda _: "six")),
        Case(fmt, "body-count-negative", edit_line(s, 1, lambda _: "-1")),
        Case(fmt, "truncated", edit_lines(s, lambda lines: lines[: len(lines) // 2])),
        Case(fmt, "empty", write_bytes(s, b"")),
        Case(fmt, "non-utf8", non_utf8(s)),
        Case(fmt, "symlink-loop", symlink_loop(s)),
        Case(fmt, "bad-name", lambda root: _rename(_file(root, s), "S001C001.skeleton")),
        Case(fmt, "action-zero", lambda root: _rename(_file(root, s), "S001C001P001R001A000.skeleton")),
    ]


def _rename(path: Path, name: str) -> Path:
    return path.rename(path.with_name(name))


def penn_cases() -> list[Case]:
    m = "labels/*.mat"
    fmt = "penn"

    def put(key, value_of):
        return edit_mat(m, lambda mat: mat.__setitem__(key, value_of(mat)))

    def nan_in(key, value=np.nan):
        def change(mat):
            array = mat[key].astype(np.float64)
            array[0, 0] = value
            mat[key] = array

        return edit_mat(m, change)

    return [
        Case(fmt, "x-nan", nan_in("x")),
        Case(fmt, "y-inf", nan_in("y", np.inf)),
        Case(fmt, "visibility-nan", nan_in("visibility")),
        Case(fmt, "bbox-nan", nan_in("bbox")),
        Case(fmt, "visibility-above-1", nan_in("visibility", 2.0)),
        Case(fmt, "x-12-joints", put("x", lambda mat: mat["x"][:, :12])),
        Case(fmt, "x-short", put("x", lambda mat: mat["x"][:-1])),
        Case(fmt, "x-strings", put("x", lambda mat: mat["x"].astype(str))),
        Case(fmt, "nframes-zero", lambda root: _penn_no_frames(_file(root, m))),
        Case(fmt, "nframes-fraction", put("nframes", lambda mat: mat["nframes"] + 0.5)),
        Case(fmt, "dimensions-nan", nan_in("dimensions")),
        Case(fmt, "train-zero", put("train", lambda mat: mat["train"] * 0)),
        Case(fmt, "action-number", put("action", lambda mat: np.array([[3.0]]))),
        Case(fmt, "action-unknown", put("action", lambda mat: "juggle"), {"class_names": ("jump", "throw")}),
        Case(fmt, "missing-variable", edit_mat(m, lambda mat: mat.pop("pose"))),
        Case(fmt, "garbage", write_bytes(m, GARBAGE)),
        Case(fmt, "empty", write_bytes(m, b"")),
        Case(fmt, "truncated", lambda root: _truncate_bytes(_file(root, m))),
        Case(fmt, "symlink-loop", symlink_loop(m)),
    ]


def _penn_no_frames(path: Path) -> Path:
    mat = {k: v for k, v in scipy.io.loadmat(path).items() if not k.startswith("__")}
    for key in ("x", "y", "visibility", "bbox"):
        mat[key] = mat[key][:0]
    mat["nframes"] = np.array([[0.0]])
    scipy.io.savemat(path, mat)
    return path


def openpack_cases() -> list[Case]:
    a1, a2, a3 = (f"*/atr/atr0{k}/*.csv" for k in (1, 2, 3))
    kp = "*/kinect/2d-kpt/*/single/*.json"
    op = "*/annotation/openpack-operations/*.csv"
    ht, pr = "*/system/ht/*.csv", "*/system/printer/*.csv"
    fmt = "openpack"

    def keypoints(change):
        import json

        def edit(text: str) -> str:
            data = json.loads(text)
            change(data["annotations"])
            return json.dumps(data)  # writes NaN as NaN, as Python does

        return edit_text(kp, edit)

    def set_point(value):
        def change(annotations):
            annotations[3]["keypoints"][2][0] = value

        return change

    return [
        Case(fmt, "atr01-nan", edit_field(a1, 5, 2, "nan", sep=",")),
        Case(fmt, "atr02-inf", edit_field(a2, 9, 4, "inf", sep=",")),
        Case(fmt, "atr03-quaternion-nan", edit_field(a3, 9, 8, "NaN", sep=",")),
        Case(fmt, "atr02-cut-short", edit_lines(a2, lambda lines: lines[: len(lines) // 2])),
        Case(fmt, "atr03-starts-late", edit_lines(a3, lambda lines: lines[:1] + lines[len(lines) // 2 :])),
        Case(fmt, "atr02-gap", edit_lines(a2, lambda lines: lines[:100] + lines[200:])),
        Case(fmt, "atr02-missing", delete(a2)),
        Case(fmt, "atr01-missing", delete(a1)),
        Case(fmt, "atr01-non-utf8", non_utf8(a1)),
        Case(fmt, "atr02-header-missing-column", edit_line(a2, 0, lambda line: line.rsplit(",", 1)[0])),
        Case(fmt, "atr01-wrong-delimiter", edit_lines(a1, lambda lines: [ln.replace(",", ";") for ln in lines])),
        Case(fmt, "atr01-time-goes-back", edit_field(a1, 10, 0, "1634864400000", sep=",")),
        Case(fmt, "atr04-row-10-fields", edit_line("*/atr/atr04/*.csv", 7, lambda line: line.rsplit(",", 1)[0])),
        Case(fmt, "atr01-not-a-number", edit_field(a1, 7, 3, "0.1.2", sep=",")),
        Case(fmt, "atr01-empty", write_bytes(a1, b"")),
        Case(fmt, "atr01-header-only", edit_lines(a1, lambda lines: lines[:1])),
        Case(fmt, "atr02-symlink-loop", symlink_loop(a2)),
        Case(fmt, "keypoints-missing", delete(kp)),
        Case(fmt, "keypoints-nan", keypoints(set_point(float("nan")))),
        Case(fmt, "keypoints-inf", keypoints(set_point(float("inf")))),
        Case(fmt, "keypoints-cut-short", keypoints(lambda ann: ann.__delitem__(slice(len(ann) // 2, None)))),
        Case(fmt, "keypoints-16-joints", keypoints(lambda ann: ann[2]["keypoints"].pop())),
        Case(fmt, "keypoints-invalid-json", edit_text(kp, lambda text: text[:-5])),
        Case(fmt, "keypoints-non-utf8", write_bytes(kp, b'{"annotations": [\xff\xfe]}')),
        Case(fmt, "keypoints-symlink-loop", symlink_loop(kp)),
        Case(fmt, "operations-missing", delete(op)),
        Case(fmt, "operations-header-only", edit_lines(op, lambda lines: lines[:1])),
        Case(fmt, "operations-overlap", edit_lines(op, lambda lines: lines + [lines[1]])),
        Case(fmt, "operations-id-1100", edit_field(op, 1, 4, "1100", sep=",")),
        Case(fmt, "operations-end-before-start", edit_line(op, 1, _swap_times)),
        Case(fmt, "operations-time-without-offset", edit_field(op, 1, 6, "2021-10-22 10:00:01", sep=",")),
        Case(fmt, "operations-8-fields", edit_line(op, 1, lambda line: line.rsplit(",", 1)[0])),
        Case(fmt, "operations-non-utf8", non_utf8(op)),
        Case(fmt, "scanner-missing", delete(ht)),
        Case(fmt, "scanner-non-utf8", non_utf8(ht)),
        Case(fmt, "scanner-after-session", edit_lines(ht, lambda lines: lines + ["1734864400000,x,,,"])),
        Case(fmt, "printer-not-a-number", edit_field(pr, 1, 0, "soon", sep=",")),
    ]


def _swap_times(line: str) -> str:
    fields = line.split(",")
    fields[6], fields[7] = fields[7], fields[6]
    return ",".join(fields)


def ts_cases() -> list[Case]:
    t = "SynthAct_TRAIN.ts"
    fmt = "ts"

    def case_line(change):
        return edit_line(t, -2, change)

    def value(text):
        return case_line(lambda line: text + line[line.index(",") :])

    return [
        Case(fmt, "value-nan", value("nan")),
        Case(fmt, "value-inf", value("inf")),
        Case(fmt, "value-overflow", value("1e999")),
        Case(fmt, "value-not-a-number", value("abc")),
        Case(fmt, "missing-value-undeclared", value("?")),
        Case(fmt, "non-utf8", non_utf8(t)),
        Case(fmt, "empty", write_bytes(t, b"")),
        Case(fmt, "no-data-tag", edit_lines(t, lambda lines: [ln for ln in lines if ln != "@data"])),
        Case(fmt, "channel-missing", case_line(lambda line: line.split(":", 1)[1])),
        Case(fmt, "label-missing", case_line(lambda line: line.rsplit(":", 1)[0])),
        Case(fmt, "label-unknown", case_line(lambda line: line.rsplit(":", 1)[0] + ":juggle")),
        Case(fmt, "wrong-delimiter", case_line(lambda line: line.replace(":", ";"))),
        Case(
            fmt,
            "unequal-length",
            case_line(
                lambda line: ":".join(c.rsplit(",", 1)[0] for c in line.split(":")[:-1]) + ":" + line.rsplit(":", 1)[1]
            ),
        ),
        Case(
            fmt,
            "series-length-wrong",
            edit_lines(t, lambda ls: [("@seriesLength 7" if ln.startswith("@seriesLength") else ln) for ln in ls]),
        ),
        Case(
            fmt,
            "dimensions-wrong",
            edit_lines(t, lambda ls: [("@dimensions 74" if ln.startswith("@dimensions") else ln) for ln in ls]),
        ),
        Case(fmt, "unknown-tag", edit_lines(t, lambda ls: ["@sampleRate 30", *ls])),
        Case(fmt, "no-cases", edit_lines(t, lambda ls: ls[: ls.index("@data") + 1])),
        Case(fmt, "symlink-loop", symlink_loop(t)),
    ]


def all_cases() -> list[Case]:
    return [
        *mstcn_cases(),
        *dest_cases(),
        *pku_cases(),
        *ntu_cases(),
        *penn_cases(),
        *openpack_cases(),
        *ts_cases(),
    ]


# --- running a case ---------------------------------------------------------------------------


class Templates:
    """One written dataset per format, copied afresh for each case."""

    def __init__(self, folder: Path):
        self.folder = Path(folder)

    def template(self, fmt: str) -> Path:
        root = self.folder / "templates" / fmt
        if not root.exists():
            write_dataset(fmt, root)
        return root

    def corrupted(self, case: Case) -> tuple[Path, Path]:
        """(dataset root, corrupted file) of a fresh copy with the case applied."""
        root = self.folder / "cases" / case.id
        if root.exists():
            shutil.rmtree(root)
        shutil.copytree(self.template(case.fmt), root, symlinks=True)
        return root, case.corrupt(root)


def outcome(root: Path, corrupted: Path, case: Case) -> tuple[str, str]:
    """("clear" | "unclear" | "silent" | "raw", what happened) of reading a corrupted dataset."""
    try:
        formats.read(case.fmt, root, **case.options)
    except FormatError as error:
        message = str(error)
        named = corrupted.relative_to(root).as_posix() in message
        clear = named and "\n" not in message and "expected" in message
        return ("clear" if clear else "unclear"), message
    except Exception as error:  # noqa: BLE001 (classifying is the point)
        return "raw", f"{type(error).__name__}: {error}"
    return "silent", "accepted"


def tally(folder: Path | None = None, verbose: bool = False) -> dict[str, Counter]:
    """Read every case; outcome counts per reader (and "all")."""
    with tempfile.TemporaryDirectory() as scratch:
        templates = Templates(folder or scratch)
        counts = {"all": Counter()}
        for case in all_cases():
            root, corrupted = templates.corrupted(case)
            kind, message = outcome(root, corrupted, case)
            counts["all"][kind] += 1
            counts.setdefault(case.fmt, Counter())[kind] += 1
            if verbose or kind != "clear":
                print(f"{kind:8s} {case.id}: {message}".replace(str(root), "<root>")[:300])
    return counts


def _line(label: str, counts: Counter) -> str:
    kinds = ("clear", "silent", "raw", "unclear")
    return f"{label}: cases {sum(counts.values())}, " + ", ".join(f"{k} {counts[k]}" for k in kinds)


def main(argv: list[str]) -> None:
    if "--tally" not in argv:
        raise SystemExit("usage: python tests/malformed.py --tally [--verbose]")
    counts = tally(verbose="--verbose" in argv)
    print(_line("all", counts.pop("all")))
    for fmt, fmt_counts in counts.items():
        print("  " + _line(fmt, fmt_counts))


if __name__ == "__main__":
    main(sys.argv[1:])

"""The UEA/UCR ``.ts`` time-series classification format, as sktime and aeon read it.

One file ``<root>/<name>_<split>.ts`` (split TRAIN or TEST)::

    # free comment lines
    @problemName SynthAct
    @timeStamps false
    @missing false
    @univariate false
    @dimensions 6                 (only when @univariate false)
    @equalLength true
    @seriesLength 100             (only when @equalLength true)
    @classLabel true walk run sit (space-separated labels; or "@classLabel false")
    @data
    0.1,0.2,...:1.5,1.4,...:walk  (one case a line: channels split by ':', values by ',',
                                   the label last)

Tags are case-insensitive; ``@dimension`` is accepted for ``@dimensions``, and
``@targetLabel true`` (regression) puts the number in ``meta["target"]``. ``?`` is a
missing value (NaN), refused under ``@missing false``. Lines starting with ``#`` or
``%`` are comments. Timestamped data (``@timeStamps true``) is not supported.

Cases have no names in the format: read names them ``<file stem>_<index>``. Values are
written with 9 significant digits, enough for float32 to read back bit-identical.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..sample import Sample
from ._checks import check_finite, read_text
from ._errors import FormatError

BOOLEAN_TAGS = ("timestamps", "missing", "univariate", "equallength")
INTEGER_TAGS = ("dimensions", "serieslength")
LABEL_TAGS = ("classlabel", "targetlabel")
TAG_ALIASES = {"dimension": "dimensions"}
COMMENT_PREFIXES = ("#", "%")


# --- write ----------------------------------------------------------------------------


def write(samples, root, name: str = "SynthAct", split: str = "TRAIN") -> None:
    """Write ``samples`` as the cases of ``<root>/<name>_<split>.ts``.

    The channels of a case are ``sample.imu`` [T, S, 6] flattened to S*6 channels in
    (sensor, axis) order, or ``sample.features`` [T, D] when imu is None. The label is
    ``class_names[sample.label]`` (all samples share class_names) with each run of
    whitespace turned into ``_``, since ``@classLabel`` separates labels by spaces
    ("drink water" is written, and read back, as "drink_water"). When every label is None
    the file says ``@classLabel false``.
    """
    samples = list(samples)
    if not samples:
        raise ValueError("ts: no samples to write")
    _check_token(name, "problem name")
    series = [_channels(sample) for sample in samples]  # each [T, C]
    if len({s.shape[1] for s in series}) != 1:
        raise ValueError("ts: all samples must have the same number of channels")
    class_names, labels = _labels(samples)
    header = _header(name, series, class_names)
    cases = [_case_line(values, label) for values, label in zip(series, labels)]
    path = Path(root) / f"{name}_{split}.ts"
    path.write_text("\n".join(header + cases) + "\n", encoding="utf-8")


def _check_token(text: str, what: str) -> None:
    # header values are split on spaces and a case line on ':' and ','
    if not text or any(c.isspace() or c in ":," for c in text):
        raise ValueError(f"ts: {what} {text!r} must be non-empty without spaces, ':' or ','")


def _channels(sample: Sample) -> np.ndarray:
    if sample.imu is not None:
        imu = np.asarray(sample.imu, dtype=np.float32)  # [T, S, 6]
        return imu.reshape(len(imu), -1)  # [T, S*6]
    if sample.features is not None:
        return np.asarray(sample.features, dtype=np.float32)  # [T, D]
    raise ValueError(f"ts: sample {sample.name!r} has neither imu nor features")


def _labels(samples) -> tuple[tuple[str, ...], list[str | None]]:
    """The shared class names and each case's label text (None when unlabelled)."""
    if all(sample.label is None for sample in samples):
        return (), [None] * len(samples)
    if any(sample.label is None for sample in samples):
        raise ValueError("ts: either every sample has a label or none has")
    names = {tuple(sample.class_names) for sample in samples}
    if len(names) != 1:
        raise ValueError(f"ts: all samples must share one class_names tuple, got {len(names)}")
    tokens = tuple("_".join(name.split()) for name in names.pop())
    for token in tokens:
        _check_token(token, "class name")
    if len(set(tokens)) != len(tokens):
        raise ValueError(f"ts: class names {tokens} collide once spaces become '_'")
    return tokens, [tokens[sample.label] for sample in samples]


def _header(name: str, series, class_names) -> list[str]:
    lengths = {len(s) for s in series}
    channels = series[0].shape[1]
    missing = any(np.isnan(s).any() for s in series)
    lines = [
        f"@problemName {name}",
        "@timeStamps false",
        f"@missing {_bool(missing)}",
        f"@univariate {_bool(channels == 1)}",
    ]
    if channels > 1:
        lines.append(f"@dimensions {channels}")
    lines.append(f"@equalLength {_bool(len(lengths) == 1)}")
    if len(lengths) == 1:
        lines.append(f"@seriesLength {lengths.pop()}")
    labels = f"true {' '.join(class_names)}" if class_names else "false"
    lines.append(f"@classLabel {labels}")
    return lines + ["@data"]


def _bool(value: bool) -> str:
    return "true" if value else "false"


def _case_line(values: np.ndarray, label: str | None) -> str:
    channels = [",".join(_number(v) for v in column) for column in values.T.tolist()]
    return ":".join(channels + ([label] if label is not None else []))


def _number(value: float) -> str:
    return "?" if value != value else f"{value:.9g}"  # NaN is the one value unequal to itself


# --- read -----------------------------------------------------------------------------


def read(root, name: str = "SynthAct", split: str = "TRAIN", fps: float = 30.0) -> list[Sample]:
    """Cases of ``<root>/<name>_<split>.ts``, or of ``root`` itself when it is a file.

    Each Sample has features [T, C] float32 (C channels; T may differ between cases),
    label = index into class_names (the @classLabel list, in its order) and fps ``fps``.

    Options: ``name`` and ``split`` pick the file; ``fps`` the frame rate (the format
    does not record it). Refused (a :class:`FormatError` naming the file and line):
    NaN or infinite values written out (``?`` under ``@missing true`` is the one missing
    value, read as NaN), labels outside ``@classLabel``, cases whose channel count or
    length differs from the header's, non-UTF-8 text, symlink loops.
    """
    root = Path(root)
    path = root if root.is_file() else root / f"{name}_{split}.ts"
    lines = read_text(path, "a .ts text file").splitlines()
    header, data_start = _read_header(path, lines)
    cases = _read_cases(path, lines, data_start, header)
    if not cases:
        raise FormatError(path, "at least one case after @data", data_start, "none")
    _check_lengths(path, header, cases)
    class_names = tuple(header.get("classlabel") or ())
    return [
        Sample(name=f"{path.stem}_{index}", fps=fps, class_names=class_names, features=values, label=label, meta=meta)
        for index, (_, values, label, meta) in enumerate(cases)
    ]


def _content(lines, start: int = 0):
    """(1-based line number, stripped text) of lines that are neither blank nor comments."""
    for index in range(start, len(lines)):
        text = lines[index].strip()
        if text and not text.startswith(COMMENT_PREFIXES):
            yield index + 1, text


def _read_header(path: Path, lines) -> tuple[dict, int]:
    """The tags up to @data (lower-cased names) and @data's 1-based line number, which is
    also the 0-based index of the first line after it."""
    header = {}
    for number, text in _content(lines):
        if not text.startswith("@"):
            raise FormatError(path, "@tag lines, then '@data' before the cases", number, repr(text[:80]))
        tag, *words = text[1:].split() or [""]
        tag = TAG_ALIASES.get(tag.lower(), tag.lower())
        if tag == "data":
            if words:
                raise FormatError(path, "'@data' alone on its line", number, repr(text))
            _check_required(path, header, number)
            return header, number
        # a repeated tag overrides, as in aeon: its own UnitTest_TEST.ts names the problem twice
        header[tag] = _tag_value(path, number, tag, words)
    raise FormatError(path, "@tag lines, then '@data' before the cases", max(len(lines), 1), "the end of the file")


def _tag_value(path: Path, number: int, tag: str, words: list[str]):
    """The parsed value of one header tag."""
    # aeon writes "@missing False": flags are case-insensitive, class labels are not
    flag = {"true": True, "false": False}.get(words[0].lower()) if words else None
    if tag == "problemname" and len(words) == 1:
        return words[0]
    if tag in (*BOOLEAN_TAGS, "targetlabel") and flag is not None and len(words) == 1:
        if tag == "timestamps" and flag:
            raise FormatError(path, "@timeStamps false (timestamped data is not supported)", number)
        return flag
    if tag in INTEGER_TAGS and len(words) == 1 and words[0].isdigit() and int(words[0]) > 0:
        return int(words[0])
    if tag == "classlabel" and flag is True and len(words) > 1:
        return words[1:]
    if tag == "classlabel" and flag is False and len(words) == 1:
        return None
    known = ("problemname", *BOOLEAN_TAGS, *INTEGER_TAGS, *LABEL_TAGS)
    if tag not in known:
        raise FormatError(path, f"a known tag (@{', @'.join(known)}, @data)", number, f"@{tag}")
    raise FormatError(path, f"a valid value for @{tag}", number, repr(" ".join(words)))


def _check_required(path: Path, header: dict, number: int) -> None:
    if "problemname" not in header:
        raise FormatError(path, "@problemName before @data", number, "@data")
    if not any(tag in header for tag in LABEL_TAGS):
        raise FormatError(path, "@classLabel or @targetLabel before @data", number, "@data")
    if all(tag in header for tag in LABEL_TAGS):
        raise FormatError(path, "only one of @classLabel and @targetLabel", number, "@data")
    if header.get("univariate") is True and header.get("dimensions", 1) != 1:
        raise FormatError(path, "no @dimensions above 1 with @univariate true", number, "@data")


def _read_cases(path: Path, lines, data_start: int, header: dict) -> list:
    """(line number, features [T, C] float32, label index or None, meta) of each case."""
    class_ids = {name: i for i, name in enumerate(header.get("classlabel") or ())}
    has_label = header.get("classlabel") is not None or header.get("targetlabel", False)
    channels = header.get("dimensions", 1 if header.get("univariate", False) else None)
    cases = []
    for number, text in _content(lines, data_start):
        fields = text.split(":")
        values = fields[:-1] if has_label else fields
        channels = channels or len(values)  # without @dimensions the first case decides
        if len(values) != channels:
            raise FormatError(path, f"{channels} channels", number, f"{len(values)}")
        features = _parse_channels(path, number, values, header.get("missing", True))
        label, meta = _parse_label(path, number, fields[-1].strip(), header, class_ids) if has_label else (None, {})
        cases.append((number, features, label, meta))
    return cases


def _parse_channels(path: Path, number: int, channels, missing_allowed: bool) -> np.ndarray:
    """[T, C] float32 from C comma-separated channels of equal length."""
    columns = [channel.split(",") for channel in channels]
    if len({len(column) for column in columns}) != 1:
        raise FormatError(
            path, "channels of one length within a case", number, f"lengths {[len(column) for column in columns]}"
        )
    text = [[value.strip() for value in column] for column in columns]
    missing = np.array([[value == "?" for value in column] for column in text])  # [C, T]
    if missing.any():
        if not missing_allowed:
            raise FormatError(path, "no '?' (the header says @missing false)", number, "'?'")
        text = [["nan" if value == "?" else value for value in column] for column in text]
    try:
        # float64 first: a 9-digit decimal then rounds to the float32 it was written from
        values = np.array(text, dtype=np.float64)  # [C, T]
    except ValueError:
        raise FormatError(path, "comma-separated numbers", number, repr(text[0][:5])) from None
    # '?' is the format's missing value; a NaN or infinity written out is not
    expected = "values ('?' marks a missing one)"
    check_finite(path, np.where(missing, 0.0, values), expected, ("channel", "step"), [number] * len(values))
    return values.T.astype(np.float32)


def _parse_label(path: Path, number: int, text: str, header: dict, class_ids: dict):
    """(label index, meta) of a case's last field."""
    if header.get("targetlabel"):
        try:
            return None, {"target": float(text)}
        except ValueError:
            raise FormatError(path, "a numeric target value last", number, repr(text)) from None
    if text not in class_ids:
        raise FormatError(path, f"a label from @classLabel ({' '.join(class_ids)})", number, repr(text))
    return class_ids[text], {}


def _check_lengths(path: Path, header: dict, cases) -> None:
    """@equalLength and @seriesLength agree with the cases read."""
    if not header.get("equallength", True):
        return
    length = header.get("serieslength", len(cases[0][1]))
    for number, features, _, _ in cases:
        if len(features) != length:
            raise FormatError(path, f"series of length {length} (@equalLength true)", number, f"length {len(features)}")

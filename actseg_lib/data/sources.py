"""Where training data comes from, named by one string, and SynthAct written out in the
real datasets' formats.

``--data`` specs (the command line's and the notebooks'):

* ``synthact:<kind>[:<preset>][,<dial>=<value>...]`` -- generated (and cached) SynthAct,
  e.g. ``synthact:daily``, ``synthact:packaging,event_informativeness=0.5`` or
  ``synthact:daily:reduced,spatial_cue=relative,duration_spread=2`` (dials:
  :data:`actseg_lib.data.synthact.DIALS`);
* ``<format>:<path>[,<option>=<value>...]`` -- a dataset on disk in a real format, e.g.
  ``mstcn:/data/50salads`` (formats: :data:`actseg_lib.data.formats.FORMATS`), with
  options of the format's reader (the keywords of ``actseg_lib.data.formats.<format>.read``,
  each value read as its default's type; booleans as True/False, true/false or 1/0):
  ``openpack:/data/openpack,keypoints=False``,
  ``mstcn:/data/50salads,allow_length_mismatch=True``, ``dest:/data/pku,dataset=pku-mmd``.
  Only trailing ``,<name>=<value>`` parts are options, so a path may hold commas;
* ``real:<name>`` -- small real data shipped in PyPI packages: ``real:watch`` (seglearn's
  smartwatch exercise sets, one untrimmed sequence per subject) or ``real:basic_motions``
  (BasicMotions' train and test clips).
"""

from __future__ import annotations

import ast
import importlib
import inspect
import re
from dataclasses import replace

import numpy as np

from . import formats, synthact
from .formats.ntu import COLOR_SIZE as NTU_COLOR_SIZE
from .sample import Sample

# which SynthAct kind each format carries, and why
FORMAT_SOURCE = {
    "mstcn": "daily",  # untrimmed sequences with frame features and class names
    "dest": "daily",  # skeleton-based temporal action segmentation
    "pku": "daily",  # PKU-MMD: untrimmed skeleton sequences
    "ntu": "clips",  # NTU RGB+D: trimmed skeleton clips
    "penn": "clips",  # Penn Action: trimmed 2D pose clips
    "openpack": "packaging",  # IMU, keypoints and sparse events
    "ts": "clips",  # UEA/UCR: trimmed multivariate series
}


def parse_synthact(spec: str) -> tuple[str, str, dict]:
    """``synthact:<kind>[:<preset>][,<dial>=<value>...]`` -> (kind, preset, dials), each
    dial's value of its default's type; a one-line ValueError for anything else."""
    head, *settings = spec.partition(":")[2].split(",")
    kind, _, preset = head.partition(":")
    preset = preset or "reduced"
    if kind not in synthact.KINDS or preset not in synthact.PRESETS:
        raise ValueError(
            f"--data {spec!r}: expected 'synthact:<kind>[:<preset>][,<dial>=<value>...]' with kind one of "
            f"{', '.join(synthact.KINDS)} and preset one of {', '.join(synthact.PRESETS)}"
        )
    dials = {}
    for setting in settings:
        name, sep, text = setting.partition("=")
        name, text = name.strip(), text.strip()
        if name not in synthact.DIALS or not sep:
            raise ValueError(
                f"--data {spec!r}: unknown dial {setting!r}; expected <dial>=<value> with a dial of "
                f"{', '.join(synthact.DIALS)}"
            )
        dial = synthact.DIALS[name]
        if kind not in dial.kinds:
            raise ValueError(f"--data {spec!r}: dial {name} applies to {' and '.join(dial.kinds)}, not to {kind}")
        try:
            dials[name] = type(synthact.DIAL_DEFAULTS[name])(text)
            synthact.SynthActConfig(**dials)  # the range checks live there
        except ValueError:
            raise ValueError(f"--data {spec!r}: dial {name}={text!r}; expected {dial.expected}") from None
    return kind, preset, dials


_OPTION = re.compile(r"\s*([A-Za-z_]\w*)\s*=(.*)", re.DOTALL)


def reader_options(fmt: str) -> dict[str, object]:
    """The options of format ``fmt``'s reader: its keywords after the root and their
    defaults (read from its signature, so a keyword added to a reader is an option)."""
    reader = importlib.import_module(f"{formats.__name__}.{fmt}").read
    parameters = list(inspect.signature(reader).parameters.values())[1:]
    return {p.name: p.default for p in parameters if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}


def _option_value(text: str, default):
    """``text`` as a value of ``default``'s type; a literal (or bare text) when the default is None or a tuple."""
    if isinstance(default, bool):
        words = {"true": True, "1": True, "false": False, "0": False}
        if text.lower() not in words:
            raise ValueError("True or False")
        return words[text.lower()]
    if isinstance(default, (int, float, str)):
        try:
            return type(default)(text)
        except ValueError:
            raise ValueError(f"{'an integer' if isinstance(default, int) else 'a number'}") from None
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def parse_format_spec(spec: str) -> tuple[str, str, dict]:
    """``<format>:<path>[,<option>=<value>...]`` -> (format, path, options), each option
    a keyword of the format's reader with a value of its default's type; a one-line
    ValueError for an unknown option or a value that does not fit."""
    fmt, _, rest = spec.partition(":")
    parts = rest.split(",")
    settings = []
    while len(parts) > 1 and _OPTION.fullmatch(parts[-1]):
        settings.insert(0, parts.pop())
    path = ",".join(parts)
    known = reader_options(fmt)
    options = {}
    for setting in settings:
        name, text = (group.strip() for group in _OPTION.fullmatch(setting).groups())
        if name not in known:
            listed = ", ".join(f"{k}={v!r}" for k, v in known.items()) or "none"
            raise ValueError(f"--data {spec!r}: the {fmt} reader has no option {name!r}; its options: {listed}")
        try:
            options[name] = _option_value(text, known[name])
        except ValueError as expected:
            raise ValueError(f"--data {spec!r}: option {name}={text!r}; expected {expected}") from None
    return fmt, path, options


def load_data(spec: str, progress: bool = True):
    """The samples named by a ``--data`` spec (see the module docstring)."""
    source, sep, rest = spec.partition(":")
    if not sep or not rest:
        raise ValueError(
            f"--data {spec!r}: expected 'synthact:<kind>[:<preset>][,<dial>=<value>...]', 'real:<name>' or "
            "'<format>:<path>'"
        )
    if source == "real":
        from . import real

        if rest == "watch":
            return real.load_watch()
        if rest == "basic_motions":
            return [
                replace(s, meta={**s.meta, "split": split})
                for split in ("train", "test")
                for s in real.load_basic_motions(split)
            ]
        raise ValueError(f"--data {spec!r}: unknown real data {rest!r}; expected 'watch' or 'basic_motions'")
    if source == "synthact":
        kind, preset, dials = parse_synthact(spec)
        return synthact.load(kind, preset, progress=progress, **dials)
    if source not in formats.FORMATS:
        raise ValueError(
            f"--data {spec!r}: unknown source {source!r}; expected 'synthact', 'real' or one of "
            f"{', '.join(formats.FORMATS)}"
        )
    fmt, path, options = parse_format_spec(spec)
    return formats.read(fmt, path, **options)


def source_split(samples, spec: str, val_fraction: float = 0.15, seed: int = 0) -> dict[str, np.ndarray] | None:
    """The train / val / test indices a source defines for itself, or None when it
    defines none: SynthAct's cross-subject split for ``synthact:`` specs (with dials or
    without: a dial changes the world, not who performs in it)."""
    if spec.partition(":")[0] == "synthact":
        return synthact.split(samples, "xsub", val_fraction=val_fraction, seed=seed)
    return None


def _frame_features(s: Sample) -> np.ndarray:
    """[T, 75] SynthAct frame features: 3D joints relative to the spine base, flattened."""
    joints = s.skeleton3d[:, 0]
    return (joints - joints[:, :1]).reshape(len(joints), -1).astype(np.float32)


def _to_ntu_color(s: Sample) -> np.ndarray:
    """SynthAct's square-frame pixels -> NTU colour-camera pixels (1920 x 1080): the
    square frame becomes the centre 1080 x 1080 of the colour image."""
    width, height = NTU_COLOR_SIZE
    scale = height / s.meta["image_size"]
    return (s.skeleton2d * scale + np.array([(width - height) / 2, 0], np.float32)).astype(np.float32)


def xsub_split_of(store) -> dict[int, str]:
    """Sample index -> "train" / "val" / "test" under SynthAct's cross-subject split: the
    ``split_of`` that :func:`for_format` writes into formats that record a split."""
    parts = synthact.split(store, "xsub")
    return {int(i): name for name, idx in parts.items() for i in idx}


def for_format(fmt: str, samples, split_of: dict[int, str] | None = None):
    """SynthAct samples reshaped into what format ``fmt``'s writer expects (a generator)."""
    split_of = split_of or {}
    for i, s in enumerate(samples):
        split = split_of.get(i, "train")
        if fmt == "mstcn":  # MS-TCN's splits are train and test only
            yield replace(
                s, features=_frame_features(s), meta={**s.meta, "split": "test" if split == "test" else "train"}
            )
        elif fmt == "dest":
            yield replace(s, features=_frame_features(s), meta={**s.meta, "split": split})
        elif fmt == "pku":
            yield s
        elif fmt == "ntu":  # NTU numbers cameras and performers from 1
            yield replace(s, view=s.view + 1, subject=s.subject + 1, skeleton2d=_to_ntu_color(s))
        elif fmt == "penn":
            size = s.meta["image_size"]
            yield replace(
                s,
                meta={
                    **s.meta,
                    "split": "test" if split == "test" else "train",
                    "dimensions": (size, size, s.num_frames),
                },
            )
        elif fmt == "ts":
            yield replace(s, features=_frame_features(s), rgb=None, meta={**s.meta, "split": split})
        elif fmt == "openpack":
            ids = np.asarray(s.meta["openpack_ids"])
            yield replace(
                s,
                name=f"S{i:04d}",
                frame_labels=ids[s.frame_labels],
                class_names=tuple(s.class_names[:-1]),
                meta={**s.meta, "user": f"U{s.subject + 1:02d}01", "label_kind": "openpack_id"},
            )
        else:
            raise ValueError(f"unknown format {fmt!r}; expected one of {', '.join(formats.FORMATS)}")


def write_synthact(fmt: str, out, preset: str = "reduced", progress: bool = True, **overrides):
    """Generate (or load) the SynthAct kind format ``fmt`` carries and write it under ``out``."""
    from tqdm.auto import tqdm

    if fmt not in FORMAT_SOURCE:
        raise ValueError(f"--format {fmt!r}: expected one of {', '.join(FORMAT_SOURCE)}")
    store = synthact.load(FORMAT_SOURCE[fmt], preset, progress=progress, **overrides)
    samples = tqdm(
        for_format(fmt, store, xsub_split_of(store)), total=len(store), desc=f"writing {fmt}", disable=not progress
    )
    if fmt == "ts":  # one file per split
        items = list(samples)
        for split in ("train", "test"):
            chosen = [s for s in items if (s.meta["split"] == "test") == (split == "test")]
            formats.write("ts", chosen, out, split=split.upper())
        return out
    return formats.write(fmt, samples, out)

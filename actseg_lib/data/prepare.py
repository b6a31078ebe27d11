"""From a ``--data`` spec to train / val / test datasets a model can be trained on:
:func:`prepare_segmentation` for untrimmed sequences, :func:`prepare_recognition` for
trimmed clips.

:func:`prepare_segmentation` decides, for any source, the same five things:

* **splits**: a source's own split (SynthAct's cross-subject one, through
  :func:`~actseg_lib.data.sources.source_split`); the watch data by subject (1-6 train, 7-8
  val, 9-10 test); a real format's own split files (``meta["split"]``), with a
  validation set carved out of train when the format has none (MS-TCN's bundles);
  otherwise test and validation carved with a fixed seed (0). Carving takes whole
  subjects when the carved-from part holds at least two, else single recordings (MS-TCN
  and OpenPack of one user name no two subjects: by recording); :func:`describe` says
  which. Data too small to give each split a sequence fails with a ValueError that says
  how to split it. ``split="box"`` cuts OpenPack sessions at their box numbers
  (``meta["boxes"]``) and carves boxes instead (the same user in every split: within-user
  numbers); ``split="auto"`` does so when OpenPack data has fewer than three sessions
  (the OpenPack toolkit's sample is one session of one user);
* **classes**: the samples' ``class_names``; OpenPack's operation ids become indices;
* **ignored and background classes**: OpenPack's and SynthAct packaging's Null is
  ignored (as the OpenPack metric ignores it); a class named "background", or SynthAct
  daily's idle, is background for edit and F1;
* **inputs**: ``"auto"`` picks frame ``features`` when the source has them, else the 3D
  skeleton (plus IMUs when present), else the 2D skeleton, else IMUs; inputs named
  explicitly that the data lacks (OpenPack without its ``kinect`` folder: no
  ``skeleton2d``) are left out, kept in ``missing_inputs`` and said by :func:`describe`,
  as long as one remains;
* **normalisation**: per-channel mean and std from the training split only; event
  channels stay 0/1 bits (models read them as bits: SigFormer's masks).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from ..common.labels import IGNORE_INDEX
from .datasets import SEGMENTATION_INPUTS, RecognitionDataset, SegmentationDataset, channel_stats, input_layout
from .sample import ARRAY_FIELDS
from .sources import load_data, source_split

WATCH_SUBJECTS = {"train": (1, 2, 3, 4, 5, 6), "val": (7, 8), "test": (9, 10)}
SPLITS = ("train", "val", "test")
SPLIT_RULES = ("auto", "box")  # data.split
SEED = 0  # of every carved split


def _split(splits: dict, split: str) -> np.ndarray:
    """The indices of ``split``, or an error naming the splits there are."""
    if split not in splits:
        raise ValueError(f"split: expected one of {tuple(splits)}, got {split!r}")
    return splits[split]


@dataclass
class SegmentationData:
    """Samples, their splits and everything needed to turn them into tensors."""

    spec: str
    samples: object  # a sequence of Samples
    splits: dict
    class_names: tuple
    background: tuple
    ignore_labels: tuple
    inputs: tuple
    sample_rate: int
    event_names: tuple
    mean: np.ndarray
    std: np.ndarray
    layout: tuple = ()  # ((input name, channels), ...) of x
    fps: float = 30.0  # of x, after sample_rate
    skeleton_origin: str = "spine"  # 3D joints per frame from the spine base, or as the camera sees them
    split: str = "auto"  # the split rule asked for (SPLIT_RULES)
    split_how: dict = field(default_factory=dict)  # split -> how it was made, in words
    missing_inputs: tuple = ()  # inputs asked for that the data does not carry
    ignored_names: tuple = ()  # the classes left out of training and scoring (OpenPack's Null)

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    @property
    def in_channels(self) -> int:
        return len(self.mean)

    def stream_kwargs(self) -> dict:
        """For models that split ``x`` back into its inputs (SigFormer): the layout and
        the frame rate."""
        return {"input_layout": [list(item) for item in self.layout], "fps": self.fps}

    def dataset(self, split: str) -> SegmentationDataset:
        return SegmentationDataset(
            self.samples,
            _split(self.splits, split),
            self.inputs,
            self.ignore_labels,
            self.sample_rate,
            self.event_names,
            self.mean,
            self.std,
            self.skeleton_origin,
        )

    def model_kwargs(self) -> dict:
        """What the model must be built for: input channels and classes."""
        return {"in_channels": self.in_channels, "num_classes": self.num_classes}

    def info(self) -> dict:
        """What a checkpoint keeps so the same inputs can be rebuilt for evaluation."""
        return {
            "spec": self.spec,
            "class_names": list(self.class_names),
            "background": list(self.background),
            "ignore_labels": list(self.ignore_labels),
            "inputs": list(self.inputs),
            "sample_rate": self.sample_rate,
            "skeleton_origin": self.skeleton_origin,
            "event_names": list(self.event_names),
            "layout": [list(item) for item in self.layout],
            "fps": self.fps,
            "mean": [float(v) for v in self.mean],
            "std": [float(v) for v in self.std],
            "split_sizes": {k: int(len(v)) for k, v in self.splits.items()},
            "split": self.split,
            "split_how": dict(self.split_how),
            "missing_inputs": list(self.missing_inputs),
        }


def auto_inputs(sample) -> tuple:
    present = set(sample.modalities())
    if "features" in present:
        return ("features",)
    if "skeleton3d" in present:
        return ("skeleton3d",) + (("imu",) if "imu" in present else ())
    for name in ("skeleton2d", "imu"):
        if name in present:
            return (name,)
    raise ValueError(
        f"sample {sample.name!r}: none of {SEGMENTATION_INPUTS} to use as input (it has {sample.modalities()})"
    )


def _records(samples) -> list[dict]:
    if hasattr(samples, "records"):
        return samples.records()
    return [{"subject": s.subject, "view": s.view, "meta": s.meta} for s in samples]


class SplitTooSmall(ValueError):
    """Too few sequences (or subjects) to give each of train, val and test one."""


def _carve(
    indices: np.ndarray, groups: np.ndarray, fraction: float, rng, unit: str = "subject"
) -> tuple[np.ndarray, np.ndarray, str]:
    """Split ``indices`` into (rest, carved, how): whole groups (``how`` = ``unit``, what
    a group is) when there are at least two, else single sequences ("recording"); both
    parts non-empty."""
    keys = np.unique(groups[indices])
    if len(keys) >= 2:
        size = min(len(keys) - 1, max(1, int(round(fraction * len(keys)))))
        carved = np.isin(groups[indices], rng.choice(keys, size=size, replace=False))
        return indices[~carved], indices[carved], unit
    if len(indices) < 2:
        raise SplitTooSmall(f"{len(indices)} sequence(s) to split in two")
    size = min(len(indices) - 1, max(1, int(round(fraction * len(indices)))))
    carved = np.zeros(len(indices), bool)
    carved[rng.choice(len(indices), size=size, replace=False)] = True
    return indices[~carved], indices[carved], "recording"


def _too_small(spec: str, count: str, by_box: bool) -> ValueError:
    how = (
        "more sessions or longer ones"
        if by_box
        else "the data split files (meta 'split': train / val / test) or more sequences, or, for OpenPack, "
        "split its sessions by box (--set data.split=box)"
    )
    return ValueError(
        f"--data {spec!r}: {count} cannot be split into train, val and test (one each at least); give {how}"
    )


def _split_and_how(
    samples, spec: str, val_fraction: float = 0.15, test_fraction: float = 0.3, seed: int = SEED, unit: str = ""
) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """:func:`split_indices` and, per split, how it was made (words for :func:`describe`);
    ``unit`` names what a recording is ("box" after :func:`cut_by_box`)."""
    own = source_split(samples, spec, val_fraction=val_fraction, seed=seed)
    if own is not None:
        return own, {
            "train": "SynthAct's cross-subject split, odd-numbered subjects, less val",
            "val": f"subjects carved from train, seed {seed}",
            "test": "SynthAct's cross-subject split, even-numbered subjects",
        }
    records = _records(samples)
    subjects = np.array([-1 if r.get("subject") is None else r["subject"] for r in records])
    if spec == "real:watch":
        parts = {k: np.flatnonzero(np.isin(subjects, v)) for k, v in WATCH_SUBJECTS.items()}
        return parts, {k: f"subjects {', '.join(map(str, v))}" for k, v in WATCH_SUBJECTS.items()}
    rng = np.random.default_rng(seed)
    by_subject = len(np.unique(subjects)) > 1
    groups = subjects if by_subject else np.arange(len(records))
    group_unit = "subject" if by_subject else "recording"

    def by(kind: str) -> str:
        return unit if kind == "recording" and unit else kind

    named = [r.get("meta", {}).get("split") for r in records]
    if all(n in SPLITS for n in named):
        named = np.array(named)
        parts = {k: np.flatnonzero(named == k) for k in SPLITS}
        how = {k: f"the source's {k} split" for k in SPLITS}
        if len(parts["val"]) == 0 and len(parts["train"]) > 1:
            parts["train"], parts["val"], kind = _carve(parts["train"], groups, val_fraction, rng, group_unit)
            how["val"] = f"carved from the source's train split by {by(kind)}, seed {seed}"
            how["train"] = "the source's train split, less val"
        elif len(parts["val"]) == 0:
            how["val"] = "none: the source's train split holds one sequence"
        return parts, how
    try:
        rest, test, test_kind = _carve(np.arange(len(records)), groups, test_fraction, rng, group_unit)
        train, val, val_kind = _carve(rest, groups, val_fraction / (1 - test_fraction), rng, group_unit)
    except SplitTooSmall:
        raise _too_small(spec, _count(len(records), unit or "sequence"), unit == "box") from None
    how = {
        "train": "the rest",
        "val": f"carved from what test left by {by(val_kind)}, seed {seed}",
        "test": f"carved by {by(test_kind)}, seed {seed}",
    }
    return {"train": train, "val": val, "test": test}, how


def split_indices(
    samples, spec: str, val_fraction: float = 0.15, test_fraction: float = 0.3, seed: int = SEED
) -> dict[str, np.ndarray]:
    """Train / val / test indices for the samples of ``spec`` (rules in the module docstring)."""
    return _split_and_how(samples, spec, val_fraction, test_fraction, seed)[0]


def _frames(value, T: int) -> bool:
    return isinstance(value, np.ndarray) and value.ndim >= 1 and len(value) == T


def _cut(sample, start: int, stop: int, name: str, meta: dict):
    """Frames ``start:stop`` of ``sample`` as a Sample of their own: every per-frame array
    (and per-frame meta array) cut, events moved to the new frame numbers."""
    T = sample.num_frames
    arrays = {k: getattr(sample, k)[start:stop] for k in ARRAY_FIELDS if getattr(sample, k) is not None}
    events = {k: np.asarray(v)[(v >= start) & (v < stop)] - start for k, v in sample.events.items()}
    kept = {k: (v[start:stop] if _frames(v, T) else v) for k, v in sample.meta.items()}
    return replace(sample, name=name, events=events, meta={**kept, **meta}, **arrays)


def cut_by_box(samples) -> list:
    """Each OpenPack session cut into one sequence per box: a box runs from the first frame
    its annotations cover to the next box's first frame (the Null gap before a box goes
    with it; frames before the first box go with the first). Needs ``meta["boxes"]``
    (the OpenPack reader keeps it)."""
    pieces = []
    for sample in samples:
        boxes = np.asarray(sample.meta.get("boxes", ()))
        numbered = np.flatnonzero(boxes > 0)
        if not len(numbered):
            raise ValueError(
                f"sample {sample.name!r}: no box numbers (meta 'boxes') to split by box; "
                "OpenPack's annotation files carry them"
            )
        changes = numbered[np.r_[True, boxes[numbered][1:] != boxes[numbered][:-1]]]  # each box's first frame
        starts, stops = np.r_[0, changes[1:]], np.r_[changes[1:], sample.num_frames]
        for start, stop, box in zip(starts, stops, boxes[changes]):
            meta = {"box": int(box), "session_name": sample.name}
            pieces.append(_cut(sample, int(start), int(stop), f"{sample.name}-box{int(box):02d}", meta))
    return pieces


def _label_setup(sample) -> tuple[tuple, tuple, tuple]:
    """(class_names, background, ignore_labels) of a dataset, read from one sample."""
    names = tuple(sample.class_names or ())
    meta = sample.meta or {}
    ignore = (meta["null_index"],) if "null_index" in meta else ()
    if "background_index" in meta:
        background = (meta["background_index"],)
    else:
        background = tuple(i for i, n in enumerate(names) if n.lower() == "background")
    return names, background, ignore


def _openpack_to_indices(samples) -> tuple[list, tuple]:
    """OpenPack's operation ids -> indices into its ten operations (Null -> ignored);
    returns the relabelled samples and the operations' names."""
    from ..common.openpack import OPENPACK_OPERATIONS

    ids = np.array(list(OPENPACK_OPERATIONS))  # sorted: 100, 200, ..., 1000
    out = []
    for s in samples:
        labels = np.full(len(s.frame_labels), IGNORE_INDEX, np.int64)
        known = np.isin(s.frame_labels, ids)
        labels[known] = np.searchsorted(ids, s.frame_labels[known])
        out.append(replace(s, frame_labels=labels))
    return out, tuple(OPENPACK_OPERATIONS.values())


def _load_samples(spec: str, samples, progress: bool):
    """``samples`` if given, else those ``spec`` names; never empty."""
    samples = load_data(spec, progress=progress) if samples is None else samples
    if len(samples) == 0:
        raise ValueError(f"--data {spec!r}: no samples")
    return samples


def prepare_segmentation(
    spec: str,
    inputs="auto",
    sample_rate: int = 1,
    stats=None,
    samples=None,
    progress: bool = True,
    skeleton_origin: str = "spine",
    split: str = "auto",
) -> SegmentationData:
    """Load ``spec`` and set up segmentation datasets (see the module docstring).

    ``split``: "auto" (the rules of the module docstring) or "box" (OpenPack sessions cut
    into their boxes, and the boxes split; "auto" does it for fewer than three sessions).

    ``skeleton_origin``: "spine" centres the 3D joints of every frame on the spine base
    (where the body stands in the room does not reach the model); "camera" keeps them as
    the camera sees them.

    ``stats``: ``(mean, std)`` to reuse (e.g. from a checkpoint) instead of computing
    them on the training split. ``samples``: already loaded samples of ``spec``.
    """
    samples = _load_samples(spec, samples, progress)
    first = samples[0]
    if first.frame_labels is None:
        raise ValueError(
            f"--data {spec!r}: sample {first.name!r} has no frame labels; "
            "segmentation needs untrimmed, frame-labelled sequences"
        )
    if split not in SPLIT_RULES:
        raise ValueError(f"data.split: expected one of {SPLIT_RULES}, got {split!r}")
    openpack = (first.meta or {}).get("label_kind") == "openpack_id"
    if split == "box" or (openpack and len(samples) < 3 and "boxes" in (first.meta or {})):
        split = "box"
        samples = cut_by_box(samples)
        first = samples[0]
    if openpack:
        samples, class_names = _openpack_to_indices(samples)
        background, ignore, ignored_names = (), (), ("Null",)
    else:
        class_names, background, ignore = _label_setup(first)
        ignored_names = tuple(class_names[k] if k < len(class_names) else str(k) for k in ignore)
    if not class_names:  # ids only (DeST's gt_arr): name each class by its id
        labelled = [s.frame_labels[(s.frame_labels >= 0) & (s.frame_labels != IGNORE_INDEX)] for s in samples]
        count = max((int(y.max()) + 1 for y in labelled if y.size), default=0)
        if count == 0:
            raise ValueError(f"--data {spec!r}: the samples carry no class_names and no labelled frame")
        class_names = tuple(f"class {k}" for k in range(count))
    inputs, missing = (auto_inputs(first), ()) if inputs == "auto" else _present_inputs(first, inputs)
    event_names = tuple(sorted(first.events)) if "events" in inputs else ()
    splits, split_how = _split_and_how(samples, spec, unit="box" if split == "box" else "")
    if len(splits["train"]) == 0:
        raise ValueError(f"--data {spec!r}: the training split is empty")
    layout = input_layout(first, inputs, event_names)
    if stats is None:
        train = SegmentationDataset(
            samples, splits["train"], inputs, ignore, sample_rate, event_names, skeleton_origin=skeleton_origin
        )
        stats = channel_stats(train)
        stats = _events_as_bits(stats, layout)
    mean, std = (np.asarray(v, np.float32) for v in stats)
    return SegmentationData(
        spec,
        samples,
        splits,
        class_names,
        background,
        ignore,
        inputs,
        sample_rate,
        event_names,
        mean,
        std,
        layout,
        float(first.fps) / sample_rate,
        skeleton_origin,
        split,
        split_how,
        missing,
        ignored_names,
    )


def _present_inputs(sample, inputs) -> tuple[tuple, tuple]:
    """(the inputs ``sample`` carries, those it lacks); all of them when it carries none,
    so the error names what is missing."""
    present = set(sample.modalities()) | ({"imu_acc"} if sample.imu is not None else set())
    inputs = tuple(inputs)
    kept = tuple(name for name in inputs if name in present)
    if not kept:
        return inputs, ()
    return kept, tuple(name for name in inputs if name not in present)


def _count(n: int, what: str) -> str:
    return f"{n} {what}" if n == 1 else f"{n} {what}{'es' if what.endswith(('s', 'x')) else 's'}"


def describe(data: SegmentationData, model=None) -> str:
    """A few lines saying what was read and how it was split, e.g.::

        openpack:/data/openpack: 1 session cut into 12 boxes, 10 classes; ignored: Null
          inputs: imu_acc (12 channels) + events (2: printer, scanner); not in the data: skeleton2d
          train: the rest (7 sequences)
          val: carved from what test left by box, seed 0 (2 sequences)
          test: carved by box, seed 0 (3 sequences)
          SigFormer on imu_acc + events, guidance masked (no skeleton2d in the data)

    ``model``: the model built on it; one that has ``input_summary()`` says what it trains
    on in its own words."""
    count = _count(len(data.samples), "sequence")
    if data.split == "box":
        sessions = len({s.meta.get("session_name") for s in data.samples})
        count = f"{_count(sessions, 'session')} cut into {_count(len(data.samples), 'box')}"
    labels = [_count(data.num_classes, "class")]
    labels.append(f"background: {', '.join(data.class_names[k] for k in data.background)}" if data.background else "")
    labels.append(f"ignored: {', '.join(data.ignored_names)}" if data.ignored_names else "")
    lines = [f"{data.spec}: {count}, " + "; ".join(part for part in labels if part)]
    channels = dict(data.layout)
    inputs = []
    for name in data.inputs:
        detail = f"{channels.get(name, '?')} channels"
        if name == "events":
            detail = f"{len(data.event_names)}: {', '.join(data.event_names)}"
        inputs.append(f"{name} ({detail})")
    missing = f"; not in the data: {', '.join(data.missing_inputs)}" if data.missing_inputs else ""
    lines.append(f"  inputs: {' + '.join(inputs)}{missing}")
    for split in SPLITS:
        size = len(data.splits.get(split, ()))
        lines.append(f"  {split}: {data.split_how.get(split, 'given')} ({_count(size, 'sequence')})")
    if model is not None:
        summary = model.input_summary() if hasattr(model, "input_summary") else ""
        summary = summary or f"{type(model).__name__} on {' + '.join(data.inputs)}"
        if data.missing_inputs:
            summary += f" (no {' or '.join(data.missing_inputs)} in the data)"
        lines.append(f"  {summary}")
    return "\n".join(lines)


def _events_as_bits(stats, layout) -> tuple[np.ndarray, np.ndarray]:
    """Mean 0 and std 1 on the event channels, so standardising leaves them 0/1."""
    mean, std = (np.array(v, np.float32) for v in stats)
    start = 0
    for name, channels in layout:
        if name == "events":
            mean[start : start + channels], std[start : start + channels] = 0.0, 1.0
        start += channels
    return mean, std


# --- recognition ----------------------------------------------------------------------

# NTU RGB+D's cross-subject protocol: these performers train, the other twenty test.
NTU_XSUB_TRAIN = (1, 2, 4, 5, 8, 9, 13, 14, 15, 16, 17, 18, 19, 25, 27, 28, 31, 34, 35, 38)


@dataclass
class RecognitionData:
    """Clips, their splits and how they become fixed-length tensors."""

    spec: str
    samples: object
    splits: dict
    class_names: tuple
    num_frames: int
    num_joints: int
    modalities: tuple  # of the first clip: "rgb", "skeleton2d"

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    def dataset(self, split: str) -> RecognitionDataset:
        return RecognitionDataset(self.samples, _split(self.splits, split), num_frames=self.num_frames)

    def model_kwargs(self) -> dict:
        """What the model must be built for: classes, joints and frames."""
        return {"num_classes": self.num_classes, "num_joints": self.num_joints, "num_frames": self.num_frames}

    def info(self) -> dict:
        return {
            "spec": self.spec,
            "class_names": list(self.class_names),
            "num_frames": self.num_frames,
            "num_joints": self.num_joints,
            "modalities": list(self.modalities),
            "split_sizes": {k: int(len(v)) for k, v in self.splits.items()},
        }


def recognition_splits(samples, spec: str, val_fraction: float = 0.15, seed: int = 0) -> dict[str, np.ndarray]:
    """SynthAct's cross-subject split; NTU's cross-subject protocol (validation subjects
    carved from its training performers); otherwise as :func:`split_indices`."""
    if spec.partition(":")[0] != "ntu":
        return split_indices(samples, spec, val_fraction=val_fraction, seed=seed)
    subjects = np.array([r["subject"] for r in _records(samples)])
    train = np.flatnonzero(np.isin(subjects, NTU_XSUB_TRAIN))
    test = np.flatnonzero(~np.isin(subjects, NTU_XSUB_TRAIN))
    train, val, _ = _carve(train, subjects, val_fraction, np.random.default_rng(seed))
    return {"train": train, "val": val, "test": test}


def prepare_recognition(spec: str, num_frames: int = 16, samples=None, progress: bool = True) -> RecognitionData:
    """Load ``spec`` and set up recognition datasets of ``num_frames``-frame clips."""
    samples = _load_samples(spec, samples, progress)
    first = samples[0]
    if first.label is None:
        raise ValueError(
            f"--data {spec!r}: sample {first.name!r} has no clip label; recognition needs trimmed, labelled clips"
        )
    if not first.class_names:
        raise ValueError(f"--data {spec!r}: the samples carry no class_names")
    modalities = tuple(m for m in ("rgb", "skeleton2d") if getattr(first, m) is not None)
    if not modalities:
        raise ValueError(
            f"--data {spec!r}: sample {first.name!r} has neither RGB nor a 2D skeleton (it has {first.modalities()})"
        )
    num_joints = first.skeleton2d.shape[2] if first.skeleton2d is not None else 0
    splits = recognition_splits(samples, spec)
    if len(splits["train"]) == 0:
        raise ValueError(f"--data {spec!r}: the training split is empty")
    return RecognitionData(spec, samples, splits, tuple(first.class_names), num_frames, num_joints, modalities)

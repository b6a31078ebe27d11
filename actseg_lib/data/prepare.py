"""From a ``--data`` spec to train / val / test datasets a model can be trained on:
:func:`prepare_segmentation` for untrimmed sequences, :func:`prepare_recognition` for
trimmed clips.

:func:`prepare_segmentation` decides, for any source, the same five things:

* **splits**: a source's own split (SynthAct's cross-subject one, through
  :func:`~actseg_lib.data.sources.source_split`); the watch data by subject (1-6 train, 7-8
  val, 9-10 test); a real format's own split files (``meta["split"]``), with a
  validation set carved out of train when the format has none (MS-TCN's bundles);
  otherwise whole subjects (or, lacking subjects, sequences) drawn with a fixed seed;
* **classes**: the samples' ``class_names``; OpenPack's operation ids become indices;
* **ignored and background classes**: OpenPack's and SynthAct packaging's Null is
  ignored (as the OpenPack metric ignores it); a class named "background", or SynthAct
  daily's idle, is background for edit and F1;
* **inputs**: ``"auto"`` picks frame ``features`` when the source has them, else the 3D
  skeleton (plus IMUs when present), else the 2D skeleton, else IMUs;
* **normalisation**: per-channel mean and std from the training split only; event
  channels stay 0/1 bits (models read them as bits: SigFormer's masks).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from ..common.labels import IGNORE_INDEX
from .datasets import SEGMENTATION_INPUTS, RecognitionDataset, SegmentationDataset, channel_stats, input_layout
from .sources import load_data, source_split

WATCH_SUBJECTS = {"train": (1, 2, 3, 4, 5, 6), "val": (7, 8), "test": (9, 10)}
SPLITS = ("train", "val", "test")


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


def _carve(indices: np.ndarray, groups: np.ndarray, fraction: float, rng) -> tuple[np.ndarray, np.ndarray]:
    """Split ``indices`` into (rest, carved): whole groups (subjects) when there are at
    least two, else single sequences."""
    keys = np.unique(groups[indices])
    if len(keys) >= 2:
        chosen = rng.choice(keys, size=max(1, int(round(fraction * len(keys)))), replace=False)
        carved = np.isin(groups[indices], chosen)
    else:
        carved = np.zeros(len(indices), bool)
        carved[rng.choice(len(indices), size=max(1, int(round(fraction * len(indices)))), replace=False)] = True
    return indices[~carved], indices[carved]


def split_indices(
    samples, spec: str, val_fraction: float = 0.15, test_fraction: float = 0.3, seed: int = 0
) -> dict[str, np.ndarray]:
    """Train / val / test indices for the samples of ``spec`` (rules in the module docstring)."""
    own = source_split(samples, spec, val_fraction=val_fraction, seed=seed)
    if own is not None:
        return own
    records = _records(samples)
    subjects = np.array([-1 if r.get("subject") is None else r["subject"] for r in records])
    if spec == "real:watch":
        return {k: np.flatnonzero(np.isin(subjects, v)) for k, v in WATCH_SUBJECTS.items()}
    rng = np.random.default_rng(seed)
    groups = subjects if len(np.unique(subjects)) > 1 else np.arange(len(records))
    named = [r.get("meta", {}).get("split") for r in records]
    if all(n in SPLITS for n in named):
        named = np.array(named)
        parts = {k: np.flatnonzero(named == k) for k in SPLITS}
        if len(parts["val"]) == 0 and len(parts["train"]) > 1:
            parts["train"], parts["val"] = _carve(parts["train"], groups, val_fraction, rng)
        return parts
    rest, test = _carve(np.arange(len(records)), groups, test_fraction, rng)
    train, val = _carve(rest, groups, val_fraction / (1 - test_fraction), rng)
    return {"train": train, "val": val, "test": test}


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
) -> SegmentationData:
    """Load ``spec`` and set up segmentation datasets (see the module docstring).

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
    if (first.meta or {}).get("label_kind") == "openpack_id":
        samples, class_names = _openpack_to_indices(samples)
        background, ignore = (), ()
    else:
        class_names, background, ignore = _label_setup(first)
    if not class_names:  # ids only (DeST's gt_arr): name each class by its id
        labelled = [s.frame_labels[(s.frame_labels >= 0) & (s.frame_labels != IGNORE_INDEX)] for s in samples]
        count = max((int(y.max()) + 1 for y in labelled if y.size), default=0)
        if count == 0:
            raise ValueError(f"--data {spec!r}: the samples carry no class_names and no labelled frame")
        class_names = tuple(f"class {k}" for k in range(count))
    inputs = auto_inputs(first) if inputs == "auto" else tuple(inputs)
    event_names = tuple(sorted(first.events)) if "events" in inputs else ()
    splits = split_indices(samples, spec)
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
    )


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
    train, val = _carve(train, subjects, val_fraction, np.random.default_rng(seed))
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

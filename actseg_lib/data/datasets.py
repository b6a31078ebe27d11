"""PyTorch datasets over Samples, and the collate functions that batch them.

* :class:`RecognitionDataset`: fixed-length clips -> ``{"rgb", "skeleton2d", "heatmaps",
  "label"}`` tensors, batched by stacking;
* :class:`SegmentationDataset`: variable-length sequences -> per-frame inputs and
  labels, batched by :func:`collate_segmentation` with padding, a mask and
  ``IGNORE_INDEX`` on padded labels.
"""

from __future__ import annotations

import numpy as np
import torch
from torch.utils.data import Dataset

from ..common.labels import IGNORE_INDEX
from .heatmaps import joint_heatmaps
from .sample import Sample

SEGMENTATION_INPUTS = ("skeleton3d", "skeleton2d", "imu", "imu_acc", "events", "features")


class _SampleSubset(Dataset):
    """The samples at ``indices`` (all by default) of a sequence of Samples."""

    def __init__(self, samples, indices=None):
        self.samples = samples
        self.indices = np.arange(len(samples)) if indices is None else np.asarray(indices)

    def __len__(self) -> int:
        return len(self.indices)

    def _sample(self, i: int) -> Sample:
        return self.samples[int(self.indices[i])]


def frame_size(s: Sample) -> tuple[float, float]:
    """(width, height) in pixels of the image a sample's 2D skeleton is measured in.

    SynthAct records ``image_size``; readers record ``frame_size`` (NTU's 1920 x 1080
    colour camera; Penn Action's video dimensions); failing both, the RGB frames'."""
    meta = s.meta or {}
    if "frame_size" in meta:
        width, height = meta["frame_size"]
        return float(width), float(height)
    if "image_size" in meta:
        return float(meta["image_size"]), float(meta["image_size"])
    if s.rgb is not None:
        return float(s.rgb.shape[2]), float(s.rgb.shape[1])
    raise ValueError(
        f"sample {s.name!r}: no frame size to normalise its 2D skeleton by "
        "(expected meta 'frame_size' or 'image_size', or RGB frames)"
    )


def clip_frame_indices(num_frames: int, length: int) -> np.ndarray:
    """``length`` frame indices spread evenly over a clip of ``num_frames`` frames
    (first and last included; frames repeat when the clip is shorter)."""
    if num_frames < 1:
        raise ValueError(f"a clip needs at least one frame, got {num_frames}")
    return np.round(np.linspace(0, num_frames - 1, length)).astype(np.int64)


class RecognitionDataset(_SampleSubset):
    """Trimmed clips for recognition.

    Args:
        samples: a sequence of Samples (a SynthAct store, a reader's list, ...).
        indices: which of them (a split); all by default.
        num_frames: if set, every clip is resampled to this many frames, evenly spread
            over it (:func:`clip_frame_indices`; the papers' "16 fixed frames").
        heatmap_size: if set, add ``heatmaps`` [T, J, s, s] from the 2D skeleton.
        sigma: heat-map Gaussian width in heat-map pixels.

    Items: ``rgb`` [T, 3, H, W] float in [0, 1]; ``skeleton2d`` [T, J, 2] in [0, 1]
    (x divided by the frame width, y by its height; the first body); ``heatmaps``;
    ``label`` (long). Modalities a sample lacks are left out of its item.
    """

    def __init__(
        self, samples, indices=None, num_frames: int | None = None, heatmap_size: int | None = None, sigma: float = 1.0
    ):
        super().__init__(samples, indices)
        self.num_frames, self.heatmap_size, self.sigma = num_frames, heatmap_size, sigma

    def __getitem__(self, i: int) -> dict:
        s = self._sample(i)
        if s.label is None:
            raise ValueError(f"sample {s.name!r} has no clip label: not a recognition clip")
        keep = clip_frame_indices(s.num_frames, self.num_frames) if self.num_frames else slice(None)
        item = {"label": torch.tensor(s.label, dtype=torch.long)}
        if s.rgb is not None:
            item["rgb"] = torch.from_numpy(np.ascontiguousarray(s.rgb[keep])).permute(0, 3, 1, 2).float() / 255.0
        if s.skeleton2d is not None:
            width, height = frame_size(s)
            joints = s.skeleton2d[keep, 0]  # [T, J, 2] pixels, the first body
            item["skeleton2d"] = torch.from_numpy(joints / np.array([width, height], np.float32)).float()
            if self.heatmap_size:
                if width != height:
                    raise ValueError(f"sample {s.name!r}: heat maps need square frames, got {width} x {height}")
                item["heatmaps"] = torch.from_numpy(joint_heatmaps(joints, width, self.heatmap_size, self.sigma))
        return item


SKELETON_ORIGINS = ("spine", "camera")


def _frame_inputs(s: Sample, inputs, event_names=(), skeleton_origin: str = "spine") -> np.ndarray:
    """[T, C] per-frame input vector: the requested modalities flattened and joined.

    Events become one 0/1 channel per name in ``event_names`` (a fixed list, so a
    sequence in which some kind of event never fires keeps the same channels);
    ``imu_acc`` is the IMUs' accelerometer channels alone (acc x, y, z per sensor).
    """
    return np.concatenate([_frame_input(s, name, event_names, skeleton_origin) for name in inputs], axis=1)


def _frame_input(s: Sample, name: str, event_names=(), skeleton_origin: str = "spine") -> np.ndarray:
    """[T, C] one input of :func:`_frame_inputs`."""
    if name == "events":
        dense = np.zeros((s.num_frames, len(event_names)), np.float32)
        for k, event in enumerate(event_names):
            dense[s.events.get(event, []), k] = 1.0
        return dense
    if name == "imu_acc":
        if s.imu is None:
            raise ValueError(f"sample {s.name!r} has no 'imu' (it has {s.modalities()})")
        return np.asarray(s.imu[..., :3], np.float32).reshape(s.num_frames, -1)
    value = getattr(s, name)
    if value is None:
        raise ValueError(f"sample {s.name!r} has no {name!r} (it has {s.modalities()})")
    if name == "skeleton3d" and skeleton_origin == "spine":
        # centre on the spine base so position in the room does not leak ("camera": keep it)
        present = np.any(value != 0, axis=(2, 3), keepdims=True)  # [T, M, 1, 1]: an absent body is all zeros
        value = np.where(present, value - value[:, :1, :1], 0.0)
    return np.asarray(value, np.float32).reshape(s.num_frames, -1)


def input_layout(s: Sample, inputs, event_names=()) -> tuple[tuple[str, int], ...]:
    """``((input name, channels), ...)``: how the frame vector ``x`` of ``inputs`` is laid
    out, for models that split it back into streams."""
    return tuple((name, int(_frame_input(s, name, event_names).shape[1])) for name in inputs)


class SegmentationDataset(_SampleSubset):
    """Untrimmed sequences for segmentation.

    Args:
        samples, indices: as for :class:`RecognitionDataset`.
        inputs: modalities joined into the per-frame input ``x`` (see SEGMENTATION_INPUTS).
        ignore_labels: class indices mapped to ``IGNORE_INDEX`` (e.g. OpenPack's Null).
        sample_rate: keep every n-th frame (long real videos are often fed at 1/2).
        event_names: the event channels of the ``events`` input; by default the events
            found in the first sample.
        mean, std: per-channel statistics of ``x`` (e.g. from :func:`channel_stats` on
            the training split); when given, ``x`` is standardised with them.

    Items: ``x`` [T, C] float, ``labels`` [T] long, ``boundaries`` [T] float, and
    ``timestamps_ms`` [T] int64 when the sample has them (OpenPack's unix times).
    """

    def __init__(
        self,
        samples,
        indices=None,
        inputs=("skeleton3d",),
        ignore_labels=(),
        sample_rate: int = 1,
        event_names=None,
        mean=None,
        std=None,
        skeleton_origin: str = "spine",
    ):
        unknown = set(inputs) - set(SEGMENTATION_INPUTS)
        if unknown:
            raise ValueError(f"inputs: unknown {sorted(unknown)}; expected some of {SEGMENTATION_INPUTS}")
        if skeleton_origin not in SKELETON_ORIGINS:
            raise ValueError(f"skeleton_origin: expected one of {SKELETON_ORIGINS}, got {skeleton_origin!r}")
        super().__init__(samples, indices)
        self.inputs, self.ignore_labels, self.sample_rate = tuple(inputs), tuple(ignore_labels), sample_rate
        self.skeleton_origin = skeleton_origin
        if event_names is None and "events" in self.inputs:
            event_names = sorted(self._sample(0).events)
        self.event_names = tuple(event_names or ())
        if (mean is None) != (std is None):
            raise ValueError("mean and std: give both or neither")
        self.mean = None if mean is None else np.asarray(mean, np.float32)
        self.std = None if std is None else np.maximum(np.asarray(std, np.float32), 1e-6)

    def __getitem__(self, i: int) -> dict:
        s = self._sample(i)
        if s.frame_labels is None:
            raise ValueError(f"sample {s.name!r} has no frame labels: not a segmentation sequence")
        step = slice(None, None, self.sample_rate)
        labels = np.asarray(s.frame_labels, dtype=np.int64).copy()
        labels[np.isin(labels, self.ignore_labels)] = IGNORE_INDEX
        boundaries = s.boundaries if s.boundaries is not None else np.r_[1, np.diff(labels) != 0]
        x = _frame_inputs(s, self.inputs, self.event_names, self.skeleton_origin)[step]
        if self.mean is not None:
            if x.shape[1] != len(self.mean):
                raise ValueError(
                    f"sample {s.name!r}: {x.shape[1]} input channels, but the statistics have "
                    f"{len(self.mean)} (were they computed on other inputs?)"
                )
            x = (x - self.mean) / self.std
        item = {
            "x": torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32)),
            "labels": torch.from_numpy(labels[step]),
            "boundaries": torch.from_numpy(np.asarray(boundaries, np.float32)[step]),
        }
        if s.timestamps_ms is not None:
            item["timestamps_ms"] = torch.from_numpy(np.ascontiguousarray(s.timestamps_ms[step], dtype=np.int64))
        return item


def channel_stats(dataset: SegmentationDataset) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel mean and standard deviation of ``x`` over every frame of ``dataset``
    (computed in float64 in one pass, so long sequences do not lose precision)."""
    total, total_sq, count = 0.0, 0.0, 0
    for i in range(len(dataset)):
        x = dataset[i]["x"].double()  # [T, C]
        total, total_sq, count = total + x.sum(0), total_sq + (x * x).sum(0), count + len(x)
    if count == 0:
        raise ValueError("channel_stats: the dataset has no frames")
    mean = total / count
    std = (total_sq / count - mean * mean).clamp(min=0).sqrt()
    return mean.float().numpy(), std.float().numpy()


def collate_segmentation(batch: list[dict]) -> dict:
    """Pad a list of sequences to the longest: ``x`` [B, T, C], ``labels`` [B, T]
    (``IGNORE_INDEX`` where padded), ``boundaries`` [B, T], ``mask`` [B, T] bool,
    ``lengths`` [B]; ``timestamps_ms``, a list of each sequence's [T_b] times, when every
    sequence has them."""
    lengths = torch.tensor([len(item["labels"]) for item in batch])
    T = int(lengths.max())
    channels = {item["x"].shape[1] for item in batch}
    if len(channels) != 1:
        raise ValueError(f"collate_segmentation: sequences have different channel counts {sorted(channels)}")
    B, C = len(batch), channels.pop()
    x = torch.zeros(B, T, C)
    labels = torch.full((B, T), IGNORE_INDEX, dtype=torch.long)
    boundaries = torch.zeros(B, T)
    for b, item in enumerate(batch):
        n = len(item["labels"])
        x[b, :n], labels[b, :n], boundaries[b, :n] = item["x"], item["labels"], item["boundaries"]
    mask = torch.arange(T)[None] < lengths[:, None]
    batched = {"x": x, "labels": labels, "boundaries": boundaries, "mask": mask, "lengths": lengths}
    if all("timestamps_ms" in item for item in batch):
        batched["timestamps_ms"] = [item["timestamps_ms"] for item in batch]
    return batched

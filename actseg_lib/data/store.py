"""A folder of Samples on disk, written in shards and read back lazily (memory-mapped).

Layout: ``<root>/shard_00000/<field>.npy`` holds a field of all the shard's samples
concatenated along time, ``offsets.npy`` where each sample starts, ``events_<name>.npy``
and ``event_offsets_<name>.npy`` the sparse events, ``samples.json`` the small per-sample
values; ``<root>/manifest.json`` lists the shards and is written last, so a folder
without it is an interrupted write and is regenerated, never half-read.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from .sample import ARRAY_FIELDS, Sample

_SCALARS = ("name", "fps", "label", "subject", "view", "meta")
_SHARED = ("class_names", "imu_names")


def write_shard(samples: list[Sample], folder: Path) -> None:
    """Write one shard (a list of samples) to ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    lengths = [s.num_frames for s in samples]
    np.save(folder / "offsets.npy", np.concatenate(([0], np.cumsum(lengths))).astype(np.int64))
    for name in ARRAY_FIELDS:
        present = [getattr(s, name) is not None for s in samples]
        if any(present):
            if not all(present):
                raise ValueError(f"shard: field {name!r} is present in some samples only")
            np.save(folder / f"{name}.npy", np.concatenate([getattr(s, name) for s in samples]))
    for event in sorted({e for s in samples for e in s.events}):
        lists = [np.asarray(s.events.get(event, []), dtype=np.int64) for s in samples]
        np.save(folder / f"events_{event}.npy", np.concatenate(lists))
        np.save(
            folder / f"event_offsets_{event}.npy",
            np.concatenate(([0], np.cumsum([len(x) for x in lists]))).astype(np.int64),
        )
    records = [{k: getattr(s, k) for k in _SCALARS} for s in samples]
    shared = {k: list(getattr(samples[0], k)) for k in _SHARED}
    (folder / "samples.json").write_text(json.dumps({"samples": records, **shared}))


class SampleStore(Sequence):
    """The samples of a store folder, as a read-only sequence (arrays memory-mapped)."""

    def __init__(self, root):
        self.root = Path(root)
        manifest = self.root / "manifest.json"
        if not manifest.exists():
            raise FileNotFoundError(f"{self.root}: no manifest.json (not a store, or an interrupted write)")
        self.manifest = json.loads(manifest.read_text())
        self._shards = [self.root / name for name in self.manifest["shards"]]
        self._counts = self.manifest["counts"]
        self._starts = np.concatenate(([0], np.cumsum(self._counts)))
        self._cache: dict[int, dict] = {}

    def __len__(self) -> int:
        return int(self._starts[-1])

    def _shard(self, k: int) -> dict:
        if k not in self._cache:
            folder = self._shards[k]
            info = json.loads((folder / "samples.json").read_text())
            arrays = {p.stem: np.load(p, mmap_mode="r") for p in folder.glob("*.npy")}
            self._cache = {k: {"info": info, "arrays": arrays}}  # keep one shard open
        return self._cache[k]

    def __getitem__(self, index):
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError(f"sample {index} of a store of {len(self)}")
        k = int(np.searchsorted(self._starts, index, side="right") - 1)
        i = index - int(self._starts[k])
        shard = self._shard(k)
        arrays, info = shard["arrays"], shard["info"]
        a, b = int(arrays["offsets"][i]), int(arrays["offsets"][i + 1])
        fields = {name: np.array(arrays[name][a:b]) for name in ARRAY_FIELDS if name in arrays}
        events = {}
        for key in arrays:
            if key.startswith("events_"):
                event = key[len("events_") :]
                eo = arrays[f"event_offsets_{event}"]
                events[event] = np.array(arrays[key][int(eo[i]) : int(eo[i + 1])])
        record = info["samples"][i]
        return Sample(
            **record,
            **fields,
            events=events,
            class_names=tuple(info["class_names"]),
            imu_names=tuple(info["imu_names"]),
        )

    def labels(self) -> np.ndarray:
        """Clip labels of every sample, without loading any array."""
        return np.array([r["label"] for r in self.records()])

    def records(self) -> list[dict]:
        """The small per-sample values (name, label, subject, view, meta) of every sample."""
        out = []
        for folder in self._shards:
            out += json.loads((folder / "samples.json").read_text())["samples"]
        return out


def write_store(shards, root, config: dict) -> SampleStore:
    """Write an iterable of shards (lists of samples) as a store, atomically.

    The store is built in ``<root>.partial`` and renamed into place when complete.
    """
    root = Path(root)
    partial = root.with_name(root.name + ".partial")
    if partial.exists():
        shutil.rmtree(partial)
    names, counts = [], []
    for k, samples in enumerate(shards):
        name = f"shard_{k:05d}"
        write_shard(samples, partial / name)
        names.append(name)
        counts.append(len(samples))
    (partial / "manifest.json").write_text(json.dumps({"shards": names, "counts": counts, "config": config}, indent=1))
    if root.exists():
        shutil.rmtree(root)
    os.replace(partial, root)
    return SampleStore(root)

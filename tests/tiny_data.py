"""Tiny, learnable segmentation data for engine tests: features are a noisy one-hot of
the frame's class, so a few epochs of training visibly help."""

from __future__ import annotations

import numpy as np

from actseg_lib.data import Sample, formats

CLASSES = ("background", "reach", "grasp", "lift")


def tiny_samples(num=10, length=120, channels=6, seed=0, equal_length=True, with_split=True):
    rng = np.random.default_rng(seed)
    samples = []
    for i in range(num):
        T = length if equal_length else int(rng.integers(length // 2, length + 1))
        cuts = np.sort(rng.choice(np.arange(8, T - 8), size=4, replace=False))
        order = np.r_[rng.permutation(len(CLASSES)), rng.integers(len(CLASSES))]  # every class in every video
        labels = np.repeat(order, np.diff([0, *cuts, T])).astype(np.int64)
        x = 0.5 * rng.standard_normal((T, channels)).astype(np.float32)
        x[np.arange(T), labels] += 1.0
        meta = {"split": "test" if i % 4 == 3 else "train"} if with_split else {}
        samples.append(
            Sample(
                name=f"vid{i:02d}",
                fps=15.0,
                class_names=CLASSES,
                features=x,
                frame_labels=labels,
                subject=i % 5,
                meta=meta,
            )
        )
    return samples


def write_tiny_mstcn(root, **kwargs):
    """A tiny dataset in the MS-TCN layout under ``root``; returns the ``--data`` spec."""
    formats.write("mstcn", tiny_samples(**kwargs), root)
    return f"mstcn:{root}"


# a model small enough that an epoch takes milliseconds
TINY_MSTCN = {"num_stages": 2, "num_layers": 3, "num_f_maps": 8}

"""The in-memory recording every reader returns and every model consumes.

A :class:`Sample` holds any subset of modalities on **one frame clock** (``fps``
frames per second, ``T`` frames): streams recorded at other rates are resampled onto
it by their reader. Shapes, with T frames, M bodies, J joints, S inertial sensors:

==================  ====================  ================================================
field               shape / type          meaning
==================  ====================  ================================================
``label``           int                   clip class (trimmed recognition clips)
``frame_labels``    [T] int64             per-frame class; ``IGNORE_INDEX`` = unlabelled
``boundaries``      [T] uint8             1 where an action starts (frame 0 included)
``skeleton3d``      [T, M, J, 3] float32  joints in metres, camera frame
``skeleton2d``      [T, M, J, 2] float32  joints in pixels
``joint_scores``    [T, M, J] float32     keypoint confidence / visibility
``rgb``             [T, H, W, 3] uint8    video frames
``imu``             [T, S, 6] float32     acc x,y,z (G) and gyro x,y,z (deg/s) per sensor
``events``          {name: [K] int64}     sparse event frames (scanner, printer), sorted
``features``        [T, D] float32        precomputed frame features (MS-TCN style)
``timestamps_ms``   [T] int64             unix time of each frame (OpenPack)
==================  ====================  ================================================
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields

import numpy as np

ARRAY_FIELDS = (
    "frame_labels",
    "boundaries",
    "skeleton3d",
    "skeleton2d",
    "joint_scores",
    "rgb",
    "imu",
    "features",
    "timestamps_ms",
)


@dataclass
class Sample:
    """One recording (a trimmed clip or an untrimmed sequence) and its labels."""

    name: str
    fps: float = 30.0
    class_names: tuple[str, ...] = ()
    label: int | None = None
    frame_labels: np.ndarray | None = None
    boundaries: np.ndarray | None = None
    skeleton3d: np.ndarray | None = None
    skeleton2d: np.ndarray | None = None
    joint_scores: np.ndarray | None = None
    rgb: np.ndarray | None = None
    imu: np.ndarray | None = None
    imu_names: tuple[str, ...] = ()
    events: dict[str, np.ndarray] = field(default_factory=dict)
    features: np.ndarray | None = None
    timestamps_ms: np.ndarray | None = None
    subject: int | None = None
    view: int | None = None
    meta: dict = field(default_factory=dict)

    def __post_init__(self):
        lengths = {name: len(getattr(self, name)) for name in ARRAY_FIELDS if getattr(self, name) is not None}
        if len(set(lengths.values())) > 1:
            raise ValueError(f"sample {self.name!r}: modalities disagree on the number of frames: {lengths}")

    @property
    def num_frames(self) -> int:
        for name in ARRAY_FIELDS:
            value = getattr(self, name)
            if value is not None:
                return len(value)
        raise ValueError(f"sample {self.name!r} holds no per-frame data")

    def modalities(self) -> list[str]:
        """Names of the per-frame fields present (plus 'events' when any)."""
        present = [name for name in ARRAY_FIELDS if getattr(self, name) is not None]
        return present + (["events"] if self.events else [])


def assert_samples_equal(a: Sample, b: Sample, fields_to_check=None) -> None:
    """Raise AssertionError naming the first field that differs (arrays exactly)."""
    names = fields_to_check or [f.name for f in fields(Sample)]
    for name in names:
        x, y = getattr(a, name), getattr(b, name)
        if isinstance(x, np.ndarray) or isinstance(y, np.ndarray):
            if x is None or y is None:
                raise AssertionError(f"{name}: one sample has it, the other does not")
            np.testing.assert_array_equal(x, y, err_msg=f"field {name!r} differs")
            if x.dtype != y.dtype:
                raise AssertionError(f"{name}: dtype {x.dtype} != {y.dtype}")
        elif isinstance(x, dict) and name == "events":
            if x.keys() != y.keys():
                raise AssertionError(f"events: {sorted(x)} != {sorted(y)}")
            for key in x:
                np.testing.assert_array_equal(x[key], y[key], err_msg=f"events[{key!r}] differs")
        elif x != y:
            raise AssertionError(f"{name}: {x!r} != {y!r}")

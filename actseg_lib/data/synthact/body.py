"""The simulated body: NTU's 25-joint tree, per-subject proportions and style, and
forward kinematics from joint angles to 3D joint positions.

Body frame (metres): x to the subject's left, y up, z forward. Angles in degrees.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...common.skeletons import NTU_JOINTS, NTU_PARENTS, topological_order

J = {name: i for i, name in enumerate(NTU_JOINTS)}

# The joint angles an action drives ("controls"); each maps to the joint whose local
# rotation it sets, the axis and a sign. Left/right mirror through the sign.
CONTROLS = (
    "root_x",
    "root_y",
    "root_z",
    "yaw",
    "spine_bend",
    "spine_twist",
    "neck_pitch",
    "l_sh_flex",
    "l_sh_abd",
    "r_sh_flex",
    "r_sh_abd",
    "l_elbow",
    "r_elbow",
    "l_hip_flex",
    "l_hip_abd",
    "r_hip_flex",
    "r_hip_abd",
    "l_knee",
    "r_knee",
)
TRANSLATIONS = ("root_x", "root_y", "root_z")

# (control, joint, axis, sign): rotation of `joint`'s local frame by sign * angle about axis
_ROTATIONS = (
    ("yaw", "spine_base", "y", 1.0),
    ("spine_bend", "spine_mid", "x", 1.0),  # + bends forward (head towards +z)
    ("spine_twist", "spine_shoulder", "y", 1.0),
    ("neck_pitch", "neck", "x", 1.0),
    ("l_sh_abd", "left_shoulder", "z", 1.0),  # arm out to the side
    ("l_sh_flex", "left_shoulder", "x", -1.0),  # arm forward and up
    ("r_sh_abd", "right_shoulder", "z", -1.0),
    ("r_sh_flex", "right_shoulder", "x", -1.0),
    ("l_elbow", "left_elbow", "x", -1.0),  # forearm forward
    ("r_elbow", "right_elbow", "x", -1.0),
    ("l_hip_abd", "left_hip", "z", 1.0),
    ("l_hip_flex", "left_hip", "x", -1.0),  # thigh forward
    ("r_hip_abd", "right_hip", "z", -1.0),
    ("r_hip_flex", "right_hip", "x", -1.0),
    ("l_knee", "left_knee", "x", 1.0),  # shin backward
    ("r_knee", "right_knee", "x", 1.0),
)

# Rest offsets (child relative to parent, parent frame, before per-subject scaling) and
# the body part whose scale applies: torso, arm, leg, head, hand.
_REST = {
    "spine_mid": ((0.0, 0.24, 0.0), "torso"),
    "spine_shoulder": ((0.0, 0.24, 0.0), "torso"),
    "neck": ((0.0, 0.07, 0.0), "head"),
    "head": ((0.0, 0.14, 0.02), "head"),
    "left_shoulder": ((0.17, -0.03, 0.0), "torso"),
    "left_elbow": ((0.0, -0.28, 0.0), "arm"),
    "left_wrist": ((0.0, -0.25, 0.0), "arm"),
    "left_hand": ((0.0, -0.07, 0.0), "hand"),
    "left_hand_tip": ((0.0, -0.08, 0.0), "hand"),
    "left_thumb": ((0.0, -0.04, 0.04), "hand"),
    "left_hip": ((0.09, -0.03, 0.0), "torso"),
    "left_knee": ((0.0, -0.42, 0.0), "leg"),
    "left_ankle": ((0.0, -0.41, 0.0), "leg"),
    "left_foot": ((0.0, -0.06, 0.11), "hand"),
}
for _name in list(_REST):
    if _name.startswith("left_"):
        (x, y, z), part = _REST[_name]
        _REST[_name.replace("left_", "right_")] = ((-x, y, z), part)
PELVIS_HEIGHT = 0.92  # rest height of the spine base for scale 1 legs


@dataclass(frozen=True)
class Subject:
    """A performer: proportions, style and handedness, drawn once per subject id."""

    subject_id: int
    height_scale: float  # overall size (1.0 ~ 1.75 m)
    part_scale: dict  # torso/arm/leg/head/hand multipliers on top of height_scale
    amplitude: float  # how large their movements are
    speed: float  # how fast (durations divide by it)
    left_handed: bool
    colors: np.ndarray  # [5, 3] uint8 clothing colour per body part (for RGB)

    @classmethod
    def sample(cls, subject_id: int, seed: int) -> Subject:
        rng = np.random.default_rng([seed, 7919, subject_id])
        parts = {p: float(rng.uniform(0.92, 1.08)) for p in ("torso", "arm", "leg", "head", "hand")}
        shirt, trousers = rng.integers(40, 230, size=(2, 3))
        sleeve = shirt * 0.75  # sleeves a shade darker so arms stand out against the torso
        colors = np.stack([shirt, sleeve, sleeve, trousers, trousers]).astype(np.uint8)
        return cls(
            subject_id=subject_id,
            height_scale=float(rng.uniform(0.87, 1.09)),
            part_scale=parts,
            amplitude=float(rng.uniform(0.85, 1.15)),
            speed=float(rng.uniform(0.85, 1.2)),
            left_handed=bool(rng.random() < 0.15),
            colors=colors,
        )

    def offsets(self) -> np.ndarray:
        """[J, 3] rest bone offsets scaled to this subject."""
        out = np.zeros((len(NTU_JOINTS), 3))
        for name, (offset, part) in _REST.items():
            out[J[name]] = np.asarray(offset) * self.height_scale * self.part_scale[part]
        return out

    @property
    def pelvis_height(self) -> float:
        return PELVIS_HEIGHT * self.height_scale * self.part_scale["leg"]


def _axis_rotation(axis: str, degrees: np.ndarray) -> np.ndarray:
    """[..., 3, 3] rotation matrices about a coordinate axis."""
    a = np.deg2rad(degrees)
    c, s = np.cos(a), np.sin(a)
    one, zero = np.ones_like(a), np.zeros_like(a)
    rows = {
        "x": ((one, zero, zero), (zero, c, -s), (zero, s, c)),
        "y": ((c, zero, s), (zero, one, zero), (-s, zero, c)),
        "z": ((c, -s, zero), (s, c, zero), (zero, zero, one)),
    }[axis]
    return np.stack([np.stack(r, axis=-1) for r in rows], axis=-2)


def forward_kinematics(angles: dict, subject: Subject) -> tuple[np.ndarray, np.ndarray]:
    """Joint positions and global joint rotations from control trajectories.

    Args:
        angles: control name -> [T] values (degrees; metres for root_*); missing = 0.
        subject: whose bone lengths to use.

    Returns:
        positions [T, J, 3] in metres (body frame, feet near y = 0) and
        rotations [T, J, 3, 3] (the global frame of each joint).
    """
    T = max(np.size(v) for v in angles.values())
    angles = {name: np.broadcast_to(np.asarray(v, dtype=float), (T,)) for name, v in angles.items()}
    local = np.broadcast_to(np.eye(3), (T, len(NTU_JOINTS), 3, 3)).copy()
    for control, joint, axis, sign in _ROTATIONS:
        if control in angles:
            local[:, J[joint]] = local[:, J[joint]] @ _axis_rotation(axis, sign * np.asarray(angles[control]))
    offsets = subject.offsets()
    rotations = np.empty_like(local)
    positions = np.zeros((T, len(NTU_JOINTS), 3))
    root = J["spine_base"]
    positions[:, root] = np.stack(
        [np.asarray(angles.get(name, np.zeros(T)), dtype=float) for name in TRANSLATIONS], axis=-1
    ) + (0.0, subject.pelvis_height, 0.0)
    for joint in topological_order(NTU_PARENTS):
        parent = NTU_PARENTS[joint]
        if parent < 0:
            rotations[:, joint] = local[:, joint]
            continue
        positions[:, joint] = positions[:, parent] + rotations[:, parent] @ offsets[joint]
        rotations[:, joint] = rotations[:, parent] @ local[:, joint]
    return positions, rotations

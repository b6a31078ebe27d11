"""Skeleton layouts: NTU RGB+D's 25 Kinect v2 joints, and the 13 (Penn Action) and
17 (COCO, OpenPack's keypoints) joint layouts, with the maps from NTU to them; the
skeleton graphs that graph models read (NTU's and OpenPose BODY_25's), by name.

Indices are 0-based (the NTU documentation counts from 1).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

NTU_JOINTS = (
    "spine_base",
    "spine_mid",
    "neck",
    "head",
    "left_shoulder",
    "left_elbow",
    "left_wrist",
    "left_hand",
    "right_shoulder",
    "right_elbow",
    "right_wrist",
    "right_hand",
    "left_hip",
    "left_knee",
    "left_ankle",
    "left_foot",
    "right_hip",
    "right_knee",
    "right_ankle",
    "right_foot",
    "spine_shoulder",
    "left_hand_tip",
    "left_thumb",
    "right_hand_tip",
    "right_thumb",
)
NUM_NTU_JOINTS = len(NTU_JOINTS)

# Kinect v2's kinematic tree: the parent of each joint, -1 for the root (spine base).
# (Graph models built on ST-GCN's edge list join the left hand tip to the left thumb
# instead of the hand; we keep the tree.)
NTU_PARENTS = (
    -1,
    0,
    20,
    2,
    20,
    4,
    5,
    6,
    20,
    8,
    9,
    10,
    0,
    12,
    13,
    14,
    0,
    16,
    17,
    18,
    1,
    7,
    7,
    11,
    11,
)
NTU_EDGES = tuple((child, parent) for child, parent in enumerate(NTU_PARENTS) if parent >= 0)

# Per-part colours for drawing (RGB 0..255): torso, left arm, right arm, left leg, right leg.
NTU_PART = (
    0,
    0,
    0,
    0,
    1,
    1,
    1,
    1,
    2,
    2,
    2,
    2,
    3,
    3,
    3,
    3,
    4,
    4,
    4,
    4,
    0,
    1,
    1,
    2,
    2,
)

PENN_JOINTS = (
    "head",
    "left_shoulder",
    "right_shoulder",
    "left_elbow",
    "right_elbow",
    "left_wrist",
    "right_wrist",
    "left_hip",
    "right_hip",
    "left_knee",
    "right_knee",
    "left_ankle",
    "right_ankle",
)
NTU_TO_PENN = tuple(NTU_JOINTS.index(name) for name in PENN_JOINTS)

COCO_JOINTS = (
    "nose",
    "left_eye",
    "right_eye",
    "left_ear",
    "right_ear",
    "left_shoulder",
    "right_shoulder",
    "left_elbow",
    "right_elbow",
    "left_wrist",
    "right_wrist",
    "left_hip",
    "right_hip",
    "left_knee",
    "right_knee",
    "left_ankle",
    "right_ankle",
)
# Kinect has no face points: the five face keypoints all take the head joint.
NTU_TO_COCO = tuple(
    NTU_JOINTS.index("head") if name in COCO_JOINTS[:5] else NTU_JOINTS.index(name) for name in COCO_JOINTS
)


# OpenPose BODY_25 (MCFS): nose 0, neck 1, arms 2-7, mid hip 8, legs 9-14, eyes and ears
# 15-18, feet 19-24
NUM_BODY25_JOINTS = 25
BODY25_EDGES = (
    (0, 1),
    (1, 2),
    (2, 3),
    (3, 4),
    (1, 5),
    (5, 6),
    (6, 7),
    (1, 8),
    (8, 9),
    (9, 10),
    (10, 11),
    (8, 12),
    (12, 13),
    (13, 14),
    (0, 15),
    (15, 17),
    (0, 16),
    (16, 18),
    (14, 19),
    (19, 20),
    (14, 21),
    (11, 22),
    (22, 23),
    (11, 24),
)


class SkeletonGraph(NamedTuple):
    """A skeleton as a graph: its joints, its bones (pairs of joint indices) and the joint
    at the centre of the body, from which joints are measured relative to the body."""

    num_joints: int
    edges: tuple
    centre: int


SKELETON_GRAPHS = {
    "ntu": SkeletonGraph(NUM_NTU_JOINTS, NTU_EDGES, 1),  # NTU RGB+D / Kinect v2 (PKU-MMD; LARa has 19): spine middle
    "body25": SkeletonGraph(NUM_BODY25_JOINTS, BODY25_EDGES, 8),  # OpenPose BODY_25 (MCFS): mid hip
}


def skeleton_graph(name: str) -> SkeletonGraph:
    """The skeleton graph ``name`` (one of :data:`SKELETON_GRAPHS`)."""
    if name not in SKELETON_GRAPHS:
        raise ValueError(f"graph: expected one of {tuple(SKELETON_GRAPHS)}, got {name!r}")
    return SKELETON_GRAPHS[name]


def bone_pairs(parents=NTU_PARENTS) -> np.ndarray:
    """[E, 2] (child, parent) index pairs of a kinematic tree."""
    return np.array([(c, p) for c, p in enumerate(parents) if p >= 0], dtype=np.int64)


def topological_order(parents=NTU_PARENTS) -> list[int]:
    """Joints ordered so every parent comes before its children."""
    order, placed = [], set()
    while len(order) < len(parents):
        progressed = False
        for joint, parent in enumerate(parents):
            if joint not in placed and (parent < 0 or parent in placed):
                order.append(joint)
                placed.add(joint)
                progressed = True
        if not progressed:
            raise ValueError("parents: the joint tree has a cycle")
    return order

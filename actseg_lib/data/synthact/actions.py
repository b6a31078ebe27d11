"""The action vocabulary: each action is keyframed joint-angle trajectories over its
phase u in [0, 1], optional oscillations, an optional held object and sparse events.

Three vocabularies:

* ``RECOGNITION_REDUCED`` (12 classes) and ``RECOGNITION_FULL`` (60, NTU-like) for
  trimmed clips; the reduced set is the first 12 of the full one;
* ``PACKAGING`` (10 operations with OpenPack's ids, plus Null) for workflows.

The vocabulary is built to make the papers' ideas matter (see ``CONFUSABLE_PAIRS``):
pairs with *identical* motion told apart only by the held object (RGB), pairs that are
each other's time reversal (a model that averages over time cannot separate them),
pairs differing in one limb, and packaging operations whose motion is alike but whose
sparse events (scanner, printer) differ.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

REST = 0.0


@dataclass(frozen=True)
class Action:
    """One action class.

    keys: ((u, {control: value}), ...); a control is held at rest (0) at u = 0 and
        u = 1 unless a key there says otherwise, and moves with smoothstep between keys.
    oscillate: ((control, amplitude, cycles, u_start, u_end), ...) added on top.
    obj: the object held in the acting hand while u is inside ``obj_window``.
    events: ((event name, (u, ...)), ...) instants of sparse signals.
    hand: "right" actions are mirrored for left-handed subjects; "fixed" never.
    """

    name: str
    keys: tuple
    duration: tuple = (1.5, 3.0)  # seconds, before the subject's speed
    oscillate: tuple = ()
    obj: str | None = None
    obj_window: tuple = (0.1, 0.9)
    events: tuple = ()
    hand: str = "right"
    description: str = ""

    def controls(self) -> set:
        names = {c for _, pose in self.keys for c in pose}
        return names | {o[0] for o in self.oscillate}


def reverse(action: Action, name: str, description: str = "") -> Action:
    """The same motion played backwards (sit down -> stand up)."""
    keys = tuple((1.0 - u, pose) for u, pose in reversed(action.keys))
    osc = tuple((c, a, n, 1.0 - e, 1.0 - s) for c, a, n, s, e in action.oscillate)
    events = tuple((ev, tuple(sorted(1.0 - u for u in us))) for ev, us in action.events)
    lo, hi = action.obj_window
    return Action(name, keys, action.duration, osc, action.obj, (1.0 - hi, 1.0 - lo), events, action.hand, description)


# --- building blocks -----------------------------------------------------------------


def _arm(side: str, flex: float, abd: float = 0.0, elbow: float = 0.0) -> dict:
    return {f"{side}_sh_flex": flex, f"{side}_sh_abd": abd, f"{side}_elbow": elbow}


HAND_TO_HEAD = _arm("r", 45, 20, 140)
SIT = {
    "spine_bend": 12,
    "l_hip_flex": 85,
    "r_hip_flex": 85,
    "l_knee": 85,
    "r_knee": 85,
    "root_y": -0.40,
    "root_z": -0.12,
    **_arm("l", 20, 5, 30),
    **_arm("r", 20, 5, 30),
}
HALF_SIT = {
    "spine_bend": 30,
    "l_hip_flex": 50,
    "r_hip_flex": 50,
    "l_knee": 60,
    "r_knee": 60,
    "root_y": -0.20,
    "root_z": -0.04,
    **_arm("l", 45, 5, 20),
    **_arm("r", 45, 5, 20),
}
HANDS_FRONT = {**_arm("l", 40, 8, 80), **_arm("r", 40, 8, 80), "neck_pitch": 20}

_SIT_DOWN = Action(
    "sit down",
    ((0.0, {}), (0.45, HALF_SIT), (1.0, SIT)),
    (1.8, 3.0),
    hand="fixed",
    description="lowers onto a seat; ends seated",
)

# The first twelve are the reduced vocabulary; the confusable pairs live there.
_CORE = [
    Action(
        "drink water",
        ((0.3, HAND_TO_HEAD), (0.7, HAND_TO_HEAD)),
        (2.0, 3.2),
        obj="cup",
        obj_window=(0.0, 1.0),
        description="cup to the mouth; same motion as 'answer phone'",
    ),
    Action(
        "answer phone",
        ((0.3, HAND_TO_HEAD), (0.7, HAND_TO_HEAD)),
        (2.0, 3.2),
        obj="phone",
        obj_window=(0.0, 1.0),
        description="phone to the head; same motion as 'drink water'",
    ),
    _SIT_DOWN,
    reverse(_SIT_DOWN, "stand up", "rises from a seat; 'sit down' played backwards"),
    Action(
        "wave hand",
        ((0.2, _arm("r", 150, 25, 40)), (0.8, _arm("r", 150, 25, 40))),
        (2.0, 3.0),
        oscillate=(("r_sh_abd", 18, 3, 0.2, 0.8),),
        description="right arm up, swinging",
    ),
    Action(
        "point forward",
        ((0.3, _arm("r", 88, 0, 0)), (0.75, _arm("r", 88, 0, 0))),
        (1.6, 2.6),
        description="right arm straight forward, still; differs from 'wave' in one arm",
    ),
    Action(
        "clap",
        (
            (0.2, {**_arm("l", 70, 30, 50), **_arm("r", 70, 30, 50)}),
            (0.8, {**_arm("l", 70, 30, 50), **_arm("r", 70, 30, 50)}),
        ),
        (1.8, 2.8),
        oscillate=(("l_sh_abd", 22, 4, 0.2, 0.8), ("r_sh_abd", 22, 4, 0.2, 0.8)),
        hand="fixed",
    ),
    Action(
        "jump",
        (
            (
                0.25,
                {
                    "l_knee": 60,
                    "r_knee": 60,
                    "l_hip_flex": 45,
                    "r_hip_flex": 45,
                    "root_y": -0.15,
                    **_arm("l", -20, 10),
                    **_arm("r", -20, 10),
                },
            ),
            (0.5, {"root_y": 0.28, **_arm("l", 60, 10), **_arm("r", 60, 10)}),
            (0.72, {"l_knee": 40, "r_knee": 40, "l_hip_flex": 30, "r_hip_flex": 30, "root_y": -0.08}),
        ),
        (1.2, 2.0),
        hand="fixed",
        description="whole body",
    ),
    Action(
        "pick up",
        (
            (
                0.5,
                {
                    "spine_bend": 70,
                    "l_knee": 45,
                    "r_knee": 45,
                    "l_hip_flex": 25,
                    "r_hip_flex": 25,
                    "root_y": -0.12,
                    **_arm("r", 45, 5, 10),
                },
            ),
        ),
        (2.0, 3.0),
        description="bends down and back up",
    ),
    Action(
        "kick",
        (
            (0.3, {"r_hip_flex": -15, "r_knee": 70}),
            (0.5, {"r_hip_flex": 75, "r_knee": 5}),
            (0.7, {"r_hip_flex": 10, "r_knee": 30}),
        ),
        (1.2, 2.0),
    ),
    Action(
        "throw",
        (
            (0.35, {**_arm("r", 165, 10, 110), "spine_twist": -20}),
            (0.6, {**_arm("r", 70, 5, 0), "spine_twist": 15, "spine_bend": 15}),
        ),
        (1.2, 2.0),
    ),
    Action("bow", ((0.5, {"spine_bend": 50, "neck_pitch": 20}),), (1.8, 2.8), hand="fixed"),
]


def _reach(where: str, side: str) -> Action:
    pose = {"up": _arm(side, 170, 10, 0), "forward": _arm(side, 95, 0, 0), "side": _arm(side, 10, 90, 0)}[where]
    return Action(
        f"reach {where} ({'left' if side == 'l' else 'right'})", ((0.35, pose), (0.65, pose)), (1.5, 2.5), hand="fixed"
    )


def _touch(where: str, side: str) -> Action:
    pose = {
        "head": _arm(side, 60, 35, 150),
        "chest": _arm(side, 35, 5, 125),
        "knee": {**_arm(side, 40, 5, 0), "spine_bend": 45},
    }[where]
    return Action(
        f"touch {where} ({'left' if side == 'l' else 'right'})", ((0.35, pose), (0.65, pose)), (1.5, 2.5), hand="fixed"
    )


def _step(direction: str) -> Action:
    dx, dz = {"forward": (0, 0.45), "back": (0, -0.4), "left": (0.4, 0), "right": (-0.4, 0)}[direction]
    lead = "l" if direction in ("forward", "left") else "r"
    mid = {
        f"{lead}_hip_flex": 35 if dz >= 0 else -25,
        f"{lead}_knee": 30,
        f"{lead}_hip_abd": 20 if dx else 0,
        "root_x": dx / 2,
        "root_z": dz / 2,
        "root_y": 0.02,
    }
    return Action(f"step {direction}", ((0.4, mid), (1.0, {"root_x": dx, "root_z": dz})), (1.2, 2.0), hand="fixed")


def _object_task(name: str, obj: str, osc_control: str, description: str) -> Action:
    return Action(
        name,
        ((0.2, HANDS_FRONT), (0.8, HANDS_FRONT)),
        (2.4, 3.6),
        oscillate=((osc_control, 6, 5, 0.2, 0.8),),
        obj=obj,
        obj_window=(0.0, 1.0),
        description=description,
    )


_PUT_ON_HAT = Action(
    "put on hat",
    ((0.25, _arm("r", 60, 20, 30)), (0.6, _arm("r", 120, 45, 140)), (0.8, _arm("r", 120, 45, 140))),
    (1.8, 2.6),
    obj="hat",
    obj_window=(0.0, 0.8),
    description="hat from the front onto the head",
)

_MORE = [
    *(_reach(w, s) for w in ("up", "forward", "side") for s in ("l", "r")),
    *(_touch(w, s) for w in ("head", "chest", "knee") for s in ("l", "r")),
    *(_step(d) for d in ("forward", "back", "left", "right")),
    Action("turn left", ((0.5, {"yaw": 45}), (1.0, {"yaw": 90})), (1.5, 2.5), hand="fixed"),
    Action("turn right", ((0.5, {"yaw": -45}), (1.0, {"yaw": -90})), (1.5, 2.5), hand="fixed"),
    Action(
        "arm circles (left)",
        ((0.15, _arm("l", 90, 60)), (0.85, _arm("l", 90, 60))),
        (2.0, 3.0),
        oscillate=(("l_sh_flex", 35, 3, 0.15, 0.85), ("l_sh_abd", 25, 3, 0.15, 0.85)),
        hand="fixed",
    ),
    Action(
        "arm circles (right)",
        ((0.15, _arm("r", 90, 60)), (0.85, _arm("r", 90, 60))),
        (2.0, 3.0),
        oscillate=(("r_sh_flex", 35, 3, 0.15, 0.85), ("r_sh_abd", 25, 3, 0.15, 0.85)),
        hand="fixed",
    ),
    Action(
        "arm circles (both)",
        ((0.15, {**_arm("l", 90, 60), **_arm("r", 90, 60)}), (0.85, {**_arm("l", 90, 60), **_arm("r", 90, 60)})),
        (2.0, 3.0),
        oscillate=(("l_sh_flex", 35, 3, 0.15, 0.85), ("r_sh_flex", 35, 3, 0.15, 0.85)),
        hand="fixed",
    ),
    Action(
        "raise both arms",
        ((0.4, {**_arm("l", 170, 10), **_arm("r", 170, 10)}), (0.6, {**_arm("l", 170, 10), **_arm("r", 170, 10)})),
        (1.5, 2.5),
        hand="fixed",
    ),
    Action(
        "cross arms",
        (
            (0.3, {**_arm("l", 60, -30, 110), **_arm("r", 60, -30, 110)}),
            (0.7, {**_arm("l", 60, -30, 110), **_arm("r", 60, -30, 110)}),
        ),
        (2.0, 3.0),
        hand="fixed",
    ),
    Action(
        "stretch sideways",
        ((0.4, {**_arm("l", 0, 90), **_arm("r", 0, 90)}), (0.6, {**_arm("l", 0, 90), **_arm("r", 0, 90)})),
        (1.5, 2.5),
        hand="fixed",
    ),
    Action(
        "hands on hips",
        (
            (0.3, {**_arm("l", -10, 40, 100), **_arm("r", -10, 40, 100)}),
            (0.7, {**_arm("l", -10, 40, 100), **_arm("r", -10, 40, 100)}),
        ),
        (2.0, 3.0),
        hand="fixed",
    ),
    Action(
        "nod",
        ((0.2, {"neck_pitch": 5}), (0.8, {"neck_pitch": 5})),
        (1.5, 2.5),
        oscillate=(("neck_pitch", 20, 3, 0.2, 0.8),),
        hand="fixed",
    ),
    Action(
        "shake head", ((0.2, {}), (0.8, {})), (1.5, 2.5), oscillate=(("spine_twist", 12, 3, 0.2, 0.8),), hand="fixed"
    ),
    Action(
        "look down",
        ((0.35, {"neck_pitch": 45, "spine_bend": 10}), (0.65, {"neck_pitch": 45, "spine_bend": 10})),
        (1.5, 2.5),
        hand="fixed",
    ),
    _object_task("type on keyboard", "keyboard", "l_elbow", "hands in front; same motion as 'read book'"),
    _object_task("read book", "book", "r_elbow", "hands in front; same motion as 'type on keyboard'"),
    _object_task("write", "pen", "r_sh_abd", "hands in front, the right one moving"),
    _PUT_ON_HAT,
    reverse(_PUT_ON_HAT, "take off hat", "'put on hat' played backwards"),
    Action(
        "squat",
        (
            (
                0.5,
                {
                    "l_hip_flex": 80,
                    "r_hip_flex": 80,
                    "l_knee": 110,
                    "r_knee": 110,
                    "root_y": -0.38,
                    "spine_bend": 20,
                    **_arm("l", 80),
                    **_arm("r", 80),
                },
            ),
        ),
        (1.8, 2.8),
        hand="fixed",
    ),
    Action(
        "lunge (left)",
        ((0.5, {"l_hip_flex": 70, "l_knee": 80, "r_hip_flex": -20, "r_knee": 40, "root_y": -0.25, "root_z": 0.2}),),
        (1.8, 2.8),
        hand="fixed",
    ),
    Action(
        "lunge (right)",
        ((0.5, {"r_hip_flex": 70, "r_knee": 80, "l_hip_flex": -20, "l_knee": 40, "root_y": -0.25, "root_z": 0.2}),),
        (1.8, 2.8),
        hand="fixed",
    ),
    Action(
        "side bend (left)",
        ((0.5, {"l_hip_abd": 5, **_arm("r", 150, 40), "spine_twist": 10}),),
        (1.6, 2.6),
        hand="fixed",
    ),
    Action(
        "side bend (right)",
        ((0.5, {"r_hip_abd": 5, **_arm("l", 150, 40), "spine_twist": -10}),),
        (1.6, 2.6),
        hand="fixed",
    ),
    Action(
        "twist torso", ((0.2, {}), (0.8, {})), (2.0, 3.0), oscillate=(("spine_twist", 35, 2, 0.2, 0.8),), hand="fixed"
    ),
    Action(
        "march in place",
        ((0.1, {}), (0.9, {})),
        (2.0, 3.2),
        oscillate=(
            ("l_hip_flex", 30, 3, 0.1, 0.9),
            ("r_hip_flex", -30, 3, 0.1, 0.9),
            ("l_sh_flex", -20, 3, 0.1, 0.9),
            ("r_sh_flex", 20, 3, 0.1, 0.9),
        ),
        hand="fixed",
    ),
    Action(
        "run in place",
        ((0.1, {"l_elbow": 80, "r_elbow": 80}), (0.9, {"l_elbow": 80, "r_elbow": 80})),
        (1.6, 2.6),
        oscillate=(
            ("l_hip_flex", 40, 5, 0.1, 0.9),
            ("r_hip_flex", -40, 5, 0.1, 0.9),
            ("root_y", 0.04, 10, 0.1, 0.9),
            ("l_sh_flex", -35, 5, 0.1, 0.9),
            ("r_sh_flex", 35, 5, 0.1, 0.9),
        ),
        hand="fixed",
    ),
    Action(
        "punch (left)",
        ((0.3, _arm("l", 60, 10, 120)), (0.5, _arm("l", 90, 0, 0)), (0.7, _arm("l", 60, 10, 120))),
        (1.0, 1.8),
        hand="fixed",
    ),
    Action(
        "punch (right)",
        ((0.3, _arm("r", 60, 10, 120)), (0.5, _arm("r", 90, 0, 0)), (0.7, _arm("r", 60, 10, 120))),
        (1.0, 1.8),
        hand="fixed",
    ),
    Action("salute", ((0.35, _arm("r", 80, 70, 150)), (0.7, _arm("r", 80, 70, 150))), (1.5, 2.5)),
    Action(
        "brush teeth",
        ((0.2, HAND_TO_HEAD), (0.8, HAND_TO_HEAD)),
        (2.4, 3.6),
        obj="toothbrush",
        oscillate=(("r_sh_abd", 8, 6, 0.2, 0.8),),
        obj_window=(0.0, 1.0),
    ),
    Action(
        "eat with spoon",
        ((0.2, HAND_TO_HEAD), (0.8, HAND_TO_HEAD)),
        (2.4, 3.6),
        obj="spoon",
        oscillate=(("r_elbow", 25, 3, 0.2, 0.8),),
        obj_window=(0.0, 1.0),
    ),
    Action(
        "stretch forward", ((0.5, {"spine_bend": 30, **_arm("l", 100), **_arm("r", 100)}),), (1.8, 2.8), hand="fixed"
    ),
    Action(
        "kneel",
        (
            (0.5, {"l_hip_flex": 90, "l_knee": 90, "r_hip_flex": 0, "r_knee": 90, "root_y": -0.45}),
            (1.0, {"l_hip_flex": 90, "l_knee": 90, "r_knee": 90, "root_y": -0.5}),
        ),
        (2.0, 3.0),
        hand="fixed",
    ),
]

RECOGNITION_FULL = tuple(_CORE + _MORE)
RECOGNITION_REDUCED = RECOGNITION_FULL[:12]
assert len(RECOGNITION_FULL) == 60, len(RECOGNITION_FULL)

CONFUSABLE_PAIRS = (
    ("drink water", "answer phone", "identical motion; only the object (RGB) differs"),
    ("sit down", "stand up", "time reversal: same poses, opposite order"),
    ("wave hand", "point forward", "one limb: the right arm's motion alone differs"),
    ("type on keyboard", "read book", "identical motion but for one oscillating joint; objects differ"),
    ("put on hat", "take off hat", "time reversal with an object"),
    ("brush teeth", "eat with spoon", "hand at the mouth; object and rhythm differ"),
)

# The modality_complementarity dial's XOR-coded pairs, in the order the dial converts them
# (round(c * 6) first rows at level c): the reduced vocabulary's six neighbouring pairs.
# (class P, class Q, motion A, motion B, object A, object B): a converted clip performs
# motion A or B and shows object A or B; it is P for (A, A) or (B, B), Q otherwise.
# Motions come from the pair itself, but for drink water / answer phone, whose motions
# are identical: there 'reach forward (right)' stands in for the second. Object colours
# differ clearly within each pair (render.OBJECTS).
COMPLEMENTARY_PAIRS = (
    ("drink water", "answer phone", "drink water", "reach forward (right)", "cup", "phone"),  # white / black
    ("sit down", "stand up", "sit down", "stand up", "hat", "scanner"),  # red / yellow
    ("wave hand", "point forward", "wave hand", "point forward", "book", "label"),  # brown / white
    ("clap", "jump", "clap", "jump", "item", "phone"),  # orange / black
    ("pick up", "kick", "pick up", "kick", "cup", "hat"),  # white / red
    ("throw", "bow", "throw", "bow", "scanner", "book"),  # yellow / brown
)

# --- packaging operations (OpenPack ids) ---------------------------------------------

_TABLE = {**_arm("l", 55, 10, 55), **_arm("r", 55, 10, 55), "spine_bend": 15, "neck_pitch": 25}
_BOX_FRONT = {**_arm("r", 70, 5, 35), **_arm("l", 30, 10, 60), "spine_bend": 10, "neck_pitch": 20}

PACKAGING = (
    (
        100,
        Action(
            "Picking",
            (
                (0.15, {"yaw": 60}),
                (0.35, {"yaw": 60, "spine_bend": 40, **_arm("r", 70), **_arm("l", 60)}),
                (0.55, {"yaw": 60, **_arm("r", 40, 5, 60), **_arm("l", 40, 5, 60)}),
                (0.8, {"yaw": 0}),
            ),
            (8.0, 14.0),
            events=(("scanner", (0.45, 0.5)),),
            obj="item",
            obj_window=(0.4, 0.9),
            description="turns to the shelf, takes the items, scans them",
        ),
    ),
    (
        200,
        Action(
            "Relocate Item Label",
            ((0.15, _TABLE), (0.85, _TABLE)),
            (4.0, 8.0),
            oscillate=(("r_sh_abd", 8, 6, 0.15, 0.85), ("l_elbow", 10, 6, 0.15, 0.85)),
            description="peels labels off the items at the table",
        ),
    ),
    (
        300,
        Action(
            "Assemble Box",
            (
                (0.15, {**_arm("l", 60, 45, 30), **_arm("r", 60, 45, 30), "spine_bend": 20}),
                (0.85, {**_arm("l", 60, 20, 60), **_arm("r", 60, 20, 60), "spine_bend": 20}),
            ),
            (6.0, 11.0),
            oscillate=(("l_sh_abd", 20, 3, 0.15, 0.85), ("r_sh_abd", 20, 3, 0.15, 0.85)),
            obj="box",
            obj_window=(0.1, 1.0),
            hand="fixed",
            description="folds a flat box open, both arms",
        ),
    ),
    (
        400,
        Action(
            "Insert Items",
            ((0.15, {**_arm("r", 50, 5, 30), "spine_bend": 30}), (0.85, {**_arm("r", 50, 5, 30), "spine_bend": 30})),
            (5.0, 9.0),
            oscillate=(("r_sh_flex", 20, 4, 0.15, 0.85), ("spine_bend", 8, 4, 0.15, 0.85)),
            obj="item",
            description="puts the items into the box, one by one",
        ),
    ),
    (
        500,
        Action(
            "Close Box",
            (
                (0.3, {**_arm("l", 70, 15, 20), **_arm("r", 70, 15, 20), "spine_bend": 35}),
                (0.7, {**_arm("l", 45, 15, 10), **_arm("r", 45, 15, 10), "spine_bend": 40}),
            ),
            (3.0, 6.0),
            hand="fixed",
            description="folds the flaps down with both hands",
        ),
    ),
    (
        600,
        Action(
            "Attach Box Label",
            ((0.25, _BOX_FRONT), (0.75, _BOX_FRONT)),
            (2.5, 4.5),
            oscillate=(("r_sh_abd", 6, 2, 0.25, 0.75),),
            obj="label",
            description="sticks a label on the box front; moves like 'Scan Label'",
        ),
    ),
    (
        700,
        Action(
            "Scan Label",
            ((0.25, _BOX_FRONT), (0.75, _BOX_FRONT)),
            (2.5, 4.5),
            oscillate=(("r_sh_abd", 6, 2, 0.25, 0.75),),
            obj="scanner",
            events=(("scanner", (0.45, 0.55, 0.6)),),
            description="scans the label with the handheld terminal; only the scanner fires",
        ),
    ),
    (
        800,
        Action(
            "Attach Shipping Label",
            ((0.15, {"yaw": -45, **_arm("r", 60, 5, 40)}), (0.45, {"yaw": 0, **_BOX_FRONT}), (0.8, _BOX_FRONT)),
            (3.0, 6.0),
            obj="label",
            events=(("printer", (0.08,)),),
            description="takes the printed shipping label and sticks it on; the printer fires",
        ),
    ),
    (
        900,
        Action(
            "Put on Back Table",
            (
                (0.3, {"yaw": 150, **_arm("l", 60, 10, 30), **_arm("r", 60, 10, 30)}),
                (0.55, {"yaw": 170, "spine_bend": 25, **_arm("l", 50, 10, 10), **_arm("r", 50, 10, 10)}),
                (0.85, {"yaw": 0}),
            ),
            (3.0, 5.0),
            obj="box",
            obj_window=(0.0, 0.6),
            hand="fixed",
            description="turns round and puts the box on the back table",
        ),
    ),
    (
        1000,
        Action(
            "Fill out Order",
            ((0.15, {**_TABLE, **_arm("r", 45, 10, 80)}), (0.85, {**_TABLE, **_arm("r", 45, 10, 80)})),
            (4.0, 8.0),
            oscillate=(("r_sh_abd", 4, 8, 0.15, 0.85), ("r_elbow", 5, 11, 0.15, 0.85)),
            obj="pen",
            description="writes on the order sheet",
        ),
    ),
)
PACKAGING_NULL_ID = 8100
IDLE = Action("idle", ((0.5, {}),), (1.0, 3.0), hand="fixed", description="stands, shifting weight")


# --- trajectories --------------------------------------------------------------------


def _smoothstep(x: np.ndarray) -> np.ndarray:
    return x * x * (3.0 - 2.0 * x)


def _key_track(keys: list, u: np.ndarray) -> np.ndarray:
    """Piecewise smoothstep through (u_k, value_k) keys, held flat outside them."""
    us = np.array([k for k, _ in keys])
    vs = np.array([v for _, v in keys])
    seg = np.clip(np.searchsorted(us, u, side="right") - 1, 0, len(us) - 2)
    span = np.maximum(us[seg + 1] - us[seg], 1e-9)
    w = _smoothstep(np.clip((u - us[seg]) / span, 0.0, 1.0))
    return vs[seg] + (vs[seg + 1] - vs[seg]) * w


def mirror_control(name: str) -> tuple[str, float]:
    """Left/right swap of a control and the sign its value takes in the mirror."""
    if name.startswith("l_"):
        return "r_" + name[2:], 1.0
    if name.startswith("r_"):
        return "l_" + name[2:], 1.0
    return name, (-1.0 if name in ("yaw", "spine_twist", "root_x") else 1.0)


def trajectories(
    action: Action,
    num_frames: int,
    amplitude: float,
    rng: np.random.Generator,
    mirror: bool = False,
    start_pose: dict | None = None,
    end_pose: dict | None = None,
) -> dict:
    """Control values [T] for one instance of ``action``.

    Per instance: the phase is warped smoothly (speed varies within the action), key
    values are scaled by ``amplitude`` and jittered, oscillations get a random phase.
    ``start_pose`` and ``end_pose`` replace the rest pose at u = 0 and u = 1 for the
    controls the action leaves free there (so a workflow stays continuous, and an idle
    spell can hold a seated pose).
    """
    t = np.linspace(0.0, 1.0, num_frames)
    bend = rng.uniform(-0.08, 0.08)
    u = np.clip(t + bend * np.sin(np.pi * t), 0.0, 1.0)  # monotone warp, fixed ends
    start_pose, end_pose = start_pose or {}, end_pose or {}
    out = {}
    # sorted: a set of strings iterates in an order that changes from process to process
    # (hash randomisation), and each control draws from rng in turn
    for control in sorted(action.controls() | set(start_pose) | set(end_pose)):
        keys = [(0.0, start_pose.get(control, REST))]
        for k, pose in action.keys:
            if control in pose:
                value = pose[control] * amplitude + rng.normal(0.0, 3.0 if not control.startswith("root") else 0.01)
                keys.append((k, value))
        if keys[-1][0] < 1.0:
            keys.append((1.0, end_pose.get(control, REST)))
        keys = sorted(dict(keys).items())
        track = _key_track(keys, u) if len(keys) > 1 else np.full(num_frames, keys[0][1])
        for c, amp, cycles, s, e in action.oscillate:
            if c == control:
                inside = np.clip((u - s) / max(e - s, 1e-9), 0.0, 1.0)
                envelope = np.sin(np.pi * inside)  # fades in and out
                track = track + amp * amplitude * envelope * np.sin(2 * np.pi * cycles * inside + rng.uniform(0, 0.5))
        out[control] = track
    if mirror:
        out = {mirror_control(c)[0]: v * mirror_control(c)[1] for c, v in out.items()}
    return out


def final_pose(action: Action) -> dict:
    """Control values an action ends in (non-zero only for actions that end elsewhere)."""
    for u, pose in action.keys:
        if u == 1.0:
            return dict(pose)
    return {}

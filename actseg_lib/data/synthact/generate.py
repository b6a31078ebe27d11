"""Assembling SynthAct: trimmed recognition clips and untrimmed workflows, presets,
splits and the on-disk cache.

Every sample draws from its own random stream, seeded by (seed, kind, its index), so a
sample does not depend on how many were generated before it or in which chunk.

Dials (:data:`DIALS`) turn one property of a world up or down. At its default
a dial changes nothing, bit for bit: a dial that needs randomness draws it from a stream
of its own, and only when it is away from its default.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path

import numpy as np

from ...versions import SYNTHACT
from ..sample import Sample
from ..store import SampleStore, write_store
from .actions import (
    COMPLEMENTARY_PAIRS,
    IDLE,
    PACKAGING,
    RECOGNITION_FULL,
    RECOGNITION_REDUCED,
    Action,
    _smoothstep,
    final_pose,
    trajectories,
)
from .body import Subject, forward_kinematics
from .render import render
from .views import IMU_SENSORS, VIEWS, imu_signals

# bump actseg_lib/versions.py SYNTHACT when generation changes: caches are rebuilt and runs re-keyed
DATA_VERSION = SYNTHACT
KINDS = ("clips", "packaging", "daily")
SPATIAL_CUES = ("mixed", "absolute", "relative", "motion")


@dataclass(frozen=True)
class Dial:
    """A generator parameter that turns one property of the world up or down."""

    description: str
    kinds: tuple  # the kinds it applies to
    expected: str  # the values it takes (for error messages)


DIALS = {
    "event_informativeness": Dial(
        "share of scanner/printer events inside the operation they mark; the rest, and as many "
        "distractors, fire at random frames",
        ("packaging",),
        "a number in [0, 1] (1: today)",
    ),
    "boundary_ambiguity": Dial(
        "how gradually one action blends into the next: a cross-fade over this share of the shorter neighbour",
        ("packaging", "daily"),
        "a number in [0, 1] (0: today)",
    ),
    "duration_spread": Dial(
        "how widely action lengths vary: 0 all alike, 1 today, 2 every ratio to the typical length squared",
        ("packaging", "daily"),
        "a number >= 0 (1: today)",
    ),
    "spatial_cue": Dial(
        "which spatial property carries the class: mixed (today), absolute (where the body stands), "
        "relative (its posture) or motion (where it travels)",
        ("daily",),
        f"one of {', '.join(SPATIAL_CUES)} (mixed: today)",
    ),
    "modality_complementarity": Dial(
        "classes only RGB and skeleton together separate: round(x * 6) of the pairs in COMPLEMENTARY_PAIRS "
        "become XOR-coded (the skeleton shows which of two motions, RGB which of two objects, the body held still)",
        ("clips",),
        "a number in [0, 1] (0: today)",
    ),
    "informative_region": Dial(
        "how small and mobile the held object is: its size scaled by 1 - 0.6 x, its place off the hand by a "
        "per-clip offset drifting over the clip, both scaled by x",
        ("clips",),
        "a number in [0, 1] (0: today)",
    ),
}


@dataclass(frozen=True)
class SynthActConfig:
    """Everything that determines a SynthAct dataset (and its cache key)."""

    preset: str = "reduced"
    seed: int = 0
    fps: float = 30.0
    num_subjects: int = 8
    views: tuple = (0, 1, 2)
    # trimmed clips (recognition)
    vocabulary: str = "reduced"  # "reduced" (12 classes) or "full" (60)
    # performances per (class, subject), each seen from every view; with one, a model
    # trained from scratch has too few clips to learn anything from RGB
    repetitions: int = 3
    clip_frames: int = 16
    image_size: int = 48
    # untrimmed workflows (segmentation)
    packaging_sessions: int = 16
    boxes_per_session: int = 2
    daily_sequences: int = 32
    actions_per_sequence: tuple = (6, 10)
    daily_rgb: bool = False  # render RGB for daily sequences (costly for long sequences)
    shard_size: int = 256
    # dials (DIALS): each default is today's world, bit for bit
    # packaging: each true event stays in its operation with this probability, else moves
    # to a random frame; round((1 - x) * events) distractors fire at random frames
    event_informativeness: float = 1.0
    # cross-fade the control tracks over round(x * min(previous, next length) / 2) frames
    # either side of every step boundary (labels unchanged)
    boundary_ambiguity: float = 0.0
    # step lengths d -> M * (d / M) ** x, M the geometric mean of the world's typical lengths
    duration_spread: float = 1.0
    # daily: which spatial cue carries the class (SPATIAL_CUES; see _one_cue_world)
    spatial_cue: str = "mixed"
    # clips: the first round(x * 6) pairs of COMPLEMENTARY_PAIRS XOR-coded (_complementary_clip)
    modality_complementarity: float = 0.0
    # clips: held objects scaled by 1 - 0.6 x and moved off the hand (_object_placement)
    informative_region: float = 0.0

    def __post_init__(self):
        unit_dials = ("event_informativeness", "boundary_ambiguity", "modality_complementarity", "informative_region")
        for name in (*unit_dials, "duration_spread"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ValueError(f"{name}: expected {DIALS[name].expected}, got {value!r}")
            # 2 and 2.0 are one world: one cache key
            object.__setattr__(self, name, float(value))
        for name in unit_dials:
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name}: expected {DIALS[name].expected}, got {getattr(self, name)!r}")
        if not 0.0 <= self.duration_spread < float("inf"):
            raise ValueError(
                f"duration_spread: expected {DIALS['duration_spread'].expected}, got {self.duration_spread!r}"
            )
        if self.spatial_cue not in SPATIAL_CUES:
            raise ValueError(f"spatial_cue: expected {DIALS['spatial_cue'].expected}, got {self.spatial_cue!r}")


DIAL_DEFAULTS = {f.name: f.default for f in fields(SynthActConfig) if f.name in DIALS}


def changed_dials(config: SynthActConfig) -> dict:
    """The dials of ``config`` away from their defaults."""
    return {name: getattr(config, name) for name, default in DIAL_DEFAULTS.items() if getattr(config, name) != default}


def check_dials(config: SynthActConfig, kind: str) -> None:
    """A dial away from its default must apply to ``kind``."""
    for name in changed_dials(config):
        if kind not in DIALS[name].kinds:
            raise ValueError(f"{name} applies to {' and '.join(DIALS[name].kinds)}, not to {kind}")


PRESETS = {
    "reduced": SynthActConfig(),
    "full": SynthActConfig(
        preset="full",
        num_subjects=40,
        vocabulary="full",
        repetitions=5,
        image_size=112,
        packaging_sessions=200,
        boxes_per_session=10,
        daily_sequences=1000,
        actions_per_sequence=(15, 25),
        shard_size=128,
    ),
}


def vocabulary(config: SynthActConfig) -> tuple[Action, ...]:
    return RECOGNITION_FULL if config.vocabulary == "full" else RECOGNITION_REDUCED


def _rng(config: SynthActConfig, kind: str, *index: int) -> np.random.Generator:
    return np.random.default_rng([config.seed, KINDS.index(kind), *index])


# fixed tags of the dials' own random streams (never renumber: they decide the data)
_DIAL_STREAMS = {
    "event_informativeness": 101,
    "spatial_cue": 104,
    "modality_complementarity": 105,
    "informative_region": 106,
}


def _dial_rng(config: SynthActConfig, kind: str, index: int | tuple, dial: str) -> np.random.Generator:
    """A dial's own stream, so that the sample's main stream draws as without the dial;
    ``index``: a workflow's index or a clip's (class, subject, repetition)."""
    index = index if isinstance(index, tuple) else (index,)
    return np.random.default_rng([config.seed, KINDS.index(kind), *index, _DIAL_STREAMS[dial]])


def _subject(config: SynthActConfig, subject_id: int) -> Subject:
    return Subject.sample(subject_id, config.seed)


def _place(tracks: dict, rng: np.random.Generator) -> dict:
    """Stand the subject at a slightly random spot and heading."""
    tracks = dict(tracks)
    for name, spread in (("root_x", 0.2), ("root_z", 0.2), ("yaw", 12.0)):
        tracks[name] = tracks.get(name, 0.0) + rng.uniform(-spread, spread)
    return tracks


def _frames(duration_s: float, fps: float) -> int:
    return max(int(round(duration_s * fps)), 4)


def _acting_hand(action: Action, subject: Subject) -> tuple[str, bool]:
    mirror = subject.left_handed and action.hand == "right"
    return ("left" if mirror else "right"), mirror


def _observe(positions: np.ndarray, view: int, image_size: int, rng: np.random.Generator):
    """Camera-frame 3D joints with sensor jitter, and their 2D projection."""
    camera = VIEWS[view]
    cam = camera.to_camera(positions) + rng.normal(0, 0.004, size=positions.shape)
    return cam.astype(np.float32), camera.project(cam, image_size).astype(np.float32)


# --- trimmed clips -----------------------------------------------------------------------


def clip_index(config: SynthActConfig) -> list[tuple[int, int, int]]:
    """(class, subject, repetition) of every performance, in generation order."""
    return [
        (c, s, r)
        for s in range(config.num_subjects)
        for c in range(len(vocabulary(config)))
        for r in range(config.repetitions)
    ]


def complementary_pairs(config: SynthActConfig) -> tuple:
    """The rows of COMPLEMENTARY_PAIRS XOR-coded at the config's modality_complementarity
    x: the first round(6 x) (halves round up: 0.25 converts two)."""
    count = int(np.floor(config.modality_complementarity * len(COMPLEMENTARY_PAIRS) + 0.5))
    return COMPLEMENTARY_PAIRS[:count]


_BY_NAME = {a.name: a for a in RECOGNITION_FULL}
# a converted pair's object: a square of its colour (what tells it apart), large enough
# (about 6 x 6 pixels at 48) to stay clearly visible on the busy background
PATCH_SIZE = (0.3, 0.3)


def _complementary_draw(pair: tuple, name: str, rng: np.random.Generator) -> tuple[Action, str]:
    """The motion and object of a clip of class ``name`` in a converted pair.

    The pair's rule: motion A with object A or motion B with object B is class P, the
    other two combinations Q. The motion is drawn at random; the object is then the one
    the clip's class calls for. Each class sees both motions and both objects equally
    often, so neither alone tells P from Q (and the classes stay balanced, unlike drawing
    both and reading off the label).
    """
    p, _, motion_a, motion_b, object_a, object_b = pair
    first = bool(rng.random() < 0.5)
    same = name == p  # P pairs each motion with its own object
    obj = (object_a if first else object_b) if same else (object_b if first else object_a)
    return _BY_NAME[motion_a if first else motion_b], obj


def _object_placement(config: SynthActConfig, index: tuple, u: np.ndarray) -> tuple[float, np.ndarray | None]:
    """The informative_region dial at level x: the object's size factor 1 - 0.6 x (width
    and height, so its area goes down to 0.16 of today's), and its [T, 2] offset from the
    hand's tip in the image plane (metres; x right, y down):

        x * (o + d * (u - 1/2)),

    o uniform in a disc of radius 0.4 m and d of length 0.3 m in a uniform direction, drawn
    per performance from the dial's stream; u the phase of each kept frame. Where the
    informative pixels are thus changes from clip to clip and drifts within a clip.
    (1.0, None) at x = 0: today's object, at the tip.
    """
    x = config.informative_region
    if x == 0.0:
        return 1.0, None
    rng = _dial_rng(config, "clips", index, "informative_region")
    radius, angle, heading = 0.4 * np.sqrt(rng.random()), rng.uniform(0, 2 * np.pi), rng.uniform(0, 2 * np.pi)
    start = radius * np.array([np.cos(angle), np.sin(angle)])
    drift = 0.3 * np.array([np.cos(heading), np.sin(heading)])
    return 1.0 - 0.6 * x, x * (start + drift * (u[:, None] - 0.5))  # [T, 2]


def make_clips(config: SynthActConfig, cls: int, subject_id: int, rep: int) -> list[Sample]:
    """One performance of class ``cls``, seen from every view: ``len(views)`` clips.

    In a pair XOR-coded by modality_complementarity (:func:`complementary_pairs`) the
    skeleton performs the drawn motion while RGB shows the body held still in its rest
    pose where the subject stands (not its mean pose over the clip, which would tell the
    motion apart) and the drawn object as a square patch (PATCH_SIZE) of its colour fixed at the rest pose's dominant hand,
    visible throughout: the motion is seen only in the skeleton, the object only in RGB.
    Both motions last as the pair's first class does, so the clip's length tells neither.
    """
    check_dials(config, "clips")
    actions = vocabulary(config)
    action = actions[cls]
    rng = _rng(config, "clips", cls, subject_id, rep)
    subject = _subject(config, subject_id)
    pair = next((row for row in complementary_pairs(config) if action.name in row[:2]), None)
    performed, obj, duration = action, action.obj, action.duration
    if pair is not None:
        dial_rng = _dial_rng(config, "clips", (cls, subject_id, rep), "modality_complementarity")
        performed, obj = _complementary_draw(pair, action.name, dial_rng)
        duration = _BY_NAME[pair[0]].duration
    hand, mirror = _acting_hand(performed, subject)
    n = _frames(rng.uniform(*duration) / subject.speed, config.fps)
    motion = trajectories(performed, n, subject.amplitude, rng, mirror=mirror)
    tracks = _place(motion, rng)
    positions, _ = forward_kinematics(tracks, subject)
    keep = np.round(np.linspace(0, n - 1, config.clip_frames)).astype(int)  # uniform temporal sampling
    u = keep / (n - 1)
    visible = (u >= action.obj_window[0]) & (u <= action.obj_window[1])
    drawn = positions[keep]  # [T, J, 3] the body RGB shows
    if pair is not None:
        hand, visible = ("left" if subject.left_handed else "right"), np.ones(len(keep), bool)
        # where the subject stands and faces, without the motion
        spot = {name: np.full(n, np.mean(tracks[name] - motion.get(name, 0.0))) for name in ("root_x", "root_z", "yaw")}
        drawn = forward_kinematics(spot, subject)[0][keep]
    obj_scale, obj_offset = _object_placement(config, (cls, subject_id, rep), u)
    samples = []
    for view in config.views:
        view_rng = _rng(config, "clips", cls, subject_id, rep, view)
        cam, sk2d = _observe(positions[keep], view, config.image_size, view_rng)
        drawn_2d, drawn_depth = sk2d, cam[..., 2]
        if pair is not None:
            drawn_cam = VIEWS[view].to_camera(drawn)
            drawn_2d, drawn_depth = VIEWS[view].project(drawn_cam, config.image_size), drawn_cam[..., 2]
        rgb = render(
            drawn_2d,
            drawn_depth,
            VIEWS[view].focal * config.image_size,
            subject.colors,
            obj,
            visible,
            hand,
            config.image_size,
            view_rng,
            obj_size=None if pair is None else PATCH_SIZE,
            obj_scale=obj_scale,
            obj_offset=obj_offset,
        )
        samples.append(
            Sample(
                # NTU's naming (setup, camera, performer, replication, action; counted from 1)
                name=f"S001C{view + 1:03d}P{subject_id + 1:03d}R{rep + 1:03d}A{cls + 1:03d}",
                fps=config.clip_frames / (n / config.fps),
                class_names=tuple(a.name for a in actions),
                label=cls,
                skeleton3d=cam[:, None],
                skeleton2d=sk2d[:, None],
                rgb=rgb,
                subject=subject_id,
                view=view,
                meta={
                    "image_size": config.image_size,
                    "object": obj,
                    "source_frames": int(n),
                    "left_handed": subject.left_handed,
                    "setup": 1,
                    "replication": rep + 1,
                    **({"motion": performed.name} if pair is not None else {}),
                },
            )
        )
    return samples


# --- untrimmed workflows ---------------------------------------------------------------

PACKAGING_CLASSES = tuple(a.name for _, a in PACKAGING) + ("Null",)
PACKAGING_IDS = tuple(i for i, _ in PACKAGING) + (8100,)
NULL = len(PACKAGING)  # index of Null in PACKAGING_CLASSES


def packaging_plan(rng: np.random.Generator, boxes: int) -> list[int]:
    """Operation indices of one session, Null gaps as ``NULL``: the packaging grammar.

    Per box the ten operations in their usual order; relocating labels, attaching the
    box label and putting the box on the back table are sometimes skipped; items are
    inserted in one to three goes and labels sometimes scanned twice; Null gaps fall
    between operations.
    """
    plan = [NULL]
    for _ in range(boxes):
        for op in range(len(PACKAGING)):
            name = PACKAGING[op][1].name
            if name in ("Relocate Item Label", "Attach Box Label", "Put on Back Table") and rng.random() < 0.1:
                continue
            repeats = {"Insert Items": rng.integers(1, 4), "Scan Label": 1 + (rng.random() < 0.25)}.get(name, 1)
            plan += [op] * int(repeats)
            if rng.random() < 0.35:
                plan.append(NULL)
    return plan + [NULL]


def _daily_vocabulary(config: SynthActConfig) -> list[int]:
    """Classes that start and end standing on the spot (or sit down, paired below; not
    where one spatial cue carries the class, as sitting changes the pose that follows)."""
    actions = vocabulary(config)
    moving = {"step", "turn", "kneel", "stand up"} | ({"sit down"} if config.spatial_cue != "mixed" else set())
    return [i for i, a in enumerate(actions) if not any(a.name.startswith(m) for m in moving)]


def daily_plan(rng: np.random.Generator, config: SynthActConfig) -> list[int]:
    """Class indices of one daily sequence, -1 for idle: actions separated by idle;
    'sit down' is always followed (after an idle spell, seated) by 'stand up'."""
    actions = vocabulary(config)
    allowed = _daily_vocabulary(config)
    # in the one-cue worlds 'sit down' is not allowed, so 'stand up' is never appended
    sit, stand = [i for i, a in enumerate(actions) if a.name in ("sit down", "stand up")]
    plan = [-1]
    for _ in range(rng.integers(*config.actions_per_sequence, endpoint=True)):
        cls = int(rng.choice(allowed))
        plan += [cls, -1] + ([stand, -1] if cls == sit else [])
    return plan


def _perform(
    plan: list[tuple[Action, int | None]],
    subject: Subject,
    fps: float,
    rng: np.random.Generator,
    stretch: Callable[[float], float] | None = None,
):
    """Concatenate the control tracks of a plan of (action, label) steps, continuously.

    ``stretch`` maps each drawn duration (seconds) to the one performed (the
    duration_spread dial). Returns the tracks and each step's (start, end) frames.
    """
    tracks: dict[str, list] = {}
    spans = []
    pose: dict = {}
    t = 0
    for action, _ in plan:
        seconds = rng.uniform(*action.duration)
        if stretch is not None:
            seconds = stretch(seconds)
        n = _frames(seconds / subject.speed, fps)
        _, mirror = _acting_hand(action, subject)
        hold = pose if action is IDLE else None  # idle keeps whatever pose it starts in
        step = trajectories(action, n, subject.amplitude, rng, mirror=mirror, start_pose=pose, end_pose=hold)
        for name in sorted(set(tracks) | set(step)):
            tracks.setdefault(name, [np.zeros(t)])
            tracks[name].append(step.get(name, np.zeros(n)))
        pose = {name: float(values[-1]) for name, values in step.items()}
        end = final_pose(action)
        pose = {k: v for k, v in pose.items() if abs(v) > 1e-6 or k in end}
        spans.append((t, t + n))
        t += n
    return {k: np.concatenate(v) for k, v in tracks.items()}, spans


def _duration_stretch(config: SynthActConfig, kind: str) -> Callable[[float], float] | None:
    """d -> M * (d / M) ** spread, M the geometric mean of the typical (mid-range) durations
    of the world's vocabulary and idle; None at spread 1 (today's durations)."""
    spread = config.duration_spread
    if spread == 1.0:
        return None
    if kind == "packaging":
        actions = [a for _, a in PACKAGING]
    else:
        actions = [vocabulary(config)[i] for i in _daily_vocabulary(config)]
    typical = float(np.exp(np.mean([np.log(sum(a.duration) / 2) for a in actions + [IDLE]])))
    return lambda seconds: typical * (seconds / typical) ** spread


def _cross_fade(tracks: dict, spans: list, ambiguity: float) -> dict:
    """The boundary_ambiguity dial: around each boundary b between steps, over w frames
    either side, fade from the previous step (held at its last value after b) into the
    next (held at its first value before b) with a smoothstep weight.

    w = round(ambiguity * min(previous, next length) / 2), at most half the shorter
    step, so the windows of neighbouring boundaries never overlap.
    """
    if ambiguity == 0.0:
        return tracks
    out = {name: values.copy() for name, values in tracks.items()}
    for (a, b), (_, c) in zip(spans, spans[1:]):
        shorter = min(b - a, c - b)
        w = min(int(round(ambiguity * 0.5 * shorter)), shorter // 2)
        if w == 0:
            continue
        t = np.arange(b - w, b + w)
        weight = _smoothstep((t - (b - w) + 0.5) / (2 * w))  # rises from ~0 to ~1 across the window
        for name, values in tracks.items():
            previous = np.where(t < b, values[t], values[b - 1])
            following = np.where(t >= b, values[t], values[b])
            out[name][b - w : b + w] = (1.0 - weight) * previous + weight * following
    return out


def _one_cue_world(plan, subject: Subject, config: SynthActConfig, rng, dial_rng, stretch):
    """A daily world in which one spatial cue carries the class (the spatial_cue dial).

    absolute: the body performs a random action of the vocabulary, label-independent, at
        a spot of its class (radius 0.6 m, angle 2 pi k / K; idle at the centre);
    relative: it holds its class's posture (its movement at mid-phase) at a random spot
        (uniform +-0.6 m);
    motion: a random action, while the body travels at 0.4 m/s in a direction of its class;
        the path's midpoint is uniform in +-0.5 m (a random start instead would put the
        segment's mean position along the class direction, so position would tell the
        class); idle stands still at a random spot.
    """
    cue = config.spatial_cue
    actions = vocabulary(config)
    allowed = _daily_vocabulary(config)
    if cue == "relative":
        performed = plan
    else:
        performed = [
            (action if label == 0 else actions[int(dial_rng.choice(allowed))], label) for action, label in plan
        ]
    tracks, spans = _perform(performed, subject, config.fps, rng, stretch)
    num_frames = spans[-1][1]
    for name in ("root_x", "root_z"):
        tracks.setdefault(name, np.zeros(num_frames))
    for (_, label), (a, b) in zip(plan, spans):
        angle = 2 * np.pi * allowed.index(label - 1) / len(allowed) if label else 0.0
        direction = np.array([np.cos(angle), np.sin(angle)])
        if cue == "absolute":
            offset = 0.6 * direction if label else np.zeros(2)
        elif cue == "relative":
            offset = dial_rng.uniform(-0.6, 0.6, size=2)
            if label:
                for values in tracks.values():
                    values[a:b] = values[(a + b) // 2]
                for name in ("root_x", "root_z"):  # where the body stands is not its posture
                    tracks[name][a:b] = 0.0
        else:
            offset = dial_rng.uniform(-0.5, 0.5, size=2)
            if label:
                seconds = (np.arange(a, b) - (a + b - 1) / 2) / config.fps
                offset = offset + 0.4 * seconds[:, None] * direction  # [b - a, 2]
        tracks["root_x"][a:b] += offset[..., 0]
        tracks["root_z"][a:b] += offset[..., 1]
    return tracks, spans


def _blur_events(events: dict, num_frames: int, informativeness: float, rng) -> dict:
    """The event_informativeness dial: each event stays with probability x, else moves to
    a uniformly random frame; round((1 - x) * events) distractors (of a random name among
    those present) fire at uniformly random frames."""
    names = sorted(events)
    if not names:
        return events
    out = {name: events[name].copy() for name in names}
    for name in names:
        moved = rng.random(len(out[name])) >= informativeness
        out[name][moved] = rng.integers(0, num_frames, size=int(moved.sum()))
    count = sum(len(v) for v in events.values())
    for _ in range(int(round((1.0 - informativeness) * count))):
        name = names[rng.integers(len(names))]
        out[name] = np.append(out[name], rng.integers(num_frames))
    return {name: np.sort(frames).astype(np.int64) for name, frames in out.items()}


def _events(plan, spans, subject: Subject, rng: np.random.Generator) -> dict[str, np.ndarray]:
    out: dict[str, list] = {}
    for (action, _), (a, b) in zip(plan, spans):
        for name, phases in action.events:
            for u in phases:
                frame = a + int(round(u * (b - a - 1))) + int(rng.integers(-1, 2))
                out.setdefault(name, []).append(min(max(frame, a), b - 1))
    return {k: np.array(sorted(v), dtype=np.int64) for k, v in out.items()}


def make_workflow(config: SynthActConfig, kind: str, index: int) -> Sample:
    """One untrimmed sequence: a packaging session or a daily-activity sequence."""
    check_dials(config, kind)
    rng = _rng(config, kind, index)
    subject_id = index % config.num_subjects
    subject = _subject(config, subject_id)
    if kind == "packaging":
        view = 0  # a front camera, like OpenPack's Kinect
        plan = [(IDLE if op == NULL else PACKAGING[op][1], op) for op in packaging_plan(rng, config.boxes_per_session)]
        class_names = PACKAGING_CLASSES
    else:
        view = config.views[index % len(config.views)]
        actions = vocabulary(config)
        plan = [(IDLE, 0) if c < 0 else (actions[c], c + 1) for c in daily_plan(rng, config)]
        class_names = ("idle",) + tuple(a.name for a in actions)
    stretch = _duration_stretch(config, kind)
    if config.spatial_cue != "mixed":
        tracks, spans = _one_cue_world(
            plan, subject, config, rng, _dial_rng(config, kind, index, "spatial_cue"), stretch
        )
    else:
        tracks, spans = _perform(plan, subject, config.fps, rng, stretch)
    tracks = _cross_fade(tracks, spans, config.boundary_ambiguity)
    positions, rotations = forward_kinematics(_place(tracks, rng), subject)
    num_frames = len(positions)
    labels = np.empty(num_frames, dtype=np.int64)
    boundaries = np.zeros(num_frames, dtype=np.uint8)
    for (_, label), (a, b) in zip(plan, spans):
        labels[a:b] = label
        boundaries[a] = 1  # every action start, repeats of the same class included
    cam, sk2d = _observe(positions, view, config.image_size, rng)
    rgb = None
    if kind == "daily" and config.daily_rgb:
        rgb = render(
            sk2d,
            cam[..., 2],
            VIEWS[view].focal * config.image_size,
            subject.colors,
            None,
            np.zeros(num_frames, bool),
            "right",
            config.image_size,
            rng,
        )
    imu = imu_signals(positions, rotations, config.fps, rng) if kind == "packaging" else None
    events = _events(plan, spans, subject, rng) if kind == "packaging" else {}
    if config.event_informativeness != 1.0:
        events = _blur_events(
            events, num_frames, config.event_informativeness, _dial_rng(config, kind, index, "event_informativeness")
        )
    return Sample(
        name=f"{kind}_{index:05d}",
        fps=config.fps,
        class_names=class_names,
        frame_labels=labels,
        boundaries=boundaries,
        skeleton3d=cam[:, None],
        skeleton2d=sk2d[:, None],
        rgb=rgb,
        imu=imu,
        imu_names=tuple(s[0] for s in IMU_SENSORS) if imu is not None else (),
        events=events,
        subject=subject_id,
        view=view,
        meta={
            "image_size": config.image_size,
            **(
                {"openpack_ids": list(PACKAGING_IDS), "null_index": NULL}
                if kind == "packaging"
                else {"background_index": 0}
            ),
        },
    )


# --- datasets on disk ------------------------------------------------------------------


def config_for(preset, **overrides) -> SynthActConfig:
    base = preset if isinstance(preset, SynthActConfig) else PRESETS[preset]
    return replace(base, **overrides)


def cache_key(config: SynthActConfig, kind: str) -> str:
    # a dial enters the key only away from its default, so caches made before the dials stay valid
    settings = {name: value for name, value in asdict(config).items() if name not in DIAL_DEFAULTS}
    blob = json.dumps({"kind": kind, "version": DATA_VERSION, **settings, **changed_dials(config)}, sort_keys=True)
    return f"{kind}-{config.preset}-{hashlib.sha256(blob.encode()).hexdigest()[:12]}"


def default_cache_dir() -> Path:
    return Path(os.environ.get("ACTSEG_DATA", Path.home() / ".cache" / "actseg")) / "synthact"


def _count(config: SynthActConfig, kind: str) -> int:
    if kind == "clips":
        return len(clip_index(config))  # performances; each gives len(views) clips
    return config.packaging_sessions if kind == "packaging" else config.daily_sequences


def _job(config: SynthActConfig, kind: str, job) -> list[Sample]:
    return make_clips(config, *job) if kind == "clips" else [make_workflow(config, kind, job)]


def _shards(config: SynthActConfig, kind: str, progress: bool, workers: int):
    """Samples in shards of about ``shard_size``, made by ``workers`` processes in order."""
    from concurrent.futures import ProcessPoolExecutor
    from functools import partial

    from tqdm.auto import tqdm

    total = _count(config, kind)
    jobs = clip_index(config) if kind == "clips" else range(total)
    make = partial(_job, config, kind)
    pool = ProcessPoolExecutor(workers) if workers > 1 else None
    results = pool.map(make, jobs, chunksize=4) if pool else map(make, jobs)
    shard: list[Sample] = []
    try:
        for samples in tqdm(results, total=total, desc=f"SynthAct {kind} ({config.preset})", disable=not progress):
            shard += samples
            if len(shard) >= config.shard_size:
                yield shard
                shard = []
        if shard:
            yield shard
    finally:
        if pool:
            pool.shutdown(cancel_futures=True)


def load(
    kind: str, preset="reduced", cache_dir=None, progress: bool = True, workers: int | None = None, **overrides
) -> SampleStore:
    """The SynthAct dataset ``kind`` ("clips", "packaging" or "daily") of a preset.

    Generated on first use, in shards (never all in memory), and cached under
    ``cache_dir`` (default ``$ACTSEG_DATA/synthact`` or ``~/.cache/actseg/synthact``)
    keyed by the full configuration, so any change of setting regenerates.
    ``workers`` processes generate in parallel (default: one per CPU core); the result
    does not depend on their number.
    """
    if kind not in KINDS:
        raise ValueError(f"kind: expected one of {KINDS}, got {kind!r}")
    config = config_for(preset, **overrides)
    check_dials(config, kind)
    root = Path(cache_dir or default_cache_dir()) / cache_key(config, kind)
    if (root / "manifest.json").exists():
        return SampleStore(root)
    workers = workers or os.cpu_count() or 1
    return write_store(_shards(config, kind, progress, workers), root, {"kind": kind, **asdict(config)})


def split(store, protocol: str = "xsub", val_fraction: float = 0.15, seed: int = 0) -> dict[str, np.ndarray]:
    """Indices of train / val / test samples.

    ``xsub``: subjects with odd ids train, even ids test (NTU's cross-subject idea);
    ``xview``: views 1 and 2 train, view 0 test (NTU's cross-view). The validation set
    is carved out of train: whole subjects for xsub, a random fraction for xview. It
    is for model selection; the test split is never used for it.
    """
    records = store.records() if hasattr(store, "records") else [{"subject": s.subject, "view": s.view} for s in store]
    subjects = np.array([r["subject"] for r in records])
    views = np.array([r["view"] for r in records])
    rng = np.random.default_rng(seed)
    if protocol == "xsub":
        train_mask = subjects % 2 == 1
        train_subjects = np.unique(subjects[train_mask])
        n_val = max(1, int(round(val_fraction * len(train_subjects))))
        val_subjects = rng.choice(train_subjects, size=n_val, replace=False)
        val_mask = np.isin(subjects, val_subjects)
        train_mask &= ~val_mask
        test_mask = subjects % 2 == 0
    elif protocol == "xview":
        test_mask = views == 0
        candidates = np.flatnonzero(~test_mask)
        val = rng.choice(candidates, size=max(1, int(round(val_fraction * len(candidates)))), replace=False)
        val_mask = np.isin(np.arange(len(records)), val)
        train_mask = ~test_mask & ~val_mask
    else:
        raise ValueError(f"protocol: expected 'xsub' or 'xview', got {protocol!r}")
    return {
        name: np.flatnonzero(mask) for name, mask in (("train", train_mask), ("val", val_mask), ("test", test_mask))
    }

"""SynthAct: a procedural world of one simulated body seen through every modality the
four papers use (RGB, 2D/3D skeleton, heat maps, IMUs, sparse IoT events), as trimmed
recognition clips and untrimmed workflows.

    from actseg_lib.data import synthact
    clips = synthact.load("clips", "reduced")        # a sequence of Samples, cached on disk
    sessions = synthact.load("packaging", "reduced")
    parts = synthact.split(clips, "xsub")            # train / val / test indices
    synthact.load("daily", spatial_cue="relative")   # a dial turned (see DIALS)
    synthact.load("clips", modality_complementarity=1.0)
"""

from ..heatmaps import joint_heatmaps
from .actions import COMPLEMENTARY_PAIRS, CONFUSABLE_PAIRS, PACKAGING, RECOGNITION_FULL, RECOGNITION_REDUCED
from .generate import (
    DIAL_DEFAULTS,
    DIALS,
    KINDS,
    PACKAGING_CLASSES,
    PACKAGING_IDS,
    PRESETS,
    SPATIAL_CUES,
    SynthActConfig,
    check_dials,
    complementary_pairs,
    load,
    make_clips,
    make_workflow,
    split,
)
from .views import VIEWS

__all__ = [
    "COMPLEMENTARY_PAIRS",
    "CONFUSABLE_PAIRS",
    "DIALS",
    "DIAL_DEFAULTS",
    "KINDS",
    "PACKAGING",
    "PACKAGING_CLASSES",
    "PACKAGING_IDS",
    "PRESETS",
    "RECOGNITION_FULL",
    "RECOGNITION_REDUCED",
    "SPATIAL_CUES",
    "SynthActConfig",
    "VIEWS",
    "check_dials",
    "complementary_pairs",
    "joint_heatmaps",
    "load",
    "make_clips",
    "make_workflow",
    "split",
]

"""Training: the trainer, its configuration, checkpoints, distributed set-up, and whole
runs by name (``train_model``, ``evaluate_checkpoint``), and the runs chapters show
(``train_or_load``, ``recorded_arms``)."""

from .arms import recorded_arms, train_or_load, trained_arms, with_seed
from .checkpoint import load_checkpoint, save_checkpoint
from .config import TrainConfig
from .run import (
    cached_run_dir,
    default_runs_dir,
    evaluate_checkpoint,
    load_trained,
    recorded_run,
    summary_line,
    train_model,
)
from .tasks import SegmentationTask
from .trainer import Trainer

__all__ = [
    "SegmentationTask",
    "TrainConfig",
    "Trainer",
    "cached_run_dir",
    "default_runs_dir",
    "evaluate_checkpoint",
    "load_checkpoint",
    "load_trained",
    "recorded_arms",
    "recorded_run",
    "save_checkpoint",
    "summary_line",
    "train_model",
    "train_or_load",
    "trained_arms",
    "with_seed",
]

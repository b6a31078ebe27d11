"""Training: the trainer, its configuration, checkpoints, distributed set-up, and whole
runs by name (``train_model``, ``evaluate_checkpoint``), their keys and records
(``cached_run_dir``, ``recorded_run``), and the runs chapters show (``train_or_load``,
``recorded_arms``)."""

from .arms import recorded_arms, train_or_load, trained_arms, with_seed
from .checkpoint import load_checkpoint, save_checkpoint
from .config import TrainConfig
from .records import cached_run_dir, recorded_run, records_dir, run_key
from .run import default_runs_dir, evaluate_checkpoint, load_trained, summary_line, train_model
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
    "records_dir",
    "run_key",
    "save_checkpoint",
    "summary_line",
    "train_model",
    "train_or_load",
    "trained_arms",
    "with_seed",
]

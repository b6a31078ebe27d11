"""Runs a chapter shows: one run trained or loaded, and the arms of an ablation over seeds.

"Train or load": a run's folder is named after everything that determines it
(:func:`~actseg_lib.engine.records.cached_run_dir`), so training into it with ``resume=True``
trains once and loads afterwards. An ablation arm is a set of overrides of a preset,
run once per seed; its runs are **recorded** (:func:`~actseg_lib.engine.records.recorded_run`:
results kept in the repository, no weights) or, for arms a chapter needs the weights of,
trained or loaded like any other run.
"""

from __future__ import annotations

import numbers
from collections.abc import Mapping, Sequence

from . import records
from . import run as run_module


def with_seed(overrides: Mapping | None, seed: int) -> dict:
    """``overrides`` (sections -> settings) with ``train.seed`` set to ``seed``; the other
    settings, including the rest of the train section, are kept. The input is not changed."""
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise TypeError(f"seed: an integer, got {seed!r}")
    overrides = dict(overrides or {})
    return {**overrides, "train": {**overrides.get("train", {}), "seed": int(seed)}}


def train_or_load(
    name: str,
    data: str,
    size: str = "reduced",
    overrides: Mapping | None = None,
    seed: int | None = None,
    progress: bool = False,
    **train_kwargs,
) -> dict:
    """Train registered model ``name`` on ``data`` (``size`` preset with ``overrides``,
    ``train.seed`` set to ``seed`` when given) in its cached run folder, or load the run
    when that folder holds it finished. Returns :func:`train_model`'s results (with the
    trainer and the dataset). ``train_kwargs``: other arguments of ``train_model``
    (``device``, ``samples``...)."""
    overrides = with_seed(overrides, seed) if seed is not None else dict(overrides or {})
    folder = records.cached_run_dir(name, data, size, overrides)
    return run_module.train_model(
        name, data, size, out_dir=folder, resume=True, overrides=overrides, progress=progress, **train_kwargs
    )


def _check_arms(arms: Mapping[str, Mapping], seeds: Sequence[int]) -> None:
    if not arms:
        raise ValueError("no arms")
    if not seeds:
        raise ValueError("no seeds")
    if len(set(seeds)) != len(seeds):
        raise ValueError(f"seeds repeat: {tuple(seeds)}")
    for arm, overrides in arms.items():
        if not isinstance(overrides, Mapping):
            raise TypeError(f"arm {arm!r}: overrides are a dict of sections, got {type(overrides).__name__}")
        if "seed" in overrides.get("train", {}):
            raise ValueError(f"arm {arm!r} sets train.seed itself; the seeds are given by `seeds`")


def recorded_arms(
    name: str,
    arms: Mapping[str, Mapping],
    data: str,
    size: str = "reduced",
    seeds: Sequence[int] = (0, 1, 2),
    progress: bool = False,
) -> dict[str, list[dict]]:
    """arm -> the recorded results of model ``name`` with the arm's overrides, one per seed
    (in the order of ``seeds``): each read from its record, or trained now and recorded
    (:func:`recorded_run`). ``arms``: arm -> overrides of the ``size`` preset."""
    _check_arms(arms, seeds)
    return {
        arm: [records.recorded_run(name, data, size, with_seed(overrides, seed), progress=progress) for seed in seeds]
        for arm, overrides in arms.items()
    }


def trained_arms(
    name: str,
    arms: Mapping[str, Mapping],
    data: str,
    size: str = "reduced",
    seeds: Sequence[int] = (0, 1, 2),
    progress: bool = False,
    keep_trainers: bool = False,
    **train_kwargs,
) -> dict[str, list[dict]]:
    """Like :func:`recorded_arms`, but every run is trained or loaded in its run folder
    (:func:`train_or_load`) instead of recorded. The results drop their trainer and
    dataset (each holds a model and a copy of the data: many arms would hold many)
    unless ``keep_trainers``; the weights stay in the run folders."""
    _check_arms(arms, seeds)
    runs = {}
    for arm, overrides in arms.items():
        runs[arm] = []
        for seed in seeds:
            results = train_or_load(name, data, size, overrides, seed, progress, **train_kwargs)
            if not keep_trainers:
                results = {k: v for k, v in results.items() if k not in ("trainer", "dataset")}
            runs[arm].append(results)
    return runs

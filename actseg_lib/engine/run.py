"""A whole run from names: the registry's configuration, the data spec, the trainer,
the test evaluation and a results file. ``actseg train`` and ``actseg evaluate`` are thin
wrappers around :func:`train_model` and :func:`evaluate_checkpoint`. Run keys, cached run
folders and recorded runs: :mod:`actseg_lib.engine.records`."""

from __future__ import annotations

import os
import re
import sys
import time
from pathlib import Path

import torch

from ..losses import SegmentationLoss
from ..models.registry import TASKS, build_model, count_parameters, model_config, model_entry
from . import distributed
from .checkpoint import load_checkpoint
from .config import TrainConfig
from .provenance import provenance, write_json
from .tasks import RecognitionTask, SegmentationTask
from .trainer import Trainer


def merge_overrides(config: dict, overrides: dict | None) -> dict:
    """``config`` (sections model/train/data/loss) with ``overrides`` laid over it."""
    merged = {section: dict(values) for section, values in config.items()}
    for section, values in (overrides or {}).items():
        if section not in merged:
            raise ValueError(f"override section {section!r}: expected one of {sorted(merged)}")
        merged[section].update(values)
    return merged


def data_slug(data: str) -> str:
    """A folder-name form of a ``--data`` spec: ``mstcn:/data/50salads`` -> ``mstcn-data-50salads``."""
    return re.sub(r"[^A-Za-z0-9]+", "-", data).strip("-")


def default_runs_dir() -> Path:
    """``$ACTSEG_RUNS``, else ``~/.cache/actseg/runs``: where notebooks keep their runs."""
    return Path(os.environ.get("ACTSEG_RUNS") or Path.home() / ".cache" / "actseg" / "runs")


# the keys of a run's "data" section: what prepare_task_data and make_task read
DATA_KEYS = ("inputs", "sample_rate", "skeleton_origin", "num_frames", "augment", "split")


def prepare_task_data(
    task: str, spec: str, data_config: dict, saved: dict | None = None, samples=None, progress: bool = True
):
    """The task's data object for ``spec``; ``saved``: a checkpoint's data info, whose
    settings (inputs, statistics, frame count) are reused rather than recomputed."""
    settings = saved if saved is not None else data_config
    if task == "segmentation":
        from ..data.prepare import prepare_segmentation

        return prepare_segmentation(
            spec,
            inputs=settings.get("inputs", "auto"),
            sample_rate=settings.get("sample_rate", 1),
            skeleton_origin=settings.get("skeleton_origin", "spine"),
            split=settings.get("split", "auto"),
            stats=(saved["mean"], saved["std"]) if saved else None,
            samples=samples,
            progress=progress,
        )
    if task == "recognition":
        from ..data.prepare import prepare_recognition

        return prepare_recognition(spec, num_frames=settings.get("num_frames", 16), samples=samples, progress=progress)
    raise ValueError(f"task {task!r}: expected one of {TASKS}")


def make_task(entry, data, loss_config: dict, data_config: dict | None = None):
    """The engine task for registry ``entry`` on prepared ``data``: its loss, decoder and
    metrics come from the entry, so the engine names no model."""
    if entry.task == "segmentation":
        return SegmentationTask(
            criterion=(entry.loss or SegmentationLoss)(**loss_config),
            decoder=entry.decoder,
            background=data.background,
            num_classes=data.num_classes,
            fps=data.fps,
            ignore_labels=data.ignore_labels,
            metrics=entry.metrics,
        )
    if entry.task == "recognition":
        return RecognitionTask(augment=bool((data_config or {}).get("augment", False)), **loss_config)
    raise ValueError(f"task {entry.task!r}: expected one of {TASKS}")


def data_model_kwargs(model_class, dataset) -> dict:
    """What the model must be built for, from the data: ``model_kwargs()`` (channels,
    classes, ...) plus, for models that take them, the input layout and frame rate."""
    import inspect

    kwargs = dataset.model_kwargs()
    accepted = set(inspect.signature(model_class).parameters)
    if "input_layout" in accepted and hasattr(dataset, "stream_kwargs"):
        kwargs = {k: v for k, v in kwargs.items() if k in accepted}
        kwargs.update(dataset.stream_kwargs())
    return kwargs


def format_metrics(metrics: dict) -> str:
    keys = [
        k
        for k in ("macro_f1", "acc", "edit", "f1@10", "f1@25", "f1@50", "top1", "top5", "mean_class_acc")
        if k in metrics
    ]
    return " ".join(f"{k} {metrics[k]:.1f}" for k in keys)


def train_model(
    name: str,
    data: str,
    size: str = "reduced",
    out_dir=None,
    resume: bool = False,
    overrides: dict | None = None,
    progress: bool = True,
    samples=None,
    device=None,
    evaluate_test: bool = True,
    tensorboard: bool = False,
) -> dict:
    """Train registered model ``name`` on ``data`` and evaluate it on the test split.

    Nothing is chosen on the test split: training and the choice of the best epoch read
    the training and validation splits only; the test split is read once, after
    :meth:`Trainer.fit` has restored the best validation epoch's weights
    (``tests/test_test_split.py`` checks it sample by sample). ``evaluate_test=False``
    never reads it.

    Writes ``last.pt``, ``best.pt`` and ``results.json`` under ``out_dir`` (rank 0) and
    returns the results dict. ``overrides``: ``{"train": {"epochs": 5}, "model": {...}}``.
    ``resume``: continue from ``out_dir/last.pt`` when present (a finished run is loaded,
    not retrained); ``overrides["train"]["epochs"]`` beyond the checkpoint's extends it
    (without it, the checkpoint's number of epochs holds). ``tensorboard``: also log the
    epochs to ``out_dir/tensorboard``. At the full size on a CPU (with ``progress``) a
    line estimates the time per epoch first. Under ``torchrun`` every rank calls this;
    DDP is set up here.
    """
    if tensorboard:
        from .trainer import require_tensorboard

        require_tensorboard()  # before minutes of data preparation, not after
    info = distributed.init_distributed()
    entry = model_entry(name)
    config = merge_overrides(model_config(name, size), overrides)
    last = Path(out_dir) / "last.pt" if resume and out_dir is not None else None
    saved_train = load_checkpoint(last)["train_config"] if last is not None and last.exists() else None
    if saved_train and "epochs" not in (overrides or {}).get("train", {}):
        config["train"]["epochs"] = saved_train["epochs"]  # resume to the length it was started with
    train_config = TrainConfig.from_dict(config["train"])
    dataset = prepare_task_data(entry.task, data, config["data"], samples=samples, progress=progress and info.is_main)
    model_kwargs = {**config["model"], **data_model_kwargs(entry.model_class, dataset)}
    torch.manual_seed(train_config.seed)  # the same initial weights on every rank and every run
    model = build_model(name, size, **model_kwargs)
    if progress and info.is_main and entry.task == "segmentation":  # what was read, how it was split
        from ..data.prepare import describe

        print(describe(dataset, model), flush=True)
    run_info = {
        "model": name,
        "size": size,
        "task": entry.task,
        "model_config": model_kwargs,
        "loss": config["loss"],
        "data_config": config["data"],
        "data_spec": data,
        "data": dataset.info(),
    }
    trainer = Trainer(
        model,
        make_task(entry, dataset, config["loss"], config["data"]),
        train_config,
        out_dir=out_dir,
        device=device,
        run_info=run_info,
        progress=progress,
        tensorboard=tensorboard,
    )
    if size == "full" and trainer.device.type == "cpu" and progress and info.is_main:
        print(epoch_time_estimate(trainer, dataset.dataset("train")), file=sys.stderr, flush=True)
    started = time.perf_counter()
    val = dataset.dataset("val") if len(dataset.splits.get("val", [])) else None
    trainer.fit(dataset.dataset("train"), val, resume=resume)
    wall = time.perf_counter() - started
    results = {
        "model": name,
        "size": size,
        "task": entry.task,
        "data": data,
        "parameters": count_parameters(model),
        "model_config": model_kwargs,
        "train_config": train_config.to_dict(),
        "loss": config["loss"],
        "data_info": {k: v for k, v in dataset.info().items() if k not in ("mean", "std")},
        "world_size": info.world_size,
        **trainer.summary(),
        "val": trainer.best["metrics"] if trainer.best else None,
    }
    if evaluate_test and len(dataset.splits.get("test", [])):
        t0 = time.perf_counter()
        results["test"] = trainer.evaluate(dataset.dataset("test"), desc="test")
        results["test_time_s"] = time.perf_counter() - t0
    results["wall_time_s"] = wall
    results["history"] = trainer.history
    results["provenance"] = provenance(seed=train_config.seed)
    if out_dir is not None and info.is_main:
        write_json(results, Path(out_dir) / "results.json")
    results["trainer"] = trainer
    results["dataset"] = dataset
    return results


def epoch_time_estimate(trainer, train_set, steps: int = 2) -> str:
    """One line: a training epoch's time here, from ``steps`` timed steps."""
    per_step = trainer.seconds_per_step(train_set, steps)
    per_epoch = per_step * trainer.steps_per_epoch(train_set)
    minutes, seconds = divmod(round(per_epoch), 60)
    took = f"{minutes // 60} h {minutes % 60} min" if minutes >= 60 else f"{minutes} min {seconds} s"
    took = took if minutes else f"{seconds} s"
    return (
        f"full size on a CPU: about {took} per epoch (an estimate: one step took {per_step:.2f} s; "
        f"validation not counted); a GPU is the place for --size full"
    )


def summary_line(results: dict) -> str:
    best = results.get("best") or {}
    parts = [f"{results['model']} ({results['size']}, {results['parameters']:,} parameters) on {results['data']}:"]
    if results.get("test"):
        parts.append(f"test {format_metrics(results['test'])}")
    if best:
        parts.append(f"| best epoch {best['epoch']}/{results['epochs']} (val {best['metric']} {best['value']:.1f})")
    # the recorded training time (epochs summed), the same whether trained now or loaded
    parts.append(f"| trained in {results['train_time_s']:.0f} s")
    return " ".join(parts)


def load_trained(checkpoint, device=None):
    """(model, run_info) from a ``best.pt`` or ``last.pt`` written by the trainer."""
    state = load_checkpoint(checkpoint, map_location="cpu")
    run_info = state.get("run_info") or {}
    if "model" not in run_info or "model_config" not in run_info:
        raise ValueError(f"checkpoint {checkpoint}: no run_info (model name and config); was it written by actseg?")
    model = build_model(run_info["model"], run_info["size"], **run_info["model_config"])
    expected, saved = model.state_dict(), state["model"]
    missing = [k for k in expected if k not in saved]
    unexpected = [k for k in saved if k not in expected]
    reshaped = [k for k in expected if k in saved and saved[k].shape != expected[k].shape]
    if missing or unexpected or reshaped:  # torch would list every key over many lines
        raise ValueError(
            f"checkpoint {checkpoint}: its weights do not fit {run_info['model']} as this version builds it "
            f"({len(missing)} missing, {len(unexpected)} unexpected, {len(reshaped)} of another shape, e.g. "
            f"{(missing + unexpected + reshaped)[0]!r}); retrain, or use the version that wrote it"
        )
    model.load_state_dict(saved)
    model.to(device or "cpu").eval()
    return model, run_info


def evaluate_checkpoint(
    checkpoint, data: str | None = None, split: str = "test", progress: bool = True, out=None, samples=None, device=None
) -> dict:
    """Metrics of a trained checkpoint on ``split`` of ``data`` (default: the data it
    was trained on), with the inputs and normalisation it was trained with."""
    model, run_info = load_trained(checkpoint, device)
    saved = run_info["data"]
    data = data or run_info["data_spec"]
    dataset = prepare_task_data(run_info["task"], data, {}, saved=saved, samples=samples, progress=progress)
    if list(dataset.class_names) != list(saved["class_names"]):
        raise ValueError(
            f"--data {data!r}: its classes {list(dataset.class_names)} differ from the checkpoint's "
            f"{saved['class_names']}"
        )
    trainer = Trainer(
        model,
        make_task(model_entry(run_info["model"]), dataset, run_info["loss"]),
        {"batch_size": 1},
        device=device,
        progress=progress,
    )
    started = time.perf_counter()
    metrics = trainer.evaluate(dataset.dataset(split), desc=split)
    results = {
        "checkpoint": str(checkpoint),
        "model": run_info["model"],
        "size": run_info["size"],
        "data": data,
        "split": split,
        "samples": len(dataset.splits[split]),
        "metrics": metrics,
        "eval_time_s": time.perf_counter() - started,
        "provenance": provenance(),
    }
    if out is not None:
        write_json(results, out)
    return results

"""The trainer every notebook and the ``actseg train`` command use.

One loop for every model and task: the task object supplies batching, loss, prediction
and metrics (:mod:`actseg_lib.engine.tasks`); the trainer supplies the rest:

* optimiser and per-step schedule from a :class:`TrainConfig`, gradient clipping, bf16
  autocast on GPUs;
* DistributedDataParallel when launched by ``torchrun`` (each rank trains on its share
  of every epoch, gradients are averaged, rank 0 logs and writes checkpoints);
* evaluation every ``eval_every`` epochs on the validation split, the best epoch's
  weights kept (``best.pt``) by ``select_metric``; the test split is never looked at;
* ``last.pt`` after every epoch with the model, optimiser, scheduler, history and every
  rank's random-number state, so ``fit(resume=True)`` continues an interrupted run
  exactly where an uninterrupted one would have been;
* progress: one ``tqdm.auto`` bar per epoch (its training and validation batches, with
  the loss and the validation metric by name) in a terminal, one bar reused across
  epochs in a notebook, and one plain line per epoch when stderr is a file or a pipe, so
  logs stay readable;
* a history of losses, learning rates, timings and metrics, also written as
  ``history.csv`` every epoch and, optionally, to TensorBoard (``<out_dir>/tensorboard``).
"""

from __future__ import annotations

import copy
import csv
import json
import math
import sys
import time
from pathlib import Path

import torch
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, DistributedSampler, Subset
from tqdm.auto import tqdm

from . import distributed
from .atomic import atomic_write, remove_leftovers
from .checkpoint import load_checkpoint, save_checkpoint
from .config import TrainConfig
from .optim import build_optimizer, build_scheduler
from .seeding import rng_state, seed_everything, set_rng_state

# what must match for a run to be resumed from a checkpoint (the training recipe too,
# except its number of epochs: a resumed run may be extended)
RESUME_KEYS = ("model", "size", "model_config", "loss", "data_config", "data_spec")
EXTENDABLE = ("epochs",)


def metric_label(key: str) -> str:
    """A metric's key as people write it: ``f1@50`` -> ``F1@50``, ``macro_f1`` -> ``macro_F1``."""
    return key.replace("f1", "F1")


def require_tensorboard():
    """``torch.utils.tensorboard.SummaryWriter``, or a one-line error naming the package."""
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:
        raise ModuleNotFoundError(
            "TensorBoard logging needs the tensorboard package: pip install tensorboard"
        ) from None
    return SummaryWriter


def apply_gradients(loss: torch.Tensor, model, optimizer, clip_grad_norm: float = 0.0, scheduler=None) -> None:
    """The trainer's update from a step's loss: backward, gradient clipping (when
    ``clip_grad_norm``), the optimiser's step and the scheduler's (when given). Training,
    the time-per-step estimate and the full presets' smoke step all take it."""
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    if clip_grad_norm:
        torch.nn.utils.clip_grad_norm_(model.parameters(), clip_grad_norm)
    optimizer.step()
    if scheduler is not None:
        scheduler.step()


def resolve_device(device=None) -> torch.device:
    if device is not None:
        return torch.device(device)
    info = distributed.current()
    if torch.cuda.is_available():
        return torch.device("cuda", info.local_rank)
    return torch.device("cpu")


class Trainer:
    """Train ``model`` on a task.

    Args:
        model: an ``nn.Module`` (unwrapped; the trainer wraps it for DDP itself).
        task: e.g. :class:`~actseg_lib.engine.tasks.SegmentationTask`.
        config: a :class:`TrainConfig` or a dict of its fields.
        out_dir: where ``last.pt`` and ``best.pt`` go; None keeps everything in memory.
        run_info: what the run is (model name, configs, data); stored in checkpoints and
            checked on resume.
        progress: show progress (rank 0 only): bars in a terminal or a notebook, one line
            per epoch otherwise.
        tensorboard: also log every epoch's figures to ``out_dir/tensorboard``.
    """

    def __init__(
        self,
        model,
        task,
        config,
        out_dir=None,
        device=None,
        run_info: dict | None = None,
        progress: bool = True,
        tensorboard: bool = False,
    ):
        self.config = config if isinstance(config, TrainConfig) else TrainConfig.from_dict(config)
        self.task = task
        self.dist = distributed.current()
        self.device = resolve_device(device)
        self.model = model.to(self.device)
        self.out_dir = Path(out_dir) if out_dir is not None else None
        self.run_info = dict(run_info or {})
        self.progress = progress and self.dist.is_main
        if tensorboard and out_dir is None:
            raise ValueError("tensorboard=True needs an out_dir to write to")
        self.tensorboard = tensorboard
        self.history: list[dict] = []
        self.best: dict | None = None
        self.best_state: dict | None = None
        self.epochs_done = 0
        use_bf16 = self.config.amp == "bf16" or (self.config.amp == "auto" and self.device.type == "cuda")
        self.amp_dtype = torch.bfloat16 if use_bf16 else None

    # --- data -----------------------------------------------------------------------------
    def _train_loader(self, dataset) -> DataLoader:
        # a DistributedSampler even in one process: the same seed gives the same order of
        # samples, split across however many ranks there are
        sampler = DistributedSampler(
            dataset, num_replicas=self.dist.world_size, rank=self.dist.rank, shuffle=True, seed=self.config.seed
        )
        return DataLoader(
            dataset,
            batch_size=self.config.batch_size,
            sampler=sampler,
            collate_fn=self.task.collate,
            num_workers=self.config.num_workers,
        )

    def _eval_loader(self, dataset) -> DataLoader:
        # each rank takes every world_size-th sample, none twice, so gathered metrics are exact
        shard = Subset(dataset, range(self.dist.rank, len(dataset), self.dist.world_size))
        return DataLoader(
            shard,
            batch_size=self.config.batch_size,
            shuffle=False,
            collate_fn=self.task.collate,
            num_workers=self.config.num_workers,
        )

    def _autocast(self):
        return torch.autocast(
            self.device.type, dtype=self.amp_dtype or torch.bfloat16, enabled=self.amp_dtype is not None
        )

    # --- progress -------------------------------------------------------------------------
    def _progress_mode(self) -> str:
        """``"bars"`` in a terminal, ``"notebook"`` in a Jupyter kernel (tqdm.auto draws
        widgets there), ``"lines"`` when stderr is a file or a pipe, ``"off"``."""
        if not self.progress:
            return "off"
        ipython = sys.modules.get("IPython")  # a Jupyter kernel, as tqdm.auto tells it
        shell = ipython.get_ipython() if ipython is not None else None
        if shell is not None and "IPKernelApp" in getattr(shell, "config", {}):
            return "notebook"
        return "bars" if sys.stderr.isatty() else "lines"

    def _figures(self, record: dict) -> list[tuple[str, float]]:
        """The epoch's named figures: the loss, the selection metric and the headline
        metric (F1@50, macro F1 or top-1) when it is another number."""
        figures = [("loss", record["train_loss"])]
        val = record.get("val") or {}
        keys = [self.config.select_metric] + [k for k in ("macro_f1", "f1@50", "top1") if k in val][:1]
        if len(keys) == 2 and (keys[1] == keys[0] or val.get(keys[0]) == val.get(keys[1])):
            keys = keys[1:]  # recognition's "score" is its top-1: name it once, by its name
        figures += [(f"val_{metric_label(k)}", val[k]) for k in keys if k in val]
        return figures

    def epoch_line(self, record: dict) -> str:
        """One plain line per epoch for logs: ``epoch 3/10  loss 1.234  val F1@50 45.1  12.3 s``."""
        parts = [f"epoch {record['epoch']}/{self.config.epochs}"]
        for name, value in self._figures(record):
            parts.append(f"loss {value:.3f}" if name == "loss" else f"val {name[4:]} {value:.1f}")
        parts.append(f"{record['time_s'] + record.get('eval_time_s', 0.0):.1f} s")
        return "  ".join(parts)

    def _postfix(self, record: dict) -> dict:
        return {name: f"{value:.3f}" if name == "loss" else f"{value:.1f}" for name, value in self._figures(record)}

    # --- evaluation -----------------------------------------------------------------------
    def predict(self, dataset, desc: str = "predict", bar=None) -> list:
        """The task's per-sample predictions over ``dataset``, from every rank, in rank order.

        ``bar``: a tqdm bar to advance batch by batch (training's epoch bar, so that
        validation draws no bar of its own); without one, a passing bar of its own."""
        was_training = self.model.training
        self.model.eval()
        loader = self._eval_loader(dataset)
        own_bar = bar is None
        if own_bar:
            disable = self._progress_mode() not in ("bars", "notebook") or len(loader) == 0
            bar = tqdm(total=len(loader), desc=desc, leave=False, disable=disable)
        pairs = []
        try:
            for batch in loader:
                with self._autocast():
                    pairs.extend(self.task.predict(self.model, self.task.to_device(batch, self.device)))
                bar.update(1)
        finally:
            self.model.train(was_training)
            if own_bar:
                bar.close()
        return [p for part in distributed.gather_objects(pairs) for p in part]

    def evaluate(self, dataset, desc: str = "evaluate", bar=None) -> dict:
        """The task's metrics over ``dataset`` (every rank returns the same numbers)."""
        return self.task.metrics(self.predict(dataset, desc, bar))

    # --- checkpoints ----------------------------------------------------------------------
    def _state(self, optimizer, scheduler, rng_states) -> dict:
        return {
            "run_info": self.run_info,
            "train_config": self.config.to_dict(),
            "model": self.model.state_dict(),
            "optimizer": optimizer.state_dict(),
            "scheduler": scheduler.state_dict(),
            "epoch": self.epochs_done,
            "history": self.history,
            "best": self.best,
            "rng": rng_states,
            "world_size": self.dist.world_size,
        }

    def _check_resumable(self, state: dict, path: Path) -> None:
        def recipe(train_config) -> dict:
            return {k: v for k, v in (train_config or {}).items() if k not in EXTENDABLE}

        saved = {**state.get("run_info", {}), "train_config": recipe(state.get("train_config"))}
        ours = {**self.run_info, "train_config": recipe(self.config.to_dict())}
        differ = [k for k in (*RESUME_KEYS, "train_config") if saved.get(k) != ours.get(k)]
        if "model" in differ:
            raise ValueError(
                f"cannot resume from {path}: it is a checkpoint of {saved.get('model')}, not of "
                f"{ours.get('model')}; use another --out folder for a new run"
            )
        if differ:
            details = []
            for k in differ:
                old, new = saved.get(k), ours.get(k)
                if isinstance(old, dict) and isinstance(new, dict):  # name the differing entries only
                    keys = sorted(set(old) | set(new), key=str)
                    old, new = ({i: d.get(i) for i in keys if old.get(i) != new.get(i)} for d in (old, new))
                details.append(f"{k}: checkpoint {old!r} vs now {new!r}")
            raise ValueError(
                f"cannot resume from {path}: the run differs in {', '.join(differ)} ({'; '.join(details)}). "
                "Use the original settings (only --epochs may change), or another --out folder for a new run."
            )
        if state["epoch"] > self.config.epochs:
            raise ValueError(
                f"cannot resume from {path}: it has trained {state['epoch']} epochs, more than the "
                f"{self.config.epochs} asked for; ask for at least {state['epoch']}"
            )

    def _resume(self, optimizer, scheduler) -> None:
        path = self.out_dir / "last.pt"
        state = load_checkpoint(path, map_location=self.device)
        self._check_resumable(state, path)
        self.model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])  # the step count; the rule stays ours
        if state["train_config"]["epochs"] != self.config.epochs:
            # an extended run: the schedule is the one of a run of the new length, from
            # the step reached (a finished cosine decay rises again to where that run
            # would be), so the next step must not use the old schedule's rate
            for group, base, rule in zip(optimizer.param_groups, scheduler.base_lrs, scheduler.lr_lambdas):
                group["lr"] = base * rule(scheduler.last_epoch)
        self.epochs_done, self.history, self.best = state["epoch"], state["history"], state["best"]
        rngs = state["rng"]
        if state["world_size"] == self.dist.world_size:
            set_rng_state(rngs[self.dist.rank])
        else:  # a different number of ranks cannot replay the same streams: start fresh ones
            seed_everything(self.config.seed + 1000 * self.epochs_done + self.dist.rank)
        best_path = self.out_dir / "best.pt"
        if self.best is not None and best_path.exists():
            self.best_state = load_checkpoint(best_path, map_location="cpu")["model"]

    # --- training -------------------------------------------------------------------------
    def fit(self, train_set, val_set=None, resume: bool = False) -> list[dict]:
        """Train for ``config.epochs`` epochs (the rest of them, when resuming).

        ``resume``: continue from ``out_dir/last.pt`` if it exists (a finished run then
        returns at once: "load if present, else train"). A checkpoint of fewer epochs
        than ``config.epochs`` is continued to ``config.epochs``, also when it finished
        its own: the learning-rate schedule is then the one of a run of the new length,
        continued from the step reached. Returns the history, one dict per epoch;
        afterwards the model holds the best validation epoch's weights (the last
        epoch's when there is no validation set).
        """
        cfg = self.config
        if len(train_set) == 0:
            raise ValueError("fit: the training set is empty")
        if resume and self.out_dir is None:
            raise ValueError("fit(resume=True) needs an out_dir to resume from")
        if self.out_dir is not None and self.dist.is_main:
            remove_leftovers(self.out_dir)  # of checkpoint writes killed mid-way
        loader = self._train_loader(train_set)
        optimizer = build_optimizer(self.model, cfg)
        scheduler = build_scheduler(optimizer, len(loader), cfg)
        resuming = resume and (self.out_dir / "last.pt").exists()
        if resuming:
            self._resume(optimizer, scheduler)
        else:
            seed_everything(cfg.seed + self.dist.rank)
        net = self.model
        if self.dist.enabled:
            net = DistributedDataParallel(
                self.model, device_ids=[self.device.index] if self.device.type == "cuda" else None
            )
        if resuming and self.dist.is_main:
            done = "a finished run, loaded" if self.epochs_done == cfg.epochs else "resumed"
            print(
                f"{done} from {self.out_dir / 'last.pt'} after epoch {self.epochs_done}/{cfg.epochs}", file=sys.stderr
            )
        mode = self._progress_mode()
        writer = None
        if self.tensorboard and self.dist.is_main and self.epochs_done < cfg.epochs:
            writer = require_tensorboard()(log_dir=str(self.out_dir / "tensorboard"))
        bar = None  # a notebook reuses one bar; a terminal leaves one per epoch
        val_steps = len(self._eval_loader(val_set)) if val_set is not None else 0
        try:
            for epoch in range(self.epochs_done, cfg.epochs):
                validate = val_set is not None and ((epoch + 1) % cfg.eval_every == 0 or epoch + 1 == cfg.epochs)
                steps = len(loader) + (val_steps if validate else 0)
                if mode == "bars" or (mode == "notebook" and bar is None):
                    bar = tqdm(total=steps, desc=f"epoch {epoch + 1}/{cfg.epochs}", unit="batch", leave=True)
                elif mode == "notebook":
                    bar.reset(total=steps)
                    bar.set_description(f"epoch {epoch + 1}/{cfg.epochs}")
                record = self._train_epoch(net, loader, optimizer, scheduler, epoch, bar)
                if validate:
                    t0 = time.perf_counter()
                    record["val"] = self.evaluate(val_set, desc="validate", bar=bar or _NO_BAR)
                    record["eval_time_s"] = time.perf_counter() - t0
                    self._consider_best(epoch + 1, record["val"])
                self.history.append(record)
                self.epochs_done = epoch + 1
                rngs = distributed.gather_objects(rng_state())
                if self.out_dir is not None and self.dist.is_main:
                    save_checkpoint(self._state(optimizer, scheduler, rngs), self.out_dir / "last.pt")
                    write_history_csv(self.history, self.out_dir / "history.csv")
                if writer is not None:
                    log_to_tensorboard(writer, record)
                distributed.barrier()
                if bar is not None:
                    bar.set_postfix(self._postfix(record))
                    if mode == "bars":
                        bar.close()
                if mode == "lines":
                    print(self.epoch_line(record), file=sys.stderr, flush=True)
        finally:
            if bar is not None:
                bar.close()
            if writer is not None:
                writer.close()
        history_csv = self.out_dir / "history.csv" if self.out_dir is not None else None
        if history_csv is not None and self.dist.is_main and self.history and not history_csv.exists():
            write_history_csv(self.history, history_csv)  # a run loaded from before history.csv existed
        if self.best_state is not None:
            self.model.load_state_dict(self.best_state)
        return self.history

    def _train_epoch(self, net, loader, optimizer, scheduler, epoch: int, bar) -> dict:
        """One pass over ``loader``; the epoch's history record (loss, parts, lr, time)."""
        cfg = self.config
        loader.sampler.set_epoch(epoch)
        self.model.train()
        started = time.perf_counter()
        loss_sum, batches, parts_sum = 0.0, 0, {}
        for step, batch in enumerate(loader):
            batch = self.task.to_device(batch, self.device)
            with self._autocast():
                loss, parts = self.task.loss(net, batch)
            if not math.isfinite(loss_value := float(loss.detach())):
                raise FloatingPointError(
                    f"non-finite loss {loss_value} at epoch {epoch + 1}, batch {step + 1}; "
                    "lower the learning rate or check the inputs for NaN"
                )
            apply_gradients(loss, self.model, optimizer, cfg.clip_grad_norm, scheduler)
            loss_sum, batches = loss_sum + loss_value, batches + 1
            for k, v in parts.items():
                parts_sum[k] = parts_sum.get(k, 0.0) + v
            if bar is not None:
                bar.update(1)
                bar.set_postfix(loss=f"{loss_sum / batches:.3f}", refresh=False)
        totals = torch.tensor([loss_sum, batches], dtype=torch.float64)
        if self.dist.enabled:  # the loss over every rank's batches
            torch.distributed.all_reduce(totals)
        return {
            "epoch": epoch + 1,
            "train_loss": float(totals[0] / totals[1]),
            **{f"train_{k}": v / batches for k, v in parts_sum.items()},
            "lr": optimizer.param_groups[0]["lr"],
            "time_s": time.perf_counter() - started,
        }

    def steps_per_epoch(self, train_set) -> int:
        """Optimisation steps an epoch of ``train_set`` takes (on this rank)."""
        return len(self._train_loader(train_set))

    def seconds_per_step(self, train_set, steps: int = 2) -> float:
        """Seconds one training step takes here, timed on a copy of the model and its
        optimiser (the last of ``steps``; the first pays for warm-up). The run's weights
        and random streams are left as they were, so timing changes no number."""
        if len(train_set) == 0:
            raise ValueError("the training set is empty: nothing to time")
        streams = rng_state()
        model = copy.deepcopy(self.model).train()
        optimizer = build_optimizer(model, self.config)
        loader = self._train_loader(train_set)
        took = []
        try:
            batches = iter(loader)
            for _ in range(min(steps, len(loader))):
                started = time.perf_counter()
                batch = self.task.to_device(next(batches), self.device)
                with self._autocast():
                    loss, _ = self.task.loss(model, batch)
                apply_gradients(loss, model, optimizer, self.config.clip_grad_norm)
                took.append(time.perf_counter() - started)
        finally:
            set_rng_state(streams)
        return took[-1]

    def _consider_best(self, epoch: int, metrics: dict) -> None:
        key = self.config.select_metric
        if key not in metrics:
            raise ValueError(
                f"train config 'select_metric': {key!r} is not among the validation metrics {sorted(metrics)}"
            )
        if self.best is None or metrics[key] > self.best["value"]:
            self.best = {"epoch": epoch, "metric": key, "value": metrics[key], "metrics": metrics}
            self.best_state = {k: v.detach().to("cpu", copy=True) for k, v in self.model.state_dict().items()}
            if self.out_dir is not None and self.dist.is_main:
                save_checkpoint(
                    {
                        "run_info": self.run_info,
                        "model": self.best_state,
                        "epoch": epoch,
                        "metrics": metrics,
                        "train_config": self.config.to_dict(),
                    },
                    self.out_dir / "best.pt",
                )

    def summary(self) -> dict:
        """Best epoch, its validation metrics and timings, as plain values (JSON-ready)."""
        return json.loads(
            json.dumps(
                {
                    "epochs": self.epochs_done,
                    "best": self.best,
                    "train_time_s": sum(r["time_s"] for r in self.history),
                    "eval_time_s": sum(r.get("eval_time_s", 0.0) for r in self.history),
                }
            )
        )


class _NoBar:
    """Stands in for a progress bar when nothing is drawn."""

    def update(self, n: int = 1) -> None:
        pass

    def close(self) -> None:
        pass


_NO_BAR = _NoBar()


def history_rows(history: list[dict]) -> tuple[list[str], list[dict]]:
    """The history as table rows: epoch, train loss (and its parts), every scalar
    validation metric (``val_<name>``), learning rate and timings; blank where an epoch
    was not validated."""
    rows = []
    for record in history:
        row = {k: v for k, v in record.items() if k != "val"}
        row.update({f"val_{k}": v for k, v in (record.get("val") or {}).items() if isinstance(v, (int, float))})
        rows.append(row)
    columns = []
    for row in rows:
        columns += [k for k in row if k not in columns]
    first, last = ["epoch", "train_loss"], ["lr", "time_s", "eval_time_s"]
    columns = (
        first
        + [c for c in columns if c.startswith("train_") and c not in first]
        + [c for c in columns if c.startswith("val_")]
        + [c for c in last if c in columns]
    )
    return columns, rows


def write_history_csv(history: list[dict], path) -> None:
    """``history.csv``: one row per epoch (see :func:`history_rows`), for plotting curves."""
    columns, rows = history_rows(history)
    with atomic_write(path, "w", encoding="utf-8") as f:
        table = csv.DictWriter(f, fieldnames=columns, extrasaction="ignore", lineterminator="\n")
        table.writeheader()
        table.writerows(rows)


def log_to_tensorboard(writer, record: dict) -> None:
    """An epoch's figures as TensorBoard scalars, by epoch: ``train/*``, ``val/*``, ``lr``, ``time_s``."""
    epoch = record["epoch"]
    for key, value in record.items():
        if key.startswith("train_"):
            writer.add_scalar(f"train/{key[6:]}", value, epoch)
        elif key in ("lr", "time_s", "eval_time_s"):
            writer.add_scalar(key, value, epoch)
    for key, value in (record.get("val") or {}).items():
        if isinstance(value, (int, float)):
            writer.add_scalar(f"val/{key}", value, epoch)
    writer.flush()

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
* ``tqdm.auto`` progress bars (epochs, and batches within an epoch) and a history of
  losses, learning rates, timings and metrics.
"""

from __future__ import annotations

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
from .checkpoint import load_checkpoint, save_checkpoint
from .config import TrainConfig
from .optim import build_optimizer, build_scheduler
from .seeding import rng_state, seed_everything, set_rng_state

# what must match for a run to be resumed from a checkpoint
RESUME_KEYS = ("model", "size", "model_config", "loss", "data_config", "data_spec")


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
        progress: show progress bars (rank 0 only).
    """

    def __init__(
        self, model, task, config, out_dir=None, device=None, run_info: dict | None = None, progress: bool = True
    ):
        self.config = config if isinstance(config, TrainConfig) else TrainConfig.from_dict(config)
        self.task = task
        self.dist = distributed.current()
        self.device = resolve_device(device)
        self.model = model.to(self.device)
        self.out_dir = Path(out_dir) if out_dir is not None else None
        self.run_info = dict(run_info or {})
        self.progress = progress and self.dist.is_main
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

    # --- evaluation -----------------------------------------------------------------------
    def predict(self, dataset, desc: str = "predict", bar=None) -> list:
        """The task's per-sample predictions over ``dataset``, from every rank, in rank order.

        ``bar``: a tqdm bar to reuse (training re-uses one across epochs, so a notebook
        shows one validation bar, not one per epoch)."""
        was_training = self.model.training
        self.model.eval()
        loader = self._eval_loader(dataset)
        own_bar = bar is None
        if own_bar:
            bar = tqdm(total=len(loader), desc=desc, leave=False, disable=not self.progress)
        else:
            bar.reset(total=len(loader))
            bar.set_description(desc)
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
        saved = {**state.get("run_info", {}), "train_config": state.get("train_config")}
        ours = {**self.run_info, "train_config": self.config.to_dict()}
        differ = [k for k in (*RESUME_KEYS, "train_config") if saved.get(k) != ours.get(k)]
        if differ:
            detail = "; ".join(f"{k}: checkpoint {saved.get(k)!r} vs now {ours.get(k)!r}" for k in differ)
            raise ValueError(
                f"cannot resume from {path}: the run differs in {', '.join(differ)} ({detail}). "
                "Use the original settings, or another --out folder for a new run."
            )

    def _resume(self, optimizer, scheduler) -> None:
        path = self.out_dir / "last.pt"
        state = load_checkpoint(path, map_location=self.device)
        self._check_resumable(state, path)
        self.model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
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
        returns at once: "load if present, else train"). Returns the history, one dict
        per epoch; afterwards the model holds the best validation epoch's weights (the
        last epoch's when there is no validation set).
        """
        cfg = self.config
        if len(train_set) == 0:
            raise ValueError("fit: the training set is empty")
        if resume and self.out_dir is None:
            raise ValueError("fit(resume=True) needs an out_dir to resume from")
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

        bar = tqdm(total=cfg.epochs, initial=self.epochs_done, desc="epochs", unit="epoch", disable=not self.progress)
        # one batch bar and one validation bar, reset every epoch
        batch_bar = tqdm(total=len(loader), desc="batches", leave=False, disable=not self.progress)
        val_bar = tqdm(total=0, desc="validate", leave=False, disable=not self.progress or val_set is None)
        for epoch in range(self.epochs_done, cfg.epochs):
            loader.sampler.set_epoch(epoch)
            self.model.train()
            started = time.perf_counter()
            loss_sum, batches, parts_sum = 0.0, 0, {}
            batch_bar.reset(total=len(loader))
            batch_bar.set_description(f"epoch {epoch + 1}")
            for step, batch in enumerate(loader):
                batch_bar.update(1)
                batch = self.task.to_device(batch, self.device)
                with self._autocast():
                    loss, parts = self.task.loss(net, batch)
                if not math.isfinite(loss_value := float(loss.detach())):
                    raise FloatingPointError(
                        f"non-finite loss {loss_value} at epoch {epoch + 1}, batch {step + 1}; "
                        "lower the learning rate or check the inputs for NaN"
                    )
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                if cfg.clip_grad_norm:
                    torch.nn.utils.clip_grad_norm_(self.model.parameters(), cfg.clip_grad_norm)
                optimizer.step()
                scheduler.step()
                loss_sum, batches = loss_sum + loss_value, batches + 1
                for k, v in parts.items():
                    parts_sum[k] = parts_sum.get(k, 0.0) + v
            totals = torch.tensor([loss_sum, batches], dtype=torch.float64)
            if self.dist.enabled:  # the loss over every rank's batches
                torch.distributed.all_reduce(totals)
            record = {
                "epoch": epoch + 1,
                "train_loss": float(totals[0] / totals[1]),
                **{f"train_{k}": v / batches for k, v in parts_sum.items()},
                "lr": optimizer.param_groups[0]["lr"],
                "time_s": time.perf_counter() - started,
            }
            if val_set is not None and ((epoch + 1) % cfg.eval_every == 0 or epoch + 1 == cfg.epochs):
                t0 = time.perf_counter()
                record["val"] = self.evaluate(val_set, desc="validate", bar=val_bar)
                record["eval_time_s"] = time.perf_counter() - t0
                self._consider_best(epoch + 1, record["val"])
            self.history.append(record)
            self.epochs_done = epoch + 1
            rngs = distributed.gather_objects(rng_state())
            if self.out_dir is not None and self.dist.is_main:
                save_checkpoint(self._state(optimizer, scheduler, rngs), self.out_dir / "last.pt")
            distributed.barrier()
            bar.update(1)
            bar.set_postfix(self._postfix(record))
        for b in (val_bar, batch_bar, bar):
            b.close()
        if self.best_state is not None:
            self.model.load_state_dict(self.best_state)
        return self.history

    def _consider_best(self, epoch: int, metrics: dict) -> None:
        key = self.config.select_metric
        if key not in metrics:
            raise KeyError(f"select_metric {key!r} is not among the validation metrics {sorted(metrics)}")
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

    def _postfix(self, record: dict) -> dict:
        out = {"loss": f"{record['train_loss']:.3f}"}
        if "val" in record:
            key = self.config.select_metric
            out[f"val_{key}"] = f"{record['val'][key]:.1f}"
        return out

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

"""What the trainer needs to know about a task: how to batch, the loss, how to predict
and how to score. The trainer itself is task-agnostic."""

from __future__ import annotations

import numpy as np
import torch
from torch.nn import functional as F
from torch.utils.data import default_collate

from ..common.labels import IGNORE_INDEX
from ..data.augment import augment_clips
from ..data.datasets import collate_segmentation
from ..losses import SegmentationLoss
from ..metrics.openpack import openpack_macro_f1
from ..metrics.recognition import mean_class_accuracy, topk_accuracy
from ..metrics.segmentation import segmentation_scores

CLIP_INPUTS = ("rgb", "skeleton2d")


def batch_to_device(batch: dict, device) -> dict:
    """The batch's tensors moved to ``device``; other entries as they are."""
    return {k: v.to(device, non_blocking=True) if torch.is_tensor(v) else v for k, v in batch.items()}


def frame_scores(preds: list[np.ndarray], truths: list[np.ndarray], background=()) -> dict:
    """MS-TCN's frame metrics (percent, ``IGNORE_INDEX`` frames left out) plus ``score``,
    the mean of accuracy, edit and the three F1s: one number that rewards both frame
    accuracy and clean segments, used to pick the best epoch."""
    scores = segmentation_scores(preds, truths, background=background, ignore_index=IGNORE_INDEX)
    scores = {k: float(v) for k, v in scores.items()}
    scores["score"] = float(np.mean([scores[k] for k in ("acc", "edit", "f1@10", "f1@25", "f1@50")]))
    return scores


class LastStageArgmax:
    """The default decoder of segmentation models whose forward gives stage logits
    ``[S, B, K, T]``: the last stage's argmax, frame by frame."""

    def items(self, model, output: torch.Tensor, batch: dict) -> list[dict]:
        pred = output[-1].argmax(1).cpu().numpy()  # [B, T]
        labels = batch["labels"].cpu().numpy()
        return [{"pred": pred[b, :n], "labels": labels[b, :n]} for b, n in enumerate(batch["lengths"].tolist())]

    def predictions(self, items: list[dict]) -> dict[str, list[np.ndarray]]:
        return {"": [item["pred"] for item in items]}


def _unwrapped(model):
    """The model itself under a DistributedDataParallel wrapper."""
    return getattr(model, "module", model)


class SegmentationTask:
    """Frame-wise segmentation: models map ``(x [B, T, C], mask [B, T])`` to an output
    that their ``criterion`` turns into a loss and their ``decoder`` into per-frame
    predictions (both from the model's registry entry; the defaults are MS-TCN's
    stage-wise loss and the last stage's argmax).

    Metrics (percent): the MS-TCN-compatible frame metrics (``acc``, ``edit``,
    ``f1@10/25/50``), ``score`` (their mean: one number that rewards both frame accuracy
    and clean segments, used to pick the best epoch), with ``"macro_f1"`` in ``metrics``
    OpenPack's macro F1 on 1-second slots (the ``ignore_labels`` classes left out, a
    frame predicted as one of them counted as a miss) with seconds counted from each
    sequence's first frame, and, when the sequences carry timestamps (OpenPack's
    sessions), ``"macro_f1_timestamps"``: the same on their unix times, as the OpenPack
    toolkit slots them; and every one of them again for each further prediction variant
    of the decoder, keyed ``"<metric> <variant>"``.
    """

    name = "segmentation"
    collate = staticmethod(collate_segmentation)
    to_device = staticmethod(batch_to_device)

    def __init__(
        self,
        criterion=None,
        decoder=None,
        background=(),
        num_classes: int | None = None,
        fps: float = 30.0,
        ignore_labels=(),
        metrics=(),
    ):
        self.criterion = criterion if criterion is not None else SegmentationLoss()
        self.decoder = decoder if decoder is not None else LastStageArgmax()
        self.background, self.fps = tuple(background), float(fps)
        self.num_classes, self.ignore_labels, self.extra_metrics = num_classes, tuple(ignore_labels), tuple(metrics)
        if "macro_f1" in self.extra_metrics and num_classes is None:
            raise ValueError("SegmentationTask: the macro F1 needs num_classes")

    def loss(self, model, batch: dict) -> tuple[torch.Tensor, dict]:
        return self.criterion(model(batch["x"], batch["mask"]), batch, _unwrapped(model))

    @torch.no_grad()
    def predict(self, model, batch: dict) -> list[dict]:
        """The decoder's items, one per sequence (cut to its length), with the sequence's
        ``timestamps_ms`` when the batch has them."""
        items = self.decoder.items(_unwrapped(model), model(batch["x"], batch["mask"]), batch)
        for item, times in zip(items, batch.get("timestamps_ms", ())):
            item["timestamps_ms"] = times.cpu().numpy()
        return items

    def score_predictions(self, preds: list[np.ndarray], truths: list[np.ndarray], timestamps=None) -> dict:
        """The metrics (percent) of per-frame predictions against per-frame truths;
        ``timestamps``: each sequence's unix times in ms, for ``macro_f1_timestamps``."""
        scores = frame_scores(preds, truths, self.background)
        if "macro_f1" in self.extra_metrics:
            times = [np.arange(len(y), dtype=np.int64) * 1000 // int(round(self.fps)) for y in truths]
            classes = tuple(k for k in range(self.num_classes) if k not in self.ignore_labels)
            # a second predicted as an ignored class (Null) is a miss for whichever class it was
            preds = [np.where(np.isin(p, self.ignore_labels), IGNORE_INDEX, p) for p in preds]
            scores["macro_f1"] = 100.0 * openpack_macro_f1(
                times, preds, times, truths, classes=classes, null_id=IGNORE_INDEX
            )
            if timestamps is not None:
                scores["macro_f1_timestamps"] = 100.0 * openpack_macro_f1(
                    timestamps, preds, timestamps, truths, classes=classes, null_id=IGNORE_INDEX
                )
        return scores

    def metrics(self, items: list[dict]) -> dict:
        truths = [item["labels"] for item in items]
        timestamps = [item.get("timestamps_ms") for item in items]
        timestamps = timestamps if items and all(t is not None for t in timestamps) else None
        variants = self.decoder.predictions(items)
        result = self.score_predictions(variants[""], truths, timestamps)
        for variant, preds in variants.items():
            if variant:
                scores = self.score_predictions(preds, truths, timestamps)
                result.update({f"{key} {variant}": value for key, value in scores.items()})
        return result


class RecognitionTask:
    """Clip classification: models map the clip's inputs (``rgb`` [B, T, 3, H, W],
    ``skeleton2d`` [B, T, J, 2], whichever the batch holds) to logits ``[B, K]``.

    The loss is cross-entropy with optional label smoothing; training batches are
    augmented (:func:`~actseg_lib.data.augment.augment_clips`) when ``augment`` is set.
    Metrics (percent): ``top1``, ``top5`` (when there are more than five classes),
    ``mean_class_acc``; ``score`` is top-1, used to pick the best epoch.
    """

    name = "recognition"
    collate = staticmethod(default_collate)

    def __init__(self, label_smoothing: float = 0.0, augment: bool = False):
        self.label_smoothing, self.augment = label_smoothing, augment

    to_device = staticmethod(batch_to_device)

    @staticmethod
    def inputs(batch: dict) -> dict:
        return {k: batch[k] for k in CLIP_INPUTS if k in batch}

    def loss(self, model, batch: dict) -> tuple[torch.Tensor, dict]:
        if self.augment and model.training:
            batch = augment_clips(batch)
        logits = model(**self.inputs(batch))  # [B, K]
        loss = F.cross_entropy(logits.float(), batch["label"], label_smoothing=self.label_smoothing)
        return loss, {"ce": float(loss.detach())}

    @torch.no_grad()
    def predict(self, model, batch: dict) -> list[tuple[np.ndarray, int]]:
        """(class scores [K], true label) per clip."""
        scores = model(**self.inputs(batch)).float().cpu().numpy()
        return list(zip(scores, batch["label"].cpu().tolist()))

    def metrics(self, pairs: list[tuple[np.ndarray, int]]) -> dict:
        scores = np.stack([s for s, _ in pairs])
        labels = np.array([y for _, y in pairs])
        result = {
            "top1": topk_accuracy(scores, labels, 1),
            "mean_class_acc": mean_class_accuracy(scores.argmax(1), labels, scores.shape[1]),
        }
        if scores.shape[1] > 5:
            result["top5"] = topk_accuracy(scores, labels, 5)
        result["score"] = result["top1"]
        return result

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
from ..losses import segmentation_loss
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


class SegmentationTask:
    """Frame-wise segmentation: models map ``(x [B, T, C], mask [B, T])`` to stage logits
    ``[S, B, K, T]``; predictions come from the last stage.

    Metrics are the library's MS-TCN-compatible ``segmentation_scores`` (percent), plus
    ``score``, the mean of accuracy, edit and the three F1s: one number that rewards
    both frame accuracy and clean segments, used to pick the best epoch.
    """

    name = "segmentation"
    collate = staticmethod(collate_segmentation)

    def __init__(self, background=(), smoothing_weight: float = 0.15, smoothing_clamp: float = 16.0):
        self.background = tuple(background)
        self.smoothing_weight, self.smoothing_clamp = smoothing_weight, smoothing_clamp

    to_device = staticmethod(batch_to_device)

    def loss(self, model, batch: dict) -> tuple[torch.Tensor, dict]:
        logits = model(batch["x"], batch["mask"])  # [S, B, K, T]
        return segmentation_loss(logits, batch["labels"], batch["mask"], self.smoothing_weight, self.smoothing_clamp)

    @torch.no_grad()
    def predict(self, model, batch: dict) -> list[tuple[np.ndarray, np.ndarray]]:
        """(predicted labels, true labels) per sequence, cut to its length."""
        logits = model(batch["x"], batch["mask"])[-1]  # [B, K, T]
        pred = logits.argmax(1).cpu().numpy()
        labels = batch["labels"].cpu().numpy()
        return [(pred[b, :n], labels[b, :n]) for b, n in enumerate(batch["lengths"].tolist())]

    def metrics(self, pairs: list[tuple[np.ndarray, np.ndarray]]) -> dict:
        return frame_scores([p for p, _ in pairs], [y for _, y in pairs], self.background)


def _unwrapped(model):
    """The model itself under a DistributedDataParallel wrapper."""
    return getattr(model, "module", model)


class BoundarySegmentationTask:
    """Segmentation by a model with its own per-second class and boundary outputs and its
    own loss (SigFormer: :class:`~actseg_lib.models.sigformer.SigFormerLoss`).

    Predictions are refined by the model's boundary filter and barrier pooling, then
    repeated back to frames. Metrics (percent): ``macro_f1`` (the OpenPack metric on
    1-second slots, Null ignored, averaged over the classes that are not ignored:
    :func:`~actseg_lib.metrics.openpack_macro_f1`), the
    frame metrics ``acc``, ``edit``, ``f1@k`` and ``score`` as :class:`SegmentationTask`;
    and every one of them again for each boundary threshold of ``thresholds`` and with no
    refinement at all, keyed ``"<metric> thr <threshold>"`` (``thr none``).
    """

    name = "boundary_segmentation"
    collate = staticmethod(collate_segmentation)
    to_device = staticmethod(batch_to_device)
    THRESHOLDS = (0.5, 0.7, 0.85, 0.95)

    def __init__(self, background=(), fps: float = 30.0, thresholds=THRESHOLDS, ignore_labels=(), **loss_weights):
        from ..models.sigformer import SigFormerLoss

        self.background, self.fps, self.thresholds = tuple(background), float(fps), tuple(thresholds)
        self.ignore_labels = tuple(ignore_labels)  # classes never scored (SynthAct's Null index)
        self.criterion = SigFormerLoss(**loss_weights)

    def loss(self, model, batch: dict) -> tuple[torch.Tensor, dict]:
        out = model(batch["x"], batch["mask"])
        return self.criterion(out, batch["labels"], batch["mask"], _unwrapped(model).frames_per_token)

    @torch.no_grad()
    def predict(self, model, batch: dict) -> list[dict]:
        """Per sequence: class probabilities [K, N], boundary probabilities [N], the true
        frame labels [T] and what the refinement needs."""
        net = _unwrapped(model)
        out = model(batch["x"], batch["mask"])
        probs = out.class_logits.float().softmax(1).cpu()
        boundary = torch.sigmoid(out.boundary_logits.float()).cpu()
        labels = batch["labels"].cpu().numpy()
        items = []
        for b, n in enumerate(batch["lengths"].tolist()):
            seconds = int(out.token_mask[b].sum())
            items.append(
                {
                    "probs": probs[b, :, :seconds],
                    "boundary": boundary[b, :seconds],
                    "labels": labels[b, :n],
                    "frames_per_token": net.frames_per_token,
                    "threshold": net.boundary_threshold,
                    "kernel": net.barrier_kernel,
                    "alpha": net.barrier_alpha,
                }
            )
        return items

    @staticmethod
    def frame_predictions(items: list[dict], threshold: float | None) -> list[np.ndarray]:
        """Each sequence's per-frame labels after refinement at ``threshold`` (the model's
        when None; ``inf`` keeps no boundary, which pools each window whole; ``"none"``
        skips refinement)."""
        from ..models.sigformer import local_barrier_pooling

        preds = []
        for item in items:
            probs = item["probs"]
            if threshold != "none":
                tau = item["threshold"] if threshold is None else threshold
                mask = torch.ones(1, probs.shape[1], dtype=torch.bool)
                probs = local_barrier_pooling(
                    probs[None], item["boundary"][None], mask, tau, item["kernel"], item["alpha"]
                )[0]
            seconds = probs.argmax(0).numpy()
            preds.append(np.repeat(seconds, item["frames_per_token"])[: len(item["labels"])])
        return preds

    def score_predictions(self, preds: list[np.ndarray], truths: list[np.ndarray], num_classes: int) -> dict:
        """The metrics (percent) of per-frame predictions against per-frame truths."""
        from ..metrics.openpack import openpack_macro_f1

        scores = frame_scores(preds, truths, self.background)
        times = [np.arange(len(y), dtype=np.int64) * 1000 // int(round(self.fps)) for y in truths]
        classes = tuple(k for k in range(num_classes) if k not in self.ignore_labels)
        # a second predicted as an ignored class (Null) is a miss for whichever operation it was
        preds = [np.where(np.isin(p, self.ignore_labels), IGNORE_INDEX, p) for p in preds]
        scores["macro_f1"] = 100.0 * openpack_macro_f1(
            times, preds, times, truths, classes=classes, null_id=IGNORE_INDEX
        )
        return scores

    def metrics(self, items: list[dict]) -> dict:
        truths = [item["labels"] for item in items]
        num_classes = int(items[0]["probs"].shape[0])
        result = self.score_predictions(self.frame_predictions(items, None), truths, num_classes)
        for threshold in (*self.thresholds, "none"):
            scores = self.score_predictions(self.frame_predictions(items, threshold), truths, num_classes)
            result.update({f"{key} thr {threshold}": value for key, value in scores.items()})
        return result


class FrameBoundarySegmentationTask:
    """Segmentation by a model with per-frame class and boundary logits at every stage and
    its own loss (InterAct: :class:`~actseg_lib.models.interact.InterActLoss`).

    Predictions: the last stage's argmax, smoothed by ASRF's boundary-based refinement
    (:func:`actseg_lib.postprocess.asrf_smoothing`) at the model's ``boundary_threshold``
    and ``peak_distance``. Metrics (percent): the frame metrics of
    :class:`SegmentationTask` on the smoothed predictions, and the same again without
    smoothing, keyed ``"<metric> raw"``.
    """

    name = "frame_boundary_segmentation"
    collate = staticmethod(collate_segmentation)
    to_device = staticmethod(batch_to_device)

    def __init__(self, background=(), **loss_weights):
        from ..models.interact import InterActLoss

        self.background = tuple(background)
        self.criterion = InterActLoss(**loss_weights)

    def loss(self, model, batch: dict) -> tuple[torch.Tensor, dict]:
        return self.criterion(model(batch["x"], batch["mask"]), batch["labels"], batch["mask"])

    @torch.no_grad()
    def predict(self, model, batch: dict) -> list[dict]:
        """Per sequence: raw and smoothed frame predictions [T], the boundary probability
        [T] and the true labels [T]."""
        from ..postprocess import asrf_smoothing

        net = _unwrapped(model)
        out = model(batch["x"], batch["mask"])
        pred = out.action_logits[-1].argmax(1).cpu().numpy()  # [B, T]
        boundary = torch.sigmoid(out.boundary_logits[-1].float()).cpu().numpy()  # [B, T]
        labels = batch["labels"].cpu().numpy()
        items = []
        for b, n in enumerate(batch["lengths"].tolist()):
            smoothed = asrf_smoothing(pred[b, :n], boundary[b, :n], net.boundary_threshold, net.peak_distance)
            items.append(
                {"raw": pred[b, :n], "smoothed": smoothed, "boundary": boundary[b, :n], "labels": labels[b, :n]}
            )
        return items

    def metrics(self, items: list[dict]) -> dict:
        truths = [item["labels"] for item in items]
        result = frame_scores([item["smoothed"] for item in items], truths, self.background)
        raw = frame_scores([item["raw"] for item in items], truths, self.background)
        result.update({f"{key} raw": value for key, value in raw.items()})
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

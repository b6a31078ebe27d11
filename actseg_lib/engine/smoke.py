"""One training step of any registered model on random inputs of the right shapes: what
the full-preset smoke test (``tests/test_full_presets.py``) and the GPU benchmark
(``benchmarks/bench_gpu.py``) both run.

The model, its task (loss from the registry entry), the optimiser and the learning-rate
schedule are built as :func:`~actseg_lib.engine.run.train_model` builds them; the step is
the trainer's inner loop (autocast, loss, backward, gradient clipping, optimiser and
scheduler step). Only the data is made up: :func:`example_batch` draws tensors shaped as
the data pipeline's batches of the dataset the preset is written for.

Shapes (batch ``B``, frames ``T``):

* segmentation: ``x`` [B, T, C], ``labels``, ``boundaries`` [B, T], ``mask`` [B, T],
  ``lengths`` [B] (``collate_segmentation``'s batch). ``C`` is the preset's
  ``in_channels``; a preset that leaves its inputs to the data (a ``data.inputs`` list and
  an ``input_layout`` argument) gets each input at the width of :data:`INPUT_CHANNELS`.
  Labels are runs of random classes, so there are boundaries; event channels are sparse
  0/1 bits, as the data pipeline keeps them.
* recognition: ``rgb`` [B, T, 3, H, W] and ``skeleton2d`` [B, T, J, 2] in [0, 1],
  ``label`` [B], with ``T`` and ``J`` from the preset and ``H = W`` from
  :data:`IMAGE_SIZE` (or ``image_size``).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import torch

from ..common.openpack import OPENPACK_OPERATIONS
from ..models.registry import build_model, count_parameters, model_config, model_entry
from .config import TrainConfig
from .optim import build_optimizer, build_scheduler
from .run import data_model_kwargs, make_task
from .trainer import apply_gradients

# Channels per frame of each named segmentation input at the real datasets the presets
# are written for (used only where a preset leaves its inputs to the data).
INPUT_CHANNELS = {
    "features": 2048,  # I3D features (MS-TCN's Breakfast, 50Salads, GTEA bundles)
    "skeleton3d": 150,  # PKU-MMD, NTU: 2 bodies x 25 joints x 3 coordinates
    "imu": 24,  # OpenPack: 4 IMUs x (acceleration, angular velocity) x 3 axes
    "imu_acc": 12,  # OpenPack: 4 IMUs x acceleration x 3 axes
    "skeleton2d": 34,  # OpenPack: 17 COCO keypoints x 2 coordinates
    "events": 2,  # OpenPack: handheld scanner, label printer
}
# classes where a preset leaves them to the data: OpenPack's ten operations (Null ignored)
DATA_CLASSES = len(OPENPACK_OPERATIONS)
FPS = 30.0  # frame rate of the segmentation inputs (OpenPack's, NTU's, PKU-MMD's clock)
# frame size of the clips each recognition preset is set for: SynthAct's full (112) and
# reduced (48) clips
IMAGE_SIZE = {"full": 112, "reduced": 48}
SEGMENT_FRAMES = 64  # mean length of a run of one label in the example labels
EVENT_EVERY = 90  # frames between events, on average (3 seconds at 30 fps)


@dataclass
class ExampleData:
    """A stand-in for prepared data: what :func:`~actseg_lib.engine.run.train_model` reads
    of a :class:`~actseg_lib.data.prepare.SegmentationData` or ``RecognitionData`` to
    build the model and its task."""

    num_classes: int
    layout: tuple = ()  # segmentation: ((input name, channels), ...)
    fps: float = FPS
    num_joints: int = 0  # recognition
    num_frames: int = 0  # recognition
    background: tuple = ()
    ignore_labels: tuple = ()

    @property
    def in_channels(self) -> int:
        return sum(channels for _, channels in self.layout)

    def model_kwargs(self) -> dict:
        if self.layout:
            return {"in_channels": self.in_channels, "num_classes": self.num_classes}
        return {"num_classes": self.num_classes, "num_joints": self.num_joints, "num_frames": self.num_frames}

    def stream_kwargs(self) -> dict:
        return {"input_layout": [list(item) for item in self.layout], "fps": self.fps}


def example_data(name: str, size: str = "full") -> ExampleData:
    """The shapes of the data the preset ``name`` at ``size`` is written for."""
    entry = model_entry(name)
    config = model_config(name, size)
    model = config["model"]
    classes = model.get("num_classes", DATA_CLASSES)
    if entry.task == "recognition":
        return ExampleData(classes, num_joints=model["num_joints"], num_frames=model["num_frames"])
    if "in_channels" in model:  # the preset names its input width
        return ExampleData(classes, layout=(("x", model["in_channels"]),))
    inputs = config["data"].get("inputs")
    if not inputs:
        raise ValueError(f"{name} ({size}): neither model.in_channels nor data.inputs says what its input is")
    return ExampleData(classes, layout=tuple((str(n), INPUT_CHANNELS[n]) for n in inputs))


def _runs_of_labels(length: int, classes: int, generator: torch.Generator) -> torch.Tensor:
    """[length] labels in runs of about SEGMENT_FRAMES frames, neighbours different."""
    labels = torch.empty(length, dtype=torch.long)
    start, label = 0, int(torch.randint(classes, (1,), generator=generator))
    while start < length:
        run = int(torch.randint(SEGMENT_FRAMES // 2, 3 * SEGMENT_FRAMES // 2 + 1, (1,), generator=generator))
        labels[start : start + run] = label
        label = (label + 1 + int(torch.randint(max(1, classes - 1), (1,), generator=generator))) % classes
        start += run
    return labels


def example_batch(
    name: str,
    size: str = "full",
    batch_size: int = 1,
    length: int | None = None,
    ragged: bool = False,
    image_size: int | None = None,
    seed: int = 0,
) -> dict:
    """A random batch for model ``name`` at ``size`` (shapes in the module docstring), on
    the CPU, made by the task's own collate function.

    ``length``: frames per sequence (segmentation; recognition clips have the preset's
    ``num_frames``). ``ragged``: every sequence after the first a quarter shorter, so the
    batch holds padding and the masks matter.
    """
    entry = model_entry(name)
    data = example_data(name, size)
    generator = torch.Generator().manual_seed(seed)
    if entry.task == "recognition":
        if length is not None and length != data.num_frames:
            raise ValueError(f"{name} ({size}): clips have {data.num_frames} frames, not {length}")
        T, J, image_size = data.num_frames, data.num_joints, image_size or IMAGE_SIZE[size]
        return {
            "rgb": torch.rand(batch_size, T, 3, image_size, image_size, generator=generator),
            "skeleton2d": torch.rand(batch_size, T, J, 2, generator=generator),
            "label": torch.randint(data.num_classes, (batch_size,), generator=generator),
        }
    if length is None:
        raise ValueError(f"{name}: a segmentation batch needs a length (frames per sequence)")
    items = []
    for b in range(batch_size):
        n = length if b == 0 or not ragged else max(1, 3 * length // 4)
        parts = []
        for input_name, channels in data.layout:
            if input_name == "events":  # 0/1 bits, left unstandardised by the data pipeline
                parts.append((torch.rand(n, channels, generator=generator) < 1 / EVENT_EVERY).float())
            else:  # standardised channels
                parts.append(torch.randn(n, channels, generator=generator))
        labels = _runs_of_labels(n, data.num_classes, generator)
        boundaries = torch.zeros(n)
        boundaries[1:] = (labels[1:] != labels[:-1]).float()
        items.append({"x": torch.cat(parts, dim=1), "labels": labels, "boundaries": boundaries})
    from ..data.datasets import collate_segmentation

    return collate_segmentation(items)


@dataclass
class Example:
    """A model ready to train one step on a batch, as the trainer would."""

    name: str
    size: str
    model: torch.nn.Module
    task: object
    config: TrainConfig
    optimizer: torch.optim.Optimizer
    scheduler: object
    batch: dict
    device: torch.device

    def step(self, amp_dtype: torch.dtype | None = None) -> torch.Tensor:
        """One training step, the trainer's inner loop; returns the loss (detached)."""
        with torch.autocast(self.device.type, dtype=amp_dtype or torch.bfloat16, enabled=amp_dtype is not None):
            loss, _ = self.task.loss(self.model, self.batch)
        apply_gradients(loss, self.model, self.optimizer, self.config.clip_grad_norm, self.scheduler)
        return loss.detach()


def build_example(
    name: str,
    size: str = "full",
    batch_size: int | None = None,
    length: int | None = None,
    ragged: bool = False,
    device="cpu",
    image_size: int | None = None,
    seed: int = 0,
    model_overrides: dict | None = None,
) -> Example:
    """Model, task, optimiser and schedule of ``name`` at ``size`` as ``train_model``
    builds them (the model config widened by the data's kwargs, then ``model_overrides``),
    and a random batch for it. ``batch_size`` defaults to the preset's; the schedule
    counts one step an epoch (its warm-up is then ``warmup_epochs`` steps)."""
    entry = model_entry(name)
    config = model_config(name, size)
    train = TrainConfig.from_dict({**config["train"], **({"batch_size": batch_size} if batch_size else {})})
    data = example_data(name, size)
    model_kwargs = {**config["model"], **data_model_kwargs(entry.model_class, data), **(model_overrides or {})}
    torch.manual_seed(seed)
    device = torch.device(device)
    with device:  # parameters made where they train: the largest presets start in seconds on a GPU
        model = build_model(name, size, **model_kwargs).to(device).train()
    task = make_task(entry, data, config["loss"], config["data"])
    batch = example_batch(name, size, train.batch_size, length, ragged, image_size, seed)
    batch = task.to_device(batch, device)
    optimizer = build_optimizer(model, train)
    scheduler = build_scheduler(optimizer, 1, train)
    return Example(name, size, model, task, train, optimizer, scheduler, batch, device)


def _fingerprint(p: torch.Tensor) -> tuple[float, float]:
    """Sum and sum of squares in float64: any update changes them (a copy of every
    parameter would double the memory of the largest presets)."""
    values = p.detach().double()
    return float(values.sum()), float(values.square().sum())


def _gradient_state(grad: torch.Tensor | None) -> str:
    if grad is None:
        return "none"
    if not torch.isfinite(grad).all():
        return "nonfinite"
    return "zero" if not grad.any() else "ok"


def smoke_step(name: str, size: str = "full", batch_size: int = 1, length: int | None = None, **kwargs) -> dict:
    """Build ``name`` at ``size`` and train it one step on a random batch (CPU unless
    ``device=`` says otherwise; other keywords go to :func:`build_example`).

    Returns ``seconds`` (the step), ``build_seconds``, ``parameters``, ``loss``, and names
    of trainable parameters: ``no_grad`` (no gradient reached them), ``nonfinite_grad``,
    ``zero_grad`` (a gradient of zeros: e.g. upstream of a layer that starts at zero) and
    ``unchanged`` (the step left them as they were)."""
    t0 = time.perf_counter()
    example = build_example(name, size, batch_size, length, **kwargs)
    named = [(n, p) for n, p in example.model.named_parameters() if p.requires_grad]
    before = {n: _fingerprint(p) for n, p in named}
    grads = {}

    def check_gradients(*_):  # after backward and clipping, before the optimiser reads them
        grads.update({n: _gradient_state(p.grad) for n, p in named})

    hook = example.optimizer.register_step_pre_hook(check_gradients)
    t1 = time.perf_counter()
    loss = float(example.step())
    seconds = time.perf_counter() - t1
    hook.remove()
    return {
        "model": name,
        "size": size,
        "batch_size": example.config.batch_size,
        "batch": {k: list(v.shape) for k, v in example.batch.items() if torch.is_tensor(v)},
        "seconds": seconds,
        "build_seconds": t1 - t0,
        "parameters": count_parameters(example.model),
        "loss": loss,
        "loss_finite": math.isfinite(loss),
        "no_grad": [n for n, state in grads.items() if state == "none"],
        "nonfinite_grad": [n for n, state in grads.items() if state == "nonfinite"],
        "zero_grad": [n for n, state in grads.items() if state == "zero"],
        "unchanged": [n for n, p in named if _fingerprint(p) == before[n]],
    }

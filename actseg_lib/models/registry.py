"""The model registry: every model of the book by name, with its configurations as data.

Each entry holds a builder, the task it solves and, per size (``"reduced"`` for a
2-core CPU in minutes, ``"full"`` for the paper's setting on a GPU), three plain dicts:

* ``model``: the builder's keyword arguments;
* ``train``: the training recipe (fields of :class:`actseg_lib.engine.TrainConfig`);
* ``data``: how samples become inputs (``inputs``, ``sample_rate``, ...);
* ``loss``: the task loss's weights.

``build_model(name, size, **overrides)`` builds the module; ``model_config`` returns a
copy of the whole configuration so callers can read or change it before building.
"""

from __future__ import annotations

import copy
import inspect
from collections.abc import Callable
from dataclasses import dataclass, field

SIZES = ("reduced", "full")
# "boundary_segmentation": segmentation by a model with its own class and boundary outputs
# (SigFormer); same data as "segmentation", its own loss and refinement.
# "frame_boundary_segmentation": per-frame class and boundary logits at every stage, the
# model's own loss, ASRF boundary smoothing at inference (InterAct)
TASKS = ("segmentation", "boundary_segmentation", "frame_boundary_segmentation", "recognition")
SECTIONS = ("model", "train", "data", "loss")


@dataclass(frozen=True)
class ModelEntry:
    name: str
    builder: Callable
    task: str  # one of TASKS
    sizes: dict = field(repr=False)
    paper: str = ""


_REGISTRY: dict[str, ModelEntry] = {}


def register_model(name: str, *, task: str, sizes: dict, paper: str = ""):
    """Decorator: register ``builder`` under ``name`` with its per-size configurations."""
    if task not in TASKS:
        raise ValueError(f"register_model({name!r}): task must be one of {TASKS}, got {task!r}")
    missing = [s for s in SIZES if s not in sizes]
    if missing:
        raise ValueError(f"register_model({name!r}): sizes lacks {missing}")
    for size, config in sizes.items():
        unknown = set(config) - set(SECTIONS)
        if unknown:
            raise ValueError(f"register_model({name!r}): size {size!r} has unknown sections {sorted(unknown)}")

    def decorate(builder):
        if name in _REGISTRY and _REGISTRY[name].builder is not builder:
            raise ValueError(f"model name {name!r} is already registered")
        _REGISTRY[name] = ModelEntry(name, builder, task, sizes, paper)
        return builder

    return decorate


def _ensure_loaded() -> None:
    from . import _catalogue  # noqa: F401  (imports every model file, which registers it)


def list_models() -> list[str]:
    _ensure_loaded()
    return sorted(_REGISTRY)


def model_entry(name: str) -> ModelEntry:
    _ensure_loaded()
    if name not in _REGISTRY:
        raise KeyError(f"unknown model {name!r}; registered: {', '.join(sorted(_REGISTRY))}")
    return _REGISTRY[name]


def model_config(name: str, size: str = "reduced") -> dict:
    """A deep copy of ``{"model", "train", "data", "loss"}`` for ``name`` at ``size``."""
    entry = model_entry(name)
    if size not in entry.sizes:
        raise ValueError(f"size: expected one of {tuple(entry.sizes)}, got {size!r}")
    config = copy.deepcopy(entry.sizes[size])
    return {section: config.get(section, {}) for section in SECTIONS}


def build_model(name: str, size: str = "reduced", **overrides):
    """The model ``name`` at ``size``, with keyword ``overrides`` of its ``model`` config.

    >>> model = build_model("ms_tcn", "reduced", in_channels=6, num_classes=7)
    """
    entry = model_entry(name)
    kwargs = model_config(name, size)["model"]
    accepted = set(inspect.signature(entry.builder).parameters)
    unknown = set(overrides) - accepted
    if unknown:
        raise TypeError(
            f"build_model({name!r}): unknown argument(s) {sorted(unknown)}; {name} accepts {sorted(accepted)}"
        )
    kwargs.update(overrides)
    return entry.builder(**kwargs)


def count_parameters(model) -> int:
    """Trainable parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)

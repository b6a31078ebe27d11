"""The model registry: every model of the book by name, with its configuration as data
and what the engine needs to know about it.

One call registers a model, at the end of its file::

    register_model(
        "ms_tcn",
        MSTCN,                      # the nn.Module; its constructor takes keywords only
        task="segmentation",        # "segmentation" or "recognition": which data and engine task
        paper="farha2019mstcn",     # the key in book/references.bib
        version=1,                  # bump when anything changes the numbers it produces
        full={                      # the paper's configuration, each value written once
            "model": {...}, "train": {...}, "data": {...}, "loss": {...},
        },
        reduced={"model": {...}, "train": {...}},  # only what the CPU size changes
    )

and optionally, for what is specific to the paper (the engine calls them, and names no
paper):

* ``loss``: a class built with the ``loss`` section's keywords; an instance is called
  ``criterion(output, batch, model) -> (loss, {part: float})`` with the model's forward
  output, the batch dict (``x``, ``mask``, ``labels``, ``lengths`` for segmentation) and
  the model itself (unwrapped from DDP). Default: MS-TCN's stage-wise loss for
  segmentation (:class:`actseg_lib.losses.SegmentationLoss`), cross-entropy for
  recognition.
* ``decoder``: an object with ``items(model, output, batch) -> list[dict]``, one dict per
  sequence holding at least ``"labels"`` (its true frame labels), and
  ``predictions(items) -> {variant: [frame labels per sequence]}``: the frame predictions
  to score, ``""`` the one reported, any other key scored again as ``"<metric>
  <variant>"``. Default: the last stage's argmax.
* ``metrics``: extra segmentation metrics beyond the frame metrics; ``("macro_f1",)`` adds
  OpenPack's macro F1 on 1-second slots.

A key of ``full`` that the reduced size does not have is removed with the value
:data:`UNSET` (``reduced={"train": {"optimizer": "adamw", "momentum": UNSET}}``: the
paper's SGD momentum means nothing to AdamW).

``model_config(name, size)`` returns the merged sections; ``build_model(name, size,
**overrides)`` builds the module.
"""

from __future__ import annotations

import copy
import inspect
from dataclasses import dataclass, field
from typing import Any

SIZES = ("reduced", "full")
TASKS = ("segmentation", "recognition")
SECTIONS = ("model", "train", "data", "loss")
METRICS = ("macro_f1",)


class _Unset:
    def __repr__(self) -> str:
        return "UNSET"


UNSET = _Unset()  # in ``reduced``: remove this key of ``full``


@dataclass(frozen=True)
class ModelEntry:
    name: str
    model_class: type
    task: str  # one of TASKS
    paper: str
    version: int
    full: dict = field(repr=False)
    reduced: dict = field(repr=False)
    loss: Any = None
    decoder: Any = None
    metrics: tuple = ()

    def config(self, size: str) -> dict:
        """The sections at ``size``: ``full`` as written, ``reduced`` as ``full`` with the
        differences laid over it, section by section (a value :data:`UNSET` removes
        the key)."""
        if size not in SIZES:
            raise ValueError(f"size: expected one of {SIZES}, got {size!r}")
        merged = {section: copy.deepcopy(self.full.get(section, {})) for section in SECTIONS}
        if size == "reduced":
            for section, values in self.reduced.items():
                for key, value in values.items():
                    if value is UNSET:
                        del merged[section][key]
                    else:
                        merged[section][key] = copy.deepcopy(value)
        return merged


_REGISTRY: dict[str, ModelEntry] = {}


def register_model(
    name: str,
    model_class: type,
    *,
    task: str,
    paper: str,
    version: int,
    full: dict,
    reduced: dict,
    loss=None,
    decoder=None,
    metrics: tuple = (),
) -> ModelEntry:
    """Register ``model_class`` under ``name`` (see the module docstring)."""
    where = f"register_model({name!r})"
    if task not in TASKS:
        raise ValueError(f"{where}: task must be one of {TASKS}, got {task!r}")
    if not isinstance(version, int) or version < 1:
        raise ValueError(f"{where}: version must be an integer >= 1, got {version!r}")
    for label, config in (("full", full), ("reduced", reduced)):
        unknown = set(config) - set(SECTIONS)
        if unknown:
            raise ValueError(f"{where}: {label} has unknown sections {sorted(unknown)}; expected {SECTIONS}")
    for section, values in reduced.items():
        missing = sorted(key for key, value in values.items() if value is UNSET and key not in full.get(section, {}))
        if missing:
            raise ValueError(f"{where}: reduced[{section!r}] unsets {missing}, which full[{section!r}] does not have")
    unknown_metrics = set(metrics) - set(METRICS)
    if unknown_metrics:
        raise ValueError(f"{where}: unknown metrics {sorted(unknown_metrics)}; known: {METRICS}")
    signature = inspect.signature(model_class)
    positional = [
        p.name
        for p in signature.parameters.values()
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) and p.name != "self"
    ]
    if positional:
        raise TypeError(f"{where}: {model_class.__name__}'s constructor must take keywords only, has {positional}")
    accepted = set(signature.parameters)
    for label, config in (("full", full), ("reduced", reduced)):
        unknown = set(config.get("model", {})) - accepted
        if unknown:
            raise TypeError(f"{where}: {label}['model'] has {sorted(unknown)}, not arguments of {model_class.__name__}")
    if name in _REGISTRY and _REGISTRY[name].model_class is not model_class:
        raise ValueError(f"model name {name!r} is already registered")
    entry = ModelEntry(name, model_class, task, paper, version, full, reduced, loss, decoder, tuple(metrics))
    _REGISTRY[name] = entry
    return entry


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
    return model_entry(name).config(size)


def build_model(name: str, size: str = "reduced", **overrides):
    """The model ``name`` at ``size``, with keyword ``overrides`` of its ``model`` config.

    >>> model = build_model("ms_tcn", "reduced", in_channels=6, num_classes=7)
    """
    entry = model_entry(name)
    kwargs = entry.config(size)["model"]
    accepted = set(inspect.signature(entry.model_class).parameters)
    unknown = set(overrides) - accepted
    if unknown:
        raise TypeError(
            f"build_model({name!r}): unknown argument(s) {sorted(unknown)}; {name} accepts {sorted(accepted)}"
        )
    kwargs.update(overrides)
    return entry.model_class(**kwargs)


def count_parameters(model) -> int:
    """Trainable parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)

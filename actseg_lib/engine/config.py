"""The training recipe as data."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields

OPTIMIZERS = ("adam", "adamw", "sgd")
SCHEDULERS = ("none", "cosine", "step", "inverse_sqrt")
AMP_MODES = ("auto", "bf16", "off")


@dataclass
class TrainConfig:
    """How a model is trained. Every field has the default a reader would expect; each
    model's registry entry sets the paper's values (``model_config(name, size)["train"]``).

    ``scheduler``: ``"cosine"`` decays to zero after ``warmup_epochs`` of linear warm-up;
    ``"step"`` multiplies the rate by ``gamma`` every ``step_epochs``;
    ``"inverse_sqrt"`` (the Transformer's "Noam" schedule) warms up linearly over
    ``warmup_epochs`` (which must be positive) and then decays as the inverse square root
    of the step, sqrt(warm-up steps / step), so the rate is half the base rate at four
    times the warm-up. All are applied per optimisation step, so warm-up is smooth even
    with few epochs.
    ``amp``: ``"auto"`` uses bf16 autocast on CUDA and full precision on CPU.
    ``select_metric``: the validation metric (higher is better) that picks ``best.pt``.
    """

    epochs: int = 50
    batch_size: int = 1
    optimizer: str = "adam"
    lr: float = 5e-4
    weight_decay: float = 0.0
    momentum: float = 0.9  # SGD only
    scheduler: str = "none"
    warmup_epochs: float = 0.0
    step_epochs: int = 30
    gamma: float = 0.1
    clip_grad_norm: float | None = None
    amp: str = "auto"
    eval_every: int = 1
    select_metric: str = "score"
    seed: int = 0
    num_workers: int = 0

    def __post_init__(self):
        checks = [
            ("optimizer", self.optimizer in OPTIMIZERS, f"one of {OPTIMIZERS}"),
            ("scheduler", self.scheduler in SCHEDULERS, f"one of {SCHEDULERS}"),
            ("amp", self.amp in AMP_MODES, f"one of {AMP_MODES}"),
            ("epochs", isinstance(self.epochs, int) and self.epochs >= 1, "an integer >= 1"),
            ("batch_size", isinstance(self.batch_size, int) and self.batch_size >= 1, "an integer >= 1"),
            ("lr", self.lr > 0, "a positive number"),
            ("eval_every", isinstance(self.eval_every, int) and self.eval_every >= 1, "an integer >= 1"),
            ("warmup_epochs", 0 <= self.warmup_epochs <= self.epochs, f"between 0 and epochs ({self.epochs})"),
            (
                "warmup_epochs",
                self.scheduler != "inverse_sqrt" or self.warmup_epochs > 0,
                "positive with scheduler 'inverse_sqrt' (its decay is measured in warm-ups)",
            ),
            ("clip_grad_norm", self.clip_grad_norm is None or self.clip_grad_norm > 0, "None or a positive number"),
        ]
        for name, ok, expected in checks:
            if not ok:
                raise ValueError(f"train config {name!r}: expected {expected}, got {getattr(self, name)!r}")

    @classmethod
    def from_dict(cls, values: dict) -> TrainConfig:
        known = {f.name for f in fields(cls)}
        unknown = set(values) - known
        if unknown:
            raise ValueError(f"train config: unknown field(s) {sorted(unknown)}; known: {sorted(known)}")
        return cls(**values)

    def to_dict(self) -> dict:
        return asdict(self)

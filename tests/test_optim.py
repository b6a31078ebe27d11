"""Training recipe: validation of the config, the learning-rate schedules."""

import pytest
import torch

from actseg_lib.engine import TrainConfig
from actseg_lib.engine.optim import build_optimizer, build_scheduler, lr_factor


def test_cosine_with_warmup():
    config = TrainConfig(epochs=10, scheduler="cosine", warmup_epochs=2)
    steps = 5
    factors = [lr_factor(s, steps, config) for s in range(10 * steps)]
    assert factors[0] == pytest.approx(1 / 10)  # warm-up starts low ...
    assert factors[9] == pytest.approx(1.0)  # ... reaches the base rate after 2 epochs ...
    assert all(a <= b for a, b in zip(factors[:10], factors[1:10]))
    assert all(a >= b for a, b in zip(factors[10:], factors[11:]))  # ... then only decays
    assert factors[-1] < 0.01


def test_step_schedule_and_optimisers():
    config = TrainConfig(epochs=9, scheduler="step", step_epochs=3, gamma=0.5, optimizer="sgd", lr=0.1)
    model = torch.nn.Linear(2, 2)
    optimizer = build_optimizer(model, config)
    assert isinstance(optimizer, torch.optim.SGD)
    scheduler = build_scheduler(optimizer, steps_per_epoch=2, config=config)
    rates = []
    for _ in range(18):
        rates.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    assert rates[0] == pytest.approx(0.1) and rates[6] == pytest.approx(0.05) and rates[12] == pytest.approx(0.025)
    assert isinstance(build_optimizer(model, TrainConfig(optimizer="adamw")), torch.optim.AdamW)


@pytest.mark.parametrize(
    "field, value",
    [("optimizer", "lion"), ("scheduler", "poly"), ("epochs", 0), ("amp", "fp8"), ("lr", -1.0), ("warmup_epochs", 99)],
)
def test_bad_values_are_named(field, value):
    with pytest.raises(ValueError, match=f"train config '{field}'"):
        TrainConfig(**{field: value})


def test_unknown_fields_are_listed():
    with pytest.raises(ValueError, match="unknown field.*epoch"):
        TrainConfig.from_dict({"epoch": 3})


def test_inverse_sqrt_is_the_noam_schedule():
    """Linear warm-up, then the rate falls as 1/sqrt(step): at the end of epoch e it is
    min(e / W, sqrt(W / e)) of the base rate (W warm-up epochs), the per-epoch formula of
    "Attention is all you need" that SigFormer's official code steps once an epoch."""
    W, steps, epochs = 4, 3, 40
    config = TrainConfig(epochs=epochs, scheduler="inverse_sqrt", warmup_epochs=W)
    for e in range(1, epochs + 1):
        expected = min(e / W, (W / e) ** 0.5)
        assert lr_factor(e * steps - 1, steps, config) == pytest.approx(expected), e
    assert lr_factor(16 * steps - 1, steps, config) == pytest.approx(0.5)  # half at four warm-ups
    with pytest.raises(ValueError, match="warmup_epochs"):
        TrainConfig(epochs=10, scheduler="inverse_sqrt", warmup_epochs=0)

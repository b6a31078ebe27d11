"""Every full preset (the papers' configurations) builds and trains one step on the CPU.

Chapters train the reduced presets; the full ones only run on a GPU, so without this a
full preset could break (a width that no longer divides, a stage that is not reached)
and nobody would know before a GPU run. Each case builds the model, task, optimiser and
schedule as ``train_model`` does and takes one trainer step
(:func:`actseg_lib.engine.smoke.smoke_step`) on random inputs at the paper's widths, with
the shortest input that still reaches every part and a batch of two (the second
sequence a quarter shorter, so the masks matter). About 90 s in all on one core, and
SigFormer's 505 M parameters need about 10 GB: marked slow (``make test-lib`` runs it,
``make test-fast`` does not).
"""

import math

import pytest

from actseg_lib.engine.smoke import smoke_step
from actseg_lib.models import list_models, model_entry

# Frames per sequence of the segmentation presets: the fewest that reach every part.
SMOKE_LENGTHS = {
    # longer than the largest dilation (2^9 = 512) of the 10-layer stages, so every tap of
    # every layer reads real frames
    "ms_tcn": 1024,
    # two of the largest windows (2^9 = 512, the tenth block's)
    "asformer": 1024,
    # six stride-2 halvings leave T / 64 = 32 frames, one full window (2^5) of the last
    # encoder block; the stages read T / 4, T / 2 and T
    "interact": 2048,
    # 8 seconds at 30 fps: 8 tokens, more than the event mask's 7-second span (half-width
    # 3), and about 3 events a stream
    "sigformer": 240,
}
# Trainable parameters the loss does not reach, and why.
NOT_TRAINED = {
    # the backbone computes layer4 but the RGB tokens come from layer3 (feature_stage)
    "deformable3d": ("backbone.layers.3.",),
}
BATCH = 2


def full_presets() -> list[str]:
    return [name for name in list_models() if model_entry(name).full.get("model")]


def test_every_paper_has_a_full_preset_and_every_segmentation_preset_a_length():
    names = full_presets()
    assert {"star_transformer", "deformable3d", "sigformer", "interact"} <= set(names)
    segmentation = {n for n in names if model_entry(n).task == "segmentation"}
    assert segmentation <= set(SMOKE_LENGTHS), f"add a smoke length for {sorted(segmentation - set(SMOKE_LENGTHS))}"


@pytest.mark.slow
@pytest.mark.parametrize("name", full_presets())
def test_full_preset_takes_a_training_step(name):
    result = smoke_step(name, "full", batch_size=BATCH, length=SMOKE_LENGTHS.get(name), ragged=True)
    print(
        f"{name}: {result['parameters']:,} parameters, batch {result['batch']}, "
        f"build {result['build_seconds']:.1f} s, step {result['seconds']:.1f} s, loss {result['loss']:.3f}"
    )
    assert result["batch_size"] == BATCH
    assert math.isfinite(result["loss"]) and result["loss"] > 0
    exempt = NOT_TRAINED.get(name, ())
    no_grad = [n for n in result["no_grad"] if not n.startswith(exempt)]
    assert no_grad == [], f"{name}: no gradient reached {no_grad}"
    assert result["nonfinite_grad"] == [], f"{name}: non-finite gradients in {result['nonfinite_grad']}"
    # a parameter with a gradient moved; one without (a zero gradient upstream of a layer
    # that starts at zero, or one the loss does not reach) may stay where it is
    still = set(result["zero_grad"]) | set(result["no_grad"])
    stuck = [n for n in result["unchanged"] if n not in still]
    assert stuck == [], f"{name}: the step left {stuck} unchanged though they had gradients"
    assert len(result["zero_grad"]) + len(result["no_grad"]) < result["parameters"]

"""Versions of the shared behaviour that decides a run's numbers.

A recorded run (``records/``) and a cached run folder are keyed by the model's name and
``version`` (its registry entry), the versions below that apply to the run, and the
run's configuration (see :mod:`actseg_lib.engine.records`). Source text is not part of
the key: reformatting, renaming, moving code or editing a docstring keeps every record.

The rule: **when a change alters the numbers a run produces (its losses, weights,
predictions or scores), bump the version that covers the code you changed**, in the
same commit, and re-record the runs it applies to (``records/README.md``). A model's
own code (its file, its loss, its decoder) is covered by its registry ``version``.
Forgetting a bump is caught by the canary test (``tests/test_records.py``), which
re-trains one short recorded run per model and compares its numbers with the record.

Which runs a version applies to: every run gets TRAINER, NN, METRICS and DATA; a
segmentation run gets SEGMENTATION and POSTPROCESS, a recognition run RECOGNITION; a run
on SynthAct (``synthact:...``) gets SYNTHACT. See :func:`for_run`.
"""

from __future__ import annotations

# engine/trainer.py, optim.py, config.py (TrainConfig's defaults), seeding.py,
# distributed.py: the optimisation loop, optimisers and schedules, gradient clipping,
# autocast, seeding and random-number order, best-epoch selection.
TRAINER = 1

# nn/: the shared blocks the models are built from (attention, feed-forward,
# positional encodings, temporal convolutions, masks, deformable sampling, heat maps).
# A change of a block changes every model that uses it.
NN = 1

# The engine's segmentation task and its defaults: the default loss
# (losses.SegmentationLoss, MS-TCN's stage-wise loss), batching and padding
# (data.datasets.collate_segmentation), the default decoding (last stage's argmax) and
# which scores a run reports.
SEGMENTATION = 1

# The engine's recognition task: cross-entropy and its options, the clip augmentation
# (data/augment.py), batching, prediction and which scores a run reports.
RECOGNITION = 1

# metrics/: segmentation scores (frame accuracy, edit, F1@k), OpenPack's macro F1,
# top-k and mean-class accuracy.
METRICS = 1

# postprocess.py: inference-time refinement (ASRF smoothing, boundary peaks).
POSTPROCESS = 1

# Data preparation for every source: data/prepare.py (splits, inputs, normalisation,
# class and ignore rules), data/datasets.py (what a sample becomes as tensors),
# data/heatmaps.py, data/sources.py, data/formats/ (readers), data/store.py.
DATA = 1

# SynthAct's generator (data/synthact/): any change to what it generates. Also names
# SynthAct's on-disk cache (data.synthact.generate.DATA_VERSION is this number), so a
# bump regenerates the data too.
SYNTHACT = 4


def for_run(task: str, data: str) -> dict[str, int]:
    """The shared versions that apply to a run of ``task`` ("segmentation" or
    "recognition") on the ``data`` spec, by name."""
    versions = {"trainer": TRAINER, "nn": NN, "metrics": METRICS, "data": DATA}
    if task == "segmentation":
        versions.update(segmentation=SEGMENTATION, postprocess=POSTPROCESS)
    elif task == "recognition":
        versions.update(recognition=RECOGNITION)
    else:
        raise ValueError(f"task: expected 'segmentation' or 'recognition', got {task!r}")
    if data.partition(":")[0] == "synthact":
        versions.update(synthact=SYNTHACT)
    return versions

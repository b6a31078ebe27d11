"""Nothing is chosen on the test split: a whole run (:func:`train_model`) reads no test
sample while it trains and selects, and reads each one exactly once afterwards, with the
best validation epoch's weights in the model.

The samples are handed to the run through a sequence that logs every sample read, with
what the trainer was doing at the time (so a test score computed during training, for
selection, early stopping or a progress bar, fails here however it is computed)."""

import numpy as np
import torch
from tiny_data import TINY_MSTCN, tiny_samples

from actseg_lib.data.prepare import split_indices
from actseg_lib.engine import Trainer, train_model

SPEC = "mstcn:tiny"
EPOCHS = 6  # at lr 3e-2 the best validation epoch is the 4th, so "best" and "last" weights differ


class LoggedSamples:
    """A sequence of samples that logs each read: (index, trainer phase, whether the
    model then held the best validation epoch's weights)."""

    def __init__(self, samples):
        self._samples = samples
        self.trainer = None
        self.fitting = False
        self.reads: list[tuple[int, str, bool]] = []

    def __len__(self):
        return len(self._samples)

    def records(self):  # split rules read metadata only, not a sample
        return [{"subject": s.subject, "view": s.view, "meta": s.meta} for s in self._samples]

    def _holds_best(self) -> bool:
        t = self.trainer
        if t is None or t.best_state is None:
            return False
        return all(torch.equal(v.cpu(), t.best_state[k]) for k, v in t.model.state_dict().items())

    def __getitem__(self, i):
        if isinstance(i, slice):
            raise TypeError("LoggedSamples: index one sample at a time")
        t = self.trainer
        phase = "before" if t is None else "fit" if self.fitting else "after"
        self.reads.append((int(i), phase, phase == "after" and self._holds_best()))
        return self._samples[i]


def logged_run(monkeypatch, samples: LoggedSamples, epochs: int = EPOCHS, **kwargs) -> dict:
    init, fit = Trainer.__init__, Trainer.fit

    def logged_init(self, *args, **kwargs):
        init(self, *args, **kwargs)
        samples.trainer = self

    def logged_fit(self, *args, **kwargs):
        samples.fitting = True
        try:
            return fit(self, *args, **kwargs)
        finally:
            samples.fitting = False

    monkeypatch.setattr(Trainer, "__init__", logged_init)
    monkeypatch.setattr(Trainer, "fit", logged_fit)
    return train_model(
        "ms_tcn",
        SPEC,
        samples=samples,
        progress=False,
        overrides={"model": TINY_MSTCN, "train": {"epochs": epochs, "lr": 3e-2}},
        **kwargs,
    )


def test_the_test_split_is_read_once_after_selection(monkeypatch):
    samples = LoggedSamples(tiny_samples(num=16))
    splits = split_indices(tiny_samples(num=16), SPEC)
    test = set(splits["test"].tolist())
    assert test and len(splits["val"]) and samples.records()[0]["meta"]["split"] == "train"
    results = logged_run(monkeypatch, samples)

    early = [(i, phase) for i, phase, _ in samples.reads if i in test and phase != "after"]
    assert not early, f"test samples read before training and selection ended: {early}"
    late = [i for i, phase, _ in samples.reads if phase == "after"]
    assert sorted(late) == sorted(test), "after training, each test sample is read exactly once (and nothing else)"
    assert all(best for i, phase, best in samples.reads if phase == "after"), (
        "the test split is scored with the best validation epoch's weights"
    )
    assert results["best"]["epoch"] < EPOCHS, "the check needs a best epoch that is not the last"
    # selection used validation: every epoch was scored on it, and no record holds a test score
    assert [r["epoch"] for r in results["history"] if "val" in r] == list(range(1, EPOCHS + 1))
    assert not any("test" in r for r in results["history"])
    assert set(results["test"]) >= {"acc", "edit", "score"}


def test_no_test_split_read_when_test_evaluation_is_off(monkeypatch):
    samples = LoggedSamples(tiny_samples(num=16))
    test = set(split_indices(tiny_samples(num=16), SPEC)["test"].tolist())
    results = logged_run(monkeypatch, samples, epochs=2, evaluate_test=False)
    assert "test" not in results
    assert not [i for i, _, _ in samples.reads if i in test]
    assert np.isfinite(results["best"]["value"])

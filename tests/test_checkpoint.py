"""Checkpoints: atomic replacement, weights-only loading, clear errors."""

import os
import pickle

import pytest
import torch

from actseg_lib.engine.checkpoint import load_checkpoint, save_checkpoint
from actseg_lib.engine.seeding import rng_state, seed_everything, set_rng_state


def test_round_trip(tmp_path):
    state = {"model": {"w": torch.arange(4.0)}, "epoch": 3, "history": [{"loss": 1.5}]}
    save_checkpoint(state, tmp_path / "last.pt")
    back = load_checkpoint(tmp_path / "last.pt")
    assert back["epoch"] == 3 and back["history"] == [{"loss": 1.5}]
    torch.testing.assert_close(back["model"]["w"], torch.arange(4.0))
    assert sorted(os.listdir(tmp_path)) == ["last.pt"]  # no temporary file left behind


def test_a_failed_write_leaves_the_previous_checkpoint_intact(tmp_path, monkeypatch):
    path = tmp_path / "last.pt"
    save_checkpoint({"epoch": 1}, path)

    def crash_midway(obj, f, *args, **kwargs):
        f.write(b"half a checkpoint")
        raise KeyboardInterrupt  # e.g. Ctrl-C or a kill during the write

    monkeypatch.setattr(torch, "save", crash_midway)
    with pytest.raises(KeyboardInterrupt):
        save_checkpoint({"epoch": 2}, path)
    monkeypatch.undo()
    assert load_checkpoint(path)["epoch"] == 1
    assert sorted(os.listdir(tmp_path)) == ["last.pt"]


class Payload:
    def __reduce__(self):
        return (print, ("this would run on load",))


def test_loading_refuses_arbitrary_objects(tmp_path):
    path = tmp_path / "evil.pt"
    with open(path, "wb") as f:
        pickle.dump({"format": 1, "model": Payload()}, f, protocol=2)
    with pytest.raises(ValueError, match="weights-only"):
        load_checkpoint(path)


def test_clear_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="missing.pt"):
        load_checkpoint(tmp_path / "missing.pt")
    torch.save({"just": torch.zeros(1)}, tmp_path / "other.pt")
    with pytest.raises(ValueError, match="expected an actseg checkpoint"):
        load_checkpoint(tmp_path / "other.pt")


def test_rng_state_survives_a_weights_only_checkpoint(tmp_path):
    import random

    import numpy as np

    seed_everything(7)
    save_checkpoint({"rng": rng_state()}, tmp_path / "rng.pt")
    expected = (random.random(), np.random.rand(), torch.rand(1))
    seed_everything(99)
    set_rng_state(load_checkpoint(tmp_path / "rng.pt")["rng"])
    assert (random.random(), np.random.rand()) == expected[:2]
    assert torch.equal(torch.rand(1), expected[2])


def test_unreadable_checkpoints_are_explained_on_one_line(tmp_path):
    garbage, empty = tmp_path / "garbage.pt", tmp_path / "empty.pt"
    garbage.write_bytes(bytes(range(256)) * 3)
    empty.write_bytes(b"")
    for path in (garbage, empty):
        with pytest.raises(ValueError, match=f"checkpoint {path}: cannot be read") as error:
            load_checkpoint(path)
        assert "\n" not in str(error.value) and len(str(error.value)) < 300

"""recorded_run: a matching record is read, not retrained; a missing one is trained and
written under the run folder's name; a record of another run is refused."""

import json

import pytest

from actseg_lib.engine import cached_run_dir, recorded_run
from actseg_lib.engine import run as run_module


def _fake_training(calls):
    def train_model(name, data, size, out_dir, resume, overrides, progress):
        calls.append(overrides)
        out_dir.mkdir(parents=True, exist_ok=True)
        (out_dir / "results.json").write_text(
            json.dumps({"model": name, "size": size, "data": data, "test": {"top1": 42.0}, "train_time_s": 1.0})
        )

    return train_model


def test_a_missing_record_is_trained_once_then_read(tmp_path, monkeypatch):
    monkeypatch.setenv("ACTSEG_RUNS", str(tmp_path / "runs"))
    calls = []
    monkeypatch.setattr(run_module, "train_model", _fake_training(calls))
    overrides = {"train": {"seed": 1}}
    first = recorded_run("ms_tcn", "synthact:daily", "reduced", overrides, records=tmp_path / "records")
    second = recorded_run("ms_tcn", "synthact:daily", "reduced", overrides, records=tmp_path / "records")
    assert len(calls) == 1 and first["test"] == second["test"] == {"top1": 42.0}
    name = cached_run_dir("ms_tcn", "synthact:daily", "reduced", overrides).name
    assert second["record"] == str(tmp_path / "records" / f"{name}.json")
    recorded_run("ms_tcn", "synthact:daily", "reduced", {"train": {"seed": 2}}, records=tmp_path / "records")
    assert len(calls) == 2  # another configuration, another record


def test_a_record_of_another_run_is_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("ACTSEG_RUNS", str(tmp_path / "runs"))
    name = cached_run_dir("ms_tcn", "synthact:daily", "reduced").name
    (tmp_path / f"{name}.json").write_text(
        json.dumps({"model": "asformer", "size": "reduced", "data": "synthact:daily"})
    )
    with pytest.raises(ValueError, match="expected ms_tcn"):
        recorded_run("ms_tcn", "synthact:daily", "reduced", records=tmp_path)

"""Run keys and recorded runs.

The key covers what decides a run's numbers (model and its version, the shared versions
that apply, size, data, the merged configuration) and nothing else (source text);
recorded_run reads a matching record and otherwise trains once and records; every
committed record is found by its own call and says how to reproduce it; and each
model's canary, re-trained, reproduces its record (slow), so that a behaviour change
that forgot its version bump fails.
"""

import json
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import actseg_lib
from actseg_lib import versions
from actseg_lib.cli import _overrides, build_parser
from actseg_lib.engine import cached_run_dir, recorded_run, run_key
from actseg_lib.engine import records as records_module
from actseg_lib.engine.records import (
    LOSS_RTOL,
    canary_files,
    differences,
    record_files,
    records_dir,
    retrain,
    stale,
    train_command,
)
from actseg_lib.models import list_models, model_entry

DAILY = "synthact:daily"


# --- the key -------------------------------------------------------------------------


def test_the_same_call_gives_the_same_key():
    a = run_key("ms_tcn", DAILY, "reduced", {"model": {"num_layers": 4}, "train": {"seed": 1}})
    b = run_key("ms_tcn", DAILY, "reduced", {"train": {"seed": 1}, "model": {"num_layers": 4}})
    assert a == b and a.name == b.name and a.name.startswith("ms_tcn-reduced-synthact-daily-")


@pytest.mark.parametrize(
    "change",
    [
        {"overrides": {"train": {"seed": 1}}},
        {"overrides": {"model": {"num_layers": 4}}},
        {"overrides": {"loss": {"smoothing_weight": 0.3}}},
        {"overrides": {"data": {"sample_rate": 2}}},
        {"size": "full"},
        {"data": "synthact:packaging"},
        {"every": 3},
    ],
    ids=lambda c: json.dumps(c),
)
def test_any_setting_changes_the_key(change):
    base = {"name": "ms_tcn", "data": DAILY, "size": "reduced", "overrides": None, "every": 1}
    assert run_key(**{**base, **change}).name != run_key(**base).name


def test_a_default_written_out_keeps_the_key():
    """The train section is keyed with the trainer's defaults filled in."""
    assert run_key("ms_tcn", DAILY, overrides={"train": {"num_workers": 0}}) == run_key("ms_tcn", DAILY)


def test_a_model_version_bump_changes_only_that_models_keys():
    ms_tcn, asformer = run_key("ms_tcn", DAILY), run_key("asformer", DAILY)
    entry = model_entry("ms_tcn")
    object.__setattr__(entry, "version", entry.version + 1)  # a frozen dataclass
    try:
        assert run_key("ms_tcn", DAILY).name != ms_tcn.name
        assert run_key("asformer", DAILY) == asformer
    finally:
        object.__setattr__(entry, "version", entry.version - 1)
    assert run_key("ms_tcn", DAILY) == ms_tcn


@pytest.mark.parametrize(
    "version, segmentation, recognition",
    [
        ("TRAINER", True, True),
        ("NN", True, True),
        ("METRICS", True, True),
        ("DATA", True, True),
        ("SYNTHACT", True, True),
        ("SEGMENTATION", True, False),
        ("POSTPROCESS", True, False),
        ("RECOGNITION", False, True),
    ],
)
def test_a_shared_version_bump_changes_the_keys_it_applies_to(monkeypatch, version, segmentation, recognition):
    runs = {"segmentation": ("ms_tcn", DAILY), "recognition": ("star_transformer", "synthact:clips")}
    before = {task: run_key(*call).name for task, call in runs.items()}
    monkeypatch.setattr(versions, version, getattr(versions, version) + 1)
    after = {task: run_key(*call).name for task, call in runs.items()}
    assert (after["segmentation"] != before["segmentation"]) is segmentation
    assert (after["recognition"] != before["recognition"]) is recognition


def test_synthact_version_applies_to_synthact_data_only(monkeypatch):
    real = run_key("ms_tcn", "mstcn:/data/50salads")
    monkeypatch.setattr(versions, "SYNTHACT", versions.SYNTHACT + 1)
    assert run_key("ms_tcn", "mstcn:/data/50salads") == real


def test_the_key_ignores_source_text(tmp_path):
    """A copy of the library whose every file gains a comment line and a changed
    docstring gives the same keys: source text is not an ingredient."""
    copy = tmp_path / "actseg_lib"
    shutil.copytree(Path(actseg_lib.__file__).parent, copy, ignore=shutil.ignore_patterns("__pycache__"))
    for path in copy.rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        path.write_text(f"# edited\n{text}".replace('"""', '"""Edited. ', 1), encoding="utf-8")
    code = (
        "import json; from actseg_lib.engine import run_key; "
        "print(json.dumps([run_key(n, d).name for n, d in "
        "[('ms_tcn', 'synthact:daily'), ('interact', 'synthact:daily'), ('deformable3d', 'synthact:clips')]]))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, env={"PYTHONPATH": str(tmp_path)}, capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    assert "Edited." in (copy / "engine" / "records.py").read_text()
    here = [run_key(n, d).name for n, d in [("ms_tcn", DAILY), ("interact", DAILY), ("deformable3d", "synthact:clips")]]
    assert json.loads(out.stdout) == here


def test_a_run_folder_is_named_by_the_key(tmp_path):
    overrides = {"train": {"seed": 2}}
    assert (
        cached_run_dir("ms_tcn", DAILY, "reduced", overrides, root=tmp_path)
        == tmp_path / run_key("ms_tcn", DAILY, "reduced", overrides).name
    )


# --- recorded_run --------------------------------------------------------------------


def _fake_training(calls):
    def train_model(name, data, size, out_dir, resume, overrides, progress, samples):
        calls.append(overrides)
        out_dir.mkdir(parents=True, exist_ok=True)
        (out_dir / "results.json").write_text(
            json.dumps({"model": name, "size": size, "data": data, "test": {"top1": 42.0}, "train_time_s": 1.0})
        )

    return train_model


def test_a_missing_record_is_trained_once_then_read(tmp_path, monkeypatch):
    monkeypatch.setenv("ACTSEG_RUNS", str(tmp_path / "runs"))
    calls = []
    monkeypatch.setattr(records_module._run, "train_model", _fake_training(calls))
    overrides = {"model": {"num_layers": 4}, "train": {"seed": 1}}
    first = recorded_run("ms_tcn", DAILY, "reduced", overrides, records=tmp_path / "records")
    second = recorded_run("ms_tcn", DAILY, "reduced", overrides, records=tmp_path / "records")
    assert len(calls) == 1 and first["test"] == second["test"] == {"top1": 42.0}
    key = run_key("ms_tcn", DAILY, "reduced", overrides)
    assert second["record"] == str(tmp_path / "records" / f"{key.name}.json")
    # the record carries its call, its key and how to reproduce it
    assert second["call"] == {"name": "ms_tcn", "data": DAILY, "size": "reduced", "overrides": overrides, "every": 1}
    assert second["key"] == key.ingredients and second["key"]["config"]["train"]["seed"] == 1
    assert second["reproduce"]["command"] == (
        "actseg train ms_tcn --data synthact:daily --size reduced --set model.num_layers=4 --set train.seed=1"
    )
    assert stale(second["record"]) is None
    recorded_run("ms_tcn", DAILY, "reduced", {"train": {"seed": 2}}, records=tmp_path / "records")
    assert len(calls) == 2  # another configuration, another record


def test_a_record_of_another_run_is_refused(tmp_path):
    name = run_key("ms_tcn", DAILY).name
    (tmp_path / f"{name}.json").write_text(json.dumps({"model": "asformer", "size": "reduced", "data": DAILY}))
    with pytest.raises(ValueError, match="expected ms_tcn"):
        recorded_run("ms_tcn", DAILY, "reduced", records=tmp_path)


def test_without_a_records_folder_the_run_trains_and_records_nothing(tmp_path, monkeypatch):
    monkeypatch.setenv("ACTSEG_RUNS", str(tmp_path / "runs"))
    monkeypatch.setattr(records_module, "records_dir", lambda: None)
    calls = []
    monkeypatch.setattr(records_module._run, "train_model", _fake_training(calls))
    results = recorded_run("ms_tcn", DAILY)
    assert len(calls) == 1 and results["record"] is None and results["test"] == {"top1": 42.0}


def test_records_are_found_through_the_environment_or_the_clone(tmp_path, monkeypatch):
    monkeypatch.setenv("ACTSEG_RECORDS", str(tmp_path))
    assert records_dir() == tmp_path
    monkeypatch.delenv("ACTSEG_RECORDS")
    clone = Path(actseg_lib.__file__).resolve().parents[1]
    assert records_dir() == clone / "records"  # the tests run from a clone


def test_a_bumped_version_makes_a_record_stale(tmp_path, monkeypatch):
    monkeypatch.setattr(records_module._run, "train_model", _fake_training([]))
    monkeypatch.setenv("ACTSEG_RUNS", str(tmp_path / "runs"))
    path = recorded_run("ms_tcn", DAILY, records=tmp_path)["record"]
    assert stale(path) is None
    monkeypatch.setattr(versions, "METRICS", versions.METRICS + 1)
    assert "changed: versions" in stale(path)


# --- the committed records -----------------------------------------------------------


COMMITTED = record_files(records_dir()) if records_dir() else []


def test_the_records_are_committed():
    assert len([p for p in COMMITTED if p.parent == records_dir()]) >= 66  # the chapters' ablation arms
    assert canary_files()


@pytest.mark.parametrize("path", COMMITTED, ids=lambda p: p.stem)
def test_a_committed_record_is_found_by_its_own_call(path):
    """A record whose call gives another name is stale: its model or a shared behaviour
    changed (re-record it) or the registry's configuration was written differently
    (re-key it once its numbers are shown unchanged); see records/README.md."""
    assert stale(path) is None


@pytest.mark.parametrize("path", COMMITTED, ids=lambda p: p.stem)
def test_a_committed_records_command_reproduces_its_call(path):
    record = json.loads(path.read_text(encoding="utf-8"))
    call, reproduce = record["call"], record["reproduce"]
    assert f"train_model({call['name']!r}, {call['data']!r}" in reproduce["python"]
    if call["every"] != 1:
        assert reproduce["command"] is None and f"[::{call['every']}]" in reproduce["python"]
        return
    argv = shlex.split(reproduce["command"])
    assert argv[:2] == ["actseg", "train"]
    args = build_parser().parse_args(argv[1:])
    assert (args.model, args.data, args.size) == (call["name"], call["data"], call["size"])
    assert json.loads(json.dumps(_overrides(args))) == {k: v for k, v in call["overrides"].items() if v}


def test_command_values_read_back_as_written():
    overrides = {"model": {"modalities": ("rgb",), "keys": "full", "flag": False, "name": "None", "n": "3"}}
    args = build_parser().parse_args(shlex.split(train_command("x", DAILY, "reduced", overrides))[1:])
    assert _overrides(args) == overrides


# --- canaries ------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("model", list_models())
def test_the_models_canary_reproduces_its_record(model):
    """Re-train the model's canary (2 epochs at the reduced size on a SynthAct subset, one
    thread) and compare every loss and score with its record: bit for bit on the machine
    that recorded it, within LOSS_RTOL (losses) and SCORE_ATOL (scores) elsewhere. A
    failure under an unchanged key means a behaviour changed without its version bump."""
    paths = [p for p in canary_files() if json.loads(p.read_text())["call"]["name"] == model]
    assert paths, f"no canary for {model}: `actseg records canary {model} --data synthact:<kind>` (records/README.md)"
    for path in paths:
        assert stale(path) is None, f"{path.name} is stale: re-record it (`actseg records rerecord {path}`)"
        record = json.loads(path.read_text(encoding="utf-8"))
        rerun = retrain(record["call"], threads=1)
        assert differences(record, rerun) == [], f"{path.name} no longer reproduces (losses rtol {LOSS_RTOL})"


def test_records_only_refuses_to_train_a_missing_record(tmp_path, monkeypatch):
    monkeypatch.setenv(records_module.RECORDS_ONLY_ENV, "1")
    with pytest.raises(FileNotFoundError, match="actseg train ms_tcn"):
        recorded_run("ms_tcn", DAILY, "reduced", {"train": {"seed": 7}}, records=tmp_path)
    assert not list(tmp_path.iterdir())

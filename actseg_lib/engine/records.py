"""Run keys, cached run folders and recorded runs.

**The key of a run** names everything that decides its numbers, and nothing else:

* the model's name and its registry ``version`` (bumped when its own code changes its
  numbers);
* the versions of the shared behaviour that applies to it (:mod:`actseg_lib.versions`:
  trainer, blocks, task, metrics, post-processing, data preparation, SynthAct);
* the size, the ``--data`` spec and, for canaries, the subset (every n-th sample);
* the merged configuration: the registry's ``model``, ``train``, ``data`` and ``loss``
  sections at that size with the overrides laid over them, the ``train`` section with
  the trainer's defaults filled in (so the seed is always there).

Source text is not part of it: a reformatted file or a docstring edit renames nothing.
A behaviour change must bump a version instead; ``tests/test_records.py`` re-trains one
short recorded run per model (a *canary*) and fails when its numbers moved under an
unchanged key.

The key's digest names a run folder (:func:`cached_run_dir`) and a record
(:func:`recorded_run`): ``<model>-<size>-<data>-<digest>``. A record is a run's
``results.json`` (scores, history, training time, provenance; no weights) plus

* ``call``: the arguments of :func:`recorded_run` that made it,
* ``key``: the key's ingredients, readable,
* ``reproduce``: the ``actseg train`` command line (or, for a subset, the Python call)
  that trains the same run again.

Records live in the repository's ``records/`` folder (``$ACTSEG_RECORDS`` overrides),
not in the installed package; ``records/README.md`` says when to bump which version and
how to re-record. ``actseg records --help``: check, re-record, re-key, record a canary.
"""

from __future__ import annotations

import ast
import hashlib
import json
import math
import os
import shlex
import tempfile
from dataclasses import dataclass
from pathlib import Path

from .. import versions
from ..models.registry import model_config, model_entry
from . import run as _run
from .config import TrainConfig
from .provenance import write_json

RECORDS_ENV = "ACTSEG_RECORDS"
# set to 1: a missing record is an error instead of a run to train (a book build or a
# draft that must not start minutes of training unnoticed)
RECORDS_ONLY_ENV = "ACTSEG_RECORDS_ONLY"
CANARY_FOLDER = "canary"
# a canary reproduces its record when every loss and score is within these bounds:
# bit for bit on the machine that recorded it; the tolerance absorbs float summation
# order on other CPUs and thread counts (losses relative, scores in % points)
LOSS_RTOL = 1e-4
SCORE_ATOL = 1e-6


@dataclass(frozen=True)
class RunKey:
    """A run's key: its ``ingredients`` (JSON data) and the name they give."""

    ingredients: dict

    @property
    def digest(self) -> str:
        return hashlib.sha1(json.dumps(self.ingredients, sort_keys=True).encode()).hexdigest()[:10]

    @property
    def name(self) -> str:
        i = self.ingredients
        return f"{i['model']}-{i['size']}-{_run.data_slug(i['data'])}-{self.digest}"


def run_key(name: str, data: str, size: str = "reduced", overrides: dict | None = None, every: int = 1) -> RunKey:
    """The key of training registered model ``name`` on ``data`` at ``size`` with
    ``overrides`` (sections model/train/data/loss); ``every``: on every n-th sample only."""
    entry = model_entry(name)
    task = entry.task
    config = _run.merge_overrides(model_config(name, size), overrides)
    config["train"] = TrainConfig.from_dict(config["train"]).to_dict()
    ingredients = {
        "model": name,
        "model_version": entry.version,
        "versions": versions.for_run(task, data),
        "size": size,
        "data": data,
        "config": config,
    }
    if every != 1:
        if not isinstance(every, int) or every < 1:
            raise ValueError(f"every: expected an integer >= 1, got {every!r}")
        ingredients["every"] = every
    # as JSON reads it back (tuples become lists), so a record's "key" compares equal
    return RunKey(json.loads(json.dumps(ingredients)))


def cached_run_dir(
    name: str, data: str, size: str = "reduced", overrides: dict | None = None, root=None, every: int = 1
) -> Path:
    """The run folder of a run's key, for "load if present, else train":
    ``train_model(..., out_dir=cached_run_dir(...), resume=True)`` trains once and loads
    afterwards. Any change of setting or of a version (model or shared behaviour) gives
    a new folder. Delete the folder to retrain. Root: ``$ACTSEG_RUNS`` or
    ``~/.cache/actseg/runs``."""
    return Path(root or _run.default_runs_dir()) / run_key(name, data, size, overrides, every).name


def records_dir() -> Path | None:
    """Where records are read and written: ``$ACTSEG_RECORDS``, else the ``records/``
    folder of the repository the library is imported from (a clone or an editable
    install), else None (an installed package: runs train, nothing is recorded)."""
    if os.environ.get(RECORDS_ENV):
        return Path(os.environ[RECORDS_ENV])
    repository = Path(__file__).resolve().parents[2]
    if (repository / "records").is_dir() and (repository / "pyproject.toml").is_file():
        return repository / "records"
    return None


def _cli_value(value) -> str:
    """``value`` as ``actseg train --set`` reads it back (a Python literal, or bare text)."""
    if isinstance(value, str):
        try:
            ast.literal_eval(value)
        except (ValueError, SyntaxError):
            return value  # bare text stays text
    return repr(value)


def train_command(name: str, data: str, size: str = "reduced", overrides: dict | None = None) -> str:
    """The ``actseg train`` command line of a run (``--set section.key=value`` per override)."""
    args = ["actseg", "train", name, "--data", data, "--size", size]
    for section, values in (overrides or {}).items():
        for key, value in values.items():
            args += ["--set", f"{section}.{key}={_cli_value(value)}"]
    return shlex.join(args)


def python_call(name: str, data: str, size: str = "reduced", overrides: dict | None = None, every: int = 1) -> str:
    """The Python lines that train a run again (its results dict holds the scores)."""
    samples = ""
    lines = ["from actseg_lib.engine import train_model"]
    if every != 1:
        lines.append("from actseg_lib.data.sources import load_data")
        samples = f", samples=load_data({data!r})[::{every}]"
    lines.append(f"results = train_model({name!r}, {data!r}, {size!r}, overrides={overrides or {}!r}{samples})")
    return "\n".join(lines)


def with_record_fields(
    results: dict, key: RunKey, name: str, data: str, size: str, overrides: dict | None, every: int = 1
) -> dict:
    """``results`` with what makes it a record: its call, its key and how to reproduce it."""
    return {
        **results,
        "call": json.loads(
            json.dumps({"name": name, "data": data, "size": size, "overrides": overrides or {}, "every": every})
        ),
        "key": key.ingredients,
        "reproduce": {
            "command": train_command(name, data, size, overrides) if every == 1 else None,
            "python": python_call(name, data, size, overrides, every),
        },
    }


def _samples(data: str, every: int, progress: bool):
    if every == 1:
        return None
    from ..data.sources import load_data

    return load_data(data, progress=progress)[::every]


def _read_record(path: Path, key: RunKey) -> dict:
    results = json.loads(path.read_text(encoding="utf-8"))
    i = key.ingredients
    if (results.get("model"), results.get("size"), results.get("data")) != (i["model"], i["size"], i["data"]):
        raise ValueError(
            f"record {path}: holds {results.get('model')}/{results.get('size')} on "
            f"{results.get('data')}, expected {i['model']}/{i['size']} on {i['data']}"
        )
    if "key" in results and results["key"] != key.ingredients:
        raise ValueError(f"record {path}: its stored key differs from the key it is named by; re-record it")
    return {**results, "record": str(path)}


def recorded_run(
    name: str,
    data: str,
    size: str = "reduced",
    overrides: dict | None = None,
    records=None,
    progress: bool = False,
    every: int = 1,
) -> dict:
    """The scores of a run that the book reports but does not repeat on every build
    (ablation arms): read from ``<records>/<key name>.json`` when a record of exactly
    this run exists, else trained now (:func:`~actseg_lib.engine.run.train_model` in its
    :func:`cached_run_dir`) and recorded there. ``records``: the folder (default
    :func:`records_dir`; with none, the run trains and nothing is written). The returned
    dict is the record with ``"record"`` set to its path (None when not recorded)."""
    key = run_key(name, data, size, overrides, every)
    directory = Path(records) if records is not None else records_dir()
    path = directory / f"{key.name}.json" if directory is not None else None
    if path is not None and path.exists():
        return _read_record(path, key)
    if os.environ.get(RECORDS_ONLY_ENV) == "1":
        raise FileNotFoundError(
            f"no record {key.name}.json in {directory} and {RECORDS_ONLY_ENV}=1; train it with: "
            + train_command(name, data, size, overrides)
        )
    folder = cached_run_dir(name, data, size, overrides, every=every)
    _run.train_model(
        name,
        data,
        size,
        out_dir=folder,
        resume=True,
        overrides=overrides,
        progress=progress,
        samples=_samples(data, every, progress),
    )
    results = json.loads((folder / "results.json").read_text(encoding="utf-8"))
    results = with_record_fields(results, key, name, data, size, overrides, every)
    if path is None:
        return {**results, "record": None}
    write_json(results, path)
    return {**results, "record": str(path)}


def _call_key(call: dict) -> RunKey:
    return run_key(call["name"], call["data"], call["size"], call["overrides"], call.get("every", 1))


def retrain(call: dict, progress: bool = False, threads: int | None = None) -> dict:
    """Train a record's ``call`` afresh (in a temporary folder, never a cached one) and
    return its results as a record of the current key. ``threads``: torch's CPU threads
    for the run (canaries use 1: the same sums in the same order on any machine)."""
    import torch

    before = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(threads)
    try:
        with tempfile.TemporaryDirectory() as folder:
            _run.train_model(
                call["name"],
                call["data"],
                call["size"],
                out_dir=folder,
                overrides=call["overrides"],
                progress=progress,
                samples=_samples(call["data"], call.get("every", 1), progress),
            )
            results = json.loads((Path(folder) / "results.json").read_text(encoding="utf-8"))
    finally:
        torch.set_num_threads(before)
    every = call.get("every", 1)
    return with_record_fields(
        results, _call_key(call), call["name"], call["data"], call["size"], call["overrides"], every
    )


def record_files(directory) -> list[Path]:
    """The records in ``directory`` and its sub-folders (canaries)."""
    return sorted(Path(directory).rglob("*.json"))


def canary_files(directory=None) -> list[Path]:
    directory = directory or records_dir()
    return sorted((Path(directory) / CANARY_FOLDER).glob("*.json")) if directory else []


def stale(path) -> str | None:
    """Why the record at ``path`` would not be found by its own call, or None: a version
    or a registry configuration changed since it was recorded (re-record it), or the
    record lacks its call."""
    record = json.loads(Path(path).read_text(encoding="utf-8"))
    if "call" not in record or "key" not in record:
        return "no call or key (written before records carried them)"
    key = _call_key(record["call"])
    if key.name != Path(path).stem:
        changed = sorted(
            k for k in {*key.ingredients, *record["key"]} if key.ingredients.get(k) != record["key"].get(k)
        )
        return f"its call now keys as {key.name} (changed: {', '.join(changed)})"
    if key.ingredients != record["key"]:
        return "its stored key differs from its call's key under the same name"
    return None


def rerecord(path, progress: bool = True, threads: int | None = None) -> Path:
    """Train the record at ``path`` again from its call and write it under its current
    key (the old file goes when the name changed). Canaries train on one thread."""
    path = Path(path)
    record = json.loads(path.read_text(encoding="utf-8"))
    if threads is None and path.parent.name == CANARY_FOLDER:
        threads = 1
    results = retrain(record["call"], progress=progress, threads=threads)
    target = path.with_name(f"{_call_key(record['call']).name}.json")
    write_json(results, target)
    if target.resolve() != path.resolve():
        path.unlink()
    return target


def rekey(path) -> Path:
    """Rename the record at ``path`` to its call's current key WITHOUT training: only for
    a change proven not to move any number (e.g. a configuration written differently),
    never after a version bump. The old name is kept in ``previous_names``."""
    path = Path(path)
    record = json.loads(path.read_text(encoding="utf-8"))
    call = record["call"]
    key = _call_key(call)
    fields = with_record_fields(
        record, key, call["name"], call["data"], call["size"], call["overrides"], call.get("every", 1)
    )
    target = path.with_name(f"{key.name}.json")
    if target.resolve() != path.resolve():
        write_json({**fields, "previous_names": [*record.get("previous_names", []), path.stem]}, target)
        path.unlink()
    return target


def record_canary(name: str, data: str, overrides: dict | None = None, every: int = 1, directory=None) -> Path:
    """Train and record a canary of model ``name``: a short run at the reduced size, on
    one thread, under ``<records>/canary/``."""
    directory = Path(directory or records_dir() or "records") / CANARY_FOLDER
    call = {"name": name, "data": data, "size": "reduced", "overrides": overrides or {}, "every": every}
    results = retrain(call, progress=False, threads=1)
    return write_json(results, directory / f"{_call_key(call).name}.json")


def differences(record: dict, results: dict) -> list[str]:
    """Where ``results`` (a re-run) departs from ``record``: each epoch's training losses
    and learning rate (relative tolerance LOSS_RTOL), validation and test scores
    (absolute tolerance SCORE_ATOL, in % points), the epochs, the best epoch and the
    parameter count (exactly)."""
    found = []

    def compare(where: str, a, b, tolerance: dict):
        if isinstance(a, dict) or isinstance(b, dict):
            a, b = a or {}, b or {}
            for k in sorted(set(a) | set(b)):
                compare(f"{where}.{k}", a.get(k), b.get(k), tolerance)
        elif isinstance(a, float) or isinstance(b, float):
            if not (isinstance(a, (int, float)) and isinstance(b, (int, float)) and math.isclose(a, b, **tolerance)):
                found.append(f"{where}: recorded {a!r}, now {b!r}")
        elif a != b:
            found.append(f"{where}: recorded {a!r}, now {b!r}")

    losses, scores, exact = {"rel_tol": LOSS_RTOL}, {"rel_tol": 0.0, "abs_tol": SCORE_ATOL}, {"rel_tol": 0.0}
    for key in ("epochs", "parameters"):
        compare(key, record.get(key), results.get(key), exact)
    compare("best", record.get("best"), results.get("best"), scores)
    history, now = record.get("history", []), results.get("history", [])
    if len(history) != len(now):
        found.append(f"history: {len(history)} epochs recorded, {len(now)} now")
    for old, new in zip(history, now):
        for k in sorted(k for k in set(old) | set(new) if not k.endswith("time_s")):  # timings vary
            compare(f"history[{old.get('epoch')}].{k}", old.get(k), new.get(k), scores if k == "val" else losses)
    compare("test", record.get("test"), results.get("test"), scores)
    return found

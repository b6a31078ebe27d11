"""The reduced InterAct's learning rate and query initialisation, chosen on the
validation split.

Run: ``python selection/select_interact_reduced.py`` (10 to 12 runs of about two minutes each
on the book's 2-core CPU). Writes ``selection/select_interact_reduced.json`` (every run's
validation scores, the per-cell means and the choice) and
``selection/select_interact_reduced.md`` (the same as a table) beside this file;
``--out PREFIX`` writes ``PREFIX.json`` and ``PREFIX.md`` instead. ``--quick`` is a smoke
run (one epoch, two cells, one seed) that writes to the temporary directory unless
``--out`` is given, so it never overwrites the committed choice by accident.

The design, in two steps so that it fits about 20 minutes of a 2-core CPU (a run takes
about two minutes there; the full 4 x 2 grid would take twice as long): first the
learning rate in {5e-4, 1e-3, 2e-3, 4e-3} with the initial queries Q^0 drawn from
N(0, 1); then Q^0 with std 0.02 (``query_init_std``) at the rate chosen and at the
preset's rate before this selection (2e-3). It does not test whether std 0.02 would
prefer yet another rate. Every cell is trained with the same
seeds (0 and 1), everything else the chapter's configuration: the reduced preset on
``synthact:daily``, its 40 epochs, its best-epoch selection. One seed gives every cell
the same initial weights (the queries are the same draw, scaled) and the same order of
samples, so the cells are compared pairwise.

The choice reads the validation split only: each run's score is the validation
``score`` (mean of accuracy, edit and F1@10/25/50 after ASRF smoothing) at its best
epoch, which is what the trainer selects by; a cell's score is the mean over the seeds;
the cell with the highest wins. The runs are trained with ``evaluate_test=False``: the
test split is never read (``tests/test_test_split.py``), and no test score exists to be
written down here.
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from actseg_lib import versions
from actseg_lib.data.prepare import prepare_segmentation
from actseg_lib.data.sources import load_data
from actseg_lib.engine import train_model
from actseg_lib.engine.provenance import provenance, write_json
from actseg_lib.models import model_config, model_entry

HERE = Path(__file__).resolve().parent
NAME, DATA, SIZE = "interact", "synthact:daily", "reduced"
LRS = (5e-4, 1e-3, 2e-3, 4e-3)
QUERY_INIT_STDS = (1.0, 0.02)
SEEDS = (0, 1)
# what the reduced preset used before this selection (chosen then by test accuracy)
PREVIOUS = {"lr": 2e-3, "query_init_std": 1.0}
VAL_KEYS = ("score", "acc", "edit", "f1@10", "f1@25", "f1@50", "score raw", "acc raw")


def cell_overrides(lr: float, query_init_std: float, seed: int, epochs: int | None = None) -> dict:
    train = {"lr": lr, "seed": seed, **({"epochs": epochs} if epochs else {})}
    return {"model": {"query_init_std": query_init_std}, "train": train}


def validation_run(name: str, data: str, size: str, overrides: dict, samples=None) -> dict:
    """Train one cell and keep what selection may see: validation scores and timings.
    The test split is never evaluated (``evaluate_test=False``)."""
    started = time.perf_counter()
    results = train_model(name, data, size, overrides=overrides, progress=False, samples=samples, evaluate_test=False)
    if "test" in results:
        raise RuntimeError("a selection run must not score the test split")
    best = results["best"]
    history = results["history"]
    return {
        "best_epoch": best["epoch"],
        "val_score": best["value"],
        "val_at_best": {k: best["metrics"][k] for k in VAL_KEYS if k in best["metrics"]},
        "val_score_last_epoch": history[-1]["val"]["score"],
        "val_score_by_epoch": [r["val"]["score"] for r in history if "val" in r],
        "epochs": results["epochs"],
        "train_time_s": results["train_time_s"],
        "eval_time_s": results["eval_time_s"],
        "wall_time_s": time.perf_counter() - started,
    }


def summarise(runs: list[dict], seeds) -> dict:
    """Per cell (lr, query_init_std): the mean validation score over ``seeds`` and the
    per-seed scores; the chosen cell (highest mean)."""
    cells: dict[tuple, dict] = {}
    for run in runs:
        cell = cells.setdefault((run["lr"], run["query_init_std"]), {})
        cell[run["seed"]] = run["val_score"]
    table = []
    for (lr, std), by_seed in cells.items():
        if sorted(by_seed) != sorted(seeds):
            raise ValueError(f"cell lr={lr}, query_init_std={std}: seeds {sorted(by_seed)}, expected {sorted(seeds)}")
        scores = [by_seed[s] for s in seeds]
        table.append({"lr": lr, "query_init_std": std, "val_scores": scores, "val_mean": float(np.mean(scores))})
    table.sort(key=lambda row: (-row["val_mean"], row["lr"], -row["query_init_std"]))
    chosen = {"lr": table[0]["lr"], "query_init_std": table[0]["query_init_std"]}
    return {"cells": table, "chosen": chosen}


def markdown(result: dict) -> str:
    seeds = result["grid"]["seeds"]
    head = "| lr | Q^0 std | " + " | ".join(f"val score, seed {s}" for s in seeds) + " | mean |"
    lines = [head, "|" + "---|" * (3 + len(seeds))]
    for row in result["selection"]["cells"]:
        mark = " **(chosen)**" if {k: row[k] for k in ("lr", "query_init_std")} == result["selection"]["chosen"] else ""
        scores = " | ".join(f"{v:.2f}" for v in row["val_scores"])
        lines.append(f"| {row['lr']:g} | {row['query_init_std']:g} | {scores} | {row['val_mean']:.2f}{mark} |")
    wall = sum(r["wall_time_s"] for r in result["runs"])
    return (
        f"# {NAME} ({SIZE}) on {result['data']}: learning rate and query initialisation, on validation\n\n"
        f"Written by `selection/select_interact_reduced.py`; validation `score` (mean of acc, edit, "
        f"F1@10/25/50 after smoothing) at each run's best epoch of {result['epochs']}, "
        f"{result['split_sizes']['val']} validation sequences. No test score was computed.\n\n"
        + "\n".join(lines)
        + f"\n\nChosen: lr {result['selection']['chosen']['lr']:g}, query_init_std "
        f"{result['selection']['chosen']['query_init_std']:g} (before: lr {PREVIOUS['lr']:g}, "
        f"query_init_std {PREVIOUS['query_init_std']:g}). {len(result['runs'])} runs, "
        f"{wall / 60:.1f} minutes in all.\n"
    )


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", help="output prefix (PREFIX.json, PREFIX.md)")
    parser.add_argument("--quick", action="store_true", help="smoke run: 1 epoch, 2 cells, 1 seed")
    args = parser.parse_args(argv)
    prefix = (
        Path(args.out)
        if args.out
        else (
            Path(tempfile.gettempdir()) / "select_interact_reduced_quick"
            if args.quick
            else HERE / "select_interact_reduced"
        )
    )
    samples = load_data(DATA, progress=False)  # once, for every run
    epochs, lrs, stds, seeds = None, LRS, QUERY_INIT_STDS, SEEDS
    if args.quick:
        epochs, lrs, seeds = 1, LRS[:1], SEEDS[:1]
    config = model_config(NAME, SIZE)
    done: dict[tuple, dict] = {}
    path = prefix.with_suffix(".json")
    if path.exists() and not args.quick:  # an interrupted sweep continues, if nothing changed since
        before = json.loads(path.read_text(encoding="utf-8"))
        same = before.get("config") == json.loads(json.dumps(config)) and before.get("versions") == versions.for_run(
            model_entry(NAME).task, DATA
        )
        for run in before.get("runs", []) if same else []:
            done[(run["lr"], run["query_init_std"], run["seed"])] = run
    result = {
        "model": NAME,
        "size": SIZE,
        "data": DATA,
        "model_version": model_entry(NAME).version,
        "versions": versions.for_run(model_entry(NAME).task, DATA),
        "config": config,
        "epochs": epochs or config["train"]["epochs"],
        "grid": {"lr": list(lrs), "query_init_std": list(stds), "seeds": list(seeds)},
        "design": "lr over the grid at query_init_std 1 (N(0, 1)); then each other query_init_std at the lr "
        "chosen and at the previous lr",
        "rule": "highest mean over seeds of the validation score at the best epoch",
        "previous": PREVIOUS,
        "torch_threads": torch.get_num_threads(),
        "runs": [],
    }

    def train_cells(cells):
        for lr, std, seed in itertools.product(*cells, seeds):
            if (lr, std, seed) in done:
                run = done[(lr, std, seed)]
            else:
                overrides = cell_overrides(lr, std, seed, epochs)
                run = {"lr": lr, "query_init_std": std, "seed": seed, "overrides": overrides}
                run.update(validation_run(NAME, DATA, SIZE, overrides, samples))
            result["runs"].append(run)
            print(
                f"lr {lr:g} query_init_std {std:g} seed {seed}: val score {run['val_score']:.2f} "
                f"(epoch {run['best_epoch']}) in {run['wall_time_s']:.0f} s",
                file=sys.stderr,
            )
            write_json(result, path)  # after every run, so an interrupted sweep loses one run at most

    # 1. the learning rate, with the default queries; 2. the other query scales at that
    # rate and at the preset's rate before this selection
    train_cells((lrs, stds[:1]))
    lr = summarise(result["runs"], seeds)["chosen"]["lr"]
    train_cells((sorted({lr, PREVIOUS["lr"]} & set(lrs)), stds[1:]))
    split = prepare_segmentation(
        DATA, sample_rate=config["data"].get("sample_rate", 1), samples=samples, progress=False
    )
    result["split_sizes"] = {k: int(len(v)) for k, v in split.splits.items()}
    result["selection"] = summarise(result["runs"], seeds)
    result["provenance"] = provenance()
    write_json(result, path)
    text = markdown(result)
    prefix.with_suffix(".md").write_text(text, encoding="utf-8")
    print(text)
    return result


if __name__ == "__main__":
    main()

"""Kill a training run mid-way, resume it, and get exactly the weights of a run that was
never interrupted (CPU, through the `actseg train` command a user runs)."""

import subprocess
import sys
import time

import pytest
import torch
from tiny_data import write_tiny_mstcn

from actseg_lib.engine import load_checkpoint

EPOCHS = 60


def command(spec, out, *extra):
    return [
        sys.executable,
        "-m",
        "actseg_lib",
        "train",
        "ms_tcn",
        "--data",
        spec,
        "--out",
        str(out),
        "--epochs",
        str(EPOCHS),
        "--lr",
        "0.01",
        "--no-progress",
        "--set",
        "model.num_stages=2",
        "--set",
        "model.num_layers=3",
        "--set",
        "model.num_f_maps=8",
        *extra,
    ]


def epoch_of(path):
    try:
        return load_checkpoint(path)["epoch"]
    except (FileNotFoundError, ValueError):
        return 0


@pytest.mark.slow  # two training subprocesses, one killed mid-run
def test_killed_run_resumes_to_the_same_final_weights(tmp_path):
    spec = write_tiny_mstcn(tmp_path / "data", num=10)
    subprocess.run(command(spec, tmp_path / "whole"), check=True, capture_output=True)

    run = subprocess.Popen(command(spec, tmp_path / "cut"), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while epoch_of(tmp_path / "cut" / "last.pt") < 3 and run.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    run.kill()  # SIGKILL: no chance to clean up, as in a crash or a pre-empted job
    run.wait()
    killed_after = epoch_of(tmp_path / "cut" / "last.pt")
    if run.returncode == 0:
        pytest.fail("the run finished before it could be killed; raise EPOCHS")
    assert run.returncode < 0, run.stderr.read().decode()
    assert 3 <= killed_after < EPOCHS

    resumed = subprocess.run(command(spec, tmp_path / "cut", "--resume"), capture_output=True, text=True, check=True)
    assert f"resumed from {tmp_path / 'cut' / 'last.pt'} after epoch" in resumed.stderr

    whole, cut = load_checkpoint(tmp_path / "whole" / "last.pt"), load_checkpoint(tmp_path / "cut" / "last.pt")
    assert whole["epoch"] == cut["epoch"] == EPOCHS
    for name, value in whole["model"].items():
        assert torch.equal(value, cut["model"][name]), name
    same = lambda history: [(r["train_loss"], r["val"]) for r in history]  # noqa: E731 (timings differ)
    assert same(whole["history"]) == same(cut["history"])
    assert whole["best"] == cut["best"]

"""DistributedDataParallel under torchrun: 2 CPU processes with gloo agree with each other
and with one process training on the same global batch."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

WORKER = Path(__file__).with_name("ddp_worker.py")


@pytest.mark.slow  # torchrun subprocesses
def test_two_gloo_processes_agree_with_each_other_and_with_one_process(tmp_path):
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    subprocess.run(
        [
            sys.executable,
            "-m",
            "torch.distributed.run",
            "--standalone",
            "--nproc_per_node",
            "2",
            str(WORKER),
            str(tmp_path),
            "2",
        ],
        check=True,
        env=env,
        capture_output=True,
        timeout=300,
    )
    subprocess.run(
        [sys.executable, str(WORKER), str(tmp_path), "4"], check=True, env=env, capture_output=True, timeout=300
    )
    rank0, rank1 = (torch.load(tmp_path / f"rank{r}-of-2.pt", weights_only=True) for r in (0, 1))
    single = torch.load(tmp_path / "rank0-of-1.pt", weights_only=True)

    for name, value in rank0["model"].items():
        assert torch.equal(value, rank1["model"][name]), f"ranks disagree on {name}"
        # one process, batch 4 == two processes, batch 2 each (gradients averaged)
        torch.testing.assert_close(value, single["model"][name], rtol=1e-4, atol=1e-5)
    assert rank0["history"] == rank1["history"]
    assert rank0["test"] == rank1["test"]  # gathered evaluation: every rank reports the same metrics
    for (loss2, val2), (loss1, val1) in zip(rank0["history"], single["history"]):
        assert abs(loss2 - loss1) < 1e-4 and val2 == val1
    # rank 0 alone writes checkpoints (and the history)
    assert sorted(p.name for p in (tmp_path / "checkpoints").iterdir()) == ["best.pt", "history.csv", "last.pt"]

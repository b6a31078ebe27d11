"""The GPU benchmark's dry run, so the script works the day a GPU is there: every model
and precision through the same code (FLOP counting, timing, MFU from a given peak,
the Markdown and JSON), on the CPU at the reduced presets, about 20 s."""

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

SCRIPT = Path(__file__).resolve().parent.parent / "benchmarks" / "bench_gpu.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("bench_gpu", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_dry_run_measures_every_full_preset_in_both_precisions(bench, tmp_path):
    assert bench.main(["--dry-run", "--peak-tflops", "2", "--out", str(tmp_path)]) == 0
    result = json.loads((tmp_path / "bench_gpu.json").read_text())
    assert result["dry_run"] and result["torch"] == torch.__version__ and result["date"] and result["device"]
    models = bench.full_presets()
    assert {"star_transformer", "deformable3d", "sigformer", "interact"} <= set(models)
    assert [(r["model"], r["precision"]) for r in result["rows"]] == [(m, p) for m in models for p in ("fp32", "bf16")]
    for row in result["rows"]:
        assert row["flops_per_step"] > 0 and row["step_s"] > 0 and len(row["step_s_all"]) == 2
        assert row["samples_per_s"] == pytest.approx(1 / row["step_s"])
        assert row["mfu"] == pytest.approx(row["flops_per_step"] / row["step_s"] / 2e12)
        assert row["peak_memory_gib"] is None  # CUDA only
    table = (tmp_path / "bench_gpu.md").read_text()
    assert "Dry run on the CPU" in table and table.count("| fp32 |") == len(models)


def test_out_of_memory_is_recorded_and_the_run_goes_on(bench, tmp_path):
    def measure_or_run_out(name, precision, settings, peak):
        if name == "interact" and precision == "bf16":
            raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 80.00 GiB")
        return bench.measure(name, precision, settings, peak)

    argv = ["--dry-run", "--models", "interact,ms_tcn", "--steps", "1", "--warmup", "0", "--out", str(tmp_path)]
    assert bench.main(argv, measure_row=measure_or_run_out) == 0
    rows = json.loads((tmp_path / "bench_gpu.json").read_text())["rows"]
    assert [r.get("error") for r in rows] == [None, "OOM", None, None]
    assert rows[0]["mfu"] is None  # no peak given on the CPU: no MFU
    assert "| interact | | | | bf16 | OOM |" in (tmp_path / "bench_gpu.md").read_text()


def test_another_failure_is_recorded_the_run_goes_on_and_the_status_says_so(bench, tmp_path):
    def fail_once(name, precision, settings, peak):
        if precision == "fp32":
            raise ValueError("a bug, not a full GPU")
        return bench.measure(name, precision, settings, peak)

    argv = ["--dry-run", "--models", "ms_tcn", "--steps", "1", "--warmup", "0", "--out", str(tmp_path)]
    assert bench.main(argv, measure_row=fail_once) == 1
    result = json.loads((tmp_path / "bench_gpu.json").read_text())
    assert [r.get("error") for r in result["rows"]] == ["ValueError: a bug, not a full GPU", None]
    assert result["complete"]


def test_peak_rates_by_device_name(bench):
    peaks = {
        "NVIDIA H200": 989,
        "NVIDIA H100 80GB HBM3": 989,
        "NVIDIA H100 PCIe": 756,
        "NVIDIA A100-SXM4-80GB": 312,
        "NVIDIA L40S": 362,
        "NVIDIA L4": 121,
        "NVIDIA A10G": None,  # not the A10
        "NVIDIA GeForce RTX 3090": None,
    }
    assert {name: bench.peak_tflops(name) for name in peaks} == peaks


WITHOUT_RAPIDFUZZ = """
import importlib.abc, runpy, sys

class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] == "rapidfuzz":
            raise ModuleNotFoundError(name)

sys.meta_path.insert(0, Block())
sys.argv = [sys.argv[1], "--dry-run", "--models", "ms_tcn", "--steps", "1", "--warmup", "0", "--out", sys.argv[2]]
runpy.run_path(sys.argv[0], run_name="__main__")
"""


@pytest.mark.slow
def test_runs_where_rapidfuzz_is_missing(tmp_path):
    """The project's GPU image has no rapidfuzz and installs nothing: the benchmark
    stands in for it (the metrics that use it are never called)."""
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    run = subprocess.run(
        [sys.executable, "-c", WITHOUT_RAPIDFUZZ, str(SCRIPT), str(tmp_path)], capture_output=True, text=True, env=env
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "rapidfuzz is not installed" in run.stdout
    assert json.loads((tmp_path / "bench_gpu.json").read_text())["rows"][0]["step_s"] > 0

"""The full presets on a GPU: training-step time, peak memory, throughput, FLOPs and model
FLOPs utilisation, in float32 and under bfloat16 autocast.

Run from the repository root on a CUDA machine (about 3 minutes on an H200)::

    python benchmarks/bench_gpu.py

It writes ``benchmarks/bench_gpu.json`` and ``benchmarks/bench_gpu.md`` (``--out DIR``
writes ``DIR/bench_gpu.json`` and ``DIR/bench_gpu.md`` instead). ``--dry-run`` runs the
same code on the CPU at the reduced presets (batch 1, short inputs, 1 + 2 steps) and
writes to the temporary directory unless ``--out`` is given, so it never overwrites the
GPU results; ``tests/test_bench_gpu.py`` runs it.

What one row measures, for each full preset (every registered model with one) and
precision:

* the model, task, optimiser and schedule built as ``actseg train`` builds them, and one
  training step as the trainer takes it (:mod:`actseg_lib.engine.smoke`): forward, the
  preset's loss, backward, gradient clipping where the preset clips, optimiser step;
* a random batch of the preset's batch size (``train.batch_size``) shaped as the data
  pipeline's (:data:`BENCH_LENGTHS` says which sequence lengths and why);
* FLOPs per step: :class:`torch.utils.flop_counter.FlopCounterMode` over one step,
  forward and backward. It counts matrix multiplications, convolutions and attention
  (the operators it has formulas for); element-wise work, normalisation, sampling
  (``grid_sample``) and the optimiser are not counted, so MFU is a lower bound;
* step time: ``--warmup`` steps, then the median of ``--steps`` timed steps, each
  closed by ``torch.cuda.synchronize()``; throughput = batch size / step time;
* peak memory: ``torch.cuda.max_memory_allocated()`` over the warm-up and timed steps
  (parameters, gradients and optimiser state included);
* MFU: FLOPs per step / step time / the device's peak dense bf16 rate (both precisions
  against the same bf16 peak, so the columns compare). The peaks (:data:`PEAK_BF16_TFLOPS`)
  are the vendor's datasheet figures for dense (non-sparse) BF16 Tensor Core work;
  ``--peak-tflops`` overrides them (and is the only source on an unknown device or the
  CPU).

A model that runs out of memory at a precision is recorded as "OOM" and the run goes on;
any other failure is recorded with its message (the traceback goes to stdout), the run
goes on, and the exit status is 1. The files are rewritten after every row.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import json
import platform
import re
import shlex
import statistics
import sys
import tempfile
import time
import traceback
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))


class _Missing:
    """Stands for a package that is not installed; any use says so."""

    def __init__(self, package: str):
        self.package = package

    def __getattr__(self, name):
        raise ModuleNotFoundError(f"{self.package} is not installed (the benchmark does not need it)")


def stand_in_for_rapidfuzz() -> bool:
    """The library's segmentation metrics import rapidfuzz (edit distance) when it loads;
    the benchmark never scores predictions. Where rapidfuzz is missing (a GPU machine's
    image without it, where nothing can be installed), an empty stand-in lets the library
    import. Returns whether it stood in."""
    import types

    try:
        import rapidfuzz.distance  # noqa: F401
    except ImportError:
        pass
    else:
        return False
    package, distance = types.ModuleType("rapidfuzz"), types.ModuleType("rapidfuzz.distance")
    distance.Levenshtein = _Missing("rapidfuzz")
    package.distance = distance
    sys.modules.update({"rapidfuzz": package, "rapidfuzz.distance": distance})
    return True


RAPIDFUZZ_STAND_IN = stand_in_for_rapidfuzz()

import torch  # noqa: E402
from torch.utils.flop_counter import FlopCounterMode  # noqa: E402

from actseg_lib.engine.smoke import IMAGE_SIZE, build_example  # noqa: E402
from actseg_lib.models import count_parameters, list_models, model_config, model_entry  # noqa: E402

# Frames per sequence of each segmentation preset at full size: the paper's training input.
BENCH_LENGTHS = {
    # I3D features at 15 fps: 5,000 frames (5.5 minutes), in the range of Breakfast's longer
    # videos and 50Salads' typical one; both papers train on whole videos, batch 1
    "ms_tcn": 5000,
    "asformer": 5000,
    # the official code trains on 50-second windows: 1,500 frames at OpenPack's 30 fps
    "sigformer": 1500,
    # PKU-MMD's videos are a few minutes long at 30 fps; 6,000 frames is 200 seconds. The
    # paper trains on whole videos (we found no crop length in it)
    "interact": 6000,
}
# On the CPU (--dry-run): the reduced presets, short inputs, batch 1.
DRY_LENGTHS = {"ms_tcn": 256, "asformer": 256, "sigformer": 120, "interact": 256}
PRECISIONS = {"fp32": None, "bf16": torch.bfloat16}
INPUT_KEYS = ("x", "rgb", "skeleton2d")  # what the model reads of a batch (the rest: targets, masks)
# Peak dense (non-sparse) BF16 Tensor Core rate, TFLOP/s, from the vendors' datasheets
# (they print twice these figures "with sparsity"). The first key that occurs as whole
# words in torch.cuda.get_device_name() wins, so "H100 PCIe" comes before "H100".
PEAK_BF16_TFLOPS = {
    "H200 NVL": 835.0,
    "H200": 989.0,  # H200 SXM
    "GH200": 989.0,
    "H100 PCIe": 756.0,
    "H100 NVL": 835.0,
    "H100": 989.0,  # H100 SXM
    "A100": 312.0,  # SXM and PCIe
    "L40S": 362.0,
    "L4": 121.0,
    "A10": 125.0,
}
PEAK_SOURCE = "vendor datasheet, dense (non-sparse) BF16 Tensor Core"
GiB = 2**30


def peak_tflops(device_name: str) -> float | None:
    """The device's peak dense bf16 TFLOP/s from :data:`PEAK_BF16_TFLOPS`, or None."""
    for key, value in PEAK_BF16_TFLOPS.items():
        if re.search(rf"\b{re.escape(key)}\b", device_name):  # "A10" is not "A10G"
            return value
    return None


def full_presets() -> list[str]:
    return [name for name in list_models() if model_entry(name).full.get("model")]


def log(message: str) -> None:
    print(f"[bench_gpu {time.strftime('%H:%M:%S')}] {message}", flush=True)


def is_out_of_memory(error: BaseException) -> bool:
    return isinstance(error, torch.cuda.OutOfMemoryError) or "out of memory" in str(error).lower()


def count_flops(example, amp_dtype) -> int:
    """FLOPs of one training step (forward and backward) as FlopCounterMode counts them."""
    counter = FlopCounterMode(display=False)
    with counter:
        example.step(amp_dtype)
    return counter.get_total_flops()


def measure(name: str, precision: str, settings: dict, peak: float | None) -> dict:
    """One row: build ``name``, count FLOPs over one step, warm up, time the steps."""
    device = torch.device(settings["device"])
    cuda = device.type == "cuda"
    size, length = settings["size"], settings["lengths"].get(name)
    batch_size = settings["batch_size"] or model_config(name, size)["train"]["batch_size"]
    amp_dtype = PRECISIONS[precision]

    def sync():
        if cuda:
            torch.cuda.synchronize()

    example = build_example(name, size, batch_size, length, device=device)
    row = {
        "model": name,
        "precision": precision,
        "batch_size": batch_size,
        "input": {k: list(v.shape) for k, v in example.batch.items() if k in INPUT_KEYS},
        "parameters": count_parameters(example.model),
    }
    row["flops_per_step"] = count_flops(example, amp_dtype)
    sync()
    if cuda:
        torch.cuda.reset_peak_memory_stats()
    for _ in range(settings["warmup"]):
        example.step(amp_dtype)
    sync()
    times = []
    for _ in range(settings["steps"]):
        t0 = time.perf_counter()
        loss = example.step(amp_dtype)
        sync()
        times.append(time.perf_counter() - t0)
    step_s = statistics.median(times)
    row.update(
        step_s=step_s,
        step_s_all=times,
        loss=float(loss),
        samples_per_s=batch_size / step_s,
        achieved_tflops=row["flops_per_step"] / step_s / 1e12,
        peak_memory_gib=torch.cuda.max_memory_allocated() / GiB if cuda else None,
    )
    row["mfu"] = row["achieved_tflops"] / peak if peak else None
    return row


def run_all(models: list[str], settings: dict, peak: float | None, measure_row=measure, on_row=None) -> list[dict]:
    """Every model at every precision; ``on_row(rows)`` after each row (the files are
    rewritten then, so a run cut short keeps what it measured)."""
    rows = []
    for name in models:
        for precision in settings["precisions"]:
            log(f"{name} {precision}: building and measuring")
            started = time.perf_counter()
            try:
                row = measure_row(name, precision, settings, peak)
            except Exception as error:  # one model's failure must not lose the others' rows
                first_line = (str(error).splitlines() or [""])[0][:200]
                if is_out_of_memory(error):
                    row = {"model": name, "precision": precision, "error": "OOM"}
                    log(f"{name} {precision}: out of memory ({first_line})")
                else:
                    row = {"model": name, "precision": precision, "error": f"{type(error).__name__}: {first_line}"}
                    log(f"{name} {precision}: FAILED")
                    traceback.print_exc()
                    sys.stdout.flush()
                del error  # its traceback holds the failed step's tensors
            row["wall_s"] = time.perf_counter() - started
            rows.append(row)
            if "error" not in row:
                log(
                    f"{name} {precision}: step {row['step_s'] * 1e3:.1f} ms, {row['samples_per_s']:.1f} samples/s, "
                    f"{row['flops_per_step'] / 1e9:.1f} GFLOP/step, MFU {fmt(row['mfu'], '.1%')}, "
                    f"peak {fmt(row['peak_memory_gib'], '.2f')} GiB ({row['wall_s']:.0f} s)"
                )
            gc.collect()
            if torch.cuda.is_available():
                torch.cuda.empty_cache()
            if on_row is not None:
                on_row(rows)
    return rows


def fmt(value, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def describe_input(row: dict) -> str:
    return ", ".join(f"{k} {'x'.join(map(str, shape))}" for k, shape in row["input"].items())


def render_markdown(result: dict) -> str:
    s = result["settings"]
    peak = result["peak_tflops"]
    lines = [
        "# The full presets on a GPU: step time, memory, throughput, FLOPs, MFU",
        "",
        f"Produced by `{result['command']}` on {result['date']} ({result['elapsed_s'] / 60:.1f} minutes).",
        "",
        f"Device: {result['device']}; torch {result['torch']} (CUDA {result['cuda'] or '-'}), "
        f"Python {result['python']}; TF32 for float32 matmuls {result['tf32']['matmul']}, "
        f"for cuDNN convolutions {result['tf32']['cudnn']} (torch's defaults, as the trainer runs).",
        "",
    ]
    if not result["complete"]:
        lines += ["**Incomplete**: the run stopped before every model and precision was measured.", ""]
    if result["dry_run"]:
        lines += [
            "**Dry run on the CPU**: the reduced presets, batch 1, short inputs; it checks that "
            "the script runs, and its figures say nothing about a GPU.",
            "",
        ]
    lines += [
        f"Size `{s['size']}`; {s['warmup']} warm-up step(s), then the median of {s['steps']} timed steps. "
        f"MFU against {fmt(peak, ',.0f')} TFLOP/s ({result['peak_source']}), for both precisions. "
        "FLOPs per step: `torch.utils.flop_counter.FlopCounterMode` over one training step (forward and "
        "backward; matrix multiplications, convolutions and attention only, so MFU is a lower bound). "
        "Peak memory: `torch.cuda.max_memory_allocated()` over the warm-up and timed steps, parameters, "
        "gradients and optimiser state included. Method: the script's docstring.",
        "",
        "| model | parameters | batch | input per step | precision | step (ms) | samples/s | peak memory (GiB) "
        "| GFLOP/step | TFLOP/s | MFU |",
        "|---|---:|---:|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in result["rows"]:
        if "error" in r:
            lines.append(f"| {r['model']} | | | | {r['precision']} | {r['error']} | | | | | |")
            continue
        lines.append(
            f"| {r['model']} | {r['parameters']:,} | {r['batch_size']} | {describe_input(r)} | {r['precision']} "
            f"| {r['step_s'] * 1e3:,.1f} | {r['samples_per_s']:,.1f} | {fmt(r['peak_memory_gib'], ',.2f')} "
            f"| {r['flops_per_step'] / 1e9:,.2f} | {r['achieved_tflops']:,.2f} | {fmt(r['mfu'], '.1%')} |"
        )
    lengths = ", ".join(f"{k} {v:,}" for k, v in s["lengths"].items())
    lines += [
        "",
        f"Sequence lengths (frames): {lengths}; recognition clips have the preset's frames at "
        f"{s['image_size']} x {s['image_size']} pixels. Why these: `BENCH_LENGTHS` in the script (`DRY_LENGTHS` for a dry run).",
        "",
    ]
    return "\n".join(lines)


def main(argv=None, measure_row=measure) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dry-run", action="store_true", help="on the CPU at the reduced presets, batch 1, 2 steps")
    parser.add_argument("--models", help="comma-separated model names (default: every full preset)")
    parser.add_argument("--steps", type=int, help="timed steps per model and precision (default 10; 2 dry)")
    parser.add_argument("--warmup", type=int, help="warm-up steps (default 3; 1 dry)")
    parser.add_argument("--precisions", default="fp32,bf16", help="comma-separated, of fp32 and bf16")
    parser.add_argument("--peak-tflops", type=float, help="the device's peak dense bf16 TFLOP/s (MFU's denominator)")
    parser.add_argument(
        "--out", help="folder for bench_gpu.json and bench_gpu.md (default: benchmarks/, the temp dir dry)"
    )
    args = parser.parse_args(argv)

    models = args.models.split(",") if args.models else full_presets()
    unknown = sorted(set(models) - set(full_presets()))
    if unknown:
        parser.error(f"--models: no full preset for {unknown}; known: {', '.join(full_presets())}")
    precisions = args.precisions.split(",")
    if set(precisions) - set(PRECISIONS):
        parser.error(f"--precisions: expected some of {tuple(PRECISIONS)}, got {args.precisions}")
    if not args.dry_run and not torch.cuda.is_available():
        parser.error("no CUDA device: run on a GPU machine, or pass --dry-run for the CPU check")
    dry = args.dry_run
    size = "reduced" if dry else "full"
    settings = {
        "device": "cpu" if dry else "cuda",
        "size": size,
        "batch_size": 1 if dry else None,
        "lengths": {m: (DRY_LENGTHS if dry else BENCH_LENGTHS)[m] for m in models if m in BENCH_LENGTHS},
        "image_size": IMAGE_SIZE[size],
        "warmup": args.warmup if args.warmup is not None else (1 if dry else 3),
        "steps": args.steps or (2 if dry else 10),
        "precisions": precisions,
    }
    device_name = f"CPU ({platform.processor() or platform.machine()})" if dry else torch.cuda.get_device_name()
    peak = args.peak_tflops or (None if dry else peak_tflops(device_name))
    source = "--peak-tflops" if args.peak_tflops else (PEAK_SOURCE if peak else "unknown device: no MFU")
    out = Path(args.out) if args.out else (Path(tempfile.gettempdir()) / "bench_gpu_dry" if dry else HERE)
    log(f"{device_name}, torch {torch.__version__}; {len(models)} models x {precisions}; writing to {out}")
    if RAPIDFUZZ_STAND_IN:
        log("rapidfuzz is not installed: an empty stand-in lets the library import (nothing here scores)")

    torch.manual_seed(0)
    started = time.time()
    command = "python benchmarks/bench_gpu.py" + "".join(" " + shlex.quote(a) for a in (argv or sys.argv[1:]))
    out.mkdir(parents=True, exist_ok=True)

    def write(rows: list[dict]) -> dict:
        result = {
            "command": command,
            "date": dt.datetime.now().astimezone().isoformat(timespec="seconds"),
            "dry_run": dry,
            "device": device_name,
            "torch": torch.__version__,
            "cuda": torch.version.cuda,
            "python": platform.python_version(),
            "tf32": {"matmul": torch.backends.cuda.matmul.allow_tf32, "cudnn": torch.backends.cudnn.allow_tf32},
            "peak_tflops": peak,
            "peak_source": source,
            "elapsed_s": time.time() - started,
            "complete": len(rows) == len(models) * len(precisions),
            "settings": settings,
            "rows": rows,
        }
        (out / "bench_gpu.json").write_text(json.dumps(result, indent=2) + "\n")
        (out / "bench_gpu.md").write_text(render_markdown(result))
        return result

    result = write(run_all(models, settings, peak, measure_row, on_row=write))
    log(f"wrote {out / 'bench_gpu.json'} and {out / 'bench_gpu.md'} ({result['elapsed_s']:.0f} s)")
    failed = [f"{r['model']} {r['precision']}" for r in result["rows"] if r.get("error", "OOM") != "OOM"]
    if failed:
        log(f"failed (not out of memory): {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

"""Training-step time and memory of the recognition models, and the cost of STAR's attention kinds.

Run: ``python benchmarks/bench_recognition.py`` (a few minutes on the book's 2-core CPU).
Writes ``benchmarks/bench_recognition.json`` and ``.md`` beside this file (``--out PREFIX``
elsewhere; ``--quick``, a smoke run of one step each, writes to the temporary directory
unless ``--out`` is given).

What is measured, every configuration in a fresh subprocess (the method, the quiet-CPU
wait and the contention record are those of ``bench_models.py``, whose helpers this
script uses):

1. **Training step** of each registered recognition model at both sizes, at the
   preset's own batch size, frame count and SynthAct frame size (reduced: 48 pixels;
   full: 112 pixels, SynthAct's full clips): forward, cross-entropy, backward and the
   preset's optimiser step. Median of the timed steps after warm-up; peak RSS increase
   over the RSS once model, optimiser and inputs exist. On CUDA, the same in float32 and
   under bfloat16 autocast.
2. **Attention kinds** (STAR's FAttn, ZAttn, BAttn) on the token grid each preset
   produces from those frames (``[B, T, S, D]``): forward wall time (fastest of 3) and
   the query-key scores each computes (``score_pairs``, the cost the chapter counts).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

from bench_models import CpuWatch, fmt, machine_info, measure_steps, wait_for_quiet  # noqa: E402

MODELS = ("star_transformer",)
SIZES = ("reduced", "full")
FRAME_SIZE = {"reduced": 48, "full": 112}  # SynthAct's clip sizes
STEPS = {"reduced": (2, 10), "full": (1, 3)}  # (warm-up, timed)
QUICK_STEPS = (1, 1)
MiB = 2**20


def _inputs(model, config: dict, size: str, batch: int, device: str):
    import torch

    T, side = config["data"]["num_frames"], FRAME_SIZE[size]
    J = config["model"]["num_joints"]
    inputs = {
        "rgb": torch.rand(batch, T, 3, side, side, device=device),
        "skeleton2d": torch.rand(batch, T, J, 2, device=device),
    }
    return {name: inputs[name] for name in model.input_names}


def worker_train(spec: dict) -> dict:
    import torch

    from actseg_lib.engine.config import TrainConfig
    from actseg_lib.engine.optim import build_optimizer
    from actseg_lib.models import build_model, count_parameters, model_config

    device, amp = spec["device"], spec.get("amp")
    torch.manual_seed(0)
    config = model_config(spec["model"], spec["size"])
    model = build_model(spec["model"], spec["size"]).to(device).train()
    train = TrainConfig.from_dict(config["train"])
    batch = train.batch_size
    opt = build_optimizer(model, train)  # the preset's own optimiser, as the trainer builds it
    inputs = _inputs(model, config, spec["size"], batch, device)
    labels = torch.randint(0, config["model"]["num_classes"], (batch,), device=device)

    def step():
        opt.zero_grad(set_to_none=True)
        with torch.autocast(device_type="cuda", dtype=torch.bfloat16, enabled=amp == "bf16"):
            loss = torch.nn.functional.cross_entropy(model(**inputs), labels)
        loss.backward()
        opt.step()

    step()  # one-time set-up is not the step's memory
    return {
        "params": count_parameters(model),
        "batch": batch,
        "frames": config["data"]["num_frames"],
        "frame_size": FRAME_SIZE[spec["size"]],
        "threads": torch.get_num_threads(),
        **measure_steps(step, device, spec["warmup"], spec["steps"]),
    }


def worker_attention(spec: dict) -> dict:
    import torch

    from actseg_lib.models import build_model, model_config

    torch.manual_seed(0)
    config = model_config("star_transformer", spec["size"])
    model = build_model("star_transformer", spec["size"]).eval()
    batch = config["train"]["batch_size"]
    with torch.no_grad():
        z, _ = model.embed(**_inputs(model, config, spec["size"], batch, "cpu"))  # [B, T, S, D]
        layer = model.encoder[0] if spec["kind_name"] in ("full", "zigzag") else model.decoder[0]
        module = layer.full if spec["kind_name"] == "full" else layer.cross
        module(z)  # warm-up
        times = []
        with CpuWatch() as cpu:
            for _ in range(3):
                module.score_pairs = 0
                t0 = time.perf_counter()
                module(z)
                times.append(time.perf_counter() - t0)
    B, T, S, D = z.shape
    return {
        "module": type(module).__name__,
        "grid": [B, T, S, D],
        "score_pairs": module.score_pairs,
        "forward_s": min(times),
        "other_cores": cpu.other_cores,
    }


WORKERS = {"train": worker_train, "attention": worker_attention}


def run_worker(spec: dict, args) -> dict:
    quiet = wait_for_quiet(args.busy_limit, args.max_wait)
    proc = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--worker", json.dumps(spec)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=args.worker_timeout,
    )
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")]
    if proc.returncode != 0 or not lines:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-5:]
        return {**spec, **quiet, "error": f"exit {proc.returncode}: " + " | ".join(tail)}
    return {**spec, **json.loads(lines[-1][len("RESULT ") :]), **quiet}


def run_all(args) -> dict:
    import torch

    devices = [("cpu", None)] + ([("cuda", None), ("cuda", "bf16")] if torch.cuda.is_available() else [])
    train_rows, attention_rows = [], []
    for model in MODELS:
        for size in SIZES:
            for device, amp in devices:
                warmup, steps = QUICK_STEPS if args.quick else STEPS[size]
                spec = dict(kind="train", model=model, size=size, device=device, amp=amp, warmup=warmup, steps=steps)
                print(f"train step: {model} {size} {device} {amp or 'fp32'}", flush=True)
                train_rows.append(run_worker(spec, args))
    for size in SIZES:
        for kind in ("full", "zigzag", "binary"):
            print(f"attention: {kind} {size}", flush=True)
            attention_rows.append(run_worker(dict(kind="attention", size=size, kind_name=kind), args))
    return {"train": train_rows, "attention": attention_rows}


def render_markdown(res: dict) -> str:
    m = res["machine"]
    lines = [
        "# Recognition models: training-step time and memory, attention cost",
        "",
        f"Produced by `{res['command']}` on {res['date']} (actseg_lib {res['actseg_lib']}, "
        f"{res['elapsed_s'] / 60:.1f} minutes){' — QUICK smoke run, not a measurement' if res['quick'] else ''}.",
        "",
        f"Machine: {m.get('cpu', '?')}, {m.get('logical_cores', '?')} logical cores, torch {m.get('torch', '?')}.",
        "",
        "Inputs are random tensors of the presets' shapes (values do not change the cost). "
        "'others' is the CPU (in cores) other processes used during the timed steps.",
        "",
        "## 1. Training step (forward + cross-entropy + backward + the preset's optimiser)",
        "",
        "| model | size | device | parameters | batch | frames | pixels | step, median (s) | min-max (s) "
        "| peak memory + (MB) | others (cores) |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in res["train"]:
        if "error" in r:
            lines.append(f"| {r['model']} | {r['size']} | {r['device']} | error: {r['error']} |||||||| |")
            continue
        mem = r.get("peak_alloc_mb", r.get("peak_rss_mb"))
        device = r["device"] + (" bf16" if r.get("amp") else "")
        lines.append(
            f"| {r['model']} | {r['size']} | {device} | {r['params']:,} | {r['batch']} | {r['frames']} | "
            f"{r['frame_size']} | {fmt(r['step_s'], '.3f')} | {fmt(min(r['step_s_all']), '.3f')}-"
            f"{fmt(max(r['step_s_all']), '.3f')} | {fmt(mem, '.0f')} | {fmt(r.get('other_cores'), '.2f')} |"
        )
    lines += [
        "",
        "## 2. STAR's attention kinds on the preset's token grid (forward, eval, CPU)",
        "",
        "| size | grid [B, T, S, D] | attention | scores per sample and head | relative to FAttn "
        "| forward (ms) | relative time |",
        "|---|---|---|---:|---:|---:|---:|",
    ]
    full = {r["size"]: r for r in res["attention"] if r.get("kind_name") == "full" and "error" not in r}
    for r in res["attention"]:
        if "error" in r:
            lines.append(f"| {r['size']} | error: {r['error']} ||||||")
            continue
        ref = full.get(r["size"])
        lines.append(
            f"| {r['size']} | {r['grid']} | {r['module']} | {r['score_pairs']:,} | "
            f"{r['score_pairs'] / ref['score_pairs']:.2f} | {r['forward_s'] * 1e3:.1f} | "
            f"{r['forward_s'] / ref['forward_s']:.2f} |"
        )
    lines += [
        "",
        "Each direction of ZAttn or BAttn scores a quarter of FAttn's query-key pairs; "
        "both directions together, half. The time ratio also includes the projections, "
        "which every kind computes for all tokens.",
        "",
    ]
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run (one step each)")
    parser.add_argument("--out", help="write OUT.json and OUT.md")
    parser.add_argument(
        "--busy-limit",
        type=float,
        default=0.5,
        help="wait while other processes keep more cores than this busy (default 0.5)",
    )
    parser.add_argument("--max-wait", type=float, default=None, help="seconds (default 900; 20 with --quick)")
    parser.add_argument("--worker-timeout", type=float, default=900.0, help="seconds per configuration")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.max_wait is None:
        args.max_wait = 20.0 if args.quick else 900.0
    sys.path.insert(0, str(ROOT))
    if args.worker:
        spec = json.loads(args.worker)
        print("RESULT " + json.dumps(WORKERS[spec["kind"]](spec)), flush=True)
        return 0

    from actseg_lib import __version__

    out = (
        Path(args.out)
        if args.out
        else (Path(tempfile.gettempdir()) / "bench_recognition_quick" if args.quick else HERE / "bench_recognition")
    )
    start = time.time()
    machine = machine_info()
    res = run_all(args)
    result = {
        "command": "python benchmarks/bench_recognition.py" + "".join(" " + shlex.quote(a) for a in sys.argv[1:]),
        "date": dt.datetime.now().astimezone().isoformat(timespec="seconds"),
        "actseg_lib": __version__,
        "quick": args.quick,
        "elapsed_s": time.time() - start,
        "machine": machine,
        **res,
    }
    json_path, md_path = Path(f"{out}.json"), Path(f"{out}.md")
    json_path.parent.mkdir(parents=True, exist_ok=True)
    json_path.write_text(json.dumps(result, indent=2) + "\n")
    md_path.write_text(render_markdown(result))
    print(f"wrote {json_path} and {md_path} ({result['elapsed_s']:.0f} s)")
    return 1 if any("error" in r for rows in res.values() for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())

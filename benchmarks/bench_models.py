"""Training-step time and memory of the segmentation models, and memory against sequence length.

Run: ``python benchmarks/bench_models.py`` (about 10 minutes on the book's 2-core CPU). Writes
``benchmarks/bench_models.json`` and ``benchmarks/bench_models.md`` beside this file;
``--out PREFIX`` writes ``PREFIX.json`` and ``PREFIX.md`` instead. ``--quick`` is a smoke
run (under a minute, short sequences, few steps) that writes to the temporary directory
unless ``--out`` is given, so it never overwrites the committed results by accident.

What is measured (every configuration in a fresh subprocess, so one configuration's
allocations cannot inflate the next one's peak):

1. **Training step** of ``ms_tcn`` and ``asformer`` at both registry sizes, batch 1: forward,
   :func:`~actseg_lib.losses.segmentation_loss`, backward and an Adam step (the registry's
   learning rate and weight decay). ``reduced``: the SynthAct skeleton input (75 channels,
   13 classes) at T = 1500 frames; ``full``: I3D features (2048 channels, 48 classes) at
   T = 5000 frames, about 5.5 minutes of video at 15 fps, in the range of Breakfast's
   longer videos and 50Salads' typical length. Median of ``steps`` steps after ``warmup``
   steps; memory is the peak resident set size (RSS) over the whole run minus the RSS once
   model, optimiser and inputs exist (so it includes the Adam state and the gradients), and,
   from one more step under :mod:`torch.profiler`, the peak of CPU memory allocated by
   tensors during that step. With CUDA available, the same steps on the GPU in float32 and
   under bfloat16 autocast, with ``torch.cuda.max_memory_allocated``.
2. **A 20 000-frame forward pass** (eval, ``no_grad``, batch 1) of both models at both sizes:
   wall time and peak RSS increase.
3. **Memory against length**: :func:`~actseg_lib.nn.windowed_attention` and the quadratic
   reference :func:`~actseg_lib.nn.dense_windowed_attention` at window 512 (ASFormer's
   largest), one head of 32 channels, T = 2500 ... 20000 (dense only up to ``--max-dense``
   frames and only where its estimated peak fits in the available memory); and the reduced
   ASFormer's forward pass at the same lengths.

The peak RSS is the kernel's high-water mark (``VmHWM``), reset through
``/proc/self/clear_refs`` once the baseline exists; where that is not allowed it falls back to
``resource.getrusage(...).ru_maxrss``, the peak since the process started (the method is
recorded). Timings are sensitive to other processes: before each configuration the script
samples ``/proc/stat`` for a second and waits while other processes keep more than
``--busy-limit`` cores busy; it records the load average and the other processes' CPU use
during every measurement, and repeats a measurement that was contended.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import json
import os
import platform
import resource
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent

MODELS = ("ms_tcn", "asformer")
SIZES = ("reduced", "full")
TRAIN_LENGTH = {"reduced": 1500, "full": 5000}
LONG_LENGTH = 20_000
ATTN_LENGTHS = (2500, 5000, 10_000, 20_000)
ATTN_WINDOW, ATTN_HEADS, ATTN_DIM = 512, 1, 32
# how many steps per size: (warm-up, timed); full steps take seconds each on 2 cores
STEPS = {"reduced": (3, 15), "full": (1, 5)}
QUICK = dict(
    train_length={"reduced": 300, "full": 300},
    steps={"reduced": (1, 2), "full": (1, 2)},
    long_length=1000,
    attn_lengths=(1000, 2000),
    sizes=("reduced",),
)
MiB = 2**20
MIN_WATCH_S = 0.25  # CPU use from /proc counts 10 ms ticks: below this it says nothing
FORWARD_REPEATS = 3  # forward-only timings: the fastest of this many runs (memory: the first)
# a forward on this many frames runs before each memory baseline: one-time library set-up
# (thread pool, kernels) is then not counted, and what the allocator keeps from it is small
WARMUP_LENGTH = 64


# ----------------------------------------------------------------------------------------
# measuring inside a worker process
# ----------------------------------------------------------------------------------------


def _status_kib(field: str) -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise KeyError(field)


class PeakRSS:
    """Peak RSS increase over the RSS at ``start()``, in bytes."""

    def start(self) -> None:
        gc.collect()
        try:
            with open("/proc/self/clear_refs", "w") as f:
                f.write("5")  # resets VmHWM to the current RSS
            self.method = "VmHWM after clear_refs"
        except OSError:
            self.method = "ru_maxrss (peak since process start)"
        self.base = _status_kib("VmRSS") * 1024

    def peak(self) -> int:
        if self.method.startswith("VmHWM"):
            hwm = _status_kib("VmHWM") * 1024
        else:
            hwm = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux
        return max(0, hwm - self.base)


def _cpu_jiffies() -> tuple[int, int]:
    """(busy, total) jiffies of the whole machine."""
    with open("/proc/stat") as f:
        values = [int(v) for v in f.readline().split()[1:]]
    idle = values[3] + (values[4] if len(values) > 4 else 0)
    total = sum(values[:8])
    return total - idle, total


def _own_jiffies() -> int:
    """User + system jiffies of this process and its finished children (threads included)."""
    with open("/proc/self/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return sum(int(v) for v in fields[11:15])


class CpuWatch:
    """Cores kept busy by *other* processes while a measurement runs, from /proc/stat."""

    def __enter__(self):
        self.t0, (self.busy0, _), self.own0 = time.perf_counter(), _cpu_jiffies(), _own_jiffies()
        return self

    def __exit__(self, *exc):
        wall = time.perf_counter() - self.t0
        busy1, _ = _cpu_jiffies()
        hz = os.sysconf("SC_CLK_TCK")
        others = (busy1 - self.busy0) - (_own_jiffies() - self.own0)
        self.own_cores = (_own_jiffies() - self.own0) / hz / max(wall, 1e-9)
        self.other_cores = max(0.0, others / hz / max(wall, 1e-9))
        if wall < MIN_WATCH_S:  # a few clock ticks: too coarse to tell
            self.own_cores = self.other_cores = None
        return False


def _profiler_peak(fn) -> int:
    """Peak of CPU memory allocated by tensors while ``fn`` runs (bytes above its start)."""
    from torch.profiler import ProfilerActivity, profile

    with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        fn()
    events = sorted(
        (e for e in prof.profiler.kineto_results.events() if e.name() == "[memory]"), key=lambda e: e.start_ns()
    )
    level = peak = 0
    for e in events:
        if str(e.device_type()).endswith("CPU"):
            level += e.nbytes()
            peak = max(peak, level)
    return peak


def _median(values):
    s = sorted(values)
    n = len(s)
    return s[n // 2] if n % 2 else 0.5 * (s[n // 2 - 1] + s[n // 2])


def _timed_runs(fn, rss: PeakRSS):
    """Run ``fn`` FORWARD_REPEATS times: (first output, wall times, peak RSS increase of the
    first run, CpuWatch over all runs)."""
    times, peak, first = [], None, None
    with CpuWatch() as cpu:
        for _ in range(FORWARD_REPEATS):
            t0 = time.perf_counter()
            out = fn()
            times.append(time.perf_counter() - t0)
            if peak is None:
                first, peak = out, rss.peak()
            del out
    return first, times, peak, cpu


def measure_steps(step, device: str, warmup: int, steps: int) -> dict:
    """Run ``step`` ``warmup`` times, then time ``steps`` runs of it: the median and every
    time, the CPU use of this and other processes, and the peak memory above the level
    at the start (``torch.cuda.max_memory_allocated`` on CUDA, else the peak RSS)."""
    import torch

    def sync():
        if device == "cuda":
            torch.cuda.synchronize()

    rss = PeakRSS()
    if device == "cuda":
        sync()
        torch.cuda.reset_peak_memory_stats()
        base = torch.cuda.memory_allocated()
    else:
        rss.start()
    for _ in range(warmup):
        step()
    sync()
    times = []
    with CpuWatch() as cpu:
        for _ in range(steps):
            t0 = time.perf_counter()
            step()
            sync()
            times.append(time.perf_counter() - t0)
    out = {"step_s": _median(times), "step_s_all": times, "own_cores": cpu.own_cores, "other_cores": cpu.other_cores}
    if device == "cuda":
        out.update(peak_alloc_mb=(torch.cuda.max_memory_allocated() - base) / MiB, gpu=torch.cuda.get_device_name())
    else:
        out.update(peak_rss_mb=rss.peak() / MiB, rss_method=rss.method)
    return out


def worker_train(spec: dict) -> dict:
    import torch

    from actseg_lib.losses import segmentation_loss
    from actseg_lib.models import build_model, count_parameters, model_config

    device, amp = spec["device"], spec.get("amp")
    torch.manual_seed(0)
    config = model_config(spec["model"], spec["size"])
    c_in, k = config["model"]["in_channels"], config["model"]["num_classes"]
    model = build_model(spec["model"], spec["size"]).to(device).train()
    train = config["train"]
    opt = torch.optim.Adam(model.parameters(), lr=train.get("lr", 5e-4), weight_decay=train.get("weight_decay", 0.0))
    T = spec["T"]
    x = torch.randn(1, T, c_in, device=device)
    mask = torch.ones(1, T, dtype=torch.bool, device=device)
    labels = torch.randint(0, k, (1, T), device=device)
    loss_kw = config["loss"]

    def step():
        opt.zero_grad(set_to_none=True)
        with torch.autocast(device_type="cuda", dtype=torch.bfloat16, enabled=amp == "bf16"):
            logits = model(x, mask)
            loss, _ = segmentation_loss(logits, labels, mask, **loss_kw)
        loss.backward()
        opt.step()
        return loss

    # one short forward and backward first: one-time set-up is not the step's memory
    n = min(T, WARMUP_LENGTH)
    with torch.autocast(device_type="cuda", dtype=torch.bfloat16, enabled=amp == "bf16"):
        segmentation_loss(model(x[:, :n], mask[:, :n]), labels[:, :n], mask[:, :n], **loss_kw)[0].backward()
    opt.zero_grad(set_to_none=True)

    out = {
        "params": count_parameters(model),
        "threads": torch.get_num_threads(),
        "input_mb": x.numel() * x.element_size() / MiB,
        **measure_steps(step, device, spec["warmup"], spec["steps"]),
    }
    if device != "cuda" and spec.get("profile"):
        opt.zero_grad(set_to_none=True)
        out["profiler_peak_mb"] = _profiler_peak(step) / MiB
    return out


def worker_forward(spec: dict) -> dict:
    import torch

    from actseg_lib.models import build_model, model_config

    torch.manual_seed(0)
    config = model_config(spec["model"], spec["size"])
    model = build_model(spec["model"], spec["size"]).eval()
    T = spec["T"]
    x = torch.randn(1, T, config["model"]["in_channels"])
    mask = torch.ones(1, T, dtype=torch.bool)
    with torch.no_grad():  # once on a short input: one-time library set-up is not the model's memory
        model(x[:, :WARMUP_LENGTH], mask[:, :WARMUP_LENGTH])
    rss = PeakRSS()
    rss.start()
    with torch.no_grad():
        logits, times, peak, cpu = _timed_runs(lambda: model(x, mask), rss)
        profiler_peak = _profiler_peak(lambda: model(x, mask))
    return {
        "wall_s": min(times),
        "wall_s_all": times,
        "peak_rss_mb": peak / MiB,
        "rss_method": rss.method,
        "profiler_peak_mb": profiler_peak / MiB,
        "finite": bool(torch.isfinite(logits).all()),
        "out_shape": list(logits.shape),
        "input_mb": x.numel() * x.element_size() / MiB,
        "threads": torch.get_num_threads(),
        "own_cores": cpu.own_cores,
        "other_cores": cpu.other_cores,
    }


def worker_attention(spec: dict) -> dict:
    import torch

    from actseg_lib.nn import dense_windowed_attention, windowed_attention

    fn = {"windowed": windowed_attention, "dense": dense_windowed_attention}[spec["impl"]]
    torch.manual_seed(0)
    T = spec["T"]
    q, k, v = (torch.randn(1, ATTN_HEADS, T, ATTN_DIM) for _ in range(3))
    key_mask = torch.ones(1, T, dtype=torch.bool)
    with torch.no_grad():  # once on a short input: one-time library set-up is not the attention's memory
        n = min(T, WARMUP_LENGTH)
        fn(q[:, :, :n], k[:, :, :n], v[:, :, :n], ATTN_WINDOW, key_mask=key_mask[:, :n])
    rss = PeakRSS()
    rss.start()
    with torch.no_grad():
        out, times, peak, cpu = _timed_runs(lambda: fn(q, k, v, ATTN_WINDOW, key_mask=key_mask), rss)
        profiler_peak = _profiler_peak(lambda: fn(q, k, v, ATTN_WINDOW, key_mask=key_mask))
    return {
        "wall_s": min(times),
        "wall_s_all": times,
        "peak_rss_mb": peak / MiB,
        "rss_method": rss.method,
        "profiler_peak_mb": profiler_peak / MiB,
        "finite": bool(torch.isfinite(out).all()),
        "threads": torch.get_num_threads(),
        "own_cores": cpu.own_cores,
        "other_cores": cpu.other_cores,
    }


def worker_conv_in(spec: dict) -> dict:
    """The models' first layer alone: a 1x1 ``Conv1d`` on the transposed ``[B, C, T]`` view."""
    import torch

    from actseg_lib.models import model_config

    config = model_config("ms_tcn", spec["size"])["model"]
    conv = torch.nn.Conv1d(config["in_channels"], config["num_f_maps"], 1).eval()
    T = spec["T"]
    x = torch.randn(1, T, config["in_channels"])
    with torch.no_grad():
        conv(x[:, :WARMUP_LENGTH].transpose(1, 2))
    rss = PeakRSS()
    rss.start()
    with torch.no_grad():
        _, times, peak, cpu = _timed_runs(lambda: conv(x.transpose(1, 2)), rss)
        profiler_peak = _profiler_peak(lambda: conv(x.transpose(1, 2)))
    return {
        "wall_s": min(times),
        "wall_s_all": times,
        "peak_rss_mb": peak / MiB,
        "rss_method": rss.method,
        "profiler_peak_mb": profiler_peak / MiB,
        "layer": f"Conv1d({config['in_channels']}, {config['num_f_maps']}, 1)",
        "input_mb": x.numel() * x.element_size() / MiB,
        "threads": torch.get_num_threads(),
        "own_cores": cpu.own_cores,
        "other_cores": cpu.other_cores,
    }


WORKERS = {"train": worker_train, "forward": worker_forward, "attention": worker_attention, "conv_in": worker_conv_in}


# ----------------------------------------------------------------------------------------
# the driver
# ----------------------------------------------------------------------------------------


def other_busy_cores(seconds: float = 0.5) -> float:
    """Cores kept busy over ``seconds`` (the driver itself sleeps meanwhile)."""
    b0, t0 = _cpu_jiffies()
    time.sleep(seconds)
    b1, t1 = _cpu_jiffies()
    return (b1 - b0) / max(t1 - t0, 1) * (os.cpu_count() or 1)


def wait_for_quiet(limit: float, max_wait: float) -> dict:
    """Wait until other processes keep at most ``limit`` cores busy (or ``max_wait`` passes)."""
    start = time.monotonic()
    busy = other_busy_cores()
    while busy > limit and time.monotonic() - start < max_wait:
        print(f"    waiting: other processes keep {busy:.2f} cores busy (load {os.getloadavg()[0]:.2f})", flush=True)
        time.sleep(10)
        busy = other_busy_cores()
    return {
        "busy_before": round(busy, 2),
        "load_before": [round(v, 2) for v in os.getloadavg()],
        "waited_s": round(time.monotonic() - start, 1),
    }


def run_worker(spec: dict, args) -> dict:
    """Run ``spec`` in a fresh interpreter; repeat it (twice at most, not with --quick) if contended."""
    for attempt in range(1 if args.quick else 3):
        quiet = wait_for_quiet(args.busy_limit, args.max_wait)
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
        proc = subprocess.run(
            [sys.executable, str(Path(__file__).resolve()), "--worker", json.dumps(spec)],
            capture_output=True,
            text=True,
            env=env,
            timeout=args.worker_timeout,
        )
        lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")]
        if proc.returncode != 0 or not lines:
            tail = (proc.stderr or proc.stdout).strip().splitlines()[-5:]
            return {**spec, **quiet, "error": f"exit {proc.returncode}: " + " | ".join(tail)}
        result = {**spec, **json.loads(lines[-1][len("RESULT ") :]), **quiet, "attempt": attempt + 1}
        if (result.get("other_cores") or 0.0) <= args.busy_limit:
            break
        print(f"    contended (other processes used {result['other_cores']:.2f} cores); repeating", flush=True)
    result["contended"] = (result.get("other_cores") or 0.0) > args.busy_limit
    return result


def dense_estimate_bytes(T: int) -> int:
    """Peak of dense_windowed_attention with a margin: measured about 16 bytes per (query, key)
    pair, the int64 distance matrix of ``band_mask`` and its absolute value alive together."""
    return 20 * T * T


def mem_available() -> int:
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    return 0


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine_info() -> dict:
    import torch

    info = {
        "cpu": cpu_model(),
        "logical_cores": os.cpu_count(),
        "affinity_cores": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "torch_threads": torch.get_num_threads(),
        "memory_gb": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "cuda": torch.cuda.is_available(),
    }
    if info["cuda"]:
        info["gpu"] = torch.cuda.get_device_name()
    return info


def linear_fit(xs, ys):
    """Least squares ``y = a + b x``: (a, b, r2)."""
    n = len(xs)
    mx, my = sum(xs) / n, sum(ys) / n
    sxx = sum((x - mx) ** 2 for x in xs)
    b = sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sxx if sxx else 0.0
    a = my - b * mx
    ss = sum((y - my) ** 2 for y in ys)
    r2 = 1 - sum((y - a - b * x) ** 2 for x, y in zip(xs, ys)) / ss if ss else 1.0
    return a, b, r2


def run_all(args) -> dict:
    import torch

    quick = args.quick
    sizes = QUICK["sizes"] if quick else SIZES
    train_length = QUICK["train_length"] if quick else TRAIN_LENGTH
    steps = QUICK["steps"] if quick else STEPS
    long_length = QUICK["long_length"] if quick else LONG_LENGTH
    attn_lengths = QUICK["attn_lengths"] if quick else ATTN_LENGTHS
    result = {"train": [], "train_gpu": [], "long_forward": [], "attention": [], "asformer_length": []}

    print("1. training step (forward + loss + backward + Adam), batch 1", flush=True)
    for size in sizes:
        for name in MODELS:
            warmup, n = steps[size]
            spec = dict(
                kind="train",
                model=name,
                size=size,
                T=train_length[size],
                warmup=warmup,
                steps=n,
                device="cpu",
                profile=True,
            )
            r = run_worker(spec, args)
            result["train"].append(r)
            print(
                f"  {name:8} {size:7} T={spec['T']:>5}: "
                + (
                    r.get("error")
                    or f"{r['params']:>9,} params, step {r['step_s'] * 1e3:8.1f} ms, peak RSS +{r['peak_rss_mb']:7.1f} MB, "
                    f"profiler peak {r['profiler_peak_mb']:7.1f} MB, others {fmt(r['other_cores'], '.2f')} cores"
                ),
                flush=True,
            )
    if torch.cuda.is_available():
        for size in sizes:
            for name in MODELS:
                for amp in (None, "bf16"):
                    spec = dict(
                        kind="train",
                        model=name,
                        size=size,
                        T=train_length[size],
                        warmup=3,
                        steps=10,
                        device="cuda",
                        amp=amp,
                    )
                    r = run_worker(spec, args)
                    result["train_gpu"].append(r)
                    print(
                        f"  cuda {amp or 'fp32':4} {name:8} {size:7}: "
                        + (
                            r.get("error")
                            or f"step {r['step_s'] * 1e3:7.2f} ms, peak allocated +{r['peak_alloc_mb']:8.1f} MB"
                        ),
                        flush=True,
                    )
    else:
        print("  (no CUDA: GPU measurements skipped)", flush=True)

    print(f"2. {long_length:,}-frame forward pass (eval, no_grad, batch 1)", flush=True)
    for size in sizes:
        for name in MODELS:
            r = run_worker(dict(kind="forward", model=name, size=size, T=long_length), args)
            result["long_forward"].append(r)
            print(
                f"  {name:8} {size:7}: "
                + (r.get("error") or f"{r['wall_s']:7.2f} s, peak RSS +{r['peak_rss_mb']:8.1f} MB"),
                flush=True,
            )
        r = run_worker(dict(kind="conv_in", model="first layer alone", size=size, T=long_length), args)
        result["long_forward"].append(r)
        print(
            f"  first layer alone {size:7}: "
            + (r.get("error") or f"{r['layer']}, {r['wall_s']:7.2f} s, peak RSS +{r['peak_rss_mb']:8.1f} MB"),
            flush=True,
        )

    print(f"3. attention memory vs length (window {ATTN_WINDOW}, H={ATTN_HEADS}, D={ATTN_DIM})", flush=True)
    for T in attn_lengths:
        for impl in ("windowed", "dense"):
            spec = dict(kind="attention", impl=impl, T=T)
            if impl == "dense":
                need, avail = dense_estimate_bytes(T), mem_available()
                if T > args.max_dense or need > 0.7 * avail:
                    why = (
                        f"T > --max-dense {args.max_dense}"
                        if T > args.max_dense
                        else f"estimated {need / 2**30:.1f} GB > 70% of the {avail / 2**30:.1f} GB available"
                    )
                    result["attention"].append({**spec, "skipped": why})
                    print(f"  {impl:8} T={T:>6}: skipped ({why})", flush=True)
                    continue
            r = run_worker(spec, args)
            result["attention"].append(r)
            print(
                f"  {impl:8} T={T:>6}: "
                + (r.get("error") or f"peak RSS +{r['peak_rss_mb']:8.1f} MB, {r['wall_s']:.3f} s"),
                flush=True,
            )
    print("   ASFormer (reduced) forward vs length", flush=True)
    for T in attn_lengths:
        r = run_worker(dict(kind="forward", model="asformer", size="reduced", T=T), args)
        result["asformer_length"].append(r)
        print(
            f"  asformer reduced T={T:>6}: "
            + (r.get("error") or f"peak RSS +{r['peak_rss_mb']:8.1f} MB, {r['wall_s']:.2f} s"),
            flush=True,
        )
    return result


# ----------------------------------------------------------------------------------------
# the report
# ----------------------------------------------------------------------------------------


def fmt(v, spec=".1f", missing="-"):
    return missing if v is None else format(v, spec)


def render_markdown(res: dict) -> str:
    m = res["machine"]
    lines = [
        "# Segmentation models: training-step time and memory, memory against length",
        "",
        f"Produced by `{res['command']}` on {res['date']} (actseg_lib {res['actseg_lib']}, "
        f"{res['elapsed_s'] / 60:.1f} minutes).",
        "",
        f"Machine: {m['cpu']}, {m['logical_cores']} logical cores ({m['affinity_cores']} usable), "
        f"{m['memory_gb']} GB memory, {m['platform']}; Python {m['python']}, torch {m['torch']} with "
        f"{m['torch_threads']} intra-op threads; CUDA {'yes: ' + m.get('gpu', '') if m['cuda'] else 'not available'}.",
        "",
        "Every configuration ran in a fresh subprocess; memory is the peak resident set size "
        "(RSS) during the measurement minus the RSS once the model, optimiser and inputs existed "
        f"({res['rss_method']}). 'others' is the CPU (in cores) that other processes used during the "
        f"timed runs ('-' where they took under {MIN_WATCH_S} s, too short to tell); forward-only wall times "
        f"are the fastest of {FORWARD_REPEATS} runs. The workload and method are in the script's docstring.",
        "",
    ]
    rows = [r for v in res.values() if isinstance(v, list) for r in v if isinstance(r, dict) and "load_before" in r]
    if rows:
        loads = [r["load_before"][0] for r in rows]
        busy = [r["busy_before"] for r in rows]
        others = [r["other_cores"] for r in rows if r.get("other_cores") is not None] or [0.0]
        lines += [
            f"CPU contention: the 1-minute load average before each configuration was {min(loads):.2f}-"
            f"{max(loads):.2f} (it counts this script's own previous configuration and other "
            "processes' short bursts, so the script decides by sampling `/proc/stat` instead); other "
            f"processes kept {min(busy):.2f}-{max(busy):.2f} cores busy just before each "
            f"configuration and {min(others):.2f}-{max(others):.2f} cores during the measurements; "
            f"{sum(r.get('attempt', 1) > 1 for r in rows)} configuration(s) were repeated because they "
            f"were contended, {sum(bool(r.get('contended')) for r in rows)} remain marked contended.",
            "",
        ]
    if res.get("quick"):
        lines += ["**Quick smoke run**: short sequences and few steps; not the committed numbers.", ""]

    lines += [
        "## 1. Training step on the CPU (forward + loss + backward + Adam, batch 1)",
        "",
        "| model | size | parameters | T | step, median (ms) | min-max (ms) | steps | peak RSS + (MB) "
        "| profiler peak alloc (MB) | threads | others (cores) |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in res["train"]:
        if "error" in r:
            lines.append(f"| {r['model']} | {r['size']} | - | {r['T']:,} | error: {r['error']} |")
            continue
        lines.append(
            f"| {r['model']} | {r['size']} | {r['params']:,} | {r['T']:,} | {r['step_s'] * 1e3:,.0f} "
            f"| {min(r['step_s_all']) * 1e3:,.0f}-{max(r['step_s_all']) * 1e3:,.0f} | {r['steps']} (+{r['warmup']}) "
            f"| {r['peak_rss_mb']:,.0f} | {fmt(r.get('profiler_peak_mb'), ',.0f')} | {r['threads']} "
            f"| {fmt(r['other_cores'], '.2f')} |"
        )
    lines += [
        "",
        "The profiler column is the peak of tensor memory allocated during one further step "
        "(torch.profiler, `profile_memory=True`), above what was allocated when it began "
        "(parameters and Adam state); RSS also counts the allocator's and libraries' own memory.",
        "",
    ]

    if res["train_gpu"]:
        lines += [
            "### On the GPU",
            "",
            "| model | size | T | precision | step, median (ms) | peak allocated + (MB) |",
            "|---|---|---:|---|---:|---:|",
        ]
        for r in res["train_gpu"]:
            if "error" in r:
                lines.append(
                    f"| {r['model']} | {r['size']} | {r['T']:,} | {r.get('amp') or 'fp32'} | error: {r['error']} |"
                )
                continue
            lines.append(
                f"| {r['model']} | {r['size']} | {r['T']:,} | {'bf16 autocast' if r.get('amp') else 'fp32'} "
                f"| {r['step_s'] * 1e3:.2f} | {r['peak_alloc_mb']:,.1f} |"
            )
        lines.append("")
    else:
        lines += [
            "No CUDA device on this machine: the GPU measurements (fp32 and bf16 autocast, "
            "`torch.cuda.max_memory_allocated`) were skipped.",
            "",
        ]

    lf = res["long_forward"]
    if lf:
        T = lf[0]["T"]
        lines += [
            f"## 2. A {T:,}-frame forward pass on the CPU (eval, no_grad, batch 1)",
            "",
            "| model | size | wall (s) | peak RSS + (MB) | profiler peak alloc (MB) | input (MB) "
            "| RSS KB per frame | others (cores) |",
            "|---|---|---:|---:|---:|---:|---:|---:|",
        ]
        for r in lf:
            if "error" in r:
                lines.append(f"| {r['model']} | {r['size']} | error: {r['error']} |")
                continue
            model = f"first layer alone: `{r['layer']}`" if r["kind"] == "conv_in" else r["model"]
            lines.append(
                f"| {model} | {r['size']} | {r['wall_s']:.2f} | {r['peak_rss_mb']:,.0f} "
                f"| {fmt(r.get('profiler_peak_mb'), ',.0f')} | {r['input_mb']:,.0f} | {r['peak_rss_mb'] * 1024 / r['T']:.1f} | {fmt(r['other_cores'], '.2f')} |"
            )
        lines += [
            "",
            "None ran out of memory. The 'first layer alone' rows run only the models' first 1x1 "
            "convolution on the transposed `[B, C, T]` view of the input: where a model's peak is no "
            "higher than its first layer's, the peak comes from that convolution's copies of the input, "
            "not from the model's activations.",
            "",
        ]

    lines += [
        "## 3. Memory against length",
        "",
        f"### Attention alone: window {ATTN_WINDOW}, {ATTN_HEADS} head, {ATTN_DIM} channels, no_grad",
        "",
        "| T | windowed: peak RSS + (MB) | bytes per frame | x previous T | time (s) "
        "| dense: peak RSS + (MB) | bytes per frame² | x previous T | time (s) | dense / windowed |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    by = {(r["impl"], r["T"]): r for r in res["attention"]}
    prev_w = prev_d = None
    for T in sorted({r["T"] for r in res["attention"]}):
        w, d = by.get(("windowed", T), {}), by.get(("dense", T), {})
        wm, dm = w.get("peak_rss_mb"), d.get("peak_rss_mb")
        dense_cells = (
            f"{dm:,.0f} | {dm * MiB / T**2:.1f} | {fmt(prev_d and dm / prev_d, '.2f')} "
            f"| {d['wall_s']:.2f} | {dm / wm:.0f}x"
            if dm and wm
            else f"{d.get('skipped') or d.get('error') or '-'} | - | - | - | -"
        )
        lines.append(
            f"| {T:,} | {fmt(wm, ',.1f')} | {fmt(wm and wm * MiB / T, ',.0f')} "
            f"| {fmt(prev_w and wm and wm / prev_w, '.2f')} | {fmt(w.get('wall_s'), '.3f')} | {dense_cells} |"
        )
        prev_w, prev_d = wm, dm
    fits = res.get("fits", {})
    lines.append("")
    if "windowed" in fits:
        a, b, r2 = fits["windowed"]
        lines.append(
            f"Windowed, least squares over T: peak = {a / MiB:.1f} MB + {b:,.0f} bytes x T (R² = {r2:.4f}): "
            "linear in T, and the bytes per frame stay roughly constant."
        )
    if "dense" in fits:
        a, c, r2 = fits["dense"]
        lines.append(
            f"Dense: peak = {a / MiB:.1f} MB + {c:.1f} bytes x T² (R² = {r2:.4f}): quadratic in T; "
            "doubling T multiplies its memory by about 4. At about 16 bytes per (query, key) pair its "
            "peak is `band_mask`'s int64 distance matrix and its absolute value, alive together, "
            "rather than the float32 scores (4 bytes per pair)."
        )
    lines += [
        "",
        "### ASFormer (reduced) forward pass against length (eval, no_grad)",
        "",
        "| T | peak RSS + (MB) | bytes per frame | bytes per added frame | profiler peak alloc (MB) "
        "| bytes per frame | wall (s) |",
        "|---:|---:|---:|---:|---:|---:|---:|",
    ]
    prev = None
    for r in res["asformer_length"]:
        if "error" in r:
            lines.append(f"| {r['T']:,} | error: {r['error']} |")
            continue
        added = (r["peak_rss_mb"] - prev["peak_rss_mb"]) * MiB / (r["T"] - prev["T"]) if prev else None
        pp = r.get("profiler_peak_mb")
        lines.append(
            f"| {r['T']:,} | {r['peak_rss_mb']:,.1f} | {r['peak_rss_mb'] * MiB / r['T']:,.0f} "
            f"| {fmt(added, ',.0f')} | {fmt(pp, ',.1f')} | {fmt(pp and pp * MiB / r['T'], ',.0f')} "
            f"| {r['wall_s']:.2f} |"
        )
        prev = r
    if "asformer" in fits:
        a, b, r2 = fits["asformer"]
        lines += [
            "",
            f"Least squares on RSS: peak = {a / MiB:.1f} MB + {b:,.0f} bytes x T (R² = {r2:.4f}): "
            "linear in T, with a fixed part (allocator and thread-local scratch) that makes the bytes per "
            "frame fall at short lengths, and a few MB of allocator noise between runs.",
        ]
    if "asformer_profiler" in fits:
        a, b, r2 = fits["asformer_profiler"]
        lines.append(
            f"Least squares on the tensors' peak (profiler, no allocator noise): {a / MiB:.2f} MB + "
            f"{b:,.0f} bytes x T (R² = {r2:.4f}). No term grows faster than T: the reduced "
            "model's windows are at most 32 frames."
        )
    lines.append("")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a fast smoke run (short sequences, few steps)")
    parser.add_argument(
        "--out",
        help="write OUT.json and OUT.md (default: benchmarks/bench_models, or the temporary directory with --quick)",
    )
    parser.add_argument(
        "--max-dense",
        type=int,
        default=20_000,
        help="longest sequence for the quadratic dense attention (default 20000)",
    )
    parser.add_argument(
        "--busy-limit",
        type=float,
        default=0.5,
        help="wait while other processes keep more cores than this busy (default 0.5)",
    )
    parser.add_argument(
        "--max-wait",
        type=float,
        help="longest wait for a quiet CPU before each configuration, seconds (default 900; 20 with --quick)",
    )
    parser.add_argument("--worker-timeout", type=float, default=600.0, help="seconds per configuration")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.max_wait is None:
        args.max_wait = 20.0 if args.quick else 900.0
    if args.worker:
        spec = json.loads(args.worker)
        print("RESULT " + json.dumps(WORKERS[spec["kind"]](spec)), flush=True)
        return 0

    sys.path.insert(0, str(ROOT))
    from actseg_lib import __version__

    if args.out:
        out = Path(args.out)
    elif args.quick:
        out = Path(tempfile.gettempdir()) / "bench_models_quick"
    else:
        out = HERE / "bench_models"
    start = time.time()
    machine = machine_info()
    res = run_all(args)
    rss_methods = {r.get("rss_method") for rows in res.values() for r in rows if r.get("rss_method")}

    fits = {}
    rows = [r for r in res["attention"] if r.get("impl") == "windowed" and "peak_rss_mb" in r]
    if len(rows) >= 2:
        fits["windowed"] = linear_fit([r["T"] for r in rows], [r["peak_rss_mb"] * MiB for r in rows])
    rows = [r for r in res["attention"] if r.get("impl") == "dense" and "peak_rss_mb" in r]
    if len(rows) >= 2:
        fits["dense"] = linear_fit([r["T"] ** 2 for r in rows], [r["peak_rss_mb"] * MiB for r in rows])
    rows = [r for r in res["asformer_length"] if "peak_rss_mb" in r]
    if len(rows) >= 2:
        fits["asformer"] = linear_fit([r["T"] for r in rows], [r["peak_rss_mb"] * MiB for r in rows])
        fits["asformer_profiler"] = linear_fit([r["T"] for r in rows], [r["profiler_peak_mb"] * MiB for r in rows])

    cmd = "python benchmarks/bench_models.py" + "".join(" " + shlex.quote(a) for a in sys.argv[1:])
    result = {
        "command": cmd,
        "date": dt.datetime.now().astimezone().isoformat(timespec="seconds"),
        "actseg_lib": __version__,
        "quick": args.quick,
        "elapsed_s": time.time() - start,
        "machine": machine,
        "rss_method": ", ".join(sorted(rss_methods)) or "-",
        "settings": {
            "train_length": (QUICK["train_length"] if args.quick else TRAIN_LENGTH),
            "steps_warmup_timed": (QUICK["steps"] if args.quick else STEPS),
            "attention": {"window": ATTN_WINDOW, "heads": ATTN_HEADS, "dim": ATTN_DIM},
            "max_dense": args.max_dense,
            "busy_limit": args.busy_limit,
        },
        "fits": fits,
        **res,
    }
    if out.suffix in (".json", ".md"):
        out = out.with_suffix("")
    json_path, md_path = Path(f"{out}.json"), Path(f"{out}.md")
    json_path.parent.mkdir(parents=True, exist_ok=True)
    json_path.write_text(json.dumps(result, indent=2) + "\n")
    md_path.write_text(render_markdown(result))
    print(f"wrote {json_path} and {md_path} ({result['elapsed_s']:.0f} s)")
    errors = [r for rows in res.values() for r in rows if "error" in r]
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())

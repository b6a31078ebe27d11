"""Vectorised segmentation metrics vs a per-frame Python loop, at 1k, 10k and 100k frames.

Run: ``make bench`` (or ``python benchmarks/bench_metrics.py``). Writes
``benchmarks/bench_metrics.json`` and ``benchmarks/bench_metrics.md`` beside this file.

Workload per size: one video; the truth has segments of 20-180 frames (mean 100) over
10 classes; the prediction shifts every boundary by up to 8 frames and flips 0.5% of
frames to a random class, i.e. a mildly over-segmented prediction, the case where
F1's segment matching and edit's dynamic programme cost the most.
"""

from __future__ import annotations

import json
import platform
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))  # the loop implementation lives with the tests

from loop_metrics import loop_segmentation_scores  # noqa: E402

from actseg_lib import __version__  # noqa: E402
from actseg_lib.metrics import segmentation_scores  # noqa: E402

SIZES = (1_000, 10_000, 100_000)
NUM_CLASSES = 10
TARGET_SPEEDUP = 50.0


def make_video(num_frames: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    lengths = rng.integers(20, 181, size=num_frames // 20 + 1)
    labels = rng.integers(0, NUM_CLASSES, size=len(lengths))
    true = np.repeat(labels, lengths)[:num_frames]
    ends = np.cumsum(lengths)
    ends = ends[ends < num_frames]
    shifted = np.clip(ends + rng.integers(-8, 9, size=len(ends)), 1, num_frames - 1)
    pred_lengths = np.diff(np.concatenate(([0], np.sort(shifted), [num_frames])))
    pred = np.repeat(labels[: len(pred_lengths)], pred_lengths)
    flips = rng.random(num_frames) < 0.005
    pred[flips] = rng.integers(0, NUM_CLASSES, size=int(flips.sum()))
    return pred, true


def best_time(fn, min_total: float = 0.5, max_repeats: int = 50) -> float:
    """Fastest of several runs (repeats until ``min_total`` seconds have passed)."""
    times = []
    while len(times) < max_repeats and (sum(times) < min_total or len(times) < 3):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> int:
    rows = []
    for num_frames in SIZES:
        pred, true = make_video(num_frames, seed=num_frames)
        fast = segmentation_scores([pred], [true])
        start = time.perf_counter()
        slow = loop_segmentation_scores([pred], [true])
        loop_s = time.perf_counter() - start  # one run: the loop is the slow side
        vec_s = best_time(lambda pred=pred, true=true: segmentation_scores([pred], [true]))
        rows.append(
            {
                "frames": num_frames,
                "true_segments": int(np.count_nonzero(np.diff(true)) + 1),
                "pred_segments": int(np.count_nonzero(np.diff(pred)) + 1),
                "loop_s": loop_s,
                "vectorised_s": vec_s,
                "speedup": loop_s / vec_s,
                "identical": fast == slow,
                "scores": fast,
            }
        )
        print(
            f"{num_frames:>7} frames: loop {loop_s:8.3f} s, vectorised {vec_s * 1e3:8.2f} ms, "
            f"x{loop_s / vec_s:7.1f}, identical={fast == slow}",
            flush=True,
        )

    result = {
        "command": "python benchmarks/bench_metrics.py",
        "actseg_lib": __version__,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "machine": f"{platform.machine()}, {platform.processor() or 'cpu'}",
        "rows": rows,
    }
    (HERE / "bench_metrics.json").write_text(json.dumps(result, indent=2) + "\n")
    lines = [
        "# Segmentation metrics: vectorised vs per-frame loop",
        "",
        f"Produced by `{result['command']}` (actseg_lib {__version__}, Python "
        f"{result['python']}, NumPy {result['numpy']}). Workload: see the script's docstring.",
        "",
        "| frames | true segs | pred segs | loop (s) | vectorised (ms) | speed-up | identical |",
        "|---:|---:|---:|---:|---:|---:|:---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['frames']:,} | {r['true_segments']} | {r['pred_segments']} | {r['loop_s']:.3f} "
            f"| {r['vectorised_s'] * 1e3:.2f} | {r['speedup']:.0f}x | {'yes' if r['identical'] else 'NO'} |"
        )
    (HERE / "bench_metrics.md").write_text("\n".join(lines) + "\n")

    last = rows[-1]
    ok = all(r["identical"] for r in rows) and last["speedup"] >= TARGET_SPEEDUP
    print(
        f"target: >= {TARGET_SPEEDUP:.0f}x at {last['frames']:,} frames with identical results: "
        f"{'met' if ok else 'NOT met'}"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

"""Writes notebooks/30_sigformer_components.ipynb (without outputs)."""

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

cells = []
md = lambda s: cells.append(new_markdown_cell(s.strip("\n")))  # noqa: E731
code = lambda s, tags=None: cells.append(new_code_cell(s.strip("\n"), metadata={"tags": tags} if tags else {}))  # noqa: E731

md(r"""
# 30. SigFormer: the parts, beside their equations

[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/)

SigFormer {cite}`liu2024sigformer` segments long recordings of packaging work (OpenPack
{cite}`yoshimura2024openpack`) into operations, one label a second. It fuses two kinds of
signal. **Dense** signals arrive at every frame: four wrist and arm IMUs and the worker's 2D
keypoints. **Sparse** signals arrive a few times a minute: a handheld scanner beeps when it
reads a label, a printer fires when it prints one. The sparse signals are rare, but
precise: where one fires, the worker is certainly doing one of a few operations. The paper's
central idea is to let the sparse signals *guide* the fusion of the dense ones, and to
confine that guidance, by an attention mask, to the seconds around each event.

Around it sit three more parts: an **intermediate bottleneck** with inner losses (each
stream must predict classes and boundaries on its own), **mutual interactive branches** (a
class branch and a boundary branch that read each other), and a **refinement** that
smooths class probabilities between confident boundaries. This chapter builds each part
beside its equation, checks every teaching version against the library,
`actseg_lib/models/sigformer.py`, and draws the event mask over a real sequence.

*Everything here runs on a CPU in seconds: nothing is trained (training is chapter 31).
The parts are shown on the reduced preset whatever `SIZE` says; the full preset (531 M
parameters) is only counted, on PyTorch's `meta` device.*
""")
code('''
import os

SIZE = os.environ.get("ACTSEG_SIZE", "reduced")  # "reduced" (CPU, minutes) or "full" (the paper's, GPU)
SEED = 0
''', ["parameters"])
code(r'''
import copy
import dataclasses
import math

import matplotlib.pyplot as plt
import numpy as np
import torch
from IPython.display import Markdown, display
from torch.nn import functional as F

from actseg_lib.data import synthact
from actseg_lib.data.datasets import collate_segmentation
from actseg_lib.data.prepare import prepare_segmentation
from actseg_lib.common import IGNORE_INDEX
from actseg_lib.models import build_model, count_parameters, model_config
from actseg_lib.models.sigformer import (
    BoundaryBranchTCN,
    ConvModule,
    ConvTransformerLayers,
    CrossAttention,
    EventTokenizer,
    IntermediateBottleneck,
    ModalityEncoder,
    MotionSpatialFusion,
    MutualInteractiveBranches,
    SecondTokenizer,
    SigFormerLoss,
    SparseGuidedCrossModalModule,
    SparseGuidedFusion,
    boundary_targets,
    boundary_threshold_filter,
    event_attention_mask,
    local_barrier_pooling,
    masked_attention,
    second_labels,
    sinusoidal_positions,
    token_mask,
)
from actseg_lib.viz import class_colors, plot_segment_bars, use_book_style

use_book_style()
torch.manual_seed(SEED)
np.random.seed(SEED)
torch.set_printoptions(precision=3, sci_mode=False)
REDUCED = model_config("sigformer", "reduced")["model"]  # the preset every section below follows
FULL = model_config("sigformer", "full")["model"]
print(f"size {SIZE}; reduced preset: streams {REDUCED['imu_dim']}/{REDUCED['keypoint_dim']} wide, fused width "
      f"{REDUCED['dim']}, heads {REDUCED['heads']} x {REDUCED['dim_head']}, event window {REDUCED['window']} s")
''')

# --- 30.1 -------------------------------------------------------------------------------
md(r"""
## 30.1 What a session gives

SynthAct's *packaging* sequences imitate OpenPack: a worker picks items, assembles a box,
scans and prints labels, and so on through ten operations, with Null (no operation) in
between. Each frame (30 per second) carries

* `imu_acc`: the accelerometer of four IMUs (right and left wrist, right and left upper
  arm), $4 \times 3 = 12$ numbers, as the official code uses them (acceleration only);
* `skeleton2d`: 25 keypoints $\times$ 2 image coordinates $= 50$ numbers (OpenPack's
  keypoint model gives 17);
* `events`: two 0/1 channels, one per sparse signal (`printer`, `scanner`), 1 at the frame
  an event fired.

`prepare_segmentation` joins them into one frame vector $x_t \in \mathbb{R}^{64}$ and keeps
its **layout** (which channels belong to which input), so that SigFormer can cut $x$ back
into streams. The dense channels are standardised with the training split's statistics;
the event channels stay bits. Null is *ignored* (label `IGNORE_INDEX`), as the OpenPack
metric ignores it.
""")
code(r'''
store = synthact.load("packaging", "reduced", progress=False)
data = prepare_segmentation("synthact:packaging", inputs=("imu_acc", "skeleton2d", "events"), samples=store,
                            progress=False)
FPS = round(data.fps)  # frames a token (a second)
print("layout        ", data.layout)
print("stream_kwargs ", data.stream_kwargs())
print("fps           ", data.fps, "| events", data.event_names)
print("splits        ", {k: len(v) for k, v in data.splits.items()}, "sessions")
print("ignored       ", [data.class_names[i] for i in data.ignore_labels], "-> label", IGNORE_INDEX)
NAMES = {i: name for i, name in enumerate(data.class_names)}
NAMES[IGNORE_INDEX] = "Null"
COLORS = class_colors(range(data.num_classes))  # one colour per operation, the same in every figure
display(Markdown("| index | operation |\n|---:|---|\n" + "\n".join(
    f"| {i} | {n} |" for i, n in enumerate(data.class_names) if i not in data.ignore_labels)))
''')
md(r"""
One test session, cut back into its inputs by the layout. Its events are also in the raw
sample, as frame indices per kind; section 30.2 checks the pipeline's bits against them.
""")
code(r'''
test = data.dataset("test")
test_items = [test[i] for i in range(len(test))]  # every test session, standardised
test_samples = [store[int(i)] for i in test.indices]
session, item = test_samples[0], test_items[0]
x = item["x"][None]  # [1, T, 64]
labels = item["labels"][None]  # [1, T]
starts = np.cumsum([0] + [c for _, c in data.layout])
SLICES = {name: slice(int(a), int(b)) for (name, _), a, b in zip(data.layout, starts[:-1], starts[1:])}
imu, keypoints, events = (x[..., SLICES[k]] for k in ("imu_acc", "skeleton2d", "events"))
T = x.shape[1]
print(f"{session.name}: {T} frames = {T / data.fps:.1f} s")
print(f"  imu_acc   {tuple(imu.shape)}   # [B, T, 4 sensors x 3]")
print(f"  skeleton2d {tuple(keypoints.shape)}   # [B, T, 25 joints x 2]")
print(f"  events    {tuple(events.shape)}    # [B, T, {data.event_names}]")
for name in data.event_names:
    print(f"  {name:8s} fired {len(session.events[name])} times, at frames {session.events[name].tolist()}")
''')
code(r'''
full_mask = torch.ones_like(labels, dtype=torch.bool)
y_sec = second_labels(labels, full_mask, FPS)[0]  # [N] one label a second (section 30.11)
seconds = np.arange(T) / data.fps
fig, axes = plt.subplots(4, 1, figsize=(8, 5.2), sharex=True, gridspec_kw={"height_ratios": [0.6, 1.2, 1.2, 0.7]})
plot_segment_bars({"operation": y_sec.numpy()}, ax=axes[0], colors=COLORS, class_names=NAMES,
                  background=(IGNORE_INDEX,))
axes[0].set_xlabel("")
axes[1].plot(seconds, imu[0, :, 0:3].norm(dim=-1), lw=0.6, label="right wrist")
axes[1].plot(seconds, imu[0, :, 3:6].norm(dim=-1), lw=0.6, label="left wrist")
axes[1].set_ylabel("|acc|\n(standardised)")
axes[1].legend(fontsize=7, loc="upper right", ncol=2)
axes[2].plot(seconds, keypoints[0, :, 0::2].mean(-1), lw=0.8, label="mean x")
axes[2].plot(seconds, keypoints[0, :, 1::2].mean(-1), lw=0.8, label="mean y")
axes[2].set_ylabel("keypoints\n(standardised)")
axes[2].legend(fontsize=7, loc="upper right", ncol=2)
for k, name in enumerate(data.event_names):
    at = torch.nonzero(events[0, :, k]).flatten().numpy() / data.fps
    axes[3].vlines(at, k + 0.1, k + 0.9, color=f"C{k + 2}", lw=1.5)
axes[3].set_yticks([0.5, 1.5], data.event_names)
axes[3].set_xlabel("second")
axes[0].set_title(f"{session.name}: operations, two of the dense streams, and the sparse events")
plt.show()
''')

# --- 30.2 -------------------------------------------------------------------------------
md(r"""
## 30.2 One token a second

SigFormer works on **seconds**, not frames. A dense stream becomes one token per second:
the second's $f = 30$ frames are flattened and projected. The keypoints of OpenPack arrive
at 15 Hz on the 30 Hz clock, so their tokenizer keeps every second frame (`step = 2`). With
$N = \lceil T / f \rceil$ seconds (the last one zero-padded),

$$
\mathbf e_n = W \big[\, x_{nf},\; x_{nf + \text{step}},\; \dots,\; x_{(n+1)f - \text{step}} \,\big] + \mathbf b,
\qquad W \in \mathbb{R}^{d \times (f / \text{step})\, C} .
$$

The teaching version pads, reshapes and projects with the module's own weights.
""")
code(r'''
def seconds_by_hand(x, f, step=1):
    """[B, T, C] -> [B, N, (f / step) C]: each second's frames (every step-th), zero-padded to whole seconds."""
    B, T, C = x.shape
    N = math.ceil(T / f)
    padded = torch.cat([x, x.new_zeros(B, N * f - T, C)], dim=1)  # [B, N f, C]
    return padded.reshape(B, N, f, C)[:, :, ::step].reshape(B, N, -1)


torch.manual_seed(SEED)
imu_tokenizer = SecondTokenizer(imu.shape[-1], FPS, REDUCED["imu_dim"])
kpt_tokenizer = SecondTokenizer(keypoints.shape[-1], FPS, REDUCED["keypoint_dim"], step=2)  # 15 Hz
with torch.no_grad():
    e_imu = seconds_by_hand(imu, FPS) @ imu_tokenizer.proj.weight.T + imu_tokenizer.proj.bias  # [1, N, d_imu]
    e_kpt = seconds_by_hand(keypoints, FPS, 2) @ kpt_tokenizer.proj.weight.T + kpt_tokenizer.proj.bias
    torch.testing.assert_close(e_imu, imu_tokenizer(imu))
    torch.testing.assert_close(e_kpt, kpt_tokenizer(keypoints))
    odd = keypoints.clone()
    odd[:, 1::2] = torch.randn_like(odd[:, 1::2])  # the frames a 15 Hz stream does not have
    torch.testing.assert_close(kpt_tokenizer(odd), e_kpt)
N = e_imu.shape[1]
print(f"imu       {tuple(imu.shape)} -> seconds {tuple(seconds_by_hand(imu, FPS).shape)} "
      f"-> tokens {tuple(e_imu.shape)}")
print(f"keypoints {tuple(keypoints.shape)} -> seconds {tuple(seconds_by_hand(keypoints, FPS, 2).shape)} "
      f"-> tokens {tuple(e_kpt.shape)}  (15 of 30 frames; odd frames never read)")
''')
md(r"""
A batch pads its sequences to the longest. A second is **real** if any of its frames is:

$$
m_n = \max_{t \in [nf,\, (n+1)f)} m_t .
$$
""")
code(r'''
batch = collate_segmentation(test_items[:3])  # three sessions of different lengths
by_hand = torch.stack([torch.arange(math.ceil(batch["x"].shape[1] / FPS)) < math.ceil(int(n) / FPS)
                       for n in batch["lengths"]])  # the first ceil(length / f) seconds are real
torch.testing.assert_close(by_hand, token_mask(batch["mask"], FPS))
print("frames per session", batch["lengths"].tolist(), "-> real seconds",
      token_mask(batch["mask"], FPS).sum(1).tolist(), "of", by_hand.shape[1])
''')
md(r"""
A **sparse** stream becomes one bit a second and kind: $b_{n,k} = 1$ if an event of kind
$k$ fired during second $n$. Each kind has an embedding of its two values and a projection
to the fused width $D$; the kinds are summed into one **guidance** stream, as the official
code does:

$$
b_{n,k} = \big[\exists\, t \in [nf, (n+1)f):\ \text{event}_k(t)\big], \qquad
\mathbf g_n = \sum_k \big( U_k\, E_k[b_{n,k}] + \mathbf c_k \big),\quad E_k \in \mathbb{R}^{2 \times d_e} .
$$

The check computes the bits from the raw sample's event frames, independently of the data
pipeline.
""")
code(r'''
torch.manual_seed(SEED)
event_tokenizer = EventTokenizer(len(data.event_names), FPS, REDUCED["event_dim"], REDUCED["dim"])
bits_by_hand = torch.zeros(1, N, len(data.event_names), dtype=torch.long)
for k, name in enumerate(data.event_names):
    bits_by_hand[0, session.events[name] // FPS, k] = 1  # the second each event frame falls in
bits = event_tokenizer.bits(events)  # [1, N, E]
torch.testing.assert_close(bits, bits_by_hand)
with torch.no_grad():
    g_by_hand = sum(event_tokenizer.embed[k].weight[bits[..., k]] @ event_tokenizer.proj[k].weight.T
                    + event_tokenizer.proj[k].bias for k in range(bits.shape[-1]))
    guidance, _ = event_tokenizer(events)
torch.testing.assert_close(g_by_hand, guidance)
for k, name in enumerate(data.event_names):
    print(f"{name:8s}: {len(session.events[name]):2d} events -> {int(bits[0, :, k].sum()):2d} seconds with a bit "
          f"(events in the same second merge)")
print(f"guidance {tuple(guidance.shape)}   # [B, N, D]; {int((bits.amax(-1) > 0).sum())} of {N} seconds hold an event")
''')

# --- 30.3 -------------------------------------------------------------------------------
md(r"""
## 30.3 The sparse-event mask, drawn over a sequence

The paper's **sparse guided fusion** attends "only within the temporal regions where the
sparse signals are active". The library makes that a boolean mask over pairs of seconds:
second $i$ may read second $j$ if both lie within $w$ seconds of one same event second $e$,

$$
M_{ij} = 1 \iff \exists\, e \in \mathcal E:\ |i - e| \le w \ \text{and}\ |j - e| \le w,
\qquad \mathcal E = \{ n : \textstyle\max_k b_{n,k} = 1 \} .
$$

So $M$ is a union of $(2w + 1) \times (2w + 1)$ squares on the diagonal, one per event
second. A second farther than $w$ from every event reads nothing and is read by nobody:
it is **blind** to the guidance. The preset's window is $w = 3$ (the official code's
default is to attend everywhere; section 30.7). The teaching version sets the squares one
event at a time.
""")
code(r'''
WINDOW = REDUCED["window"]


def event_mask_by_hand(bits, w):
    """[1, N, E] bits -> [N, N] bool: a (2w+1)-square around every event second."""
    N = bits.shape[1]
    M = torch.zeros(N, N, dtype=torch.bool)
    for e in torch.nonzero(bits[0].amax(-1) > 0).flatten().tolist():
        lo, hi = max(0, e - w), min(N, e + w + 1)
        M[lo:hi, lo:hi] = True
    return M


M = event_attention_mask(bits, WINDOW)[0]  # [N, N]
torch.testing.assert_close(event_mask_by_hand(bits, WINDOW), M)
covered = M.any(-1)  # [N] seconds that read (and are read by) something
print(f"window {WINDOW}: {int(covered.sum())} of {N} seconds covered ({covered.float().mean():.1%}), "
      f"{int((~covered).sum())} blind; {int(M.sum())} of {N * N} pairs allowed ({M.float().mean():.2%})")
''')
md(r"""
The figure stacks, on one time axis in seconds: the operations; the events (ticks) over the
seconds the mask covers (blue); and the mask itself, query second down, key second across.
Black pairs may attend; the red rows and columns are the blind seconds.
""")
code(r'''
def runs(flags):
    """[(start, end), ...] of the True runs of a 1-D bool array."""
    flags = np.r_[False, np.asarray(flags, bool), False]
    edges = np.flatnonzero(np.diff(flags.astype(int)))
    return list(zip(edges[::2], edges[1::2]))


def draw_events(ax, bits, covered):
    for a, b in runs(covered):
        ax.axvspan(a, b, color="#cfe2f3", zorder=0)
    for k, name in enumerate(data.event_names):
        at = torch.nonzero(bits[0, :, k]).flatten().numpy()
        ax.vlines(at + 0.5, k + 0.1, k + 0.9, color=f"C{k + 2}", lw=1.5)
    ax.set_yticks([0.5 + k for k in range(len(data.event_names))], data.event_names)
    ax.set_ylim(0, len(data.event_names))


fig = plt.figure(figsize=(8, 9.5))
grid = fig.add_gridspec(3, 1, height_ratios=[0.5, 0.7, 7], hspace=0.1)
ax_op = fig.add_subplot(grid[0])
ax_ev = fig.add_subplot(grid[1], sharex=ax_op)
ax_m = fig.add_subplot(grid[2], sharex=ax_op)
plot_segment_bars({"operation": y_sec.numpy()}, ax=ax_op, colors=COLORS, class_names=NAMES, background=(IGNORE_INDEX,))
draw_events(ax_ev, bits, covered)
image = np.ones((N, N, 3))
blind = (~covered).numpy()
image[blind, :] = image[:, blind] = (0.96, 0.80, 0.80)  # blind rows and columns
image[M.numpy()] = (0.1, 0.1, 0.1)  # pairs that may attend
ax_m.imshow(image, extent=(0, N, N, 0), aspect="auto", interpolation="nearest")
ax_m.set(xlabel="key second j", ylabel="query second i")
for ax in (ax_op, ax_ev):
    ax.tick_params(labelbottom=False)
    ax.set_xlabel("")
ax_op.set_title(f"{session.name}: event mask, window {WINDOW} s ({covered.float().mean():.0%} of seconds covered)")
plt.show()
''')
md(r"""
Zoomed in on the busiest stretch: events a few seconds apart give overlapping squares,
and their union is not one square. A second near the first event and a second near the
last may not read each other when no single event lies within $w$ of both.
""")
code(r'''
event_secs = torch.nonzero(bits[0].amax(-1) > 0).flatten()
gaps = event_secs[1:] - event_secs[:-1]
first = int(event_secs[:-1][gaps == gaps.min()][0])  # the closest pair of event seconds
lo, hi = max(0, first - 3 * WINDOW), min(N, first + 5 * WINDOW)
fig, ax = plt.subplots(figsize=(4.2, 4.2))
ax.imshow(image[lo:hi, lo:hi], extent=(lo, hi, hi, lo), interpolation="nearest")
for k, name in enumerate(data.event_names):
    at = torch.nonzero(bits[0, lo:hi, k]).flatten().numpy() + lo + 0.5
    ax.scatter(at, np.full(len(at), lo - 0.6), marker="v", color=f"C{k + 2}", label=name, clip_on=False)
    ax.scatter(at, at, marker="x", color=f"C{k + 2}")
ax.set(xlim=(lo, hi), ylim=(hi, lo - 1.2), xlabel="key second j", ylabel="query second i",
       title=f"seconds {lo}-{hi - 1}: events (x) and their squares")
ax.legend(fontsize=7, loc="lower left")
plt.show()
print(f"event seconds here: {[int(e) for e in event_secs if lo <= e < hi]}; allowed pairs in this window: "
      f"{int(M[lo:hi, lo:hi].sum())} of {(hi - lo) ** 2}")
''')
md(r"""
Which operations the covered seconds belong to (every number computed from the labels of
this session):
""")
code(r'''
present = sorted(set(y_sec.tolist()), key=lambda c: -float(covered[y_sec == c].float().mean()))
display(Markdown("| operation | seconds | covered | share covered |\n|---|---:|---:|---:|\n" + "\n".join(
    f"| {NAMES[c]} | {int((y_sec == c).sum())} | {int(covered[y_sec == c].sum())} | "
    f"{covered[y_sec == c].float().mean():.0%} |" for c in present)))
covered_ops = [NAMES[c] for c in present if covered[y_sec == c].any()]
never = [NAMES[c] for c in present if not covered[y_sec == c].any()]
print("covered seconds belong to:", covered_ops)
print("never covered:            ", never)
''')
md(r"""
The mask says something about the data as much as about the model: the scanner and the
printer fire during the labelling operations, so the guidance can only speak about the
seconds around them. How wide the window is decides how much of the sequence the
guidance reaches. The sweep below runs over all eight test sessions.
""")
code(r'''
def test_bits(item):
    return event_tokenizer.bits(item["x"][None, :, SLICES["events"]])


all_bits = [test_bits(it) for it in test_items]
all_y = [second_labels(it["labels"][None], torch.ones(1, len(it["labels"]), dtype=torch.bool), FPS)[0]
         for it in test_items]
sweep, cover_rows = [], {}
for w in (1, 3, 5, 10):
    masks = [event_attention_mask(b, w)[0] for b in all_bits]
    cov = torch.cat([m.any(-1) for m in masks])
    ys = torch.cat(all_y)
    ops = [NAMES[c] for c in sorted(set(ys.tolist())) if c != IGNORE_INDEX and cov[ys == c].float().mean() > 0.5]
    density = sum(int(m.sum()) for m in masks) / sum(m.numel() for m in masks)
    sweep.append((w, float(masks[0].any(-1).float().mean()), float(cov.float().mean()), density, ops))
    cover_rows[w] = masks[0].any(-1).numpy()
coverage = {w: all_cov for w, _, all_cov, _, _ in sweep}
ops_half = {w: ops for w, _, _, _, ops in sweep}
assert 0.15 < coverage[3] < 0.35 and "Scan Label" in ops_half[1]  # what the prose says
display(Markdown("| window $w$ (s) | covered, this session | covered, all test sessions | pairs allowed | operations "
                 "more than half covered |\n|---:|---:|---:|---:|---|\n" + "\n".join(
                     f"| {w} | {a:.1%} | {b:.1%} | {d:.2%} | {', '.join(ops) or '-'} |" for w, a, b, d, ops in sweep)))

fig, ax = plt.subplots(figsize=(8, 2.4))
plot_segment_bars({"operation": y_sec.numpy()}, ax=ax, colors=COLORS, class_names=NAMES, background=(IGNORE_INDEX,))
for row, (w, flags) in enumerate(cover_rows.items()):
    y = -1 - row
    ax.broken_barh([(a, b - a) for a, b in runs(flags)], (y - 0.4, 0.8), facecolors="#3d85c6")
ax.set_ylim(-len(cover_rows) - 0.6, 0.6)
ax.set_yticks([0] + [-1 - r for r in range(len(cover_rows))], ["operation"] + [f"w = {w}" for w in cover_rows])
ax.set_xlabel("second")
ax.set_title(f"{session.name}: seconds the event mask covers, by window")
plt.show()
''')

# --- 30.4 -------------------------------------------------------------------------------
md(r"""
## 30.4 Masked attention

Attention with a 0/1 mask adds $\log M$ to the scores: $\log 1 = 0$ leaves a score alone,
$\log 0 = -\infty$ gives it weight $e^{-\infty} = 0$. Per head, with $d$ the head width,

$$
\mathrm{MaskedAttn}(Q, K, V; M) = \mathrm{softmax}\!\Big(\frac{Q K^\top}{\sqrt d} + \log M\Big) V .
$$

A query whose row of $M$ is all zero (a blind second) would take a softmax of $-\infty$
everywhere, which is undefined (NaN); the library defines its output as $0$: it reads
nothing. The library calls `scaled_dot_product_attention` with a boolean mask; the
teaching version writes the $-\infty$ out, on the session's real mask.
""")
code(r'''
def masked_attention_by_hand(q, k, v, allowed):
    """q [B, H, N, d], k and v [B, H, M, d], allowed [B, N, M] -> output [B, H, N, d], weights [B, H, N, M]."""
    scores = q @ k.transpose(-1, -2) / math.sqrt(q.shape[-1])
    scores = scores + torch.log(allowed.float())[:, None]  # + log M: 0 or -inf, the same for every head
    weights = torch.nan_to_num(torch.softmax(scores, dim=-1), nan=0.0)  # all -inf rows: NaN -> read nothing
    return weights @ v, weights


torch.manual_seed(SEED)
q, k, v = torch.randn(3, 1, 2, N, 8).unbind(0)  # [B, H, N, d]
allowed = M[None]  # [1, N, N]
out, weights = masked_attention_by_hand(q, k, v, allowed)
torch.testing.assert_close(out, masked_attention(q, k, v, allowed))  # the library's SDPA path
torch.testing.assert_close(weights, masked_attention(q, k, v, allowed, return_weights=True)[1])
outside = ~allowed[:, None].expand_as(weights)
assert torch.all(weights[outside] == 0) and torch.all(out[:, :, ~covered] == 0)
print(f"{int(outside.sum()):,} masked weights, all exactly 0; rows that read something sum to "
      f"{weights[:, :, covered].sum(-1).min():.4f}..{weights[:, :, covered].sum(-1).max():.4f}")
print(f"{int((~covered).sum())} blind queries -> output exactly 0 "
      f"(max |out| there: {out[:, :, ~covered].abs().max():.1f})")
''')
md(r"""
Every attention of the model goes through one module, `CrossAttention`: queries from one
sequence, keys and values from another (or the same), heads split and joined, and the
optional mask. A query that may read nothing gets a zero output, not the output
projection's bias. The sections below reuse this teaching version of it.
""")
code(r'''
def attend(module, queries, context, allowed=None):
    """CrossAttention written out: [B, N, D] queries read [B, M, D] context where allowed [B, N, M]."""
    B, Nq, _ = queries.shape
    split = lambda t: t.reshape(B, t.shape[1], module.heads, -1).transpose(1, 2)  # [B, H, n, d]
    q = split(module.to_q(queries))
    k, v = (split(t) for t in module.to_kv(context).chunk(2, dim=-1))
    if allowed is None:
        allowed = torch.ones(B, Nq, context.shape[1], dtype=torch.bool)
    out, _ = masked_attention_by_hand(q, k, v, allowed)
    out = module.to_out(out.transpose(1, 2).flatten(2))  # [B, N, D]
    return out * allowed.any(-1, keepdim=True)  # nothing to read: 0, not the bias


torch.manual_seed(SEED)
cross = CrossAttention(REDUCED["dim"], REDUCED["heads"], REDUCED["dim_head"]).eval()
a, b = torch.randn(1, N, REDUCED["dim"]), torch.randn(1, N, REDUCED["dim"])
with torch.no_grad():
    torch.testing.assert_close(attend(cross, a, b, allowed), cross(a, b, allowed))
    torch.testing.assert_close(attend(cross, a, a), cross(a, a))
print("CrossAttention by hand == library, with the event mask and without")
''')

# --- 30.5 -------------------------------------------------------------------------------
md(r"""
## 30.5 The per-modality encoder

Each dense stream has its own encoder: a positional encoding, dropout, then layers of
pre-norm self-attention and a pre-norm **convolution module**. The official code learns a
position per slot of its fixed 50-second windows; the library trains on whole sessions of
any length, so it uses the fixed sinusoids of the original transformer
{cite}`vaswani2017attention`:

$$
\mathrm{PE}_{n, 2i} = \sin\!\big(n / 10000^{2i/d}\big), \qquad \mathrm{PE}_{n, 2i+1} = \cos\!\big(n / 10000^{2i/d}\big) .
$$
""")
code(r'''
d = REDUCED["imu_dim"]
n, i = torch.arange(N)[:, None].float(), torch.arange(0, d, 2).float()
pe = torch.zeros(N, d)
pe[:, 0::2], pe[:, 1::2] = torch.sin(n / 10000 ** (i / d)), torch.cos(n / 10000 ** (i / d))
torch.testing.assert_close(pe, sinusoidal_positions(N, d))
print(f"positions {tuple(pe.shape)}   # [N, d]; |PE_n| = {pe[0].norm():.2f} for every n")
''')
md(r"""
The **convolution module** (the official `ConvLayer`) widens the channels four times, runs
a 3-tap convolution along time and narrows back, each step with a GroupNorm; on the
channels-first $h \in \mathbb{R}^{d \times N}$, with $m$ the real seconds,

$$
\mathrm{Conv}(h) = \mathrm{GN}_m\Big( W_3\, \mathrm{GELU}\big(\mathrm{GN}_m\big(W_2 * \mathrm{GELU}(\mathrm{GN}_m(W_1 (h \odot m)))\big)\big) \Big),
$$

$W_1$ and $W_3$ are $1 \times 1$ convolutions ($d \to 4d \to d$), $W_2$ a 3-tap one
($4d \to 4d$). $\mathrm{GN}_m$ is a GroupNorm whose mean and variance run over each
group's channels and the **real** seconds only, and which zeroes the padded ones:

$$
\mathrm{GN}_m(h)_{ct} = m_t \Big(\gamma_c \frac{h_{ct} - \mu_g}{\sqrt{\sigma_g^2 + \epsilon}} + \beta_c\Big),
\qquad \mu_g, \sigma_g^2 \text{ over } c \in g,\ m_t = 1 .
$$

PyTorch's `nn.GroupNorm` would count the padded seconds in $\mu_g$ and $\sigma_g^2$, so a
session's prediction would depend on how long the other sessions of its batch are (the
official code trains on fixed 50-second clips, where no padding arises). The check
batches a session with 40 seconds of padding: padded contents never reach the real
seconds, and the real seconds come out as they do with no padding at all.
""")
code(r'''
def group_norm_real(h, norm, m):
    """GroupNorm over the real seconds only; h [B, C, N], m [B, 1, N]."""
    B, C, N = h.shape
    g, mg = h.reshape(B, norm.groups, -1, N), m[:, None]
    count = mg.sum(-1, keepdim=True) * g.shape[2]
    mean = (g * mg).sum((2, 3), keepdim=True) / count
    var = (((g - mean) * mg) ** 2).sum((2, 3), keepdim=True) / count
    out = ((g - mean) / torch.sqrt(var + norm.eps)).reshape(B, C, N)
    return (out * norm.weight[:, None] + norm.bias[:, None]) * m


def conv_module_by_hand(cm, x, mask):
    """x [B, N, d], mask [B, N] -> [B, N, d]."""
    m = mask[:, None, :].float()  # [B, 1, N]
    h = F.gelu(group_norm_real(F.conv1d(x.transpose(1, 2) * m, cm.expand.weight, cm.expand.bias), cm.expand_norm, m))
    h = F.gelu(group_norm_real(F.conv1d(h, cm.temporal.weight, cm.temporal.bias, padding=1), cm.temporal_norm, m))
    return group_norm_real(F.conv1d(h, cm.project.weight, cm.project.bias), cm.project_norm, m).transpose(1, 2)


torch.manual_seed(SEED)
conv_module = ConvModule(d, groups=REDUCED["groups"]).eval()
h = torch.randn(2, N, d)
pad_mask = torch.ones(2, N, dtype=torch.bool)
pad_mask[1, N - 40:] = False  # the second sequence is 40 seconds shorter
with torch.no_grad():
    torch.testing.assert_close(conv_module_by_hand(conv_module, h, pad_mask), conv_module(h, pad_mask))
    noisy = h.clone()
    noisy[1, N - 40:] = 100 * torch.randn(40, d)  # whatever the padding holds
    torch.testing.assert_close(conv_module(noisy, pad_mask)[1, : N - 40], conv_module(h, pad_mask)[1, : N - 40])
    alone = conv_module(h[1:, : N - 40], pad_mask[1:, : N - 40])[0]  # the same session, unpadded
    torch.testing.assert_close(conv_module(h, pad_mask)[1, : N - 40], alone)
print(f"ConvModule by hand == library ({d} -> {4 * d} -> {d} channels); padding changes nothing in the real seconds")
''')
md(r"""
A layer of the encoder is two pre-norm residual steps; padded seconds are neither read
(the attention's pair mask) nor kept:

$$
h \leftarrow h + \mathrm{Attn}(\mathrm{LN}(h)), \qquad h \leftarrow h + \mathrm{Conv}(\mathrm{LN}(h)) ;
$$

the encoder of a stream is $\mathrm{Enc}(\mathbf e) = \mathrm{Layers}\big(\mathrm{Dropout}(\mathbf e + \mathrm{PE})\big)$.
The check runs the IMU tokens of the session through an untrained encoder.
""")
code(r'''
def conv_transformer_by_hand(layers, h, mask):
    pairs = mask[:, :, None] & mask[:, None, :]  # real queries read real keys
    for attn_norm, attn, conv_norm, conv in zip(layers.attn_norms, layers.attns, layers.conv_norms, layers.convs):
        y = attn_norm(h)
        h = h + attend(attn, y, y, pairs)
        h = h + conv_module_by_hand(conv, conv_norm(h), mask)
    return h * mask[..., None]


torch.manual_seed(SEED)
encoder = ModalityEncoder(d, REDUCED["depth"], REDUCED["heads"], REDUCED["dim_head"], groups=REDUCED["groups"]).eval()
real = torch.ones(1, N, dtype=torch.bool)
with torch.no_grad():
    encoded = conv_transformer_by_hand(encoder.layers, e_imu + sinusoidal_positions(N, d), real)  # dropout: off in eval
    torch.testing.assert_close(encoded, encoder(e_imu, real))
    torch.testing.assert_close(conv_transformer_by_hand(encoder.layers, h, pad_mask), encoder.layers(h, pad_mask))
assert isinstance(encoder.layers, ConvTransformerLayers)
print(f"ModalityEncoder by hand == library: IMU tokens {tuple(e_imu.shape)} -> {tuple(encoded.shape)}, "
      f"{REDUCED['depth']} layers, {count_parameters(encoder):,} parameters")
''')

# --- 30.6 -------------------------------------------------------------------------------
md(r"""
## 30.6 The intermediate bottleneck

Between each stream's encoder and the fusion sit two **inner branches**, whose losses
(section 30.11) make each modality's features carry class and boundary information before
the modalities meet.

**Inner class branch.** A 2-layer bidirectional LSTM reads the stream and a linear layer
gives class logits $z_n \in \mathbb{R}^K$; the features take back what they predicted:

$$
z = W_z\, \mathrm{BiLSTM}(h) + \mathbf b_z, \qquad h' = h + W_e\, \mathrm{softmax}(z) + \mathbf b_e .
$$

**Inner boundary branch.** A linear read-out gives a first boundary logit, then $S = 2$
small TCNs refine it, each reading the previous one's probability; the inner boundary
logit is their mean:

$$
\beta_0 = \mathbf w^\top h' + c, \qquad \beta_s = \mathrm{TCN}_s\big(\sigma(\beta_{s-1})\big), \qquad
\beta^{\text{inner}} = \frac{1}{S+1} \sum_{s=0}^{S} \beta_s .
$$

Each TCN is a $1\times1$ convolution in, dilated residual layers
$u \leftarrow u + \mathrm{ReLU}(V_\ell *_{2^\ell} u)$, and a $1\times1$ convolution out.
""")
code(r'''
def tcn_by_hand(tcn, score):
    """score [B, N] -> [B, N], a sequence without padding."""
    u = F.conv1d(score[:, None], tcn.conv_in.weight, tcn.conv_in.bias)
    for layer in tcn.layers:
        u = u + torch.relu(F.conv1d(u, layer.weight, layer.bias, padding=layer.dilation, dilation=layer.dilation))
    return F.conv1d(u, tcn.conv_out.weight, tcn.conv_out.bias)[:, 0]


def bottleneck_by_hand(ib, h):
    """h [B, N, d] (no padding) -> h' [B, N, d], class logits [B, K, N], inner boundary logit [B, N]."""
    z = ib.class_head(ib.lstm(h)[0])  # [B, N, K]
    h = h + ib.class_embed(z.softmax(-1))
    betas = [ib.boundary_in(h)[..., 0]]
    for tcn in ib.boundary_stages:
        betas.append(tcn_by_hand(tcn, torch.sigmoid(betas[-1])))
    return h, z.transpose(1, 2), torch.stack(betas).mean(0)


torch.manual_seed(SEED)
bottleneck = IntermediateBottleneck(d, data.num_classes).eval()  # eval: no dropout between the LSTM layers
with torch.no_grad():
    mine = bottleneck_by_hand(bottleneck, encoded)
    theirs = bottleneck(encoded, real)
for name, a, b in zip(("features h'", "inner class logits", "inner boundary logit"), mine, theirs):
    torch.testing.assert_close(a, b)
    print(f"{name:21s} {tuple(b.shape)}")
assert isinstance(bottleneck.boundary_stages[0], BoundaryBranchTCN)
print(f"bottleneck by hand == library; {count_parameters(bottleneck):,} parameters, "
      f"{count_parameters(bottleneck.lstm):,} of them in the BiLSTM")
''')

# --- 30.7 -------------------------------------------------------------------------------
md(r"""
## 30.7 Sparse guided fusion (SGF)

The fusion works at the fused width $D$: each dense stream $s$ (motion: the IMU; spatial:
the keypoints) is first projected to $D$. Then the guidance $\mathbf g$ **gates** the
stream and **queries** it, inside the event mask $M$:

$$
s' = \mathrm{SiLU}(s + \mathbf g), \qquad
\mathrm{SGF}(s, \mathbf g) = \mathrm{LN}\big(s' + \mathrm{MaskedAttn}(Q = \mathbf g,\ K = V = s';\ M)\big) .
$$

The attention term is what the guidance reads from the stream (the library's `guided`
method returns it alone). With the paper's mask, a second's attention term comes only from
seconds that share an event window with it. The official code has no mask: $M$ is all
ones (`guidance="unmasked"`).
""")
code(r'''
def sgf_by_hand(sgf, s, g, allowed):
    gated = F.silu(s + g)
    return sgf.norm(gated + attend(sgf.attn, g, gated, allowed))


D = REDUCED["dim"]
torch.manual_seed(SEED)
sgf = SparseGuidedFusion(D, REDUCED["heads"], REDUCED["dim_head"]).eval()
stream = torch.randn(1, N, D)
g = guidance + sinusoidal_positions(N, D)  # the session's guidance, positions added as the model does
with torch.no_grad():
    torch.testing.assert_close(sgf_by_hand(sgf, stream, g, allowed), sgf(stream, g, allowed))
print("SGF by hand == library:", tuple(sgf(stream, g, allowed).shape))
''')
md(r"""
**What the mask guarantees.** Change the stream's features at every blind second (far
from all events) and the guided term does not move at all; with the official code's
all-ones mask, it does.
""")
code(r'''
torch.manual_seed(SEED + 1)
moved = stream.clone()
moved[:, ~covered] += 10 * torch.randn(int((~covered).sum()), D)  # rewrite the blind seconds
everything = torch.ones(1, N, N, dtype=torch.bool)  # the official code: no mask
with torch.no_grad():
    masked_before, masked_after = sgf.guided(stream, g, allowed), sgf.guided(moved, g, allowed)
    open_before, open_after = sgf.guided(stream, g, everything), sgf.guided(moved, g, everything)
torch.testing.assert_close(masked_before, masked_after)
assert not torch.allclose(open_before, open_after)
print(f"stream rewritten at {int((~covered).sum())} blind seconds:")
print(f"  masked guidance:   largest change of the guided term {(masked_after - masked_before).abs().max():.2e}")
print(f"  unmasked guidance: largest change {(open_after - open_before).abs().max():.2e}, at "
      f"{int(((open_after - open_before).abs().amax(-1) > 1e-6).sum())} of {N} seconds")
''')
md(r"""
The same, seen in the attention maps of a whole (untrained) model: the first SGF layer of
the motion stream, averaged over heads, with the paper's mask and without it (the same
weights, `guidance="unmasked"`). Masked, each covered second spreads its attention over
its event's square; unmasked, every second spreads it over the whole session.
""")
code(r'''
torch.manual_seed(SEED)
model = build_model("sigformer", "reduced", **data.stream_kwargs(), num_classes=data.num_classes).eval()
unmasked = build_model("sigformer", "reduced", **data.stream_kwargs(), num_classes=data.num_classes,
                       guidance="unmasked").eval()
unmasked.load_state_dict(model.state_dict())  # the same parameters: only the mask differs
maps = {}
for name, net in (("masked (the paper)", model), ("unmasked (the official code)", unmasked)):
    net.record_attention(True)
    with torch.no_grad():
        net(x)
    maps[name] = net.fusion.sgf_motion[0].attn.last_weights[0].mean(0)  # [N, N], heads averaged
    net.record_attention(False)
assert torch.all(maps["masked (the paper)"][~M] == 0)
fig, axes = plt.subplots(1, 2, figsize=(8, 4))
for ax, (name, w) in zip(axes, maps.items()):
    shown = ax.imshow(w, cmap="magma", vmax=float(w.quantile(0.995)), interpolation="nearest")
    ax.set(title=name, xlabel="key second (motion stream)", ylabel="query second (guidance)")
    fig.colorbar(shown, ax=ax, fraction=0.046)
fig.suptitle(f"{session.name}: attention of the guidance over the motion stream, first SGF layer")
plt.tight_layout()
plt.show()
print("share of each covered query's attention inside its event square, unmasked model:",
      f"{float((maps['unmasked (the official code)'] * M).sum(-1)[covered].mean()):.1%} (masked: 100%)")
''')

# --- 30.8 -------------------------------------------------------------------------------
md(r"""
## 30.8 Motion-spatial fusion (MSAF) and the cross-modal module

**MSAF** lets the two dense streams read each other, both from the layer's inputs
(bidirectional cross-attention, post-norm, over the real seconds):

$$
m' = \mathrm{LN}\big(m + \mathrm{Attn}(Q = m,\ K = V = s)\big), \qquad
s' = \mathrm{LN}\big(s + \mathrm{Attn}(Q = s,\ K = V = m)\big) .
$$
""")
code(r'''
def msaf_by_hand(msaf, m, s, mask):
    pairs = mask[:, :, None] & mask[:, None, :]
    return (msaf.motion_norm(m + attend(msaf.motion_reads_spatial, m, s, pairs)),
            msaf.spatial_norm(s + attend(msaf.spatial_reads_motion, s, m, pairs)))


torch.manual_seed(SEED)
msaf = MotionSpatialFusion(D, REDUCED["heads"], REDUCED["dim_head"]).eval()
m_in, s_in = torch.randn(2, N, D), torch.randn(2, N, D)
with torch.no_grad():
    for a, b in zip(msaf_by_hand(msaf, m_in, s_in, pad_mask), msaf(m_in, s_in, pad_mask)):
        torch.testing.assert_close(a, b)
print("MSAF by hand == library (a batch with padding)")
''')
md(r"""
The **sparse guided cross-modal module** projects both streams to $D$ and runs $L$ layers
(2 in the reduced preset, 4 in the full one), each reading the previous layer's output;
its result adds the two streams:

$$
\begin{aligned}
(m, s) &\leftarrow (W_m m,\ W_s s), \\
\text{for } \ell = 1, \dots, L:\qquad
(m, s) &\leftarrow \big(\mathrm{SGF}^m_\ell(m, \mathbf g),\ \mathrm{SGF}^s_\ell(s, \mathbf g)\big), \\
(m, s) &\leftarrow \mathrm{MSAF}_\ell(m, s), \\
(m, s) &\leftarrow \big(\mathrm{LN}(m + \mathrm{FFN}^m_\ell(m)),\ \mathrm{LN}(s + \mathrm{FFN}^s_\ell(s))\big), \\
\text{fused} &= \mathrm{LN}(m + s) .
\end{aligned}
$$

Three modes: `masked` (the paper), `unmasked` (the official code: SGF without a mask),
`none` (SGF skipped: the sparse signals do not enter). The check runs the module of the
model built above, on the session's encoded streams, in all three modes.
""")
code(r'''
def ffn_by_hand(ffn, h):
    lin1, _, _, lin2 = ffn.net
    return ffn.norm(h + lin2(F.gelu(lin1(h))))


def fusion_by_hand(fm, motion, spatial, g, bits, mask):
    m, s = fm.motion_in(motion), fm.spatial_in(spatial)
    pairs = mask[:, :, None] & mask[:, None, :]
    allowed = {"masked": event_attention_mask(bits, fm.window, mask), "unmasked": pairs, "none": None}[fm.guidance]
    for layer in range(len(fm.msaf)):
        if allowed is not None:
            m = sgf_by_hand(fm.sgf_motion[layer], m, g, allowed)
            s = sgf_by_hand(fm.sgf_spatial[layer], s, g, allowed)
        m, s = msaf_by_hand(fm.msaf[layer], m, s, mask)
        m, s = ffn_by_hand(fm.ffn_motion[layer], m), ffn_by_hand(fm.ffn_spatial[layer], s)
    return fm.norm(m + s) * mask[..., None]


assert isinstance(model.fusion, SparseGuidedCrossModalModule)
with torch.no_grad():
    parts = model.split_inputs(x)
    motion, *_ = model.motion_bottleneck(model.motion_encoder(model.motion_tokens(parts["imu_acc"]), real), real)
    spatial, *_ = model.spatial_bottleneck(model.spatial_encoder(model.spatial_tokens(parts["skeleton2d"]), real), real)
    g_model, bits_model = model.event_tokens(parts["events"])
    g_model = g_model + sinusoidal_positions(N, D)
    fused = {}
    for mode in ("masked", "unmasked", "none"):
        fm = copy.deepcopy(model.fusion)
        fm.guidance = mode
        fused[mode] = fm(motion, spatial, g_model, bits_model, real)
        torch.testing.assert_close(fusion_by_hand(fm, motion, spatial, g_model, bits_model, real), fused[mode])
print(f"fusion by hand == library in all three modes: motion {tuple(motion.shape)} + spatial {tuple(spatial.shape)} "
      f"-> fused {tuple(fused['masked'].shape)}")
for a, b in (("masked", "unmasked"), ("masked", "none")):
    diff = (fused[a] - fused[b]).norm(dim=-1)
    print(f"  {a} vs {b}: mean |difference| per second {diff[0, covered].mean():.3f} at covered seconds, "
          f"{diff[0, ~covered].mean():.3f} at blind ones")
''')
md(r"""
Blind seconds still differ between the modes: the mask removes the attention term there,
not the gate $\mathrm{SiLU}(s + \mathbf g)$ (the guidance of a second without an event is
the embedding of bit 0 plus its position), and MSAF then mixes all seconds. The mask
confines what the guidance *reads*, not the whole fusion.

**Stacked layers.** Because each layer reads the previous one's output, the first layer
reaches the output: disturb its FFN and the fused features move. (The official code's
two-layer cross block, the one its interaction stages use, computes each layer from the
block's input: there, disturbing the first layer would change nothing.)
""")
code(r'''
fm = copy.deepcopy(model.fusion)
with torch.no_grad():
    fm.ffn_motion[0].net[-1].bias.add_(torch.randn(D))  # disturb layer 1 only (not by a constant: LN removes that)
    changed = fm(motion, spatial, g_model, bits_model, real)
print(f"disturbing layer 1 of {len(fm.msaf)} moves the fused features by {(changed - fused['masked']).abs().max():.3f}")
assert not torch.allclose(changed, fused["masked"])
''')

# --- 30.9 -------------------------------------------------------------------------------
md(r"""
## 30.9 Mutual interactive branches

Two branches read the fused features $x$: a **class branch** and a **boundary branch**,
each made of encoder layers (section 30.5). Between them, two stages of cross-attention:
first the boundary features read the class features, then the class features read the
(refined) boundary features. A cross stage is

$$
\mathrm{Cross}(a, c) = \mathrm{LN}\big(a' + \mathrm{FFN}(a')\big), \qquad a' = \mathrm{LN}\big(a + \mathrm{Attn}(Q = a,\ K = V = c)\big),
$$

and the branches are

$$
\begin{aligned}
c &= \mathrm{Class}_1(x), \qquad b = \mathrm{Bound}_1(x), \\
\text{stage 1:}\quad b &\leftarrow \mathrm{Bound}_2\big(\mathrm{Cross}(b, c)\big), \\
\text{stage 2:}\quad c &\leftarrow \mathrm{Class}_2\big(\mathrm{Cross}(c, b)\big), \\
z &= W_c\, \mathrm{LN}(c), \qquad \beta = \mathbf w_b^\top \mathrm{LN}(b) .
\end{aligned}
$$

`interactive=False` leaves both crosses out (two independent branches), for chapter 31's
ablation.
""")
code(r'''
def branches_by_hand(br, x, mask):
    pairs = mask[:, :, None] & mask[:, None, :]
    cross = lambda blk, a, c: ffn_by_hand(blk.ffn, blk.norm(a + attend(blk.attn, a, c, pairs))) * mask[..., None]
    c, b = br.class_1(x, mask), br.boundary_1(x, mask)
    if br.interactive:
        b = cross(br.boundary_reads_class, b, c)  # stage 1: boundaries read the classes
    b = br.boundary_2(b, mask)
    if br.interactive:
        c = cross(br.class_reads_boundary, c, b)  # stage 2: classes read the boundaries
    c = br.class_2(c, mask)
    return br.class_head(br.class_norm(c)).transpose(1, 2), br.boundary_head(br.boundary_norm(b))[..., 0]


with torch.no_grad():
    z, beta = branches_by_hand(model.branches, fused["masked"], real)
    z_lib, beta_lib, _ = model.branches(fused["masked"], real)
torch.testing.assert_close(z, z_lib)
torch.testing.assert_close(beta, beta_lib)
print(f"branches by hand == library: class logits {tuple(z.shape)}   # [B, K, N], boundary logits {tuple(beta.shape)}")
''')
md(r"""
What the interaction does, by perturbation: disturb the first class stage $\mathrm{Class}_1$.
With the crosses, the boundary logits change (the boundary branch read the class
features); without them, they stay exactly as they were.
""")
code(r'''
for interactive in (True, False):
    torch.manual_seed(SEED)
    br = MutualInteractiveBranches(D, data.num_classes, 1, REDUCED["heads"], REDUCED["dim_head"], REDUCED["ffn_dim"],
                                   groups=REDUCED["groups"], interactive=interactive).eval()
    disturbed = copy.deepcopy(br)
    with torch.no_grad():
        for p in disturbed.class_1.parameters():
            p.add_(0.1 * torch.randn_like(p))
        (z0, b0, _), (z1, b1, _) = br(fused["masked"], real), disturbed(fused["masked"], real)
    print(f"interactive={interactive!s:5}: Class_1 disturbed -> class logits move {(z1 - z0).abs().max():.3f}, "
          f"boundary logits move {(b1 - b0).abs().max():.3f}  ({count_parameters(br):,} parameters)")
    assert torch.equal(b0, b1) != interactive
''')

# --- 30.10 ------------------------------------------------------------------------------
md(r"""
## 30.10 Refinement: the boundary filter and local barrier pooling

At inference the class probabilities $p_t = \mathrm{softmax}(z_t)$ are smoothed along time,
between boundaries. The **boundary threshold filter** keeps the boundaries the model is
sure of, $\kappa_u = [\beta_u > \tau]$ with $\beta_u = \sigma(\text{boundary logit})$ and
$\tau = 0.85$. **Local barrier pooling** then averages each class's probability over a
window of $k = 99$ seconds, with weights that fall with the boundary probability between
the two seconds (a soft barrier), and are zero across a kept boundary (a wall); the
pooling comes from boundary-aware cascade networks {cite}`wang2020bcn`:

$$
\tilde p_{t} = \frac{\sum_{|s - t| \le k/2} w_{ts}\, p_{s}}{\sum_{|s - t| \le k/2} w_{ts}}, \qquad
w_{ts} =
\begin{cases}
0 & \text{if } \kappa_u = 1 \text{ for some } u \in (\min(s,t), \max(s,t)], \\
\exp\!\Big(-\alpha \sum_{u \in (\min(s,t), \max(s,t)]} \beta_u\Big) & \text{otherwise,}
\end{cases}
$$

with $\alpha = 0.1$. A kept boundary at $u$ starts a new segment at $u$; nothing is pooled
across it. The teaching version is the double loop over $t$ and $s$.
""")
code(r'''
def barrier_pooling_by_hand(p, beta, tau, k, alpha):
    """p [K, N] probabilities, beta [N] boundary probabilities -> [K, N]."""
    K, N = p.shape
    kept = beta > tau
    out = torch.zeros_like(p)
    for t in range(N):
        total, weight = torch.zeros(K), 0.0
        for s in range(max(0, t - k // 2), min(N, t + k // 2 + 1)):
            between = slice(min(s, t) + 1, max(s, t) + 1)  # u in (min, max]
            if kept[between].any():
                continue  # a wall: s is in another segment
            w = math.exp(-alpha * float(beta[between].sum()))
            total, weight = total + w * p[:, s], weight + w
        out[:, t] = total / weight
    return out


torch.manual_seed(SEED)
p_toy = torch.rand(4, 40).softmax(0)  # [K, N]
beta_toy = torch.rand(40) ** 3  # mostly small, a few large
one = torch.ones(1, 40, dtype=torch.bool)
for tau, k, alpha in ((0.85, 99, 0.1), (0.5, 9, 1.0), (0.3, 5, 3.0)):
    torch.testing.assert_close(barrier_pooling_by_hand(p_toy, beta_toy, tau, k, alpha),
                               local_barrier_pooling(p_toy[None], beta_toy[None], one, tau, k, alpha)[0])
    print(f"tau {tau}, kernel {k:2d}, alpha {alpha}: double loop == library "
          f"({int(boundary_threshold_filter(beta_toy, tau).sum())} kept boundaries)")
''')
md(r"""
A synthetic sequence shows what the pooling is for: two segments (class 0, then class 1
from second 50), noisy probabilities that flicker between the classes, a kept boundary at
second 50 and a soft, unkept one at second 25. The pooled probabilities are smooth within
each segment and stop dead at the wall; changing everything right of the wall leaves the
left side exactly as it was.
""")
code(r'''
torch.manual_seed(SEED)
N_toy, cut, soft = 100, 50, 25
truth = (torch.arange(N_toy) >= cut).long()
noisy = F.one_hot(truth, 3).T.float() * 1.5 + 1.2 * torch.randn(3, N_toy)
p_noisy = noisy.softmax(0)[None]  # [1, K, N]
beta_syn = 0.05 + 0.05 * torch.rand(1, N_toy)
beta_syn[0, cut], beta_syn[0, soft] = 0.95, 0.6  # kept (> 0.85) and soft
mask_syn = torch.ones(1, N_toy, dtype=torch.bool)
pooled = local_barrier_pooling(p_noisy, beta_syn, mask_syn, REDUCED["boundary_threshold"], REDUCED["barrier_kernel"],
                               REDUCED["barrier_alpha"])
other = p_noisy.clone()
other[..., cut:] = torch.rand(1, 3, N_toy - cut).softmax(1)  # rewrite everything right of the wall
pooled_other = local_barrier_pooling(other, beta_syn, mask_syn, REDUCED["boundary_threshold"],
                                     REDUCED["barrier_kernel"], REDUCED["barrier_alpha"])
torch.testing.assert_close(pooled_other[..., :cut], pooled[..., :cut])

fig, axes = plt.subplots(2, 1, figsize=(8, 4.4), sharex=True)
for ax, (name, p) in zip(axes, (("before pooling", p_noisy), ("after local barrier pooling", pooled))):
    for c in range(2):
        ax.plot(p[0, c], color=COLORS[c], label=f"class {c}")
    ax.axvline(cut - 0.5, color="k", lw=2, label=f"kept boundary (beta = {beta_syn[0, cut]:.2f})")
    ax.axvline(soft - 0.5, color="grey", ls="--", label=f"soft barrier (beta = {beta_syn[0, soft]:.2f})")
    ax.set(ylabel="probability", title=name, ylim=(0, 1))
axes[0].legend(fontsize=7, loc="upper left", bbox_to_anchor=(1, 1))
axes[1].set_xlabel("second")
plt.tight_layout()
plt.show()
for name, p in (("before", p_noisy), ("after", pooled)):
    right = (p[0].argmax(0) == truth).float().mean()
    flips = int((p[0].argmax(0)[1:] != p[0].argmax(0)[:-1]).sum())
    print(f"{name:6s}: argmax right at {right:.0%} of seconds, {flips} label changes (truth: 1)")
''')
md(r"""
**What the official code does.** Its pooling function expects $[B, C, T]$ (channels, then
time) but is handed the class logits as $[B, T, C]$, so its window runs over the *class
index* of each second, not over time. The library's function shows what that does when
handed the transposed tensor: every second's distribution is smeared over neighbouring
class *numbers*, classes whose only relation is their index. With the default window of 99
(wider than the 11 classes) and no barrier, each second becomes uniform.
""")
code(r'''
torch.manual_seed(SEED)
K_toy, N_small = 5, 12
p_small = (F.one_hot(torch.arange(N_small) // 3 % K_toy, K_toy).T.float() * 3 + 0.3 * torch.randn(K_toy, N_small))
p_small = p_small.softmax(0)[None]  # [1, K, N]: three seconds each of classes 0, 1, 2, 3
no_barrier = torch.zeros(1, N_small)
along_time = local_barrier_pooling(p_small, no_barrier, torch.ones(1, N_small, dtype=torch.bool), 0.85, 3, 0.1)
across = {kernel: local_barrier_pooling(p_small.transpose(1, 2), torch.zeros(1, K_toy),  # [B, T, C] as if [B, C, T]
                                        torch.ones(1, K_toy, dtype=torch.bool), 0.85, kernel, 0.1).transpose(1, 2)
          for kernel in (3, 99)}
torch.testing.assert_close(across[99], torch.full_like(p_small, 1 / K_toy))
fig, axes = plt.subplots(1, 3, figsize=(8, 2.6), sharey=True)
for ax, (name, p) in zip(axes, (("input", p_small), ("along time (kernel 3)", along_time),
                                ("across classes (kernel 3)", across[3]))):
    ax.imshow(p[0], vmin=0, vmax=1, cmap="Blues", aspect="auto")
    ax.set(title=name, xlabel="second", xticks=range(0, N_small, 3))
axes[0].set_ylabel("class")
fig.suptitle("barrier pooling along time (the library) and across classes (the official code's transposed call)")
plt.tight_layout()
plt.show()
s = 1  # a second of class 0
print(f"second {s}: input {p_small[0, :, s].numpy().round(2)} | along time {along_time[0, :, s].numpy().round(2)} | "
      f"across classes, kernel 3: {across[3][0, :, s].numpy().round(2)} | "
      f"kernel 99: {across[99][0, :, s].numpy().round(2)}")
''')
md(r"""
The official code differs in two more ways here. It pools during training too, on the
final logits, so its losses see pooled outputs; the library pools probabilities at
inference only, and the losses see the unrefined logits. And its filter, as written, keeps
$\beta_u$ where $\beta_u > \tau$ and sets it to $0$ elsewhere, handing those values to the
pooling as soft barriers: a kept boundary there weakens the weights across it by a factor
$e^{-\alpha \beta_u} \approx 0.91$, and the unkept ones do nothing. The library makes a kept
boundary a wall and lets the unkept ones act as soft barriers; chapter 31 sweeps $\tau$.
""")

# --- 30.11 ------------------------------------------------------------------------------
md(r"""
## 30.11 Targets and the loss

**One label a second.** A second takes the label of its last real frame (the OpenPack
metric's choice); padded seconds are ignored:

$$
y_n = y_{t_n}, \qquad t_n = \max\{\, t \in [nf, (n+1)f) : m_t = 1 \,\} .
$$
""")
code(r'''
y_batch = second_labels(batch["labels"], batch["mask"], FPS)  # [B, N]
for row, length in enumerate(batch["lengths"].tolist()):
    n_real = math.ceil(length / FPS)
    last = [min((n + 1) * FPS, length) - 1 for n in range(n_real)]  # the last real frame of each second
    by_hand = torch.full((y_batch.shape[1],), IGNORE_INDEX)
    by_hand[:n_real] = batch["labels"][row, last]
    torch.testing.assert_close(by_hand, y_batch[row])
print(f"frame labels {tuple(batch['labels'].shape)} -> second labels {tuple(y_batch.shape)}; padded seconds "
      f"ignored: {(y_batch == IGNORE_INDEX).sum(1).tolist()} (incl. Null)")
''')
md(r"""
**Boundary targets**, within each sequence (row): a real second is a boundary when its
label differs from the previous real second's; the first second of a row never is. Null
counts as a label of its own, so an operation starting after a gap is a boundary.

$$
y^b_n = \big[\, y_n \ne y_{n-1} \,\big]\, m_n\, m_{n-1}, \qquad y^b_0 = 0 .
$$

The official code trains on fixed 50-second clips and takes label changes on the
*batch-flattened* sequence, so the join between two clips of a batch counts as a
boundary whenever their labels differ there. Below, a batch of four 50-second clips from
four test sessions, both ways.
""")
code(r'''
clips = torch.stack([y[30:80] for y in all_y[:4]])  # [4, 50] second labels, from four sessions
clip_mask = torch.ones_like(clips, dtype=torch.bool)
per_row = boundary_targets(clips, clip_mask)  # [4, 50]
by_hand = torch.zeros_like(per_row)
by_hand[:, 1:] = (clips[:, 1:] != clips[:, :-1]).float()
torch.testing.assert_close(per_row, by_hand)
flat = boundary_targets(clips.reshape(1, -1), clip_mask.reshape(1, -1))[0]  # the official code's way
extra = torch.nonzero(flat != per_row.flatten()).flatten().tolist()
joins = [50, 100, 150]
assert set(extra) <= set(joins)
print(f"boundaries per row: {int(per_row.sum())} | flattened: {int(flat.sum())}; the extra ones at flat positions "
      f"{extra} (the joins are at {joins})")
for j in joins:
    print(f"  join {j}: last second of clip {j // 50 - 1} is {NAMES[int(clips.flatten()[j - 1])]!r}, first of clip "
          f"{j // 50} is {NAMES[int(clips.flatten()[j])]!r} -> "
          f"{'boundary' if flat[j] else 'no boundary'} when flattened")
''')
md(r"""
**The loss** has four terms: cross-entropy of the final class logits $z$ and of the mean
of the inner class logits $z_m$ (over the two dense streams), and binary cross-entropy of
the final boundary logit $\beta$ and of the mean inner boundary logit $\beta_m$ against $y^b$:

$$
\mathcal L = 0.5\, \mathrm{CE}(z, y) + 0.5\, \mathrm{CE}\Big(\tfrac12 \sum_m z_m,\ y\Big)
+ 0.2\, \mathrm{BCE}(\beta, y^b) + 0.2\, \mathrm{BCE}\Big(\tfrac12 \sum_m \beta_m,\ y^b\Big),
$$

with Null and padded seconds ignored by the cross-entropies (mean over labelled seconds)
and padded seconds left out of the BCE terms (mean over real seconds). The check runs the
untrained reduced model on the batch of three sessions.
""")
code(r'''
criterion = SigFormerLoss(**model_config("sigformer", "reduced")["loss"])
with torch.no_grad():
    out = model(batch["x"], batch["mask"])
    loss, terms = criterion(out, batch["labels"], batch["mask"], FPS)
    yb = boundary_targets(y_batch, out.token_mask)
    real_b = out.token_mask.float()
    bce = lambda logit: (F.binary_cross_entropy_with_logits(logit, yb, reduction="none") * real_b).sum() / real_b.sum()
    by_hand = {"ce": F.cross_entropy(out.class_logits, y_batch, ignore_index=IGNORE_INDEX),
               "inner_ce": F.cross_entropy(torch.stack(out.inner_class_logits).mean(0), y_batch,
                                           ignore_index=IGNORE_INDEX),
               "bce": bce(out.boundary_logits), "inner_bce": bce(torch.stack(out.inner_boundary_logits).mean(0))}
    total = 0.5 * by_hand["ce"] + 0.5 * by_hand["inner_ce"] + 0.2 * by_hand["bce"] + 0.2 * by_hand["inner_bce"]
torch.testing.assert_close(total, loss)
for key in terms:
    torch.testing.assert_close(torch.tensor(terms[key]), by_hand[key])
print("loss by hand == SigFormerLoss:", f"{float(loss):.4f} =", " + ".join(
    f"{w} x {terms[k]:.3f} ({k})" for w, k in zip((0.5, 0.5, 0.2, 0.2), terms)))
print(f"untrained: CE {terms['ce']:.3f} vs log K = {math.log(data.num_classes):.3f} (uniform guessing)")
''')
md(r"""
Null is ignored: rewriting the class logits at every Null second leaves both
cross-entropies unchanged.
""")
code(r'''
null = (y_batch == IGNORE_INDEX) & out.token_mask  # real seconds labelled Null
rewritten = out.class_logits.clone()
rewritten.masked_scatter_(null[:, None].expand_as(rewritten), 10 * torch.randn(int(null.sum()) * data.num_classes))
_, terms_rewritten = criterion(dataclasses.replace(out, class_logits=rewritten), batch["labels"], batch["mask"], FPS)
assert terms_rewritten["ce"] == terms["ce"]
print(f"{int(null.sum())} Null seconds of {int(out.token_mask.sum())} real ones "
      f"({null.sum() / out.token_mask.sum():.0%}): "
      f"logits rewritten, CE {terms['ce']:.4f} -> {terms_rewritten['ce']:.4f}")
''')

# --- 30.12 ------------------------------------------------------------------------------
md(r"""
## 30.12 The whole model

Put together (the library's `SigFormer.forward`, written out once more with the model's
own parts):

1. cut the frame vector into its inputs; per-second tokens for the IMU and the keypoints;
2. a `ModalityEncoder` and an `IntermediateBottleneck` per dense stream;
3. the guidance from the event bits, with positions;
4. the sparse guided cross-modal module;
5. the mutual interactive branches; at inference, the refinement.
""")
code(r'''
with torch.no_grad():
    tokens = token_mask(full_mask, FPS)  # [1, N]
    m_enc = model.motion_encoder(model.motion_tokens(parts["imu_acc"]), tokens)
    s_enc = model.spatial_encoder(model.spatial_tokens(parts["skeleton2d"]), tokens)
    m_enc, m_logits, m_boundary = model.motion_bottleneck(m_enc, tokens)
    s_enc, s_logits, s_boundary = model.spatial_bottleneck(s_enc, tokens)
    g_whole, bits_whole = model.event_tokens(parts["events"])
    g_whole = g_whole + sinusoidal_positions(N, D)
    fused_whole = model.fusion(m_enc, s_enc, g_whole, bits_whole, tokens)
    z_whole, beta_whole, _ = model.branches(fused_whole, tokens)
    out1 = model(x)
    refined = model.refine(out1)
torch.testing.assert_close(z_whole, out1.class_logits)
torch.testing.assert_close(beta_whole, out1.boundary_logits)
for name in ("class_logits", "boundary_logits", "token_mask", "event_bits", "fused", "class_features"):
    print(f"{name:16s} {tuple(getattr(out1, name).shape)}")
print(f"inner logits     {len(out1.inner_class_logits)} x {tuple(out1.inner_class_logits[0].shape)}, "
      f"{len(out1.inner_boundary_logits)} x {tuple(out1.inner_boundary_logits[0].shape)}")
print(f"refined          {tuple(refined.shape)}; boundaries kept by the untrained model: "
      f"{int(boundary_threshold_filter(torch.sigmoid(out1.boundary_logits), model.boundary_threshold).sum())} "
      f"(its boundary probabilities: {torch.sigmoid(out1.boundary_logits).min():.2f}.."
      f"{torch.sigmoid(out1.boundary_logits).max():.2f})")
''')
md(r"""
**Both presets, counted.** The reduced preset is narrow (streams of width 48, fused width
64) for a 2-core CPU. The full preset is the official code's: streams of 300, fused width
860 (the official code's sum of its stream widths, $300 + 300 + 200 + 30 + 30$; every
stream is projected to it, so the width is kept though there is no 200-wide box stream
here), 20 heads of 64, 4 fusion layers, FFN 2048.
It is counted on the `meta` device, which allocates nothing, on OpenPack's inputs (17
keypoints) and ten operations.
""")
code(r'''
OPENPACK_LAYOUT = [["imu_acc", 12], ["skeleton2d", 34], ["events", 2]]
with torch.device("meta"):
    full = build_model("sigformer", "full", input_layout=OPENPACK_LAYOUT, num_classes=10)
rows = [(name, count_parameters(part), count_parameters(getattr(full, name))) for name, part in model.named_children()]
total_r, total_f = count_parameters(model), count_parameters(full)
assert sum(r for _, r, _ in rows) == total_r and sum(f for _, _, f in rows) == total_f
assert round(total_f / 1e6) == 531  # the figure quoted at the top of the chapter
display(Markdown("| part | reduced | share | full | share |\n|---|---:|---:|---:|---:|\n" + "\n".join(
    f"| `{name}` | {r:,} | {r / total_r:.1%} | {f:,} | {f / total_f:.1%} |" for name, r, f in rows)
    + f"\n| **total** | **{total_r:,}** | | **{total_f:,}** | |"))
widest = full.branches.class_1.convs[0].temporal
print(f"full preset: {total_f / 1e6:.0f} M parameters; one 3-tap convolution of the branches' conv modules "
      f"({widest.in_channels} -> {widest.out_channels} channels) holds {count_parameters(widest) / 1e6:.1f} M of them")
''')
md(r"""
### Where the paper and the official code differ, and what the library does

From the module's docstring, with the section that shows each:

- **Masked guidance** (30.3, 30.7). The paper's SGF attends only inside the temporal
  regions where a sparse signal is active; the official code has no mask.
  `guidance="unmasked"` reproduces the code, `guidance="none"` drops the sparse signals.
- **Interaction stages** (30.8, 30.9). The paper's stage 1 lets the boundary features
  attend to the class features; the official code's first stage queries with the class
  features (keeping their residual) and hands the result to the boundary stream. Its
  two-layer cross block computes each layer from the block's input, so only its last
  layer reaches the output; in the library each fusion layer reads the previous one's
  output, and each interaction stage is one cross layer.
- **GroupNorm over real seconds** (30.5). The official code uses `nn.GroupNorm` on fixed
  50-second clips; on whole sessions padded in a batch that would count the padding, so
  the library's norm counts real seconds only.
- **Barrier pooling along time** (30.10). The official pooling receives $[B, T, C]$ where
  it expects $[B, C, T]$ and smooths across classes; the library smooths along time, a kept
  boundary is a wall, and pooling refines probabilities at inference only.
- **Boundary targets per sequence** (30.11). The official code marks label changes on the
  batch-flattened sequence, so the joins between clips count; the library works row by row.

The library's own choices where neither says: fixed sinusoidal positions (30.5); the two
event kinds summed into one guidance stream (as the code does) sharing one mask (30.2);
heads of LayerNorm + Linear (the code shares one BiLSTM between both heads); no box
stream on SynthAct, so the spatial stream is the keypoints alone.
""")
md(r"""
## Summary

- SigFormer works on **one token a second**: dense streams (IMU accelerations, 2D
  keypoints at 15 Hz) are flattened per second and projected; sparse events become one
  bit a second and kind, embedded and summed into a **guidance** stream.
- The **event mask** lets second $i$ read second $j$ only when both lie within $w$ seconds
  of one event. On SynthAct's test sessions a 3-second window covers about a quarter of
  the seconds (the table in 30.3 gives the exact shares), concentrated on the few
  operations during which the scanner and the printer fire; the rest is blind to the
  guidance.
- **Masked attention** adds $\log M$ to the scores: masked weights are exactly zero and a
  blind query reads nothing, so features at blind seconds cannot change what the
  guidance reads (30.7); without the mask, as in the official code, they do.
- Each stream has a conv-transformer **encoder** and an **intermediate bottleneck** whose
  inner class and boundary branches get their own losses; the **cross-modal module**
  chains SGF, MSAF (bidirectional cross-attention) and FFNs; the **mutual interactive
  branches** let boundaries read classes, then classes read boundaries.
- **Local barrier pooling** smooths class probabilities along time between kept
  boundaries and never across one; the official code's transposed call smooths across
  class indices instead.
- Every teaching version in this chapter matches the library to floating-point tolerance.

## Exercises

1. In section 30.3, find the smallest window $w$ at which more than half of the test
   sessions' seconds are covered. Which operations are still mostly blind then, and why
   would a wider window weaken the paper's argument for the mask?
2. Give each event kind its own mask (call `event_attention_mask` on one column of the
   bits at a time). How much of the sequence does each kind cover, and which operations
   does each one mark?
3. Write the official code's filter (keep $\beta_u$ above $\tau$ as a soft barrier, zero
   elsewhere) as an alternative `boundary` argument to the double loop of section 30.10, and
   rerun the synthetic example. How much of class 1 leaks left of second 50 now?
4. For a batch of 16 fifty-second clips drawn at random from the training sessions, what
   fraction of the flattened boundary targets (section 30.11) are joins rather than real
   label changes? Compare it with the fraction of seconds that are real boundaries.
5. In the table of section 30.12, the full preset's branches hold most of its parameters.
   Compute how many the conv modules' 3-tap convolutions account for, and how the total
   changes with an expansion of 2 instead of 4.
""")

nb = new_notebook(cells=cells, metadata={"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
                                         "language_info": {"name": "python"}})
nbformat.write(nb, "/work/main/notebooks/30_sigformer_components.ipynb")

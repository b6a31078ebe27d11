"""Writes notebooks/41_interact_mfai.ipynb (without outputs)."""

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

cells = []
md = lambda s: cells.append(new_markdown_cell(s.strip("\n")))  # noqa: E731
code = lambda s, tags=None: cells.append(new_code_cell(s.strip("\n"), metadata={"tags": tags} if tags else {}))  # noqa: E731

md(r"""
# 41. InterAct: multi-scale frame-action interaction (MFAI), the losses and the smoothing

[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/)

Query-based segmenters keep two kinds of features side by side: one vector per **frame**,
and one vector per **action** (a learnt query per class). FACT {cite}`lu2024fact` lets the
two update each other in rounds: the action queries read the frames, then the frames read
the action queries, and so on. Every round of FACT works at one resolution, the full frame
rate. InterAct {cite}`interact2025` argues that this is where things go wrong: when the
same fine-grained frames are exchanged with the same queries again and again, neighbouring
frames drift towards each other, the features get **over-smoothed**, and the boundaries
between classes blur (the paper shows it with t-SNE maps of the frame features after each
round, its Fig. 5).

MFAI, the paper's answer, changes *what the queries read*. A C2F-TCN-style encoder-decoder
{cite}`singhania2023c2ftcn`, built from stride-2 depthwise convolutions and ASFormer blocks
{cite}`yi2021asformer`, produces the same video at several temporal resolutions. The first
round of query updates reads the coarsest of the decoder outputs it uses, a summary of the
whole video at $1/2^H$ of the frame rate; each later round reads a resolution twice as
fine, and only the last one reads every frame. The frame features themselves stay at full
resolution throughout. Beside the $A$ action queries sits one **boundary query**, and its
frame-wise boundary probability drives ASRF's boundary-based smoothing {cite}`ishikawa2021asrf`
at inference.

This chapter builds MFAI part by part, each beside its equation, checks every teaching
version against the library (`actseg_lib/models/interact.py`, `actseg_lib/postprocess.py`),
then does the same for the losses (focal, dice over the classes present, Gaussian-smoothed
boundaries) and for the smoothing. Chapter 40 covers DSMI, the skeleton encoder in front of
MFAI; here it is switched off (`spatial="none"`): the 75 coordinates of a SynthAct skeleton
frame are read as a plain feature vector, as the paper's InterAct* reads I3D features.
Chapter 42 trains the model and compares multi-scale with fixed-resolution interaction.

*Everything here runs on a CPU in seconds and nothing is trained: the attention maps below
are those of random weights. The parts are shown on the reduced preset whatever `SIZE`
says; the full preset is only counted (section 41.9).*
""")
code('''
import os

SIZE = os.environ.get("ACTSEG_SIZE", "reduced")  # "reduced" (CPU, minutes) or "full" (the paper's, GPU)
SEED = 0
''', ["parameters"])
code(r'''
import math

import matplotlib.pyplot as plt
import numpy as np
import torch
from IPython.display import Markdown, display
from torch.nn import functional as F

from actseg_lib.data.datasets import collate_segmentation
from actseg_lib.data.prepare import prepare_segmentation
from actseg_lib.engine.tasks import FrameBoundarySegmentationTask, frame_scores
from actseg_lib.models import build_model, count_parameters, model_config
from actseg_lib.models.interact import (
    InterActLoss,
    dice_loss_present,
    focal_loss,
    gaussian_boundary_targets,
    halve_mask,
    upsample_linear,
)
from actseg_lib.postprocess import asrf_smoothing, boundary_peaks
from actseg_lib.viz import class_colors, plot_segment_bars, use_book_style

use_book_style()
torch.manual_seed(SEED)
np.random.seed(SEED)
torch.set_printoptions(precision=3, sci_mode=False)
CONFIG = model_config("interact", "reduced")  # the preset every section below follows
REDUCED = CONFIG["model"]
print(f"size {SIZE}; reduced preset: D = {REDUCED['dim']}, depth {REDUCED['depth']}, H = {REDUCED['num_stages']}, "
      f"{REDUCED['heads']} heads, {REDUCED['block_layers']} layers per action/boundary block; "
      f"data {CONFIG['data']}; loss {CONFIG['loss']}")
''')

# --- 41.1 -------------------------------------------------------------------------------
md(r"""
## 41.1 One sequence

SynthAct's *daily* sequences are skeleton recordings of everyday actions (drink water,
answer the phone, sit down, ...) with idle stretches between them; idle is the
**background** class, left out of the segment metrics (edit, F1). The reduced preset reads
them at `sample_rate=2`, i.e. every second frame: 15 frames a second. One test sequence
serves the whole chapter.
""")
code(r'''
data = prepare_segmentation("synthact:daily", sample_rate=CONFIG["data"]["sample_rate"], progress=False)
test = data.dataset("test")
item = test[0]
x = item["x"][None]  # [B=1, T, 75]: 25 joints x 3 coordinates, standardised
labels = item["labels"][None]  # [1, T]
T, A, FPS = x.shape[1], data.num_classes, data.fps
NAMES = dict(enumerate(data.class_names))
COLORS = class_colors(range(A))  # one colour per class, the same in every figure
name = data.samples[int(test.indices[0])].name
present = torch.unique(labels).tolist()
print(f"{name}: T = {T} frames = {T / FPS:.1f} s at {FPS:g} fps; {A} classes, background {data.background} "
      f"({NAMES[data.background[0]]})")
print("classes in this sequence:", [NAMES[c] for c in present])
fig, ax = plt.subplots(figsize=(8, 2.3))
plot_segment_bars({"truth": labels[0].numpy()}, ax=ax, colors=COLORS, class_names=NAMES, background=data.background)
ax.set_title(f"{name}: {T} frames")
plt.show()
''')

# --- 41.2 -------------------------------------------------------------------------------
md(r"""
## 41.2 The multi-scale feature extractor

### A stride-2 depthwise convolution

Each of the six encoder layers first halves the sequence. A **depthwise** convolution has
one 3-tap filter per channel (no mixing across channels); with stride 2 and one frame of
zero padding on each side, output frame $t$ is centred on input frame $2t$:

$$
h'_{c,t} = b_c + \sum_{k=0}^{2} w_{c,k}\, h_{c,\,2t+k-1}, \qquad t = 0, \dots, \lceil T/2 \rceil - 1,
\qquad h_{c,-1} = h_{c,T} = 0 .
$$

The last output frame reads input frames $2t-1, 2t, 2t+1$; for odd $T$ the last one is
frame $T-1$, for even $T$ it is the padding. Either way $T \to \lceil T/2 \rceil$, shown
here with an odd $T = 101$.
""")
code(r'''
torch.manual_seed(SEED)
model = build_model("interact", "reduced", spatial="none", in_channels=x.shape[-1], num_classes=A).eval()
D, H, DEPTH = model.dim, model.num_stages, len(model.extractor.encoder)


def downsample_by_hand(h, weight, bias):
    """[B, D, T] -> [B, D, ceil(T/2)]: per channel, a 3-tap filter centred on every second frame."""
    B, C, T = h.shape
    padded = F.pad(h, (1, 1))  # zeros at frames -1 and T
    out = torch.empty(B, C, math.ceil(T / 2))
    for t in range(out.shape[-1]):
        window = padded[:, :, 2 * t:2 * t + 3]  # input frames 2t-1, 2t, 2t+1: [B, D, 3]
        out[:, :, t] = (window * weight[:, 0]).sum(-1) + bias  # weight [D, 1, 3]: one filter per channel
    return out


layer = model.extractor.encoder[0]
h = torch.randn(1, D, 101)  # [B, D, T = 101]
with torch.no_grad():
    torch.testing.assert_close(downsample_by_hand(h, layer.downsample.weight, layer.downsample.bias),
                               layer.downsample(h))
print(f"{tuple(h.shape)} -> {tuple(layer.downsample(h).shape)}   # T = 101 -> ceil(101 / 2) = {math.ceil(101 / 2)}")
print(f"depthwise: {count_parameters(layer.downsample)} parameters (D x 3 + D); a full 3-tap convolution "
      f"D -> D would hold {D * D * 3 + D}")
''')
md(r"""
### The mask halves with it

A batch pads its sequences to the longest; a mask $m_t \in \{0, 1\}$ marks the real frames.
Output frame $t$ is centred on input frame $2t$, so it is real when that frame is:
$m'_t = m_{2t}$. A sequence with $n$ real frames keeps $\lceil n/2 \rceil$, and after $u$
layers $\lceil n / 2^u \rceil$.
""")
code(r'''
lengths = [101, 60]  # two sequences padded to 101 frames
mask = torch.stack([torch.arange(101) < n for n in lengths])[:, None].float()  # [B, 1, T]
rows = []
for u in range(1, DEPTH + 1):
    by_hand = torch.stack([torch.arange(math.ceil(mask.shape[-1] / 2)) * 2 < int(m.sum()) for m in mask[:, 0]])
    mask = halve_mask(mask)  # [B, 1, ceil(T/2)]
    torch.testing.assert_close(mask[:, 0] > 0, by_hand)
    real = [int(v) for v in mask.sum((1, 2))]
    assert real == [math.ceil(n / 2 ** u) for n in lengths]
    rows.append(f"| {u} | {mask.shape[-1]} | {real[0]} | {real[1]} |")
display(Markdown("| after layer $u$ | padded length | real, $n = 101$ | real, $n = 60$ |\n|---:|---:|---:|---:|\n"
                 + "\n".join(rows)))
''')
md(r"""
### The lengths along the extractor

A 1x1 convolution maps the $C$ input channels to $D$; six encoder layers halve $T$, each
followed by an ASFormer block whose dilated convolution and attention window are both
$2^{u-1}$ **at its own resolution**; six decoder layers double it back. The extractor
returns the decoder side, coarse to fine: the bottleneck and every decoder output, each
with its mask. The table follows the chapter's sequence.
""")
code(r'''
m = torch.ones(1, 1, T)  # [B, 1, T]: every frame real
seen = []
hooks = [layer.register_forward_hook(lambda mod, args, out: seen.append(out[0].shape[-1]))
         for layer in model.extractor.encoder]
with torch.no_grad():
    outputs = model.extractor(x.transpose(1, 2), m)  # [(features [1, D, T_u], mask [1, 1, T_u])], coarse to fine
for hook in hooks:
    hook.remove()
assert seen == [math.ceil(T / 2 ** u) for u in range(1, DEPTH + 1)]
assert [o.shape[-1] for o, _ in outputs] == [math.ceil(T / 2 ** (DEPTH - i)) for i in range(DEPTH + 1)]
first_x = len(outputs) - (H + 1)  # X_0 .. X_H are the last H + 1 entries
rows = [f"| input (1x1 conv) | {T} | {1 / FPS:.3f} | | |"]
for u, (n, layer) in enumerate(zip(seen, model.extractor.encoder), start=1):
    rows.append(f"| encoder {u} | {n} | {2 ** u / FPS:.3f} | {layer.block.attention.window} | |")
for i, (o, _) in enumerate(outputs):
    n = o.shape[-1]
    role = f"$X_{{{i - first_x}}}$" if i >= first_x else ""
    rows.append(f"| {'bottleneck' if i == 0 else f'decoder {i}'} | {n} | {2 ** (DEPTH - i) / FPS:.3f} | | {role} |")
display(Markdown("| layer | frames | seconds a frame | ASFormer window | used as |\n|---|---:|---:|---:|---|\n"
                 + "\n".join(rows)))
print(f"H = {H}: X_u has ceil(T / 2^(H-u)) frames:",
      {f"X_{u}": outputs[first_x + u][0].shape[-1] for u in range(H + 1)})
''')
md(r"""
Where the frames of each resolution sit on the input's time axis, over the first few
seconds: frame $t$ of a sequence halved $k$ times is centred on input frame $2^k t$. The
decoder output $X_u$ ($k = H - u$) is marked.
""")
code(r'''
window = 80  # input frames shown
fig, ax = plt.subplots(figsize=(8, 2.6))
for k in range(DEPTH + 1):
    centres = np.arange(0, window, 2 ** k)
    u = H - k
    color = "C0" if 0 <= u <= H else "0.6"
    ax.scatter(centres, np.full(len(centres), k), marker="|", s=120, color=color)
    ax.text(window + 1, k, f"X_{u}" if 0 <= u <= H else "", va="center", color=color, fontsize=8)
ax.set_yticks(range(DEPTH + 1), [f"T/{2 ** k}" for k in range(DEPTH + 1)])
ax.invert_yaxis()
ax.set(xlim=(-2, window + 6), xlabel="input frame", ylabel="resolution",
       title=f"frame centres per resolution, first {window} frames ({window / FPS:.1f} s)")
plt.show()
''')
md(r"""
### Linear up-sampling, back where the convolution centred

Each decoder layer doubles its input by **linear interpolation**. The stride-2 convolution
centred coarse frame $j$ on fine frame $2j$, so the up-sampling puts it back there: fine
frame $i$ reads the coarse sequence at position $p_i = i/2$,

$$
\mathrm{up}(h)_i = (1 - \{p_i\})\, h_{\min(\lfloor p_i \rfloor,\ n' - 1)}
+ \{p_i\}\, h_{\min(\lfloor p_i \rfloor + 1,\ n' - 1)},
\qquad\text{i.e.}\qquad
\mathrm{up}(h)_{2j} = h_j,\quad \mathrm{up}(h)_{2j+1} = \tfrac12\,(h_j + h_{j+1}),
$$

where $\{p\}$ is the fractional part and $n'$ the number of **real** coarse frames of that
sequence. The clamp at $n' - 1$ keeps a sequence the same alone and in a batch: the last
real frames of a short sequence never interpolate towards the zeros of the padding, which
is what `F.interpolate` would do, as it clamps at the padded length.
""")
code(r'''
def upsample_by_hand(h, mask, size):
    """h [B, D, T'], mask [B, 1, T'] -> [B, D, size]: coarse frame j on fine frame 2j, per sequence clamped."""
    out = torch.empty(h.shape[0], h.shape[1], size)
    for b in range(h.shape[0]):
        last = int(mask[b].sum()) - 1  # the sequence's last real coarse frame
        for i in range(size):
            p = i / 2  # fine frame 2j reads coarse j; fine frame 2j + 1 reads halfway between j and j + 1
            left = min(math.floor(p), last)
            right = min(math.floor(p) + 1, last)
            frac = p - math.floor(p)
            out[b, :, i] = (1 - frac) * h[b, :, left] + frac * h[b, :, right]
    return out


torch.manual_seed(SEED)
coarse = torch.randn(2, 3, 9)  # [B, D, T' = 9]
full = torch.ones(2, 1, 9)
up = upsample_linear(coarse, full, 17)  # [B, D, 17]
torch.testing.assert_close(upsample_by_hand(coarse, full, 17), up)
torch.testing.assert_close(up[..., 0::2], coarse)  # fine 2j = coarse j
torch.testing.assert_close(up[..., 1::2], (coarse[..., :-1] + coarse[..., 1:]) / 2)  # fine 2j + 1 = the mean
print("coarse, channel 0:      ", coarse[0, 0, :4])
print("up-sampled, channel 0:  ", up[0, 0, :8])

short = torch.ones(1, 1, 9)
short[..., 5:] = 0  # 5 real coarse frames -> 10 real fine frames; the rest is padding
padded = coarse[:1] * short  # padding is zero
alone = upsample_linear(coarse[:1, :, :5], torch.ones(1, 1, 5), 10)  # [1, 3, 10]: the sequence by itself
ours = upsample_linear(padded, short, 18)[..., :10]
torch.testing.assert_close(upsample_by_hand(coarse[:1, :, :5], torch.ones(1, 1, 5), 10), alone)
torch.testing.assert_close(upsample_by_hand(padded, short, 18)[..., :10], ours)
torch.testing.assert_close(ours, alone)
interp_alone = F.interpolate(coarse[:1, :, :5], scale_factor=2, mode="linear")  # [1, 3, 10]
interp_padded = F.interpolate(padded, scale_factor=2, mode="linear")[..., :10]
print("upsample_linear, padded: largest difference to the sequence alone", float((ours - alone).abs().max()))
print("F.interpolate,   padded: largest difference to the sequence alone",
      float((interp_padded - interp_alone).abs().max()),
      "at fine frame", int((interp_padded - interp_alone).abs().amax(1).argmax()))
''')
md(r"""
### Why not `F.interpolate`

PyTorch's `F.interpolate(h, scale_factor=2, mode="linear")`, with its default
`align_corners=False`, treats coarse frame $j$ as covering fine frames $2j$ and $2j + 1$
and puts it at their middle, fine position $2j + 0.5$: fine frame $i$ reads the coarse
sequence at $p_i = \max\big(0, \frac{i + 0.5}{2} - 0.5\big)$. That is half a fine frame
later than where the convolution centred it. The **ramp test** shows it: down-sample the
ramp $h_t = t$ with the centre-tap filter $(0, 1, 0)$ and zero bias (coarse frame $j$ is
then exactly $h_{2j}$), and up-sample it again. A correct up-sampling gives the ramp back;
one that shifts by $s$ frames gives $t - s$. Half a fine frame at every level adds up: the
output of $k$ levels lags by $\sum_{i=1}^{k} 2^{i-1}/2 = (2^k - 1)/2$ input frames.
""")
code(r'''
def centre_tap_down(h):
    """[1, 1, T] -> [1, 1, ceil(T/2)]: this section's stride-2 convolution with filter (0, 1, 0), zero bias"""
    return downsample_by_hand(h, torch.tensor([[[0.0, 1.0, 0.0]]]), torch.zeros(1))


def interpolate_up(h, mask, size):
    """[B, D, T'] -> [B, D, size]: the align_corners=False convention, cut to size (ignores the mask)"""
    return F.interpolate(h, scale_factor=2, mode="linear")[..., :size]


def down_up(signal, levels, up):
    """[T] -> [T]: `levels` centre-tap down-samplings, then `levels` up-samplings back to each length"""
    h, lengths = signal.reshape(1, 1, -1), []
    for _ in range(levels):
        lengths.append(h.shape[-1])
        h = centre_tap_down(h)
    for size in reversed(lengths):
        h = up(h, torch.ones(1, 1, h.shape[-1]), size)
    return h[0, 0]


ramp = torch.arange(17, dtype=torch.float32)
ours, theirs = down_up(ramp, 1, upsample_linear), down_up(ramp, 1, interpolate_up)
torch.testing.assert_close(ours, ramp)
print("ramp:           ", ramp)
print("down-sampled:   ", centre_tap_down(ramp.reshape(1, 1, -1))[0, 0])
print("upsample_linear:", ours)
print("F.interpolate:  ", theirs)
print("one level: ramp - F.interpolate, frames 1 ..", len(ramp) - 1, "->", sorted(set((ramp - theirs)[1:].tolist())))

LONG = 2 ** DEPTH * 8 + 1  # odd at every level: each level's last coarse frame sits on its last fine frame
long_ramp = torch.arange(LONG, dtype=torch.float32)
ours_long, theirs_long = down_up(long_ramp, DEPTH, upsample_linear), down_up(long_ramp, DEPTH, interpolate_up)
torch.testing.assert_close(ours_long, long_ramp)
middle = slice(LONG // 3, 2 * LONG // 3)  # away from the start, where F.interpolate's clamp at 0 bends the ramp
lag = (long_ramp - theirs_long)[middle]
expected_lag = (2 ** DEPTH - 1) / 2
torch.testing.assert_close(lag, torch.full_like(lag, expected_lag))
print(f"{DEPTH} levels, T = {LONG}: upsample_linear returns the ramp (largest error "
      f"{float((ours_long - long_ramp).abs().max())}); F.interpolate lags by {float(lag.mean())} input frames "
      f"in the middle (= (2^{DEPTH} - 1) / 2 = {expected_lag}), {expected_lag / FPS:.1f} s at {FPS:g} fps")
''')
md(r"""
The same through all six levels with a soft boundary (a sigmoid step centred on a frame
that every level keeps) instead of a ramp: where the reconstruction crosses 0.5 is where
the decoder output would put the boundary.
""")
code(r'''
soft = torch.sigmoid((long_ramp - LONG // 2) / 16)  # [LONG]: a soft boundary at the middle frame
recon = {"upsample_linear": down_up(soft, DEPTH, upsample_linear),
         "F.interpolate": down_up(soft, DEPTH, interpolate_up)}
crossing = lambda v: float(np.interp(0.5, v.numpy(), np.arange(len(v))))  # noqa: E731  v is non-decreasing
print(f"boundary at frame {crossing(soft):.1f}; after {DEPTH} levels down and up: "
      + ", ".join(f"{k} {crossing(v):.1f}" for k, v in recon.items()))

fig, axes = plt.subplots(1, 2, figsize=(9, 3))
ax = axes[0]
ax.plot(ramp, ramp, color="0.75", lw=4, label="ramp $h_t = t$")
ax.plot(ramp[::2], centre_tap_down(ramp.reshape(1, 1, -1))[0, 0], "s", color="k", ms=6, mfc="none",
        label="coarse $j$, at fine $2j$")
ax.plot(ramp, ours, "o", color="C0", ms=4, label="upsample_linear")
ax.plot(ramp, theirs, "x", color="C3", ms=6, label="F.interpolate")
ax.set(xlim=(-0.5, 6.5), ylim=(-0.5, 6.5), xlabel="fine frame", ylabel="value", title="one level, the ramp")
ax.legend(fontsize=7)
ax = axes[1]
ax.plot(long_ramp, soft, color="0.75", lw=4, label="soft boundary")
for (k, v), color, ls in zip(recon.items(), ("C0", "C3"), ("-", "--")):
    ax.plot(long_ramp, v, color=color, ls=ls, label=k)
    ax.axvline(crossing(v), color=color, lw=0.8, ls=":")
ax.set(xlim=(LONG // 2 - 96, LONG // 2 + 128), xlabel="input frame", title=f"{DEPTH} levels, a soft boundary")
ax.legend(fontsize=7)
plt.tight_layout()
plt.show()
''')
md(r"""
### A decoder layer

The up-sampled features meet the encoder's output at the same length (the **skip**), are
added, and pass a 3-tap convolution, a ReLU and dropout (off in evaluation); padded frames
are zeroed:

$$
h^{\text{dec}} = m \odot \mathrm{ReLU}\big(W * \big(m \odot (\mathrm{up}(h) + h^{\text{skip}})\big) + b\big).
$$
""")
code(r'''
def decoder_by_hand(layer, h, h_mask, skip, mask):
    """h [B, D, T'], skip [B, D, T] -> [B, D, T]"""
    up = upsample_by_hand(h, h_mask, skip.shape[-1])  # [B, D, T]
    return torch.relu(F.conv1d((up + skip) * mask, layer.conv.weight, layer.conv.bias, padding=1)) * mask


dec = model.extractor.decoder[-1]  # the finest decoder layer: ceil(T/2) -> T
(h_coarse, m_coarse), (skip, m_fine) = outputs[-2], (torch.randn(1, D, T), torch.ones(1, 1, T))
with torch.no_grad():
    h_dec = dec(h_coarse, m_coarse, skip, m_fine)  # [1, D, T]
    torch.testing.assert_close(decoder_by_hand(dec, h_coarse, m_coarse, skip, m_fine), h_dec)
print(f"decoder layer: {tuple(h_coarse.shape)} + skip {tuple(skip.shape)} -> {tuple(h_dec.shape)}")
''')
md(r"""
### The whole extractor by hand

Encoder: $h^{(0)} = W_{\text{in}} x$; for $u = 1..6$, $h^{(u)} = \text{ASFormer}_u\big(m^{(u)}
\odot \text{DWConv}_u(h^{(u-1)})\big)$ with $m^{(u)}$ the halved mask. Decoder: starting
from the bottleneck $h^{(6)}$, each layer up-samples to the length of $h^{(u)}$, $u = 5..0$,
and adds it. The ASFormer block is the library's (see its module for the windowed
attention); everything else below is the teaching code of this section.
""")
code(r'''
def extractor_by_hand(ext, x, mask):
    """x [B, C, T], mask [B, 1, T] -> [(features, mask)] of the bottleneck and every decoder layer."""
    h = F.conv1d(x, ext.conv_in.weight, ext.conv_in.bias) * mask  # [B, D, T]
    skips = [(h, mask)]
    for layer in ext.encoder:
        mask = mask[..., ::2]  # [B, 1, ceil(T/2)]
        h = layer.block(downsample_by_hand(h, layer.downsample.weight, layer.downsample.bias) * mask, mask)
        skips.append((h, mask))
    outputs = [(h, mask)]
    for layer, (skip, skip_mask) in zip(ext.decoder, reversed(skips[:-1])):
        h = decoder_by_hand(layer, h, mask, skip, skip_mask)
        mask = skip_mask
        outputs.append((h, mask))
    return outputs


with torch.no_grad():
    outputs_by_hand = extractor_by_hand(model.extractor, x.transpose(1, 2), m)
for (a, ma), (b, mb) in zip(outputs_by_hand, outputs):
    torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(ma, mb)
print("extractor outputs, coarse to fine:", [tuple(o.shape) for o, _ in outputs])
scales = outputs[-(H + 1):]  # X_0 .. X_H
for u, (X, Xm) in enumerate(scales):
    print(f"  X_{u}: {tuple(X.shape)}   # ceil(T / 2^{H - u}) = {math.ceil(T / 2 ** (H - u))}")
''')

# --- 41.3 -------------------------------------------------------------------------------
md(r"""
## 41.3 Frame features $F^0$ and queries $Q^0$

The finest output $X_H$ (all $T$ frames) passes two separate stacks of MS-TCN dilated
residual layers {cite}`farha2019mstcn`, the **action block** and the **boundary block**:

$$
h_{\ell} = m \odot \big(h_{\ell-1} + W_2\, \mathrm{ReLU}(W_1 *_{2^{\ell}} h_{\ell-1} + b_1) + b_2\big),
\qquad \ell = 0, \dots, L-1,
$$

with a 3-tap convolution of dilation $2^\ell$. Their outputs, transposed to one row a
frame, are $F_a^0, F_b^0 \in \mathbb{R}^{T \times D}$.
""")
code(r'''
def temporal_block_by_hand(block, h, mask):
    for layer in block.layers:
        d = layer.conv_dilated.dilation[0]
        inner = torch.relu(F.conv1d(h, layer.conv_dilated.weight, layer.conv_dilated.bias, padding=d, dilation=d))
        h = (h + F.conv1d(inner, layer.conv_1x1.weight, layer.conv_1x1.bias)) * mask
    return h


X_H, m_H = scales[-1]  # [1, D, T]
with torch.no_grad():
    Fa0 = temporal_block_by_hand(model.action_block, X_H, m_H).transpose(1, 2)  # F_a^0 [B, T, D]
    Fb0 = temporal_block_by_hand(model.boundary_block, X_H, m_H).transpose(1, 2)  # F_b^0 [B, T, D]
    torch.testing.assert_close(Fa0, model.action_block(X_H, m_H).transpose(1, 2))
    torch.testing.assert_close(Fb0, model.boundary_block(X_H, m_H).transpose(1, 2))
L = len(model.action_block.layers)
print(f"action block: {L} layers, dilations {[l.conv_dilated.dilation[0] for l in model.action_block.layers]}, "
      f"receptive field 2^(L+1) - 1 = {2 ** (L + 1) - 1} frames ({(2 ** (L + 1) - 1) / FPS:.1f} s)")
print(f"F_a^0 {tuple(Fa0.shape)}, F_b^0 {tuple(Fb0.shape)}   # [B, T, D]")
''')
md(r"""
The action level starts from learnt vectors: $Q^0 = [Q_a^0; q_b^0] \in \mathbb{R}^{(A+1)
\times D}$, one query per class and one boundary query in the last row, drawn from
$\mathcal N(0, 1)$ as an `nn.Embedding` would be. Every video starts from the same $Q^0$.
""")
code(r'''
Q0 = model.queries.detach().expand(x.shape[0], -1, -1)  # [B, A+1, D]
print(f"Q^0 {tuple(Q0.shape)}   # [B, A + 1, D]: rows 0..{A - 1} action queries, row {A} the boundary query")
print(f"entries: mean {float(Q0.mean()):+.3f}, std {float(Q0.std()):.3f}")
''')

# --- 41.4 -------------------------------------------------------------------------------
md(r"""
## 41.4 Query update (QBlock, Eq. 4)

All three attention layers of the interaction are the same multi-head attention
(`CrossAttention` of `actseg_lib/models/sigformer.py`): queries $Z \in \mathbb{R}^{N \times
D}$ read a context $Y \in \mathbb{R}^{M \times D}$, head $j$ of $h$ with width $d = D/h$,

$$
\mathrm{Attn}(Z, Y) = \Big[\ \mathrm{softmax}\Big(\frac{Z W_q^{j} (Y W_k^{j})^\top}{\sqrt{d}}
+ \log M\Big)\, Y W_v^{j}\ \Big]_{j=1..h} W_o + b_o ,
$$

where $M_{nm} \in \{0, 1\}$ says whether query $n$ may read context row $m$ ($\log 0 =
-\infty$, a weight of exactly 0). Self-attention is $\mathrm{Attn}(Z, Z)$.
""")
code(r'''
def attention_by_hand(layer, Z, Y, allowed=None):
    """Z [B, N, D] reads Y [B, M, D]; allowed [B, N, M] bool. Returns out [B, N, D], weights [B, h, N, M]."""
    B, N, _ = Z.shape
    split = lambda t: t.reshape(B, t.shape[1], layer.heads, -1).transpose(1, 2)  # noqa: E731  [B, h, *, d]
    q = split(Z @ layer.to_q.weight.T)  # [B, h, N, d]
    k, v = (split(t) for t in (Y @ layer.to_kv.weight.T).chunk(2, dim=-1))  # [B, h, M, d] each
    scores = q @ k.transpose(-1, -2) / math.sqrt(q.shape[-1])  # [B, h, N, M]
    if allowed is not None:
        scores = scores.masked_fill(~allowed[:, None], float("-inf"))
    weights = scores.softmax(-1)
    heads = (weights @ v).transpose(1, 2).reshape(B, N, -1)  # [B, N, h d]
    return heads @ layer.to_out.weight.T + layer.to_out.bias, weights
''')
md(r"""
The paper writes the query update as $Q^r = \mathrm{MLP}(\mathrm{CAttn}(\mathrm{SAttn}(Q_a^{r-1},
q_b^{r-1}), \hat X_{r-1}))$: the $A+1$ queries first attend to each other, then read the
frames of the decoder output $\hat X_{r-1}$ (queries ask, frames answer), then pass an MLP.
The library makes each step a pre-norm residual layer, as in a Transformer (its choice; the
paper does not say), and lets the queries read **real** frames only:

$$
\begin{aligned}
Q' &= Q^{r-1} + \mathrm{Attn}\big(\mathrm{LN}(Q^{r-1}),\ \mathrm{LN}(Q^{r-1})\big),\\
Q'' &= Q' + \mathrm{Attn}\big(\mathrm{LN}(Q'),\ \mathrm{LN}(\hat X_{r-1}),\ M = \mathbf{1}\, m_{r-1}^\top\big),\\
Q^{r} &= Q'' + W_2\, \mathrm{GELU}\big(W_1 \mathrm{LN}(Q'') + b_1\big) + b_2 .
\end{aligned}
$$

The check runs stage 1's block on $\hat X_0$ with seven padded frames of garbage appended:
the result must equal the unpadded one.
""")
code(r'''
def qblock_by_hand(block, Q, X, frame_mask):
    """Q [B, A+1, D], X [B, T_r, D], frame_mask [B, T_r] bool -> Q^r [B, A+1, D]"""
    h = block.self_norm(Q)
    Q = Q + attention_by_hand(block.self_attention, h, h)[0]  # SAttn among the A + 1 queries
    allowed = frame_mask[:, None, :].expand(-1, Q.shape[1], -1)  # [B, A+1, T_r]
    Q = Q + attention_by_hand(block.cross_attention, block.cross_norm(Q), block.frame_norm(X), allowed)[0]
    norm, w1, _, _, w2 = block.mlp.net  # LayerNorm, Linear, GELU, Dropout, Linear
    return Q + w2(F.gelu(w1(norm(Q))))


qblock = model.query_blocks[0]
X0 = scales[0][0].transpose(1, 2)  # X_0 [B, T_0, D]
X0_padded = torch.cat([X0, 1e3 * torch.randn(1, 7, D)], dim=1)  # [B, T_0 + 7, D]: padding full of garbage
mask0 = torch.arange(X0_padded.shape[1])[None] < X0.shape[1]  # [B, T_0 + 7]
with torch.no_grad():
    Q1 = qblock(Q0, X0, torch.ones(1, X0.shape[1], dtype=torch.bool))  # [B, A+1, D]
    torch.testing.assert_close(qblock_by_hand(qblock, Q0, X0, torch.ones(1, X0.shape[1], dtype=torch.bool)), Q1)
    torch.testing.assert_close(qblock_by_hand(qblock, Q0, X0_padded, mask0), Q1, atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(qblock(Q0, X0_padded, mask0), Q1, atol=1e-5, rtol=1e-4)
print(f"Q^0 {tuple(Q0.shape)} reads X_0 {tuple(X0.shape)} -> Q^1 {tuple(Q1.shape)}; padded frames change nothing")
''')

# --- 41.5 -------------------------------------------------------------------------------
md(r"""
## 41.5 Frame update (FBlock, Eq. 5)

Now the other direction: every frame asks the $A + 1$ updated queries. Action features and
boundary features ask separately, through two attention layers with their own weights,
$F^r = [\mathrm{CAttn}(F_a^{r-1}, Q^r), \mathrm{CAttn}(F_b^{r-1}, Q^r)]$; in the library
again as pre-norm residual layers:

$$
F_a^r = F_a^{r-1} + \mathrm{Attn}_a\big(\mathrm{LN}_a(F_a^{r-1}),\ \mathrm{LN}_Q(Q^r)\big),\qquad
F_b^r = F_b^{r-1} + \mathrm{Attn}_b\big(\mathrm{LN}_b(F_b^{r-1}),\ \mathrm{LN}_Q(Q^r)\big).
$$

The frames stay at full length $T$ in every stage; only what the queries read changes
with $r$. Each frame's update is a mixture of only $A + 1$ vectors, which is the route by
which the per-class information of the queries reaches the frames.
""")
code(r'''
def fblock_by_hand(block, Fa, Fb, Q):
    """Fa, Fb [B, T, D], Q [B, A+1, D] -> F_a^r, F_b^r [B, T, D]"""
    q = block.query_norm(Q)
    Fa = Fa + attention_by_hand(block.action_attention, block.action_norm(Fa), q)[0]
    Fb = Fb + attention_by_hand(block.boundary_attention, block.boundary_norm(Fb), q)[0]
    return Fa, Fb


fblock = model.frame_blocks[0]
with torch.no_grad():
    Fa1, Fb1 = fblock(Fa0, Fb0, Q1)
    for a, b in zip(fblock_by_hand(fblock, Fa0, Fb0, Q1), (Fa1, Fb1)):
        torch.testing.assert_close(a, b)
print(f"F_a^0 {tuple(Fa0.shape)} reads Q^1 {tuple(Q1.shape)} -> F_a^1 {tuple(Fa1.shape)}; F_b^1 {tuple(Fb1.shape)}")
''')

# --- 41.6 -------------------------------------------------------------------------------
md(r"""
## 41.6 The output head and the whole forward pass

Each stage $r = 0..H$ predicts by **dot products**: class $i$'s score at frame $t$ is how
well frame $t$'s action features match action query $i$; the boundary score matches the
boundary features with the boundary query. The library scales by $1/\sqrt{D}$ (its choice):

$$
P_a^r = \frac{Q_a^r\, (F_a^r)^\top}{\sqrt{D}} \in \mathbb{R}^{A \times T},\qquad
P_b^r = \frac{q_b^r\, (F_b^r)^\top}{\sqrt{D}} \in \mathbb{R}^{1 \times T} .
$$

These are logits: a softmax over classes (per frame) and a sigmoid (per frame) turn them
into probabilities.
""")
code(r'''
def head_by_hand(Q, Fa, Fb, dim):
    """Q [B, A+1, D], Fa, Fb [B, T, D] -> action logits [B, A, T], boundary logits [B, T]"""
    action = Q[:, :-1] @ Fa.transpose(1, 2) / math.sqrt(dim)  # [B, A, T]
    boundary = (Fb @ Q[:, -1:].transpose(1, 2))[..., 0] / math.sqrt(dim)  # [B, T]
    return action, boundary


with torch.no_grad():
    for a, b in zip(head_by_hand(Q1, Fa1, Fb1, D), model.predict_stage(Q1, Fa1, Fb1)):
        torch.testing.assert_close(a, b)
print(f"stage 1: action logits {tuple(model.predict_stage(Q1, Fa1, Fb1)[0].shape)}   # [B, A, T]; "
      f"boundary logits {tuple(model.predict_stage(Q1, Fa1, Fb1)[1].shape)}   # [B, T]")
''')
md(r"""
Now the whole forward pass, stage by stage: the extractor, the two blocks, $Q^0$, then for
$r = 1..H$ the QBlock on $\hat X_{r-1}$ (or, for `interaction="fixed"`, FACT-style, on
the finest output $\hat X_H$ in every stage), the FBlock and the head. Every piece is this
chapter's teaching code; only the ASFormer blocks inside the extractor are the library's.
""")
code(r'''
def interact_by_hand(model, x):
    """x [B, T, C] (no spatial encoder) -> action logits [S, B, A, T], boundary logits [S, B, T], frames read"""
    B, T, _ = x.shape
    mask = torch.ones(B, 1, T)
    H = model.num_stages
    scales = extractor_by_hand(model.extractor, x.transpose(1, 2), mask)[-(H + 1):]  # X_0 .. X_H
    finest = scales[-1][0]  # [B, D, T]
    Fa = temporal_block_by_hand(model.action_block, finest, mask).transpose(1, 2)  # F_a^0 [B, T, D]
    Fb = temporal_block_by_hand(model.boundary_block, finest, mask).transpose(1, 2)  # F_b^0 [B, T, D]
    Q = model.queries.expand(B, -1, -1)  # Q^0 [B, A+1, D]
    logits, reads = [head_by_hand(Q, Fa, Fb, model.dim)], []
    for r in range(1, H + 1):
        X, X_mask = scales[r - 1] if model.interaction == "multiscale" else scales[-1]
        Q = qblock_by_hand(model.query_blocks[r - 1], Q, X.transpose(1, 2), X_mask[:, 0] > 0)  # Eq. 4
        Fa, Fb = fblock_by_hand(model.frame_blocks[r - 1], Fa, Fb, Q)  # Eq. 5
        logits.append(head_by_hand(Q, Fa, Fb, model.dim))
        reads.append(X.shape[-1])
    return torch.stack([a for a, _ in logits]), torch.stack([b for _, b in logits]), reads


torch.manual_seed(SEED)
fixed = build_model("interact", "reduced", spatial="none", in_channels=x.shape[-1], num_classes=A,
                    interaction="fixed").eval()
fixed.load_state_dict(model.state_dict())  # the same weights: only what the QBlocks read differs
outs = {}
with torch.no_grad():
    for net in (model, fixed):
        out = outs[net.interaction] = net(x)  # InterActOutput
        action, boundary, reads = interact_by_hand(net, x)
        torch.testing.assert_close(action, out.action_logits, atol=1e-4, rtol=1e-4)
        torch.testing.assert_close(boundary, out.boundary_logits, atol=1e-4, rtol=1e-4)
        assert reads == out.query_resolutions
        print(f"{net.interaction:10s}: query_resolutions {out.query_resolutions}")
rows = [(kind, o.query_resolutions) for kind, o in outs.items()]
print(f"action_logits {tuple(out.action_logits.shape)}   # [S = H + 1, B, A, T]; "
      f"boundary_logits {tuple(out.boundary_logits.shape)}   # [S, B, T]")
expected = [math.ceil(T / 2 ** (H - r + 1)) for r in range(1, H + 1)]
assert rows[0][1] == expected and rows[1][1] == [T] * H
display(Markdown("| interaction | " + " | ".join(f"stage {r} reads" for r in range(1, H + 1)) + " |\n|---|"
                 + "---:|" * H + "\n" + "\n".join(f"| `{name}` | " + " | ".join(map(str, res)) + " |"
                                                   for name, res in rows)
                 + "\n| $\\lceil T / 2^{H-r+1} \\rceil$ | " + " | ".join(map(str, expected)) + " |"))
''')
md(r"""
What a QBlock's cross-attention reads, stage by stage: `record_attention()` keeps the
weights of the next forward pass, `query_blocks[r-1].cross_attention.last_weights`
$[B, \text{heads}, A + 1, T_r]$. The maps below (mean over heads, each column stretched over
the input frames it stands for) come from **random, untrained weights**: they show the
resolutions, not what a trained model attends to (chapter 42 draws trained maps). The
multi-scale model's first stage has one column per $2^H$ input frames; the fixed model
reads every frame in every stage.
""")
code(r'''
maps = {}
with torch.no_grad():
    for net in (model, fixed):
        net.record_attention()
        net(x)
        maps[net.interaction] = [b.cross_attention.last_weights[0].mean(0).numpy() for b in net.query_blocks]
        net.record_attention(False)
query_names = [NAMES[i] for i in range(A)] + ["boundary"]
fig, axes = plt.subplots(H + 1, 2, figsize=(9, 1.2 + 2.2 * H), sharex=True,
                         gridspec_kw={"height_ratios": [0.35] + [1] * H})
for col, (kind, weights) in enumerate(maps.items()):
    plot_segment_bars({"truth": labels[0].numpy()}, ax=axes[0, col], colors=COLORS, class_names=NAMES,
                      background=data.background, legend=False)
    axes[0, col].set(xlabel="", title=f"interaction = {kind!r}")
    for r, w in enumerate(weights, start=1):  # w [A+1, T_r]
        step = T / w.shape[1]  # input frames per column
        ax = axes[r, col]
        ax.imshow(w, aspect="auto", interpolation="nearest", cmap="viridis",
                  extent=(0, w.shape[1] * step, A + 0.5, -0.5))
        ticks = [*range(0, A, 4), A]  # a few class queries and the boundary query
        ax.set_yticks(ticks, [query_names[i] for i in ticks], fontsize=6)
        ax.set_ylabel(f"stage {r}\n{w.shape[1]} frames", fontsize=8)
axes[-1, 0].set_xlabel("input frame")
axes[-1, 1].set_xlabel("input frame")
fig.suptitle("QBlock cross-attention, queries x frames (untrained weights)", y=1.0)
plt.tight_layout()
plt.show()
for kind, weights in maps.items():
    print(f"{kind:10s}: largest weight per stage", [f"{w.max():.3f}" for w in weights],
          "| uniform would be", [f"{1 / w.shape[1]:.4f}" for w in weights])
''')

# --- 41.7 -------------------------------------------------------------------------------
md(r"""
## 41.7 The losses (Eqs. 6-9)

### Focal loss on frames

A frame the model already gets right should contribute little; the **focal loss** (Lin et
al., 2017) multiplies each frame's cross-entropy by $(1 - p_{t,y_t})^\gamma$:

$$
\mathcal{L}_{\text{focal}} = -\frac{1}{N} \sum_{t \,\text{labelled}} (1 - p_{t, y_t})^{\gamma} \log p_{t, y_t},
\qquad p_t = \mathrm{softmax}(P_a[:, t]) .
$$

At $\gamma = 0$ it is the cross-entropy; the library uses $\gamma = 2$ (the paper gives no
value; 2 is the focal loss's usual default).
""")
code(r'''
def focal_by_hand(logits, labels, gamma):
    """logits [B, A, T], labels [B, T] -> mean over frames of -(1 - p_y)^gamma log p_y"""
    log_p = logits.log_softmax(1).gather(1, labels[:, None])[:, 0]  # [B, T]: log p_{t, y_t}
    return (-(1 - log_p.exp()) ** gamma * log_p).mean()


stage_logits = outs["multiscale"].action_logits[-1]  # the last stage [B, A, T] (untrained: any logits do)
gamma = CONFIG["loss"]["focal_gamma"]
torch.testing.assert_close(focal_by_hand(stage_logits, labels, gamma), focal_loss(stage_logits, labels, gamma))
torch.testing.assert_close(focal_loss(stage_logits, labels, 0.0), F.cross_entropy(stage_logits, labels))
print(f"focal (gamma = {gamma:g}) {float(focal_loss(stage_logits, labels, gamma)):.4f}; "
      f"gamma = 0: {float(focal_loss(stage_logits, labels, 0.0)):.4f} = cross-entropy "
      f"{float(F.cross_entropy(stage_logits, labels)):.4f}")

p = np.linspace(0.01, 1, 200)
fig, ax = plt.subplots(figsize=(5, 2.8))
for g in (0, 1, 2, 5):
    ax.plot(p, -(1 - p) ** g * np.log(p), label=f"gamma = {g}" + (" (CE)" if g == 0 else ""))
ax.set(xlabel="probability of the true class $p_{t,y_t}$", ylabel="loss of the frame", ylim=(0, 3),
       title="focal loss: confident frames count less")
ax.legend(fontsize=8)
plt.show()
''')
md(r"""
### Dice loss over the classes present

The focal loss judges frames one at a time. The **dice loss** judges each class's whole
temporal extent: for the $N$ classes that occur in the video, the temporal mask

$$
M_i = [m_{i,1}, \dots, m_{i,T}], \qquad m_{i,t} = \begin{cases} 1 & y_t = i \\ 0 & \text{else} \end{cases}
\qquad (\text{Eq. 6})
$$

is compared with the probability row $P_a(i) = [p_{1,i}, \dots, p_{T,i}]$ of the same
class by a soft overlap:

$$
\mathcal{L}_{\text{dice}} = \frac{1}{N} \sum_{i \,\text{present}} \Big(1 - \frac{2 \sum_t m_{i,t}\, p_{t,i} + \epsilon}
{\sum_t m_{i,t} + \sum_t p_{t,i} + \epsilon}\Big),
$$

averaged over the videos of a batch; $\epsilon = 1$ is the library's smoothing constant.
Classes absent from the video get no term of their own: their probability mass matters only
through the softmax, which takes it from the present classes.
""")
code(r'''
y = labels[0]
present_t = torch.unique(y)  # [N]
M = (y[None, :] == present_t[:, None]).float()  # Eq. 6: [N, T]
absent = [NAMES[c] for c in range(A) if c not in present_t.tolist()]
print(f"N = {len(present_t)} classes present of A = {A}; absent: {absent}")


def dice_by_hand(logits, labels, eps=1.0):
    """logits [1, A, T], labels [1, T]: the soft dice loss averaged over the classes present"""
    probs = logits.softmax(1)[0]  # [A, T]
    classes = torch.unique(labels[0])
    M = (labels[0][None] == classes[:, None]).float()  # [N, T]
    P = probs[classes]  # P_a(M) [N, T]
    dice = (2 * (M * P).sum(1) + eps) / (M.sum(1) + P.sum(1) + eps)  # [N]
    return (1 - dice).mean(), 1 - dice


loss, per_class = dice_by_hand(stage_logits, labels)
torch.testing.assert_close(loss, dice_loss_present(stage_logits, labels))
probs = stage_logits.softmax(1)[0]
all_classes = 1 - (2 * (torch.stack([(y == c).float() for c in range(A)]) * probs).sum(1) + 1) / (
    torch.stack([(y == c).float() for c in range(A)]).sum(1) + probs.sum(1) + 1)  # [A]: if every class entered
print(f"dice over the present classes {float(loss):.4f} "
      f"(library {float(dice_loss_present(stage_logits, labels)):.4f}); "
      f"over all {A} classes it would be {float(all_classes.mean()):.4f}")

fig, axes = plt.subplots(2, 1, figsize=(8, 3.6), sharex=True, gridspec_kw={"height_ratios": [len(present_t), 0.5]})
axes[0].imshow(M.numpy(), aspect="auto", interpolation="nearest", cmap="Greys",
               extent=(0, T, len(present_t) - 0.5, -0.5))
axes[0].set_yticks(range(len(present_t)), [f"{NAMES[int(c)]}: {float(d):.2f}" for c, d in zip(present_t, per_class)],
                   fontsize=7)
axes[0].set_title("temporal masks $M_i$ of the classes present (label: that class's dice loss, untrained)")
plot_segment_bars({"truth": y.numpy()}, ax=axes[1], colors=COLORS, class_names=NAMES, background=data.background,
                  legend=False)
plt.show()
''')
md(r"""
### Gaussian-smoothed boundary targets

A frame is a boundary ($Y_b(t) = 1$) when its label differs from the previous frame's. A
one-frame target is harsh: a prediction one frame off would be as wrong as one a minute
off. The target is therefore smoothed by a Gaussian $g$; the library takes, at each frame,
the nearest boundary's bump (so overlapping bumps do not add up beyond 1) and cuts it
at $3\sigma$:

$$
g(Y_b)(t) = \max_{b:\ Y_b(b) = 1,\ |t - b| \le \lceil 3\sigma \rceil} \exp\!\Big(-\frac{(t - b)^2}{2\sigma^2}\Big).
$$
""")
code(r'''
SIGMA = CONFIG["loss"]["boundary_sigma"]


def gaussian_targets_by_hand(y, sigma):
    """y [T] labels -> [T] soft boundary targets"""
    bounds = np.flatnonzero(y[1:] != y[:-1]) + 1  # Y_b = 1 here
    radius = math.ceil(3 * sigma)
    g = np.zeros(len(y))
    for b in bounds:
        for t in range(max(0, b - radius), min(len(y), b + radius + 1)):
            g[t] = max(g[t], math.exp(-(t - b) ** 2 / (2 * sigma ** 2)))
    return bounds, g


bounds, g = gaussian_targets_by_hand(y.numpy(), SIGMA)
target = gaussian_boundary_targets(labels, torch.ones_like(labels, dtype=torch.bool), SIGMA)[0]  # [T]
torch.testing.assert_close(torch.from_numpy(g).float(), target)
print(f"{len(bounds)} boundaries at frames {bounds.tolist()}; sigma = {SIGMA:g} frames; "
      f"{int((target > 0).sum())} of {T} frames get a non-zero target")

lo, hi = max(0, int(bounds[0]) - 30), min(T, int(bounds[0]) + 170)
fig, axes = plt.subplots(2, 1, figsize=(8, 3), sharex=True, gridspec_kw={"height_ratios": [0.4, 1]})
plot_segment_bars({"truth": y.numpy()}, ax=axes[0], colors=COLORS, class_names=NAMES, background=data.background,
                  legend=False)
axes[0].set_xlabel("")
axes[1].vlines(bounds, 0, 1, color="0.3", lw=1, label="hard boundary $Y_b$")
axes[1].plot(np.arange(T), target, color="C3", lw=1.5, label=f"target $g(Y_b)$, sigma = {SIGMA:g}")
axes[1].set(xlim=(lo, hi), ylim=(0, 1.35), xlabel="frame", ylabel="target")
axes[1].legend(fontsize=8, loc="upper center", ncol=2)
plt.show()
''')
md(r"""
### The whole loss (Eq. 9)

The boundary logit is trained by a per-frame binary cross-entropy against the soft target,
averaged over the real frames (the paper's Eq. 8 prints the log-likelihood without its
minus sign; the loss minimised is its negative). All terms are summed over the stages
$r = 1..H$; the stage-0 prediction, made before any interaction, is not trained (unless
$H = 0$, when it is the only one):

$$
\mathcal{L} = \sum_{r=1}^{H} \Big[\lambda_{\text{focal}} \mathcal{L}_{\text{focal}}(Y, P_a^r)
+ \lambda_{\text{dice}} \mathcal{L}_{\text{dice}}(M, P_a^r(M))\Big]
- \gamma \sum_{r=1}^{H} \frac{1}{T} \sum_{t} \Big[g_t \log \sigma(P_b^r(t))
+ (1 - g_t) \log\big(1 - \sigma(P_b^r(t))\big)\Big],
$$

with $\lambda_{\text{focal}} = \lambda_{\text{dice}} = \gamma = 1$ in the paper and the presets.
""")
code(r'''
def interact_loss_by_hand(action_logits, boundary_logits, labels, weights):
    """action_logits [S, B, A, T], boundary_logits [S, B, T] (B = 1, no padding) -> loss, per-stage parts"""
    _, g = gaussian_targets_by_hand(labels[0].numpy(), weights["boundary_sigma"])
    g = torch.from_numpy(g).float()[None]  # [1, T]
    stages = range(1, action_logits.shape[0]) if action_logits.shape[0] > 1 else range(1)
    total, parts = 0.0, []
    for r in stages:
        focal = focal_by_hand(action_logits[r], labels, weights["focal_gamma"])
        dice = dice_by_hand(action_logits[r], labels)[0]
        prob = torch.sigmoid(boundary_logits[r])
        bce = -(g * torch.log(prob) + (1 - g) * torch.log(1 - prob)).mean()
        total = (total + weights["focal_weight"] * focal + weights["dice_weight"] * dice
                 + weights["boundary_weight"] * bce)
        parts.append((r, float(focal), float(dice), float(bce)))  # plain numbers for the table
    return total, parts


criterion = InterActLoss(**CONFIG["loss"])
out = outs["multiscale"]  # the model's output of section 41.6 (eval mode: no dropout)
mask_t = torch.ones_like(labels, dtype=torch.bool)
loss, parts = criterion(out, labels, mask_t)
by_hand, per_stage = interact_loss_by_hand(out.action_logits, out.boundary_logits, labels, CONFIG["loss"])
torch.testing.assert_close(by_hand, loss)
print(f"trained stages: {out.trained_stages} of {out.action_logits.shape[0]}; loss {float(loss):.4f} "
      f"(by hand {float(by_hand):.4f}); parts summed over the stages: "
      + ", ".join(f"{k} {v:.4f}" for k, v in parts.items()))
display(Markdown("| stage $r$ | focal | dice | boundary BCE |\n|---:|---:|---:|---:|\n"
                 + "\n".join(f"| {r} | {f:.4f} | {d:.4f} | {b:.4f} |" for r, f, d, b in per_stage)))
''')

# --- 41.8 -------------------------------------------------------------------------------
md(r"""
## 41.8 ASRF smoothing at inference

A trained model's frame-wise argmax still flickers: a few frames inside a long action go
to another class, and each flicker is a spurious segment that costs edit score and F1.
ASRF's refinement {cite}`ishikawa2021asrf` uses the boundary probability to clean it up:

1. **Cut** the video at the peaks of the boundary probability $\sigma(P_b^H)$: local
   maxima at or above a threshold $\tau$, at least $\delta$ frames apart (where two are
   closer, the lower one goes); `boundary_peaks`, with `scipy.signal.find_peaks`;
2. **vote**: every stretch between two consecutive cuts (the video's start and end bound
   the first and the last) takes its most frequent predicted label (`asrf_smoothing`).

The presets' $\tau$ and $\delta$ live on the model (`boundary_threshold`,
`peak_distance`). Peaks by hand: candidates first, then the highest peaks claim their
neighbourhood.
""")
code(r'''
THRESHOLD, DISTANCE = model.boundary_threshold, model.peak_distance


def peaks_by_hand(prob, threshold, min_distance):
    """[T] probabilities -> frames of the kept peaks (sorted)"""
    p = np.pad(prob, 1, constant_values=-np.inf)  # the first and the last frame may be peaks
    candidates = [t - 1 for t in range(1, len(p) - 1) if p[t - 1] < p[t] > p[t + 1] and p[t] >= threshold]
    kept = []
    for t in sorted(candidates, key=lambda t: -prob[t]):  # the highest first
        if all(abs(t - s) >= min_distance for s in kept):
            kept.append(t)
    return np.array(sorted(kept), dtype=int)


def asrf_by_hand(pred, prob, threshold, min_distance):
    cuts = np.union1d([0, len(pred)], peaks_by_hand(prob, threshold, min_distance))
    out = pred.copy()
    for start, end in zip(cuts[:-1], cuts[1:]):
        values, counts = np.unique(pred[start:end], return_counts=True)
        out[start:end] = values[counts.argmax()]  # the most frequent; ties: the smallest id
    return out


rng = np.random.default_rng(SEED)
prob = rng.random(300) * 0.4
prob[[50, 54, 120, 121 + DISTANCE, 200]] = [0.9, 0.8, 0.7, 0.95, 0.45]  # two close pairs, one low peak
np.testing.assert_array_equal(peaks_by_hand(prob, THRESHOLD, DISTANCE), boundary_peaks(prob, THRESHOLD, DISTANCE))
print(f"threshold {THRESHOLD}, distance {DISTANCE}: peaks {boundary_peaks(prob, THRESHOLD, DISTANCE).tolist()} "
      f"(54 is within {DISTANCE} of the higher 50; 0.45 < {THRESHOLD})")
''')
md(r"""
A synthetic test bed built from the chapter's sequence: the **noisy** prediction is the
truth with 10% of its frames set to a random class; the **boundary probability** has a
bump near each true boundary (shifted by up to two frames, peak between 0.55 and 0.85)
plus uniform noise below 0.1, and one spurious bump inside the longest segment.
""")
code(r'''
rng = np.random.default_rng(SEED)
truth = y.numpy()
noisy = truth.copy()
flip = rng.random(T) < 0.10
noisy[flip] = rng.integers(0, A, int(flip.sum()))
t_axis = np.arange(T)
bumps = [rng.uniform(0.55, 0.85) * np.exp(-(t_axis - (b + rng.integers(-2, 3))) ** 2 / (2 * 2.0 ** 2)) for b in bounds]
starts = np.r_[0, bounds]
ends = np.r_[bounds, T]
longest = int(np.argmax(ends - starts))
spurious = (starts[longest] + ends[longest]) // 2  # a false boundary in the middle of the longest segment
bumps.append(0.7 * np.exp(-(t_axis - spurious) ** 2 / (2 * 2.0 ** 2)))
bprob = np.max(bumps, axis=0) + 0.1 * rng.random(T)  # [T]

smoothed = asrf_smoothing(noisy, bprob, THRESHOLD, DISTANCE)
np.testing.assert_array_equal(asrf_by_hand(noisy, bprob, THRESHOLD, DISTANCE), smoothed)
cuts = boundary_peaks(bprob, THRESHOLD, DISTANCE)
print(f"{int(flip.sum())} frames flipped; {len(bounds)} true boundaries, {len(cuts)} cuts "
      f"(one spurious, at frame {spurious}, inside a '{NAMES[int(truth[spurious])]}' segment)")

fig, axes = plt.subplots(2, 1, figsize=(8, 3.6), sharex=True, gridspec_kw={"height_ratios": [1.1, 1]})
plot_segment_bars({"truth": truth, "noisy": noisy, "smoothed": smoothed}, ax=axes[0], colors=COLORS,
                  class_names=NAMES, background=data.background)
axes[0].set_xlabel("")
axes[1].plot(t_axis, bprob, lw=0.8, color="0.3", label="boundary probability")
axes[1].axhline(THRESHOLD, color="C3", lw=0.8, ls="--", label=f"threshold {THRESHOLD}")
axes[1].plot(cuts, bprob[cuts], "v", color="C3", ms=5, label="kept peaks (cuts)")
axes[1].set(xlabel="frame", ylabel="prob.", ylim=(0, 1.3))
axes[1].legend(fontsize=7, loc="upper center", ncol=3)
plt.show()

before = frame_scores([noisy], [truth], data.background)
after = frame_scores([smoothed], [truth], data.background)
keys = ("acc", "edit", "f1@10", "f1@25", "f1@50")
display(Markdown("| prediction | " + " | ".join(keys) + " |\n|---|" + "---:|" * len(keys) + "\n"
                 + "\n".join(f"| {n} | " + " | ".join(f"{s[k]:.1f}" for k in keys) + " |"
                             for n, s in (("noisy", before), ("smoothed", after)))))
''')
md(r"""
The spurious cut costs nothing here: both sides of it vote for the same class, so no new
segment appears. What the smoothing cannot undo is a *missing* cut (two actions merge into
the majority's label) or a stretch whose majority is wrong. The threshold decides how many
cuts survive. Too high, and true boundaries are lost; too low, and noise adds cuts, which
cost something only where a stretch between two of them is short enough for its majority
to be a flipped label (the distance rule keeps stretches at least $\delta$ frames long):
""")
code(r'''
rows = []
for tau in (0.05, 0.3, 0.5, 0.7, 0.9):
    s = frame_scores([asrf_smoothing(noisy, bprob, tau, DISTANCE)], [truth], data.background)
    rows.append(f"| {tau} | {len(boundary_peaks(bprob, tau, DISTANCE))} | {s['acc']:.1f} | {s['edit']:.1f} | "
                f"{s['f1@50']:.1f} |")
display(Markdown("| threshold | cuts | acc | edit | F1@50 |\n|---:|---:|---:|---:|---:|\n" + "\n".join(rows)))
''')
md(r"""
In the engine, `FrameBoundarySegmentationTask.predict` does exactly this on the last
stage: argmax of $P_a^H$, sigmoid of $P_b^H$, `asrf_smoothing` at the model's threshold and
distance, per sequence of a padded batch. On the untrained model (so the numbers mean
nothing) and two test sequences of different lengths:
""")
code(r'''
task = FrameBoundarySegmentationTask(background=data.background, **CONFIG["loss"])
batch = collate_segmentation([test[0], test[1]])  # padded to the longer one
items = task.predict(model, batch)
with torch.no_grad():
    out_b = model(batch["x"], batch["mask"])
for b, it in enumerate(items):
    n = int(batch["lengths"][b])
    raw = out_b.action_logits[-1, b, :, :n].argmax(0).numpy()
    prob_b = torch.sigmoid(out_b.boundary_logits[-1, b, :n]).numpy()
    np.testing.assert_array_equal(it["raw"], raw)
    np.testing.assert_array_equal(it["smoothed"], asrf_by_hand(raw, prob_b, THRESHOLD, DISTANCE))
    n_segments = lambda p: 1 + int((p[1:] != p[:-1]).sum())  # noqa: E731
    print(f"sequence {b}: {n} frames; raw segments {n_segments(raw)}, smoothed {n_segments(it['smoothed'])}, "
          f"cuts {len(boundary_peaks(prob_b, THRESHOLD, DISTANCE))}")
print("metrics keys:", list(task.metrics(items)))
''')

# --- 41.9 -------------------------------------------------------------------------------
md(r"""
## 41.9 Where the parameters are

Per part, for the reduced preset (with DSMI in front, as it reads skeletons; this chapter
used it without) and the full one. Building the full preset takes a fraction of a second
on a CPU.
""")
code(r'''
def parts(net):
    return {
        "spatial (DSMI)": [net.spatial] if net.spatial is not None else [],
        "extractor: input 1x1 conv": [net.extractor.conv_in],
        "extractor: encoder (depthwise conv + ASFormer)": [net.extractor.encoder],
        "extractor: decoder": [net.extractor.decoder],
        "action + boundary blocks": [net.action_block, net.boundary_block],
        "queries $Q^0$": [],
        "QBlocks": [net.query_blocks],
        "FBlocks": [net.frame_blocks],
    }


def counts(net):
    c = {k: sum(count_parameters(mod) for mod in mods) for k, mods in parts(net).items()}
    c["queries $Q^0$"] = net.queries.numel()
    assert sum(c.values()) == count_parameters(net)
    return c


nets = {"reduced": build_model("interact", "reduced"), "full": build_model("interact", "full")}
table = {size: counts(net) for size, net in nets.items()}
totals = {size: count_parameters(net) for size, net in nets.items()}
display(Markdown("| part | reduced | share | full | share |\n|---|---:|---:|---:|---:|\n" + "\n".join(
    f"| {k} | {table['reduced'][k]:,} | {table['reduced'][k] / totals['reduced']:.1%} | {table['full'][k]:,} | "
    f"{table['full'][k] / totals['full']:.1%} |" for k in table["reduced"])
    + f"\n| **total** | **{totals['reduced']:,}** | | **{totals['full']:,}** | |"))
print(f"this chapter's model (spatial='none', reduced widths): {count_parameters(model):,} parameters; "
      f"the fixed variant: {count_parameters(fixed):,} (the same weights, only the reading differs)")
''')

md(r"""
## Summary

- MFAI's **extractor** is a C2F-TCN-style encoder-decoder: six stride-2 depthwise
  convolutions ($T \to \lceil T/2 \rceil$, the mask following as $m_{2t}$), each with an
  ASFormer block at its own resolution, and six decoder layers (linear $\times 2$
  up-sampling, skip, 3-tap convolution). The up-sampling puts coarse frame $j$ back on fine
  frame $2j$, where the convolution centred it (`F.interpolate`'s `align_corners=False`
  would lag half a frame per level, the ramp test of 41.2), and is clamped at each
  sequence's last real frame, so padding in a batch changes nothing.
- The last $H + 1$ decoder outputs $\hat X_0..\hat X_H$ run coarse to fine; $\hat X_u$ has
  $\lceil T / 2^{H-u} \rceil$ frames. $\hat X_H$ passes an action and a boundary block of
  MS-TCN layers to give the frame features $F^0 = [F_a^0, F_b^0]$; the queries $Q^0$ ($A$
  action queries and one boundary query) are learnt vectors.
- Stage $r$: the **QBlock** (Eq. 4) lets the queries attend to each other, then read the
  real frames of $\hat X_{r-1}$; the **FBlock** (Eq. 5) lets every frame's action and
  boundary features read the queries. The multi-scale model's stages read
  $\lceil T/2^{H} \rceil, \dots, \lceil T/2 \rceil$ frames; FACT-style fixed interaction
  reads all $T$ every time, with the same weights.
- The **head** is a scaled dot product of queries and frame features at every stage.
- The **loss** sums over stages $1..H$: focal loss on frames ($\gamma = 2$; cross-entropy
  at $\gamma = 0$), dice over the classes present in the video, and BCE against
  Gaussian-smoothed boundary targets.
- At inference, **ASRF smoothing** cuts at the boundary peaks and gives each stretch its
  majority label; in the synthetic test bed it removes the flicker (the table in 41.8
  gives the edit and F1 before and after), and a spurious cut with the same label on both
  sides is harmless.
- Every teaching version in this chapter matches the library to floating-point tolerance.

## Exercises

1. **Other conventions, and the lag level by level.** (a) Repeat the one-level ramp test of
   41.2 with `F.interpolate(h, size=T, mode="linear", align_corners=True)` for $T = 17$ and
   for $T = 16$. Where does coarse frame $j$ land in each case, and why does the answer
   depend on whether $T$ is odd? (b) With `down_up` and `interpolate_up`, run the soft
   boundary through $k = 1, \dots, 6$ levels, tabulate where each reconstruction crosses
   0.5, and check the growth against $(2^k - 1)/2$. (c) A decoder layer's 3-tap convolution
   can move features by at most one frame at its own resolution, and the skips arrive
   unshifted. Could a trained model undo the lag of `align_corners=False`, and what would
   adding a late up-sampled input to an on-time skip do to the features around a boundary?
2. **Cost of the reading.** For a ten-minute video at 15 frames a second and $A = 48$
   classes, count the query-frame pairs the QBlocks' cross-attention scores over $H = 3$
   stages, for `interaction="multiscale"` and `"fixed"`. Which term of the whole model's
   attention cost do the FBlocks add, and does it depend on the interaction?
3. **The H sweep.** Build the reduced model with $H = 0, 1, \dots, 6$ and print
   `query_resolutions` for the chapter's sequence. How many seconds does one frame of the
   first stage's input span at $H = 6$? Relate it to the paper's observation (Appendix A.1)
   that $H > 3$ hurts.
4. **Dice without smoothing.** Set $\epsilon \to 0$ in `dice_by_hand` and construct a video
   in which one class is present in a single frame. What is that class's term when the
   model gives it probability 0.01 there, and how does it compare with the focal loss's
   view of the same frame?
5. **Missing cuts.** In the test bed of 41.8, delete the bump of one true boundary between
   two non-background actions and smooth again. Which label does the merged stretch get,
   and how do edit and F1@50 change? Then lower `peak_distance` to 1 and add a second
   bump two frames from each true one: what does the distance rule protect against?
""")

nb = new_notebook(cells=cells, metadata={
    "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
    "language_info": {"name": "python"}})
nbformat.write(nb, "/work/main/notebooks/41_interact_mfai.ipynb")

"""Writes notebooks/20_deformable3d_components.ipynb (without outputs)."""

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

cells = []
md = lambda s: cells.append(new_markdown_cell(s.strip("\n")))  # noqa: E731
code = lambda s, tags=None: cells.append(new_code_cell(s.strip("\n"), metadata={"tags": tags} if tags else {}))  # noqa: E731

md(r"""
# 20. 3D deformable transformer: the components

[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/)

The 3D deformable transformer {cite}`kim2023deformable` recognises actions from the RGB
frames and the 2D pose of a clip, in one transformer. Three attentions make up its block:

* **3D deformable attention**: the RGB tokens do not attend to every RGB token of the
  clip, but to a few tokens *sampled* from the $T\times H\times W$ feature volume at
  places that a small network (the 3D token search) chooses for each clip;
* **local joint stride attention**: the pose tokens of a frame attend inside windows of
  joints that slide along the joint list;
* **temporal stride attention**: the tokens of a frame attend inside windows of frames
  that slide along the clip.

Two **cross-modal tokens** (an RGB one and a pose one) take part in all three and carry
what the RGB and pose tokens found between the modalities; the class comes from them. No official code
exists; the 3D token search follows the deformable attention of vision transformers
(offset network, bounded offsets, sampling, ordinary attention), extended to a volume.
This chapter builds each part beside its equation and checks it against the library's
module, `actseg_lib/models/deformable3d.py`.

*Everything here runs on a CPU in seconds: nothing is trained (training is chapter 21).*
""")
code('''
import os

SIZE = os.environ.get("ACTSEG_SIZE", "reduced")  # "reduced" (CPU, minutes) or "full" (the paper's, GPU)
SEED = 0
''', ["parameters"])
code('''
import math
import time

import matplotlib.pyplot as plt
import numpy as np
import torch
from IPython.display import Markdown, display
from torch import nn
from torch.nn import functional as F

from actseg_lib.data import synthact
from actseg_lib.data.datasets import clip_frame_indices
from actseg_lib.common.skeletons import NTU_EDGES, NTU_JOINTS
from actseg_lib.models import build_model, count_parameters, model_config
from actseg_lib.models.deformable3d import (
    CrossModalTokens,
    Deformable3DBlock,
    DeformableAttention3D,
    JointStrideAttention,
    TemporalStrideAttention,
    ThreeDTokenSearch,
    sliding_windows,
)
from actseg_lib.nn.deformable_sampling import reference_points, sample_volume
from actseg_lib.viz import use_book_style

use_book_style()
torch.manual_seed(SEED)
np.random.seed(SEED)
torch.set_printoptions(precision=3, sci_mode=False)
REDUCED = model_config("deformable3d", "reduced")["model"]  # the preset every section below follows
print(f"size {SIZE}; reduced preset: dim {REDUCED['dim']}, heads {REDUCED['heads']}, depth {REDUCED['depth']}, "
      f"RGB tokens from {REDUCED['feature_stage']}")
''')
md(r"""
## 20.1 The clip

A recognition clip: RGB frames $x_t \in [0,1]^{3\times H\times W}$ and the 2D pose
$p_{t,j} \in \mathbb{R}^2$ of the same frames ($J = 25$ Kinect joints). The reduced preset
reads 8 of SynthAct's 16 frames ($48 \times 48$ pixels, spread evenly); the full preset
reads 16 frames of $112 \times 112$. The components are shown on the reduced preset
whatever `SIZE` says; section 20.10 builds both presets.
""")
code('''
clips = synthact.load("clips", "reduced", progress=False)
wave = clips[0].class_names.index("wave hand")
clip = next(clips[i] for i, r in enumerate(clips.records()) if r["label"] == wave)
IMAGE = clip.meta["image_size"]
keep = clip_frame_indices(clip.rgb.shape[0], REDUCED["num_frames"])  # 8 of 16 frames, spread evenly
rgb = torch.from_numpy(clip.rgb[keep]).permute(0, 3, 1, 2)[None].float() / 255  # [1, T, 3, H, W] in [0, 1]
skeleton = torch.from_numpy(clip.skeleton2d[keep, 0])[None] / IMAGE  # [1, T, 25, 2] in [0, 1]
T = rgb.shape[1]
print(clip.name, "-", clip.class_names[clip.label], "| rgb", tuple(rgb.shape), "| skeleton", tuple(skeleton.shape))

fig, axes = plt.subplots(1, 4, figsize=(8, 2.3))
for ax, t in zip(axes, [0, 2, 5, 7]):
    ax.imshow(clip.rgb[keep[t]], extent=(0, 1, 1, 0))
    xy = skeleton[0, t].numpy()
    for a, b in NTU_EDGES:
        ax.plot(xy[[a, b], 0], xy[[a, b], 1], color="w", lw=1)
    ax.set_title(f"frame {t + 1} of {T}", fontsize=9)
    ax.axis("off")
plt.show()
''')
md(r"""
## 20.2 Tokens

**RGB tokens.** The mixed-convolution backbone of chapter 10 (3D early stages, 2D later
ones, no temporal stride) turns the clip into feature maps; the map of `layer3`
($C\times T\times h\times w$, $6 \times 6$ at 48 pixels) is projected to the width $D$ by a
$1\times1\times1$ convolution, and learned positions for the frame and the cell are added:

$$
\mathbf{r}_{t,y,x} = W_r\, \mathbf{f}_{t,y,x} + \mathbf{b}_r + \mathbf{e}^{\text{frame}}_t + \mathbf{e}^{\text{space}}_{y,x} .
$$

**Pose tokens.** One token per joint and frame, the embedded coordinates. The library first
expresses the pose relative to the clip: the mean joint position $\bar p$ over all frames
and joints, and the spread $s$ around it, so that where the person stands and how large
the camera shows them do not enter the tokens:

$$
\bar p = \frac{1}{TJ}\sum_{t,j} p_{t,j}, \qquad
s = \sqrt{\frac{1}{2TJ}\sum_{t,j} \lVert p_{t,j} - \bar p \rVert^2}, \qquad
\hat p_{t,j} = \frac{p_{t,j} - \bar p}{s}, \qquad
\mathbf{q}_{t,j} = W_p\, \hat p_{t,j} + \mathbf{b}_p + \mathbf{e}^{\text{frame}}_t + \mathbf{e}^{\text{joint}}_j .
$$

Both modalities share the frame positions, so a pose token and an RGB token of the same
frame carry the same time stamp.
""")
code('''
torch.manual_seed(SEED)
model = build_model("deformable3d", "reduced", rgb_zero_init=False).eval()  # random RGB weights, to see them
D = model.head.in_features
with torch.no_grad():
    video = (rgb.transpose(1, 2) - model.rgb_mean) / model.rgb_std  # [1, 3, T, H, W]
    f = model.backbone(video)[model.feature_stage]  # [1, C, T, h, w]
    h = w = f.shape[-1]
    r = torch.einsum("bcthw,dc->bthwd", f, model.rgb_proj.weight[:, :, 0, 0, 0]) + model.rgb_proj.bias
    r = r + model.frame_pos.view(1, T, 1, 1, D) + model.space_pos.view(1, 1, h, w, D)  # [1, T, h, w, D]

    p_bar = skeleton.mean(dim=(1, 2), keepdim=True)  # [1, 1, 1, 2]
    s = (skeleton - p_bar).pow(2).sum(-1).mean().sqrt() / math.sqrt(2)  # rms over the 2 coordinates
    p_hat = (skeleton - p_bar) / s
    q = p_hat @ model.pose_proj.weight.T + model.pose_proj.bias + model.frame_pos.view(1, T, 1, D) + model.joint_pos

    rgb_tokens, pose_tokens = model.tokens(rgb, skeleton)
torch.testing.assert_close(r, rgb_tokens)
torch.testing.assert_close(q, pose_tokens)
print(f"layer3 features {tuple(f.shape)} -> RGB tokens {tuple(rgb_tokens.shape)}   # [B, T, h, w, D]")
print(f"pose {tuple(skeleton.shape)} -> pose tokens {tuple(pose_tokens.shape)}   # [B, T, J, D]")
print(f"clip centre {p_bar.flatten().numpy().round(3)}, spread {float(s):.3f} (fractions of the frame)")
''')
md(r"""
The library's default starts the RGB projection $W_r, \mathbf{b}_r$ at **zero**
(`rgb_zero_init`), as the STAR chapter does: at the first step the RGB tokens are the
positions alone and the model is a pose model; the RGB stream enters as soon as $W_r$
learns (its gradient does not vanish, since $\partial \mathbf r / \partial W_r = \mathbf f$).
The STAR chapter found that a randomly initialised RGB stream slows a two-stream model
trained from scratch; exercise 3 of chapter 21 measures it for this one.
""")
code('''
torch.manual_seed(SEED)
default = build_model("deformable3d", "reduced").eval()
with torch.no_grad():
    zero_rgb, _ = default.tokens(rgb, skeleton)
positions_only = default.frame_pos.view(1, T, 1, 1, D) + default.space_pos.view(1, 1, h, w, D)
torch.testing.assert_close(zero_rgb, positions_only.expand_as(zero_rgb))
print("with rgb_zero_init the RGB tokens are the positions alone at the start")
''')
md(r"""
## 20.3 Reference points and trilinear sampling

Deformable attention reads the feature volume at continuous positions. Positions are
written in `grid_sample`'s normalised coordinates: each axis runs over $[-1, 1]$, and the
centre of cell $i$ of $n$ sits at

$$
c_n(i) = \frac{2i + 1}{n} - 1 ,
$$

so a point at a cell centre reads that cell exactly. The **reference points** are the cell
centres of a grid, every `reference_stride` cells. A point $(x, y, t)$ between centres is
read **trilinearly**: with $u = \big((x + 1)\,w - 1\big)/2$ the continuous cell index along
$x$ (and likewise $v$ along $y$, $\tau$ along $t$), $u_0 = \lfloor u \rfloor$ and
$\alpha = u - u_0$,

$$
V(x, y, t) = \sum_{a, b, c \in \{0, 1\}}
\big((1-\alpha)^{1-a}\alpha^{a}\big)\big((1-\beta)^{1-b}\beta^{b}\big)\big((1-\gamma)^{1-c}\gamma^{c}\big)\,
V[\tau_0 + c,\ v_0 + b,\ u_0 + a],
$$

the eight corners around the point, each weighted by how close the point is to it;
corners outside the volume read zero. A 5-D input makes `grid_sample`'s "bilinear" mode
exactly this.
""")
code('''
Tt, Hh, Ww = 3, 4, 5
grid = reference_points(Tt, Hh, Ww)  # [T, H, W, 3] as (x, y, t)
centres = lambda n: (2 * torch.arange(n) + 1) / n - 1  # noqa: E731
torch.testing.assert_close(grid[1, 2, 3], torch.stack([centres(Ww)[3], centres(Hh)[2], centres(Tt)[1]]))
print("cell (t=1, y=2, x=3) has its centre at (x, y, t) =", grid[1, 2, 3].numpy().round(3))


def trilinear_by_hand(V, point):
    """V [C, T, H, W]; point (x, y, t) in [-1, 1] -> [C]: the eight-corner sum."""
    C, nt, nh, nw = V.shape
    u, v, tau = ((point + 1) * torch.tensor([nw, nh, nt]) - 1) / 2  # continuous cell indices
    u0, v0, t0 = (int(math.floor(float(c))) for c in (u, v, tau))
    alpha, beta, gamma = u - u0, v - v0, tau - t0
    out = torch.zeros(C)
    for a in (0, 1):
        for b in (0, 1):
            for c in (0, 1):
                x, y, t = u0 + a, v0 + b, t0 + c
                if 0 <= x < nw and 0 <= y < nh and 0 <= t < nt:  # outside: zero
                    weight = (alpha if a else 1 - alpha) * (beta if b else 1 - beta) * (gamma if c else 1 - gamma)
                    out += weight * V[:, t, y, x]
    return out


torch.manual_seed(SEED)
V = torch.randn(6, Tt, Hh, Ww)  # [C, T, H, W]
points = torch.rand(20, 3) * 2.4 - 1.2  # some fall outside [-1, 1]
teaching = torch.stack([trilinear_by_hand(V, p) for p in points])  # [20, C]
library = sample_volume(V[None], points[None])[0]  # [20, C]
torch.testing.assert_close(teaching, library)
print("20 points (some outside the volume): eight-corner sums == sample_volume (5-D grid_sample)")
''')
md(r"""
## 20.4 The 3D token search (3DTS)

For each reference point $p$ the 3DTS predicts an offset $\Delta p$ in $(t, y, x)$, from the
features around it: a depthwise $3\times3\times3$ convolution (with the reference stride as
its stride, so it outputs one vector per reference point), a normalisation, a GELU and a
$1\times1\times1$ convolution to three numbers. A $\tanh$ bounds them, and a range $\rho$
(cells per axis) scales them:

$$
\Delta p = \rho \odot \tanh\Big(W_2\, \mathrm{GELU}\big(\mathrm{Norm}(\mathrm{DWConv}(X))\big)\Big), \qquad
\tilde{\mathbf{x}}_p = X(p + \Delta p) .
$$

The channels are split into $G$ groups (one per head); every group has its own offsets
(the same network, shared weights, runs on each group's channels) and reads its own
channels at its own points. $\tilde{\mathbf{x}}_p$ is a **deformable token**: with $N$
reference points, $N$ of them replace the $THW$ RGB tokens as keys and values.
""")
code('''
torch.manual_seed(SEED)
G, Dg = 4, 8
search = ThreeDTokenSearch(dim=G * Dg, groups=G, offset_range=(1.0, 2.0, 2.0), reference_stride=(1, 2, 2)).eval()
X = torch.randn(1, G * Dg, 4, 6, 6)  # [B, D, T, H, W]
net = search.offset_net
with torch.no_grad():
    grouped = X.view(G, Dg, 4, 6, 6)  # the groups side by side in the batch
    z = F.conv3d(grouped, net[0].weight, net[0].bias, stride=(1, 2, 2), padding=1, groups=Dg)  # depthwise
    z = F.group_norm(z, 1, net[1].weight, net[1].bias, eps=net[1].eps)  # one group: normalise all of a sample
    raw = F.conv3d(F.gelu(z), net[3].weight, net[3].bias)  # [G, 3, T', H', W'] as (dt, dy, dx)
    Tr, Hr, Wr = raw.shape[2:]
    rho = torch.tensor([2.0, 2.0, 1.0])  # (x, y, t) in cells
    cell = 2 / torch.tensor([6, 6, 4])  # one cell in normalised units, (x, y, t)
    delta = torch.tanh(raw.permute(0, 2, 3, 4, 1).flip(-1)) * rho * cell  # [G, T', H', W', 3] as (x, y, t)
    p = (reference_points(Tr, Hr, Wr) + delta).reshape(G, -1, 3)  # [G, N, 3]
    teaching = torch.cat([sample_volume(grouped[g:g + 1], p[g:g + 1])[0] for g in range(G)], dim=-1)  # [N, D]
    tokens, library_points = search(X)
torch.testing.assert_close(teaching, tokens[0])
torch.testing.assert_close(p, library_points[0])
print(f"volume {tuple(X.shape)}: {Tr} x {Hr} x {Wr} = {Tr * Hr * Wr} reference points (stride (1, 2, 2)) "
      f"-> deformable tokens {tuple(tokens.shape)}, points {tuple(library_points.shape)}   # [B, G, N, 3]")
''')
md(r"""
Two properties define the 3DTS; the library's tests check both, and here they are on the
module above. With zero offsets, the deformable tokens are the features at the reference
points; with a reference stride of 2, a reference point sits where four cells meet, and
trilinear sampling there reads their mean. However large the network's output, no offset exceeds $\rho$ cells.
""")
code('''
import copy

zero = copy.deepcopy(search)
with torch.no_grad():
    zero.offset_net[-1].weight.zero_()
    zero.offset_net[-1].bias.zero_()
    tokens0, _ = zero(X)
# with stride 2, a reference point sits at the centre of a 2 x 2 block of cells: it reads the block's mean
at_reference = F.avg_pool3d(X, kernel_size=(1, 2, 2)).flatten(2).transpose(1, 2)  # [1, T * 3 * 3, D]
torch.testing.assert_close(tokens0, at_reference)
print("zero offsets: deformable tokens == the features at the reference points (2 x 2 block means)")

wild = copy.deepcopy(search)
with torch.no_grad():
    wild.offset_net[-1].bias.fill_(50.0)  # the tanh saturates
    _, far = wild(X)
shift_cells = (far[0] - reference_points(Tr, Hr, Wr).reshape(1, -1, 3)) / cell  # in cells, (x, y, t)
print("largest shift (cells, x y t):", shift_cells.abs().amax(dim=(0, 1)).numpy().round(4), "| range", rho.numpy())
assert (shift_cells.abs() <= rho + 1e-5).all()
''')
md(r"""
Where an untrained 3DTS looks: the reference points (rings) and where each group samples
(dots, one colour per group) in the first two frames, plus the temporal offsets (a dot
drawn in frame $t$ may read from frame $t \pm 1$). Training moves these points; chapter 21
draws them for the trained model over the video.
""")
code('''
with torch.no_grad():
    wide = copy.deepcopy(search)
    wide.offset_net[-1].weight.mul_(20)  # larger random offsets, to make the picture readable
    _, pts = wide(X)
ref = reference_points(Tr, Hr, Wr).reshape(-1, 3)
fig, axes = plt.subplots(1, 2, figsize=(7, 3.4))
for t, ax in enumerate(axes):
    sel = torch.isclose(ref[:, 2], reference_points(Tr, 1, 1)[t, 0, 0, 2])
    ax.scatter(ref[sel, 0], ref[sel, 1], s=80, facecolors="none", edgecolors="k", label="reference")
    for g in range(G):
        q_ = pts[0, g, sel]
        ax.scatter(q_[:, 0], q_[:, 1], s=12, label=f"group {g}")
        for a, b in zip(ref[sel], q_):
            ax.plot([a[0], b[0]], [a[1], b[1]], color="grey", lw=0.5)
    ax.set(xlim=(-1, 1), ylim=(1, -1), title=f"frame {t + 1}", aspect="equal")
axes[1].legend(fontsize=7, loc="upper left", bbox_to_anchor=(1, 1))
plt.tight_layout()
plt.show()
''')
md(r"""
## 20.5 3D deformable attention

Queries are the RGB tokens $R \in \mathbb{R}^{THW\times D}$ followed by the cross-modal
tokens $C$ (the library keeps a copy of the two for every frame, section 20.8, so $C \in
\mathbb{R}^{2T\times D}$); keys and values are the $N$ deformable tokens $\tilde X$ followed
by the same cross-modal tokens. Per head $h$ (with $d = D/H$):

$$
Q = [R; C]\, W_Q, \quad K = [\tilde X; C]\, W_K, \quad V = [\tilde X; C]\, W_V, \qquad
\mathrm{head}_h = \mathrm{softmax}\!\Big(\frac{Q_h K_h^\top}{\sqrt{d}}\Big) V_h ,
$$

and the heads are concatenated and projected by $W_O$. The first $THW$ rows update the
RGB tokens; the last $2T$ update the cross-modal tokens, which thus read the RGB stream
(and each other). The library calls PyTorch's `scaled_dot_product_attention`; below it is
written out.
""")


code('''
def attention_by_hand(module, queries, context):
    """The attention of `module` (its projections) written out: [B, Lq, D] x [B, Lk, D] -> [B, Lq, D]."""
    B, Lq, Dm = queries.shape
    H = module.heads
    q = module.q(queries).view(B, Lq, H, Dm // H).transpose(1, 2)  # [B, H, Lq, d]
    k, v = module.kv(context).view(B, -1, 2, H, Dm // H).permute(2, 0, 3, 1, 4)  # 2 x [B, H, Lk, d]
    weights = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(Dm // H), dim=-1)
    return module.out((weights @ v).transpose(1, 2).reshape(B, Lq, Dm))


torch.manual_seed(SEED)
Dm, Hm = 32, 4
attention = DeformableAttention3D(Dm, Hm, offset_range=(1.0, 2.0, 2.0), reference_stride=(1, 2, 2)).eval()
R = torch.randn(1, 4, 6, 6, Dm)  # RGB tokens [B, T, h, w, D]
C = torch.randn(1, 4 * 2, Dm)  # the two cross-modal tokens of each of the 4 frames
volume = R.permute(0, 4, 1, 2, 3)  # [B, D, T, h, w]
with torch.no_grad():
    X_tilde, _ = attention.search(volume)  # [1, N, D]
    out = attention_by_hand(attention, torch.cat([R.flatten(1, 3), C], 1), torch.cat([X_tilde, C], 1))
    d_rgb, d_cross = attention(R.flatten(1, 3), volume, C)
P, N, L = R[0, ..., 0].numel(), X_tilde.shape[1], C.shape[1]
torch.testing.assert_close(out[:, :P], d_rgb)
torch.testing.assert_close(out[:, P:], d_cross)
print(f"queries {P} RGB + {L} cross, keys {N} deformable + {L} cross: {attention.score_pairs:,} scores per head")
assert attention.score_pairs == (P + L) * (N + L)
''')
md(r"""
**What it saves.** Standard attention over the RGB tokens (the ablation `keys="full"`)
scores every query against every token: $(THW + 2T)^2$ pairs. With reference points every
$s_t, s_y, s_x$ cells, $N = THW / (s_t s_y s_x)$ and the cost is $(THW + 2T)(N + 2T)$, close to a
fraction $1/(s_t s_y s_x)$ of it. The 3DTS adds a depthwise convolution and the sampling,
both linear in the number of tokens.
""")
code('''
full_attention = DeformableAttention3D(Dm, Hm, keys="full").eval()
with torch.no_grad():
    full_attention(R.flatten(1, 3), volume, C)
print(f"deformable: {attention.score_pairs:,} scores | full: {full_attention.score_pairs:,} | "
      f"ratio {attention.score_pairs / full_attention.score_pairs:.3f} (1 / (1 * 2 * 2) = 0.25)")
assert full_attention.score_pairs == (P + L) ** 2
''')
md(r"""
## 20.6 Local joint stride attention

The pose tokens of one frame attend inside **windows of joints**: $w_j$ consecutive joints
of the joint list, the window moved by a stride $s_j$ (the last window ends at the last
joint, so none is left out). The frame's cross-modal tokens join every window, so they read
every joint group. For window $k$ with joints $\mathcal{W}_k$ in frame $t$,

$$
[\,Q'_{t,\mathcal{W}_k,k};\ C'_{t,k}\,] = \mathrm{Attn}\big([\,Q_{t,\mathcal{W}_k};\ C_t\,]\big), \qquad
Q'_{t,j} = \frac{1}{|\{k: j \in \mathcal{W}_k\}|} \sum_{k:\, j \in \mathcal{W}_k} Q'_{t, j, k}, \qquad
C'_t = \frac{1}{K} \sum_{k} C'_{t,k} ,
$$

a joint covered by several windows gets the mean of its outputs. The cost per frame is
$\sum_k (w_j + 2)^2$ instead of $(J + 2)^2$; with several people, windows keep the cost
linear in the number of joints. With the preset's $w_j = 5$, $s_j = 3$ on the 25 NTU
joints the windows are:
""")
code('''
JW, JS = REDUCED["joint_window"], REDUCED["joint_stride"]
joint_windows = sliding_windows(25, JW, JS)
for k, (a, b) in enumerate(joint_windows):
    print(f"window {k}: joints {a:2d}-{b - 1:2d}  " + ", ".join(NTU_JOINTS[a:b]))
''')
code('''
torch.manual_seed(SEED)
joint = JointStrideAttention(Dm, Hm, window=JW, stride=JS).eval()
Qp = torch.randn(1, 3, 25, Dm)  # pose tokens [B, T, J, D]
Cp = torch.randn(1, 3, 2, Dm)  # the cross-modal tokens of each frame [B, T, 2, D]
with torch.no_grad():
    out_pose, out_cross = torch.zeros_like(Qp), torch.zeros_like(Cp)
    count = torch.zeros(25)
    for a, b in joint_windows:
        for t in range(Qp.shape[1]):
            window = torch.cat([Qp[:, t, a:b], Cp[:, t]], 1)  # [1, w + 2, D]
            o = attention_by_hand(joint, window, window)
            out_pose[:, t, a:b] += o[:, : b - a]
            out_cross[:, t] += o[:, b - a:] / len(joint_windows)
        count[a:b] += 1
    out_pose /= count.view(1, 1, 25, 1)
    library_pose, library_cross = joint(Qp, Cp)
torch.testing.assert_close(out_pose, library_pose)
torch.testing.assert_close(out_cross, library_cross)
print("windows by hand == JointStrideAttention; joints in 2 windows:", (count == 2).sum().item(),
      "| score pairs per clip and head:", joint.score_pairs, "vs one window of all joints:", Qp.shape[1] * 27**2)
''')
md(r"""
Which joints can exchange information in one layer: joint $i$ reads joint $j$ only when a
window holds both. The pattern is a band along the joint list, so it depends on how the
list is ordered (NTU's goes spine, left arm, right arm, left leg, right leg, then hand
tips); a perturbation confirms it.
""")
code('''
with torch.no_grad():
    moved = Qp.clone()
    moved[:, :, 24] += 5.0  # change the right thumb only
    changed = (joint(moved, Cp)[0] - library_pose).abs().amax(dim=(0, 1, 3)) > 1e-6  # [J]
allowed = torch.zeros(25, 25, dtype=torch.bool)
for a, b in joint_windows:
    allowed[a:b, a:b] = True
assert changed.tolist() == allowed[24].tolist()  # exactly the joints that share a window with joint 24
fig, ax = plt.subplots(figsize=(4.2, 4.2))
ax.imshow(allowed, cmap="Greys")
ax.set_xticks(range(25), NTU_JOINTS, rotation=90, fontsize=6)
ax.set_yticks(range(25), NTU_JOINTS, fontsize=6)
ax.set_title(f"joint pairs that share a window (w={JW}, s={JS})", fontsize=9)
plt.show()
print("joints that moved when the right thumb moved:", [NTU_JOINTS[j] for j in torch.nonzero(changed).flatten()])
''')
md(r"""
## 20.7 Temporal stride attention

Every frame's tokens (its $hw$ RGB tokens, $J$ pose tokens and 2 cross-modal tokens,
$S = hw + J + 2$ in all) attend
to the tokens of the frames in their window: $w_t$ frames, the window moved by $s_t$ frames.
As for joints, a frame in several windows averages its outputs:

$$
Z'_{t} = \frac{1}{|\{k : t \in \mathcal{T}_k\}|} \sum_{k:\, t \in \mathcal{T}_k}
\mathrm{Attn}\big(Z_{\mathcal{T}_k}\big)_t , \qquad
\text{cost} = \sum_k (|\mathcal{T}_k|\, S)^2 \ \text{ instead of }\ (T S)^2 .
$$

The paper finds a stride of about half the window best: windows that overlap by half
let information travel along the clip in a few layers without all frames meeting at
once.
""")
code('''
TW, TS = REDUCED["temporal_window"], REDUCED["temporal_stride"]
torch.manual_seed(SEED)
temporal = TemporalStrideAttention(Dm, Hm, window=TW, stride=TS).eval()
Z = torch.randn(1, T, 5, Dm)  # [B, T, S, D]
frame_windows = sliding_windows(T, TW, TS)
with torch.no_grad():
    teaching, count = torch.zeros_like(Z), torch.zeros(T)
    for a, b in frame_windows:
        tokens = Z[:, a:b].flatten(1, 2)
        teaching[:, a:b] += attention_by_hand(temporal, tokens, tokens).view(1, b - a, 5, Dm)
        count[a:b] += 1
    teaching /= count.view(1, T, 1, 1)
    library = temporal(Z)
torch.testing.assert_close(teaching, library)
print(f"T = {T}, window {TW}, stride {TS}: windows {frame_windows}")
print(f"score pairs {temporal.score_pairs:,} vs all frames at once {(T * 5) ** 2:,}")
''')
md(r"""
How far information travels: change one frame and see which frames of the output move,
after one temporal stride attention and after two stacked (the receptive field grows by
a window per layer).
""")
code('''
def reached(layers, source=0):
    with torch.no_grad():
        a, b = Z.clone(), Z.clone()
        b[:, source] += 3.0
        for _ in range(layers):
            a, b = temporal(a), temporal(b)
    return ((a - b).abs().amax(dim=(0, 2, 3)) > 1e-6).nonzero().flatten().add(1).tolist()


one, two = reached(1), reached(2)
print("frame 1 changed -> after one layer frames", one, "| after two", two)
assert one == list(range(1, TW + 1)) and len(two) > len(one)
sweep = {s: sliding_windows(16, 8, s) for s in (2, 4, 6, 8)}
display(Markdown("Windows on the full preset's 16 frames (window 8):\\n\\n| stride | windows | score pairs / all at once |"
                 "\\n|---|---|---|\\n" + "\\n".join(
                     f"| {s} | {len(ws)} | {sum((b - a) ** 2 for a, b in ws) / 16 ** 2:.2f} |" for s, ws in sweep.items())))
''')
md(r"""
## 20.8 Cross-modal tokens and the block

The **cross-modal tokens** are two learned vectors, an RGB one and a pose one, the same for
every clip at the start; the attentions fill them. The library keeps one copy of the pair
per frame (with the frame's position added), so they join their frame in the temporal
stride attention and carry time like every other token; the head averages all copies.
A **block** chains the three attentions and an MLP, each a residual with a LayerNorm
before it (pre-norm; the paper does not say where its norms sit):

$$
\begin{aligned}
[R; C] &\leftarrow [R; C] + \mathrm{DeformAttn}\big(\mathrm{LN}(R), \mathrm{LN}(C)\big), \\
[Q; C] &\leftarrow [Q; C] + \mathrm{JointStrideAttn}\big(\mathrm{LN}(Q), \mathrm{LN}(C)\big), \\
Z = [R_t; Q_t; C_t]_t &\leftarrow Z + \mathrm{TemporalStrideAttn}\big(\mathrm{LN}(Z)\big), \\
Z &\leftarrow Z + \mathrm{MLP}(\mathrm{LN}(Z)) .
\end{aligned}
$$

So the cross tokens read the RGB stream in the first step, then carry it into the joint
windows, where the pose tokens read it; the temporal step then mixes all three kinds of
token of nearby frames.
""")
code('''
torch.manual_seed(SEED)
block = Deformable3DBlock(Dm, Hm, offset_range=(1.0, 2.0, 2.0), reference_stride=(1, 2, 2), joint_window=JW,
                          joint_stride=JS, temporal_window=TW, temporal_stride=TS, mlp_ratio=2.0).eval()
Rb, Qb = torch.randn(1, T, 6, 6, Dm), torch.randn(1, T, 25, Dm)
Cb = CrossModalTokens(Dm)(batch=1, frames=T)  # [1, T, 2, D]
with torch.no_grad():
    x = block.norm_rgb(Rb)
    d_r, d_c = block.deformable(x.flatten(1, 3), x.permute(0, 4, 1, 2, 3), block.norm_cross(Cb).flatten(1, 2))
    R1, C1 = Rb + d_r.view_as(Rb), Cb + d_c.view_as(Cb)
    d_q, d_c = block.joint(block.norm_pose(Qb), block.norm_cross2(C1))
    Q1, C2 = Qb + d_q, C1 + d_c
    Z1 = torch.cat([R1.flatten(2, 3), Q1, C2], dim=2)  # [1, T, hw + J + 2, D]
    Z2 = Z1 + block.temporal(block.norm_frames(Z1))
    Z3 = Z2 + block.mlp(block.norm_mlp(Z2))
    library = block(Rb, Qb, Cb)
torch.testing.assert_close(Z3[:, :, :36].view_as(Rb), library[0])
torch.testing.assert_close(Z3[:, :, 36:61], library[1])
torch.testing.assert_close(Z3[:, :, 61:], library[2])
print("block by hand == Deformable3DBlock: RGB", tuple(library[0].shape), "pose", tuple(library[1].shape),
      "cross", tuple(library[2].shape))
''')
md(r"""
## 20.9 The head and the whole model

The cross-modal tokens enter the first block as the learned pair plus each frame's
position, $C_t = [\mathbf c_{\text{rgb}}; \mathbf c_{\text{pose}}] + \mathbf e^{\text{frame}}_t$.
After $L$ blocks, all $2T$ of them are averaged, normalised and mapped to class scores
(the softmax sits in the loss):

$$
\hat{\mathbf y} = W_c\, \mathrm{LN}\Big(\frac{1}{2T} \sum_{t} \big(C_{t,\text{rgb}} + C_{t,\text{pose}}\big)\Big) + \mathbf b_c .
$$

Without cross-modal tokens (`cross_tokens=False`, an ablation of chapter 21) the head
averages every RGB and pose token instead. The check runs the reduced model part by part.
""")
code('''
with torch.no_grad():
    R_, Q_ = model.tokens(rgb, skeleton)
    C_ = model.cross.tokens.expand(1, T, 2, D) + model.frame_pos.view(1, T, 1, D)  # [1, T, 2, D]
    for blk in model.blocks:
        R_, Q_, C_ = blk(R_, Q_, C_)
    teaching = model.head(model.norm(C_.mean(dim=(1, 2))))
    library, embedding = model(rgb, skeleton, return_embedding=True)
torch.testing.assert_close(teaching, library)
torch.testing.assert_close(C_.mean(dim=(1, 2)), embedding)
print("logits", tuple(library.shape), "| untrained probabilities", torch.softmax(library, -1)[0].numpy().round(3))
''')
md(r"""
## 20.10 Both presets, counted

The reduced preset is the narrow backbone of the STAR chapter with 2 blocks of width 64;
the full one is MC18 with 4 blocks of width 256 on 16 frames of $112\times112$ (the paper
does not give depth or width: our choice). Each attention's `score_pairs` counts the
query-key scores of the last forward (per sample and head); the table sets them against
full attention over every RGB token.
""")
code('''
def parts(net):
    count = lambda *modules: sum(count_parameters(m) for m in modules if m is not None)  # noqa: E731
    blocks = net.blocks
    return {"backbone": count(net.backbone),
            "token embeddings (projections, positions, cross tokens)": count(net.rgb_proj, net.pose_proj, net.cross)
            + net.frame_pos.numel() + net.space_pos.numel() + net.joint_pos.numel(),
            "3D deformable attention (incl. 3DTS)": count(*[b.deformable for b in blocks]),
            "joint stride attention": count(*[b.joint for b in blocks]),
            "temporal stride attention": count(*[b.temporal for b in blocks]),
            "norms and MLPs": count(*blocks) - count(*[b.deformable for b in blocks], *[b.joint for b in blocks],
                                                     *[b.temporal for b in blocks]),
            "head": count(net.norm, net.head)}


torch.manual_seed(SEED)
nets = {"reduced": default, "full": build_model("deformable3d", "full").eval()}
rows, info = [], {}
for size, net in nets.items():
    side = 48 if size == "reduced" else 112
    frames = torch.from_numpy(clip_frame_indices(16, net.num_frames))
    clip_rgb = torch.from_numpy(clip.rgb[frames.numpy()]).permute(0, 3, 1, 2).float()[None] / 255
    clip_rgb = F.interpolate(clip_rgb[0], size=(side, side), mode="bilinear", align_corners=False)[None]
    clip_pose = torch.from_numpy(clip.skeleton2d[frames.numpy(), 0])[None] / IMAGE
    start = time.perf_counter()
    with torch.no_grad():
        net(clip_rgb, clip_pose)
    seconds = time.perf_counter() - start
    total = count_parameters(net)
    assert sum(parts(net).values()) == total
    info[size] = dict(total=total, parts=parts(net), seconds=seconds)
    first = net.blocks[0]
    P, L = net.num_frames * net.feature_size**2, 2 * net.num_frames  # RGB tokens, cross tokens
    print(f"{size:7s}: {total:>11,} parameters | clip {tuple(clip_rgb.shape)} in {seconds:.2f} s | "
          f"{P:,} RGB tokens, deformable scores {first.deformable.score_pairs:,} vs full {(P + L) ** 2:,} "
          f"({first.deformable.score_pairs / (P + L) ** 2:.3f})")
display(Markdown("| part | reduced | full |\\n|---|---:|---:|\\n" + "\\n".join(
    f"| {name} | {info['reduced']['parts'][name]:,} | {info['full']['parts'][name]:,} |" for name in info["full"]["parts"])
    + f"\\n| **total** | **{info['reduced']['total']:,}** | **{info['full']['total']:,}** |"))
''')
md(r"""
### Choices where the paper is silent

No official code exists, and the paper leaves these open; the library's choices:

- **The 3DTS network** follows the deformable attention of vision transformers: depthwise
  convolution, a norm over channels and positions, GELU, a $1\times1\times1$ convolution,
  $\tanh$ times a range in cells. One set of offsets per head (group of channels), with
  shared weights.
- **Reference points every few cells**: $(1, 2, 2)$ in the reduced preset, $(2, 2, 2)$ in
  the full one. The paper's token counts are not given; the stride sets the cost.
- **Pose tokens** embed the coordinates relative to the clip's centre and spread (section
  20.2); the paper says only "embedded coordinates".
- **Cross tokens per frame**: one copy of the pair per frame joins that frame's joint
  windows (averaged over the windows) and its temporal windows; the head averages all
  copies. A single pair shared by all frames, averaged over every window and frame, was
  our first version: its differences between clips were about 0.3 % of its size at the
  start, and it learned far more slowly (the comment above the reduced preset in
  `deformable3d.py` gives the measurements).
- **Pre-norm blocks**, one MLP shared by all tokens of a block, and the RGB projection
  started at zero (section 20.2).
- **Depth and width of the full preset** (4 blocks, width 256, 8 heads) and its
  optimiser (AdamW $10^{-4}$, cosine, 100 epochs): ours.
""")
md(r"""
## Summary

- RGB tokens come from a mixed-convolution backbone; pose tokens embed each joint's
  coordinates; two **cross-modal tokens** join the RGB and the pose attentions and are
  what the head classifies.
- The **3D token search** predicts bounded $(t, y, x)$ offsets at reference points of the
  feature volume; the deformable tokens are the volume read trilinearly there (5-D
  `grid_sample`). With zero offsets they are the reference features.
- **3D deformable attention** uses the RGB and cross tokens as queries and the deformable
  and cross tokens as keys: the cost falls by the reference stride's volume.
- **Joint stride attention** and **temporal stride attention** attend inside sliding
  windows (of joints, of frames); outputs of overlapping windows are averaged, and
  stacking blocks widens what each token can reach.
- Every teaching version in this chapter matches the library module to floating-point
  tolerance.

## Exercises

1. Set `reference_stride=(1, 1, 1)` in section 20.5. How do the scores compare with full
   attention now, and why is the 3DTS still not the same as full attention?
2. Order the NTU joints so that each limb's joints are consecutive and the hand tips sit
   next to their hand (write the permutation). How does the band of section 20.6 change,
   and which joints can now exchange information in one layer?
3. In section 20.7, find the smallest number of stacked layers after which frame 8
   depends on frame 1 for strides 1, 2 and 4 (window 4).
4. Replace the $\tanh$ bound by no bound at all. What can go wrong with points far
   outside the volume (what does `grid_sample` read there), and what does that do to
   the gradients of the offset network?
5. Give each head its own offset network instead of sharing one across the groups. How
   many parameters does the reduced preset gain?
""")

nb = new_notebook(cells=cells, metadata={"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
                                         "language_info": {"name": "python"}})
nbformat.write(nb, "/work/main/notebooks/20_deformable3d_components.ipynb")

"""Writes notebooks/40_interact_dsmi.ipynb (without outputs)."""

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

cells = []
md = lambda s: cells.append(new_markdown_cell(s.strip("\n")))  # noqa: E731
code = lambda s, tags=None: cells.append(new_code_cell(s.strip("\n"), metadata={"tags": tags} if tags else {}))  # noqa: E731

md(r"""
# 40. InterAct: decoupled spatial modality interaction (DSMI)

[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/)

InterAct {cite}`interact2025` segments untrimmed recordings, given either as RGB frame
features or as skeletons. It has three stages:

1. a **frame-level encoder** turns each frame into a vector $X \in \mathbb{R}^{T \times C}$.
   For skeletons this is **DSMI**, the subject of this chapter. For I3D features there is
   no encoder: the features go straight on (the paper's InterAct$^*$);
2. **MFAI**, the temporal model. A coarse-to-fine encoder-decoder over time, whose
   decoder outputs at several resolutions are read in turn by a set of learnt *action
   queries* and one *boundary query*. The frames and the queries update each other
   ("frame-action interaction");
3. an **output head**: the class scores of a frame are dot products between its features
   and the action queries, its boundary score a dot product with the boundary query.
   At inference, boundary-based smoothing cleans the labels.

DSMI is a response to how earlier skeleton segmenters treat their inputs. From the joint
coordinates one can derive several **modalities**: the coordinates themselves, the
coordinates relative to the body's centre, and their change from frame to frame. The
usual practice stacks them as extra channels of every joint and runs one graph network
over the result. That is **early fusion**: from the first layer on, one set of graph
weights has to serve all three. DSMI keeps them apart. Each modality gets its own
multi-scale graph convolution, and the three results are only merged afterwards, in two
attention steps: relative into absolute, then motion into the result.

This chapter builds each piece of DSMI beside its equation and checks every teaching
version against the library, `actseg_lib/models/interact.py`: the $k$-hop adjacencies of
the skeleton graph (Eq. 1), the multi-scale graph convolution (Eq. 2), the three
modalities, and the interactive fusion (Eq. 3). It then compares DSMI with the
concatenation encoder that the paper uses as its ablation. Chapter 41 covers MFAI, the
losses and the smoothing; chapter 42 trains the model.

*Everything here runs on a CPU in seconds. Nothing is trained, so every attention map
shown is that of randomly initialised weights. The parts use the reduced preset's widths
whatever `SIZE` says; the full preset is only built and counted.*
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
from matplotlib.patches import Patch
from torch.nn import functional as F

from actseg_lib.data.prepare import prepare_segmentation
from actseg_lib.common.skeletons import NTU_EDGES, NTU_JOINTS, NUM_NTU_JOINTS
from actseg_lib.models import build_model, count_parameters, model_config
from actseg_lib.models.interact import (
    DSMI,
    ConcatSpatialEncoder,
    ModalityInteraction,
    MultiScaleGraphConv,
    hop_distances,
    joint_layout,
    k_adjacency,
    multiscale_adjacency,
    normalize_adjacency,
    skeleton_modalities,
)
from actseg_lib.viz import class_colors, plot_segment_bars, use_book_style

use_book_style()
torch.manual_seed(SEED)
np.random.seed(SEED)
torch.set_printoptions(precision=3, sci_mode=False)
PRESET = model_config("interact", "reduced")  # the widths every section below uses
REDUCED = PRESET["model"]
V = NUM_NTU_JOINTS  # joints of the NTU (Kinect v2) skeleton
C = REDUCED["spatial_channels"]  # channels of the graph convolutions and of the fusion
K = REDUCED["num_scales"]  # scales of Eq. 2
HEADS = REDUCED["heads"]
print(f"size {SIZE}; reduced preset: V = {V} joints, C = {C} channels, K = {K} scales, {HEADS} attention heads")
''')

# --- 40.1 -------------------------------------------------------------------------------
md(r"""
## 40.1 The input: one daily-life sequence, joint by joint

SynthAct's *daily* sequences are a stand-in for skeleton segmentation sets such as
PKU-MMD. One body performs everyday actions (drink water, sit down, wave, ...) with
stretches of *idle* in between, and a Kinect-style tracker records 25 NTU joints in 3D.
`prepare_segmentation` splits the sequences by subject. Each frame becomes a vector
$x_t \in \mathbb{R}^{75}$: the 25 joints in NTU order, three coordinates each.

Two things happen in the data pipeline, before any model sees the joints:

* every frame is **centred on the spine base**: the spine base's position in that frame
  is subtracted from every joint, so where the person stands in the room does not leak
  into the labels. The "absolute" modality below is therefore already anchored to the
  body; the spine base itself is zero in every frame;
* every one of the 75 channels is **standardised** with the training split's mean and
  standard deviation.

The model takes the preset's frame rate: every second frame, i.e. 15 frames a second.
The check below redoes both steps from the raw sample and compares.
""")
code(r'''
data = prepare_segmentation("synthact:daily", sample_rate=PRESET["data"]["sample_rate"], progress=False)
print("splits    ", {k: len(v) for k, v in data.splits.items()}, "sequences")
print("layout    ", data.layout, f"| {data.fps:g} frames a second")
print("classes   ", data.num_classes, "| background (left out of edit and F1):",
      [data.class_names[i] for i in data.background])
train = data.dataset("train")
item = train[0]
sample = data.samples[int(train.indices[0])]
x = item["x"][None]  # [1, T, 75] one standardised sequence
labels = item["labels"]  # [T]
T = x.shape[1]
joints = x.reshape(1, T, V, 3)  # [1, T, V, 3]: channel 3v + c is joint v's coordinate c

raw = sample.skeleton3d[:: data.sample_rate, 0]  # [T, V, 3] metres, body 0, the tracker's frame
centred = raw - raw[:, :1]  # minus the spine base (joint 0) of the same frame
standardised = (centred.reshape(T, -1) - data.mean) / np.maximum(data.std, 1e-6)  # per channel
torch.testing.assert_close(torch.from_numpy(standardised).float(), x[0])
print(f"\n{sample.name}: {T} frames = {T / data.fps:.0f} s; x {tuple(x.shape)} -> joints {tuple(joints.shape)}")
print(f"spine base after centring: max |value| = {float(joints[..., 0, :].abs().max())}")
STD = data.std.reshape(V, 3)  # [V, 3] metres
for name in ("spine_mid", "head", "right_hand"):
    print(f"std of {name:11s} over the training frames (x, y, z): {np.round(STD[NTU_JOINTS.index(name)], 3)} m")
NAMES = dict(enumerate(data.class_names))
COLORS = class_colors(range(data.num_classes))
segments = [(int(labels[a]), a, b) for a, b in zip(
    [0] + (torch.nonzero(labels[1:] != labels[:-1]).flatten() + 1).tolist(),
    (torch.nonzero(labels[1:] != labels[:-1]).flatten() + 1).tolist() + [T])]
print(f"{len(segments)} segments: " + ", ".join(NAMES[c] for c, _, _ in segments))
''')

# --- 40.2 -------------------------------------------------------------------------------
md(r"""
## 40.2 Eq. 1: joints $k$ bones apart

The skeleton is a graph: 25 joints, and an edge for each of the 24 bones of Kinect's
kinematic tree. Let $d(i, j)$ be the length, in bones, of the shortest path between
joints $i$ and $j$. The **$k$-adjacency** marks the pairs exactly $k$ bones apart, plus
every joint with itself:

$$
A^{(k)}_{ij} = \begin{cases} 1 & d(i, j) = k \ \text{ or }\ i = j, \\ 0 & \text{otherwise.} \end{cases}
\tag{1}
$$

The library calls SciPy's `shortest_path`. The teaching version runs Floyd–Warshall: start
from the bones, and for every joint $m$ let any path through $m$ shorten $d$,
$d(i, j) \leftarrow \min\big(d(i, j),\ d(i, m) + d(m, j)\big)$.
""")
code(r'''
def distances_by_hand(num_joints, edges):
    """[V, V] shortest path lengths in bones (Floyd-Warshall, one joint m at a time)."""
    d = np.full((num_joints, num_joints), np.inf)
    np.fill_diagonal(d, 0)
    for a, b in edges:
        d[a, b] = d[b, a] = 1
    for m in range(num_joints):
        d = np.minimum(d, d[:, m:m + 1] + d[m:m + 1, :])  # every pair may route through m
    return d


dist = distances_by_hand(V, NTU_EDGES)
np.testing.assert_array_equal(dist, hop_distances(V, NTU_EDGES))
diameter = int(dist.max())
far = [(NTU_JOINTS[i], NTU_JOINTS[j]) for i, j in zip(*np.nonzero(dist == diameter)) if i < j]
print(f"{len(NTU_EDGES)} bones; the graph's diameter (longest shortest path) is {diameter} bones, e.g. {far[0]}")
counts = {k: int((dist == k).sum()) // 2 for k in range(1, diameter + 1)}
display(Markdown("| $k$ | " + " | ".join(map(str, counts)) + " |\n|---|" + "---:|" * len(counts)
                 + "\n| joint pairs $k$ bones apart | " + " | ".join(map(str, counts.values())) + " |"))
''')
md(r"""
$A^{(k)}$ written out pair by pair, then compared with the library's `k_adjacency` for
every scale of the preset, $k = 1, \dots, K$. $A^{(1)}$ minus the self loops must be
exactly the bones.
""")
code(r'''
def k_adjacency_by_hand(d, k):
    A = np.zeros(d.shape, np.float32)
    for i in range(len(d)):
        for j in range(len(d)):
            if d[i, j] == k or i == j:
                A[i, j] = 1.0
    return A


A_by_hand = {k: k_adjacency_by_hand(dist, k) for k in range(1, K + 1)}
for k, A in A_by_hand.items():
    np.testing.assert_array_equal(A, k_adjacency(dist, k))
bones = {tuple(sorted((int(i), int(j)))) for i, j in zip(*np.nonzero(A_by_hand[1] - np.eye(V)))}
assert bones == {tuple(sorted(e)) for e in NTU_EDGES}
self_only = [k for k, A in A_by_hand.items() if np.array_equal(A, np.eye(V))]
assert self_only == list(range(diameter + 1, K + 1))  # exactly the scales beyond the diameter
print(f"A^(1) - I holds exactly the {len(bones)} bones")
print(f"scales k = 1..{K} that are the identity (no pair that far apart): {self_only}")
''')
md(r"""
The paper fixes $K = 13$ for every dataset. On the NTU skeleton no two joints are more
than the diameter apart (printed above), so for the scales beyond it $A^{(k)}$ is the
identity. Those scales carry no edge at all: they pass each joint's own coordinates on,
once more. Only their learnt correction $B^{(k)}$ of Eq. 2 can give them edges. The
library follows the paper's $K$ and keeps these scales.

The figure shows the distance matrix and a few of the $A^{(k)}$. Joints are in NTU order;
the limbs are the blocks of four along the diagonal.
""")
code(r'''
shown = [1, 2, 3, 6, diameter, K]
fig, axes = plt.subplots(1, len(shown) + 1, figsize=(13, 2.4))
im = axes[0].imshow(dist, cmap="magma_r")
axes[0].set_title("$d(i, j)$ in bones")
fig.colorbar(im, ax=axes[0], fraction=0.046)
for ax, k in zip(axes[1:], shown):
    ax.imshow(A_by_hand[k], cmap="Greys", vmin=0, vmax=1)
    ax.set_title(f"$A^{{({k})}}$: {int(A_by_hand[k].sum() - V)} off-diagonal")
for ax in axes:
    ax.set_xticks([0, 4, 8, 12, 16, 20, 24])
    ax.set_yticks([0, 4, 8, 12, 16, 20, 24])
    ax.tick_params(labelsize=6)
axes[0].set_ylabel("joint $i$")
plt.tight_layout()
plt.show()
print("joint order:", ", ".join(f"{i} {n}" for i, n in enumerate(NTU_JOINTS)))
''')
md(r"""
Each $A^{(k)}$ is **normalised** symmetrically, as in ST-GCN. With $D$ the diagonal
degree matrix, self loop included,

$$
\hat A^{(k)} = D^{-1/2} A^{(k)} D^{-1/2}, \qquad D_{ii} = \sum_j A^{(k)}_{ij},
\qquad \hat A^{(k)}_{ij} = \frac{A^{(k)}_{ij}}{\sqrt{D_{ii} D_{jj}}} .
$$

A joint with many neighbours at distance $k$ thus hears each of them more quietly. The
matrix stays symmetric. `multiscale_adjacency` stacks $\hat A^{(1)}, \dots, \hat A^{(K)}$
into the fixed $[K, V, V]$ buffer of the graph convolution.
""")
code(r'''
A_hat_by_hand = []
for k in range(1, K + 1):
    A = A_by_hand[k]
    D_inv_sqrt = np.diag(A.sum(1) ** -0.5)
    A_hat_by_hand.append(D_inv_sqrt @ A @ D_inv_sqrt)
    np.testing.assert_allclose(A_hat_by_hand[-1], normalize_adjacency(A), rtol=1e-6)
A_hat = multiscale_adjacency(V, NTU_EDGES, K)  # [K, V, V]
torch.testing.assert_close(A_hat, torch.from_numpy(np.stack(A_hat_by_hand)).float())
torch.testing.assert_close(A_hat, A_hat.transpose(1, 2))
j = NTU_JOINTS.index("spine_shoulder")
row = A_hat[0, j]
print(f"A-hat {tuple(A_hat.shape)}; row of spine_shoulder at k = 1 (degree {int(A_by_hand[1][j].sum())} "
      f"with itself): " + ", ".join(f"{NTU_JOINTS[i]} {float(row[i]):.3f}" for i in torch.nonzero(row).flatten()))
''')

# --- 40.3 -------------------------------------------------------------------------------
md(r"""
## 40.3 Eq. 2: the multi-scale graph convolution

Write one frame of one modality as a matrix $\mathcal V \in \mathbb{R}^{C_{in} \times V}$,
one column per joint. Multiplying by an adjacency on the right, $\mathcal V \hat A^{(k)}$,
gives each joint a weighted sum of the joints $k$ bones away and of itself. Eq. 2 does
this at every scale, adds a learnt $V \times V$ matrix $B^{(k)}$ to each fixed
$\hat A^{(k)}$, concatenates the $K$ results and maps them with $W$ and an MLP:

$$
S = \mathrm{MLP}\Big( W\, \mathcal V \big[ (\hat A^{(1)} + B^{(1)}) \,\|\, \cdots \,\|\,
(\hat A^{(K)} + B^{(K)}) \big] \Big) . \tag{2}
$$

Per joint $v$ this reads

$$
g_{v,k} = \sum_u \big(\hat A^{(k)} + B^{(k)}\big)_{uv}\, \mathcal V_{:,u} \in \mathbb{R}^{C_{in}}, \qquad
S_{:,v} = \mathrm{MLP}\big( W [g_{v,1} \,\|\, \cdots \,\|\, g_{v,K}] + b \big) \in \mathbb{R}^{C},
$$

so $W \in \mathbb{R}^{C \times K C_{in}}$ is shared by all joints and frames. In the
library, `adjacency` is the fixed $\hat A$, `learned` is $B$ (zero at the start),
`weight` is $W$ and `mlp` is ReLU, Linear$(C, C)$, ReLU.
The paper does not spell out the MLP; that one is the library's choice.

The check fills $B$ with small random values so that it is tested too. The input is the
sequence's absolute joints, $C_{in} = 3$.
""")
code(r'''
def graph_conv_by_hand(conv, v):
    """Eq. 2 for v [N, T, V, C_in] -> S [N, T, V, C], with the module's own A-hat, B, W and MLP."""
    A = conv.adjacency + conv.learned  # [K, V, V]  A-hat^(k) + B^(k)
    gathered = [torch.einsum("ntuc,uv->ntvc", v, A[k]) for k in range(len(A))]  # K x [N, T, V, C_in]
    stacked = torch.cat(gathered, dim=-1)  # [N, T, V, K C_in]: scale by scale, as the || of Eq. 2
    h = stacked @ conv.weight.weight.T + conv.weight.bias  # W: [N, T, V, C]
    hidden = conv.mlp[1]
    return torch.relu(torch.relu(h) @ hidden.weight.T + hidden.bias)  # MLP: ReLU, Linear, ReLU


torch.manual_seed(SEED)
gconv = MultiScaleGraphConv(3, C, A_hat)
print("parameters:", {name: tuple(p.shape) for name, p in gconv.named_parameters()},
      "| buffer adjacency", tuple(gconv.adjacency.shape))
assert float(gconv.learned.detach().abs().max()) == 0.0  # B starts at zero
with torch.no_grad():
    gconv.learned.normal_(0.0, 0.05)
    S_abs = gconv(joints)
    torch.testing.assert_close(graph_conv_by_hand(gconv, joints), S_abs)
print(f"joints {tuple(joints.shape)} -> S {tuple(S_abs.shape)}   # [N, T, V, C_in] -> [N, T, V, C]")
''')
md(r"""
**Receptive field.** While $B = 0$, a joint's output depends only on the joints at most $K$
bones away, because the union of $A^{(1)}, \dots, A^{(K)}$ holds exactly those pairs.
The check below adds 1 to one joint (the spine shoulder, where the arms meet the
trunk) and marks every joint whose output
moves, for $K = 1, 2, 3$. A nonzero $B$ entry is an edge the skeleton does not have. The
last panel sets $B^{(1)}_{uv} = 0.5$ with $u$ the spine shoulder and $v$ the right hand,
three bones away, and with that the right hand reads the spine shoulder already at
$K = 1$. $B$ need not be symmetric, so the spine shoulder still does not read the right
hand.
""")
code(r'''
BUMPED = NTU_JOINTS.index("spine_shoulder")
OTHER = NTU_JOINTS.index("right_hand")
frame = joints[:, :1]  # [1, 1, V, 3] the first frame


def changed_by_bump(conv, joint):
    """[V] bool: whose output changes when `joint` moves by 1 in every coordinate."""
    bumped = frame.clone()
    bumped[..., joint, :] += 1.0
    with torch.no_grad():
        return ((conv(bumped) - conv(frame)).abs().amax(-1)[0, 0] > 1e-6).numpy()


reach = {}
for k in (1, 2, 3):
    torch.manual_seed(SEED)
    conv_k = MultiScaleGraphConv(3, C, multiscale_adjacency(V, NTU_EDGES, k))  # B = 0
    reach[f"K = {k}"] = changed_by_bump(conv_k, BUMPED)
    np.testing.assert_array_equal(reach[f"K = {k}"], dist[BUMPED] <= k)  # exactly the k-hop ball
with torch.no_grad():
    conv_k = MultiScaleGraphConv(3, C, multiscale_adjacency(V, NTU_EDGES, 1))
    conv_k.learned[0, BUMPED, OTHER] = 0.5  # B^(1)_uv: joint v (right hand) reads joint u (spine shoulder)
reach["K = 1, one B entry"] = changed_by_bump(conv_k, BUMPED)
assert dist[BUMPED, OTHER] > 1 and reach["K = 1, one B entry"][OTHER] and not changed_by_bump(conv_k, OTHER)[BUMPED]
for name, flags in reach.items():
    print(f"{name:19s}: {int(flags.sum()):2d} joints change: {', '.join(NTU_JOINTS[i] for i in np.nonzero(flags)[0])}")
print(f"at K = {K} (the preset), every joint reaches all {V}: the diameter is {diameter}")
''')
code(r'''
pose = centred[0]  # [V, 3] metres, the first frame; x to the side, y up
fig, axes = plt.subplots(1, len(reach), figsize=(10, 3.4), sharey=True)
for ax, (name, flags) in zip(axes, reach.items()):
    for a, b in NTU_EDGES:
        ax.plot(pose[[a, b], 0], pose[[a, b], 1], color="#bbbbbb", lw=1.5, zorder=1)
    ax.scatter(pose[~flags, 0], pose[~flags, 1], s=14, color="#bbbbbb", zorder=2)
    ax.scatter(pose[flags, 0], pose[flags, 1], s=22, color="C3", zorder=3, label="output changes")
    ax.scatter(pose[BUMPED, 0], pose[BUMPED, 1], s=120, marker="*", color="k", zorder=4, label="moved joint")
    if name.endswith("B entry"):
        ax.annotate("", pose[OTHER, :2], pose[BUMPED, :2], arrowprops=dict(arrowstyle="->", color="C0", lw=1.2))
    ax.set_title(f"{name}: {int(flags.sum())} joints", fontsize=9)
    ax.set_aspect("equal")
    ax.axis("off")
handles, names = axes[0].get_legend_handles_labels()
fig.legend(handles, names, fontsize=8, loc="lower center", ncol=2)
fig.suptitle("whose output moves when the spine shoulder moves (untrained convolution, seen from the front)",
             fontsize=10)
plt.tight_layout()
plt.show()
''')

# --- 40.4 -------------------------------------------------------------------------------
md(r"""
## 40.4 Three modalities from one skeleton

DSMI derives two more modalities from the joints $x_{t,v}$. With $c$ the body's centre
(the library's choice, where the paper does not name a joint: the spine middle, NTU
joint 1):

$$
\text{absolute: } x_{t,v}, \qquad
\text{relative: } x_{t,v} - x_{t,c}, \qquad
\text{motion: } x_{t,v} - x_{t-1,v} \quad (0 \text{ at } t = 0).
$$

All three have the shape of the joints, $[N, T, V, 3]$.
""")
code(r'''
CENTRE = NTU_JOINTS.index("spine_mid")


def modalities_by_hand(j):
    relative = j - j[:, :, CENTRE:CENTRE + 1]  # every joint minus the spine middle of its frame
    motion = torch.zeros_like(j)
    motion[:, 1:] = j[:, 1:] - j[:, :-1]  # frame differences; the first frame has none
    return j, relative, motion


for mine, theirs in zip(modalities_by_hand(joints), skeleton_modalities(joints, CENTRE)):
    torch.testing.assert_close(mine, theirs)
absolute, relative, motion = skeleton_modalities(joints, CENTRE)
print({name: tuple(m.shape) for name, m in zip(("absolute", "relative", "motion"), (absolute, relative, motion))})
''')
md(r"""
The modalities are computed from the *standardised* coordinates the model receives. For
motion that changes nothing but a scale: the difference of two standardised values of
one channel is the difference in metres divided by that channel's standard deviation.
The relative modality is different. It subtracts one channel from *another*, and each
was divided by its own standard deviation. The spine middle barely moves relative to the
spine base (its standard deviation is printed in 40.1), so standardising magnifies its
small sway to unit size. The result is correlated with the geometric offset from the
spine middle, but not proportional to it. The cell measures both statements on this
sequence.
""")
code(r'''
raw_joints = torch.from_numpy(centred).float()[None]  # [1, T, V, 3] metres (spine base at 0)
std = torch.from_numpy(np.maximum(STD, 1e-6)).float()  # [V, 3]
_, raw_relative, raw_motion = modalities_by_hand(raw_joints)
torch.testing.assert_close(motion, raw_motion / std)  # motion: metres per frame, rescaled per channel
corr = np.array([[np.corrcoef(relative[0, :, v, c], raw_relative[0, :, v, c])[0, 1] for c in range(3)]
                 for v in range(V) if v not in (0, CENTRE)])  # the spine base and middle left out
print("motion (standardised) == motion in metres / channel std: exact")
print(f"relative (standardised) vs the geometric offset from the spine middle, correlation over "
      f"{corr.size} channels: median {np.median(corr):.2f}, range {corr.min():.2f}..{corr.max():.2f}")
''')
md(r"""
Three joints over a stretch of the sequence, in each modality: their height $y$
(standardised). The bar on top gives the action labels. The relative curves follow the
absolute ones, shifted, but are noisier: each carries the spine middle's small sway,
magnified by the standardisation. Motion is near zero while the body is still and peaks
when a joint moves fast, at the start and end of an action.
""")
code(r'''
WINDOW = int(30 * data.fps)  # 30 seconds
starts = range(0, T - WINDOW, int(data.fps))
lo = max(starts, key=lambda s: len(set(labels[s:s + WINDOW].tolist())))  # the stretch with the most actions
hi = lo + WINDOW
shown_joints = ["head", "right_hand", "left_foot"]
fig, axes = plt.subplots(4, 1, figsize=(8, 6.4), sharex=True, gridspec_kw={"height_ratios": [0.5, 1, 1, 1]})
plot_segment_bars({"action": labels[lo:hi].numpy()}, ax=axes[0], colors=COLORS, class_names=NAMES,
                  background=data.background, legend=False)
axes[0].set_xlabel("")
present = sorted(set(labels[lo:hi].tolist()) - set(data.background))
axes[0].legend(handles=[Patch(color=COLORS[c], label=NAMES[c]) for c in present], fontsize=7, ncol=len(present),
               loc="lower center", bbox_to_anchor=(0.5, 1.0))
frames = np.arange(hi - lo)
for ax, (name, m) in zip(axes[1:], (("absolute", absolute), ("relative", relative), ("motion", motion))):
    for k, joint in enumerate(shown_joints):
        ax.plot(frames, m[0, lo:hi, NTU_JOINTS.index(joint), 1], lw=0.9, color=f"C{k}", label=joint)
    ax.set_ylabel(f"{name}\n$y$ (std.)")
axes[1].legend(fontsize=7, ncol=3, loc="upper right")
axes[-1].set_xlabel(f"frame (from {lo}; {data.fps:g} a second)")
axes[0].set_title(f"{sample.name}: three joints' height in the three modalities (grey: idle)", pad=22)
plt.tight_layout()
plt.show()
''')

# --- 40.5 -------------------------------------------------------------------------------
md(r"""
## 40.5 Eq. 3: fusing the modalities by attention

Each modality now has its own graph convolution (the **decoupled** part) and gives its
own $S \in \mathbb{R}^{T \times V \times C}$. DSMI merges them in two steps, the absolute
features acting as the reference:

$$
\hat X = \mathrm{MLP}\big(\mathrm{SAttn}([S_{\text{abs}} \,\|\, S_{\text{rel}}])\big), \qquad
X = \mathrm{MLP}\big(\mathrm{SAttn}([\hat X \,\|\, S_{\text{motion}}])\big). \tag{3}
$$

The paper leaves the tokens of the self-attention open. The library's reading (its
docstring lists it among its choices) works frame by frame. The $V$ joint features of
both inputs are $2V$ tokens of width $C$. A learnt embedding $E \in \mathbb{R}^{2V \times C}$
tells attention which joint and which modality each token is. A pre-norm residual
attention layer lets every token read all $2V$. An MLP then merges each joint's two
tokens into one. For one frame, with $Z \in \mathbb{R}^{2V \times C}$,

$$
Z = \begin{bmatrix} S_{\text{ref}} \\ S_{\text{other}} \end{bmatrix} + E, \qquad
Z' = Z + \mathrm{SAttn}\big(\mathrm{LN}(Z)\big), \qquad
X_v = \mathrm{MLP}\big([\, Z'_v \,\|\, Z'_{V+v} \,]\big) \in \mathbb{R}^{C},
$$

with $\mathrm{MLP}$ = LayerNorm$(2C)$, Linear$(2C, C)$, GELU, Linear$(C, C)$. The
self-attention has $h$ heads of width $d = C / h$:

$$
\mathrm{SAttn}(H) = \big[\, \mathrm{softmax}\big(Q_i K_i^\top / \sqrt d\big) V_i \,\big]_{i=1}^{h} W_o + b_o,
\qquad [Q, K, V] = H\, [W_q, W_k, W_v] .
$$

The teaching version writes all of this with the parameters of the library's
`ModalityInteraction`: `embedding`, `norm`, the `CrossAttention` used as self-attention
(`to_q`, `to_kv`, `to_out`), and `mlp`.
""")
code(r'''
def interaction_by_hand(step, reference, other):
    """One step of Eq. 3: [N, T, V, C] x 2 -> [N, T, V, C], and the attention weights [N T, h, 2V, 2V]."""
    N, T_, V_, C_ = reference.shape
    Z = torch.cat([reference, other], dim=2).reshape(N * T_, 2 * V_, C_) + step.embedding  # [NT, 2V, C]
    H = F.layer_norm(Z, (C_,), step.norm.weight, step.norm.bias, step.norm.eps)
    attn = step.attention
    h = attn.heads
    q = H @ attn.to_q.weight.T  # [NT, 2V, h d]
    k_, v_ = (H @ attn.to_kv.weight.T).chunk(2, dim=-1)
    split = lambda t: t.reshape(N * T_, 2 * V_, h, -1).transpose(1, 2)  # noqa: E731  [NT, h, 2V, d]
    q, k_, v_ = split(q), split(k_), split(v_)
    weights = torch.softmax(q @ k_.transpose(-1, -2) / math.sqrt(q.shape[-1]), dim=-1)  # [NT, h, 2V, 2V]
    read = (weights @ v_).transpose(1, 2).reshape(N * T_, 2 * V_, -1)  # heads side by side: [NT, 2V, h d]
    Z = Z + read @ attn.to_out.weight.T + attn.to_out.bias  # residual
    pairs = torch.cat([Z[:, :V_], Z[:, V_:]], dim=-1).reshape(N, T_, V_, 2 * C_)  # joint v: [ref_v || other_v]
    ln, lin1, lin2 = step.mlp[0], step.mlp[1], step.mlp[3]
    out = F.gelu(F.layer_norm(pairs, (2 * C_,), ln.weight, ln.bias, ln.eps) @ lin1.weight.T + lin1.bias)
    return out @ lin2.weight.T + lin2.bias, weights


torch.manual_seed(SEED)
fuse = ModalityInteraction(C, V, HEADS).eval()
S_ref, S_other = torch.randn(2, 1, 40, V, C).unbind(0)  # two [1, 40, V, C] inputs
with torch.no_grad():
    fused_by_hand, _ = interaction_by_hand(fuse, S_ref, S_other)
    torch.testing.assert_close(fused_by_hand, fuse(S_ref, S_other))
print(f"{tuple(S_ref.shape)} + {tuple(S_other.shape)} -> {2 * V} tokens a frame -> {tuple(fused_by_hand.shape)}")
print(f"attention: {fuse.attention.heads} heads of width {fuse.attention.to_q.out_features // fuse.attention.heads}")
''')
md(r"""
**The whole of DSMI.** Cut the frame vector into joints, derive the three modalities,
run one graph convolution per modality (three separate sets of weights), fuse relative
into absolute, then motion into the result, and flatten the $V$ fused joint vectors of a
frame into $X_{\text{skeleton}} = W_p\, \mathrm{vec}(X) + b_p \in \mathbb{R}^{C}$ (the
library's `project`). The module is built as `InterAct` builds it for the reduced
preset. Its `learned` matrices are filled with small random values again, so that the
check covers them.
""")
code(r'''
def dsmi_by_hand(model, x):
    """x [N, T, 75] -> X_skeleton [N, T, C], and the two fusion steps' attention weights."""
    N, T_, _ = x.shape
    j = x.reshape(N, T_, V, 3)
    S = {name: graph_conv_by_hand(model.graph_convs[name], m)
         for name, m in zip(("absolute", "relative", "motion"), modalities_by_hand(j))}
    X_hat, w_rel = interaction_by_hand(model.fuse_relative, S["absolute"], S["relative"])
    X, w_mot = interaction_by_hand(model.fuse_motion, X_hat, S["motion"])
    return X.flatten(2) @ model.project.weight.T + model.project.bias, (w_rel, w_mot)


torch.manual_seed(SEED)
dsmi = DSMI(data.in_channels, C, C, K, "ntu", HEADS).eval()  # as InterAct(spatial="dsmi") builds it
assert count_parameters(dsmi) == count_parameters(build_model("interact", "reduced").spatial)
with torch.no_grad():
    for conv in dsmi.graph_convs.values():
        conv.learned.normal_(0.0, 0.05)
    for step in (dsmi.fuse_relative, dsmi.fuse_motion):
        step.attention.record_weights = True  # keep this pass's attention weights (for the figure below)
    X_skeleton = dsmi(x)
    X_by_hand, (w_rel, w_mot) = dsmi_by_hand(dsmi, x)
    torch.testing.assert_close(X_by_hand, X_skeleton)
    for name, S in dsmi.modality_features(x).items():
        torch.testing.assert_close(S, graph_conv_by_hand(dsmi.graph_convs[name], dict(zip(
            ("absolute", "relative", "motion"), modalities_by_hand(joints)))[name]))
print(f"x {tuple(x.shape)} -> S_abs, S_rel, S_motion {tuple(S.shape)} each -> X_skeleton {tuple(X_skeleton.shape)}")
distinct = {id(p) for c in dsmi.graph_convs.values() for p in c.parameters()}
assert len(distinct) == 3 * len(list(dsmi.graph_convs["absolute"].parameters()))  # decoupled: nothing shared
print(f"the three graph convolutions hold {len(distinct)} distinct parameter tensors, none shared")
''')
md(r"""
**What the fusion attends to, untrained.** The library's attention keeps its weights when
asked (`record_weights`, set before the pass above); they must equal the teaching
version's softmax. Below, for one
frame in the middle of an action, the weights of both fusion steps, averaged over the
heads. Rows are the reading tokens, columns the tokens read. The lines split the $2V$
tokens into the two inputs. These weights come from random initial parameters and show
no learnt pattern: the per-block shares printed below are close to one half. Chapter 42
trains the model.
""")
code(r'''
torch.testing.assert_close(dsmi.fuse_relative.attention.last_weights, w_rel)
torch.testing.assert_close(dsmi.fuse_motion.attention.last_weights, w_mot)
action_frames = torch.nonzero(labels != data.background[0]).flatten()
t = int(action_frames[len(action_frames) // 2])
short = [n.replace("left_", "L ").replace("right_", "R ").replace("spine_", "sp ") for n in NTU_JOINTS]
fig, axes = plt.subplots(1, 2, figsize=(11, 5.2))
for ax, w, (a, b) in zip(axes, (w_rel, w_mot), (("abs", "rel"), ("X-hat", "motion"))):
    im = ax.imshow(w[t].mean(0), cmap="viridis")
    ax.axhline(V - 0.5, color="w", lw=1)
    ax.axvline(V - 0.5, color="w", lw=1)
    ticks = [f"{a}: {n}" for n in short] + [f"{b}: {n}" for n in short]
    ax.set_xticks(range(2 * V)[::3], ticks[::3], rotation=90, fontsize=5)
    ax.set_yticks(range(2 * V)[::3], ticks[::3], fontsize=5)
    ax.set_title(f"[{a} || {b}], frame {t} ({NAMES[int(labels[t])]})", fontsize=9)
    fig.colorbar(im, ax=ax, fraction=0.046)
fig.suptitle("fusion attention of the UNTRAINED DSMI (mean over heads); rows read columns", fontsize=10)
plt.tight_layout()
plt.show()
for name, w in (("abs || rel", w_rel), ("X-hat || motion", w_mot)):
    blocks = w.mean((0, 1))  # [2V, 2V] averaged over frames and heads
    share = blocks[:V, :V].sum(1).mean(), blocks[V:, V:].sum(1).mean()
    print(f"{name:15s}: a first-half token puts {float(share[0]):.2f} of its weight on the first half, "
          f"a second-half token {float(share[1]):.2f} on the second half (uniform: 0.50)")
    assert all(0.35 < float(v) < 0.65 for v in share)  # what the prose says: no learnt preference
''')

# --- 40.6 -------------------------------------------------------------------------------
md(r"""
## 40.6 The alternative: concatenate, then one graph convolution

The paper's Table 4 compares three ways to encode the skeleton: none (the flattened
joints go straight to MFAI), **concatenation** and DSMI. Concatenation is the early
fusion of earlier work. It stacks the three modalities as the channels of each joint
($C_{in} = 9$) and runs *one* multi-scale graph convolution, with one $B$ and one MLP. No
attention follows; the same `project` map gives $X_{\text{skeleton}}$. The library's
`ConcatSpatialEncoder` does this, with the graph convolution of Eq. 2 reused as is:

$$
X_{\text{skeleton}} = W_p\, \mathrm{vec}\Big(\mathrm{GraphConv}\big([\text{absolute} \,\|\,
\text{relative} \,\|\, \text{motion}]\big)\Big) + b_p .
$$
""")
code(r'''
def concat_by_hand(model, x):
    N, T_, _ = x.shape
    stacked = torch.cat(modalities_by_hand(x.reshape(N, T_, V, 3)), dim=-1)  # [N, T, V, 9]
    S = graph_conv_by_hand(model.graph_conv, stacked)  # [N, T, V, C]
    return S.flatten(2) @ model.project.weight.T + model.project.bias


torch.manual_seed(SEED)
concat = ConcatSpatialEncoder(data.in_channels, C, C, K, "ntu").eval()
with torch.no_grad():
    concat.graph_conv.learned.normal_(0.0, 0.05)
    torch.testing.assert_close(concat_by_hand(concat, x), concat(x))
print(f"x {tuple(x.shape)} -> stacked {tuple(torch.cat(modalities_by_hand(joints), -1).shape)} "
      f"-> X_skeleton {tuple(concat(x).shape)}")
''')
md(r"""
What the two encoders cost, per part. The rows are the spatial encoder of `InterAct`
built with `spatial="dsmi"`, `"concat"` and `"none"`, for the reduced preset and the full
one. The full preset reads PKU-MMD's two bodies (150 channels, 40.7) and is small enough
to build on a CPU.
""")
code(r'''
def parts(spatial):
    """Trainable parameters of a spatial encoder, by part."""
    if spatial is None:
        return {}
    if isinstance(spatial, DSMI):
        convs = spatial.graph_convs.values()
        return {"B (learnt adjacencies)": sum(c.learned.numel() for c in convs),
                "W + MLP": sum(count_parameters(c) - c.learned.numel() for c in convs),
                "fusion (Eq. 3)": count_parameters(spatial.fuse_relative) + count_parameters(spatial.fuse_motion),
                "project": count_parameters(spatial.project)}
    return {"B (learnt adjacencies)": spatial.graph_conv.learned.numel(),
            "W + MLP": count_parameters(spatial.graph_conv) - spatial.graph_conv.learned.numel(),
            "fusion (Eq. 3)": 0, "project": count_parameters(spatial.project)}


rows = []
for size in ("reduced", "full"):
    for spatial in ("dsmi", "concat", "none"):
        torch.manual_seed(SEED)
        model = build_model("interact", size, spatial=spatial)
        p = parts(model.spatial)
        encoder = count_parameters(model.spatial) if model.spatial is not None else 0
        assert sum(p.values()) == encoder
        rows.append((size, spatial, p, encoder, count_parameters(model)))
columns = list(parts(dsmi))
display(Markdown("| preset | spatial | " + " | ".join(columns) + " | encoder | whole model |\n|---|---|"
                 + "---:|" * (len(columns) + 2) + "\n" + "\n".join(
                     f"| {size} | `{spatial}` | " + " | ".join(f"{p.get(c, 0):,}" for c in columns)
                     + f" | {enc:,} | {total:,} |" for size, spatial, p, enc, total in rows)))
for size in ("reduced", "full"):
    r = {spatial: (p, enc, total) for s, spatial, p, enc, total in rows if s == size}
    print(f"{size:7s}: DSMI adds {r['dsmi'][1] - r['concat'][1]:,} parameters over concatenation "
          f"({r['dsmi'][2] / r['concat'][2] - 1:+.1%} of the whole model); "
          f"B is {r['dsmi'][0]['B (learnt adjacencies)'] / r['dsmi'][1]:.0%} of DSMI")
''')
md(r"""
Read from the table, the two encoders differ in three ways:

* **Adjacencies.** DSMI learns a $B$ per modality, three $[K, V, V]$ tensors against
  concatenation's one. On the reduced preset these adjacencies are the bulk of DSMI (the
  share is printed above), because $K V^2$ does not shrink with the channel width.
* **The first linear map.** Concatenation's $W$ reads $3 K C_{in}$ inputs; DSMI has three
  $W$ of $K C_{in}$ each. The weight counts are nearly the same, but concatenation's $W$
  mixes modalities from its first layer, while DSMI's keep them apart until Eq. 3.
* **Fusion.** Only DSMI has the attention steps. In them a joint of one modality can
  read *any* joint of the other, whatever their distance in the skeleton.

In the paper's Table 4 (PKU-MMD, cross-subject), both encoders beat using none, and DSMI
is ahead of concatenation on every metric but one, F1@50, where the two tie. The margins
are small. Chapter 42 trains all three arms on SynthAct.
""")

# --- 40.7 -------------------------------------------------------------------------------
md(r"""
## 40.7 Several bodies

PKU-MMD's rows hold two bodies: $2 \times 25 \times 3 = 150$ numbers a frame (the second
body is zero when only one person is there). DSMI keeps the 25-joint graph and reads the
bodies as extra **channels of each joint**: joint $v$ gets $[x, y, z]$ of body 1 followed
by $[x, y, z]$ of body 2, so $C_{in} = 6$. `joint_layout(channels, joints)` works out
(bodies, coordinates) from the width. A width that fits no layout is refused with a
message that names the fix.
""")
code(r'''
for width in (75, 50, 150):
    print(f"joint_layout({width}, {V}) -> (bodies, coordinates) = {joint_layout(width, V)}")
try:
    joint_layout(76, V)
except ValueError as error:
    print(f"joint_layout(76, {V}): ValueError: {error}")
try:
    build_model("interact", "reduced", in_channels=76)
except ValueError as error:
    print(f"build_model(..., in_channels=76): ValueError: {error}")
''')
md(r"""
Two bodies by hand: body 2 is the same sequence mirrored left-right (an imitation of a
second person, for shape only). The frame vector is body 1's 75 numbers, then body 2's.
Regrouped per joint, each body's relative modality is measured from *its own* spine
middle, because the subtraction happens channel by channel. Note what this layout means
for a graph model: the two people's right hands are one node of the graph, so $B$ cannot
learn an edge between them. Only $W$ mixes them, joint by joint.
""")
code(r'''
second = joints * torch.tensor([-1.0, 1.0, 1.0])  # [1, T, V, 3] a mirrored "second body"
x2 = torch.cat([joints.flatten(2), second.flatten(2)], dim=-1)  # [1, T, 150]: body 1, then body 2
per_joint = x2.reshape(1, T, 2, V, 3).permute(0, 1, 3, 2, 4).flatten(3)  # [1, T, V, 6]: per joint, body by body
torch.manual_seed(SEED)
dsmi2 = DSMI(150, C, C, K, "ntu", HEADS).eval()
with torch.no_grad():
    S2 = dsmi2.modality_features(x2)
    for name, m in zip(("absolute", "relative", "motion"), modalities_by_hand(per_joint)):
        torch.testing.assert_close(S2[name], graph_conv_by_hand(dsmi2.graph_convs[name], m))
_, rel2, _ = modalities_by_hand(per_joint)
torch.testing.assert_close(rel2[..., 3:], second - second[:, :, CENTRE:CENTRE + 1])  # body 2 from its own centre
print(f"x {tuple(x2.shape)} -> joints {tuple(per_joint.shape)} -> S per modality {tuple(S2['absolute'].shape)} "
      f"-> X_skeleton {tuple(dsmi2(x2).shape)}")
''')

md(r"""
## Summary

- DSMI is InterAct's frame-level encoder for skeletons. It turns $[T, V \cdot 3]$ joints
  into $[T, C]$ frame features for MFAI, and it replaces early fusion (modalities
  stacked as channels under one graph network) by one graph convolution per modality
  followed by fusion through attention.
- **Eq. 1**: $A^{(k)}$ links the joints exactly $k$ bones apart, plus every joint with
  itself, and is normalised as $D^{-1/2} A D^{-1/2}$. The NTU skeleton's diameter is
  smaller than the paper's $K = 13$, so the last scales are identities and only their
  learnt $B^{(k)}$ can give them edges.
- **Eq. 2**: every joint gathers its $k$-hop neighbours at every scale, and the $K$
  gathered vectors go through $W$ and an MLP. With $B = 0$ a joint reads exactly the
  joints within $K$ bones; one nonzero entry of $B$ adds a directed edge.
- **Modalities**: absolute (already centred on the spine base by the data pipeline),
  relative to the spine middle, and frame-to-frame motion. Because the inputs are
  standardised per channel, motion is an exact rescaling of metres per frame, while
  relative is only correlated with the geometric offset.
- **Eq. 3**: per frame, $2V$ joint tokens (two inputs, with joint and modality
  embeddings) attend to each other, and an MLP merges each joint's pair. Two such steps
  fuse relative, then motion, into the absolute features. Untrained, the attention is
  spread evenly over both inputs.
- Against **concatenation**, DSMI costs extra parameters (three $B$ tensors and the
  fusion, counted in 40.6) and keeps the modalities apart until the fusion.
- Every teaching version in this chapter matches the library to floating-point
  tolerance.

## Exercises

1. Build `DSMI` with `num_scales` equal to the skeleton's diameter instead of 13. How many
   parameters does that save on the reduced preset, and which of them? For an input with
   $B = 0$, which outputs of the graph convolution are then guaranteed to change, and
   which to stay the same?
2. Section 40.4 found that the standardised relative modality is only correlated with
   the geometric offset. Standardise with one standard deviation per coordinate axis,
   shared by all joints (compute it from the training split), and repeat the measurement.
   Why does the relative modality then become an exact rescaling?
3. Eq. 3 is not symmetric. Call `dsmi.fuse_relative(S_rel, S_abs)` with the arguments
   swapped and measure how much $X_{\text{skeleton}}$ changes. Which parameters break the
   symmetry?
4. Set `embedding` of both fusion steps to zero. Show that permuting the joints of both
   inputs of a `ModalityInteraction` by one permutation permutes its output the same way.
   What does that say about the attention without the embedding, and which layer of DSMI
   still knows the joint order?
5. In the two-body layout of 40.7, what can a graph convolution learn about the
   *interaction* of the two people, and what can it not? Sketch a graph with $2V$ nodes
   that would let $B$ link one person's hand to the other's. What would it change in
   `joint_layout` and the `[K, V, V]` buffers?
""")

KERNEL = {"display_name": "Python 3", "language": "python", "name": "python3"}
nb = new_notebook(cells=cells, metadata={"kernelspec": KERNEL, "language_info": {"name": "python"}})
nbformat.write(nb, "/work/main/notebooks/40_interact_dsmi.ipynb")

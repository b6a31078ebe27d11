"""SigFormer (Liu et al., 2023): dense and sparse signals fused by sparse-guided masked
attention, with boundary-aware branches, for multi-modal action segmentation.

The data flow, one token per second (``N`` seconds, ``D`` the fused width)::

    IMU [T, 4x3] --SecondTokenizer--> [N, d_imu] --ModalityEncoder--> IntermediateBottleneck --+
    keypoints [T, 2J] --SecondTokenizer--> [N, d_kpt] --ModalityEncoder--> IntermediateBottleneck --+
    scanner, printer bits --EventTokenizer--> guidance [N, D] and the event mask [N, N] ------------+
                                                                                                   |
    SparseGuidedCrossModalModule (L x [SparseGuidedFusion per stream, MotionSpatialFusion, FFN]) <-+
        -> fused [N, D]
    MutualInteractiveBranches: class branch and boundary branch, two stages of cross-attention
        -> class logits [K, N], boundary logits [N]
    at inference: boundary_threshold_filter + local_barrier_pooling -> refined class probabilities

Every named part of the paper is a module (or function) below; ``SigFormerLoss`` is the
training objective and ``SigFormerRefinement`` what the engine predicts with. Every
attention is the shared :class:`~actseg_lib.nn.attention.Attention` (query and key/value
projections without bias), every feed-forward the shared
:class:`~actseg_lib.nn.feedforward.FeedForward` in a post-norm residual.

**Where the paper and the official code (LIUQI-creat/SigFormer) differ**, this file
implements the paper; each claim below was checked against the code (``model.py`` is its
``src/utils/model.py``), and a switch reproduces the code where that is cheap
(:func:`official_overrides` turns them all on). Chapter 30 tabulates every difference,
configuration and evaluation included.

* *Masked guidance.* The paper's sparse guided fusion attends only inside temporal
  regions where a sparse signal is active (:func:`event_attention_mask`). The code has
  no mask (``model.py``: ``AfterNormMHSA.forward`` calls ``MultiHeadCrossAttention``
  with the guidance as query and nothing else): every guidance token attends to every
  second. ``guidance="unmasked"`` reproduces the code; ``guidance="none"`` drops the
  sparse signals altogether.
* *Interaction stages, both inverted.* The paper's stage 1 lets the boundary features
  attend to the class features, its stage 2 the class features to the boundary ones.
  The code (``model.py``: ``SigFormer.forward``) calls ``cross1(feat, bound)``: the
  class features query the boundary features, keep their own residual, and the result
  becomes the boundary stream; then ``cross2(bound, feat)``: the boundary stream queries
  the class features, keeps its residual, and the result becomes the class stream.
  ``interaction="official"`` reproduces both. Its two-layer cross block
  (``CrossConvTransformer.forward``) computes each layer from the block's input, so only
  the last layer reaches the output; here each stage is one cross block whose output is
  used.
* *Cross-attention width.* The code's ``MultiHeadCrossAttention`` (fusion and both
  interaction stages) splits the fused width into the heads (860 = 20 x 43) and has no
  bias in any projection; ``cross_attention="split"`` reproduces it (the full preset
  uses it), ``"wide"`` is ``heads`` x ``dim_head`` with an output bias.
* *Barrier pooling, along time.* The code's ``LocalBarrierPooling`` expects the logits
  as ``[B, C, T]`` and the barrier as ``[B, 1, T]``; ``SigFormer.forward`` hands it
  ``[B, T, C]`` and ``[B, T, 1]``. So its window runs over the class index of each
  second, and the barrier, unfolded along its size-1 axis, meets only the padding value
  20 beyond itself: the weight of the class ``d`` indices away is
  ``exp(-0.1 (p_t + 20 |d|))`` (1 for ``d = 0``), zero-padded past the first and last
  class, where ``p_t`` is the second's boundary probability if above the threshold,
  else 0. Each second's logits become a fixed blend of neighbouring class indices
  (about 0.76 itself, 0.10 each adjacent index); nothing moves along time, and a kept
  boundary only scales its own second's neighbour weights by ``exp(-0.1 p_t)``
  (chapter 30 reproduces this). Here pooling smooths along time, and a kept boundary
  is a wall it never crosses (:func:`local_barrier_pooling`); the unkept boundaries are
  soft barriers. The code also pools in training, on logits, so its losses see the
  pooled output; here pooling refines probabilities at inference and the losses see
  the unrefined logits.
* *Boundary targets per sequence.* The code's ``BoundaryRegressionLoss`` (``loss.py``)
  takes label changes on the batch-flattened sequence, so the join between two clips
  counts as a boundary; :func:`boundary_targets` works row by row.

Our choices where neither says: fixed sinusoidal positional encodings (the code learns
one per position of its 50-second windows; ours train on whole sessions of any length),
also added to the guidance (the code gives the guidance none); the two event kinds are
summed into one guidance stream after their embeddings (as the code does) and share one
mask; the heads are LayerNorm + Linear (the code shares one LayerNorm and one BiLSTM
between both heads); SynthAct has no bounding-box stream, so the spatial stream is the
keypoints alone.

**Modality subsets** (the paper's modality study): ``input_layout`` may hold the IMU
stream, the keypoints or both, with or without the events. What is absent is not built:
one dense stream has no motion-spatial fusion and fuses itself alone; without events
there is no event tokenizer and no SGF, and the guidance is "none". The three-input model
is built in the same order as ever, so its parameters and initial weights do not change.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from ..common.labels import IGNORE_INDEX
from ..nn.attention import Attention
from ..nn.feedforward import FeedForward
from ..nn.positional import sinusoidal_positions
from .registry import register_model

__all__ = [
    "BoundaryBranchTCN",
    "ConvModule",
    "MaskedGroupNorm",
    "ConvTransformerLayers",
    "EventTokenizer",
    "IntermediateBottleneck",
    "ModalityEncoder",
    "MotionSpatialFusion",
    "MutualInteractiveBranches",
    "PostNormFeedForward",
    "SecondTokenizer",
    "SigFormer",
    "SigFormerLoss",
    "SigFormerOutput",
    "SigFormerRefinement",
    "SparseGuidedCrossModalModule",
    "SparseGuidedFusion",
    "boundary_targets",
    "boundary_threshold_filter",
    "event_attention_mask",
    "local_barrier_pooling",
    "official_overrides",
    "cross_attention",
    "second_labels",
    "token_mask",
]

GUIDANCE_MODES = ("masked", "unmasked", "none")
INTERACTIONS = ("paper", "official")
CROSS_ATTENTIONS = ("wide", "split")


def _check_choice(name: str, value: str, choices: tuple) -> None:
    if value not in choices:
        raise ValueError(f"{name}: expected one of {choices}, got {value!r}")


def cross_attention(dim: int, heads: int, dim_head: int, dropout: float, kind: str = "wide") -> Attention:
    """The attention of the fusion (SGF, MSAF) and of the branches' cross stages.

    * ``"wide"``: ``heads`` x ``dim_head`` wide (20 x 64 = 1280 in the full preset,
      wider than the fused width 860), query and key/value projections without bias,
      the output projection with one;
    * ``"split"``: the official code's cross-attention: the fused width split into
      ``heads`` heads (860 = 20 x 43), no bias in any projection, output included.
    """
    _check_choice("cross_attention", kind, CROSS_ATTENTIONS)
    if kind == "wide":
        return Attention(dim, heads, dim_head, bias=False, dropout=dropout)
    return Attention(dim, heads, None, bias=False, dropout=dropout, out_bias=False)  # dim_head = dim / heads


# --- per-second tokens -------------------------------------------------------------------


def _seconds(x: torch.Tensor, frames_per_token: int) -> torch.Tensor:
    """[B, T, C] -> [B, N, frames_per_token, C], N = ceil(T / frames_per_token), zero-padded."""
    B, T, C = x.shape
    N = -(-T // frames_per_token)
    x = F.pad(x, (0, 0, 0, N * frames_per_token - T))
    return x.reshape(B, N, frames_per_token, C)


def token_mask(frame_mask: torch.Tensor, frames_per_token: int) -> torch.Tensor:
    """[B, T] bool (real frames) -> [B, N] bool: a second is real if any of its frames is."""
    return _seconds(frame_mask[..., None].float(), frames_per_token).amax(dim=(2, 3)) > 0


class SecondTokenizer(nn.Module):
    """One token per second of a dense stream: the second's frames, every ``step``-th one
    (keypoints arrive at 15 Hz on a 30 Hz clock: step 2), flattened and projected:

        e_n = W [x_{n f}, x_{n f + step}, ..., x_{(n+1) f - step}] + b,    f = frames_per_token
    """

    def __init__(self, channels: int, frames_per_token: int, dim: int, step: int = 1):
        super().__init__()
        if frames_per_token % step:
            raise ValueError(f"step {step} must divide frames_per_token {frames_per_token}")
        self.channels, self.frames_per_token, self.step = channels, frames_per_token, step
        self.proj = nn.Linear(channels * (frames_per_token // step), dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[-1] != self.channels:
            raise ValueError(f"SecondTokenizer: expected {self.channels} channels, got {x.shape[-1]}")
        seconds = _seconds(x, self.frames_per_token)[:, :, :: self.step]  # [B, N, f/step, C]
        return self.proj(seconds.flatten(2))  # [B, N, dim]


class EventTokenizer(nn.Module):
    """Sparse signals, one bit per second and kind (1 if an event fell in that second),
    each kind embedded (``Embedding(2, event_dim)``) and projected to the fused width; the
    kinds are summed into one guidance stream ``g`` [B, N, D]. Also returns the bits."""

    def __init__(self, kinds: int, frames_per_token: int, event_dim: int, dim: int):
        super().__init__()
        self.kinds, self.frames_per_token = kinds, frames_per_token
        self.embed = nn.ModuleList(nn.Embedding(2, event_dim) for _ in range(kinds))
        self.proj = nn.ModuleList(nn.Linear(event_dim, dim) for _ in range(kinds))

    def bits(self, events: torch.Tensor) -> torch.Tensor:
        """[B, T, E] event indicators (1 at event frames) -> [B, N, E] long per-second bits."""
        if events.shape[-1] != self.kinds:
            raise ValueError(f"EventTokenizer: expected {self.kinds} event channels, got {events.shape[-1]}")
        return (_seconds(events, self.frames_per_token).amax(dim=2) > 0.5).long()

    def forward(self, events: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        bits = self.bits(events)  # [B, N, E]
        guidance = sum(proj(embed(bits[..., k])) for k, (embed, proj) in enumerate(zip(self.embed, self.proj)))
        return guidance, bits


def _pair_mask(mask: torch.Tensor) -> torch.Tensor:
    """[B, N] real tokens -> [B, N, N]: real queries read real keys."""
    return mask[:, :, None] & mask[:, None, :]


# --- per-modality encoder ----------------------------------------------------------------


class MaskedGroupNorm(nn.Module):
    """GroupNorm over the real seconds only: each group's mean and variance are taken over
    its channels and the sequence's real seconds, so a sequence gives the same result
    alone or padded in a batch (``nn.GroupNorm`` would count the padding). Without
    padding it equals ``nn.GroupNorm``."""

    def __init__(self, groups: int, channels: int, eps: float = 1e-5):
        super().__init__()
        if channels % groups:
            raise ValueError(f"MaskedGroupNorm: {channels} channels do not split into {groups} groups")
        self.groups, self.eps = groups, eps
        self.weight, self.bias = nn.Parameter(torch.ones(channels)), nn.Parameter(torch.zeros(channels))

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        # x [B, C, N], mask [B, 1, N] float
        B, C, N = x.shape
        g = x.reshape(B, self.groups, -1, N)  # [B, G, C/G, N]
        m = mask[:, None]  # [B, 1, 1, N]
        count = (m.sum(dim=-1, keepdim=True) * g.shape[2]).clamp(min=1.0)  # [B, 1, 1, 1]
        mean = (g * m).sum(dim=(2, 3), keepdim=True) / count
        var = (((g - mean) * m) ** 2).sum(dim=(2, 3), keepdim=True) / count
        g = (g - mean) * torch.rsqrt(var + self.eps)
        return (g.reshape(B, C, N) * self.weight[:, None] + self.bias[:, None]) * mask


class ConvModule(nn.Module):
    """The encoder's convolution module: 1x1 (x4 expansion) -> GroupNorm -> GELU -> 3-tap
    convolution -> GroupNorm -> GELU -> 1x1 back -> GroupNorm. The norms count real
    seconds only (:class:`MaskedGroupNorm`) and padded seconds are zeroed before every
    convolution, so padding neither leaks into real seconds nor changes them."""

    def __init__(self, dim: int, expansion: int = 4, kernel_size: int = 3, groups: int = 4, dropout: float = 0.0):
        super().__init__()
        hidden = dim * expansion
        self.expand, self.expand_norm = nn.Conv1d(dim, hidden, 1), MaskedGroupNorm(groups, hidden)
        self.temporal = nn.Conv1d(hidden, hidden, kernel_size, padding=kernel_size // 2)
        self.temporal_norm = MaskedGroupNorm(groups, hidden)
        self.project, self.project_norm = nn.Conv1d(hidden, dim, 1), MaskedGroupNorm(groups, dim)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        m = mask[:, None, :].to(x.dtype)  # [B, 1, N]
        h = F.gelu(self.expand_norm(self.expand(x.transpose(1, 2) * m), m))
        h = F.gelu(self.temporal_norm(self.temporal(h), m))
        return self.dropout(self.project_norm(self.project(h), m)).transpose(1, 2)  # [B, N, D]


class ConvTransformerLayers(nn.Module):
    """``depth`` layers of pre-norm self-attention and a pre-norm convolution module,
    both residual (padded seconds are neither read nor kept):

        h <- h + Attn(LN(h)),    h <- h + Conv(LN(h))
    """

    def __init__(
        self,
        dim: int,
        depth: int,
        heads: int,
        dim_head: int,
        dropout: float = 0.1,
        conv_expansion: int = 4,
        groups: int = 4,
    ):
        super().__init__()
        self.attn_norms = nn.ModuleList(nn.LayerNorm(dim) for _ in range(depth))
        self.attns = nn.ModuleList(Attention(dim, heads, dim_head, bias=False, dropout=dropout) for _ in range(depth))
        self.conv_norms = nn.ModuleList(nn.LayerNorm(dim) for _ in range(depth))
        self.convs = nn.ModuleList(
            ConvModule(dim, conv_expansion, groups=groups, dropout=dropout) for _ in range(depth)
        )

    def forward(self, h: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        pairs = _pair_mask(mask)
        for attn_norm, attn, conv_norm, conv in zip(self.attn_norms, self.attns, self.conv_norms, self.convs):
            y = attn_norm(h)
            h = h + attn(y, allowed=pairs)
            h = h + conv(conv_norm(h), mask)
        return h * mask[..., None]


class ModalityEncoder(nn.Module):
    """One stream's encoder: positional encoding, dropout, then
    :class:`ConvTransformerLayers`."""

    def __init__(
        self,
        dim: int,
        depth: int,
        heads: int,
        dim_head: int,
        dropout: float = 0.1,
        conv_expansion: int = 4,
        groups: int = 4,
    ):
        super().__init__()
        self.dropout = nn.Dropout(dropout)
        self.layers = ConvTransformerLayers(dim, depth, heads, dim_head, dropout, conv_expansion, groups)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return self.layers(self.dropout(x + sinusoidal_positions(x.shape[1], x.shape[2], x.device)), mask)


class BoundaryBranchTCN(nn.Module):
    """A small single-stage TCN on one channel (a boundary score): 1x1 in, dilated
    residual layers, 1x1 out, as the inner boundary branch's refinement stages."""

    def __init__(self, channels: int, layers: int = 2):
        super().__init__()
        self.conv_in = nn.Conv1d(1, channels, 1)
        self.layers = nn.ModuleList(
            nn.Conv1d(channels, channels, 3, padding=2**i, dilation=2**i) for i in range(layers)
        )
        self.conv_out = nn.Conv1d(channels, 1, 1)

    def forward(self, score: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        m = mask[:, None, :].to(score.dtype)  # [B, 1, N]
        h = self.conv_in(score[:, None]) * m
        for layer in self.layers:
            h = (h + torch.relu(layer(h))) * m
        return self.conv_out(h)[:, 0]  # [B, N]


class IntermediateBottleneck(nn.Module):
    """Between a stream's encoder and the fusion, two inner branches whose losses make
    each modality's features carry class and boundary information:

    * inner class branch: a 2-layer BiLSTM and a linear layer give logits z; the
      features take back what they predicted, h <- h + W softmax(z);
    * inner boundary branch: b_0 = w^T h, then ``stages`` TCNs b_s = TCN_s(sigmoid(b_{s-1}));
      the inner boundary logit is the mean of b_0..b_S.
    """

    def __init__(self, dim: int, num_classes: int, stages: int = 2):
        super().__init__()
        self.lstm = nn.LSTM(dim, dim, num_layers=2, batch_first=True, bidirectional=True, dropout=0.2)
        self.class_head = nn.Linear(2 * dim, num_classes)
        self.class_embed = nn.Linear(num_classes, dim)
        self.boundary_in = nn.Linear(dim, 1)
        self.boundary_stages = nn.ModuleList(BoundaryBranchTCN(dim) for _ in range(stages))

    def forward(self, h: torch.Tensor, mask: torch.Tensor):
        lengths = mask.sum(1).clamp(min=1).cpu()
        packed = pack_padded_sequence(h, lengths, batch_first=True, enforce_sorted=False)
        out, _ = self.lstm(packed)
        out, _ = pad_packed_sequence(out, batch_first=True, total_length=h.shape[1])
        logits = self.class_head(out)  # [B, N, K]
        h = (h + self.class_embed(logits.softmax(-1))) * mask[..., None]
        b = self.boundary_in(h)[..., 0]  # [B, N]
        outputs = [b]
        for stage in self.boundary_stages:
            b = stage(torch.sigmoid(b), mask)
            outputs.append(b)
        return h, logits.transpose(1, 2), torch.stack(outputs).mean(0)  # [B, N, D], [B, K, N], [B, N]


# --- sparse guided cross-modal module ----------------------------------------------------


def event_attention_mask(bits: torch.Tensor, window: int, mask: torch.Tensor | None = None) -> torch.Tensor:
    """Where sparse-guided attention may look: second i may read second j only if both lie
    within ``window`` seconds of one same event,

        M[i, j] = 1  iff  there is an event second e with |i - e| <= w and |j - e| <= w.

    ``bits`` [B, N, E] per-second event bits (any kind counts); ``mask`` [B, N] real
    seconds. Returns [B, N, N] bool. Seconds far from every event read nothing, and are
    read by nobody: the fusion is confined to the temporal regions the sparse signals mark.
    """
    active = bits.amax(dim=-1) > 0  # [B, N] event seconds
    N = bits.shape[1]
    idx = torch.arange(N, device=bits.device)
    near = (idx[:, None] - idx[None, :]).abs() <= window  # [N, N]: |i - e| <= w
    cover = (near[None] & active[:, None, :]).float()  # [B, N(i), N(e)]
    allowed = (cover @ cover.transpose(1, 2)) > 0  # share an event
    if mask is not None:
        allowed = allowed & _pair_mask(mask)
    return allowed


class SparseGuidedFusion(nn.Module):
    """SGF: the guidance gates a dense stream and then queries it,

        s' = SiLU(s + g),      out = LN(s' + MaskedAttn(Q = g, K = V = s'; M)),

    with M from :func:`event_attention_mask` ("masked", the paper), all real seconds
    ("unmasked", the official code). ``attention``: see :func:`cross_attention`."""

    def __init__(self, dim: int, heads: int, dim_head: int, dropout: float = 0.0, attention: str = "wide"):
        super().__init__()
        self.attn = cross_attention(dim, heads, dim_head, dropout, attention)
        self.norm = nn.LayerNorm(dim)

    def guided(self, stream: torch.Tensor, guidance: torch.Tensor, allowed: torch.Tensor) -> torch.Tensor:
        """The attention term alone: what the guidance reads from the gated stream."""
        return self.attn(guidance, F.silu(stream + guidance), allowed)

    def forward(self, stream: torch.Tensor, guidance: torch.Tensor, allowed: torch.Tensor) -> torch.Tensor:
        gated = F.silu(stream + guidance)
        return self.norm(gated + self.attn(guidance, gated, allowed))


class MotionSpatialFusion(nn.Module):
    """MSAF: bidirectional cross-attention between the motion stream m (IMU) and the
    spatial stream s (keypoints), both from the layer's inputs:

        m' = LN(m + Attn(Q = m, K = V = s)),    s' = LN(s + Attn(Q = s, K = V = m))

    ``attention``: see :func:`cross_attention`.
    """

    def __init__(self, dim: int, heads: int, dim_head: int, dropout: float = 0.0, attention: str = "wide"):
        super().__init__()
        self.motion_reads_spatial = cross_attention(dim, heads, dim_head, dropout, attention)
        self.spatial_reads_motion = cross_attention(dim, heads, dim_head, dropout, attention)
        self.motion_norm, self.spatial_norm = nn.LayerNorm(dim), nn.LayerNorm(dim)

    def forward(self, motion: torch.Tensor, spatial: torch.Tensor, mask: torch.Tensor):
        pairs = _pair_mask(mask)
        m = self.motion_norm(motion + self.motion_reads_spatial(motion, spatial, pairs))
        s = self.spatial_norm(spatial + self.spatial_reads_motion(spatial, motion, pairs))
        return m, s


class PostNormFeedForward(nn.Module):
    """The feed-forward sublayer of the fusion and of the branches' cross blocks, post-norm
    as in the original Transformer: h <- LN(h + FFN(h)), FFN(h) = W_2 GELU(W_1 h)
    (:class:`~actseg_lib.nn.feedforward.FeedForward`)."""

    def __init__(self, dim: int, hidden: int, dropout: float = 0.0):
        super().__init__()
        self.ffn = FeedForward(dim, hidden, dropout)
        self.norm = nn.LayerNorm(dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.norm(x + self.ffn(x))


class SparseGuidedCrossModalModule(nn.Module):
    """The fusion: motion, spatial and guidance streams projected to the fused width D,
    then ``depth`` layers of [SGF on each dense stream, MSAF, FFN per stream], each layer
    reading the previous one's output; the result is LN(m + s).

    ``guidance``: "masked" (the paper), "unmasked" (the official code) or "none" (SGF
    skipped: the sparse signals do not enter). ``attention``: the SGF and MSAF
    attentions' width, "wide" or "split" (the official code's; :func:`cross_attention`).

    A subset of the modalities (the paper's modality study) fuses what exists:
    ``motion_dim`` or ``spatial_dim`` None leaves that stream out, and MSAF with it (it
    needs both); the result is LN of the streams there are. ``sparse=False`` (no sparse
    signal in the data) builds no SGF at all; ``guidance="none"`` with ``sparse`` keeps
    the SGF layers unused, as the recorded "none" arms were built (same initialisation).
    """

    def __init__(
        self,
        motion_dim: int | None,
        spatial_dim: int | None,
        dim: int,
        depth: int,
        heads: int,
        dim_head: int,
        ffn_dim: int,
        dropout: float = 0.0,
        guidance: str = "masked",
        window: int = 3,
        attention: str = "wide",
        sparse: bool = True,
    ):
        super().__init__()
        _check_choice("guidance", guidance, GUIDANCE_MODES)
        _check_choice("cross_attention", attention, CROSS_ATTENTIONS)
        if motion_dim is None and spatial_dim is None:
            raise ValueError("SparseGuidedCrossModalModule: needs a motion or a spatial stream (or both)")
        if not sparse and guidance != "none":
            raise ValueError(f"guidance={guidance!r} needs the sparse signals (sparse=True), or guidance='none'")
        self.guidance, self.window, self.depth = guidance, window, depth
        self.has_motion, self.has_spatial = motion_dim is not None, spatial_dim is not None
        # built in this order whatever is present, so the full model's initial weights
        # (and its parameter names) are those it was recorded with
        if self.has_motion:
            self.motion_in = nn.Linear(motion_dim, dim)
        if self.has_spatial:
            self.spatial_in = nn.Linear(spatial_dim, dim)
        args = (dim, heads, dim_head, dropout, attention)
        if sparse and self.has_motion:
            self.sgf_motion = nn.ModuleList(SparseGuidedFusion(*args) for _ in range(depth))
        if sparse and self.has_spatial:
            self.sgf_spatial = nn.ModuleList(SparseGuidedFusion(*args) for _ in range(depth))
        if self.has_motion and self.has_spatial:
            self.msaf = nn.ModuleList(MotionSpatialFusion(*args) for _ in range(depth))
        if self.has_motion:
            self.ffn_motion = nn.ModuleList(PostNormFeedForward(dim, ffn_dim, dropout) for _ in range(depth))
        if self.has_spatial:
            self.ffn_spatial = nn.ModuleList(PostNormFeedForward(dim, ffn_dim, dropout) for _ in range(depth))
        self.norm = nn.LayerNorm(dim)

    def guidance_mask(self, bits: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        if self.guidance == "masked":
            return event_attention_mask(bits, self.window, mask)
        return _pair_mask(mask)

    def forward(self, motion, spatial, guidance, bits, mask):
        # motion, spatial [B, N, d] (None when the stream is absent); guidance [B, N, D] or None
        m = self.motion_in(motion) if self.has_motion else None
        s = self.spatial_in(spatial) if self.has_spatial else None
        allowed = self.guidance_mask(bits, mask) if self.guidance != "none" else None
        for i in range(self.depth):
            if allowed is not None:
                m = self.sgf_motion[i](m, guidance, allowed) if self.has_motion else None
                s = self.sgf_spatial[i](s, guidance, allowed) if self.has_spatial else None
            if self.has_motion and self.has_spatial:
                m, s = self.msaf[i](m, s, mask)
            m = self.ffn_motion[i](m) if self.has_motion else None
            s = self.ffn_spatial[i](s) if self.has_spatial else None
        fused = m + s if self.has_motion and self.has_spatial else (m if self.has_motion else s)
        return self.norm(fused) * mask[..., None]


# --- mutual interactive branches ---------------------------------------------------------


class _CrossBlock(nn.Module):
    """x <- FFN(LN(x + Attn(Q = x, K = V = y))): one stream refined by reading another."""

    def __init__(self, dim, heads, dim_head, ffn_dim, dropout, attention="wide"):
        super().__init__()
        self.attn = cross_attention(dim, heads, dim_head, dropout, attention)
        self.norm = nn.LayerNorm(dim)
        self.ffn = PostNormFeedForward(dim, ffn_dim, dropout)

    def forward(self, x, y, mask):
        return self.ffn(self.norm(x + self.attn(x, y, _pair_mask(mask)))) * mask[..., None]


class MutualInteractiveBranches(nn.Module):
    """A class branch and a boundary branch on the fused features, two stages of
    interaction. ``interaction="paper"``:

        c = Class_1(x),  b = Boundary_1(x)
        stage 1:  b <- Boundary_2(Cross(Q = b, K = V = c))     boundaries read the classes
        stage 2:  c <- Class_2(Cross(Q = c, K = V = b))        classes read the boundaries
        class logits = W_c LN(c),   boundary logit = w_b LN(b)

    ``interaction="official"``, the official code's directions (``SigFormer.forward`` in
    its ``src/utils/model.py``: ``cross1(feat, bound)`` then ``cross2(bound, feat)``),
    each stage inverted, the result handed to the other stream:

        stage 1:  b <- Boundary_2(Cross(Q = c, K = V = b))     the classes read the boundaries
        stage 2:  c <- Class_2(Cross(Q = b, K = V = c))        the boundaries read the classes

    The two cross blocks keep their names in both (``boundary_reads_class`` is stage 1,
    ``class_reads_boundary`` stage 2). ``interactive=False`` leaves both crosses out (two
    independent branches), for the ablation. ``attention``: the cross blocks' attention
    width (:func:`cross_attention`).
    """

    def __init__(
        self,
        dim,
        num_classes,
        depth,
        heads,
        dim_head,
        ffn_dim,
        dropout=0.0,
        groups=4,
        interactive: bool = True,
        interaction: str = "paper",
        attention: str = "wide",
    ):
        super().__init__()
        _check_choice("interaction", interaction, INTERACTIONS)
        self.interactive, self.interaction = interactive, interaction
        self.class_1 = ConvTransformerLayers(dim, depth, heads, dim_head, dropout, groups=groups)
        self.class_2 = ConvTransformerLayers(dim, depth, heads, dim_head, dropout, groups=groups)
        self.boundary_1 = ConvTransformerLayers(dim, depth, heads, dim_head, dropout, groups=groups)
        self.boundary_2 = ConvTransformerLayers(dim, depth, heads, dim_head, dropout, groups=groups)
        if interactive:
            self.boundary_reads_class = _CrossBlock(dim, heads, dim_head, ffn_dim, dropout, attention)
            self.class_reads_boundary = _CrossBlock(dim, heads, dim_head, ffn_dim, dropout, attention)
        self.class_norm, self.boundary_norm = nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.class_head, self.boundary_head = nn.Linear(dim, num_classes), nn.Linear(dim, 1)

    def forward(self, x: torch.Tensor, mask: torch.Tensor):
        c, b = self.class_1(x, mask), self.boundary_1(x, mask)
        official = self.interaction == "official"
        if self.interactive:  # stage 1
            b = self.boundary_reads_class(c, b, mask) if official else self.boundary_reads_class(b, c, mask)
        b = self.boundary_2(b, mask)
        if self.interactive:  # stage 2
            c = self.class_reads_boundary(b, c, mask) if official else self.class_reads_boundary(c, b, mask)
        c = self.class_2(c, mask)
        class_logits = self.class_head(self.class_norm(c)).transpose(1, 2)  # [B, K, N]
        boundary_logits = self.boundary_head(self.boundary_norm(b))[..., 0]  # [B, N]
        return class_logits, boundary_logits, c


# --- refinement --------------------------------------------------------------------------


def boundary_threshold_filter(boundary_probs: torch.Tensor, threshold: float) -> torch.Tensor:
    """[B, N] boundary probabilities -> [B, N] bool: the boundaries kept (p > threshold)."""
    return boundary_probs > threshold


def local_barrier_pooling(
    probs: torch.Tensor,
    boundary_probs: torch.Tensor,
    mask: torch.Tensor,
    threshold: float = 0.85,
    kernel_size: int = 99,
    alpha: float = 0.1,
) -> torch.Tensor:
    """Smooth class probabilities along time between boundaries (the local barrier
    pooling of boundary-aware cascade networks, Wang et al., ECCV 2020):

        p~_t = sum_{|s-t| <= k/2} w_ts p_s / sum_s w_ts,    w_ts = exp(-alpha * sum_{u in (t, s]} beta_u)

    where beta_u is the boundary probability of second u (a soft barrier), or infinity
    where the boundary is kept by :func:`boundary_threshold_filter` (a wall: nothing is
    pooled across it). ``probs`` [B, K, N] (classes on dim 1, time last: each class is
    smoothed on its own, along time); ``boundary_probs`` [B, N]; ``mask`` [B, N] real
    seconds (padded ones are never pooled). A boundary at u starts a new segment at u.
    """
    B, K, N = probs.shape
    kept = boundary_threshold_filter(boundary_probs, threshold) & mask
    soft = torch.where(kept | ~mask, torch.zeros_like(boundary_probs), boundary_probs)
    cost = torch.cumsum(soft, dim=1)  # [B, N]
    segment = torch.cumsum(kept.long(), dim=1)  # [B, N]
    half = kernel_size // 2
    offsets = torch.arange(-half, half + 1, device=probs.device)  # [W]
    idx = torch.arange(N, device=probs.device)[:, None] + offsets  # [N, W]
    inside = (idx >= 0) & (idx < N)
    idx = idx.clamp(0, N - 1)
    same = (segment[:, idx] == segment[:, :, None]) & inside & mask[:, idx]  # [B, N, W]
    weights = torch.exp(-alpha * (cost[:, idx] - cost[:, :, None]).abs()) * same  # [B, N, W]
    neighbours = probs[:, :, idx]  # [B, K, N, W]
    pooled = (neighbours * weights[:, None]).sum(-1) / weights.sum(-1).clamp(min=1e-12)[:, None]
    return torch.where(mask[:, None], pooled, probs)


# --- the model ---------------------------------------------------------------------------


@dataclass
class SigFormerOutput:
    """Everything the loss, the refinement and the figures need."""

    class_logits: torch.Tensor  # [B, K, N] final class branch
    boundary_logits: torch.Tensor  # [B, N] final boundary branch
    inner_class_logits: list  # per dense stream, [B, K, N]
    inner_boundary_logits: list  # per dense stream, [B, N]
    token_mask: torch.Tensor  # [B, N] real seconds
    event_bits: torch.Tensor | None  # [B, N, E]
    fused: torch.Tensor  # [B, N, D] the fusion module's output
    class_features: torch.Tensor  # [B, N, D] the class branch's last features


MOTION_INPUTS = ("imu_acc", "imu")  # the motion stream: one of these
SPATIAL_INPUT = "skeleton2d"  # the spatial stream
SPARSE_INPUT = "events"  # the sparse signals


def _layout(input_layout) -> list[tuple[str, int]]:
    """``[(name, channels), ...]``, checked: at most one IMU stream, and at least one dense
    stream (an IMU or the keypoints); the events are optional."""
    layout = [(str(name), int(ch)) for name, ch in input_layout]
    names = [n for n, _ in layout]
    motion = [n for n in names if n in MOTION_INPUTS]
    unknown = [n for n in names if n not in (*MOTION_INPUTS, SPATIAL_INPUT, SPARSE_INPUT)]
    if unknown or len(motion) > 1 or not (motion or SPATIAL_INPUT in names):
        raise ValueError(
            f"input_layout: SigFormer reads one IMU stream ('imu_acc' or 'imu'), '{SPATIAL_INPUT}' or both, "
            f"and optionally '{SPARSE_INPUT}'; got {names}"
        )
    return layout


class SigFormer(nn.Module):
    """The whole network (see the module docstring).

    Args:
        input_layout: ``[(input name, channels per frame), ...]`` in the order the
            frame vector ``x`` holds them (what the data pipeline feeds): an IMU stream
            (``imu_acc`` or ``imu``), ``skeleton2d`` and, for guidance, ``events``. Any
            non-empty subset of the two dense streams, with or without the events (the
            paper's modality study): the model is the paper's minus what is absent (one
            dense stream: no motion-spatial fusion; no events: guidance "none", whatever
            ``guidance`` says). :meth:`input_summary` says what it trains on.
        num_classes: operations (Null is not a class: it is ignored).
        fps: frames per second of ``x`` (OpenPack's clock: 30); a token is one second.
        keypoint_step: keep every n-th keypoint frame (2: 15 Hz of a 30 Hz clock).
        imu_dim, keypoint_dim, event_dim: token widths per stream; dim: the fused width.
        depth: encoder layers per stream; fusion_depth: fusion layers; branch_depth:
            layers per branch stage; heads, dim_head: attention heads; ffn_dim: the
            fusion's MLP width.
        guidance: "masked" | "unmasked" | "none"; window: the event mask's half-width in
            seconds.
        interactive: the two cross-attention stages between the branches.
        interaction: their directions, "paper" (boundaries read classes, then classes
            read boundaries) or "official" (the official code's: both stages inverted;
            :class:`MutualInteractiveBranches`).
        cross_attention: the width of every cross-attention after the encoders (SGF,
            MSAF, the interaction stages): "wide" (``heads`` x ``dim_head``, output
            bias) or "split" (the official code's: ``dim`` split into ``heads``, no
            bias; :func:`cross_attention`).
        boundary_threshold, barrier_kernel, barrier_alpha: the refinement.

    :func:`official_overrides` turns on every switch that reproduces the official code.
    """

    def __init__(
        self,
        *,
        input_layout,
        num_classes: int,
        fps: float = 30.0,
        keypoint_step: int = 2,
        imu_dim: int,
        keypoint_dim: int,
        event_dim: int,
        dim: int,
        depth: int,
        fusion_depth: int,
        branch_depth: int,
        heads: int,
        dim_head: int,
        ffn_dim: int,
        dropout: float,
        groups: int,
        guidance: str,
        window: int,
        interactive: bool,
        boundary_threshold: float,
        barrier_kernel: int,
        barrier_alpha: float,
        interaction: str = "paper",
        cross_attention: str = "wide",
    ):
        super().__init__()
        self.layout = _layout(input_layout)
        self.num_classes = num_classes
        self.frames_per_token = int(round(fps))
        self.boundary_threshold = boundary_threshold
        self.barrier_kernel, self.barrier_alpha = barrier_kernel, barrier_alpha
        channels = dict(self.layout)
        self.motion_name = next((n for n in MOTION_INPUTS if n in channels), None)
        self.has_spatial = SPATIAL_INPUT in channels
        self.uses_events = SPARSE_INPUT in channels
        # without sparse signals there is nothing to guide with: the "none" arm
        self.guidance = guidance if self.uses_events else "none"
        _check_choice("guidance", guidance, GUIDANCE_MODES)
        f = self.frames_per_token
        # built in the order the full model always was (same names, same initial weights)
        if self.motion_name:
            self.motion_tokens = SecondTokenizer(channels[self.motion_name], f, imu_dim)
        if self.has_spatial:
            self.spatial_tokens = SecondTokenizer(channels[SPATIAL_INPUT], f, keypoint_dim, step=keypoint_step)
        if self.motion_name:
            self.motion_encoder = ModalityEncoder(imu_dim, depth, heads, dim_head, dropout, groups=groups)
        if self.has_spatial:
            self.spatial_encoder = ModalityEncoder(keypoint_dim, depth, heads, dim_head, dropout, groups=groups)
        if self.motion_name:
            self.motion_bottleneck = IntermediateBottleneck(imu_dim, num_classes)
        if self.has_spatial:
            self.spatial_bottleneck = IntermediateBottleneck(keypoint_dim, num_classes)
        if self.guidance != "none":
            self.event_tokens = EventTokenizer(channels[SPARSE_INPUT], f, event_dim, dim)
        self.fusion = SparseGuidedCrossModalModule(
            imu_dim if self.motion_name else None,
            keypoint_dim if self.has_spatial else None,
            dim,
            fusion_depth,
            heads,
            dim_head,
            ffn_dim,
            dropout,
            self.guidance,
            window,
            cross_attention,
            sparse=self.uses_events,
        )
        self.branches = MutualInteractiveBranches(
            dim,
            num_classes,
            branch_depth,
            heads,
            dim_head,
            ffn_dim,
            dropout,
            groups,
            interactive,
            interaction,
            cross_attention,
        )

    def split_inputs(self, x: torch.Tensor) -> dict:
        """The frame vector [B, T, C] cut back into its named inputs."""
        expected = sum(ch for _, ch in self.layout)
        if x.shape[-1] != expected:
            raise ValueError(f"x: expected {expected} channels ({self.layout}), got {x.shape[-1]}")
        parts = torch.split(x, [ch for _, ch in self.layout], dim=-1)
        return {name: part for (name, _), part in zip(self.layout, parts)}

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> SigFormerOutput:
        # x [B, T, C] frames; mask [B, T] real frames
        if mask is None:
            mask = torch.ones(x.shape[:2], dtype=torch.bool, device=x.device)
        inputs = self.split_inputs(x)
        tokens = token_mask(mask, self.frames_per_token)  # [B, N]
        frame_m = mask[..., None].to(x.dtype)
        motion = spatial = None
        inner_logits, inner_boundary = [], []
        if self.motion_name:
            motion = self.motion_encoder(self.motion_tokens(inputs[self.motion_name] * frame_m), tokens)
        if self.has_spatial:
            spatial = self.spatial_encoder(self.spatial_tokens(inputs[SPATIAL_INPUT] * frame_m), tokens)
        if self.motion_name:
            motion, logits, boundary = self.motion_bottleneck(motion, tokens)
            inner_logits.append(logits)
            inner_boundary.append(boundary)
        if self.has_spatial:
            spatial, logits, boundary = self.spatial_bottleneck(spatial, tokens)
            inner_logits.append(logits)
            inner_boundary.append(boundary)
        if self.guidance != "none":
            guidance, bits = self.event_tokens(inputs[SPARSE_INPUT] * frame_m)
            guidance = guidance + sinusoidal_positions(guidance.shape[1], guidance.shape[2], x.device)
        else:
            guidance, bits = None, None
        fused = self.fusion(motion, spatial, guidance, bits, tokens)
        class_logits, boundary_logits, class_features = self.branches(fused, tokens)
        return SigFormerOutput(
            class_logits, boundary_logits, inner_logits, inner_boundary, tokens, bits, fused, class_features
        )

    def input_summary(self) -> str:
        """One line: what this model trains on, e.g. ``SigFormer on imu_acc + events,
        guidance masked`` or ``SigFormer on imu_acc + skeleton2d, no events: guidance none``."""
        names = " + ".join(name for name, _ in self.layout)
        guidance = f"guidance {self.guidance}" if self.uses_events else "no events: guidance none"
        return f"SigFormer on {names}, {guidance}"

    def refine(self, out: SigFormerOutput, threshold: float | None = None) -> torch.Tensor:
        """Class probabilities [B, K, N] after the boundary filter and barrier pooling
        (``threshold`` defaults to the model's; ``float('inf')`` keeps no boundary)."""
        return local_barrier_pooling(
            out.class_logits.float().softmax(1),
            torch.sigmoid(out.boundary_logits.float()),
            out.token_mask,
            self.boundary_threshold if threshold is None else threshold,
            self.barrier_kernel,
            self.barrier_alpha,
        )

    def record_attention(self, on: bool = True) -> None:
        """Keep the attention weights of the next forward pass in each attention module's
        ``weights`` (e.g. ``fusion.sgf_motion[0].attn.weights``: guidance x IMU seconds)."""
        for module in self.modules():
            if isinstance(module, Attention):
                module.record = on
                module.weights = None


# --- targets and loss --------------------------------------------------------------------


def second_labels(labels: torch.Tensor, frame_mask: torch.Tensor, frames_per_token: int) -> torch.Tensor:
    """[B, T] frame labels -> [B, N] one label a second: the label of the second's last
    real frame (the OpenPack metric's choice), ``IGNORE_INDEX`` for padded seconds."""
    B, T = labels.shape
    lab = _seconds(labels[..., None].float(), frames_per_token)[..., 0].long()  # [B, N, f]
    real = _seconds(frame_mask[..., None].float(), frames_per_token)[..., 0] > 0  # [B, N, f]
    f = frames_per_token
    last = (real.long() * torch.arange(1, f + 1, device=labels.device)).argmax(-1)  # last real frame
    out = lab.gather(2, last[..., None])[..., 0]
    return torch.where(real.any(-1), out, torch.full_like(out, IGNORE_INDEX))


def boundary_targets(token_labels: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """[B, N] per-second labels -> [B, N] float: 1 where a real second's label differs
    from the previous real second's, within each sequence (row). The first second of a
    row is never a boundary, so the join between two sequences of a batch is not one.
    Null (ignored) counts as a label of its own: an operation starting after a gap is a
    boundary."""
    change = (token_labels[:, 1:] != token_labels[:, :-1]) & mask[:, 1:] & mask[:, :-1]
    return F.pad(change.float(), (1, 0))


class SigFormerLoss(nn.Module):
    """The training objective:

        L = a CE(z, y) + a' CE(mean_m z_m, y) + b BCE(beta, y_b) + b' BCE(mean_m beta_m, y_b)

    z the final class logits, z_m each stream's inner class logits, beta the final
    boundary logit and beta_m the inner ones; y the per-second labels with Null (and
    padding) ignored; y_b :func:`boundary_targets`. Defaults 0.5, 0.5, 0.2, 0.2 as the
    official code; the inner terms off give the "without inner losses" ablation.

    ``criterion(out, batch, model) -> (loss, parts)``: the batch's frame ``labels`` [B, T]
    and ``mask`` [B, T], and the model for its seconds (``frames_per_token``).
    """

    def __init__(
        self, *, class_weight: float, inner_class_weight: float, boundary_weight: float, inner_boundary_weight: float
    ):
        super().__init__()
        self.weights = (class_weight, inner_class_weight, boundary_weight, inner_boundary_weight)

    def forward(self, out: SigFormerOutput, batch: dict, model: SigFormer) -> tuple[torch.Tensor, dict]:
        y = second_labels(batch["labels"], batch["mask"], model.frames_per_token)  # [B, N]
        yb = boundary_targets(y, out.token_mask)
        real = out.token_mask.float()
        inner_logits = torch.stack(out.inner_class_logits).mean(0)
        inner_boundary = torch.stack(out.inner_boundary_logits).mean(0)
        labelled = bool((y != IGNORE_INDEX).any())

        def ce(logits):
            return F.cross_entropy(logits.float(), y, ignore_index=IGNORE_INDEX) if labelled else logits.sum() * 0

        def bce(logits):
            terms = F.binary_cross_entropy_with_logits(logits.float(), yb, reduction="none")
            return (terms * real).sum() / real.sum().clamp(min=1)

        parts = {
            "ce": ce(out.class_logits),
            "inner_ce": ce(inner_logits),
            "bce": bce(out.boundary_logits),
            "inner_bce": bce(inner_boundary),
        }
        loss = sum(w * parts[k] for w, k in zip(self.weights, ("ce", "inner_ce", "bce", "inner_bce")))
        return loss, {k: float(v.detach()) for k, v in parts.items()}


# --- inference ---------------------------------------------------------------------------


class SigFormerRefinement:
    """What SigFormer predicts at inference (the registry's decoder): per-second class
    probabilities refined by the boundary filter and barrier pooling at the model's
    threshold, repeated back to frames. The refined predictions are the ones reported;
    the same again at each threshold of ``THRESHOLDS`` and without refinement are scored
    as ``"<metric> thr <threshold>"`` (``"thr none"``)."""

    THRESHOLDS = (0.5, 0.7, 0.85, 0.95)

    def items(self, model: SigFormer, out: SigFormerOutput, batch: dict) -> list[dict]:
        """Per sequence: class probabilities [K, N], boundary probabilities [N], the true
        frame labels [T] and what the refinement needs."""
        probs = out.class_logits.float().softmax(1).cpu()
        boundary = torch.sigmoid(out.boundary_logits.float()).cpu()
        labels = batch["labels"].cpu().numpy()
        items = []
        for b, n in enumerate(batch["lengths"].tolist()):
            seconds = int(out.token_mask[b].sum())
            items.append(
                {
                    "probs": probs[b, :, :seconds],
                    "boundary": boundary[b, :seconds],
                    "labels": labels[b, :n],
                    "frames_per_token": model.frames_per_token,
                    "threshold": model.boundary_threshold,
                    "kernel": model.barrier_kernel,
                    "alpha": model.barrier_alpha,
                }
            )
        return items

    @staticmethod
    def frame_predictions(items: list[dict], threshold: float | str | None) -> list[np.ndarray]:
        """Each sequence's per-frame labels after refinement at ``threshold`` (the model's
        when None; ``inf`` keeps no boundary, which pools each window whole; ``"none"``
        skips refinement)."""
        preds = []
        for item in items:
            probs = item["probs"]
            if threshold != "none":
                tau = item["threshold"] if threshold is None else threshold
                mask = torch.ones(1, probs.shape[1], dtype=torch.bool)
                probs = local_barrier_pooling(
                    probs[None], item["boundary"][None], mask, tau, item["kernel"], item["alpha"]
                )[0]
            seconds = probs.argmax(0).numpy()
            preds.append(np.repeat(seconds, item["frames_per_token"])[: len(item["labels"])])
        return preds

    def predictions(self, items: list[dict]) -> dict[str, list[np.ndarray]]:
        variants = {"": self.frame_predictions(items, None)}
        for threshold in (*self.THRESHOLDS, "none"):
            variants[f"thr {threshold}"] = self.frame_predictions(items, threshold)
        return variants


def official_overrides(schedule: bool = False) -> dict:
    """Overrides (of either preset) that turn on every switch reproducing the official
    code where it departs from the paper: unmasked guidance, the inverted interaction
    stages and the split cross-attention width; with ``schedule``, also its
    inverse-square-root warm-up (the full preset has it already). Use as an arm:
    ``build_model("sigformer", size, **official_overrides()["model"], ...)`` or
    ``recorded_arms("sigformer", {"official": official_overrides()}, ...)``."""
    overrides = {"model": {"guidance": "unmasked", "interaction": "official", "cross_attention": "split"}}
    if schedule:
        overrides["train"] = {"scheduler": "inverse_sqrt"}
    return overrides


register_model(
    "sigformer",
    SigFormer,
    task="segmentation",
    paper="liu2024sigformer",
    version=1,
    # Where each value comes from. "config": the official configs/config1.yaml; "code":
    # the official src/utils/model.py or lightning_module.py; "paper": the paper, where it
    # and the code differ; "ours": neither says, or SynthAct differs (module docstring).
    full={
        "model": dict(
            imu_dim=300,  # config: imu_dim
            keypoint_dim=300,  # config: keypoint_dim
            event_dim=30,  # config: ht_dim, printer_dim
            # code: dim -1 = the sum of the stream widths, 300 + 300 + 200 (box) + 30 + 30;
            # kept here though SynthAct has no box stream
            dim=860,
            depth=3,  # config depth 6, halved by the code's SigFormer.__init__
            fusion_depth=4,  # code: Sparse_Guided_CrossModal_Module's 4 layers
            branch_depth=2,  # ours: the code stacks 3, 2 and 3 class layers, 2 and 2 boundary
            heads=20,  # config: heads
            dim_head=64,  # config: dim_head (the encoders' and branches' self-attention)
            ffn_dim=2048,  # config: mlp_dim
            dropout=0.1,  # config: dropout, emb_dropout
            groups=10,  # code: ConvLayer's GroupNorm(10, ...)
            guidance="masked",  # paper (the code: "unmasked")
            window=3,  # ours: neither the paper's text we read nor the code gives a width
            interactive=True,  # paper and code
            interaction="paper",  # paper (the code: both stages inverted, "official")
            # code: MultiHeadCrossAttention, the fused width split into the heads
            # (860 = 20 x 43), no biases; "wide" would be 20 x 64 = 1280 wide
            cross_attention="split",
            boundary_threshold=0.85,  # config: threshold_boundary
            barrier_kernel=99,  # code: LocalBarrierPooling(99, alpha=0.1)
            barrier_alpha=0.1,  # code
        ),
        "train": dict(
            optimizer="adam",  # config: optimizer.type
            lr=1e-4,  # config
            weight_decay=1e-4,  # config
            epochs=200,  # config
            warmup_epochs=50,  # config: warmup_step, in epochs
            scheduler="inverse_sqrt",  # config: ori_warmup (OriWarmupScheduler, stepped per epoch)
            batch_size=16,  # config (the run named in the code's ensemble_mean.py used 32)
            clip_grad_norm=1.0,  # config: grad_clip_norm
            # code: the best epoch by validation macro F1 (where the code's validation
            # users are also its test users; ours are three disjoint splits)
            select_metric="macro_f1",
        ),
        "data": dict(inputs=["imu_acc", "skeleton2d", "events"]),  # ours: no box on SynthAct
        # config: train.inner_loss 0.5 (the final CE weighted 1 - 0.5), loss.boundary and
        # loss.inner_boundary 0.2
        "loss": dict(class_weight=0.5, inner_class_weight=0.5, boundary_weight=0.2, inner_boundary_weight=0.2),
    },
    # ours: a 2-core CPU in minutes: narrower streams, 2 encoder and 2 fusion layers. It
    # keeps the wide cross-attention (at 4 x 16 = 64 it differs from "split" only by the
    # output bias) and the cosine schedule it was recorded with (records/).
    reduced={
        "model": dict(
            imu_dim=48,
            keypoint_dim=48,
            event_dim=8,
            dim=64,
            depth=2,
            fusion_depth=2,
            branch_depth=1,
            heads=4,
            dim_head=16,
            ffn_dim=128,
            groups=4,
            cross_attention="wide",
        ),
        "train": dict(lr=1e-3, epochs=40, warmup_epochs=4, batch_size=2, scheduler="cosine"),
    },
    loss=SigFormerLoss,
    decoder=SigFormerRefinement(),
    metrics=("macro_f1",),
)

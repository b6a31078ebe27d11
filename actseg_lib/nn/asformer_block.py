"""ASFormer's block (Yi, Wen & Jiang, BMVC 2021), used by ASFormer's encoder and decoders
and by InterAct's multi-scale feature extractor:

    A   = ReLU(W_d *_d H)                                   dilated 3-tap convolution
    A'  = A + alpha * Att_w(Norm(A))                        attention in a centred window of w frames
    H'  = mask * (H + Dropout(W_1 A'))                      1x1 convolution, residual

The attention is local: frame ``t`` attends to the frames within ``w // 2`` of itself
(:func:`actseg_lib.nn.windowed_attention.windowed_attention`). The normalisation before it
is an instance norm over the *real* frames only (:class:`MaskedInstanceNorm1d`), so a
padded batch gives the same result as each sequence alone. Where this differs from the
public ASFormer code (its window) is told in :mod:`actseg_lib.models.asformer`.
"""

from __future__ import annotations

import torch
from torch import nn

from .temporal_conv import ConvFeedForward
from .windowed_attention import windowed_attention

__all__ = ["ASFormerBlock", "AttentionLayer", "MaskedInstanceNorm1d"]


class MaskedInstanceNorm1d(nn.Module):
    """Normalise every channel of every sequence to zero mean and unit variance over its real
    frames:

        y_ct = m_t (x_ct - mu_c) / sqrt(sigma_c^2 + eps),
        mu_c = mean of x_ct over real t,  sigma_c^2 = (biased) variance over real t.

    Padded frames neither enter the statistics nor keep a value (they become 0). Without
    padding it is exactly ``nn.InstanceNorm1d`` (no affine parameters, no running
    statistics).
    """

    def __init__(self, eps: float = 1e-5):
        super().__init__()
        self.eps = eps

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        # x [B, C, T], mask [B, 1, T] float
        n = mask.sum(dim=-1, keepdim=True).clamp(min=1.0)  # [B, 1, 1]; an all-padded row stays finite
        mean = (x * mask).sum(dim=-1, keepdim=True) / n  # [B, C, 1]
        var = (((x - mean) * mask) ** 2).sum(dim=-1, keepdim=True) / n  # [B, C, 1]
        return (x - mean) * torch.rsqrt(var + self.eps) * mask


class AttentionLayer(nn.Module):
    """Single-head attention inside a centred window of ``window`` frames.

    Queries and keys are 1x1 projections to ``channels // r1`` channels, values to
    ``channels // r2``; the attended values pass a ReLU and a 1x1 projection back to
    ``channels``:

        out_t = m_t * W_o ReLU( sum_{|s-t| <= w//2, m_s} softmax_s(q_t . k_s / sqrt(C/r1)) v_s )

    Self-attention (encoder): q, k, v all read ``x``. Cross-attention (decoder, when
    ``memory`` is given): q and k read the decoder's features ``x`` and v reads ``memory``,
    the previous stage's features, as in the public ASFormer code.
    """

    def __init__(self, channels: int, r1: int, r2: int, window: int):
        super().__init__()
        for name, r in (("r1", r1), ("r2", r2)):
            if r < 1 or channels % r != 0:
                raise ValueError(f"{name}: expected a divisor of channels={channels}, got {r}")
        if window < 1:
            raise ValueError(f"window: expected an int >= 1, got {window}")
        self.window = window
        self.query = nn.Conv1d(channels, channels // r1, 1)
        self.key = nn.Conv1d(channels, channels // r1, 1)
        self.value = nn.Conv1d(channels, channels // r2, 1)
        self.conv_out = nn.Conv1d(channels // r2, channels, 1)

    def forward(self, x: torch.Tensor, mask: torch.Tensor, memory: torch.Tensor | None = None) -> torch.Tensor:
        # x, memory [B, C, T], mask [B, 1, T] float
        source = x if memory is None else memory
        q = self.query(x).transpose(1, 2)  # [B, T, C/r1]
        k = self.key(x).transpose(1, 2)  # [B, T, C/r1]
        v = self.value(source).transpose(1, 2)  # [B, T, C/r2]
        att = windowed_attention(q, k, v, self.window, key_mask=mask[:, 0] > 0)  # [B, T, C/r2]
        return self.conv_out(torch.relu(att.transpose(1, 2))) * mask  # [B, C, T]


class ASFormerBlock(nn.Module):
    """One block (the paper's attention module): dilated convolution feed-forward, attention
    on its instance-normalised output added with weight ``alpha``, a 1x1 convolution,
    dropout and a residual connection; padded frames are zeroed at the end so they never
    reach real frames through the next block's convolution.

    ``forward(x [B, C, T], mask [B, 1, T] float, memory [B, C, T] or None) -> [B, C, T]``;
    with ``memory`` the attention is the decoders' cross-attention (values from memory).
    """

    def __init__(self, dilation: int, channels: int, r1: int, r2: int, window: int, alpha: float, dropout: float):
        super().__init__()
        self.alpha = alpha
        self.feed_forward = ConvFeedForward(dilation, channels, channels)
        self.norm = MaskedInstanceNorm1d()
        self.attention = AttentionLayer(channels, r1, r2, window)
        self.conv_1x1 = nn.Conv1d(channels, channels, 1)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, mask: torch.Tensor, memory: torch.Tensor | None = None) -> torch.Tensor:
        # x [B, C, T], mask [B, 1, T] float, memory [B, C, T] or None
        out = self.feed_forward(x)
        out = self.alpha * self.attention(self.norm(out, mask), mask, memory) + out
        out = self.dropout(self.conv_1x1(out))
        return (x + out) * mask

"""Attention written out by hand, head by head, for the property tests.

It reads the weights of an :class:`actseg_lib.nn.attention.Attention` (``q``, ``kv`` with
the keys' H d rows before the values', ``out``) and recomputes the layer with explicit
per-head slices and an explicit softmax, so a test that compares a model's part with it
checks *which tensor queries which*: a swapped query and key/value, a mask inverted or
ignored, or heads cut along the wrong axis give another result.
"""

from __future__ import annotations

import math

import torch
from torch.nn import functional as F


def attention_by_hand(
    att, queries: torch.Tensor, context: torch.Tensor | None = None, allowed: torch.Tensor | None = None
) -> torch.Tensor:
    """``queries [B, N, D]`` read ``context [B, M, D]`` (``queries`` itself when None)
    through ``att``'s weights; ``allowed [B, N, M]`` bool (None: every key). A query with
    no allowed key gets exactly 0."""
    context = queries if context is None else context
    H, d = att.heads, att.dim_head
    q = F.linear(queries, att.q.weight, att.q.bias)  # [B, N, H d]
    kv = F.linear(context, att.kv.weight, att.kv.bias)  # [B, M, 2 H d]
    k, v = kv[..., : H * d], kv[..., H * d :]
    heads = []
    for h in range(H):
        part = slice(h * d, (h + 1) * d)
        scores = q[..., part] @ k[..., part].transpose(-1, -2) / math.sqrt(d)  # [B, N, M]
        if allowed is not None:
            scores = scores.masked_fill(~allowed, float("-inf"))
        weights = torch.softmax(scores, dim=-1).nan_to_num(0.0)  # a row with no key: 0
        heads.append(weights @ v[..., part])
    out = F.linear(torch.cat(heads, dim=-1), att.out.weight, att.out.bias)  # [B, N, D]
    if allowed is not None:
        out = out * allowed.any(-1, keepdim=True)
    return out


def weights_by_hand(att, queries: torch.Tensor, context: torch.Tensor | None = None) -> torch.Tensor:
    """The softmax weights ``[B, H, N, M]`` of ``queries`` over ``context`` (no mask)."""
    context = queries if context is None else context
    H, d = att.heads, att.dim_head
    q = F.linear(queries, att.q.weight, att.q.bias)
    k = F.linear(context, att.kv.weight, att.kv.bias)[..., : H * d]
    return torch.stack(
        [
            torch.softmax(
                q[..., h * d : (h + 1) * d] @ k[..., h * d : (h + 1) * d].transpose(-1, -2) / math.sqrt(d), -1
            )
            for h in range(H)
        ],
        dim=1,
    )


def layer_norm_by_hand(norm, x: torch.Tensor) -> torch.Tensor:
    """``norm`` (an ``nn.LayerNorm``) written out: standardise over the last axis, scale, shift."""
    mean = x.mean(-1, keepdim=True)
    var = x.var(-1, unbiased=False, keepdim=True)
    return (x - mean) / torch.sqrt(var + norm.eps) * norm.weight + norm.bias


def randomise_norms(module: torch.nn.Module, seed: int = 0) -> None:
    """Give every LayerNorm its own random scale and shift, so a test can tell the norms
    apart (at their initial 1 and 0 they are interchangeable)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in module.modules():
            if isinstance(m, torch.nn.LayerNorm) and m.elementwise_affine:
                m.weight.copy_(0.5 + torch.rand(m.weight.shape, generator=g))
                m.bias.copy_(torch.randn(m.bias.shape, generator=g) * 0.5)

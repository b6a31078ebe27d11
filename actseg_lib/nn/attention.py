"""Multi-head attention between two token sets, the one place the models call
PyTorch's ``scaled_dot_product_attention``.

The models own their projections (``q``: D -> D, ``kv``: D -> 2D, and an output
projection they apply themselves) and decide which tokens meet; this function does the
head split, the attention and the head merge. With ``return_weights`` it computes the
softmax explicitly instead of calling the fused kernel (for the book's attention maps;
no dropout then).
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F


def multihead_attention(
    q_proj: nn.Module,
    kv_proj: nn.Module,
    queries: torch.Tensor,
    context: torch.Tensor,
    heads: int,
    dropout_p: float = 0.0,
    return_weights: bool = False,
):
    """``queries [N, Lq, D]`` attend to ``context [N, Lk, D]`` -> ``(out [N, Lq, D], weights)``,
    ``out`` with the heads merged (before any output projection), ``weights``
    ``[N, heads, Lq, Lk]`` when ``return_weights`` else None."""
    N, Lq, D = queries.shape
    Lk = context.shape[1]
    q = q_proj(queries).reshape(N, Lq, heads, D // heads).transpose(1, 2)  # [N, H, Lq, Dh]
    k, v = kv_proj(context).reshape(N, Lk, 2, heads, D // heads).permute(2, 0, 3, 1, 4)  # 2 x [N, H, Lk, Dh]
    weights = None
    if return_weights:
        weights = torch.softmax(q @ k.transpose(-2, -1) / math.sqrt(D // heads), dim=-1)  # [N, H, Lq, Lk]
        out = weights @ v
    else:
        out = F.scaled_dot_product_attention(q, k, v, dropout_p=dropout_p)
    return out.transpose(1, 2).reshape(N, Lq, D), weights

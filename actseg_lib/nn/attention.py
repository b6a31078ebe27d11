"""Multi-head attention, the one attention module of the book's models, and the one place
they reach PyTorch's ``scaled_dot_product_attention``.

For queries Q = X W_q, keys and values [K, V] = C W_kv (C = X for self-attention), heads
of width d, and an optional boolean mask M (query i may read key j where M[i, j]):

    Attention(Q, K, V) = softmax(Q K^T / sqrt(d) + log M) V

A query with no key to read (a row of M all False) reads nothing: its output is exactly
zero, before and after the output projection (a softmax over nothing would be NaN, and
the projection's bias would otherwise leak in). Which tokens meet is the model's
business: each paper builds its own queries, contexts and masks around this module.
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F


def masked_attention(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    allowed: torch.Tensor | None = None,
    dropout_p: float = 0.0,
    return_weights: bool = False,
):
    """``softmax(q k^T / sqrt(d) + log M) v`` per head: ``q [B, H, N, d]``, ``k``, ``v``
    ``[B, H, M, d]``, ``allowed [B, N, M]`` or ``[B, H, N, M]`` bool (None: every key).

    Returns the output ``[B, H, N, d]``, or ``(output, weights [B, H, N, M])`` with
    ``return_weights`` (the softmax computed explicitly, no dropout; weights exactly 0
    where not allowed). A query with no allowed key gets a zero output."""
    if allowed is None:
        if return_weights:
            weights = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(q.shape[-1]), dim=-1)
            return weights @ v, weights
        return F.scaled_dot_product_attention(q, k, v, dropout_p=dropout_p)
    if allowed.dim() == 3:
        allowed = allowed[:, None]  # [B, 1, N, M]: the same mask for every head
    reads = allowed.any(dim=-1, keepdim=True)  # [B, 1, N, 1]
    # a row with nothing to read would be softmax over -inf (NaN): let it read all, then zero it
    safe = allowed | ~reads
    if return_weights:
        scores = (q @ k.transpose(-1, -2) / math.sqrt(q.shape[-1])).masked_fill(~safe, float("-inf"))
        weights = torch.softmax(scores, dim=-1) * reads
        return weights @ v, weights
    out = F.scaled_dot_product_attention(q, k, v, attn_mask=safe, dropout_p=dropout_p)
    return out * reads


class Attention(nn.Module):
    """Multi-head attention of ``queries [B, N, D]`` over ``context [B, M, D]``
    (self-attention when ``context`` is None), with an optional boolean mask
    ``allowed [B, N, M]``.

    Args:
        dim: D, the width of queries, context and output.
        heads: H.
        dim_head: d, each head's width (default D / H); the heads together are H d wide.
        bias: biases in the query and key/value projections.
        out_bias: a bias in the output projection (SigFormer's official cross-attention
            has none).
        dropout: on the attention weights, in training only.

    Bookkeeping, for the book's analyses: ``score_pairs`` is the number of query-key
    scores of the last call per sample and head (N M, the attention's cost); with
    ``record = True`` the call computes the softmax explicitly (no dropout) and keeps
    the weights ``[B, H, N, M]`` in ``weights``.
    """

    def __init__(
        self,
        dim: int,
        heads: int,
        dim_head: int | None = None,
        bias: bool = True,
        dropout: float = 0.0,
        out_bias: bool = True,
    ):
        super().__init__()
        if dim_head is None:
            if dim % heads:
                raise ValueError(f"Attention: dim {dim} is not divisible by heads {heads}")
            dim_head = dim // heads
        inner = heads * dim_head
        self.heads, self.dim_head, self.dropout = heads, dim_head, dropout
        self.q = nn.Linear(dim, inner, bias=bias)
        self.kv = nn.Linear(dim, 2 * inner, bias=bias)  # keys, then values
        self.out = nn.Linear(inner, dim, bias=out_bias)
        self.record = False
        self.weights = None
        self.score_pairs = 0

    def forward(
        self, queries: torch.Tensor, context: torch.Tensor | None = None, allowed: torch.Tensor | None = None
    ) -> torch.Tensor:
        context = queries if context is None else context
        B, N, _ = queries.shape
        M = context.shape[1]
        H, d = self.heads, self.dim_head
        q = self.q(queries).reshape(B, N, H, d).transpose(1, 2)  # [B, H, N, d]
        k, v = self.kv(context).reshape(B, M, 2, H, d).permute(2, 0, 3, 1, 4)  # 2 x [B, H, M, d]
        self.score_pairs = N * M
        if self.record:
            out, weights = masked_attention(q, k, v, allowed, return_weights=True)
            self.weights = weights.detach()
        else:
            out = masked_attention(q, k, v, allowed, dropout_p=self.dropout if self.training else 0.0)
        out = self.out(out.transpose(1, 2).reshape(B, N, H * d))  # [B, N, D]
        if allowed is not None:  # a query with nothing to read gets nothing, not the output bias
            out = out * allowed.any(dim=-1, keepdim=True).to(out.dtype)
        return out

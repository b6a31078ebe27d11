"""Centred local-window attention in memory linear in the sequence length.

For queries ``q_t``, keys ``k_s`` and values ``v_s`` over frames ``t, s = 0..T-1`` and a
window ``w``, frame ``t`` attends only to the frames within ``h = w // 2`` of itself
(and, with a key mask, only to real ones):

    N(t)   = { s : |s - t| <= h  and  key_mask[s] }
    a_ts   = exp(q_t . k_s / sqrt(D_k)) / sum_{s' in N(t)} exp(q_t . k_s' / sqrt(D_k)),  s in N(t)
    out_t  = sum_{s in N(t)} a_ts v_s          (0 when N(t) is empty)

So each query sees at most ``2h + 1`` keys (``w + 1`` for even ``w``, ``w`` for odd).

Computing the full ``T x T`` score matrix and masking it would cost memory quadratic in
``T``; for a 20 000-frame video that is 1.6 GB per head in float32. :func:`windowed_attention`
instead cuts the queries into blocks of ``w`` consecutive frames. Every query of block
``b`` (frames ``b*w .. b*w + w-1``) has its window inside the key band
``b*w - h .. b*w + w-1 + h``, of length ``w + 2h``, so each block needs a ``w x (w + 2h)``
score matrix: ``O(T * w)`` memory in all. Inside the band, query ``i`` of the block (frame
``b*w + i``) and band key ``j`` (frame ``b*w - h + j``) are ``j - h - i`` frames apart, so the
centred window is ``i <= j <= i + 2h``, the same boolean pattern for every block.

:func:`dense_windowed_attention` is the quadratic reference, for tests and benchmarks.
"""

from __future__ import annotations

import torch
from torch.nn import functional as F

__all__ = ["band_mask", "dense_windowed_attention", "windowed_attention"]


def _check_inputs(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, window, key_mask):
    """Validate and bring single-head ``[B, T, D]`` inputs to ``[B, 1, T, D]``.

    Returns ``(q, k, v, squeeze)`` where ``squeeze`` says whether to drop the head axis again.
    """
    if isinstance(window, bool) or not isinstance(window, int) or window < 1:
        raise ValueError(f"window: expected an int >= 1, got {window!r}")
    if q.dim() not in (3, 4):
        raise ValueError(f"q: expected [B, H, T, D_k] or [B, T, D_k], got shape {tuple(q.shape)}")
    if k.dim() != q.dim() or v.dim() != q.dim():
        raise ValueError(
            f"k, v: expected the same number of dimensions as q ({q.dim()}), "
            f"got k {tuple(k.shape)} and v {tuple(v.shape)}"
        )
    squeeze = q.dim() == 3
    if squeeze:
        q, k, v = q.unsqueeze(1), k.unsqueeze(1), v.unsqueeze(1)
    if k.shape != q.shape:
        raise ValueError(f"k: expected the shape of q {tuple(q.shape)}, got {tuple(k.shape)}")
    if v.shape[:3] != q.shape[:3]:
        raise ValueError(f"v: expected leading dimensions [B, H, T] = {tuple(q.shape[:3])}, got {tuple(v.shape)}")
    B, _, T, _ = q.shape
    if key_mask is not None:
        if key_mask.dtype != torch.bool:
            raise ValueError(f"key_mask: expected a bool tensor (True = real frame), got dtype {key_mask.dtype}")
        if key_mask.shape != (B, T):
            raise ValueError(f"key_mask: expected shape {(B, T)}, got {tuple(key_mask.shape)}")
    return q, k, v, squeeze


def band_mask(T: int, window: int, device=None) -> torch.Tensor:
    """``[T, T]`` bool, True where ``|s - t| <= window // 2`` (row = query t, column = key s)."""
    pos = torch.arange(T, device=device)
    return (pos[:, None] - pos[None, :]).abs() <= window // 2


def _attend(q, k, v, allowed):
    """Softmax attention restricted to ``allowed`` keys, with queries that have none set to 0.

    ``scaled_dot_product_attention`` leaves a row with no allowed key undefined across
    versions and backends (NaN in some), so such rows are given every key and then zeroed.
    """
    has_key = allowed.any(dim=-1, keepdim=True)  # [..., Lq, 1]
    out = F.scaled_dot_product_attention(q, k, v, attn_mask=allowed | ~has_key)
    return out.masked_fill(~has_key, 0.0)


def windowed_attention(
    q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, window: int, key_mask: torch.Tensor | None = None
) -> torch.Tensor:
    """Centred local-window attention, computed block by block (memory ``O(T * window)``).

    Args:
        q: ``[B, H, T, D_k]`` queries (or ``[B, T, D_k]`` for a single head).
        k: keys, the shape of ``q``.
        v: ``[B, H, T, D_v]`` values (``[B, T, D_v]`` for a single head).
        window: ``w >= 1``; frame ``t`` attends to the frames ``s`` with ``|s - t| <= w // 2``.
        key_mask: ``[B, T]`` bool, True for real frames; padded frames are never attended to.

    Returns:
        ``[B, H, T, D_v]`` (``[B, T, D_v]`` for single-head input). A query with no real frame
        in its window gets 0.
    """
    q, k, v, squeeze = _check_inputs(q, k, v, window, key_mask)
    B, H, T, Dk = q.shape
    Dv = v.shape[-1]
    w, h = window, window // 2
    nb = -(-T // w)  # number of query blocks
    tail = nb * w - T  # frames added so the blocks tile the sequence
    band = w + 2 * h

    # Blocks go into the batch dimension so that scaled_dot_product_attention sees the 4-D
    # [batch, heads, L, D] layout its fused kernels take (a 5-D input falls back to the
    # reference path, which materialises every score and a float copy of the mask).
    def blocks_first(x: torch.Tensor) -> torch.Tensor:
        # [B, H, nb, L, D] -> [B * nb, H, L, D]
        return x.transpose(1, 2).reshape(B * nb, H, x.shape[-2], x.shape[-1])

    qb = blocks_first(F.pad(q, (0, 0, 0, tail)).view(B, H, nb, w, Dk))  # [B*nb, H, w, D_k]

    # keys and values padded by h on the left and h + tail on the right, then cut into
    # overlapping bands that start every w frames: unfold gives [B, H, nb, D, band]
    def bands(x: torch.Tensor) -> torch.Tensor:
        x = F.pad(x, (0, 0, h, h + tail))  # [B, H, nb*w + 2h, D]
        return blocks_first(x.unfold(2, band, w).transpose(-1, -2))  # [B*nb, H, band, D]

    kb, vb = bands(k), bands(v)

    # which band positions are real frames: padding added here counts as not real
    real = torch.ones(B, T, dtype=torch.bool, device=q.device) if key_mask is None else key_mask
    real = F.pad(real, (h, h + tail), value=False).unfold(1, band, w)  # [B, nb, band]

    i = torch.arange(w, device=q.device)[:, None]
    j = torch.arange(band, device=q.device)[None, :]
    centred = (j >= i) & (j <= i + 2 * h)  # [w, band], the same for every block
    allowed = (centred & real[:, :, None, :]).view(B * nb, 1, w, band)  # broadcast over heads

    out = _attend(qb, kb, vb, allowed)  # [B*nb, H, w, D_v]
    out = out.view(B, nb, H, w, Dv).transpose(1, 2).reshape(B, H, nb * w, Dv)[:, :, :T]  # [B, H, T, D_v]
    return out.squeeze(1) if squeeze else out


def dense_windowed_attention(
    q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, window: int, key_mask: torch.Tensor | None = None
) -> torch.Tensor:
    """The same result as :func:`windowed_attention` from the full ``T x T`` score matrix and
    a band mask: quadratic memory, a reference for tests and benchmarks only."""
    q, k, v, squeeze = _check_inputs(q, k, v, window, key_mask)
    B, _, T, _ = q.shape
    allowed = band_mask(T, window, device=q.device)  # [T, T]
    if key_mask is not None:
        allowed = allowed & key_mask[:, None, None, :]  # [B, 1, T, T]
    else:
        allowed = allowed.expand(B, 1, T, T)
    out = _attend(q, k, v, allowed)  # [B, H, T, D_v]
    return out.squeeze(1) if squeeze else out

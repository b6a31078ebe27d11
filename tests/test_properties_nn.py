"""The shared blocks of ``nn/`` against hand-written references: which tensor queries which
in the attention module, the frames each centred window covers (and how the windows of
neighbouring frames overlap across the blocked computation's block edges), the frame
mask, and the taps of the dilated temporal convolutions.

Each test was checked by breaking its property in the library (``tools/mutations.py``).
"""

import pytest
import torch
from reference_attention import attention_by_hand
from torch.nn import functional as F

from actseg_lib.nn import frame_mask
from actseg_lib.nn.attention import Attention
from actseg_lib.nn.temporal_conv import ConvFeedForward, DilatedResidualLayer
from actseg_lib.nn.windowed_attention import windowed_attention


def rand(*shape, seed=1):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize("record", [False, True])
@pytest.mark.parametrize("M", [5, 7])
def test_attention_queries_read_the_context_under_the_mask(M, record):
    """queries [B, N, D] ask, context [B, M, D] answers (M = N too, where a swap keeps the
    shapes); a query reads only its allowed keys, and one with none gets exactly 0."""
    torch.manual_seed(0)
    att = Attention(8, heads=2)
    att.record = record
    queries, context = rand(2, 5, 8), rand(2, M, 8, seed=2)
    allowed = torch.rand(2, 5, M, generator=torch.Generator().manual_seed(3)) > 0.4
    allowed[0, 1] = False  # a query with nothing to read
    allowed[1, 2] = True
    torch.testing.assert_close(att(queries, context), attention_by_hand(att, queries, context))
    out = att(queries, context, allowed)
    torch.testing.assert_close(out, attention_by_hand(att, queries, context, allowed))
    assert (out[0, 1] == 0).all()
    torch.testing.assert_close(att(queries), attention_by_hand(att, queries))  # self-attention


@pytest.mark.parametrize("window", [3, 4])
def test_each_frame_reads_exactly_its_centred_window_across_block_edges(window):
    """d out_t / d k_s is non-zero exactly for |s - t| <= window // 2: frame t's window
    covers the frames on both sides, and the windows of neighbouring frames overlap even
    where the blocked computation cuts the sequence into blocks of ``window`` frames."""
    T, h = 13, window // 2
    q, k, v = rand(1, T, 4), rand(1, T, 4, seed=2).requires_grad_(True), rand(1, T, 4, seed=3)
    reads = torch.zeros(T, T, dtype=torch.bool)
    out = windowed_attention(q, k, v, window)
    for t in range(T):
        (grad,) = torch.autograd.grad(out[0, t].sum(), k, retain_graph=True)
        reads[t] = grad[0].abs().sum(-1) > 0
    s = torch.arange(T)
    torch.testing.assert_close(reads, (s[:, None] - s[None, :]).abs() <= h)
    edge = window  # the first block edge: frames window - 1 and window sit in different blocks
    assert reads[edge - 1, edge - 1 - h : edge + h].all() and reads[edge, edge - h : edge + h + 1].all()


def test_frame_mask_is_one_on_real_frames():
    x = torch.zeros(2, 3, 5)
    mask = torch.tensor([[True, True, True, False, False], [True] * 5])
    torch.testing.assert_close(frame_mask(mask, x), torch.tensor([[[1.0, 1, 1, 0, 0]], [[1.0, 1, 1, 1, 1]]]))
    torch.testing.assert_close(frame_mask(None, x), torch.ones(2, 1, 5))


@pytest.mark.parametrize("dilation", [1, 2, 4])
def test_dilated_residual_layer_taps_t_minus_d_t_and_t_plus_d(dilation):
    """H_t <- m_t (H_t + W_2 ReLU(W_1[-1] H_{t-d} + W_1[0] H_t + W_1[+1] H_{t+d} + b_1) + b_2),
    frames outside the sequence reading 0."""
    torch.manual_seed(0)
    layer = DilatedResidualLayer(dilation, 3, dropout=0.5).eval()
    T = 11
    x = rand(1, 3, T)
    mask = torch.ones(1, 1, T)
    mask[0, 0, 9:] = 0
    W, b = layer.conv_dilated.weight, layer.conv_dilated.bias  # [C, C, 3]
    padded = F.pad(x, (dilation, dilation))
    hidden = torch.stack(
        [
            W[:, :, 0] @ padded[0, :, t]
            + W[:, :, 1] @ padded[0, :, t + dilation]
            + W[:, :, 2] @ padded[0, :, t + 2 * dilation]
            + b
            for t in range(T)
        ],
        dim=-1,
    )  # [C, T]
    out = layer.conv_1x1.weight[:, :, 0] @ torch.relu(hidden) + layer.conv_1x1.bias[:, None]
    torch.testing.assert_close(layer(x, mask), ((x[0] + out) * mask[0])[None])


def test_conv_feed_forward_taps_are_dilated_and_centred():
    torch.manual_seed(0)
    ffn = ConvFeedForward(4, 3, 2)
    x = rand(1, 3, 12)
    W, b = ffn.conv.weight, ffn.conv.bias
    padded = F.pad(x, (4, 4))
    expected = torch.stack(
        [
            torch.relu(
                W[:, :, 0] @ padded[0, :, t] + W[:, :, 1] @ padded[0, :, t + 4] + W[:, :, 2] @ padded[0, :, t + 8] + b
            )
            for t in range(12)
        ],
        dim=-1,
    )
    torch.testing.assert_close(ffn(x), expected[None])

"""The centred local-window attention: the band it attends to, padding, and linear memory."""

import time

import pytest
import torch
from torch.nn import functional as F

from actseg_lib.nn.windowed_attention import band_mask, dense_windowed_attention, windowed_attention


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """Small tensors: a second thread only adds synchronisation, which costs milliseconds
    per call when another process shares the two cores."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def qkv(B=2, H=3, T=20, Dk=5, Dv=4, seed=0):
    g = torch.Generator().manual_seed(seed)
    return (
        torch.randn(B, H, T, Dk, generator=g),
        torch.randn(B, H, T, Dk, generator=g),
        torch.randn(B, H, T, Dv, generator=g),
    )


def softmax_reference(q, k, v, window, key_mask=None):
    """Written out by hand, independent of the library: scores, -inf outside the band and on
    padded keys, softmax, and 0 for a query with nothing to attend to."""
    T = q.shape[-2]
    t = torch.arange(T)
    allowed = (t[:, None] - t[None, :]).abs() <= window // 2  # [T, T]
    if key_mask is not None:
        allowed = allowed & key_mask[:, None, None, :]  # [B, 1, T, T]
    scores = q @ k.transpose(-1, -2) / q.shape[-1] ** 0.5  # [B, H, T, T]
    scores = scores.masked_fill(~allowed, float("-inf"))
    weights = torch.softmax(scores, dim=-1).nan_to_num(0.0)  # all -inf rows -> 0
    return weights @ v


@pytest.mark.parametrize("window", [1, 2, 3, 4, 8])
@pytest.mark.parametrize("T", [1, 3, 7, 16, 37])
def test_matches_dense_band_attention(T, window):
    q, k, v = qkv(T=T, seed=T * 10 + window)
    key_mask = torch.rand(2, T, generator=torch.Generator().manual_seed(T)) > 0.25
    key_mask[0] = True  # one sequence without padding
    for km in (None, key_mask):
        expected = softmax_reference(q, k, v, window, km)
        torch.testing.assert_close(windowed_attention(q, k, v, window, km), expected)
        torch.testing.assert_close(dense_windowed_attention(q, k, v, window, km), expected)


def test_single_head_shape():
    q, k, v = qkv(B=2, H=1, T=11)
    out = windowed_attention(q[:, 0], k[:, 0], v[:, 0], 4)
    assert out.shape == (2, 11, 4)
    torch.testing.assert_close(out, windowed_attention(q, k, v, 4)[:, 0])


def test_band_mask_is_centred():
    m = band_mask(7, 4)
    assert m[3].tolist() == [False, True, True, True, True, True, False]
    assert m.sum(dim=1).tolist() == [3, 4, 5, 5, 5, 4, 3]


@pytest.mark.parametrize("window", [2, 5, 8])
def test_only_keys_inside_the_window_matter(window):
    T, t, h = 30, 13, window // 2
    q, k, v = qkv(B=1, H=2, T=T, seed=window)
    base = windowed_attention(q, k, v, window)[..., t, :]
    for s in range(T):
        k2, v2 = k.clone(), v.clone()
        k2[..., s, :] += 3.0
        v2[..., s, :] += 3.0
        changed = not torch.allclose(windowed_attention(q, k2, v2, window)[..., t, :], base)
        assert changed == (abs(s - t) <= h), f"key {s} for query {t}, window {window}"


def test_padded_keys_have_no_influence():
    T, window = 25, 8
    q, k, v = qkv(B=2, H=2, T=T)
    key_mask = torch.ones(2, T, dtype=torch.bool)
    key_mask[1, 18:] = False
    key_mask[1, 5] = False  # a hole inside the sequence, too
    base = windowed_attention(q, k, v, window, key_mask)
    k2, v2 = k.clone(), v.clone()
    k2[1, :, 18:] = 1e3 * torch.randn_like(k2[1, :, 18:])
    v2[1, :, 18:] = 1e3
    v2[1, :, 5] = -1e3
    torch.testing.assert_close(windowed_attention(q, k2, v2, window, key_mask), base)


def test_no_nan_when_the_window_is_all_padding():
    T, window = 20, 4
    q, k, v = qkv(B=1, H=2, T=T)
    key_mask = torch.ones(1, T, dtype=torch.bool)
    key_mask[0, 10:] = False  # frames 13.. have only padded keys within 2 frames
    q.requires_grad_(True)
    out = windowed_attention(q, k, v, window, key_mask)
    assert torch.isfinite(out).all()
    assert (out[:, :, 13:] == 0).all() and (out[:, :, :12].abs().sum(-1) > 0).all()
    out.sum().backward()
    assert torch.isfinite(q.grad).all()
    # and a fully padded sequence
    out = windowed_attention(q, k, v, window, torch.zeros(1, T, dtype=torch.bool))
    assert (out == 0).all()


def test_memory_is_linear_in_T():
    """T = 20 000, window 512: the blocked computation holds O(T * window) numbers, while
    a T x T score matrix alone would be 1.6 GB per head; measured with the profiler."""
    T, window, D = 20_000, 512, 16
    q, k, v = (torch.randn(1, 1, T, D) for _ in range(3))
    start = time.perf_counter()
    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU], profile_memory=True) as prof:
        out = windowed_attention(q, k, v, window)
    elapsed = time.perf_counter() - start
    assert out.shape == (1, 1, T, D) and torch.isfinite(out).all()
    largest = max(e.cpu_memory_usage for e in prof.key_averages())
    dense_scores = T * T * 4
    blocked_scores = T * (window + 2 * (window // 2)) * 4  # one w x 2w block per w queries
    assert largest <= 3 * blocked_scores < dense_scores / 5, (largest, blocked_scores, dense_scores)
    assert elapsed < 5.0


def test_agrees_with_sdpa_when_window_covers_everything():
    q, k, v = qkv(T=9)
    torch.testing.assert_close(windowed_attention(q, k, v, 18), F.scaled_dot_product_attention(q, k, v))


@pytest.mark.parametrize("bad", [0, -3, 2.0, True])
def test_bad_window(bad):
    q, k, v = qkv(T=5)
    with pytest.raises(ValueError, match="window"):
        windowed_attention(q, k, v, bad)


def test_bad_shapes():
    q, k, v = qkv(T=5)
    with pytest.raises(ValueError, match="q"):
        windowed_attention(q[0, 0], k[0, 0], v[0, 0], 2)
    with pytest.raises(ValueError, match="k"):
        windowed_attention(q, k[:, :, :4], v, 2)
    with pytest.raises(ValueError, match="v"):
        windowed_attention(q, k, v[:, :, :4], 2)
    with pytest.raises(ValueError, match="key_mask"):
        windowed_attention(q, k, v, 2, torch.ones(2, 4, dtype=torch.bool))
    with pytest.raises(ValueError, match="key_mask"):
        windowed_attention(q, k, v, 2, torch.ones(2, 5))

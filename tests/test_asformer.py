"""ASFormer: output layout, padding that does not leak, the encoder's exact reach, registry."""

import math

import pytest
import torch
from torch import nn

from actseg_lib.models import build_model, count_parameters
from actseg_lib.models.asformer import ASFormer, receptive_field
from actseg_lib.nn.asformer_block import AttentionLayer, MaskedInstanceNorm1d
from actseg_lib.nn.windowed_attention import dense_windowed_attention


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """These models are tiny: a second thread only adds synchronisation, which costs
    milliseconds per convolution when another process shares the two cores."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def small_model(num_layers=4, num_decoders=2, in_channels=6, num_classes=5, seed=0):
    torch.manual_seed(seed)
    return ASFormer(
        in_channels=in_channels,
        num_classes=num_classes,
        num_decoders=num_decoders,
        num_layers=num_layers,
        num_f_maps=16,
        r1=2,
        r2=2,
        channel_masking_rate=0.3,
        dropout=0.5,
    )


class NoNorm(nn.Module):
    """Stands in for the instance norm, whose whole-sequence statistics are a global path."""

    def forward(self, x, mask):
        return x * mask


def test_output_shape_and_padded_frames_are_zero():
    model = small_model().eval()
    x = torch.randn(2, 40, 6)
    mask = torch.ones(2, 40, dtype=torch.bool)
    mask[1, 27:] = False
    with torch.no_grad():
        out, feats = model(x, mask, return_features=True)
    assert out.shape == (3, 2, 5, 40)  # [S, B, K, T], S = 1 + num_decoders
    assert feats.shape == (2, 16, 40)
    assert (out[:, 1, :, 27:] == 0).all() and (feats[1, :, 27:] == 0).all()
    assert torch.isfinite(out).all()
    assert model(x).shape == (3, 2, 5, 40)  # mask=None: every frame real


def test_padding_does_not_leak():
    """A padded batch gives, on real frames, what each sequence gives alone."""
    model = small_model(num_layers=5).eval()
    lengths = [50, 33, 7]
    seqs = [torch.randn(n, 6, generator=torch.Generator().manual_seed(n)) for n in lengths]
    x = torch.zeros(len(seqs), max(lengths), 6)
    mask = torch.zeros(len(seqs), max(lengths), dtype=torch.bool)
    for b, s in enumerate(seqs):
        x[b, : len(s)] = s
        x[b, len(s) :] = 100.0  # garbage in the padding must not matter
        mask[b, : len(s)] = True
    with torch.no_grad():
        batch, batch_feats = model(x, mask, return_features=True)
        for b, s in enumerate(seqs):
            alone, alone_feats = model(s[None], return_features=True)
            n = len(s)
            torch.testing.assert_close(batch[:, b, :, :n], alone[:, 0], atol=1e-5, rtol=1e-4)
            torch.testing.assert_close(batch_feats[b, :, :n], alone_feats[0], atol=1e-5, rtol=1e-4)


@pytest.mark.parametrize("t", [30, 33, 40])
def test_encoder_reach_is_exactly_the_receptive_field(t):
    """With the instance norm neutralised, encoder logits at frame t depend on input frames
    t - R .. t + R and on no other, R = sum_i 2^i + 2^i // 2 (dilation + half window). A
    window wider than centred (as the public code's block mask) would reach further."""
    num_layers, T = 4, 80
    R = receptive_field(num_layers)
    assert R == (1 + 0) + (2 + 1) + (4 + 2) + (8 + 4)
    model = small_model(num_layers=num_layers).double().eval()
    for block in model.encoder.layers:
        block.norm = NoNorm()
    x = torch.randn(1, T, 6, dtype=torch.float64)
    with torch.no_grad():
        base = model(x)[0, 0, :, t]  # encoder logits at frame t
        for s in (t - R - 1, t + R + 1, 0, T - 1, t - R, t + R):
            x2 = x.clone()
            x2[0, s] += 5.0
            changed = not torch.allclose(model(x2)[0, 0, :, t], base, rtol=0, atol=1e-12)
            assert changed == (abs(s - t) <= R), f"frame {s} vs frame {t}, reach {R}"


def test_instance_norm_is_the_only_global_path():
    model = small_model(num_layers=3).double().eval()
    x = torch.randn(1, 60, 6, dtype=torch.float64)
    x2 = x.clone()
    x2[0, 59] += 5.0
    with torch.no_grad():
        assert not torch.allclose(model(x)[0, 0, :, 5], model(x2)[0, 0, :, 5], rtol=0, atol=1e-12)


def test_masked_instance_norm_equals_instance_norm_without_padding():
    x = torch.randn(3, 8, 21)
    ones = torch.ones(3, 1, 21)
    torch.testing.assert_close(MaskedInstanceNorm1d()(x, ones), nn.InstanceNorm1d(8)(x))
    mask = ones.clone()
    mask[1, :, 15:] = 0
    y = MaskedInstanceNorm1d()(x, mask)
    torch.testing.assert_close(y[1:2, :, :15], nn.InstanceNorm1d(8)(x[1:2, :, :15]))
    assert (y[1, :, 15:] == 0).all()


def test_cross_attention_reads_values_from_memory():
    torch.manual_seed(0)
    layer = AttentionLayer(8, r1=2, r2=4, window=4)
    x, memory = torch.randn(2, 8, 15), torch.randn(2, 8, 15)
    mask = torch.ones(2, 1, 15)
    mask[1, :, 11:] = 0
    q = layer.query(x).transpose(1, 2)
    k = layer.key(x).transpose(1, 2)
    v = layer.value(memory).transpose(1, 2)  # values from the other stream, q and k from x
    att = dense_windowed_attention(q, k, v, 4, key_mask=mask[:, 0] > 0)
    expected = layer.conv_out(torch.relu(att.transpose(1, 2))) * mask
    torch.testing.assert_close(layer(x, mask, memory), expected)


def test_decoder_alphas_and_windows():
    model = small_model(num_layers=4, num_decoders=3)
    assert [d.layers[0].alpha for d in model.decoders] == [1.0, math.exp(-3), math.exp(-6)]
    assert all(b.alpha == 1.0 for b in model.encoder.layers)
    assert [b.attention.window for b in model.encoder.layers] == [1, 2, 4, 8]
    assert [b.feed_forward.conv.dilation[0] for b in model.decoders[0].layers] == [1, 2, 4, 8]


def test_trains():
    model = small_model().train()
    x = torch.randn(2, 30, 6)
    mask = torch.ones(2, 30, dtype=torch.bool)
    mask[0, 20:] = False
    out = model(x, mask)
    out.square().mean().backward()
    grads = [p.grad for p in model.parameters()]
    assert all(g is not None and torch.isfinite(g).all() for g in grads)


def test_bad_input():
    model = small_model()
    with pytest.raises(ValueError, match="x"):
        model(torch.randn(2, 30, 7))
    with pytest.raises(ValueError, match="mask"):
        model(torch.randn(2, 30, 6), torch.ones(2, 29, dtype=torch.bool))
    with pytest.raises(ValueError, match="r1"):
        AttentionLayer(10, r1=3, r2=2, window=2)
    with pytest.raises(ValueError, match="num_layers"):
        build_model("asformer", in_channels=6, num_classes=5, num_layers=0)


def test_registry():
    model = build_model("asformer", "reduced", in_channels=6, num_classes=7)
    assert isinstance(model, ASFormer)
    with torch.no_grad():
        assert model.eval()(torch.randn(1, 12, 6)).shape == (3, 1, 7, 12)  # reduced: 2 decoders
    full, reduced = build_model("asformer", "full"), build_model("asformer", "reduced")
    n_full, n_reduced = count_parameters(full), count_parameters(reduced)
    print(f"asformer parameters: full {n_full:,}, reduced {n_reduced:,}")
    assert n_full > n_reduced
    assert len(full.decoders) == 3 and len(full.encoder.layers) == 10
    no_decoder = build_model("asformer", in_channels=6, num_classes=7, num_decoders=0, num_layers=2)
    assert no_decoder(torch.randn(1, 5, 6)).shape == (1, 1, 7, 5)

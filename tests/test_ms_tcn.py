"""MS-TCN: shapes, the dilated receptive field, stages that refine probabilities, and
padding that does not leak."""

import pytest
import torch

from actseg_lib.models import build_model, count_parameters
from actseg_lib.models.ms_tcn import MSTCN, SingleStageTCN


def test_shapes_and_registry_sizes():
    model = build_model("ms_tcn", "reduced", in_channels=6, num_classes=5)
    out = model(torch.randn(2, 40, 6), torch.ones(2, 40, dtype=torch.bool))
    assert out.shape == (3, 2, 5, 40)  # [S, B, K, T], the reduced preset's 3 stages
    full = build_model("ms_tcn", "full", in_channels=2048, num_classes=48)
    assert len(full.stages) == 4 and all(len(s.layers) == 10 for s in full.stages)
    assert full.stages[0].conv_in.out_channels == 64
    assert count_parameters(full) > count_parameters(model)


@torch.no_grad()
def test_receptive_field_of_one_stage_is_two_to_the_layers():
    """After layers with dilations 1, 2, ..., 2^(L-1) frame t sees t +- (2^L - 1), no more."""
    torch.manual_seed(0)
    L = 4
    stage = SingleStageTCN(L, 8, 3, 4, dropout=0.0).double().eval()
    reach = 2**L - 1
    T, t = 80, 40
    x = torch.randn(1, 3, T, dtype=torch.double)
    mask = torch.ones(1, 1, T, dtype=torch.double)
    base = stage(x, mask)[0, :, t]
    for offset, should_change in ((reach, True), (reach + 1, False), (-reach, True), (-reach - 1, False)):
        y = x.clone()
        y[0, :, t + offset] += 5.0
        changed = not torch.allclose(stage(y, mask)[0, :, t], base)
        assert changed == should_change, f"offset {offset}"


@torch.no_grad()
def test_later_stages_read_the_previous_stage_probabilities():
    torch.manual_seed(1)
    model = MSTCN(in_channels=5, num_classes=3, num_stages=2, num_layers=2, num_f_maps=8, dropout=0.0).eval()
    seen = {}

    def record(module, args):
        seen["input"] = args[0]

    model.stages[1].register_forward_pre_hook(record)
    out = model(torch.randn(1, 12, 5))
    torch.testing.assert_close(seen["input"], torch.softmax(out[0], dim=1))


@torch.no_grad()
def test_padding_does_not_leak_into_real_frames():
    torch.manual_seed(2)
    model = build_model("ms_tcn", "reduced", in_channels=4, num_classes=3).eval()
    short, long = torch.randn(1, 30, 4), torch.randn(1, 50, 4)
    batch = torch.zeros(2, 50, 4)
    batch[0, :30], batch[1] = short[0], long[0]
    batch[0, 30:] = 100.0  # garbage in the padding must not matter
    mask = torch.arange(50)[None] < torch.tensor([[30], [50]])
    out = model(batch, mask)
    torch.testing.assert_close(out[:, 0, :, :30], model(short)[:, 0], atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(out[:, 1], model(long)[:, 0], atol=1e-5, rtol=1e-5)
    assert torch.all(out[:, 0, :, 30:] == 0)


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="num_stages"):
        MSTCN(in_channels=4, num_classes=3, num_stages=0, num_layers=1, num_f_maps=4, dropout=0.5)
    model = MSTCN(in_channels=4, num_classes=3, num_stages=1, num_layers=1, num_f_maps=4, dropout=0.5)
    with pytest.raises(ValueError, match="mask: expected shape"):
        model(torch.randn(2, 10, 4), torch.ones(2, 9, dtype=torch.bool))

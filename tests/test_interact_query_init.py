"""InterAct's ``query_init_std``: the scale of the initial queries Q^0 and nothing else
(the same draw at every scale, so runs with one seed are paired), N(0, 1) by default."""

import pytest
import torch

from actseg_lib.models import build_model, model_config

SMALL = dict(in_channels=75, num_classes=5, spatial="none", dim=16, heads=2, depth=3, num_stages=2, block_layers=1)


def built(**options):
    torch.manual_seed(0)
    return build_model("interact", "reduced", **SMALL, **options)


def test_the_query_scale_changes_q0_only_and_keeps_the_draw():
    default, one, small = built(), built(query_init_std=1.0), built(query_init_std=0.02)
    assert torch.equal(default.queries, one.queries)  # the default is N(0, 1)
    assert torch.allclose(small.queries, 0.02 * default.queries)
    for (name, a), (_, b) in zip(default.named_parameters(), small.named_parameters()):
        if name != "queries":
            assert torch.equal(a, b), name
    assert 0.8 < float(default.queries.detach().std()) < 1.2


def test_the_presets_keep_the_default_so_records_keep_their_keys():
    for size in ("full", "reduced"):
        assert "query_init_std" not in model_config("interact", size)["model"]


@pytest.mark.parametrize("bad", [0.0, -1.0])
def test_a_non_positive_query_scale_is_refused(bad):
    with pytest.raises(ValueError, match="query_init_std"):
        built(query_init_std=bad)

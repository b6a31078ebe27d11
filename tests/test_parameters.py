"""Parameter counts per named part: they add up to the model's trainable total, no tensor
is in two parts, none is forgotten, shared tensors count once, frozen ones not at all."""

import pytest
import torch
from torch import nn

from actseg_lib.models import build_model, count_parameters
from actseg_lib.parameters import parameter_breakdown, parameter_table


class Toy(nn.Module):
    def __init__(self, width=4):
        super().__init__()
        self.embed = nn.Linear(3, width)  # 3w + w
        self.blocks = nn.ModuleList([nn.Linear(width, width) for _ in range(2)])  # 2 (w^2 + w)
        self.norm = nn.LayerNorm(width)  # 2w
        self.queries = nn.Parameter(torch.zeros(5, width))  # 5w
        self.head = nn.Linear(width, 2)  # 2w + 2


def toy_parts(m):
    return {"embedding": m.embed, "blocks": list(m.blocks), "queries": m.queries, "head": [m.head, None]}


def test_parts_count_by_hand_and_the_rest_holds_what_is_unlisted():
    m, w = Toy(), 4
    counts = parameter_breakdown(m, toy_parts(m), rest="norms")
    assert counts == {
        "embedding": 4 * w,
        "blocks": 2 * (w * w + w),
        "queries": 5 * w,
        "head": 2 * w + 2,
        "norms": 2 * w,
    }
    assert list(counts) == ["embedding", "blocks", "queries", "head", "norms"]
    assert sum(counts.values()) == count_parameters(m)


def test_a_forgotten_tensor_an_overlap_and_a_foreign_tensor_are_errors():
    m = Toy()
    with pytest.raises(ValueError, match="in no part \\(norm.weight, norm.bias\\)"):
        parameter_breakdown(m, toy_parts(m))
    with pytest.raises(ValueError, match="parameter 'queries' is in two parts: 'queries' and 'all'"):
        parameter_breakdown(m, {**toy_parts(m), "all": m}, rest="norms")
    with pytest.raises(ValueError, match="not the model's"):
        parameter_breakdown(m, {**toy_parts(m), "other": nn.Linear(2, 2)}, rest="norms")
    with pytest.raises(ValueError, match="also the name of the rest"):
        parameter_breakdown(m, {"norms": m.norm}, rest="norms")
    with pytest.raises(TypeError, match="a part is"):
        parameter_breakdown(m, {"bad": "embed"})


def test_shared_tensors_count_once_and_frozen_ones_not_at_all():
    tied = nn.Sequential(nn.Linear(4, 4), nn.Linear(4, 4))
    tied[1].weight = tied[0].weight  # one tensor, two modules
    counts = parameter_breakdown(tied, {"first": tied[0], "second bias": tied[1].bias})
    assert counts == {"first": 20, "second bias": 4} and sum(counts.values()) == count_parameters(tied)
    frozen = Toy()
    frozen.embed.requires_grad_(False)
    counts = parameter_breakdown(frozen, toy_parts(frozen), rest="norms")
    assert counts["embedding"] == 0 and sum(counts.values()) == count_parameters(frozen)


def test_a_module_listed_with_its_child_in_one_part_counts_once():
    m = Toy()
    counts = parameter_breakdown(m, {"everything": [m, m.head]})
    assert counts == {"everything": count_parameters(m)}


def test_a_real_model_adds_up_to_its_total():
    model = build_model("ms_tcn", "reduced")
    parts = {f"stage {i + 1}": stage for i, stage in enumerate(model.stages)}
    counts = parameter_breakdown(model, parts)
    assert sum(counts.values()) == count_parameters(model) and len(counts) == len(model.stages)


def test_parameter_table_rows_shares_and_total():
    small, large = Toy(4), Toy(8)
    table = parameter_table({"reduced": small, "full": large}, toy_parts, rest="norms")
    assert table.columns == ("part", "reduced", "share", "full", "share")
    assert [row[0] for row in table.rows] == ["embedding", "blocks", "queries", "head", "norms", "**total**"]
    total = count_parameters(small)
    assert table.row("blocks")["reduced"] == f"{2 * (16 + 4):,}"
    assert table.rows[1][2] == f"{40 / total:.1%}"
    assert table.row("blocks")["full"] == f"{2 * (64 + 8):,}"
    assert table.rows[1][4] == f"{2 * (64 + 8) / count_parameters(large):.1%}"  # the full model's own total
    assert table.rows[-1] == ("**total**", f"**{total:,}**", "", f"**{count_parameters(large):,}**", "")
    assert table.data["full"]["queries"] == 40
    plain = parameter_table({"reduced": small}, toy_parts, rest="norms", shares=False)
    assert plain.columns == ("part", "reduced")

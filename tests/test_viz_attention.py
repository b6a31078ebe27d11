"""The attention grid: one colour scale for every panel, one colour bar, labels and tick
labels where they belong, and clear errors on maps it cannot draw."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from actseg_lib.viz import plot_attention_grid  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def test_every_panel_shares_one_scale_up_to_the_largest_weight():
    maps = [[np.full((3, 4), 0.1), np.full((3, 4), 0.7)], [np.eye(3, 4) * 0.2, np.zeros((3, 4))]]
    fig, axes = plot_attention_grid(maps)
    assert axes.shape == (2, 2)
    images = [ax.images[0] for ax in axes.ravel()]
    assert len({id(im.norm) for im in images}) == 1  # one Normalize object for all panels
    assert all(im.get_clim() == (0.0, 0.7) for im in images)
    bars = [ax for ax in fig.axes if ax not in axes.ravel()]
    assert len(bars) == 1 and bars[0].get_ylabel() == "attention weight"  # one colour bar
    assert all(not ax.get_legend() for ax in fig.axes)


def test_quantile_and_explicit_scales():
    maps = [np.linspace(0, 1, 101).reshape(1, 101), np.zeros((1, 101))]
    _, axes = plot_attention_grid(maps, vmax_quantile=0.9)
    expected = float(np.quantile(np.r_[np.linspace(0, 1, 101), np.zeros(101)], 0.9))
    assert 0.5 < expected < 1.0  # below the largest weight
    assert axes[0, 1].images[0].get_clim() == (0.0, pytest.approx(expected))
    _, axes = plot_attention_grid(maps, vmin=0.1, vmax=0.3)
    assert axes[0, 0].images[0].get_clim() == (0.1, 0.3)


def test_labels_and_tick_labels():
    maps = torch.rand(2, 3, 4, 5)  # rows x columns x queries x keys, as a tensor
    fig, axes = plot_attention_grid(
        maps,
        row_labels=["clip a", "clip b"],
        col_labels=["FAttn", "ZAttn", "BAttn"],
        xlabel="key frame",
        ylabel="query frame",
        xticklabels=range(1, 6),
        yticklabels=["q1", "q2", "q3", "q4"],
        tick_step=2,
        tick_fontsize=6,
        title="grid",
    )
    assert [ax.get_title() for ax in axes[0]] == ["FAttn", "ZAttn", "BAttn"]
    assert [ax.get_title() for ax in axes[1]] == ["", "", ""]
    assert axes[0, 0].get_ylabel() == "clip a\nquery frame" and axes[1, 0].get_ylabel() == "clip b\nquery frame"
    assert axes[0, 1].get_ylabel() == ""
    assert [ax.get_xlabel() for ax in axes[1]] == ["key frame"] * 3 and axes[0, 0].get_xlabel() == ""
    assert [t.get_text() for t in axes[1, 2].get_xticklabels()] == ["1", "3", "5"]
    assert list(axes[1, 2].get_xticks()) == [0, 2, 4]
    assert [t.get_text() for t in axes[0, 0].get_yticklabels()] == ["q1", "q3"]
    assert {t.get_fontsize() for t in axes[0, 0].get_yticklabels()} == {6}
    # query names only beside the first column
    assert not any(tick.label1.get_visible() for tick in axes[0, 1].yaxis.get_major_ticks())
    assert all(tick.label1.get_visible() for tick in axes[0, 0].yaxis.get_major_ticks())
    assert fig._suptitle.get_text() == "grid"


def test_a_mapping_is_one_row_titled_by_its_keys_and_maps_may_differ_in_width():
    fig, axes = plot_attention_grid({"stage 1": np.ones((4, 2)), "stage 2": np.ones((4, 8)) * 2})
    assert axes.shape == (1, 2) and [ax.get_title() for ax in axes[0]] == ["stage 1", "stage 2"]
    assert axes[0, 0].images[0].get_array().shape == (4, 2)
    assert axes[0, 0].images[0].get_clim() == (0.0, 2.0)


def test_drawing_into_given_axes_that_share_y():
    fig, axes = plt.subplots(2, 2, sharey="row")
    _, drawn = plot_attention_grid([np.ones((2, 2)), np.zeros((2, 2))], axes=axes[1], yticklabels=["a", "b"])
    assert drawn[0, 0] is axes[1, 0] and axes[1, 1].images and not axes[0, 0].images
    assert [t.get_text() for t in axes[1, 0].get_yticklabels()] == ["a", "b"]  # kept on the shared axis


def test_the_colour_bar_can_take_its_room_from_every_panel():
    fig, axes = plt.subplots(2, 2, gridspec_kw={"height_ratios": [0.2, 1]})
    plot_attention_grid([np.ones((2, 2)), np.zeros((2, 2))], axes=axes[1], colorbar_axes=axes)
    fig.canvas.draw()
    top, bottom = axes[0, 1].get_position(), axes[1, 1].get_position()
    assert top.x1 == pytest.approx(bottom.x1)  # the bar above keeps the width of the map below


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"maps": np.ones(3)}, "2-D"),
        ({"maps": [np.ones((2, 2, 2, 2, 2))]}, "2-D"),
        ({"maps": [[np.ones((2, 2))], [np.ones((2, 2)), np.ones((2, 2))]]}, "same number"),
        ({"maps": [np.ones((2, 2))], "col_labels": ["a", "b"]}, "col_labels"),
        ({"maps": [np.ones((2, 3))], "xticklabels": [1, 2]}, "xticklabels"),
        ({"maps": [], "col_labels": None}, "non-empty"),
    ],
)
def test_bad_maps_and_labels_are_refused(kwargs, match):
    with pytest.raises(ValueError, match=match):
        plot_attention_grid(**kwargs)


def test_uniform_attention_spreads_each_query_evenly_over_the_keys_it_may_read():
    from actseg_lib.nn.attention import Attention
    from actseg_lib.viz import uniform_attention

    torch.manual_seed(0)
    attention = Attention(8, 2)
    x = torch.randn(1, 5, 8)
    allowed = torch.tril(torch.ones(5, 5, dtype=torch.bool))[None]  # query i reads keys 0..i
    uniform = uniform_attention(attention)
    uniform.record = attention.record = True
    uniform(x, allowed=allowed)
    expected = allowed.float() / allowed.sum(-1, keepdim=True)  # 1 / (i + 1) on the allowed keys
    torch.testing.assert_close(uniform.weights, expected[:, None].expand(1, 2, 5, 5))
    attention(x, allowed=allowed)
    assert not torch.allclose(attention.weights, uniform.weights)  # the original keeps its own weights
    with pytest.raises(ValueError, match="holds no Attention"):
        uniform_attention(torch.nn.Linear(2, 2))

"""The class palette keeps classes apart, and t-SNE legends sit beside the map."""

import itertools

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402

from actseg_lib.viz import class_colors, plot_tsne  # noqa: E402


def cielab(rgb) -> np.ndarray:
    """sRGB in [0, 1] -> CIELAB (D65), for colour differences a reader perceives."""
    c = np.asarray(rgb[:3], float)
    c = np.where(c > 0.04045, ((c + 0.055) / 1.055) ** 2.4, c / 12.92)
    xyz = np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]]) @ c
    x, y, z = xyz / np.array([0.95047, 1.0, 1.08883])

    def f(t):
        return t ** (1 / 3) if t > 0.008856 else 7.787 * t + 16 / 116

    return np.array([116 * f(y) - 16, 500 * (f(x) - f(y)), 200 * (f(y) - f(z))])


def test_twenty_classes_get_twenty_colours_a_reader_tells_apart():
    colors = class_colors(range(20))
    lab = [cielab(colors[k]) for k in range(20)]
    distances = [np.linalg.norm(lab[i] - lab[j]) for i, j in itertools.combinations(range(20), 2)]
    # tab10's own closest pair (purple / pink) is 27.7; tab20's light twins were ~30 from
    # their dark halves and the 11th class (light blue) 32.5 from the 10th (cyan)
    assert min(distances) > 20
    eleventh = [np.linalg.norm(lab[10] - lab[j]) for j in range(10)]
    assert min(eleventh) > 40


def test_ten_classes_keep_tab10():
    colors = class_colors(range(10))
    expected = [matplotlib.colors.to_rgba(c) for c in matplotlib.colormaps["tab10"].colors]
    assert [colors[k] for k in range(10)] == expected


def test_tsne_legend_lies_outside_the_map():
    rng = np.random.default_rng(0)
    embedding = rng.normal(size=(60, 5))
    labels = np.repeat(np.arange(3), 20)
    fig = plot_tsne(embedding, labels, ["a", "b", "c"], "t")
    ax = fig.axes[0]
    fig.canvas.draw()
    legend_box = ax.get_legend().get_window_extent()
    axes_box = ax.get_window_extent()
    assert legend_box.x0 >= axes_box.x1  # to the right of the axes, over no point

"""The recognition chapters' standard figures: learning curves, the confusion matrix,
and a t-SNE map of clip embeddings coloured by class."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from .style import class_colors


def plot_learning_curves(history: list[dict], chance: float, metric: str = "top1"):
    """Training loss and validation ``metric`` per epoch (a trainer's history), with the
    chance level drawn in."""
    epochs = [h["epoch"] for h in history]
    fig, (ax_loss, ax_val) = plt.subplots(1, 2, figsize=(9, 3))
    ax_loss.plot(epochs, [h["train_loss"] for h in history])
    ax_loss.set(xlabel="epoch", ylabel="training loss")
    ax_val.plot(epochs, [h["val"][metric] for h in history], label=f"validation {metric}")
    ax_val.axhline(chance, color="grey", ls=":", label="chance")
    ax_val.set(xlabel="epoch", ylabel="%", ylim=(0, 100))
    ax_val.legend()
    fig.tight_layout()
    return fig


def plot_confusion(cm: np.ndarray, class_names):
    """Row-normalised confusion matrix (row = true class)."""
    fig, ax = plt.subplots(figsize=(5, 4.5))
    ax.imshow(cm / np.maximum(cm.sum(1, keepdims=True), 1), vmin=0, vmax=1, cmap="Blues")
    ax.set_xticks(range(len(class_names)), class_names, rotation=90, fontsize=7)
    ax.set_yticks(range(len(class_names)), class_names, fontsize=7)
    ax.set(xlabel="predicted", ylabel="true")
    return fig


def plot_tsne(embedding: np.ndarray, labels: np.ndarray, class_names, title: str, random_state: int = 0):
    """A 2-D t-SNE map (scikit-learn, fixed ``random_state``) of ``embedding [N, D]``,
    one colour per true class."""
    from sklearn.manifold import TSNE

    points = TSNE(n_components=2, perplexity=30, init="pca", random_state=random_state).fit_transform(embedding)
    colors = class_colors(range(len(class_names)))
    fig, ax = plt.subplots(figsize=(7.5, 5))
    for c, name in enumerate(class_names):
        sel = labels == c
        ax.scatter(points[sel, 0], points[sel, 1], s=12, color=colors[c], label=name)
    # beside the map, never over its points
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title(title)
    fig.tight_layout()
    return fig

"""The evidence figures (seaborn): each arm's seeds with the mean and its confidence
interval, the paired differences of a claim's contrasts, a paired difference against
a SynthAct dial (dose-response), and every claim's contrasts in one forest plot.

Every interval is the Student-t interval of :mod:`actseg_lib.stats` (mean ± t(0.975, n-1)
standard errors), drawn by seaborn as ``errorbar=("se", t)``, so figure and tables agree.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns
from scipy import stats as scipy_stats

from ..ablation import seed_scores
from ..evidence import REPRODUCED, REVERSED, Decision, PairedDifference

VERDICT_COLORS = {REPRODUCED: "#2a9d5c", REVERSED: "#c0392b", "inconclusive": "#7f7f7f"}


def _t(n: int, confidence: float = 0.95) -> float:
    return float(scipy_stats.t.ppf(0.5 + confidence / 2, n - 1))


def plot_arms(runs_by_arm: Mapping[str, Sequence[Mapping]], metric: str, label: str, split: str = "test", ax=None):
    """Each arm's per-seed ``metric`` (grey dots) with its mean and 95 % t-interval."""
    rows = [
        {"arm": arm, label: value} for arm, runs in runs_by_arm.items() for value in seed_scores(runs, metric, split)
    ]
    counts = {len(runs) for runs in runs_by_arm.values()}
    if len(counts) != 1:
        raise ValueError(f"plot_arms: arms have different numbers of seeds {sorted(counts)}")
    ax = ax or plt.subplots(figsize=(1.1 * len(runs_by_arm) + 1.5, 3.2))[1]
    frame, order = pd.DataFrame(rows), list(runs_by_arm)
    sns.stripplot(data=frame, x="arm", y=label, order=order, color="0.55", size=4, jitter=0.12, ax=ax, zorder=1)
    sns.pointplot(
        data=frame,
        x="arm",
        y=label,
        order=order,
        errorbar=("se", _t(counts.pop())),  # the Student-t interval of actseg_lib.stats
        color="black",
        capsize=0.15,
        linestyle="none",
        markers="D",
        ax=ax,
        zorder=3,
    )
    ax.set(xlabel="", ylabel=f"{label} ({split}, %)")
    ax.tick_params(axis="x", labelrotation=20)
    return ax


def plot_validation_curves(
    runs_by_arm: Mapping[str, Sequence[Mapping]], metric: str, label: str, chance: float | None = None, ax=None
):
    """Each arm's validation ``metric`` per epoch: the mean over its seeds and the 95 %
    t-band, with ``chance`` dashed: whether an arm left chance, and whether its curve
    had flattened by the end of the budget."""
    rows = [
        {"arm": arm, "epoch": entry["epoch"], label: entry["val"][metric]}
        for arm, runs in runs_by_arm.items()
        for run in runs
        for entry in run["history"]
        if "val" in entry
    ]
    counts = {len(runs) for runs in runs_by_arm.values()}
    if len(counts) != 1:
        raise ValueError(f"plot_validation_curves: arms have different numbers of seeds {sorted(counts)}")
    ax = ax or plt.subplots(figsize=(6.5, 3.4))[1]
    n = counts.pop()
    sns.lineplot(
        data=pd.DataFrame(rows), x="epoch", y=label, hue="arm", errorbar=("se", _t(n)) if n > 1 else None, ax=ax
    )
    if chance is not None:
        ax.axhline(chance, color="black", lw=0.8, ls="--", label="chance")
    ax.set(ylabel=f"{label} (validation, %)")
    ax.legend(fontsize=8, frameon=False)
    return ax


def plot_paired_differences(differences: Sequence[PairedDifference], label: str, ax=None):
    """One row per contrast: the per-seed differences (dots), their mean and 95 %
    t-interval, coloured by the contrast's verdict; the line at 0 is "no effect"."""
    ax = ax or plt.subplots(figsize=(6, 0.6 * len(differences) + 1.2))[1]
    for i, d in enumerate(differences):
        name = f"{d.better} − {d.worse}"
        values = list(d.summary.values)
        sns.stripplot(x=values, y=[name] * len(values), color="0.55", size=4, jitter=0.1, ax=ax, zorder=1)
        ax.errorbar(d.mean, i, xerr=d.summary.half_width, fmt="D", color=VERDICT_COLORS[d.verdict], capsize=4, zorder=3)
    ax.axvline(0, color="black", lw=0.8, ls=":")
    ax.set(xlabel=f"paired difference in {label} (points)", ylabel="")
    handles = [plt.Line2D([], [], marker="D", ls="none", color=c, label=v) for v, c in VERDICT_COLORS.items()]
    ax.legend(handles=handles, fontsize=8, loc="best", frameon=False)
    return ax


def plot_dose_response(
    differences_by_level: Mapping[object, PairedDifference], dial: str, label: str, ax=None, title: str = ""
):
    """A paired difference against the levels of a dial: per-seed differences (dots), the
    mean and its 95 % t-interval at each level (coloured by verdict), 0 dotted."""
    rows = [
        {dial: str(level), "difference": value}
        for level, d in differences_by_level.items()
        for value in d.summary.values
    ]
    counts = {d.summary.n for d in differences_by_level.values()}
    if len(counts) != 1:
        raise ValueError(f"plot_dose_response: levels have different numbers of seeds {sorted(counts)}")
    ax = ax or plt.subplots(figsize=(4.2, 3.2))[1]
    order = [str(level) for level in differences_by_level]
    sns.stripplot(data=pd.DataFrame(rows), x=dial, y="difference", order=order, color="0.55", size=4, ax=ax)
    means = [d.mean for d in differences_by_level.values()]
    ax.plot(range(len(order)), means, color="black", lw=1, zorder=2)
    for i, d in enumerate(differences_by_level.values()):
        ax.errorbar(i, d.mean, yerr=d.summary.half_width, fmt="D", color=VERDICT_COLORS[d.verdict], capsize=4, zorder=3)
    ax.axhline(0, color="black", lw=0.8, ls=":")
    first = next(iter(differences_by_level.values()))
    ax.set(xlabel=dial, ylabel=f"{first.better} − {first.worse}\n{label} (points)", title=title)
    return ax


def forest_label(decision: Decision, difference: PairedDifference) -> str:
    """A forest plot's row: the claim, the contrast and the score it reads."""
    return f"{decision.claim.id}: {difference.better} − {difference.worse} ({decision.claim.metric_label})"


def plot_forest(decisions: Sequence[Decision], ax=None):
    """Every contrast of every claim, one row each, top to bottom in the given order: the
    paired difference (point) and its 95 % interval (bar), coloured by the contrast's
    verdict; the line at 0 is "no effect". Each row names the score it reads, since the
    claims read different scores (all in % points)."""
    rows = [
        {
            "row": forest_label(decision, d),
            "difference": d.mean,
            "low": d.low,
            "high": d.high,
            "verdict": d.verdict,
        }
        for decision in decisions
        for d in decision.differences
    ]
    if not rows:
        raise ValueError("plot_forest: no decisions")
    frame = pd.DataFrame(rows)
    ax = ax or plt.subplots(figsize=(7.5, 0.42 * len(frame) + 1.3))[1]
    positions = range(len(frame))
    ax.hlines(positions, frame["low"], frame["high"], colors=frame["verdict"].map(VERDICT_COLORS), lw=2.2, zorder=2)
    sns.scatterplot(
        x=frame["difference"],
        y=list(positions),
        hue=frame["verdict"],
        palette=VERDICT_COLORS,
        marker="D",
        s=45,
        edgecolor="black",
        linewidth=0.5,
        ax=ax,
        zorder=3,
    )
    ax.axvline(0, color="black", lw=0.8, ls=":")
    ax.set_yticks(list(positions), frame["row"])
    ax.set_ylim(len(frame) - 0.5, -0.5)  # the first claim on top
    ax.set(xlabel="paired difference, better − worse (points of the row's score), 95 % CI", ylabel="")
    ax.legend(title="contrast verdict", fontsize=8, title_fontsize=8, loc="best", frameon=False)
    return ax

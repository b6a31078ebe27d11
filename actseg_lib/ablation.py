"""An ablation over seeds, as the chapters report it: one row per arm, each score as
its mean ± the half-width of a Student-t confidence interval over the seeds
(:mod:`actseg_lib.stats`), the per-seed values, the parameters and the training time;
and the pairwise reading of two arms (apart, or within the seed spread).

The input is what :func:`actseg_lib.engine.recorded_arms` returns: arm -> the results of
its seeds (``results[split][metric]``, ``results["parameters"]``,
``results["train_time_s"]``), in the order the table should show them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from scipy import stats as scipy_stats

from .stats import compare_seeds, seed_summary
from .tables import Table

Runs = Sequence[Mapping]  # the results of one arm, one per seed


def seed_scores(runs: Runs, metric: str, split: str = "test") -> list[float]:
    """``run[split][metric]`` for each run (seed) of an arm, in order."""
    values = []
    for i, run in enumerate(runs):
        section = run.get(split)
        if not isinstance(section, Mapping):
            raise KeyError(f"run {i} has no {split!r} scores (keys: {sorted(run)})")
        if metric not in section:
            raise KeyError(f"run {i}: no metric {metric!r} in its {split!r} scores {sorted(section)}")
        values.append(float(section[metric]))
    return values


def spread_caption(counts: Iterable[int], spread: str = "ci", confidence: float = 0.95) -> str:
    """What "±" means in a table of seed summaries whose rows have ``counts`` seeds."""
    counts = sorted(set(counts))
    seeds = f"{counts[0]} seeds" if len(counts) == 1 else "the seeds"
    if spread == "std":
        return f"Mean ± sample standard deviation over {seeds}."
    if spread != "ci":
        raise ValueError(f"spread: 'ci' or 'std', got {spread!r}")
    t = f" (t = {scipy_stats.t.ppf(0.5 + confidence / 2, counts[0] - 1):.2f})" if len(counts) == 1 else ""
    return f"Mean ± half-width of the {confidence:.0%} Student-t confidence interval over {seeds}{t}."


def seed_table(
    rows: Mapping[str, Mapping[str, Sequence[float]]],
    first_column: str = "arm",
    caption: str = "",
    digits: int = 1,
    spread: str = "ci",
    confidence: float = 0.95,
) -> Table:
    """A table of seed summaries: ``rows`` maps a row label to column label -> per-seed
    values. Every row must have the same columns. The caption says what "±" means."""
    if not rows:
        raise ValueError("seed_table: no rows")
    columns = list(next(iter(rows.values())))
    cells, data, counts = [], {}, []
    for label, by_column in rows.items():
        if list(by_column) != columns:
            raise ValueError(f"row {label!r} has columns {list(by_column)}, the first row {columns}")
        row = [str(label)]
        for column, values in by_column.items():
            summary = seed_summary(values, confidence)
            data[label, column] = summary
            counts.append(summary.n)
            row.append(summary.format(digits, spread))
        cells.append(row)
    note = spread_caption(counts, spread, confidence)
    return Table(
        (first_column, *columns),
        cells,
        caption=f"{caption} {note}".strip(),
        align=("left", *("right",) * len(columns)),
        data=data,
    )


def ablation_table(
    runs_by_arm: Mapping[str, Runs],
    metrics: Mapping[str, str] | Sequence[str],
    per_seed: str | None = None,
    notes: Mapping[str, Mapping[str, str]] | None = None,
    parameters: bool = False,
    seconds: bool = True,
    split: str = "test",
    first_column: str = "arm",
    caption: str = "",
    digits: int = 1,
    spread: str = "ci",
    confidence: float = 0.95,
) -> Table:
    """One row per arm, in the order of ``runs_by_arm``.

    Columns: ``first_column``; one per ``notes`` entry (column -> arm -> text, e.g. the
    question an arm asks); one per metric (``metrics``: column label -> metric key, or a
    list of keys used as labels), each "mean ± half-width"; "<label> per seed" for the
    metric ``per_seed`` (a key of ``metrics``' labels; the first metric by default, "" for
    none); "parameters" (the first seed's count; all seeds must agree) if ``parameters``;
    "s per run" (mean recorded training time) if ``seconds``. ``data`` holds the
    :class:`~actseg_lib.stats.SeedSummary` of every (arm, metric label).
    """
    if not runs_by_arm:
        raise ValueError("ablation_table: no arms")
    metrics = dict(metrics) if isinstance(metrics, Mapping) else {key: key for key in metrics}
    if not metrics:
        raise ValueError("ablation_table: no metrics")
    per_seed = next(iter(metrics)) if per_seed is None else per_seed
    if per_seed and per_seed not in metrics:
        raise KeyError(f"per_seed={per_seed!r}: not one of the metrics' labels {list(metrics)}")
    notes = dict(notes or {})
    for column, by_arm in notes.items():
        missing = [arm for arm in runs_by_arm if arm not in by_arm]
        if missing:
            raise KeyError(f"notes column {column!r} has no entry for arms {missing}")

    columns = [first_column, *notes, *metrics]
    align = ["left"] * (1 + len(notes)) + ["right"] * len(metrics)
    if per_seed:
        columns.append(f"{per_seed} per seed")
        align.append("left")
    if parameters:
        columns.append("parameters")
        align.append("right")
    if seconds:
        columns.append("s per run")
        align.append("right")

    rows, data, counts = [], {}, []
    for arm, runs in runs_by_arm.items():
        if not runs:
            raise ValueError(f"arm {arm!r} has no runs")
        row = [str(arm), *(notes[column][arm] for column in notes)]
        for label, key in metrics.items():
            summary = seed_summary(seed_scores(runs, key, split), confidence)
            data[arm, label] = summary
            counts.append(summary.n)
            row.append(summary.format(digits, spread))
        if per_seed:
            row.append(", ".join(f"{v:.{digits}f}" for v in data[arm, per_seed].values))
        if parameters:
            counted = {run.get("parameters") for run in runs}
            if len(counted) != 1 or None in counted:
                raise ValueError(f"arm {arm!r}: its seeds report parameters {sorted(counted, key=str)}")
            row.append(f"{counted.pop():,}")
        if seconds:
            row.append(f"{seed_summary([run['train_time_s'] for run in runs]).mean:.0f}")
        rows.append(row)
    note = spread_caption(counts, spread, confidence)
    return Table(columns, rows, caption=f"{caption} {note}".strip(), align=align, data=data)


def comparison_table(
    runs_by_arm: Mapping[str, Runs],
    pairs: Sequence[tuple[str, str]],
    metric: str,
    label: str | None = None,
    split: str = "test",
    spread: float = 2.0,
    confidence: float = 0.95,
    digits: int = 1,
) -> Table:
    """One row per pair (a, b) of arms: the difference of their means on ``metric``, the
    pooled sample standard deviation, the Welch confidence interval of the difference, and
    the reading: "apart" when |difference| > ``spread`` x pooled standard deviation, else
    "within the seed spread" (:func:`actseg_lib.stats.compare_seeds`)."""
    label = label or metric
    rows, data = [], {}
    for a, b in pairs:
        for arm in (a, b):
            if arm not in runs_by_arm:
                raise KeyError(f"pair ({a!r}, {b!r}): no arm {arm!r} among {list(runs_by_arm)}")
        c = compare_seeds(
            seed_scores(runs_by_arm[a], metric, split), seed_scores(runs_by_arm[b], metric, split), spread, confidence
        )
        data[a, b] = c
        rows.append(
            (
                f"{a} vs {b}",
                f"{c.difference:+.{digits}f}",
                f"{c.pooled_std:.{digits}f}",
                f"[{c.low:+.{digits}f}, {c.high:+.{digits}f}]",
                c.verdict,
            )
        )
    caption = (
        f"Apart: the means differ by more than {spread:g} pooled sample standard deviations; "
        f"the interval is the Welch {confidence:.0%} confidence interval of the difference."
    )
    return Table(
        ("comparison", f"Δ {label}", "pooled std", f"{confidence:.0%} CI of Δ", "reading"),
        rows,
        caption=caption,
        align=("left", "right", "right", "right", "left"),
        data=data,
    )


def provenance_line(runs: Iterable[Mapping]) -> str:
    """When and on what the runs were trained, from their records' provenance:
    ``"trained on 2025-01-02, 2025-01-03, on cpu"``."""
    runs = list(runs)
    if not runs:
        raise ValueError("provenance_line: no runs")
    try:
        days = sorted({run["provenance"]["finished_at"][:10] for run in runs})
        devices = sorted({run["provenance"]["environment"]["device"] for run in runs})
    except KeyError as error:
        raise KeyError(f"a run has no provenance field {error} (written before runs were recorded?)") from None
    return f"trained on {', '.join(days)}, on {', '.join(devices)}"

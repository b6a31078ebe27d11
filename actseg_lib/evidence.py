"""How a chapter decides whether a paper's idea works (the book's evidence protocol).

A **claim** says that one arm beats another (``better`` over ``worse``) on one score. Its
arms are trained with the same seeds; seed k of both arms shares the data order and, where
the architectures allow, the initialisation, so the **paired difference**
``better[k] - worse[k]`` removes what the two runs share. Its mean and Student-t
confidence interval over the seeds (n - 1 degrees of freedom) give the **verdict**, fixed
before the runs:

* *reproduced*: the interval excludes 0 in the paper's direction;
* *reversed*: it excludes 0 the other way;
* *inconclusive*: it contains 0.

A claim made of several contrasts (G1: masked > unmasked > none) is reproduced when every
contrast is, reversed when any is, and inconclusive otherwise.

**Budget**: an arm's validation curve has flattened when the best score of its last
``tail`` of epochs is no more than ``tolerance`` points above the best before them: more
epochs of the same schedule would not have been expected to change the selected model.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from .ablation import seed_scores
from .stats import SeedSummary, seed_summary
from .tables import Table

REPRODUCED, REVERSED, INCONCLUSIVE = "reproduced", "reversed", "inconclusive"
VERDICTS = (REPRODUCED, REVERSED, INCONCLUSIVE)


@dataclass(frozen=True)
class PairedDifference:
    """``better - worse`` seed by seed, summarised over the seeds."""

    better: str
    worse: str
    metric: str
    summary: SeedSummary  # of the per-seed differences

    @property
    def mean(self) -> float:
        return self.summary.mean

    @property
    def low(self) -> float:
        return self.summary.low

    @property
    def high(self) -> float:
        return self.summary.high

    @property
    def verdict(self) -> str:
        return verdict(self.summary)

    def format(self, digits: int = 1) -> str:
        """``"+1.2 [-0.3, +2.7]"``: the mean difference and its confidence interval."""
        return f"{self.mean:+.{digits}f} [{self.low:+.{digits}f}, {self.high:+.{digits}f}]"


def paired_difference(
    better: Sequence[float],
    worse: Sequence[float],
    confidence: float = 0.95,
    names: tuple[str, str] = ("better", "worse"),
    metric: str = "",
) -> PairedDifference:
    """The paired difference of two arms' per-seed scores (same seeds, same order)."""
    better, worse = list(better), list(worse)
    if len(better) != len(worse):
        raise ValueError(
            f"paired_difference: {names[0]!r} has {len(better)} seeds, {names[1]!r} {len(worse)}; "
            "pairs need the same seeds"
        )
    if len(better) < 2:
        raise ValueError(f"paired_difference: two seeds or more needed, got {len(better)}")
    differences = [b - w for b, w in zip(better, worse)]
    return PairedDifference(names[0], names[1], metric, seed_summary(differences, confidence))


def contrast(
    runs_by_arm: Mapping[str, Sequence[Mapping]],
    better: str,
    worse: str,
    metric: str,
    split: str = "test",
    confidence: float = 0.95,
) -> PairedDifference:
    """The paired difference ``better - worse`` of two arms' recorded runs on
    ``results[split][metric]`` (arm -> one result per seed, seeds in the same order)."""
    return paired_difference(
        seed_scores(runs_by_arm[better], metric, split),
        seed_scores(runs_by_arm[worse], metric, split),
        confidence,
        names=(better, worse),
        metric=metric,
    )


def verdict(difference: SeedSummary) -> str:
    """*reproduced* / *reversed* / *inconclusive* for a summary of ``better - worse``."""
    if math.isnan(difference.half_width):
        raise ValueError("verdict: the difference has one seed, so no confidence interval")
    if difference.low > 0:
        return REPRODUCED
    if difference.high < 0:
        return REVERSED
    return INCONCLUSIVE


def combined_verdict(verdicts: Sequence[str]) -> str:
    """A claim's verdict from its contrasts' verdicts."""
    if not verdicts or any(v not in VERDICTS for v in verdicts):
        raise ValueError(f"combined_verdict: verdicts from {VERDICTS}, got {list(verdicts)}")
    if all(v == REPRODUCED for v in verdicts):
        return REPRODUCED
    if any(v == REVERSED for v in verdicts):
        return REVERSED
    return INCONCLUSIVE


@dataclass(frozen=True)
class Claim:
    """One claim of a paper, as a set of arms and the contrasts the paper asserts.

    ``arms``: arm -> overrides of the model's preset (the paper's arm first);
    ``contrasts``: (better, worse) pairs of arm names, as the paper orders them;
    ``metric``/``metric_label``: the score the verdict reads (a key of ``results[split]``).
    """

    id: str
    paper: str
    statement: str
    paper_evidence: str
    model: str
    arms: Mapping[str, Mapping]
    contrasts: tuple[tuple[str, str], ...]
    metric: str
    metric_label: str

    def __post_init__(self):
        for better, worse in self.contrasts:
            for arm in (better, worse):
                if arm not in self.arms:
                    raise ValueError(f"claim {self.id}: contrast arm {arm!r} is not one of its arms {list(self.arms)}")


@dataclass(frozen=True)
class Decision:
    """A claim decided on a set of runs: one paired difference per contrast."""

    claim: Claim
    differences: tuple[PairedDifference, ...]
    seeds: int

    @property
    def verdict(self) -> str:
        return combined_verdict([d.verdict for d in self.differences])

    def effect(self) -> PairedDifference:
        """The contrast a one-line summary shows: the first (the paper's arm against the
        next one)."""
        return self.differences[0]


def decide(claim: Claim, runs_by_arm: Mapping[str, Sequence[Mapping]], split: str = "test", confidence: float = 0.95):
    """Decide ``claim`` on ``runs_by_arm`` (arm -> one result per seed, seeds in the same
    order in every arm): the paired difference and verdict of each contrast."""
    missing = [arm for arm in claim.arms if arm not in runs_by_arm]
    if missing:
        raise KeyError(f"claim {claim.id}: no runs for arms {missing}")
    counts = {arm: len(runs_by_arm[arm]) for arm in claim.arms}
    if len(set(counts.values())) != 1:
        raise ValueError(f"claim {claim.id}: arms have different numbers of seeds {counts}")
    differences = tuple(
        contrast(runs_by_arm, better, worse, claim.metric, split, confidence) for better, worse in claim.contrasts
    )
    return Decision(claim, differences, next(iter(counts.values())))


def verdict_table(decisions: Sequence[Decision], digits: int = 1, confidence: float = 0.95) -> Table:
    """One row per contrast: claim, contrast, the paired difference with its interval,
    the contrast's verdict and the claim's. ``data[claim id]`` is the claim's verdict."""
    rows, data = [], {}
    for decision in decisions:
        data[decision.claim.id] = decision.verdict
        for i, d in enumerate(decision.differences):
            rows.append(
                (
                    decision.claim.id if i == 0 else "",
                    f"{d.better} − {d.worse}",
                    decision.claim.metric_label,
                    f"{decision.seeds}",
                    d.format(digits),
                    d.verdict,
                    decision.verdict if i == 0 else "",
                )
            )
    caption = (
        f"Paired difference (better − worse, as the paper orders the arms): mean over the seeds "
        f"[{confidence:.0%} Student-t interval]. Reproduced: the interval excludes 0 in the "
        "paper's direction; reversed: the other way; inconclusive: it contains 0."
    )
    return Table(
        ("claim", "contrast", "score", "seeds", "Δ [95 % CI]", "contrast verdict", "claim verdict"),
        rows,
        caption=caption,
        align=("left", "left", "left", "right", "right", "left", "left"),
        data=data,
    )


@dataclass(frozen=True)
class Plateau:
    """Whether a validation curve has flattened (see the module docstring)."""

    best: float
    best_epoch: int
    best_before_tail: float
    best_in_tail: float
    tolerance: float

    @property
    def gain_in_tail(self) -> float:
        return self.best_in_tail - self.best_before_tail

    @property
    def flattened(self) -> bool:
        return self.gain_in_tail <= self.tolerance


def plateau(history: Sequence[Mapping], metric: str, tail: float = 0.25, tolerance: float = 0.5) -> Plateau:
    """Has the validation ``metric`` of a run's ``history`` (one entry per epoch, each with
    ``val``) stopped rising by its last ``tail`` of epochs?"""
    values = [float(entry["val"][metric]) for entry in history if "val" in entry]
    if len(values) < 4:
        raise ValueError(f"plateau: {len(values)} validated epochs; at least 4 needed")
    if not 0 < tail < 1:
        raise ValueError(f"tail: a fraction in (0, 1), got {tail}")
    split = len(values) - max(1, round(tail * len(values)))
    best = max(values)
    return Plateau(best, values.index(best) + 1, max(values[:split]), max(values[split:]), tolerance)


def budget_table(runs_by_arm: Mapping[str, Sequence[Mapping]], metric: str, tail: float = 0.25, tolerance: float = 0.5):
    """Per arm: how many seeds' validation curves have flattened, and the largest gain any
    seed still made in its last ``tail`` of epochs. ``data[arm]``: the seeds'
    :class:`Plateau`."""
    rows, data = [], {}
    for arm, runs in runs_by_arm.items():
        plateaus = [plateau(run["history"], metric, tail, tolerance) for run in runs]
        data[arm] = plateaus
        epochs = {len(run["history"]) for run in runs}
        mean = mean_curve_plateau(runs, metric, tail, tolerance) if len(epochs) == 1 else None
        rows.append(
            (
                arm,
                ", ".join(map(str, sorted(epochs))),
                f"{sum(p.flattened for p in plateaus)} of {len(plateaus)}",
                f"{max(p.gain_in_tail for p in plateaus):+.1f}",
                "" if mean is None else f"{mean.gain_in_tail:+.1f}",
                ", ".join(str(p.best_epoch) for p in plateaus),
            )
        )
    caption = (
        f"Flattened: the best validation {metric} of the last {tail:.0%} of epochs is at most "
        f"{tolerance:g} points above the best before them; the mean curve (over the seeds, epoch "
        "by epoch) averages out much of a single curve's noise."
    )
    return Table(
        ("arm", "epochs", "flattened", "largest late gain", "mean curve's late gain", "best epoch per seed"),
        rows,
        caption=caption,
        align=("left", "right", "right", "right", "right", "left"),
        data=data,
    )


def mean_curve_plateau(runs: Sequence[Mapping], metric: str, tail: float = 0.25, tolerance: float = 0.5) -> Plateau:
    """:func:`plateau` of the seeds' mean validation curve (runs of equal length): a noisy
    single curve can gain a few points late by chance; the mean of five rarely does."""
    curves = [[float(e["val"][metric]) for e in run["history"] if "val" in e] for run in runs]
    if len({len(c) for c in curves}) != 1:
        raise ValueError(f"mean_curve_plateau: curves of different lengths {sorted({len(c) for c in curves})}")
    mean = [sum(values) / len(values) for values in zip(*curves)]
    return plateau([{"val": {metric: v}} for v in mean], metric, tail, tolerance)


def dose_response(
    runs_by_level: Mapping[object, Mapping[str, Sequence[Mapping]]],
    better: str,
    worse: str,
    metric: str,
    split: str = "test",
    confidence: float = 0.95,
) -> dict[object, PairedDifference]:
    """level -> the paired difference ``better - worse`` at that level of a dial
    (``runs_by_level``: level -> arm -> one result per seed)."""
    return {level: contrast(runs, better, worse, metric, split, confidence) for level, runs in runs_by_level.items()}


# `assert decisions["G1"].verdict == "inconclusive"`, optionally followed by the assertion's
# message or a comment, and nothing else: `... == "x" or ...` is not a verdict assertion
_VERDICT_ASSERTION = re.compile(
    r"""assert decisions\[(["'])(?P<claim>\w+)\1\]\.verdict == (["'])(?P<verdict>[^"']*)\3\s*(?:[,#].*)?"""
)
_CODE_CELL_OPENING = re.compile(r"^(`{3,})\{code-cell\}")


def asserted_verdicts(source: str) -> dict[str, str]:
    """claim id -> the verdict a chapter's MyST source asserts, read from the lines of its
    code cells of the form ``assert decisions["G1"].verdict == "inconclusive"``.

    Only top-level lines count: an assertion in prose, inside an ``if`` or a loop, or
    commented out is not one the chapter always makes. A verdict that is not one of
    :data:`VERDICTS`, or two different verdicts for one claim, are refused."""
    found: dict[str, str] = {}
    fence = None  # the backticks that close the code cell we are in
    for number, line in enumerate(source.splitlines(), 1):
        if fence is None:
            opening = _CODE_CELL_OPENING.match(line)
            fence = opening.group(1) if opening else None
            continue
        if line.rstrip() == fence:
            fence = None
            continue
        match = _VERDICT_ASSERTION.fullmatch(line.rstrip())
        if not match:
            continue
        claim, claimed = match.group("claim"), match.group("verdict")
        if claimed not in VERDICTS:
            raise ValueError(f"line {number}: {claim} asserted {claimed!r}; a verdict is one of {VERDICTS}")
        if found.get(claim, claimed) != claimed:
            raise ValueError(f"line {number}: {claim} asserted {claimed!r} after {found[claim]!r}")
        found[claim] = claimed
    return found

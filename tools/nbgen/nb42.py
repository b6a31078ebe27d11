"""Writes notebooks/42_interact_training.ipynb (without outputs)."""

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

cells = []
md = lambda s: cells.append(new_markdown_cell(s.strip("\n")))  # noqa: E731
code = lambda s, tags=None: cells.append(new_code_cell(s.strip("\n"), metadata={"tags": tags} if tags else {}))  # noqa: E731

md(r"""
# 42. InterAct: training on daily activities, what each part buys, ablations

[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/)

InterAct {cite}`interact2025`, built part by part in chapters 40 (DSMI) and 41 (MFAI, the
losses and the smoothing), trained on SynthAct's daily-activity sequences: a skeleton of
25 NTU joints {cite}`shahroudy2016ntu` acting out twelve actions separated by idle
stretches, in the spirit of PKU-MMD {cite}`liu2017pkummd`. The *reduced* preset trains on a
2-core CPU in about a minute; the *full* preset (the paper's K, H, depth and optimiser)
needs a GPU: `actseg train interact --size full --data dest:/path/to/pku-mmd`.

The chapter trains five models live (InterAct, the same with plain concatenation,
MFAI and its fixed-resolution twin without a spatial encoder, and MS-TCN
{cite}`farha2019mstcn` at the same budget) plus two on real-format copies of the data. The
ablation arms and the H sweep (33 runs) are **recorded runs**: the first execution trains
them and writes their results (scores, curves, training time, when and where; no
weights) to `actseg_lib/records/`; later executions read the records as long as the
configuration and the model's code are unchanged.
""")
code('''
import os

SIZE = os.environ.get("ACTSEG_SIZE", "reduced")  # "reduced" (CPU, minutes) or "full" (the paper's, GPU)
SEED = 0
DATA = "synthact:daily" if SIZE == "reduced" else "synthact:daily:full"
ABLATION_SEEDS = (0, 1, 2)
''', ["parameters"])
code('''
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import torch
from IPython.display import Markdown, display
from sklearn.manifold import TSNE
from sklearn.metrics import silhouette_score

from actseg_lib.data.prepare import prepare_segmentation
from actseg_lib.data.sources import write_synthact
from actseg_lib.engine import cached_run_dir, recorded_run, train_model
from actseg_lib.engine.run import summary_line
from actseg_lib.engine.tasks import frame_scores
from actseg_lib.models import build_model, count_parameters, model_config
from actseg_lib.postprocess import asrf_smoothing, boundary_peaks
from actseg_lib.viz import class_colors, plot_learning_curves, plot_segment_bars, use_book_style

use_book_style()
torch.manual_seed(SEED)
np.random.seed(SEED)
''')
md(r"""
## 42.1 The data

SynthAct's daily activities (chapter 2): untrimmed sequences in which a subject performs
actions one after another, with idle stretches between them; the split is
cross-subject. The input is the 3D skeleton, 25 joints $\times$ (x, y, z) per frame,
centred per frame on the spine base and standardised per channel on the training split.
The reduced preset reads every second frame (15 frames a second), as its `data` section
says. Idle is the background class: MS-TCN's metrics leave it out of the segments.
""")
code('''
config = model_config("interact", SIZE)
data = prepare_segmentation(DATA, sample_rate=config["data"].get("sample_rate", 1))
lengths = [len(data.dataset("train")[i]["labels"]) for i in range(len(data.dataset("train")))]
print(data.num_classes, "classes:", ", ".join(data.class_names), "| background:",
      [data.class_names[k] for k in data.background])
print("input:", data.layout, f"at {data.fps:g} frames/s", "| split sizes", {k: len(v) for k, v in data.splits.items()},
      f"| training sequences {min(lengths)}-{max(lengths)} frames")
print("training recipe:", {k: config["train"][k] for k in ("optimizer", "lr", "weight_decay", "epochs", "batch_size",
                                                            "scheduler")})
print("model:", {k: config["model"][k] for k in ("spatial", "num_scales", "depth", "num_stages", "dim", "heads")})
''')
md(r"""
## 42.2 Training

"Load if present, else train": the run folder is named after the configuration and the
model's code. The loss is the paper's (Eq. 9): focal + dice over the present classes +
Gaussian-smoothed boundary BCE, summed over the three interaction stages. The
validation score that picks the best epoch is the mean of accuracy, edit and the three
F1s, after the ASRF smoothing.
""")
code('''
# MS-TCN at InterAct's budget: the same frames (InterAct's data section), the same epochs
MSTCN_SAME_BUDGET = {"data": dict(config["data"]), "train": {"epochs": config["train"]["epochs"]}}


def with_seed(overrides, seed):
    return {**overrides, "train": {**overrides.get("train", {}), "seed": seed}}


def run(name="interact", seed=SEED, data_spec=DATA, **model):
    """One training run of the reduced preset (``model``: overrides of its model section),
    loaded from its folder when it has been trained before."""
    overrides = with_seed(MSTCN_SAME_BUDGET if name == "ms_tcn" else {"model": model} if model else {}, seed)
    folder = cached_run_dir(name, data_spec, SIZE, overrides)
    return train_model(name, data_spec, SIZE, out_dir=folder, resume=True, overrides=overrides, progress=False)


main = run(spatial="dsmi", num_stages=3)
print(summary_line(main))
plot_learning_curves(main["history"], chance=100 / data.num_classes, metric="score")
plt.show()
''')
md(r"""
## 42.3 Test scores, and MS-TCN at the same budget

MS-TCN's frame metrics (chapter 1, idle left out of the segments). "raw" is the last
stage's arg-max; "smoothed" applies ASRF's refinement {cite}`ishikawa2021asrf`: the
boundary probability's peaks above 0.5 (at least 8 frames apart) cut the video, and each
piece takes the label most of its frames predict. MS-TCN (reduced preset: 3 stages of 8
layers, 32 maps) trains on the same frames for the same 40 epochs.
""")
code('''
mstcn = run("ms_tcn")
print(summary_line(mstcn))
keys = ("acc", "edit", "f1@10", "f1@25", "f1@50")
rows = [("InterAct, raw", main["test"], " raw"), ("InterAct, smoothed", main["test"], ""),
        ("MS-TCN", mstcn["test"], "")]
display(Markdown("| model | acc | edit | F1@10 | F1@25 | F1@50 | parameters | training |\\n"
                 "|---|---|---|---|---|---|---|---|\\n"
                 + "\\n".join(f"| {name} | " + " | ".join(f"{scores[k + suffix]:.1f}" for k in keys)
                              + f" | {r['parameters']:,} | {r['train_time_s']:.0f} s |"
                              for (name, scores, suffix), r in zip(rows, (main, main, mstcn)))))
''')
md(r"""
## 42.4 Predictions against the truth

The longest test sequence as segment bars: the truth (idle in grey), InterAct's last
stage before and after smoothing, and MS-TCN. Below, the boundary probability of the last
stage with the threshold, the peaks the smoothing keeps and the true boundaries.
""")
code('''
trainer, model = main["trainer"], main["trainer"].model.eval()
test = data.dataset("test")
items = trainer.predict(test)
mstcn_items = mstcn["trainer"].predict(test)
show = int(np.argmax([len(item["labels"]) for item in items]))
item = items[show]
names = dict(enumerate(data.class_names))
colors = class_colors(np.arange(data.num_classes))
fig, (ax_bars, ax_b) = plt.subplots(2, 1, figsize=(11, 4.4), sharex=True, gridspec_kw={"height_ratios": [2.4, 1]})
plot_segment_bars({"truth": item["labels"], "InterAct raw": item["raw"], "InterAct smoothed": item["smoothed"],
                   "MS-TCN": mstcn_items[show][0]}, ax=ax_bars, colors=colors, class_names=names,
                  background=data.background)
peaks = boundary_peaks(item["boundary"], model.boundary_threshold, model.peak_distance)
ax_b.plot(item["boundary"], lw=1, label="p(boundary)")
ax_b.axhline(model.boundary_threshold, color="C3", ls="--", lw=0.8, label="threshold")
ax_b.scatter(peaks, np.full(len(peaks), 1.03), marker="v", color="C3", s=12, label="kept peak")
ax_b.vlines(np.flatnonzero(np.diff(item["labels"]) != 0) + 1, 0, 1, color="k", lw=0.4, alpha=0.5,
            label="true boundary")
ax_b.set(xlabel="frame (15 per second)", ylabel="p(boundary)", ylim=(0, 1.1))
ax_b.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.0, 1.0))
fig.tight_layout()
plt.show()
print({name: {k: round(v, 1) for k, v in frame_scores([p], [item["labels"]], data.background).items() if k in keys}
       for name, p in (("raw", item["raw"]), ("smoothed", item["smoothed"]), ("MS-TCN", mstcn_items[show][0]))})
''')
md(r"""
## 42.5 Stage by stage

Every stage $r = 0..H$ predicts by dot products of its queries and frame features; the
loss trains stages 1..3 and the smoothing reads stage 3. The paper's Table 7 follows the
same scores from stage to stage (on MCFS-130). Stage 0 (the queries and frame features
before any interaction) is never trained here; it is shown for completeness.
""")
code('''
def stage_outputs(net, dataset):
    """Per test sequence, the InterActOutput of one forward pass (no smoothing)."""
    outs = []
    with torch.no_grad():
        for i in range(len(dataset)):
            sample = dataset[i]
            outs.append((net(sample["x"][None]), sample["labels"].numpy()))
    return outs


main_outs = stage_outputs(model, test)
stage_table = []
for r in range(model.num_stages + 1):
    raw = [out.action_logits[r, 0].argmax(0).numpy() for out, _ in main_outs]
    smooth = [asrf_smoothing(p, torch.sigmoid(out.boundary_logits[r, 0]).numpy(), model.boundary_threshold,
                             model.peak_distance) for p, (out, _) in zip(raw, main_outs)]
    truths = [y for _, y in main_outs]
    stage_table.append((r, frame_scores(raw, truths, data.background), frame_scores(smooth, truths, data.background)))
display(Markdown("| stage | reads | acc raw | edit raw | F1@50 raw | acc smoothed | edit smoothed | F1@50 smoothed |\\n"
                 "|---|---|---|---|---|---|---|---|\\n" + "\\n".join(
                     f"| {r} | {'-' if r == 0 else f'X_{r - 1}, T/{2 ** (model.num_stages - r + 1)}'} | "
                     f"{a['acc']:.1f} | {a['edit']:.1f} | {a['f1@50']:.1f} | {s['acc']:.1f} | {s['edit']:.1f} | "
                     f"{s['f1@50']:.1f} |" for r, a, s in stage_table)))
''')
md(r"""
## 42.6 Spatial features: DSMI against plain concatenation (the paper's Fig. 3)

The frame-level encoder's output $X_\text{skeleton}$, one vector per frame of every test
sequence (every 4th frame, idle left out), mapped to 2-D by t-SNE
{cite}`vandermaaten2008tsne`, for InterAct with DSMI and the same model with the
concatenation encoder (the three modalities stacked as channels of each joint, one
multi-scale graph convolution). The silhouette score (scikit-learn, on the features
themselves, not the map; 1 is perfectly separated, 0 overlapping) puts a number on what
the eye sees. These features come *before* any temporal modelling: one frame's pose
cannot tell "sit down" from "stand up", which differ only in time order.
""")
code('''
concat = run(spatial="concat", num_stages=3)
print(summary_line(concat))


def frame_features(outs, pick, step=4):
    """(features [N, D], labels [N]) over the test frames, every ``step``-th, background left out."""
    feats, labels = [], []
    for out, y in outs:
        f = pick(out)[0].numpy()
        keep = np.flatnonzero(~np.isin(y, data.background))[::step]
        feats.append(f[keep])
        labels.append(y[keep])
    return np.concatenate(feats), np.concatenate(labels)


def tsne_panel(ax, feats, labels, title):
    points = TSNE(n_components=2, perplexity=30, init="pca", random_state=SEED).fit_transform(feats)
    for c in np.unique(labels):
        sel = labels == c
        ax.scatter(points[sel, 0], points[sel, 1], s=4, color=colors[c], label=data.class_names[c])
    silhouette = silhouette_score(feats, labels)
    ax.set(title=f"{title}\\nsilhouette {silhouette:.2f}", xticks=[], yticks=[])
    return silhouette


concat_outs = stage_outputs(concat["trainer"].model.eval(), test)
fig, axes = plt.subplots(1, 2, figsize=(11, 4.8))
spatial_silhouette = {}
for ax, (name, outs) in zip(axes, (("concatenation", concat_outs), ("DSMI", main_outs))):
    feats, labels = frame_features(outs, lambda out: out.spatial)
    spatial_silhouette[name] = tsne_panel(ax, feats, labels, f"{name}: spatial features")
axes[1].legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.0, 1.0), markerscale=3)
fig.tight_layout()
plt.show()
print(f"{len(labels)} frames; silhouette", {k: round(v, 3) for k, v in spatial_silhouette.items()})
''')
md(r"""
## 42.7 Temporal features per stage: fixed resolution against MFAI (the paper's Figs. 4-5)

The frame-level action features $F_a^r$ after each interaction stage, for MFAI (stage $r$
reads the decoder output $X_{r-1}$, coarse to fine) and for the FACT-style fixed
resolution {cite}`lu2024fact` (every stage reads the finest output $X_H$), both without
a spatial encoder so that only the interaction differs. The paper reports that the
fixed-resolution features smooth over class borders more with every stage, while MFAI's
stay apart; the silhouettes printed below the maps say whether that holds on SynthAct.
""")
code('''
mfai = run(spatial="none", num_stages=3)
fixed = run(spatial="none", num_stages=3, interaction="fixed")
for r in (mfai, fixed):
    print(summary_line(r))
temporal_silhouette = {}
fig, axes = plt.subplots(2, 3, figsize=(12, 7.6))
for row, (name, result) in zip(axes, (("fixed resolution", fixed), ("MFAI", mfai))):
    outs = stage_outputs(result["trainer"].model.eval(), test)
    for ax, r in zip(row, (1, 2, 3)):
        feats, labels = frame_features(outs, lambda out: out.action_features[r])
        temporal_silhouette[name, r] = tsne_panel(ax, feats, labels, f"{name}, stage {r}")
axes[0, 2].legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.0, 1.0), markerscale=3)
fig.tight_layout()
plt.show()
display(Markdown("Silhouette of $F_a^r$ (test frames, idle left out)\\n\\n"
                 "| interaction | stage 1 | stage 2 | stage 3 |\\n"
                 "|---|---|---|---|\\n" + "\\n".join(
                     f"| {name} | " + " | ".join(f"{temporal_silhouette[name, r]:.3f}" for r in (1, 2, 3)) + " |"
                     for name in ("fixed resolution", "MFAI"))))
''')
md(r"""
## 42.8 What the action queries read

The trained model's frame-to-action cross-attention (Eq. 4) on the sequence of 42.4,
averaged over heads: row $a$ is where action query $a$ (and the boundary query, last
row) looks among the frames of the decoder output its stage reads. Stage 1 reads $T/8$
frames, stage 3 $T/2$. The truth is drawn above each map at that stage's resolution.
""")
code('''
sample = test[show]
model.record_attention(True)
with torch.no_grad():
    out = model(sample["x"][None])
truth = sample["labels"].numpy()
fig, axes = plt.subplots(2, model.num_stages, figsize=(13, 5.2), sharey="row",
                         gridspec_kw={"height_ratios": [0.25, 3]})
for r in range(1, model.num_stages + 1):
    weights = model.query_blocks[r - 1].cross_attention.last_weights[0].mean(0).numpy()  # [A+1, T_r]
    T_r = weights.shape[1]
    bar = truth[np.minimum((np.arange(T_r) * len(truth) / T_r).astype(int), len(truth) - 1)]  # truth at T_r
    axes[0, r - 1].imshow(np.array([[colors[c] for c in bar]]), aspect="auto")
    axes[0, r - 1].set(xticks=[], yticks=[], title=f"stage {r}: reads {T_r} frames")
    im = axes[1, r - 1].imshow(weights, aspect="auto", cmap="magma", interpolation="nearest")
    axes[1, r - 1].set(xlabel=f"frame of X_{r - 1}")
axes[1, 0].set(yticks=range(data.num_classes + 1), yticklabels=[*data.class_names, "boundary"])
fig.colorbar(im, ax=axes[1].tolist(), shrink=0.8, label="attention weight")
plt.show()
present = np.unique(truth)
w3, bar3 = weights, bar  # the last stage's, from the loop
on_own = {data.class_names[a]: float(w3[a, bar3 == a].sum()) for a in present}
print("stage 3: share of each present action query's attention that falls on frames of its own class:",
      {k: round(v, 2) for k, v in on_own.items()})
print("share of frames of each present class:",
      {data.class_names[a]: round(float(np.mean(bar3 == a)), 2) for a in present})
model.record_attention(False)  # (this also forgets the weights kept above)
''')
md(r"""
## 42.9 Ablations at the same budget

Every arm is the reduced preset with one setting changed, trained with the same recipe
for the same three seeds and scored on the same test sequences. The paper's ablation
(its Table 5, on MCFS-130) crosses the spatial module (none or DSMI) with the temporal
module (frame-level modelling only, i.e. $H = 0$: predictions from the queries and frame
features before any interaction; or MFAI with $H = 3$):

* **baseline**: no spatial encoder (the skeleton as a flat 75-vector), $H = 0$;
* **DSMI**: DSMI, $H = 0$;
* **MFAI**: no spatial encoder, $H = 3$ (the paper's InterAct*);
* **DSMI + MFAI**: the whole model;
* **concatenation + MFAI**: the early-fusion encoder in DSMI's place (the paper's Table 4);
* **fixed resolution**: no spatial encoder, $H = 3$, every stage reads $X_H$ (FACT-style);
* **MS-TCN**: the baseline of every segmentation chapter, same frames, same epochs.

Scores after smoothing (the task's own); mean $\pm$ standard deviation (population) over
the seeds.
""")
code('''
ARMS = {  # arm -> (model, overrides of the reduced preset)
    "baseline": ("interact", {"model": {"spatial": "none", "num_stages": 0}}),
    "DSMI": ("interact", {"model": {"spatial": "dsmi", "num_stages": 0}}),
    "MFAI": ("interact", {"model": {"spatial": "none", "num_stages": 3}}),
    "DSMI + MFAI": ("interact", {"model": {"spatial": "dsmi", "num_stages": 3}}),
    "concatenation + MFAI": ("interact", {"model": {"spatial": "concat", "num_stages": 3}}),
    "fixed resolution": ("interact", {"model": {"spatial": "none", "num_stages": 3, "interaction": "fixed"}}),
    "MS-TCN": ("ms_tcn", MSTCN_SAME_BUDGET),
}

runs = {arm: [recorded_run(name, DATA, SIZE, with_seed(overrides, seed)) for seed in ABLATION_SEEDS]
        for arm, (name, overrides) in ARMS.items()}
records = [r for arm_runs in runs.values() for r in arm_runs]
print(f"recorded runs: trained on {', '.join(sorted({r['provenance']['finished_at'][:10] for r in records}))}, "
      f"on {', '.join(sorted({r['provenance']['environment']['device'] for r in records}))}")


def mean_std(results, key):
    values = [r["test"][key] for r in results]
    return f"{np.mean(values):.1f} ± {np.std(values):.1f}"


def ablation_table(groups: dict) -> str:
    header = "| arm | acc | edit | F1@10 | F1@25 | F1@50 | F1@50 per seed | parameters | s per run |\\n|" + "---|" * 9
    lines = [f"| {arm} | " + " | ".join(mean_std(results, k) for k in keys)
             + " | " + ", ".join(f"{r['test']['f1@50']:.1f}" for r in results)
             + f" | {results[0]['parameters']:,} | {np.mean([r['train_time_s'] for r in results]):.0f} |"
             for arm, results in groups.items()]
    return header[:-1] + "\\n" + "\\n".join(lines)


display(Markdown(f"Test scores (%), seeds {ABLATION_SEEDS}.\\n\\n" + ablation_table(runs)))
''')
md(r"""
How to read it: a difference means something only if it is large against the spread
between seeds. The cell below compares the pairs the paper's claims are about, on F1@50
(mean difference, and the pooled standard deviation of the two arms).
""")
code('''
def compare(a, b, key="f1@50"):
    x, y = ([r["test"][key] for r in runs[arm]] for arm in (a, b))
    diff, pooled = np.mean(x) - np.mean(y), np.sqrt((np.var(x) + np.var(y)) / 2)
    verdict = "apart" if abs(diff) > 2 * pooled else "within the seed spread"
    return f"| {a} vs {b} | {diff:+.1f} | {pooled:.1f} | {verdict} |"


pairs = [("DSMI", "baseline"), ("MFAI", "baseline"), ("DSMI + MFAI", "MFAI"), ("DSMI + MFAI", "concatenation + MFAI"),
         ("MFAI", "fixed resolution"), ("MFAI", "MS-TCN"), ("DSMI + MFAI", "MS-TCN")]
display(Markdown("| comparison | Δ F1@50 | pooled std | reading |\\n|---|---|---|---|\\n"
                 + "\\n".join(compare(a, b) for a, b in pairs)))
''')
md(r"""
The paper's numbers for the same questions, **on its data** (PKU-MMD X-sub for the
spatial strategies, its Table 4; our "MFAI" arm is its "Baseline" row there, since both
feed the raw skeleton to MFAI). They are not comparable with ours in absolute terms:
different data, far larger models and budgets.
""")
code('''
paper_table4 = {  # InterAct, Table 4: spatial strategies on PKU-MMD (X-sub); F1@10, F1@25, F1@50, edit, acc
    "Baseline (no spatial modelling)": (82.8, 80.4, 69.9, 77.1, 77.9),
    "Concatenation": (83.1, 81.1, 73.0, 77.4, 79.3),
    "DSMI (InterAct)": (83.5, 81.7, 73.0, 78.2, 79.9),
}
display(Markdown("**Paper, Table 4 (PKU-MMD X-sub; the paper's data)**\\n\\n"
                 "| spatial strategy | F1@10 | F1@25 | F1@50 | "
                 "edit | acc |\\n|---|---|---|---|---|---|\\n" + "\\n".join(
                     f"| {k} | " + " | ".join(f"{v:.1f}" for v in row) + " |" for k, row in paper_table4.items())))
''')
md(r"""
## 42.10 How many interaction stages: the H sweep

$H$ sets how many decoder outputs the queries visit, from $T/2^H$ up to $T/2$. $H = 0$
skips the interaction altogether. The sweep runs without a spatial encoder (the
"MFAI" arm's setting, which trains about twice as fast), three seeds each; $H = 0$ and
$H = 3$ are the "baseline" and "MFAI" arms above. Beside it, the paper's Table 6 (the
whole model on MCFS-130 split 1, its data).
""")
code('''
H_VALUES = (0, 1, 2, 3, 4, 6)
sweep = {H: runs["baseline"] if H == 0 else runs["MFAI"] if H == 3 else
         [recorded_run("interact", DATA, SIZE, {"model": {"spatial": "none", "num_stages": H}, "train": {"seed": s}})
          for s in ABLATION_SEEDS] for H in H_VALUES}
paper_table6 = {0: (78.3, 74.4, 64.8, 76.2, 71.5), 1: (79.4, 75.5, 66.0, 77.8, 71.4), 2: (79.2, 75.9, 66.4, 77.6, 71.8),
                3: (80.2, 76.5, 67.0, 78.4, 72.7), 4: (78.6, 75.2, 65.8, 77.8, 71.5), 5: (78.3, 75.1, 66.5, 77.4, 71.1),
                6: (78.5, 74.7, 65.1, 76.7, 71.1)}  # F1@10, F1@25, F1@50, edit, acc
fig, axes = plt.subplots(1, 2, figsize=(11, 3.6))
for key, style in (("f1@50", "o-"), ("edit", "s-"), ("acc", "^-")):
    means = [np.mean([r["test"][key] for r in sweep[H]]) for H in H_VALUES]
    stds = [np.std([r["test"][key] for r in sweep[H]]) for H in H_VALUES]
    axes[0].errorbar(H_VALUES, means, yerr=stds, fmt=style, capsize=3, label=key)
axes[0].set(xlabel="H (interaction stages)", ylabel="% (test, mean ± std of 3 seeds)", title="ours: SynthAct daily")
axes[0].legend()
for idx, (key, style) in zip((2, 3, 4), (("F1@50", "o-"), ("edit", "s-"), ("acc", "^-"))):
    axes[1].plot(list(paper_table6), [row[idx] for row in paper_table6.values()], style, label=key)
axes[1].set(xlabel="H", title="paper, Table 6: MCFS-130 split 1 (its data)")
axes[1].legend()
fig.tight_layout()
plt.show()
display(Markdown(ablation_table({f"H = {H}": sweep[H] for H in H_VALUES})))
''')
md(r"""
## 42.11 The paper's results beside ours

The paper's Table 2 (skeleton datasets; PKU-MMD cross-subject and LARa) and ours on
SynthAct. **Different data**: PKU-MMD has 51 actions in 1009 long sequences of real
people, ours 12 actions in 32 short synthetic ones; the paper's model is trained for 66
epochs at full width. The rows say how the methods rank on each dataset, not how
InterAct on SynthAct compares with InterAct on PKU-MMD.
""")
code('''
paper_table2 = {  # InterAct, Table 2: F1@10, F1@25, F1@50, edit, acc on PKU-MMD X-sub and LARa (the paper's data)
    "MS-TCN": ((63.4, 60.2, 54.2, 66.4, 65.5), (52.4, 45.7, 39.6, 44.2, 65.8)),
    "FACT": ((76.0, 71.4, 56.6, 72.1, 69.6), (64.3, 60.7, 48.3, 60.0, 69.8)),
    "DeST": ((74.5, 71.0, 58.7, 69.3, 70.3), (70.3, 68.0, 57.7, 64.2, 75.1)),
    "InterAct* (MFAI alone)": ((82.8, 80.4, 69.9, 77.1, 77.9), (71.8, 69.1, 58.2, 64.8, 74.7)),
    "InterAct": ((83.5, 81.7, 73.0, 78.2, 79.9), (72.7, 70.1, 59.5, 65.6, 75.9)),
}
ours = {"MS-TCN": runs["MS-TCN"], "FACT": runs["fixed resolution"], "InterAct* (MFAI alone)": runs["MFAI"],
        "InterAct": runs["DSMI + MFAI"]}
order = ("f1@10", "f1@25", "f1@50", "edit", "acc")
lines = []
for method, (pku, lara) in paper_table2.items():
    mine = " | ".join(f"{np.mean([r['test'][k] for r in ours[method]]):.1f}" for k in order) if method in ours else \\
        " | ".join("-" for _ in order)
    lines.append(f"| {method} | " + " | ".join(f"{v:.1f}" for v in pku) + " | " + " | ".join(f"{v:.1f}" for v in lara)
                 + f" | {mine} |")
display(Markdown("| method | PKU F1@10 | F1@25 | F1@50 | edit | acc | LARa F1@10 | F1@25 | F1@50 | edit | acc | "
                 "**ours (SynthAct)** F1@10 | F1@25 | F1@50 | edit | acc |\\n"
                 + "|---" * 16 + "|\\n" + "\\n".join(lines)))
print("paper: PKU-MMD and LARa, full model, the paper's training; ours: SynthAct daily, reduced preset, "
      "mean of 3 seeds. Our 'FACT' row is the fixed-resolution variant of our own model, not FACT's code; "
      "DeST is not reimplemented here.")
''')
md(r"""
## 42.12 The real-format path: DeST and PKU-MMD skeletons, MS-TCN features

The readers of chapter 2 turn the public layouts into the same samples as SynthAct, so
the same model trains on them unchanged. Below, SynthAct's daily sequences are written
in three layouts and read back:

* **DeST** (`features/<vid>.npy`, `gt_arr/`, `gt_boundary_arr/`, `csv/<dataset>/{train,val,test}1.csv`),
  the layout of the skeleton segmentation benchmarks (PKU-MMD, MCFS, LARa) as DeST
  {cite}`li2023dest` ships them; its features are the 25 joints $\times$ xyz, so DSMI
  applies. InterAct is trained on it with the reduced preset.
* **PKU-MMD raw** (`Skeleton/<seq>.txt`, 150 numbers a frame = two bodies, and
  `Label/<seq>.txt`): the second body's joints become extra channels of each joint; we
  build the model for it and run one forward pass.
* **MS-TCN features** (`features/<vid>.npy` as (D, T), `groundTruth/`, `mapping.txt`,
  `splits/`), the layout of Breakfast {cite}`kuehne2014breakfast` and 50Salads
  {cite}`stein2013salads` I3D features: frame vectors of no known joint structure, so the
  model runs without a spatial encoder (`spatial="none"`, the paper's RGB path). Trained
  with the reduced preset.

DeST's label files hold class ids only, so the reader names the classes by their ids
("class 0" is SynthAct's idle) and no class is background: the DeST run's edit and F1
count the idle segments too, and are not comparable with the other rows. The PKU-MMD
copy is split by holding out whole subjects (it has no split files).

With the real data on disk, point the same specs at it (see the README):
`actseg train interact --data dest:/data/pku-mmd --size full`, or
`--data mstcn:/data/breakfast --set model.spatial=none`.
""")
code('''
formats_root = Path(os.environ.get("ACTSEG_DATA") or Path.home() / ".cache" / "actseg") / "interact-formats"
for fmt in ("dest", "pku", "mstcn"):
    if not (formats_root / fmt / "done").exists():
        write_synthact(fmt, formats_root / fmt, progress=False)
        (formats_root / fmt / "done").touch()
DEST, PKU, MSTCN = (f"{fmt}:{formats_root / fmt}" for fmt in ("dest", "pku", "mstcn"))
for spec in (DEST, PKU, MSTCN):
    d = prepare_segmentation(spec, sample_rate=2)
    print(f"{spec.split(':')[0]:>5}: inputs {d.layout}, {d.num_classes} classes, split sizes "
          f"{ {k: len(v) for k, v in d.splits.items()} }")
    if spec == PKU:
        pku_model = build_model("interact", SIZE, in_channels=d.in_channels, num_classes=d.num_classes).eval()
        with torch.no_grad():
            pku_out = pku_model(d.dataset("test")[0]["x"][None])
        print(f"       two bodies -> {pku_model.spatial.graph_convs['absolute'].weight.in_features // 13} channels per "
              f"joint; stage logits {tuple(pku_out.action_logits.shape)}")
dest_run = run(data_spec=DEST, spatial="dsmi", num_stages=3)
print(summary_line(dest_run))
mstcn_format_run = run(data_spec=MSTCN, spatial="none", num_stages=3)
print(summary_line(mstcn_format_run))
''')
md(r"""
## 42.13 The full-size model

The paper's settings: K = 13 graph scales, H = 3 interaction stages, six encoder and six
decoder layers; AdamW with a cosine schedule at $5 \times 10^{-4}$, 66 epochs, batch 4 (its
PKU-MMD recipe; $10^{-4}$ and batch 1 for the other datasets). The paper gives no widths:
ours are 64 graph channels and a temporal width of 128. Built for PKU-MMD (two bodies, 52
classes with background):
""")
code('''
full = build_model("interact", "full")
parts = {name: count_parameters(module) for name, module in full.named_children()}
print(f"full: {count_parameters(full):,} parameters ({', '.join(f'{k} {v:,}' for k, v in parts.items())}); "
      f"reduced (this notebook): {main['parameters']:,}")
print("full training recipe:", model_config("interact", "full")["train"])
''')
md(r"""
## 42.14 What the chapter has shown

The assertions below hold for this run; a change that breaks them fails the book's build.
""")
code('''
chance = 100 / data.num_classes
T = main["test"]
assert T["acc"] > chance + 50, T  # far above chance
assert T["f1@50"] > 70 and T["edit"] > 70, T  # clean segments, not just right frames
assert T["edit"] >= T["edit raw"], T  # the smoothing removes fragments
mean = {arm: np.mean([r["test"]["f1@50"] for r in results]) for arm, results in runs.items()}
# every InterAct arm segments far more cleanly than MS-TCN at the same budget
assert all(mean[arm] > mean["MS-TCN"] + 5 for arm in ARMS if arm != "MS-TCN"), mean
assert dest_run["test"]["acc"] > chance + 40 and mstcn_format_run["test"]["acc"] > chance + 40
print("all checks passed")
''')
md(r"""
## Summary

* InterAct, trained on the reduced budget, segments SynthAct's daily activities into clean
  segments. At the same budget every InterAct variant beats MS-TCN by a wide margin on edit
  and F1@50 (the assertions above check it). The encoder-decoder, the loss with its
  boundary term, and the ASRF smoothing are shared by all the variants and carry that gain.
* ASRF smoothing turns the last stage's fragmented arg-max into whole segments: edit and
  F1 rise sharply while accuracy barely moves.
* The paper's two named ideas do not stand out here. On this data and budget, DSMI and the
  multi-scale interaction stay within the spread between seeds of the simpler arms; DSMI
  costs twice the training time and varies more from seed to seed. The comparison table
  and the H sweep show it. SynthAct's skeleton is clean and its twelve actions are few and
  distinct, so the raw 75-vector already separates them. The paper's gains come from
  noisy real skeletons and fine-grained classes (PKU-MMD, MCFS-130) at full width and
  budget. Whether the ideas pay there can be measured with the same code (exercise 1, and
  the real-data commands in the README).
* The paper's tables sit beside ours, labelled as the paper's and on its data.
* The same model reads the DeST, PKU-MMD and MS-TCN layouts. With real data on disk, only
  the `--data` spec changes.

## Exercises

1. Train the DSMI arm for 80 epochs instead of 40. Does the gap to "MFAI" (no spatial
   encoder) close, and does the training loss suggest under- or over-fitting?
2. Replace the learnt joint and modality embeddings of `ModalityInteraction` with zeros.
   What does the self-attention over the 2V joint tokens lose, and what do the scores say?
3. The fixed-resolution variant reads $X_H$ at every stage. Make a variant that reads
   $X_H$ down-sampled to $T/8$ at every stage: is MFAI's gain about *multiple*
   resolutions, or just about reading a coarse one?
4. Sweep the smoothing threshold (0.3 to 0.9) and `peak_distance` on the validation split
   with a trained model (`asrf_smoothing` on `trainer.predict` items). Which errors does a
   low threshold bring back?
5. Write SynthAct's daily sequences with `sample_rate=1` (30 frames a second) and train
   again: how do time per epoch and the scores change, and which layer's window should
   grow?
""")

nb = new_notebook(cells=cells, metadata={
    "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
    "language_info": {"name": "python"},
})
nbformat.write(nb, "/work/main/notebooks/42_interact_training.ipynb")

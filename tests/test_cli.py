"""`actseg` as a user meets it: one line per mistake (the traceback behind --debug),
reader options in --data, extending a run with --resume --epochs, the full-size estimate
on a CPU, a plain line per epoch in logs, history.csv and TensorBoard."""

import csv
import re
import sys

import pytest
import torch
from tiny_data import TINY_MSTCN, tiny_samples, write_tiny_mstcn

from actseg_lib.cli import main
from actseg_lib.engine import TrainConfig, Trainer, load_checkpoint, train_model
from actseg_lib.engine import trainer as trainer_module
from actseg_lib.engine.optim import lr_factor
from actseg_lib.engine.tasks import SegmentationTask
from actseg_lib.models import build_model

TINY = [f"--set=model.{k}={v}" for k, v in TINY_MSTCN.items()]


@pytest.fixture(scope="module")
def spec(tmp_path_factory):
    return write_tiny_mstcn(tmp_path_factory.mktemp("data"), num=6)


def train_args(spec, out, *extra):
    return ["train", "ms_tcn", "--data", spec, "--out", str(out), "--lr", "0.01", *TINY, *extra]


def error_line(capsys, argv) -> tuple[int, str]:
    """(exit status, stderr) of a command that must fail; argparse's own errors exit."""
    try:
        status = main(argv)
    except SystemExit as stop:
        status = stop.code
    err = capsys.readouterr().err
    return status, err


def one_error_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert re.match(r"actseg( \w+)?: error: ", lines[0]), lines[0]
    return lines[0]


@pytest.fixture
def malformed(tmp_path):
    root = tmp_path / "bad"
    write_tiny_mstcn(root, num=4)
    labels = root / "groundTruth" / "vid00.txt"
    lines = labels.read_text().splitlines()
    labels.write_text("\n".join(lines[:2] + ["jump"] + lines[3:]) + "\n")
    return f"mstcn:{root}"


@pytest.mark.parametrize(
    "mistake,expected_status,message",
    [
        (["train", "nope"], 2, "unknown model 'nope'; registered: .*ms_tcn"),
        (["train", "ms_tcn", "--set", "model.nope=1"], 2, "--set model.nope: ms_tcn has no model option 'nope'"),
        (["train", "ms_tcn", "--set", "optim.lr=1"], 2, "override section 'optim'"),
        (["train", "ms_tcn", "--set", "data.sampel_rate=2"], 2, "no data option 'sampel_rate'.*sample_rate"),
        (["train", "ms_tcn", "--set", "loss.weight=2"], 2, "no loss option 'weight'.*smoothing_weight"),
        (["train", "ms_tcn", "--epochs", "ten"], 2, "argument --epochs: invalid int value: 'ten'"),
        (["train", "ms_tcn", "--set", "train.optimizer=adamx"], 1, "train config 'optimizer'"),
        (["evaluate", "{tmp}/missing.pt"], 1, "checkpoint .*missing.pt: no such file"),
    ],
)
def test_a_mistake_is_one_line(capsys, spec, tmp_path, mistake, expected_status, message):
    argv = [a.format(tmp=tmp_path) for a in mistake]
    if argv[0] == "train":
        argv += ["--data", spec, "--out", str(tmp_path / "run"), "--epochs=1", *TINY]
    status, err = error_line(capsys, argv)
    assert status == expected_status
    assert re.search(message, one_error_line(err)), err


def test_data_mistakes_are_one_line(capsys, spec, malformed, tmp_path):
    cases = [
        (f"mstcn:{tmp_path / 'nowhere'}", "mstcn data: .*nowhere does not exist"),
        (malformed, r"vid00.txt, line 3: expected a class name listed in mapping.txt, got 'jump'"),
        ("foo:/x", "unknown source 'foo'"),
        (f"{spec},nope=1", "the mstcn reader has no option 'nope'; its options: split_index=1, fps=15.0"),
        (f"{spec},fps=fast", "option fps='fast'; expected a number"),
        ("synthact:weekly", "kind one of clips, packaging, daily"),
    ]
    for data, message in cases:
        status, err = error_line(capsys, train_args(data, tmp_path / "run", "--epochs", "1"))
        assert status == 1 and re.search(message, one_error_line(err)), (data, err)


def test_checkpoint_mistakes_are_one_line(capsys, spec, tmp_path):
    garbage = tmp_path / "garbage.pt"
    garbage.write_bytes(bytes(range(256)) * 3)
    status, err = error_line(capsys, ["evaluate", str(garbage)])
    assert status == 1 and "cannot be read as a weights-only torch checkpoint" in one_error_line(err)

    run = tmp_path / "run"
    assert main(train_args(spec, run, "--epochs", "1", "--no-progress")) == 0
    capsys.readouterr()
    status, err = error_line(capsys, ["train", "asformer", "--data", spec, "--out", str(run), "--resume"])
    assert status == 1 and "it is a checkpoint of ms_tcn, not of asformer" in one_error_line(err)
    status, err = error_line(capsys, train_args(spec, run, "--resume", "--lr", "0.5"))
    assert status == 1 and re.search(r"differ.*train_config.*'lr': 0.01.*'lr': 0.5", one_error_line(err))

    # the same model built differently by "another version": weights that do not fit
    state = load_checkpoint(run / "best.pt")
    state["model"] = {k + ".renamed": v for k, v in state["model"].items()}
    torch.save(state, tmp_path / "other.pt")
    status, err = error_line(capsys, ["evaluate", str(tmp_path / "other.pt")])
    assert status == 1 and re.search(r"weights do not fit ms_tcn.*missing.*unexpected", one_error_line(err))


def test_debug_shows_the_traceback_and_bugs_show_anyway(capsys, spec, tmp_path, monkeypatch):
    for argv in (["--debug", "train", "nope"], ["train", "nope", "--debug"]):
        with pytest.raises(ValueError, match="unknown model 'nope'"):
            main([*argv, "--data", spec])
    import actseg_lib.engine.run as run

    def broken(*args, **kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr(run, "train_model", broken)
    with pytest.raises(RuntimeError, match="a bug"):  # not a user's mistake: no one-liner hides it
        main(train_args(spec, tmp_path / "run"))


def test_resume_extends_a_finished_run(capsys, spec, tmp_path, monkeypatch):
    run, cosine = tmp_path / "run", ["--set", "train.scheduler=cosine", "--no-progress"]
    assert main(train_args(spec, run, "--epochs", "2", *cosine)) == 0
    two = load_checkpoint(run / "last.pt")
    rates, step = [], torch.optim.Adam.step

    def recorded_step(optimizer, *args, **kwargs):
        rates.append(optimizer.param_groups[0]["lr"])
        return step(optimizer, *args, **kwargs)

    monkeypatch.setattr(torch.optim.Adam, "step", recorded_step)
    assert main(train_args(spec, run, "--epochs", "3", "--resume", *cosine)) == 0
    assert "resumed from" in capsys.readouterr().err
    three = load_checkpoint(run / "last.pt")
    assert [r["epoch"] for r in three["history"]] == [1, 2, 3]
    assert three["history"][:2] == two["history"]
    assert three["history"][2]["time_s"] > 0
    assert any(not torch.equal(three["model"][k], two["model"][k]) for k in two["model"])  # the epoch trained
    # the schedule is the one of a 3-epoch run, from the step reached (not the 2-epoch run's end)
    steps = three["scheduler"]["last_epoch"] // 3
    expected = 0.01 * lr_factor(3 * steps, steps, TrainConfig(epochs=3, lr=0.01, scheduler="cosine"))
    assert three["history"][2]["lr"] == pytest.approx(expected)
    new_schedule = TrainConfig(epochs=3, lr=0.01, scheduler="cosine")
    assert rates == pytest.approx([0.01 * lr_factor(2 * steps + i, steps, new_schedule) for i in range(steps)])
    assert two["history"][1]["lr"] == pytest.approx(0.0)
    # without --epochs a resumed run keeps its own length: loaded, not extended to the default
    (run / "history.csv").unlink()  # as in a run folder from before history.csv
    assert main(train_args(spec, run, "--resume", *cosine)) == 0
    assert "a finished run, loaded" in capsys.readouterr().err
    assert load_checkpoint(run / "last.pt")["epoch"] == 3
    assert len((run / "history.csv").read_text().splitlines()) == 1 + 3


def test_a_resumed_run_removes_a_killed_write(spec, tmp_path):
    run = tmp_path / "run"
    assert main(train_args(spec, run, "--epochs", "1", "--no-progress")) == 0
    # what SIGKILL during save_checkpoint leaves: the atomic writer's temporary file
    leftover = run / ".last.pt.k1ll3d.tmp"
    leftover.write_bytes(b"half a checkpoint")
    keep = run / "notes.tmp"  # not the writer's: left alone
    keep.write_text("mine")
    assert main(train_args(spec, run, "--epochs", "2", "--resume", "--no-progress")) == 0
    assert not leftover.exists() and keep.exists()


def test_full_size_on_a_cpu_estimates_an_epoch_first(capsys):
    def run(progress):
        return train_model(
            "ms_tcn",
            "mstcn:tiny",
            size="full",
            samples=tiny_samples(),
            progress=progress,
            device="cpu",
            overrides={"model": TINY_MSTCN, "train": {"epochs": 1}},
        )

    timed = run(progress=True)
    lines = [line for line in capsys.readouterr().err.splitlines() if "per epoch" in line]
    assert len(lines) == 1
    assert re.fullmatch(
        r"full size on a CPU: about \d+ s per epoch \(an estimate: one step took [\d.]+ s; .*", lines[0]
    )
    untimed = run(progress=False)  # timing on a copy changes no weight and no random stream
    for name, value in untimed["trainer"].model.state_dict().items():
        assert torch.equal(value, timed["trainer"].model.state_dict()[name])
    assert untimed["history"][0]["train_loss"] == timed["history"][0]["train_loss"]


def tiny_trainer(tmp_path=None, epochs=2, progress=True, **kwargs):
    from actseg_lib.data.prepare import prepare_segmentation

    prepared = prepare_segmentation("mstcn:tiny", samples=tiny_samples(num=6), progress=False)
    torch.manual_seed(0)
    model = build_model("ms_tcn", in_channels=6, num_classes=4, **TINY_MSTCN)
    task = SegmentationTask(background=prepared.background, num_classes=prepared.num_classes)
    trainer = Trainer(model, task, TrainConfig(epochs=epochs, lr=1e-2), tmp_path, progress=progress, **kwargs)
    return trainer, prepared.dataset("train"), prepared.dataset("train")


def test_a_log_gets_one_plain_line_per_epoch(capsys):
    trainer, train_set, val_set = tiny_trainer(epochs=3)
    trainer.fit(train_set, val_set)
    err = capsys.readouterr().err  # captured: not a terminal
    lines = err.splitlines()
    assert len(lines) == 3 and "\r" not in err, err
    for epoch, line in enumerate(lines, 1):
        assert re.fullmatch(
            rf"epoch {epoch}/3  loss \d+\.\d{{3}}  val score \d+\.\d  val F1@50 \d+\.\d  \d+\.\d s", line
        )


def test_a_terminal_gets_one_bar_per_epoch(capsys, monkeypatch):
    bars = []

    class Recording(trainer_module.tqdm):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            bars.append(self)

    monkeypatch.setattr(trainer_module, "tqdm", Recording)
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    trainer, train_set, val_set = tiny_trainer(epochs=2)
    trainer.fit(train_set, val_set)
    assert [b.desc for b in bars] == ["epoch 1/2", "epoch 2/2"]  # no validation bar, no empty bar
    for bar in bars:
        assert bar.n == bar.total > 0
        assert re.search(r"loss=\d+\.\d{3}, val_score=\d+\.\d, val_F1@50=\d+\.\d", bar.postfix)


def test_history_csv_has_a_row_per_epoch(tmp_path):
    trainer, train_set, val_set = tiny_trainer(tmp_path, epochs=3, progress=False)
    history = trainer.fit(train_set, val_set)
    with open(tmp_path / "history.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [int(r["epoch"]) for r in rows] == [1, 2, 3]
    columns = list(rows[0])
    assert columns[:2] == ["epoch", "train_loss"] and {"val_f1@50", "val_score", "lr", "time_s"} <= set(columns)
    for row, record in zip(rows, history):
        assert float(row["train_loss"]) == record["train_loss"]
        assert float(row["val_f1@50"]) == record["val"]["f1@50"] and float(row["lr"]) == record["lr"]


def test_tensorboard_missing_says_what_to_install(capsys, spec, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "torch.utils.tensorboard", None)  # as if not installed
    for flag in (["--tensorboard"], ["--set", "train.tensorboard=True"]):
        status, err = error_line(capsys, train_args(spec, tmp_path / "run", "--epochs", "1", *flag))
        assert status == 1 and "pip install tensorboard" in one_error_line(err)


def test_tensorboard_logs_every_epoch(tmp_path):
    pytest.importorskip("tensorboard")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    trainer, train_set, val_set = tiny_trainer(tmp_path, epochs=2, progress=False, tensorboard=True)
    trainer.fit(train_set, val_set)
    events = EventAccumulator(str(tmp_path / "tensorboard"))
    events.Reload()
    assert [e.step for e in events.Scalars("train/loss")] == [1, 2]
    assert len(events.Scalars("val/f1@50")) == 2

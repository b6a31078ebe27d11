"""The package as a user meets it: a light import and the `actseg` command."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import actseg_lib
from actseg_lib.cli import main


def test_import_is_light():
    code = "import sys, actseg_lib; print(sorted(m for m in ('torch', 'matplotlib', 'sklearn') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_version_and_help(capsys):
    with pytest.raises(SystemExit) as stop:
        main(["--version"])
    assert stop.value.code == 0
    assert capsys.readouterr().out.strip() == f"actseg {actseg_lib.__version__}"
    with pytest.raises(SystemExit):
        main(["--help"])
    assert "usage: actseg" in capsys.readouterr().out


def test_info_reports_the_device(capsys):
    assert main(["info"]) == 0
    out = capsys.readouterr().out
    assert "torch" in out and "device" in out


def test_console_script_is_installed():
    # the script sits beside the interpreter of the environment the package is installed in
    exe = shutil.which("actseg", path=str(Path(sys.executable).parent))
    assert exe, "no `actseg` console script beside this Python; install with `pip install -e .`"
    out = subprocess.run([exe, "--version"], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == f"actseg {actseg_lib.__version__}"


def test_unknown_command_fails_clearly(capsys):
    with pytest.raises(SystemExit) as stop:
        main(["trian"])
    assert stop.value.code == 2
    assert "invalid choice: 'trian'" in capsys.readouterr().err


def test_train_help_shows_torchrun_and_overrides(capsys):
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    out = capsys.readouterr().out
    assert "torchrun --nproc_per_node" in out and "--resume" in out and "--set" in out


def test_override_values_are_parsed():
    from actseg_lib.cli import parse_override

    assert parse_override("train.epochs=5") == ("train", "epochs", 5)
    assert parse_override("train.clip_grad_norm=None") == ("train", "clip_grad_norm", None)
    assert parse_override("data.inputs=('imu',)") == ("data", "inputs", ("imu",))
    assert parse_override("train.optimizer=adamw") == ("train", "optimizer", "adamw")
    with pytest.raises(Exception, match="section.key=value"):
        parse_override("epochs=5")


def test_unknown_model_and_section_are_explained(tmp_path, capsys):
    from tiny_data import write_tiny_mstcn

    spec = write_tiny_mstcn(tmp_path / "data", num=4)
    assert main(["train", "nope", "--data", spec, "--out", str(tmp_path / "run")]) == 2
    assert "unknown model 'nope'" in capsys.readouterr().err
    assert main(["train", "ms_tcn", "--data", spec, "--set", "optim.lr=1", "--out", str(tmp_path / "run")]) == 2
    assert "override section 'optim'" in capsys.readouterr().err

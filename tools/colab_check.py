"""Run every chapter the way Colab runs it: with only what its setup cell installs.

``make colab-check`` (slow: each chapter trains what it trains; not part of ``make test``):

1. a fresh virtual environment holding only torch (the Makefile's ``$(TORCH)``, by default
   ``torch==2.13.0``, the CPU wheel; Colab brings its own torch) and what executes a
   notebook (pytest, nbval, ipykernel): no library, no data wheels, no repository on the
   kernel's path;
2. each chapter's ``.ipynb``, from a clone of the repository's committed ``HEAD``, copied
   into an empty folder (Colab's ``/content``) and executed there by nbval in a kernel of
   its own, as a fresh Colab runtime would; its setup cell runs as on Colab because
   ``$ACTSEG_COLAB_CLONE`` is set, and clones this repository (``file://``, instead of the
   URL in ``_config.yml``) and pip-installs what it installs there;
3. a line per chapter: passed or failed, and its time; the exit status is 1 when any
   chapter failed.

Runs train into a fresh ``$ACTSEG_RUNS`` (nothing is loaded from earlier runs); SynthAct
comes from its usual cache unless ``--fresh-data`` (then it is generated too). Records are
read from the clone, as on Colab. Uncommitted changes are not checked: the setup cell
clones what is committed.

    python tools/colab_check.py                      # every chapter
    python tools/colab_check.py --chapters 01 03     # or: make colab-check CHAPTERS="01 03"
"""

from __future__ import annotations

import argparse
import os
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# what executes a notebook; everything else must come from the chapters' setup cell
RUNNERS = ["pytest", "nbval", "ipykernel"]
# variables of this machine's setup that Colab lacks: they would hand the kernel the
# project's own environment, records or book cache
UNSET = ["PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "ACTSEG_RECORDS", "ACTSEG_NBVAL_BOOK_CACHE", "ACTSEG_COLAB_CLONE"]


def run(command: list[str], **kwargs) -> None:
    print("$", shlex.join(command), flush=True)
    subprocess.run(command, check=True, **kwargs)


def chapters(chosen: list[str]) -> list[str]:
    """The chapters' stems (``NN_topic``), all or those whose number or stem is chosen."""
    stems = sorted(path.stem for path in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    if not chosen:
        return stems
    picked = [stem for stem in stems if any(stem == c or stem.split("_")[0] == c for c in chosen)]
    unknown = [c for c in chosen if not any(stem == c or stem.split("_")[0] == c for stem in stems)]
    if unknown:
        raise SystemExit(f"no chapter {', '.join(unknown)} in notebooks/ (chapters: {' '.join(stems)})")
    return picked


def kernel_environment(work: Path, venv: Path, fresh_data: bool) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in UNSET}
    # the venv first; the project's own .venv (the Makefile puts it on PATH) not at all
    project_bin = str(ROOT / ".venv" / "bin")
    path = [p for p in env.get("PATH", "").split(os.pathsep) if p and p != project_bin]
    env["PATH"] = os.pathsep.join([str(venv / "bin"), *path])
    env["ACTSEG_COLAB_CLONE"] = str(work / "actseg-book")
    env["ACTSEG_COLAB_REPOSITORY"] = (ROOT).as_uri()  # file://: a shallow clone, as from GitHub
    env["ACTSEG_RUNS"] = str(work / "runs")
    if fresh_data:
        env["ACTSEG_DATA"] = str(work / "data")
    env.setdefault("ACTSEG_SIZE", "reduced")
    env["PYDEVD_DISABLE_FILE_VALIDATION"] = "1"
    return env


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chapters", nargs="*", default=[], help="numbers (01) or stems; default: all")
    parser.add_argument("--torch", default="torch==2.13.0", help="pip's arguments for torch (never unpinned here)")
    parser.add_argument("--work", type=Path, default=ROOT / "_build" / "colab-check", help="scratch folder (emptied)")
    parser.add_argument("--fresh-data", action="store_true", help="generate SynthAct into the scratch folder too")
    args = parser.parse_args(argv)
    stems = chapters(args.chapters)
    if subprocess.run(["git", "status", "--porcelain"], cwd=ROOT, capture_output=True, text=True).stdout.strip():
        print("note: the working tree has uncommitted changes; the chapters run from the committed HEAD")

    start = time.perf_counter()
    work = args.work.resolve()
    shutil.rmtree(work, ignore_errors=True)
    venv, content, logs = work / "venv", work / "content", work / "logs"
    for folder in (content, logs):
        folder.mkdir(parents=True)
    run([sys.executable, "-m", "venv", str(venv)])
    python = str(venv / "bin" / "python")
    run([python, "-m", "pip", "install", "--quiet", *shlex.split(args.torch)])
    run([python, "-m", "pip", "install", "--quiet", *RUNNERS])
    env = kernel_environment(work, venv, args.fresh_data)
    # the notebooks as Colab opens them: the committed .ipynb (the badge's link)
    committed = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    print(f"environment ready in {time.perf_counter() - start:.0f} s; chapters from commit {committed.stdout.strip()}")

    results = []
    for stem in stems:
        notebook = content / f"{stem}.ipynb"
        shown = subprocess.run(
            ["git", "show", f"HEAD:notebooks/{stem}.ipynb"], cwd=ROOT, capture_output=True, check=True
        )
        notebook.write_bytes(shown.stdout)
        command = [
            python,
            "-m",
            "pytest",
            "--nbval-lax",
            "--nbval-current-env",
            "--nbval-cell-timeout=1800",
            "-p",
            "no:cacheprovider",
            "-q",
            "--rootdir",
            str(content),
            "--confcutdir",  # not the repository's conftest.py, above the default work folder
            str(content),
            notebook.name,
        ]
        print(f"--- {stem}", flush=True)
        began = time.perf_counter()
        log = logs / f"{stem}.log"
        with log.open("w") as out:
            code = subprocess.run(command, cwd=content, env=env, stdout=out, stderr=subprocess.STDOUT).returncode
        seconds = time.perf_counter() - began
        results.append((stem, code == 0, seconds))
        print(f"{'passed' if code == 0 else 'FAILED'} in {seconds:.0f} s (log: {log})", flush=True)
        if code != 0:
            print("".join(log.read_text().splitlines(keepends=True)[-40:]))
        notebook.unlink()  # the clone and the installs stay, as after a re-run of the setup cell

    print("\ncolab-check: each chapter with only what its setup cell installs")
    for stem, passed, seconds in results:
        print(f"{'passed' if passed else 'FAILED':>8}  {seconds:7.0f} s  {stem}")
    failed = [stem for stem, passed, _ in results if not passed]
    total = time.perf_counter() - start
    print(f"{len(results) - len(failed)} of {len(results)} chapters passed in {total:.0f} s (set-up included)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

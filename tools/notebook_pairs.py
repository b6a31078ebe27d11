"""Each chapter is a pair: ``notebooks/NN_topic.md`` (the source) and its ``.ipynb``.

The MyST Markdown notebook is the file a person edits and reviews, and the one Jupyter
Book executes. The ``.ipynb`` beside it is derived from it, for Colab, JupyterLab users
and nbval, and is committed without outputs. The two are paired by jupytext (``formats:
ipynb,md:myst`` in both files' metadata), so saving either one in JupyterLab (`make lab`)
writes both, and ``jupytext --sync`` keeps them together.

This tool re-derives every ``.ipynb`` from its ``.md`` (``--write``) or reports the pairs
whose cells differ (``--check``, used by ``tests/test_notebooks.py``):

    python tools/notebook_pairs.py --check
    python tools/notebook_pairs.py --write     # or: make sync-notebooks

``--write`` keeps the cell ids and notebook metadata already in the ``.ipynb`` (so the
diff shows only what changed in the ``.md``) and drops every output.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import jupytext
import nbformat
from jupytext.combine import combine_inputs_with_outputs

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
FORMATS = "ipynb,md:myst"
FIX = "edit the .md and run `make sync-notebooks` (it re-derives the .ipynb)"


def sources() -> list[Path]:
    """The chapters' MyST Markdown notebooks (``NN_topic.md``), in order."""
    return sorted(NOTEBOOKS.glob("[0-9][0-9]_*.md"))


def read_source(md: Path):
    return jupytext.read(md, fmt="md:myst")


def cell_key(cell) -> tuple[str, str, list[str]]:
    """What must agree between the two files of a pair: type, source and tags."""
    return cell.cell_type, cell.source, list(cell.get("metadata", {}).get("tags", []))


def differences(md: Path) -> list[str]:
    """How the ``.ipynb`` beside ``md`` differs from it (empty when in sync)."""
    ipynb = md.with_suffix(".ipynb")
    rel = md.relative_to(ROOT).as_posix() if md.is_relative_to(ROOT) else md.name
    if not ipynb.exists():
        return [f"{rel} has no {ipynb.name}: run `make sync-notebooks`"]
    source = read_source(md)
    derived = nbformat.read(ipynb, as_version=4)
    found = []
    for name, nb in ((md.name, source), (ipynb.name, derived)):
        formats = nb.metadata.get("jupytext", {}).get("formats")
        if formats != FORMATS:
            found.append(f"{name}: jupytext formats {formats!r}, expected {FORMATS!r} (the pairing)")
    a, b = [cell_key(c) for c in source.cells], [cell_key(c) for c in derived.cells]
    if len(a) != len(b):
        found.append(f"{md.name} has {len(a)} cells, {ipynb.name} has {len(b)}")
    for i, (x, y) in enumerate(zip(a, b)):
        for what, left, right in zip(("type", "source", "tags"), x, y):
            if left != right:
                first = str(left).splitlines()[:1] or [""]
                found.append(f"cell {i}: the {what} differs ({md.name}: {first[0][:60]!r}...)")
                break
    return [f"{rel}: {line}; {FIX}" for line in found]


def derive(md: Path) -> bool:
    """Write the ``.ipynb`` of ``md`` from it, without outputs; return whether it changed."""
    ipynb = md.with_suffix(".ipynb")
    nb = read_source(md)
    before = ipynb.read_text() if ipynb.exists() else None
    if before is not None:
        # cell ids and notebook metadata (e.g. language_info) from the existing .ipynb
        nb = combine_inputs_with_outputs(nb, nbformat.reads(before, as_version=4), fmt="md:myst")
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
    nb.metadata.setdefault("jupytext", {})["formats"] = FORMATS
    after = jupytext.writes(nb, fmt="ipynb").rstrip("\n") + "\n"
    if after != before:
        ipynb.write_text(after)
    # the source stays the newer file, as `jupytext --sync` leaves it: jupytext's
    # JupyterLab contents manager then reads the cells from the .md
    os.utime(md)
    return after != before


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--check", action="store_true", help="report pairs that differ")
    mode.add_argument("--write", action="store_true", help="re-derive every .ipynb from its .md")
    args = parser.parse_args(argv)
    if args.write:
        for md in sources():
            if derive(md):
                print(f"wrote {md.with_suffix('.ipynb').relative_to(ROOT)}")
        return 0
    found = [line for md in sources() for line in differences(md)]
    orphans = [p for p in sorted(NOTEBOOKS.glob("*.ipynb")) if not p.with_suffix(".md").exists()]
    found += [f"{p.relative_to(ROOT)} has no .md source: `jupytext --to myst {p.name}` makes one" for p in orphans]
    for line in found:
        print(line)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())

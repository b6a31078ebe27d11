"""The chapters as files: each a MyST Markdown notebook (the source) paired with its
derived .ipynb, in sync, committed clean, numbered, in the book, with the standard header.

Executing them is nbval's job (`make test-notebooks`) and the book build's; these checks
are instant.
"""

import os
import re
import shutil
import sys
from pathlib import Path

import nbformat
import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
SOURCES = sorted(NOTEBOOKS.glob("*.md"))
DERIVED = sorted(NOTEBOOKS.glob("*.ipynb"))
sys.path.insert(0, str(ROOT / "tools"))

import notebook_headers  # noqa: E402
import notebook_pairs  # noqa: E402


def code_cells(nb):
    return [c for c in nb.cells if c.cell_type == "code"]


def test_there_are_notebooks():
    assert SOURCES, "notebooks/ holds no .md chapter sources"
    assert notebook_pairs.sources() == SOURCES, "every .md in notebooks/ must be a chapter (NN_topic.md)"


@pytest.mark.parametrize("stem", sorted({p.stem for p in SOURCES + DERIVED}))
def test_every_chapter_is_a_pair(stem):
    md, ipynb = NOTEBOOKS / f"{stem}.md", NOTEBOOKS / f"{stem}.ipynb"
    assert md.exists(), f"{ipynb.name} has no source {md.name}: `jupytext --to myst notebooks/{ipynb.name}` makes one"
    assert ipynb.exists(), f"{md.name} has no {ipynb.name}: run `make sync-notebooks`"


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: p.name)
def test_pair_is_in_sync(path):
    found = notebook_pairs.differences(path)
    assert found == [], "\n".join(found)


@pytest.mark.parametrize("path", DERIVED, ids=lambda p: p.name)
def test_committed_without_outputs(path):
    nb = nbformat.read(path, as_version=4)
    dirty = [i for i, c in enumerate(code_cells(nb)) if c.get("outputs") or c.get("execution_count")]
    assert not dirty, f"{path.name}: code cells {dirty} hold outputs; `make sync-notebooks` drops them"


@pytest.mark.parametrize("path", SOURCES + DERIVED, ids=lambda p: p.name)
def test_named_by_number(path):
    assert re.fullmatch(r"\d\d_[a-z0-9_]+\.(md|ipynb)", path.name), f"{path.name}: expected NN_topic.md"


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: p.name)
def test_listed_in_the_table_of_contents(path):
    toc = (ROOT / "_toc.yml").read_text()
    assert f"notebooks/{path.stem}\n" in toc, f"{path.name} is not in _toc.yml"


def test_the_book_builds_the_markdown_not_the_ipynb():
    # two files with one name would clash; the .md is the chapter
    patterns = yaml.safe_load((ROOT / "_config.yml").read_text())["exclude_patterns"]
    assert "notebooks/*.ipynb" in patterns


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: p.name)
def test_colab_badge_and_setup_cell_follow_the_config(path):
    assert notebook_headers.problems(path) == [], "run `make sync-notebooks`"


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: p.name)
def test_parameters_cell_reads_the_size_from_the_environment(path):
    nb = notebook_pairs.read_source(path)
    tagged = [c for c in code_cells(nb) if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1, f"{path.name}: expected one code cell tagged 'parameters'"
    assert 'SIZE = os.environ.get("ACTSEG_SIZE", "reduced")' in tagged[0].source
    assert "SEED" in tagged[0].source


def copy_pair(tmp_path, stem="01_metrics"):
    for suffix in (".md", ".ipynb"):
        shutil.copy(NOTEBOOKS / f"{stem}{suffix}", tmp_path / f"{stem}{suffix}")
    return tmp_path / f"{stem}.md", tmp_path / f"{stem}.ipynb"


@pytest.mark.parametrize("edit", ["source", "tags", "type", "cells"])
def test_the_sync_check_sees_each_kind_of_difference(tmp_path, edit):
    md, ipynb = copy_pair(tmp_path)
    assert notebook_pairs.differences(md) == []
    nb = nbformat.read(ipynb, as_version=4)
    cell = code_cells(nb)[2]
    if edit == "source":
        cell.source += "\nx = 1"
    elif edit == "tags":
        cell.metadata["tags"] = ["hide-input"]
    elif edit == "type":
        nb.cells[nb.cells.index(cell)] = nbformat.v4.new_markdown_cell(cell.source)
    else:
        nb.cells.append(nbformat.v4.new_code_cell("y = 2"))
    nbformat.write(nb, ipynb)
    found = notebook_pairs.differences(md)
    assert found and all("make sync-notebooks" in line for line in found)
    notebook_pairs.derive(md)  # the fix the message names
    assert notebook_pairs.differences(md) == []
    assert nbformat.read(ipynb, as_version=4).cells[0].id == nb.cells[0].id, "derive keeps cell ids"


def test_derive_drops_outputs(tmp_path):
    md, ipynb = copy_pair(tmp_path)
    nb = nbformat.read(ipynb, as_version=4)
    code_cells(nb)[1].outputs = [nbformat.v4.new_output("stream", text="hello")]
    code_cells(nb)[1].execution_count = 3
    nbformat.write(nb, ipynb)
    notebook_pairs.derive(md)
    derived = nbformat.read(ipynb, as_version=4)
    assert not any(c.outputs or c.execution_count for c in code_cells(derived))


def test_jupyterlab_saves_the_markdown_source(tmp_path):
    """`make lab`: jupytext's server extension is enabled, and its contents manager, given
    the pairing in the notebook's metadata, writes an edit of the .ipynb into the .md."""
    from jupyter_core.paths import jupyter_config_path
    from jupyter_server.extension.config import ExtensionConfigManager
    from jupyter_server.services.contents.filemanager import FileContentsManager
    from jupytext.sync_contentsmanager import build_sync_jupytext_contents_manager_class

    enabled = ExtensionConfigManager(read_config_path=jupyter_config_path()).get_jpserver_extensions()
    assert enabled.get("jupyterlab_jupytext"), "jupytext's server extension is not enabled (requirements.txt)"
    md, ipynb = copy_pair(tmp_path)
    manager = build_sync_jupytext_contents_manager_class(FileContentsManager)(root_dir=str(tmp_path))
    model = manager.get(ipynb.name)
    model["content"].cells[2].source = "An edit made in JupyterLab."
    manager.save(model, ipynb.name)
    assert "An edit made in JupyterLab." in md.read_text()
    assert notebook_pairs.differences(md) == []


def test_repository_url_is_written_once():
    url = yaml.safe_load((ROOT / "_config.yml").read_text())["repository"]["url"]
    holders = []
    for folder, subfolders, files in os.walk(ROOT):
        subfolders[:] = [d for d in subfolders if not d.startswith((".", "_build"))]
        for name in files:
            path = Path(folder, name)
            if path in SOURCES:
                continue  # badge and setup cell, written from _config.yml by tools/notebook_headers.py
            if path.suffix in {".py", ".md", ".yml", ".toml", ".txt", ".cfg"} and url in path.read_text(
                errors="ignore"
            ):
                holders.append(path.relative_to(ROOT).as_posix())
    assert holders == ["_config.yml"], "the repository URL belongs in _config.yml only"

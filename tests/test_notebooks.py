"""The notebooks as files: committed clean, numbered, in the book, with the standard header.

Executing them is nbval's job (`make test-notebooks`); these checks are instant.
"""

import json
import os
import re
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
sys.path.insert(0, str(ROOT / "tools"))

import notebook_headers  # noqa: E402


def code_cells(path):
    return [c for c in json.loads(path.read_text())["cells"] if c["cell_type"] == "code"]


def test_there_are_notebooks():
    assert NOTEBOOKS, "notebooks/ holds no .ipynb files"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_committed_without_outputs(path):
    dirty = [i for i, c in enumerate(code_cells(path)) if c.get("outputs") or c.get("execution_count")]
    assert not dirty, f"{path.name}: code cells {dirty} hold outputs; clear them before committing"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_named_by_number(path):
    assert re.fullmatch(r"\d\d_[a-z0-9_]+\.ipynb", path.name), f"{path.name}: expected NN_topic.ipynb"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_listed_in_the_table_of_contents(path):
    toc = (ROOT / "_toc.yml").read_text()
    assert f"notebooks/{path.stem}" in toc, f"{path.name} is not in _toc.yml"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_colab_badge_and_setup_cell_follow_the_config(path):
    assert notebook_headers.problems(path) == [], "run `make sync-notebooks`"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_parameters_cell_reads_the_size_from_the_environment(path):
    tagged = [c for c in code_cells(path) if "parameters" in c.get("metadata", {}).get("tags", [])]
    assert len(tagged) == 1, f"{path.name}: expected one code cell tagged 'parameters'"
    source = "".join(tagged[0]["source"])
    assert 'SIZE = os.environ.get("ACTSEG_SIZE", "reduced")' in source
    assert "SEED" in source


def test_repository_url_is_written_once():
    url = yaml.safe_load((ROOT / "_config.yml").read_text())["repository"]["url"]
    holders = []
    for folder, subfolders, files in os.walk(ROOT):
        subfolders[:] = [d for d in subfolders if not d.startswith((".", "_build"))]
        for name in files:
            path = Path(folder, name)
            if path.suffix in {".py", ".md", ".yml", ".toml", ".txt", ".cfg"} and url in path.read_text(
                errors="ignore"
            ):
                holders.append(path.relative_to(ROOT).as_posix())
    assert holders == ["_config.yml"], "the repository URL belongs in _config.yml only"

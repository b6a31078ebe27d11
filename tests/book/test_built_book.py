"""What a reader sees in the built site: the tables the chapters compute are HTML tables
(never raw `| --- |` text), plotting and bookkeeping cells are folded, code fits the page.

Run after `jupyter-book build` by `make test-book`, with ACTSEG_BOOK_HTML pointing at the
built site (see conftest.py).
"""

import os
import re
import sys
from pathlib import Path

import pytest
from bs4 import BeautifulSoup

ROOT = Path(__file__).resolve().parents[2]
SITE = Path(os.environ.get("ACTSEG_BOOK_HTML", ROOT / "_build" / "html"))
if not SITE.is_absolute():
    SITE = ROOT / SITE
sys.path.insert(0, str(ROOT / "tools"))
import notebook_pairs  # noqa: E402

CHAPTERS = notebook_pairs.sources()
# a Markdown table's delimiter row: | --- | :--: | ---: |, also as the site prints it
# when it is left as text (Sphinx's smart quotes turn "---" into an em dash: |—|—|)
_RULE_CELL = r"\s*:?(?:-{3,}|[-–—]*[–—][-–—]*):?\s*"
PIPE_RULE = re.compile(rf"^\s*\|?(?:{_RULE_CELL}\|)+(?:{_RULE_CELL})?$")
# code that prints a Markdown table: builds a delimiter row and displays Markdown
PRINTS_TABLE = re.compile(r"\|-{3}|\|:?-{3,}:?\|")
WIDTH = 88


def page(path: Path) -> BeautifulSoup:
    assert path.exists(), f"{path} is missing: build the book first (make book-strict)"
    return BeautifulSoup(path.read_text(), "html.parser")


def main_content(soup):
    return soup.find("main") or soup


def visible_text_lines(soup):
    """The page's prose and outputs as text, code blocks and scripts left out."""
    body = main_content(soup)
    for tag in body.find_all(["script", "style", "pre", "code", "template"]):
        tag.decompose()
    return [line for line in body.get_text("\n").splitlines() if line.strip()]


def html_pages():
    return sorted(p for p in SITE.rglob("*.html") if not p.relative_to(SITE).parts[0].startswith("_"))


def test_the_site_is_built():
    assert (SITE / "index.html").exists() or (SITE / "book" / "intro.html").exists(), (
        f"no built site in {SITE}: run `make book-strict` first"
    )
    for md in CHAPTERS:
        assert (SITE / "notebooks" / f"{md.stem}.html").exists(), f"{md.stem}.html not built"


@pytest.mark.parametrize("path", html_pages(), ids=lambda p: p.relative_to(SITE).as_posix())
def test_no_raw_pipe_table(path):
    raw = [line for line in visible_text_lines(page(path)) if PIPE_RULE.match(line)]
    assert not raw, (
        f"{path.name} shows a Markdown table as raw text ({raw[0].strip()!r}): "
        "Markdown outputs must render as MyST (nb_render_markdown_format in _config.yml)"
    )


def code_cells(md):
    """The chapter's code cells as the page shows them (remove-cell ones are left out)."""
    nb = notebook_pairs.read_source(md)
    return [c for c in nb.cells if c.cell_type == "code" and "remove-cell" not in c.metadata.get("tags", [])]


def rendered_cells(soup):
    return main_content(soup).select("div.cell")


@pytest.mark.parametrize("md", CHAPTERS, ids=lambda p: p.stem)
def test_printed_tables_are_tables(md):
    cells = code_cells(md)
    shown = rendered_cells(page(SITE / "notebooks" / f"{md.stem}.html"))
    assert len(shown) == len(cells), f"{md.stem}: {len(shown)} cells on the page, {len(cells)} in the source"
    expected = [i for i, c in enumerate(cells) if "Markdown(" in c.source and PRINTS_TABLE.search(c.source)]
    missing = []
    for i in expected:
        output = shown[i].select_one("div.cell_output")
        if output is None or output.find("table") is None:
            missing.append(i)
    assert not missing, (
        f"{md.stem}: code cells {missing} (counted without remove-cell ones) print a "
        "Markdown table, but their output holds no <table>"
    )


@pytest.mark.parametrize("md", CHAPTERS, ids=lambda p: p.stem)
def test_hidden_inputs_are_folded_and_the_rest_open(md):
    cells = code_cells(md)
    shown = rendered_cells(page(SITE / "notebooks" / f"{md.stem}.html"))
    assert len(shown) == len(cells)
    for i, (cell, html) in enumerate(zip(cells, shown)):
        folded = html.select_one("details div.cell_input") is not None
        hidden = "hide-input" in cell.metadata.get("tags", [])
        assert folded == hidden, f"{md.stem}: code cell {i} is {'' if folded else 'not '}folded on the page"


@pytest.mark.parametrize("md", CHAPTERS, ids=lambda p: p.stem)
def test_code_fits_the_page(md):
    soup = page(SITE / "notebooks" / f"{md.stem}.html")
    long = [
        line
        for pre in main_content(soup).select("div.cell_input pre")
        for line in pre.get_text().splitlines()
        if len(line) > WIDTH
    ]
    assert not long, f"{md.stem}: {len(long)} code lines longer than {WIDTH} columns, e.g. {long[0]!r}"

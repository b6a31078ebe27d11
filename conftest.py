"""Repository-wide pytest hooks for nbval runs over the chapters.

* Report each notebook's total time.
* With ``$ACTSEG_NBVAL_BOOK_CACHE`` set to a jupyter-cache folder (``make test`` sets the
  book's, ``_build/.jupyter_cache``), store every chapter that ran without a failure there,
  with the outputs nbval saw, keyed by its code cells as Jupyter Book keys the chapter's
  ``.md`` source (the two hash alike: ``tools/notebook_pairs.py`` keeps them in step). The
  strict book build that follows then renders those outputs instead of executing every
  chapter a second time: one execution, checked by nbval and shown by the book.
"""

import os
import time
from collections import defaultdict
from pathlib import Path

BOOK_CACHE_ENV = "ACTSEG_NBVAL_BOOK_CACHE"

_notebooks = {}  # .ipynb path -> nbval's file node (holding the notebook it runs)
_failed = set()  # .ipynb paths with a failed or skipped cell


def _notebook_path(item) -> str | None:
    nodeid = getattr(item, "nodeid", "")
    return nodeid.split("::", 1)[0] if ".ipynb::" in nodeid else None


def pytest_runtest_logreport(report):
    path = _notebook_path(report)
    if path and (report.failed or report.skipped):
        _failed.add(path)


def pytest_runtest_teardown(item):
    path = _notebook_path(item)
    outputs = getattr(item, "test_outputs", None)
    if path is None or not hasattr(item, "cell"):
        return
    _notebooks[path] = item.parent
    if outputs is None:  # the cell never ran
        _failed.add(path)
        return
    item.cell.outputs = [dict(output) for output in outputs]


def pytest_sessionfinish(session):
    folder = os.environ.get(BOOK_CACHE_ENV)
    if not folder or not _notebooks:
        return
    import nbformat
    from jupyter_cache import get_cache
    from jupyter_cache.base import CacheBundleIn

    cache = get_cache(folder)
    root = Path(str(session.config.rootpath))
    for path, node in sorted(_notebooks.items()):
        if path in _failed:
            continue
        notebook = nbformat.from_dict(node.nb)
        source = (root / path).with_suffix(".md")
        cache.cache_notebook_bundle(
            CacheBundleIn(notebook, str(source.resolve()), data={"nbval": time.strftime("%Y-%m-%d %H:%M:%S")}),
            check_validity=False,
            overwrite=True,
        )


def pytest_terminal_summary(terminalreporter):
    seconds = defaultdict(float)
    for reports in terminalreporter.stats.values():
        for report in reports:
            path = _notebook_path(report)
            if path:
                seconds[path] += getattr(report, "duration", 0.0)
    if seconds:
        terminalreporter.section("notebook times")
        for path, total in sorted(seconds.items()):
            terminalreporter.write_line(f"{total:8.1f} s  {path}")
        terminalreporter.write_line(f"{sum(seconds.values()):8.1f} s  in all")
    folder = os.environ.get(BOOK_CACHE_ENV)
    if folder and _notebooks:
        stored = sorted(set(_notebooks) - _failed)
        terminalreporter.write_line(f"stored {len(stored)} executed chapters in {folder} for the book build")

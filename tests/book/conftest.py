"""The built site's checks run after the book is built (`make test-book`, part of `make
test`), not in the library's test run: they are collected only when ACTSEG_BOOK_HTML
names the built site (the Makefile sets it to _build/html)."""

import os


def pytest_ignore_collect(collection_path, config):
    if collection_path.name.startswith("test_") and not os.environ.get("ACTSEG_BOOK_HTML"):
        return True
    return None

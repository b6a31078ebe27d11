# The two commands of the README: `make book` and `make test`. Each installs what it
# needs first, into a virtual environment in this folder (.venv, ignored by git).

PYTHON ?= python3
VENV ?= .venv
# the CPU wheel on the book's machines; on a GPU machine e.g.
#   make TORCH="torch==2.13.0 --index-url https://download.pytorch.org/whl/cu128" install
TORCH ?= torch==2.13.0
NOTEBOOKS ?= notebooks

BIN := $(abspath $(VENV))/bin
STAMP := $(VENV)/.installed
export PATH := $(BIN):$(PATH)
export ACTSEG_SIZE ?= reduced
export PYDEVD_DISABLE_FILE_VALIDATION := 1

.PHONY: install lint format test test-fast test-lib test-notebooks book book-strict lab bench sync-notebooks clean

install: $(STAMP)

$(STAMP): requirements.txt requirements-data.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet $(TORCH)
	$(BIN)/python -m pip install --quiet -r requirements.txt
	$(BIN)/python -m pip install --quiet --no-deps -r requirements-data.txt
	# the environment's own "python3" kernel, by absolute path: notebooks see actseg_lib
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 --display-name "Python 3 (actseg)"
	$(BIN)/python -c "import torch; print('torch', torch.__version__, 'installed')"
	touch $(STAMP)

## make test: lint, library tests, every notebook through nbval, and a strict book build
test: lint test-lib test-notebooks book-strict

## make test-fast: lint and the library tests not marked slow (no subprocesses, no notebooks)
test-fast: lint install
	$(BIN)/python -m pytest -p no:cacheprovider -m "not slow" tests

## make lint: ruff's lint and format checks (configured in pyproject.toml)
lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

## make format: apply ruff's fixes and formatting
format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

test-lib: install
	$(BIN)/python -m pytest -p no:cacheprovider tests

test-notebooks: install
	$(BIN)/python -m pytest \
		--nbval-lax --nbval-current-env --nbval-cell-timeout=1800 -p no:cacheprovider $(NOTEBOOKS)

## make book: the site, notebooks executed (cached between builds), in _build/html
book: install
	$(BIN)/jupyter-book build . --builder html

book-strict: install
	$(BIN)/jupyter-book build . --builder html --warningiserror --nitpick --keep-going

lab: install
	$(BIN)/jupyter lab $(if $(filter 0,$(shell id -u)),--allow-root) $(NOTEBOOKS)

bench: install
	$(BIN)/python benchmarks/bench_metrics.py
	$(BIN)/python benchmarks/bench_models.py
	$(BIN)/python benchmarks/bench_recognition.py

## rewrite every notebook's Colab badge and setup cell from _config.yml's repository url
sync-notebooks: install
	$(BIN)/python tools/notebook_headers.py --write

clean:
	rm -rf _build

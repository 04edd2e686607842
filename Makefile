# The project's habits, one command each:  make lint | types | unit | integration | differential | all
# Tools come from .venv/bin when the venv exists, else from PATH; override any: make unit PY=python3.12

PY ?= $(shell test -x .venv/bin/python && echo .venv/bin/python || echo python3)
RUFF ?= $(shell test -x .venv/bin/ruff && echo .venv/bin/ruff || echo ruff)
MYPY ?= $(shell test -x .venv/bin/mypy && echo .venv/bin/mypy || echo mypy)
PYTEST ?= $(PY) -m pytest -q

.PHONY: all lint types unit integration differential test

## lint, types, then the whole test suite (what .ci/run runs after installing)
all: lint types test

## ruff, configured in pyproject.toml
lint:
	$(RUFF) check .

## mypy, configured in pyproject.toml (strict on the pure packages)
types:
	$(MYPY)

## tests/unit: pure code, no sockets, a few seconds
unit:
	$(PYTEST) tests/unit

## loopback sockets and processes, the client tools, the TUI
integration:
	$(PYTEST) tests/integration tests/clients tests/tui

## against Debian's haproxy 2.6 (/usr/sbin/haproxy)
differential:
	$(PYTEST) tests/differential

## the whole suite, exactly the README's command
test:
	$(PYTEST)

